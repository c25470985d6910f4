//! `/v1/event-types`: each family's subscribable event types, with one example payload per
//! type (shaped like the family's real payloads, and parsed by `hookwire-events` in a test).

use axum::response::Response;
use hookwire_events::Family;
use http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use crate::json::{IdPath, reply};
use crate::problem::Problem;
use crate::tenant::Tenant;

#[derive(Debug, Serialize)]
struct TypeView {
    name: &'static str,
    example: Value,
}

#[derive(Debug, Serialize)]
struct FamilyView {
    family: Family,
    /// Whether types outside the list are accepted in subscriptions.
    open: bool,
    event_types: Vec<TypeView>,
}

/// The types a catalog lists: the family's known ones; for Standard Webhooks (free-form
/// types) a few common names.
pub(crate) fn types(family: Family) -> &'static [&'static str] {
    match family {
        Family::StandardWebhooks => &["invoice.paid", "user.created", "hookwire.test"],
        other => other.known_event_types(),
    }
}

/// One example payload of `event_type` in `family`.
pub(crate) fn example(family: Family, event_type: &str) -> Value {
    match family {
        Family::ZeroTier => zerotier_example(event_type),
        Family::Zta => json!({
            "event": event_type,
            "timestamp": "2024-12-12T16:30:00.000Z",
            "data": { "siteId": "site_abc123", "path": "/pricing" },
        }),
        Family::HubMessage => json!({
            "message": {
                "_id": "019E6F1A93FE78DCB54332F9FF0C0001",
                "tenant": "019DCEB3E93B7077B2447616B6DC8B91",
                "channel_id": "019E4C54B1B375A28970B605CA9B03C3",
                "created": 1_779_980_473_342_u64,
                "sender": { "@class": ".Sender", "identifier": "5544936181064", "name": "Ana" },
                "recipient": { "@class": ".Recipient", "identifier": "BARLING_SYSTEM" },
                "contents": [{ "@class": ".TextContent", "message": "hello", "type": "TEXT" }],
                "attachments": [],
                "actions": []
            },
            "messageEventType": event_type,
        }),
        Family::Zitadel => zitadel_example(event_type),
        Family::Zentitle => json!({
            "eventId": "event_7d1f0c2a",
            "eventDate": "2025-06-06T11:39:22.739326Z",
            "eventCode": event_type,
            "resourceId": "res_1",
            "callAttempt": 1,
            "payload": {},
        }),
        Family::StandardWebhooks => json!({
            "type": event_type,
            "timestamp": "2025-01-01T00:00:00Z",
            "data": { "id": "obj_1" },
        }),
    }
}

/// ZeroTier: the common fields and the ones this hook type carries.
fn zerotier_example(hook_type: &str) -> Value {
    let fields: &[&str] = match hook_type {
        "NETWORK_JOIN" => &["network_id", "member_id"],
        "NETWORK_AUTH" | "NETWORK_DEAUTH" => &["network_id", "member_id", "user_id", "user_email"],
        "NETWORK_SSO_LOGIN" => &["network_id", "member_id", "sso_user_email"],
        "NETWORK_SSO_LOGIN_ERROR" => &["network_id", "member_id", "sso_user_email", "error"],
        "NETWORK_CREATED" => &["network_id", "network_config", "user_id", "user_email"],
        "NETWORK_CONFIG_CHANGED" => &[
            "network_id",
            "user_id",
            "user_email",
            "old_config",
            "new_config",
        ],
        "NETWORK_DELETED" => &["network_id", "old_config", "user_id", "user_email"],
        "MEMBER_CONFIG_CHANGED" => &[
            "network_id",
            "member_id",
            "old_config",
            "new_config",
            "user_id",
            "user_email",
        ],
        "MEMBER_DELETED" => &[
            "network_id",
            "member_id",
            "old_config",
            "user_id",
            "user_email",
        ],
        "ORG_INVITE_SENT" => &["user_id", "invitee_email"],
        "ORG_INVITE_ACCEPTED" => &["user_id", "user_email", "network_ids"],
        "ORG_INVITE_REJECTED" => &["user_id", "user_email"],
        "ORG_MEMBER_REMOVED" => &["user_id", "removed_user_id", "removed_user_email"],
        _ => &[],
    };
    let mut v = json!({
        "hook_id": "ae76d4c0-c94e-4025-a648-2c504eb90e3c",
        "org_id": "1bb4dc96-f311-4c4a-ac93-551cbc0fa3da",
        "hook_type": hook_type,
    });
    for f in fields {
        v[*f] = match *f {
            "network_id" => json!("19d9808567a17ccf"),
            "member_id" => json!("a02505e545"),
            "user_id" | "removed_user_id" => json!("00000000-0000-0000-0000-000000000001"),
            "error" => json!("sso provider refused the login"),
            "network_ids" => json!(["19d9808567a17ccf"]),
            "network_config" | "old_config" | "new_config" => {
                json!({ "id": "19d9808567a17ccf", "name": "office", "private": true })
            }
            _ => json!("user@example.com"),
        };
    }
    v
}

fn zitadel_example(kind: &str) -> Value {
    match kind {
        "request" | "response" => json!({
            "fullMethod": "/zitadel.user.v2.UserService/AddHumanUser",
            "instanceID": "336392597046034435",
            "orgID": "336392597046099971",
            "projectID": "336392597046427651",
            "userID": "336392597046755331",
            "request": { "username": "mini@mouse.com" },
            "response": if kind == "response" { json!({ "userId": "336494809936035843" }) } else { Value::Null },
        }),
        "event" => json!({
            "aggregateID": "336494809936035843",
            "aggregateType": "user",
            "resourceOwner": "336392597046099971",
            "instanceID": "336392597046034435",
            "version": "v2",
            "sequence": 1,
            "event_type": "user.human.added",
            "created_at": "2025-09-05T08:55:36.156333Z",
            "userID": "336392597046755331",
            "event_payload": { "email": "mini@mouse.com" },
        }),
        function => json!({
            "function": if function == "function" { "function/preuserinfo" } else { function },
            "userinfo": { "sub": "336392597046755331" },
            "user": { "id": "336392597046755331" },
        }),
    }
}

fn family_view(family: Family) -> FamilyView {
    FamilyView {
        family,
        open: matches!(family, Family::Zitadel | Family::StandardWebhooks),
        event_types: types(family)
            .iter()
            .map(|t| TypeView {
                name: t,
                example: example(family, t),
            })
            .collect(),
    }
}

pub(crate) async fn list(_tenant: Tenant) -> Response {
    let data: Vec<FamilyView> = Family::ALL.into_iter().map(family_view).collect();
    #[derive(Serialize)]
    struct All {
        data: Vec<FamilyView>,
    }
    reply(StatusCode::OK, &All { data })
}

pub(crate) async fn family(_tenant: Tenant, IdPath(name): IdPath) -> Result<Response, Problem> {
    let family = Family::from_name(&name).ok_or_else(|| Problem::not_found("family"))?;
    Ok(reply(StatusCode::OK, &family_view(family)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_parses_as_its_family() {
        for family in Family::ALL {
            assert!(!types(family).is_empty(), "{family} lists no types");
            for t in types(family) {
                let body = serde_json::to_vec(&example(family, t)).expect("serializes");
                let parsed = hookwire_events::parse(family, &body);
                assert!(parsed.is_ok(), "{family} {t}: {parsed:?}");
                assert!(family.is_known_event_type(t), "{family} {t}");
            }
        }
    }
}
