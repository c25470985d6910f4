//! Property tests: generated events round-trip; arbitrary bytes and JSON never panic.
#![allow(clippy::unwrap_used, clippy::panic)] // test helpers: a panic is a test failure

use hookwire_events::zerotier::{Hook, NetworkJoin, OrgInviteAccepted};
use hookwire_events::{Family, parse, zentitle, zta};
use proptest::prelude::*;
use serde_json::Value;

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
}
