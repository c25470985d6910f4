//! Property tests: generated events round-trip; arbitrary bytes and JSON never panic.
#![allow(clippy::unwrap_used, clippy::panic)] // test helpers: a panic is a test failure

use hookwire_events::hub_message::{self, zapi};
use hookwire_events::zerotier::{Hook, NetworkJoin, OrgInviteAccepted};
use hookwire_events::zitadel::{self, EventExecution, EventPayload, FunctionReply, Payload};
use hookwire_events::{AnyEvent, Family, Object, parse, standard, zentitle, zta};
use proptest::prelude::*;
use serde_json::{Number, Value};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z_.]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_owned()),
                    Just("hook_type".to_owned()),
                    Just("event".to_owned()),
                    Just("message".to_owned()),
                    Just("text".to_owned()),
                    Just("data".to_owned()),
                    Just("payload".to_owned()),
                    Just("eventCode".to_owned()),
                    Just("function".to_owned()),
                    Just("event_payload".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_object() -> impl Strategy<Value = Object> {
    prop::collection::btree_map("[a-zA-Z_]{1,8}", arb_json(), 0..4)
        .prop_map(|m| m.into_iter().collect())
}

/// Parses `bytes` through the family entry point and checks the event serializes back to the
/// same JSON value.
fn family_round_trip(family: Family, bytes: &[u8]) -> AnyEvent {
    let ev = parse(family, bytes).unwrap();
    assert_eq!(
        ev.to_json(),
        serde_json::from_slice::<Value>(bytes).unwrap()
    );
    ev
}

fn arb_webhook() -> impl Strategy<Value = hub_message::Webhook> {
    let events = prop::collection::vec(
        prop_oneof![
            prop::sample::select(hub_message::WebhookEvent::KNOWN).prop_map(str::to_owned),
            "[A-Z_]{1,12}",
        ],
        0..5,
    );
    let auth = prop::option::of((
        prop::sample::select(hub_message::AuthType::KNOWN),
        any::<bool>(),
    ));
    (
        (
            "[0-9A-F]{32}",
            "[0-9A-F]{32}",
            "https://[a-z]{1,10}\\.example/[a-z]{0,8}",
        ),
        prop::option::of(prop::option::of(".{0,20}")),
        events,
        (
            prop::sample::select(&["ENABLED", "DISABLED", "PAUSED"][..]),
            any::<bool>(),
            prop::option::of("[0-9a-f]{64}"),
        ),
        auth,
        prop::option::of(prop::sample::select(&["DEFAULT", "Z_API"][..])),
        prop::option::of("2025-0[1-9]-1[0-9]T10:30:00\\.000\\+0000"),
    )
        .prop_map(
            |(
                (id, instance, url),
                description,
                events,
                (status, signing, secret),
                auth,
                format,
                created,
            )| {
                hub_message::Webhook {
                    id,
                    instance_id: instance,
                    url,
                    description,
                    events: events
                        .iter()
                        .map(|e| hub_message::WebhookEvent::from_wire(e))
                        .collect(),
                    status: hub_message::WebhookStatus::from_wire(status),
                    signing,
                    secret,
                    auth: auth.map(|(kind, configured)| hub_message::WebhookAuth {
                        kind: hub_message::AuthType::from_wire(kind),
                        configured,
                        extra: Object::new(),
                    }),
                    payload_format: format.map(hub_message::PayloadFormat::from_wire),
                    custom_attributes: None,
                    created_at: created.clone(),
                    updated_at: created,
                    extra: Object::new(),
                }
            },
        )
}

/// An `event_payload` in either wire form, with the object it must decode to.
fn arb_event_payload() -> impl Strategy<Value = (EventPayload, Object)> {
    (arb_object(), any::<bool>()).prop_map(|(o, legacy)| {
        use base64::Engine as _;
        let payload = if legacy {
            EventPayload::Base64(
                base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&o).unwrap()),
            )
        } else {
            EventPayload::Object(o.clone())
        };
        (payload, o)
    })
}

/// An event execution and, when it has an `event_payload`, the object that decodes to.
fn arb_event_execution() -> impl Strategy<Value = (EventExecution, Option<Object>)> {
    (
        ("[0-9]{18}", "(user|org|project)", "[0-9]{18}", "[0-9]{18}"),
        prop_oneof![
            any::<u64>().prop_map(|n| zitadel::Sequence::Number(n.into())),
            any::<u64>().prop_map(|n| zitadel::Sequence::Text(n.to_string())),
        ],
        "(user|org)\\.[a-z]{1,8}\\.(added|changed|removed)",
        prop::option::of(arb_event_payload()),
        prop::option::of((0u32..1_000_000, 0u8..8)),
    )
        .prop_map(
            |((aggregate, kind, owner, instance), sequence, event_type, payload, position)| {
                let (event_payload, decoded) = payload.unzip();
                let e = EventExecution {
                    aggregate_id: Some(aggregate),
                    aggregate_type: Some(kind),
                    resource_owner: Some(owner.clone()),
                    instance_id: Some(instance),
                    version: Some("v2".into()),
                    sequence: Some(sequence),
                    event_type: Some(event_type),
                    created_at: Some("2025-09-05T08:55:36.156333Z".into()),
                    user_id: Some(owner),
                    event_payload,
                    // A float64 in Go: exact binary fractions survive the round trip.
                    position: position
                        .and_then(|(i, f)| Number::from_f64(f64::from(i) + f64::from(f) / 8.0)),
                    extra: Object::new(),
                };
                (e, decoded)
            },
        )
}

type ReplyInput = (Vec<(String, Value)>, Vec<(String, Vec<u8>)>, Vec<String>);

/// The entries of a function reply (at least one, or the reply would be an empty object).
fn arb_function_reply() -> impl Strategy<Value = ReplyInput> {
    (
        prop::collection::vec(("[a-z_]{1,10}", arb_json()), 0..3),
        prop::collection::vec(
            ("[a-z_]{1,10}", prop::collection::vec(any::<u8>(), 0..24)),
            0..3,
        ),
        prop::collection::vec(".{0,20}", 0..3),
    )
        .prop_filter("a reply has at least one entry", |(c, m, l)| {
            !(c.is_empty() && m.is_empty() && l.is_empty())
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        for f in Family::ALL {
            let _ = parse(f, &bytes);
        }
    }

    #[test]
    fn arbitrary_json_never_panics_and_accepted_round_trips(v in arb_json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        for f in Family::ALL {
            if let Ok(ev) = parse(f, &bytes) {
                prop_assert_eq!(ev.to_json(), v.clone());
            }
        }
    }

    #[test]
    fn zerotier_join_round_trips(hook in "[a-f0-9-]{1,36}", org in "[a-f0-9-]{1,36}", net in "[a-f0-9]{16}", member in "[a-f0-9]{10}") {
        let h = Hook::from(NetworkJoin::new(hook, org, net, member));
        prop_assert_eq!(hookwire_events::zerotier::parse(&h.to_vec()).unwrap(), h);
    }

    #[test]
    fn zerotier_invite_round_trips(ids in prop::option::of(prop::collection::vec("[a-f0-9]{16}", 0..4)), user in ".{0,20}") {
        let h = Hook::from(OrgInviteAccepted::new("h", "o", user, "e@x", ids));
        prop_assert_eq!(hookwire_events::zerotier::parse(&h.to_vec()).unwrap(), h);
    }

    #[test]
    fn zta_goal_round_trips(site in ".{0,20}", value in any::<i64>(), ts in ".{0,30}") {
        let ev = zta::Event::new(zta::EventKind::Goal, ts, zta::Data::Goal(zta::GoalData {
            site_id: site, value: Some(value.into()), ..Default::default()
        }));
        prop_assert_eq!(zta::parse(&ev.to_vec()).unwrap(), ev);
    }

    #[test]
    fn zentitle_seat_round_trips(seat in "[a-z_]{1,12}", used in prop::option::of(any::<u32>()), attempt in 1u64..10) {
        let mut ev = zentitle::Event::new(zentitle::EventCode::SeatActivated, "event_x", "2025-06-06T11:39:22Z", "ent_1",
            zentitle::Payload::Seat(zentitle::SeatPayload {
                entitlement_id: "ent_1".into(), activation_id: "act".into(), seat_id: seat,
                seats_used: used.map(|u| Some(u.into())), ..Default::default()
            }));
        ev.call_attempt = attempt;
        prop_assert_eq!(zentitle::parse(&ev.to_vec()).unwrap(), ev);
    }

    #[test]
    fn hub_message_webhook_resource_round_trips(w in arb_webhook()) {
        let bytes = serde_json::to_vec(&w).unwrap();
        let back = hub_message::Webhook::from_json(&bytes).unwrap();
        prop_assert_eq!(&back, &w);
        prop_assert_eq!(serde_json::to_vec(&back).unwrap(), bytes);
        if let Some(secret) = &w.secret {
            let debug = format!("{back:?}");
            prop_assert!(!debug.contains(secret.as_str()), "secret in {}", debug);
        }
    }

    #[test]
    fn hub_message_received_text_round_trips(
        instance in "[0-9A-F]{32}",
        message in "[0-9A-F]{20,32}",
        phone in "[0-9]{10,13}",
        momment in 0i64..4_000_000_000_000,
        text in any::<String>(),
    ) {
        let cb = zapi::ReceivedCallback::text(instance.clone(), message, phone, momment, text.clone());
        let ev = hub_message::Event::ZApi(zapi::Callback::Received(Box::new(cb)));
        let back = hub_message::parse(&ev.to_vec()).unwrap();
        prop_assert_eq!(&back, &ev);
        let any = family_round_trip(Family::HubMessage, &ev.to_vec());
        prop_assert_eq!(any.subscription_type(), "MESSAGE_RECEIVED");
        let hub_message::Event::ZApi(zapi::Callback::Received(r)) = back else {
            panic!("not a ReceivedCallback")
        };
        prop_assert_eq!(r.timestamp().and_then(zapi::Moment::as_i64), Some(momment));
        prop_assert_eq!(r.instance_id.as_deref(), Some(instance.as_str()));
        let Some(zapi::Content::Text(t)) = &r.content else {
            panic!("no text content")
        };
        prop_assert_eq!(t.message.as_deref(), Some(text.as_str()));
    }

    #[test]
    fn zitadel_event_execution_round_trips((e, decoded) in arb_event_execution()) {
        let p = Payload::Event(e.clone());
        let back = zitadel::parse(&p.to_vec()).unwrap();
        prop_assert_eq!(&back, &p);
        family_round_trip(Family::Zitadel, &p.to_vec());
        prop_assert_eq!(back.event_type(), e.event_type.as_deref().unwrap());
        // Object or legacy base64: either decodes to the generated object.
        let Payload::Event(back) = back else {
            panic!("not an event execution")
        };
        prop_assert_eq!(back.event_payload.map(|p| p.decode().unwrap()), decoded);
    }

    #[test]
    fn zitadel_function_reply_round_trips((claims, metadata, logs) in arb_function_reply()) {
        let mut r = FunctionReply::default();
        for (k, v) in &claims {
            r = r.claim(k.clone(), v.clone());
        }
        for (k, v) in &metadata {
            r = r.metadata(k.clone(), v);
        }
        for l in &logs {
            r = r.log(l.clone());
        }
        let bytes = serde_json::to_vec(&r).unwrap();
        let Payload::FunctionReply(back) = zitadel::parse(&bytes).unwrap() else {
            panic!("reply not classified as a function reply")
        };
        prop_assert_eq!(&back, &r);
        family_round_trip(Family::Zitadel, &bytes);
        // Every entry survives, in order; metadata values are base64 of the bytes given.
        let got_claims: Vec<(String, Value)> = back
            .append_claims
            .iter()
            .flatten()
            .map(|c| (c.key.clone(), c.value.clone()))
            .collect();
        prop_assert_eq!(got_claims, claims);
        let got_metadata: Vec<(String, Vec<u8>)> = back
            .set_user_metadata
            .iter()
            .flatten()
            .map(|m| {
                use base64::Engine as _;
                (m.key.clone(), base64::engine::general_purpose::STANDARD.decode(&m.value).unwrap())
            })
            .collect();
        prop_assert_eq!(got_metadata, metadata);
        prop_assert_eq!(back.append_log_claims.unwrap_or_default(), logs);
    }

    #[test]
    fn standard_envelope_round_trips(
        kind in "[a-z]{1,8}(\\.[a-z]{1,8}){0,3}",
        timestamp in "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?Z",
        data in arb_json(),
    ) {
        let ev = standard::Event::new(kind.clone(), timestamp.clone(), data.clone());
        let back = standard::parse(&ev.to_vec()).unwrap();
        prop_assert_eq!(&back, &ev);
        prop_assert_eq!(back.event_type(), kind.as_str());
        prop_assert_eq!(&back.data, &data);
        let any = family_round_trip(Family::StandardWebhooks, &ev.to_vec());
        prop_assert!(Family::StandardWebhooks.is_known_event_type(any.event_type()));
    }
}
