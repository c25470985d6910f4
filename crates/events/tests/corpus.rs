//! Every published vendor payload in `tests/data/corpus` (a copy of `shared/corpus`) parses into the expected variant and
//! round-trips losslessly; every `*.invalid.json` is refused with a typed error.
#![allow(clippy::unwrap_used, clippy::panic)] // test helpers: a panic is a test failure

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hookwire_events::hub_message::{self, zapi};
use hookwire_events::zerotier::Hook;
use hookwire_events::{AnyEvent, Family, ParseError, parse, zitadel, zta};

/// file (relative to the corpus) → expected variant, from the event-type column of
/// corpus/README.md.
const EXPECTED: &[(&str, &str)] = &[
    ("zapi/001-text.json", "ReceivedCallback/text"),
    (
        "zapi/002-template-text.json",
        "ReceivedCallback/hydratedTemplate",
    ),
    ("zapi/003-reaction.json", "ReceivedCallback/reaction"),
    (
        "zapi/004-buttons-response.json",
        "ReceivedCallback/buttonsResponseMessage",
    ),
    (
        "zapi/005-list-response.json",
        "ReceivedCallback/listResponseMessage",
    ),
    ("zapi/006-image.json", "ReceivedCallback/image"),
    (
        "zapi/007-template-image.json",
        "ReceivedCallback/hydratedTemplate",
    ),
    ("zapi/008-audio.json", "ReceivedCallback/audio"),
    ("zapi/009-video.json", "ReceivedCallback/video"),
    (
        "zapi/010-template-video.json",
        "ReceivedCallback/hydratedTemplate",
    ),
    ("zapi/011-contact.json", "ReceivedCallback/contact"),
    ("zapi/012-document.json", "ReceivedCallback/document"),
    (
        "zapi/013-template-document.json",
        "ReceivedCallback/hydratedTemplate",
    ),
    (
        "zapi/014-group-join-request-invite-link.json",
        "ReceivedCallback/notification:MEMBERSHIP_APPROVAL_REQUEST",
    ),
    (
        "zapi/015-group-join-request-revoked.json",
        "ReceivedCallback/notification:REVOKED_MEMBERSHIP_REQUESTS",
    ),
    (
        "zapi/016-group-join-request-non-admin-add.json",
        "ReceivedCallback/notification:MEMBERSHIP_APPROVAL_REQUEST",
    ),
    ("zapi/017-location.json", "ReceivedCallback/location"),
    (
        "zapi/018-template-location.json",
        "ReceivedCallback/hydratedTemplate",
    ),
    (
        "zapi/019-template-otp-button.json",
        "ReceivedCallback/hydratedTemplate",
    ),
    (
        "zapi/020-pix-key-button.json",
        "ReceivedCallback/pixKeyMessage",
    ),
    (
        "zapi/021-buttons-with-image.json",
        "ReceivedCallback/buttonsMessage",
    ),
    (
        "zapi/022-buttons-with-video.json",
        "ReceivedCallback/buttonsMessage",
    ),
    ("zapi/023-carousel.json", "ReceivedCallback/carouselMessage"),
    ("zapi/024-sticker.json", "ReceivedCallback/sticker"),
    (
        "zapi/025-payment-made.json",
        "ReceivedCallback/requestPayment",
    ),
    (
        "zapi/026-payment-request.json",
        "ReceivedCallback/notification:PAYMENT_ACTION_REQUEST_DECLINED",
    ),
    (
        "zapi/027-newsletter-admin-promoted.json",
        "ReceivedCallback/notification:NEWSLETTER_ADMIN_PROMOTE",
    ),
    (
        "zapi/028-newsletter-admin-demoted.json",
        "ReceivedCallback/notification:NEWSLETTER_ADMIN_DEMOTE",
    ),
    (
        "zapi/029-payment-receipt.json",
        "ReceivedCallback/sendPayment",
    ),
    ("zapi/030-product.json", "ReceivedCallback/product"),
    ("zapi/031-cart-order.json", "ReceivedCallback/order"),
    ("zapi/032-poll.json", "ReceivedCallback/poll"),
    ("zapi/033-poll-vote.json", "ReceivedCallback/pollVote"),
    (
        "zapi/034-order-review-and-pay.json",
        "ReceivedCallback/reviewAndPay",
    ),
    ("zapi/035-order-update.json", "ReceivedCallback/reviewOrder"),
    (
        "zapi/036-newsletter-admin-invite.json",
        "ReceivedCallback/newsletterAdminInvite",
    ),
    ("zapi/037-pin-message.json", "ReceivedCallback/pinMessage"),
    ("zapi/038-event.json", "ReceivedCallback/event"),
    (
        "zapi/039-event-response.json",
        "ReceivedCallback/eventResponse",
    ),
    (
        "zapi/040-waiting-message.json",
        "ReceivedCallback/waitingMessage",
    ),
    (
        "zapi/041-profile-name-changed.json",
        "ReceivedCallback/notification:PROFILE_NAME_UPDATED",
    ),
    (
        "zapi/042-profile-picture-changed.json",
        "ReceivedCallback/notification:PROFILE_PICTURE_UPDATED",
    ),
    (
        "zapi/043-chat-label-update.json",
        "ReceivedCallback/notification:CHAT_LABEL_ASSOCIATION",
    ),
    ("zapi/044-status-reply.json", "ReceivedCallback/text"),
    ("zapi/045-broadcast-list.json", "ReceivedCallback/text"),
    (
        "zapi/046-group-link-admin-only.json",
        "ReceivedCallback/notification:GROUP_MEMBER_LINK_PROPERTY_UPDATE",
    ),
    (
        "zapi/047-group-link-all-members.json",
        "ReceivedCallback/notification:GROUP_MEMBER_LINK_PROPERTY_UPDATE",
    ),
    ("zapi/048-text-pt.json", "ReceivedCallback/text"),
    (
        "zapi/049-template-text-pt.json",
        "ReceivedCallback/hydratedTemplate",
    ),
    ("zapi/050-reaction-pt.json", "ReceivedCallback/reaction"),
    (
        "zapi/051-buttons-response-pt.json",
        "ReceivedCallback/buttonsResponseMessage",
    ),
    (
        "zapi/052-template-otp-button-pt.json",
        "ReceivedCallback/hydratedTemplate",
    ),
    (
        "zapi/053-buttons-with-image-pt.json",
        "ReceivedCallback/buttonsMessage",
    ),
    (
        "zapi/054-buttons-with-video-pt.json",
        "ReceivedCallback/buttonsMessage",
    ),
    (
        "zapi/055-list-response-pt.json",
        "ReceivedCallback/listResponseMessage",
    ),
    (
        "zapi/056-carousel-pt.json",
        "ReceivedCallback/carouselMessage",
    ),
    ("zapi/058-image-pt.json", "ReceivedCallback/image"),
    (
        "zapi/059-template-image-pt.json",
        "ReceivedCallback/hydratedTemplate",
    ),
    ("zapi/060-audio-pt.json", "ReceivedCallback/audio"),
    ("zapi/061-video-pt.json", "ReceivedCallback/video"),
    (
        "zapi/062-template-video-pt.json",
        "ReceivedCallback/hydratedTemplate",
    ),
    ("zapi/063-ptv-pt.json", "ReceivedCallback/video"),
    ("zapi/064-contact-pt.json", "ReceivedCallback/contact"),
    ("zapi/065-document-pt.json", "ReceivedCallback/document"),
    (
        "zapi/066-template-document-pt.json",
        "ReceivedCallback/hydratedTemplate",
    ),
    ("zapi/067-location-pt.json", "ReceivedCallback/location"),
    (
        "zapi/068-template-location-pt.json",
        "ReceivedCallback/hydratedTemplate",
    ),
    ("zapi/069-sticker-pt.json", "ReceivedCallback/sticker"),
    ("zapi/070-gif-pt.json", "ReceivedCallback/video"),
    (
        "zapi/071-payment-made-pt.json",
        "ReceivedCallback/requestPayment",
    ),
    (
        "zapi/072-payment-request-pt.json",
        "ReceivedCallback/notification:PAYMENT_ACTION_REQUEST_DECLINED",
    ),
    (
        "zapi/073-payment-receipt-pt.json",
        "ReceivedCallback/sendPayment",
    ),
    (
        "zapi/074-call-received-pt.json",
        "ReceivedCallback/notification:CALL_VOICE",
    ),
    (
        "zapi/075-call-missed-pt.json",
        "ReceivedCallback/notification:CALL_MISSED_VOICE",
    ),
    (
        "zapi/076-newsletter-admin-promoted-pt.json",
        "ReceivedCallback/notification:NEWSLETTER_ADMIN_PROMOTE",
    ),
    (
        "zapi/077-newsletter-admin-demoted-pt.json",
        "ReceivedCallback/notification:NEWSLETTER_ADMIN_DEMOTE",
    ),
    ("zapi/078-product-pt.json", "ReceivedCallback/product"),
    ("zapi/079-cart-order-pt.json", "ReceivedCallback/order"),
    ("zapi/080-poll-pt.json", "ReceivedCallback/poll"),
    ("zapi/081-poll-vote-pt.json", "ReceivedCallback/pollVote"),
    (
        "zapi/082-newsletter-admin-invite-pt.json",
        "ReceivedCallback/newsletterAdminInvite",
    ),
    ("zapi/083-event-pt.json", "ReceivedCallback/event"),
    (
        "zapi/084-profile-name-changed-pt.json",
        "ReceivedCallback/notification:PROFILE_NAME_UPDATED",
    ),
    (
        "zapi/085-profile-picture-changed-pt.json",
        "ReceivedCallback/notification:PROFILE_PICTURE_UPDATED",
    ),
    ("zapi/086-broadcast-list-pt.json", "ReceivedCallback/text"),
    ("zapi/087-fromme-text-pt.json", "ReceivedCallback/text"),
    (
        "zapi/088-fromme-reaction-pt.json",
        "ReceivedCallback/reaction",
    ),
    (
        "zapi/089-fromme-list-response-pt.json",
        "ReceivedCallback/listResponseMessage",
    ),
    ("zapi/091-fromme-image-pt.json", "ReceivedCallback/image"),
    ("zapi/092-fromme-audio-pt.json", "ReceivedCallback/audio"),
    ("zapi/093-fromme-video-pt.json", "ReceivedCallback/video"),
    ("zapi/094-delivery.json", "DeliveryCallback"),
    (
        "zapi/096-message-status-sent.json",
        "MessageStatusCallback/SENT",
    ),
    (
        "zapi/097-message-status-received.json",
        "MessageStatusCallback/RECEIVED",
    ),
    (
        "zapi/098-message-status-read.json",
        "MessageStatusCallback/READ",
    ),
    (
        "zapi/099-message-status-read-by-me.json",
        "MessageStatusCallback/READ_BY_ME",
    ),
    (
        "zapi/100-message-status-played.json",
        "MessageStatusCallback/PLAYED",
    ),
    (
        "zapi/102-message-status-sent-pt.json",
        "MessageStatusCallback/SENT",
    ),
    (
        "zapi/103-message-status-received-pt.json",
        "MessageStatusCallback/RECEIVED",
    ),
    (
        "zapi/104-message-status-read-pt.json",
        "MessageStatusCallback/READ",
    ),
    (
        "zapi/105-message-status-read-by-me-pt.json",
        "MessageStatusCallback/READ_BY_ME",
    ),
    (
        "zapi/106-message-status-played-pt.json",
        "MessageStatusCallback/PLAYED",
    ),
    ("zapi/108-disconnected.json", "DisconnectedCallback"),
    (
        "zapi/109-presence-unavailable.json",
        "PresenceChatCallback/UNAVAILABLE",
    ),
    (
        "zapi/110-presence-available.json",
        "PresenceChatCallback/AVAILABLE",
    ),
    (
        "zapi/111-presence-composing.json",
        "PresenceChatCallback/COMPOSING",
    ),
    (
        "zapi/112-presence-paused.json",
        "PresenceChatCallback/PAUSED",
    ),
    (
        "zapi/113-presence-recording.json",
        "PresenceChatCallback/RECORDING",
    ),
    ("zerotier/01-network-join.json", "NETWORK_JOIN"),
    (
        "zerotier/02-network-config-changed.json",
        "NETWORK_CONFIG_CHANGED",
    ),
    ("zerotier/03-network-join-signed.json", "NETWORK_JOIN"),
    (
        "zitadel/01-event-user-human-added-object-payload.json",
        "event:user.human.added",
    ),
    (
        "zitadel/02-event-user-human-added-object-payload-compact.json",
        "event:user.human.added",
    ),
    (
        "zitadel/03-event-user-human-added-base64-payload.json",
        "event:user.human.added",
    ),
    (
        "zitadel/04-event-user-human-added-base64-payload-spaced.json",
        "event:user.human.added",
    ),
    ("zitadel/05-event-payload-decoded-minnie.json", "other"),
    ("zitadel/06-event-payload-decoded-test-user.json", "other"),
    (
        "zitadel/07-event-payload-decoded-test-lowercase.json",
        "other",
    ),
    (
        "zitadel/08-event-schema-base64.json",
        "event:Type of the event",
    ),
    (
        "zitadel/09-event-schema-json.json",
        "event:Type of the event",
    ),
    (
        "zitadel/10-request-createuser-with-headers.json",
        "request:/zitadel.user.v2.UserService/CreateUser",
    ),
    (
        "zitadel/11-request-createuser-with-headers-4space.json",
        "request:/zitadel.user.v2.UserService/CreateUser",
    ),
    (
        "zitadel/12-request-addhumanuser-snake-case.json",
        "request:/zitadel.user.v2.UserService/AddHumanUser",
    ),
    (
        "zitadel/13-request-addhumanuser-example-given.json",
        "request:/zitadel.user.v2.UserService/AddHumanUser",
    ),
    (
        "zitadel/14-request-addhumanuser-v2beta.json",
        "request:/zitadel.user.v2beta.UserService/AddHumanUser",
    ),
    (
        "zitadel/15-request-schema.json",
        "request:full method of the GRPC call",
    ),
    (
        "zitadel/16-request-schema-2024.json",
        "request:full method of the GRPC call",
    ),
    (
        "zitadel/17-response-createuser-with-headers.json",
        "response:/zitadel.user.v2.UserService/CreateUser",
    ),
    (
        "zitadel/18-response-createuser-with-headers-4space.json",
        "response:/zitadel.user.v2.UserService/CreateUser",
    ),
    (
        "zitadel/20-response-schema.json",
        "response:full method of the GRPC call",
    ),
    (
        "zitadel/21-response-schema-2024.json",
        "response:full method of the GRPC call",
    ),
    (
        "zitadel/22-function-preuserinfo.json",
        "function:function/preuserinfo",
    ),
    (
        "zitadel/23-function-preuserinfo-org-zitadel.json",
        "function:function/preuserinfo",
    ),
    ("zitadel/29-target-reply-preuserinfo.json", "function-reply"),
    (
        "zitadel/30-target-reply-presamlresponse.json",
        "function-reply",
    ),
    (
        "zitadel/31-target-reply-error-forwarding.json",
        "error-reply",
    ),
    ("zitadel/32-response-retrieveidpintent-body.json", "other"),
    (
        "zitadel/33-target-reply-retrieveidpintent-manipulated.json",
        "other",
    ),
    ("zta/01-pageview.json", "pageview"),
    ("zta/02-custom-event.json", "event"),
    ("zta/03-goal.json", "goal"),
    ("zta/04-alert.json", "alert"),
    ("zta/05-alert-with-metric-operator.json", "alert"),
    ("zta/06-goal-with-visitor.json", "goal"),
    ("zta/07-activity.json", "other:activity"),
    (
        "hubmessage/02-instagram-text-no-event-type.json",
        "default:-",
    ),
    ("hubmessage/03-text.json", "default:NEW_MESSAGE"),
    ("hubmessage/04-image.json", "default:NEW_MESSAGE"),
    ("hubmessage/05-audio.json", "default:NEW_MESSAGE"),
    ("hubmessage/06-video.json", "default:NEW_MESSAGE"),
    ("hubmessage/07-sticker.json", "default:NEW_MESSAGE"),
    ("hubmessage/08-contact-array.json", "default:NEW_MESSAGE"),
    (
        "hubmessage/09-interactive-button-text.json",
        "default:NEW_MESSAGE",
    ),
    (
        "hubmessage/10-interactive-button-image.json",
        "default:NEW_MESSAGE",
    ),
    (
        "hubmessage/11-interactive-action.json",
        "default:NEW_MESSAGE",
    ),
    (
        "hubmessage/12-text-webhook-processed.json",
        "default:NEW_MESSAGE",
    ),
    (
        "hubmessage/13-image-webhook-processed.json",
        "default:NEW_MESSAGE",
    ),
    (
        "hubmessage/14-audio-webhook-processed.json",
        "default:NEW_MESSAGE",
    ),
    (
        "hubmessage/15-video-webhook-processed.json",
        "default:NEW_MESSAGE",
    ),
    (
        "hubmessage/16-sticker-webhook-processed.json",
        "default:NEW_MESSAGE",
    ),
    (
        "hubmessage/17-contact-array-webhook-processed.json",
        "default:NEW_MESSAGE",
    ),
    (
        "hubmessage/18-interactive-button-text-webhook-processed.json",
        "default:NEW_MESSAGE",
    ),
    (
        "hubmessage/19-interactive-button-image-webhook-processed.json",
        "default:NEW_MESSAGE",
    ),
    (
        "hubmessage/20-interactive-action-webhook-processed.json",
        "default:NEW_MESSAGE",
    ),
    ("hubmessage/21-text-pt.json", "default:NEW_MESSAGE"),
    ("hubmessage/22-image-pt.json", "default:NEW_MESSAGE"),
    ("hubmessage/23-audio-pt.json", "default:NEW_MESSAGE"),
    ("hubmessage/24-video-pt.json", "default:NEW_MESSAGE"),
    ("hubmessage/25-sticker-pt.json", "default:NEW_MESSAGE"),
    ("hubmessage/26-contact-array-pt.json", "default:NEW_MESSAGE"),
    (
        "hubmessage/27-interactive-button-text-pt.json",
        "default:NEW_MESSAGE",
    ),
    (
        "hubmessage/28-interactive-button-image-pt.json",
        "default:NEW_MESSAGE",
    ),
    (
        "hubmessage/29-interactive-action-pt.json",
        "default:NEW_MESSAGE",
    ),
];

fn corpus_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/corpus");
    assert!(
        dir.is_dir(),
        "corpus directory {} is missing: the corpus test must not pass silently",
        dir.display()
    );
    dir
}

fn family_of(folder: &str) -> Option<Family> {
    match folder {
        "zerotier" => Some(Family::ZeroTier),
        "zta" => Some(Family::Zta),
        "hubmessage" | "zapi" => Some(Family::HubMessage),
        "zitadel" => Some(Family::Zitadel),
        "zentitle" => Some(Family::Zentitle),
        _ => None,
    }
}

/// Describes the variant an event landed in, by matching on the enums (not on the type
/// string), in the vocabulary of the EXPECTED table.
fn describe(ev: &AnyEvent) -> String {
    match ev {
        AnyEvent::ZeroTier(h) => match h {
            Hook::NetworkJoin(_) => "NETWORK_JOIN".into(),
            Hook::NetworkAuth(_) => "NETWORK_AUTH".into(),
            Hook::NetworkDeauth(_) => "NETWORK_DEAUTH".into(),
            Hook::NetworkSsoLogin(_) => "NETWORK_SSO_LOGIN".into(),
            Hook::NetworkSsoLoginError(_) => "NETWORK_SSO_LOGIN_ERROR".into(),
            Hook::NetworkCreated(_) => "NETWORK_CREATED".into(),
            Hook::NetworkConfigChanged(_) => "NETWORK_CONFIG_CHANGED".into(),
            Hook::NetworkDeleted(_) => "NETWORK_DELETED".into(),
            Hook::MemberConfigChanged(_) => "MEMBER_CONFIG_CHANGED".into(),
            Hook::MemberDeleted(_) => "MEMBER_DELETED".into(),
            Hook::OrgInviteSent(_) => "ORG_INVITE_SENT".into(),
            Hook::OrgInviteAccepted(_) => "ORG_INVITE_ACCEPTED".into(),
            Hook::OrgInviteRejected(_) => "ORG_INVITE_REJECTED".into(),
            Hook::OrgMemberRemoved(_) => "ORG_MEMBER_REMOVED".into(),
            Hook::Unknown(u) => format!("unknown:{}", u.hook_type),
            _ => "unhandled".into(),
        },
        AnyEvent::Zta(e) => match &e.data {
            zta::Data::Pageview(_) => "pageview".into(),
            zta::Data::Event(_) => "event".into(),
            zta::Data::Goal(_) => "goal".into(),
            zta::Data::Alert(_) => "alert".into(),
            zta::Data::Test(_) => "test".into(),
            zta::Data::Other(_) => format!("other:{}", e.event),
            _ => "unhandled".into(),
        },
        AnyEvent::HubMessage(hub_message::Event::Default(d)) => {
            format!("default:{}", d.message_event_type.as_deref().unwrap_or("-"))
        }
        AnyEvent::HubMessage(hub_message::Event::ZApi(c)) => match c {
            zapi::Callback::Received(r) => format!("ReceivedCallback/{}", r.content_kind()),
            zapi::Callback::Delivery(_) => "DeliveryCallback".into(),
            zapi::Callback::MessageStatus(m) => format!(
                "MessageStatusCallback/{}",
                m.status.as_ref().map(|s| s.as_str()).unwrap_or("-")
            ),
            zapi::Callback::Connected(_) => "ConnectedCallback".into(),
            zapi::Callback::Disconnected(_) => "DisconnectedCallback".into(),
            zapi::Callback::PresenceChat(p) => format!(
                "PresenceChatCallback/{}",
                p.status.as_ref().map(|s| s.as_str()).unwrap_or("-")
            ),
            zapi::Callback::Unknown(u) => format!("unknown:{}", u.kind),
            _ => "unhandled".into(),
        },
        AnyEvent::Zitadel(p) => match p {
            zitadel::Payload::Event(e) => {
                format!("event:{}", e.event_type.as_deref().unwrap_or("-"))
            }
            zitadel::Payload::Request(r) => {
                format!("request:{}", r.full_method.as_deref().unwrap_or("-"))
            }
            zitadel::Payload::Response(r) => {
                format!("response:{}", r.full_method.as_deref().unwrap_or("-"))
            }
            zitadel::Payload::Function(f) => format!("function:{}", f.function),
            zitadel::Payload::FunctionReply(_) => "function-reply".into(),
            zitadel::Payload::ErrorReply(_) => "error-reply".into(),
            zitadel::Payload::Other(_) => "other".into(),
            _ => "unhandled".into(),
        },
        AnyEvent::Zentitle(e) => e.event_code.clone(),
        other => format!("unexpected family {:?}", other.family()),
    }
}

fn is_typed(err: &ParseError) -> bool {
    matches!(
        err,
        ParseError::Syntax { .. }
            | ParseError::NotAnObject { .. }
            | ParseError::MissingField { .. }
            | ParseError::InvalidField { .. }
    )
}

#[test]
fn every_corpus_file_parses_into_its_variant_and_round_trips() {
    let dir = corpus_dir();
    let expected: BTreeMap<&str, &str> = EXPECTED.iter().copied().collect();
    let (mut valid, mut invalid) = (0usize, 0usize);
    let mut seen = Vec::new();
    let mut failures = Vec::new();
    for folder in [
        "zerotier",
        "zta",
        "hubmessage",
        "zapi",
        "zitadel",
        "zentitle",
    ] {
        let family = family_of(folder).expect("known corpus folder");
        let mut files: Vec<_> = std::fs::read_dir(dir.join(folder))
            .unwrap_or_else(|e| panic!("corpus folder {folder}: {e}"))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "corpus folder {folder} is empty");
        for path in files {
            let name = format!("{folder}/{}", path.file_name().unwrap().to_string_lossy());
            let bytes = std::fs::read(&path).unwrap();
            let result = parse(family, &bytes);
            if name.ends_with(".invalid.json") {
                invalid += 1;
                match result {
                    Err(e) => assert!(is_typed(&e), "{name}: {e}"),
                    Ok(ev) => failures.push(format!(
                        "{name}: invalid file accepted as {}",
                        describe(&ev)
                    )),
                }
                continue;
            }
            valid += 1;
            seen.push(name.clone());
            let ev = match result {
                Ok(ev) => ev,
                Err(e) => {
                    failures.push(format!("{name}: {e}"));
                    continue;
                }
            };
            let want = expected
                .get(name.as_str())
                .unwrap_or_else(|| panic!("{name} missing from EXPECTED"));
            let got = describe(&ev);
            if got != *want {
                failures.push(format!("{name}: variant {got}, expected {want}"));
            }
            // serde_json's own Value keeps the last of duplicate keys, as the parser does.
            let original: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            if ev.to_json() != original {
                failures.push(format!(
                    "{name}: round trip differs\n  in:  {original}\n  out: {}",
                    ev.to_json()
                ));
            }
            let reparsed = parse(family, &ev.to_vec()).unwrap();
            if reparsed != ev {
                failures.push(format!("{name}: re-parse of serialized event differs"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(valid, 173, "valid corpus files");
    assert_eq!(invalid, 15, "invalid corpus files");
    assert_eq!(seen.len(), EXPECTED.len(), "every EXPECTED entry was seen");
}
