//! The examples in tests/data/specs parse into the right variant with the right values,
//! round-trip, and errors name the failing field.
#![allow(clippy::unwrap_used, clippy::panic)] // test helpers: a panic is a test failure

use std::time::Duration;

use hookwire_events::hub_message::{self, zapi};
use hookwire_events::zerotier::{self, Hook, NetworkJoin};
use hookwire_events::zitadel::{self, Condition, EventCondition, MethodCondition, Payload, Target};
use hookwire_events::{AnyEvent, Family, ParseError, parse, zentitle, zta};
use serde_json::{Value, json};

fn round_trips(family: Family, body: &[u8]) -> AnyEvent {
    let ev = parse(family, body).unwrap();
    assert_eq!(ev.to_json(), serde_json::from_slice::<Value>(body).unwrap());
    ev
}

#[test]
fn zerotier_vector_payload() {
    let body = br#"{"hook_id":"ae76d4c0-c94e-4025-a648-2c504eb90e3c","org_id":"1bb4dc96-f311-4c4a-ac93-551cbc0fa3da","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#;
    let AnyEvent::ZeroTier(Hook::NetworkJoin(j)) = round_trips(Family::ZeroTier, body) else {
        panic!("not a join")
    };
    assert_eq!(j.hook_id, "ae76d4c0-c94e-4025-a648-2c504eb90e3c");
    assert_eq!(j.network_id, "19d9808567a17ccf");
    assert_eq!(j.member_id, "a02505e545");
    assert_eq!(j.metadata(), None);
    let built = NetworkJoin::new(
        "ae76d4c0-c94e-4025-a648-2c504eb90e3c",
        "1bb4dc96-f311-4c4a-ac93-551cbc0fa3da",
        "19d9808567a17ccf",
        "a02505e545",
    );
    assert_eq!(Hook::from(built).to_vec(), body.to_vec());
}

#[test]
fn zerotier_metadata_null_absent_and_unknown_type() {
    let null = br#"{"hook_id":"h","org_id":"o","hook_type":"NETWORK_AUTH","network_id":"n","member_id":"m","user_id":"u","user_email":"e","metadata":null}"#;
    let ev = round_trips(Family::ZeroTier, null);
    let AnyEvent::ZeroTier(Hook::NetworkAuth(a)) = &ev else {
        panic!()
    };
    assert_eq!(a.metadata, Some(None));
    let unknown = br#"{"hook_id":"h","org_id":"o","hook_type":"NETWORK_GROUP_CREATED","x":[1,2]}"#;
    let ev = round_trips(Family::ZeroTier, unknown);
    assert_eq!(ev.event_type(), "NETWORK_GROUP_CREATED");
    assert!(matches!(ev, AnyEvent::ZeroTier(Hook::Unknown(_))));
}

#[test]
fn zerotier_errors_name_the_field() {
    let e = zerotier::parse(
        br#"{"hook_id":"h","org_id":"o","hook_type":"NETWORK_JOIN","network_id":"n"}"#,
    )
    .unwrap_err();
    assert_eq!(
        e,
        ParseError::MissingField {
            path: "member_id".into()
        }
    );
    let e = zerotier::parse(br#"{"hook_id":"h","org_id":"o","hook_type":"NETWORK_JOIN","network_id":5,"member_id":"m"}"#).unwrap_err();
    assert_eq!(e.path(), Some("network_id"));
    let e = zerotier::parse(br#"{"hook_id":"h","org_id":"o","hook_type":"ORG_INVITE_ACCEPTED","user_id":"u","user_email":"e","network_ids":["a",7]}"#).unwrap_err();
    assert_eq!(e.path(), Some("network_ids[1]"));
    assert!(matches!(
        zerotier::parse(b"[1]"),
        Err(ParseError::NotAnObject { found: "array" })
    ));
    assert!(matches!(
        zerotier::parse(b"{"),
        Err(ParseError::Syntax { .. })
    ));
}

#[test]
fn zta_vectors() {
    let test = br#"{"event":"test","timestamp":"2024-12-12T16:30:00.000Z","site_id":"site_abc123","data":{"message":"This is a test webhook from Zero Trust Analytics","webhook_id":"wh_abc123"}}"#;
    let AnyEvent::Zta(ev) = round_trips(Family::Zta, test) else {
        panic!()
    };
    assert_eq!(ev.kind(), zta::EventKind::Test);
    assert_eq!(ev.site_id(), Some("site_abc123"));
    let built = zta::Event::test("2024-12-12T16:30:00.000Z", "site_abc123", "wh_abc123");
    assert_eq!(
        built.to_json(),
        serde_json::from_slice::<Value>(test).unwrap()
    );
    let pv = br#"{"event":"pageview","timestamp":"2024-12-12T16:30:00.000Z","data":{"siteId":"site_abc123","path":"/blog/my-article","referrer":"https://google.com","country":"US","device":"desktop","browser":"Chrome"}}"#;
    let AnyEvent::Zta(ev) = round_trips(Family::Zta, pv) else {
        panic!()
    };
    let zta::Data::Pageview(d) = &ev.data else {
        panic!()
    };
    assert_eq!(d.path.as_deref(), Some("/blog/my-article"));
    assert_eq!(d.browser.as_deref(), Some("Chrome"));
}

#[test]
fn hub_message_default_and_zapi_spec_examples() {
    let body = br#"{"message":{"_id":"019E6F1A93FE78DCB54332F9FF0CCAE7","channel_id":"019E4C54B1B375A28970B605CA9B03C3"},"messageEventType":"NEW_MESSAGE"}"#;
    let ev = round_trips(Family::HubMessage, body);
    assert_eq!(ev.event_type(), "NEW_MESSAGE");
    assert_eq!(ev.subscription_type(), "MESSAGE_RECEIVED");
    let AnyEvent::HubMessage(hub_message::Event::Default(d)) = ev else {
        panic!()
    };
    assert_eq!(
        d.message.channel_id.as_deref(),
        Some("019E4C54B1B375A28970B605CA9B03C3")
    );

    let text = br#"{"isStatusReply":false,"senderLid":"81896604192873@lid","connectedPhone":"554499999999","waitingMessage":false,"isEdit":false,"isGroup":false,"instanceId":"A20DA9C0183A2D35A260F53F5D2B9244","messageId":"A20DA9C0183A2D35A260F53F5D2B9244","phone":"5544999999999","fromMe":false,"momment":1632228638000,"status":"RECEIVED","chatName":"name","senderPhoto":"https://","senderName":"name","participantPhone":null,"participantLid":null,"photo":"https://","broadcast":false,"type":"ReceivedCallback","text":{"message":"test"}}"#;
    let AnyEvent::HubMessage(hub_message::Event::ZApi(zapi::Callback::Received(r))) =
        round_trips(Family::HubMessage, text)
    else {
        panic!()
    };
    assert_eq!(
        r.timestamp().and_then(zapi::Moment::as_i64),
        Some(1_632_228_638_000)
    );
    assert_eq!(r.participant_phone, Some(None));
    let Some(zapi::Content::Text(t)) = &r.content else {
        panic!()
    };
    assert_eq!(t.message.as_deref(), Some("test"));

    // case-insensitive type, kept as sent; duplicate instanceId: last wins
    let cb = br#"{"type":"ReceivedCallBack","instanceId":"A","text":{"message":"x"},"instanceId":"instance.id"}"#;
    let ev = parse(Family::HubMessage, cb).unwrap();
    assert_eq!(ev.event_type(), "ReceivedCallBack");
    let AnyEvent::HubMessage(hub_message::Event::ZApi(c)) = &ev else {
        panic!()
    };
    assert_eq!(c.instance_id(), Some("instance.id"));

    let status = br#"{"status":"SENT","ids":["999999999999999999999"],"momment":1632234645000,"phone":"5544999999999","type":"MessageStatusCallback","instanceId":"instance.id"}"#;
    let AnyEvent::HubMessage(hub_message::Event::ZApi(zapi::Callback::MessageStatus(m))) =
        round_trips(Family::HubMessage, status)
    else {
        panic!()
    };
    assert_eq!(m.status, Some(zapi::MessageStatus::Sent));
    let connected = br#"{"type":"ConnectedCallback","connected":true,"momment":"26151515154","phone":"5544","instanceId":"i"}"#;
    let AnyEvent::HubMessage(hub_message::Event::ZApi(zapi::Callback::Connected(c))) =
        round_trips(Family::HubMessage, connected)
    else {
        panic!()
    };
    assert_eq!(
        c.momment.as_ref().and_then(zapi::Moment::as_i64),
        Some(26_151_515_154)
    );
    // The spec's own example writes `momment` as a number (hub-message.md, ConnectedCallback).
    let numeric = br#"{"type":"ConnectedCallback","connected":true,"momment":26151515154,"phone":"5544","instanceId":"i"}"#;
    let ev = round_trips(Family::HubMessage, numeric);
    assert_eq!(ev.subscription_type(), "CONNECTED");
    let AnyEvent::HubMessage(hub_message::Event::ZApi(zapi::Callback::Connected(c))) = ev else {
        panic!()
    };
    assert_eq!(
        c.momment,
        Some(zapi::Moment::Number(26_151_515_154u64.into()))
    );
    assert_eq!(
        c.momment.as_ref().and_then(zapi::Moment::as_i64),
        Some(26_151_515_154)
    );
    assert_eq!(c.connected, Some(true));
    // Kept as a number on the way out, not turned into the string form.
    assert_eq!(
        serde_json::to_value(&c).unwrap()["momment"],
        json!(26_151_515_154u64)
    );
    let presence = br#"{"type":"PresenceChatCallback","phone":"5544999999999","status":"COMPOSING","lastSeen":null,"instanceId":"instance.id"}"#;
    let ev = round_trips(Family::HubMessage, presence);
    assert_eq!(ev.subscription_type(), "PRESENCE_CHAT");

    let e =
        hub_message::parse(br#"{"type":"ReceivedCallback","image":{"width":"wide"}}"#).unwrap_err();
    assert_eq!(e.path(), Some("image.width"));
}

#[test]
fn hub_message_webhook_resource_redacts_secret() {
    let body = br#"{"id":"A1B2C3D4E5F6789012345678901234AB","instanceId":"019E4C54B1B375A28970B605CA9B03C3","url":"https://example.com/hook","description":null,"events":["MESSAGE_RECEIVED","BLOCK"],"status":"ENABLED","signing":true,"secret":"a3f1c2d4e5b6789012345678901234abcdef0123456789abcdef0123456789ab","auth":{"type":"BEARER","configured":true},"payloadFormat":"Z_API","customAttributes":{},"createdAt":"2025-01-15T10:30:00.000+0000","updatedAt":"2025-01-15T10:30:00.000+0000"}"#;
    let w = hub_message::Webhook::from_json(body).unwrap();
    assert_eq!(w.events[1], hub_message::WebhookEvent::Block);
    assert_eq!(w.auth.as_ref().unwrap().kind, hub_message::AuthType::Bearer);
    assert_eq!(
        serde_json::to_value(&w).unwrap(),
        serde_json::from_slice::<Value>(body).unwrap()
    );
    assert!(!format!("{w:?}").contains("a3f1c2d4"));
}

#[test]
fn zitadel_event_payload_object_and_base64() {
    let body = br#"{"aggregateID":"336494809936035843","aggregateType":"user","resourceOwner":"336392597046099971","instanceID":"336392597046034435","version":"v2","sequence":1,"event_type":"user.human.added","created_at":"2025-09-05T08:55:36.156333Z","userID":"336392597046755331","event_payload":{"email":"mini@mouse.com","userName":"mini@mouse.com"}}"#;
    let AnyEvent::Zitadel(Payload::Event(e)) = round_trips(Family::Zitadel, body) else {
        panic!()
    };
    assert_eq!(
        e.sequence.as_ref().and_then(zitadel::Sequence::as_u64),
        Some(1)
    );
    assert_eq!(
        e.event_payload.as_ref().unwrap().decode().unwrap()["email"],
        "mini@mouse.com"
    );
    let legacy = br#"{"event_type":"user.human.added","event_payload":"eyJ1c2VyTmFtZSI6ImV4YW1wbGVAdGVzdC5jb20ifQ=="}"#;
    let AnyEvent::Zitadel(Payload::Event(e)) = round_trips(Family::Zitadel, legacy) else {
        panic!()
    };
    assert_eq!(
        e.event_payload.unwrap().decode().unwrap()["userName"],
        "example@test.com"
    );
}

#[test]
fn zitadel_replies_and_resources() {
    let reply = zitadel::FunctionReply::default()
        .claim("k", json!({"a": 1}))
        .metadata("key", b"value")
        .log("line");
    let v = serde_json::to_value(&reply).unwrap();
    assert_eq!(v["set_user_metadata"][0]["value"], "dmFsdWU=");
    assert!(matches!(
        zitadel::parse(&serde_json::to_vec(&reply).unwrap()).unwrap(),
        Payload::FunctionReply(_)
    ));
    let err =
        zitadel::ErrorReply::new(403, "Call is forbidden through the IP AllowList definition");
    assert!(err.is_forwarded());
    assert_eq!(
        serde_json::to_value(&err).unwrap(),
        json!({"forwardedStatusCode":403,"forwardedErrorMessage":"Call is forbidden through the IP AllowList definition"})
    );

    let t = Target::rest_call("t", "https://example.com", Duration::from_secs(10), true);
    let v = serde_json::to_value(&t).unwrap();
    assert_eq!(
        v,
        json!({"name":"t","endpoint":"https://example.com","timeout":"10s","payloadType":"PAYLOAD_TYPE_JSON","restCall":{"interruptOnError":true}})
    );
    let back = Target::from_json(&serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(back, t);
    assert_eq!(
        back.timeout_duration().unwrap(),
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        zitadel::parse_duration("1.5s").unwrap(),
        Duration::from_millis(1500)
    );
    assert!(zitadel::parse_duration("10m").is_err());
    let mut keyed = Target::rest_webhook("w", "https://e", Duration::from_millis(500), false);
    keyed.signing_key = Some("supersecretkey".into());
    assert!(!format!("{keyed:?}").contains("supersecretkey"));
    let async_t =
        Target::from_json(br#"{"name":"a","endpoint":"https://e","timeout":"5s","restAsync":{}}"#)
            .unwrap();
    assert!(matches!(
        async_t.target_type,
        Some(zitadel::TargetType::RestAsync(_))
    ));

    let exec = zitadel::Execution::from_json(
        br#"{"condition":{"event":{"group":"user.human.*"}},"targets":["t1",{"target":"t2"}]}"#,
    )
    .unwrap();
    let Condition::Event(ec) = &exec.condition else {
        panic!()
    };
    assert!(ec.matches("user.human.added"));
    assert!(!ec.matches("user.machine.added"));
    assert_eq!(exec.targets[1].id(), "t2");
    let m = MethodCondition::Service("zitadel.user.v2.UserService".into());
    assert!(m.matches("/zitadel.user.v2.UserService/AddHumanUser"));
    assert!(!EventCondition::All(false).matches("x"));
    assert!(Family::Zitadel.is_known_event_type("user.human.*"));
    assert!(Family::Zitadel.is_known_event_type("/zitadel.user.v2.UserService/AddHumanUser"));
    assert!(!Family::Zitadel.is_known_event_type("not a type"));
}

#[test]
fn zentitle_vector_and_builders() {
    let body = br#"{"eventId":"event_NsqUHwSXC0S4f4vuNkegSg","eventDate":"2025-06-06T11:39:22.739326Z","eventCode":"customer.created","resourceId":"cust_ILLqMyx3UUy_n5cZqui7NQ","callAttempt":1,"payload":{"customerId":"cust_ILLqMyx3UUy_n5cZqui7NQ","name":"Acme"}}"#;
    let AnyEvent::Zentitle(ev) = round_trips(Family::Zentitle, body) else {
        panic!()
    };
    let zentitle::Payload::Customer(c) = &ev.payload else {
        panic!()
    };
    assert_eq!(c.name.as_deref(), Some("Acme"));
    let vector: Value = serde_json::from_str(include_str!(
        "../../../tests/data/specs/vectors/zentitle_vector.json"
    ))
    .unwrap();
    let vbody = vector["body"].as_str().unwrap_or_default();
    if !vbody.is_empty() {
        round_trips(Family::Zentitle, vbody.as_bytes());
    }
    let activated = zentitle::Event::entitlement_activated(
        "event_1",
        "2025-06-06T11:39:22.739326Z",
        zentitle::EntitlementPayload {
            entitlement_id: "ent_1".into(),
            activated_at: Some(Some("2025-06-06T11:39:22Z".into())),
            ..Default::default()
        },
    );
    let again = zentitle::parse(&activated.to_vec()).unwrap();
    assert_eq!(again, activated);
    assert_eq!(again.code(), zentitle::EventCode::EntitlementActivated);
    let test = zentitle::Event::test("webhook.test", "event_2", "2025-06-06T11:39:22Z", "whl_1");
    assert!(zentitle::parse(&test.to_vec()).unwrap().is_test());
    let e = zentitle::parse(br#"{"eventId":"e","eventDate":"d","eventCode":"entitlement.seat.activated","resourceId":"r","callAttempt":1,"payload":{"entitlementId":"x","activationId":"a"}}"#).unwrap_err();
    assert_eq!(
        e,
        ParseError::MissingField {
            path: "payload.seatId".into()
        }
    );
}

#[test]
fn families_names_and_known_types() {
    for f in Family::ALL {
        assert_eq!(Family::from_name(f.name()), Some(f));
        assert_eq!(
            serde_json::to_value(f).unwrap(),
            Value::String(f.name().into())
        );
    }
    assert_eq!(Family::ZeroTier.known_event_types().len(), 14);
    assert_eq!(Family::HubMessage.known_event_types().len(), 10);
    assert_eq!(Family::Zentitle.known_event_types().len(), 20);
    assert!(Family::Zta.is_known_event_type("goal_completed"));
    assert!(!Family::ZeroTier.is_known_event_type("UNKNOWN"));
    assert!(Family::StandardWebhooks.is_known_event_type("user.created"));
    let std_ev = hookwire_events::standard::Event::new(
        "user.created",
        "2022-11-03T20:26:10.344522Z",
        json!({"id": 1}),
    );
    let back = parse(Family::StandardWebhooks, &std_ev.to_vec()).unwrap();
    assert_eq!(back.event_type(), "user.created");
}
