//! The example bodies of the seed documents (`tests/data/seeds/`), pinned verbatim: each parses
//! into the type the spec (`tests/data/specs/`) says it is and round-trips as a JSON value;
//! where the seed's shape is fictional, what the spec says happens is asserted instead.
#![allow(clippy::unwrap_used, clippy::panic)] // test helpers: a panic is a test failure

use std::time::Duration;

use hookwire_events::zitadel::{
    self, Condition, ErrorReply, EventCondition, Execution, FunctionCondition, MethodCondition,
    Payload, PayloadType, Target, TargetType,
};
use hookwire_events::{AnyEvent, Family, ParseError, parse, zerotier, zta};
use serde_json::{Value, json};

const SEED_000: &str = include_str!("../../../tests/data/seeds/000_a930ec70cc21e5b7.txt");
const SEED_001: &str = include_str!("../../../tests/data/seeds/001_9d2f40fb3fc2f433.txt");
const SEED_003: &str = include_str!("../../../tests/data/seeds/003_dc1160f33010f8f7.txt");

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

/// Serializing `parsed` gives back the JSON value of `body`.
fn assert_round_trip<T: serde::Serialize>(parsed: &T, body: &str) {
    assert_eq!(
        serde_json::to_value(parsed).unwrap(),
        json_of(body),
        "{body}"
    );
}

/// Parses a ZITADEL body both ways (family entry point and module), checks they agree and
/// that the payload round-trips, and returns it.
fn zitadel_payload(body: &str) -> Payload {
    let p = zitadel::parse(body.as_bytes()).unwrap();
    let AnyEvent::Zitadel(via_family) = parse(Family::Zitadel, body.as_bytes()).unwrap() else {
        panic!("not a ZITADEL event")
    };
    assert_eq!(via_family, p);
    assert_eq!(p.to_json(), json_of(body));
    assert_eq!(zitadel::parse(&p.to_vec()).unwrap(), p);
    p
}

// ---------------------------------------------------------- ZITADEL (seed 003, zitadel.md)

/// "Request Execution": trigger before creating a user.
const EXECUTION_REQUEST: &str = r#"{
        "condition": {
          "request": {
            "method": "/zitadel.user.v2.UserService/AddHumanUser"
          }
        },
        "targets": ["337246363446151234"]
      }"#;

/// "Response Execution": trigger after creating a user.
const EXECUTION_RESPONSE: &str = r#"{
        "condition": {
          "response": {
            "method": "/zitadel.user.v2.UserService/AddHumanUser"
          }
        },
        "targets": ["337246363446151234"]
      }"#;

/// "Function Execution": trigger during token creation.
const EXECUTION_FUNCTION: &str = r#"{
        "condition": {
          "function": {
            "name": "complement_token"
          }
        },
        "targets": ["337246363446151234"]
      }"#;

/// "Event Execution": trigger when a user is locked.
const EXECUTION_EVENT: &str = r#"{
        "condition": {
          "event": {
            "event": "user.locked"
          }
        },
        "targets": ["337246363446151234"]
      }"#;

/// "Authentication Headers": create a target.
const TARGET: &str = r#"{
        "name": "Authenticated Webhook",
        "restWebhook": {
          "interruptOnError": true
        },
        "endpoint": "https://api.example.com/webhooks/zitadel",
        "timeout": "10s"
      }"#;

/// "Request Execution Payload".
const REQUEST_PAYLOAD: &str = r#"{
      "fullMethod": "/zitadel.user.v2.UserService/AddHumanUser",
      "instanceID": "123456789012345678",
      "orgID": "234567890123456789",
      "projectID": "345678901234567890",
      "userID": "456789012345678901",
      "request": {
        "user": {
          "profile": {
            "givenName": "John",
            "familyName": "Doe"
          },
          "email": {
            "email": "john.doe@example.com"
          }
        }
      }
    }"#;

/// "Response Execution Payload".
const RESPONSE_PAYLOAD: &str = r#"{
      "fullMethod": "/zitadel.user.v2.UserService/AddHumanUser",
      "instanceID": "123456789012345678",
      "orgID": "234567890123456789",
      "projectID": "345678901234567890",
      "userID": "567890123456789012",
      "request": {
        "user": {
          "profile": {
            "givenName": "John",
            "familyName": "Doe"
          },
          "email": {
            "email": "john.doe@example.com"
          }
        }
      },
      "response": {
        "userId": "567890123456789012",
        "details": {
          "sequence": "1",
          "changeDate": "2024-01-10T10:30:00Z"
        }
      }
    }"#;

/// "Event Execution Payload" (fictional shape, zitadel.md 4.5).
const EVENT_PAYLOAD: &str = r#"{
      "event": "user.locked",
      "instanceID": "123456789012345678",
      "orgID": "234567890123456789",
      "userID": "567890123456789012",
      "eventData": {
        "userId": "567890123456789012",
        "userName": "john.doe@example.com",
        "lockedAt": "2024-01-10T10:30:00Z",
        "reason": "Too many failed login attempts"
      }
    }"#;

/// "Successful Response" (fictional wrapper, zitadel.md 4.4).
const REPLY_SUCCESS: &str = r#"{
      "status": "success"
    }"#;

/// "Error Response" (fictional, zitadel.md 4.5).
const REPLY_ERROR: &str = r#"{
      "status": "error",
      "message": "Email domain not allowed"
    }"#;

/// "Response with Modifications (Request Executions)" (fictional wrapper).
const REPLY_MODIFIED_REQUEST: &str = r#"{
      "status": "success",
      "request": {
        "user": {
          "profile": {
            "givenName": "John",
            "familyName": "Doe",
            "displayName": "John Doe (Modified)"
          },
          "email": {
            "email": "john.doe@example.com"
          },
          "metadata": [
            {
              "key": "department",
              "value": "Engineering"
            }
          ]
        }
      }
    }"#;

const TARGET_ID: &str = "337246363446151234";
const ADD_HUMAN_USER: &str = "/zitadel.user.v2.UserService/AddHumanUser";

#[test]
fn zitadel_seed_blocks_are_verbatim() {
    for block in [
        EXECUTION_REQUEST,
        EXECUTION_RESPONSE,
        EXECUTION_FUNCTION,
        EXECUTION_EVENT,
        TARGET,
        REQUEST_PAYLOAD,
        RESPONSE_PAYLOAD,
        EVENT_PAYLOAD,
        REPLY_SUCCESS,
        REPLY_ERROR,
        REPLY_MODIFIED_REQUEST,
    ] {
        assert!(SEED_003.contains(block), "not in the seed:\n{block}");
    }
}

#[test]
fn zitadel_seed_executions_parse_and_round_trip() {
    let request = Execution::from_json(EXECUTION_REQUEST.as_bytes()).unwrap();
    assert_eq!(
        request.condition,
        Condition::Request(MethodCondition::Method(ADD_HUMAN_USER.into()))
    );
    let response = Execution::from_json(EXECUTION_RESPONSE.as_bytes()).unwrap();
    assert_eq!(
        response.condition,
        Condition::Response(MethodCondition::Method(ADD_HUMAN_USER.into()))
    );
    let function = Execution::from_json(EXECUTION_FUNCTION.as_bytes()).unwrap();
    assert_eq!(
        function.condition,
        Condition::Function(FunctionCondition {
            name: "complement_token".into()
        })
    );
    let event = Execution::from_json(EXECUTION_EVENT.as_bytes()).unwrap();
    assert_eq!(
        event.condition,
        Condition::Event(EventCondition::Event("user.locked".into()))
    );
    for (exec, body) in [
        (&request, EXECUTION_REQUEST),
        (&response, EXECUTION_RESPONSE),
        (&function, EXECUTION_FUNCTION),
        (&event, EXECUTION_EVENT),
    ] {
        assert_eq!(exec.targets.len(), 1);
        assert_eq!(exec.targets[0].id(), TARGET_ID);
        assert_eq!(exec.creation_date, None);
        assert!(exec.extra.is_empty());
        assert_round_trip(exec, body);
    }
    // The method condition matches the method of the seed's payloads; the event condition
    // matches its own event type only.
    let Condition::Request(m) = &request.condition else {
        panic!()
    };
    assert!(m.matches(ADD_HUMAN_USER));
    assert!(!m.matches("/zitadel.user.v2.UserService/DeleteUser"));
    let Condition::Event(e) = &event.condition else {
        panic!()
    };
    assert!(e.matches("user.locked"));
    assert!(!e.matches("user.locked.again"));
    // `complement_token` is an Actions v1 name: not one of the v2 function names (4.3).
    assert!(!zitadel::FUNCTION_NAMES.contains(&"complement_token"));
    assert!(!Family::Zitadel.is_known_event_type("function/complement_token"));
    assert!(Family::Zitadel.is_known_event_type("function/preaccesstoken"));
}

#[test]
fn zitadel_seed_target_parses_and_round_trips() {
    let t = Target::from_json(TARGET.as_bytes()).unwrap();
    assert_eq!(t.name, "Authenticated Webhook");
    assert_eq!(t.endpoint, "https://api.example.com/webhooks/zitadel");
    assert_eq!(t.timeout.as_deref(), Some("10s"));
    assert_eq!(t.timeout_duration().unwrap(), Some(Duration::from_secs(10)));
    assert!(matches!(
        &t.target_type,
        Some(TargetType::RestWebhook(o)) if o.interrupt_on_error
    ));
    assert!(t.target_type.as_ref().unwrap().interrupt_on_error());
    // No payloadType in the seed: UNSPECIFIED, which counts as JSON (4.2).
    assert_eq!(t.payload_type, None);
    assert_eq!(t.effective_payload_type(), PayloadType::Json);
    assert_eq!((t.id.as_deref(), t.signing_key.as_deref()), (None, None));
    assert!(t.extra.is_empty());
    assert_round_trip(&t, TARGET);
    // The same target built with the constructor serializes to the seed plus payloadType.
    let built = Target::rest_webhook(
        "Authenticated Webhook",
        "https://api.example.com/webhooks/zitadel",
        Duration::from_secs(10),
        true,
    );
    let mut want = json_of(TARGET);
    want["payloadType"] = json!("PAYLOAD_TYPE_JSON");
    assert_eq!(serde_json::to_value(&built).unwrap(), want);
}

#[test]
fn zitadel_seed_request_payload_is_a_request_execution() {
    let p = zitadel_payload(REQUEST_PAYLOAD);
    assert_eq!(p.event_type(), ADD_HUMAN_USER);
    let Payload::Request(r) = p else {
        panic!("not a request execution: {p:?}")
    };
    assert_eq!(r.full_method.as_deref(), Some(ADD_HUMAN_USER));
    assert_eq!(r.instance_id.as_deref(), Some("123456789012345678"));
    assert_eq!(r.org_id.as_deref(), Some("234567890123456789"));
    assert_eq!(r.project_id.as_deref(), Some("345678901234567890"));
    assert_eq!(r.user_id.as_deref(), Some("456789012345678901"));
    assert_eq!(r.headers, None);
    assert!(r.extra.is_empty());
    // `request` is kept as sent: the seed nests the message under `user` (4.5 says the real
    // protojson has `profile`/`email` directly under `request`), so no `profile` at the top.
    let request = r.request.unwrap();
    assert_eq!(request["user"]["profile"]["givenName"], "John");
    assert_eq!(request["user"]["email"]["email"], "john.doe@example.com");
    assert_eq!(request.get("profile"), None);
}

#[test]
fn zitadel_seed_response_payload_is_a_response_execution() {
    let p = zitadel_payload(RESPONSE_PAYLOAD);
    assert_eq!(p.event_type(), ADD_HUMAN_USER);
    let Payload::Response(r) = p else {
        panic!("not a response execution: {p:?}")
    };
    assert_eq!(r.full_method.as_deref(), Some(ADD_HUMAN_USER));
    assert_eq!(r.user_id.as_deref(), Some("567890123456789012"));
    assert_eq!(r.request.unwrap()["user"]["profile"]["familyName"], "Doe");
    let response = r.response.unwrap();
    assert_eq!(response["userId"], "567890123456789012");
    // protojson writes uint64 as a string.
    assert_eq!(response["details"]["sequence"], "1");
    assert_eq!(response["details"]["changeDate"], "2024-01-10T10:30:00Z");
    assert!(r.extra.is_empty());
}

#[test]
fn zitadel_seed_event_payload_is_fictional_and_kept_whole() {
    // The seed's `event`/`eventData` shape is not `ContextInfoEvent` (4.5): it is not taken
    // for an event execution but lands in `Other`, every field intact.
    let p = zitadel_payload(EVENT_PAYLOAD);
    assert_eq!(p.event_type(), "other");
    let Payload::Other(map) = p else {
        panic!("fictional event classified as {p:?}")
    };
    assert_eq!(Value::Object(map.clone()), json_of(EVENT_PAYLOAD));
    assert_eq!(map["event"], "user.locked");
    assert_eq!(map["eventData"]["reason"], "Too many failed login attempts");
    // The real shape of the same event is an event execution with typed fields.
    let real = json!({
        "aggregateID": "567890123456789012",
        "aggregateType": "user",
        "resourceOwner": "234567890123456789",
        "instanceID": "123456789012345678",
        "event_type": "user.locked",
        "event_payload": {}
    });
    let Payload::Event(e) = zitadel::Payload::from_value(real).unwrap() else {
        panic!()
    };
    assert_eq!(e.event_type.as_deref(), Some("user.locked"));
}

#[test]
fn zitadel_seed_replies_are_fictional_and_kept_whole() {
    // `{"status": ...}` wrappers are not what ZITADEL reads (4.4): none is a function reply
    // or an error reply, so each stays `Other`, unchanged.
    for body in [REPLY_SUCCESS, REPLY_ERROR, REPLY_MODIFIED_REQUEST] {
        let p = zitadel_payload(body);
        assert_eq!(p.event_type(), "other", "{body}");
        let Payload::Other(map) = p else {
            panic!("{body} classified as {p:?}")
        };
        assert_eq!(Value::Object(map), json_of(body));
    }
    let Payload::Other(modified) = zitadel_payload(REPLY_MODIFIED_REQUEST) else {
        panic!()
    };
    assert_eq!(modified["status"], "success");
    assert_eq!(
        modified["request"]["user"]["metadata"][0]["value"],
        "Engineering"
    );
    // The seed's error reply is not forwarded by ZITADEL; the real one is `forwarded*`.
    let Payload::Other(error) = zitadel_payload(REPLY_ERROR) else {
        panic!()
    };
    assert_eq!(error["message"], "Email domain not allowed");
    let real = ErrorReply::new(400, "Email domain not allowed");
    assert!(real.is_forwarded());
    let Payload::ErrorReply(back) = zitadel_payload(&serde_json::to_string(&real).unwrap()) else {
        panic!()
    };
    assert_eq!(back, real);
    assert_eq!(back.forwarded_status_code, Some(400));
}

// ------------------------------------------------------- ZeroTier (seed 000, zerotier.md)

/// The seed's list of the base fields (values elided, `hookd_id` misspelled).
const ZEROTIER_BASE_FIELDS: &str = r#""hookd_id": ...,
"org_id": ...,
"hook_type": ...,"#;

#[test]
fn zerotier_seed_base_fields_are_a_sketch_with_a_typo() {
    assert!(SEED_000.contains(ZEROTIER_BASE_FIELDS));
    // Not JSON, even wrapped in braces (`...` placeholders, trailing comma).
    let wrapped = format!("{{{ZEROTIER_BASE_FIELDS}}}");
    assert!(matches!(
        zerotier::parse(wrapped.as_bytes()),
        Err(ParseError::Syntax { .. })
    ));
    // With values filled in, the seed's key is refused: the real key is `hook_id`.
    let typo = br#"{"hookd_id":"h","org_id":"o","hook_type":"NETWORK_JOIN","network_id":"n","member_id":"m"}"#;
    assert_eq!(
        zerotier::parse(typo).unwrap_err(),
        ParseError::MissingField {
            path: "hook_id".into()
        }
    );
    let fixed = String::from_utf8(typo.to_vec())
        .unwrap()
        .replace("hookd_id", "hook_id");
    let hook = zerotier::parse(fixed.as_bytes()).unwrap();
    assert_eq!(hook.hook_id(), "h");
    assert_eq!(hook.to_json(), json_of(&fixed));
}

// ---------------------------------------------- Zero Trust Analytics (seed 001, zero-trust-analytics.md)

#[test]
fn zta_seed_event_examples_are_the_corpus_files() {
    // The four event examples are byte for byte corpus/zta/01..04, which tests/corpus.rs
    // parses and round-trips.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/corpus/zta/");
    for (file, kind) in [
        ("01-pageview.json", zta::EventKind::Pageview),
        ("02-custom-event.json", zta::EventKind::Event),
        ("03-goal.json", zta::EventKind::Goal),
        ("04-alert.json", zta::EventKind::Alert),
    ] {
        let body = std::fs::read_to_string(format!("{dir}{file}")).unwrap();
        assert!(SEED_001.contains(&format!("```json\n{body}```")), "{file}");
        assert_eq!(zta::parse(body.as_bytes()).unwrap().kind(), kind, "{file}");
    }
}

/// "List Webhooks" response: a management API body, not a delivery.
const ZTA_LIST_RESPONSE: &str = r#"{
  "webhooks": [
    {
      "id": "wh_abc123",
      "url": "https://your-server.com/webhook",
      "events": ["pageview", "event", "goal"],
      "secret": "whsec_xyz789",
      "active": true,
      "createdAt": "2024-12-01T10:00:00.000Z",
      "lastTriggered": "2024-12-12T15:30:00.000Z"
    }
  ]
}
"#;

/// "Create Webhook" response.
const ZTA_CREATE_RESPONSE: &str = r#"{
  "webhook": {
    "id": "wh_abc123",
    "url": "https://your-server.com/webhook",
    "events": ["pageview", "event", "goal"],
    "secret": "whsec_xyz789",
    "active": true,
    "createdAt": "2024-12-12T16:00:00.000Z"
  }
}
"#;

#[test]
fn zta_seed_management_responses_are_not_deliveries() {
    for body in [ZTA_LIST_RESPONSE, ZTA_CREATE_RESPONSE] {
        assert!(SEED_001.contains(&format!("```json\n{body}```")));
        assert_eq!(
            zta::parse(body.as_bytes()).unwrap_err(),
            ParseError::MissingField {
                path: "event".into()
            }
        );
    }
    // Every event a webhook subscribes to in the seed is a known event name.
    let list = json_of(ZTA_LIST_RESPONSE);
    for e in list["webhooks"][0]["events"].as_array().unwrap() {
        assert!(Family::Zta.is_known_event_type(e.as_str().unwrap()), "{e}");
    }
}
