//! The OpenAPI 3.1 document of the `/v1` API, served at `/v1/openapi.json`. Built here from
//! the same route table as the router; a test holds the two together (every route
//! documented, every documented operation routed).

use std::sync::OnceLock;

use axum::response::Response;
use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::json::reply;

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

fn body(schema: &str) -> Value {
    json!({
        "required": true,
        "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
    })
}

fn ok(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
    })
}

fn param(name: &str, location: &str, description: &str, schema: Value) -> Value {
    json!({
        "name": name, "in": location, "required": location == "path",
        "description": description, "schema": schema
    })
}

fn id_param(what: &str, prefix: &str) -> Value {
    param(
        "id",
        "path",
        &format!("The {what} id ({prefix}_ and 32 hex digits)."),
        json!({ "type": "string", "pattern": format!("^{prefix}_[0-9a-f]{{32}}$") }),
    )
}

fn page_params() -> Vec<Value> {
    vec![
        param(
            "limit",
            "query",
            "Page size (default 50).",
            json!({ "type": "integer", "minimum": 1, "maximum": hookwire_dispatch::MAX_PAGE_SIZE }),
        ),
        param(
            "cursor",
            "query",
            "The `next_cursor` of the previous page.",
            json!({ "type": "string" }),
        ),
    ]
}

/// An operation with the errors every authenticated route can answer, plus `extra` ones.
fn op(
    id: &str,
    summary: &str,
    params: Vec<Value>,
    request: Option<Value>,
    success: (&str, Value),
    extra: &[(&str, &str)],
) -> Value {
    let mut responses = Map::new();
    responses.insert(success.0.to_owned(), success.1);
    responses.insert(
        "401".into(),
        problem("No or unknown credentials (`WWW-Authenticate: Bearer`)."),
    );
    responses.insert(
        "403".into(),
        problem("The credentials may not use this API."),
    );
    for (code, text) in extra {
        responses.insert((*code).to_owned(), problem(text));
    }
    responses.insert("500".into(), problem("Internal error (no detail)."));
    responses.insert(
        "503".into(),
        problem("The store is unavailable or the dispatcher is shutting down."),
    );
    let mut o = json!({
        "operationId": id,
        "summary": summary,
        "parameters": params,
        "responses": responses,
        "security": [{ "bearer": [] }],
    });
    if let Some(r) = request {
        o["requestBody"] = r;
    }
    o
}

const BAD: (&str, &str) = (
    "400",
    "Malformed JSON or parameter, unknown field, wrong type, malformed id or cursor.",
);
const MEDIA: (&str, &str) = ("415", "The body is not application/json.");
const TOO_LARGE: (&str, &str) = ("413", "The body is larger than the limit.");
const RULE: (&str, &str) = (
    "422",
    "Refused by a rule (limit reached, destination refused by the SSRF guard, unknown event type, ...), naming the field.",
);
const NOT_FOUND: (&str, &str) = (
    "404",
    "No such record for this tenant (other tenants' records answer the same).",
);

fn paths() -> Value {
    let ep = || id_param("endpoint", "ep");
    let json_in = [BAD, MEDIA, TOO_LARGE, RULE];
    let json_in_404 = [BAD, MEDIA, TOO_LARGE, RULE, NOT_FOUND];
    let delivery_filters = {
        let mut v = vec![
            param(
                "state",
                "query",
                "Only this state.",
                json!({ "type": "string", "enum": ["pending", "in_flight", "delivered", "failed"] }),
            ),
            param(
                "endpoint_id",
                "query",
                "Only this endpoint.",
                json!({ "type": "string", "pattern": "^ep_[0-9a-f]{32}$" }),
            ),
            param(
                "message_id",
                "query",
                "Only this message.",
                json!({ "type": "string", "pattern": "^msg_[0-9a-f]{32}$" }),
            ),
            param(
                "event_type",
                "query",
                "Only messages of this event type.",
                json!({ "type": "string" }),
            ),
            param(
                "since",
                "query",
                "Created at or after (Unix ms).",
                json!({ "type": "integer" }),
            ),
            param(
                "until",
                "query",
                "Created before (Unix ms).",
                json!({ "type": "integer" }),
            ),
        ];
        v.extend(page_params());
        v
    };
    json!({
        "/v1/endpoints": {
            "get": op("listEndpoints", "List endpoints, oldest first", page_params(), None,
                ("200", ok("A page of endpoints.", "EndpointPage")), &[BAD]),
            "post": op("createEndpoint", "Create an endpoint; the response holds its secret, the only time it is shown", vec![],
                Some(body("EndpointCreate")), ("201", ok("Created.", "EndpointCreated")), &json_in),
        },
        "/v1/endpoints/{id}": {
            "get": op("getEndpoint", "Read an endpoint", vec![ep()], None,
                ("200", ok("The endpoint.", "Endpoint")), &[BAD, NOT_FOUND]),
            "patch": op("updateEndpoint", "Change an endpoint (absent fields stay)", vec![ep()],
                Some(body("EndpointPatch")), ("200", ok("The changed endpoint.", "Endpoint")), &json_in_404),
            "delete": op("deleteEndpoint", "Delete an endpoint and its pending deliveries", vec![ep()], None,
                ("204", json!({ "description": "Deleted." })), &[BAD, NOT_FOUND]),
        },
        "/v1/endpoints/{id}/rotate-secret": {
            "post": op("rotateSecret", "New signing secret, shown once; older ones sign until the grace period ends", vec![ep()], None,
                ("200", ok("The new secret.", "Rotated")), &[BAD, NOT_FOUND, RULE]),
        },
        "/v1/endpoints/{id}/test": {
            "post": op("sendTestEvent", "Queue a test event to this endpoint only", vec![ep()], None,
                ("202", ok("Queued.", "Accepted")), &[BAD, NOT_FOUND]),
        },
        "/v1/endpoints/{id}/recover": {
            "post": op("recoverEndpoint", "Re-queue the endpoint's failed deliveries created since a time", vec![ep()],
                Some(body("Recover")), ("202", ok("How many were re-queued.", "Recovered")), &json_in_404),
        },
        "/v1/messages": {
            "post": op("sendMessage", "Send a message to every subscribed endpoint", vec![],
                Some(body("MessageSend")), ("202", ok("Stored with its deliveries.", "Accepted")), &json_in),
        },
        "/v1/messages/{id}": {
            "get": op("getMessage", "Read a message", vec![id_param("message", "msg")], None,
                ("200", ok("The message.", "Message")), &[BAD, NOT_FOUND]),
        },
        "/v1/deliveries": {
            "get": op("listDeliveries", "List deliveries, newest first", delivery_filters, None,
                ("200", ok("A page of deliveries.", "DeliveryPage")), &[BAD]),
        },
        "/v1/deliveries/{id}": {
            "get": op("getDelivery", "Read a delivery with its attempt log", vec![id_param("delivery", "dlv")], None,
                ("200", ok("The delivery.", "DeliveryWithAttempts")), &[BAD, NOT_FOUND]),
        },
        "/v1/deliveries/{id}/redeliver": {
            "post": op("redeliver", "Queue a delivery again, due now", vec![id_param("delivery", "dlv")], None,
                ("202", ok("The delivery, pending.", "Delivery")), &[BAD, NOT_FOUND]),
        },
        "/v1/event-types": {
            "get": op("listEventTypes", "Every family's event types with an example payload each", vec![], None,
                ("200", ok("The catalog.", "EventTypeCatalog")), &[]),
        },
        "/v1/event-types/{family}": {
            "get": op("getFamilyEventTypes", "One family's event types",
                vec![param("family", "path", "The family name.", json!({ "type": "string", "enum": ["zerotier", "zta", "hub-message", "zitadel", "zentitle", "standard"] }))],
                None, ("200", ok("The family's catalog.", "EventTypeFamily")), &[NOT_FOUND]),
        },
        "/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": { "200": { "description": "The OpenAPI 3.1 document.", "content": { "application/json": { "schema": { "type": "object" } } } } }
            }
        }
    })
}

fn schemas() -> Value {
    let ms = json!({ "type": "integer", "description": "Unix milliseconds." });
    let ms_or_null = json!({ "type": ["integer", "null"], "description": "Unix milliseconds." });
    let string_map = json!({ "type": "object", "additionalProperties": { "type": "string" } });
    let rate = json!({ "$ref": "#/components/schemas/RateLimit" });
    let auth_in = json!({ "$ref": "#/components/schemas/AuthInput" });
    json!({
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details.",
            "required": ["type", "title", "status"],
            "properties": {
                "type": { "type": "string", "description": "urn:hookwire:problem:<kind>" },
                "title": { "type": "string" },
                "status": { "type": "integer" },
                "detail": { "type": "string" },
                "field": { "type": "string", "description": "The request field or parameter that failed." }
            }
        },
        "RateLimit": {
            "type": "object", "additionalProperties": false, "required": ["per_second", "burst"],
            "properties": { "per_second": { "type": "number", "exclusiveMinimum": 0 }, "burst": { "type": "integer", "minimum": 1 } }
        },
        "AuthInput": {
            "description": "How the dispatcher authenticates to the endpoint.",
            "oneOf": [
                { "type": "object", "additionalProperties": false, "required": ["type"], "properties": { "type": { "const": "none" } } },
                { "type": "object", "additionalProperties": false, "required": ["type", "token"], "properties": { "type": { "const": "bearer" }, "token": { "type": "string" } } },
                { "type": "object", "additionalProperties": false, "required": ["type", "header", "key"], "properties": { "type": { "const": "api_key" }, "header": { "type": "string" }, "key": { "type": "string" } } },
                { "type": "object", "additionalProperties": false, "required": ["type", "username", "password"], "properties": { "type": { "const": "basic" }, "username": { "type": "string" }, "password": { "type": "string" } } },
                { "type": "object", "additionalProperties": false, "required": ["type", "header", "value"], "properties": { "type": { "const": "custom_header" }, "header": { "type": "string" }, "value": { "type": "string" } } }
            ]
        },
        "AuthView": {
            "type": "object", "required": ["type"], "description": "The auth kind and header names; never the secret values.",
            "properties": { "type": { "type": "string", "enum": ["none", "bearer", "api_key", "basic", "custom_header"] }, "header": { "type": "string" }, "username": { "type": "string" } }
        },
        "EndpointCreate": {
            "type": "object", "additionalProperties": false, "required": ["family", "url"],
            "properties": {
                "family": { "type": "string", "enum": ["zerotier", "zta", "hub-message", "zitadel", "zentitle", "standard"] },
                "url": { "type": "string", "format": "uri" },
                "event_types": { "type": "array", "items": { "type": "string" }, "description": "Default [\"*\"]." },
                "scheme": { "type": ["string", "null"], "description": "Signing scheme name (default: the family's); null sends unsigned." },
                "description": { "type": "string" },
                "auth": auth_in,
                "headers": string_map,
                "rate_limit": rate,
                "max_in_flight": { "type": "integer", "minimum": 1 },
                "fifo": { "type": "boolean" },
                "timeout_ms": { "type": "integer", "minimum": 1 }
            }
        },
        "EndpointPatch": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "url": { "type": "string", "format": "uri" },
                "event_types": { "type": "array", "items": { "type": "string" } },
                "description": { "type": "string" },
                "enabled": { "type": "boolean" },
                "auth": auth_in,
                "headers": string_map,
                "rate_limit": { "oneOf": [rate, { "type": "null" }] },
                "max_in_flight": { "type": ["integer", "null"], "minimum": 1 },
                "fifo": { "type": "boolean" },
                "timeout_ms": { "type": "integer", "minimum": 1 }
            }
        },
        "Endpoint": {
            "type": "object",
            "required": ["id", "family", "url", "event_types", "enabled", "auth", "headers", "fifo", "timeout_ms", "secrets", "created_at", "updated_at"],
            "properties": {
                "id": { "type": "string" },
                "family": { "type": "string" },
                "url": { "type": "string" },
                "event_types": { "type": "array", "items": { "type": "string" } },
                "scheme": { "type": ["string", "null"] },
                "description": { "type": "string" },
                "enabled": { "type": "boolean" },
                "disabled_reason": { "type": ["string", "null"] },
                "auth": { "$ref": "#/components/schemas/AuthView" },
                "headers": string_map,
                "rate_limit": { "oneOf": [rate, { "type": "null" }] },
                "max_in_flight": { "type": ["integer", "null"] },
                "fifo": { "type": "boolean" },
                "timeout_ms": { "type": "integer" },
                "secrets": { "type": "array", "items": { "type": "object", "properties": { "created_at": ms, "expires_at": ms_or_null } } },
                "created_at": ms, "updated_at": ms, "last_triggered_at": ms_or_null
            }
        },
        "EndpointCreated": {
            "allOf": [
                { "$ref": "#/components/schemas/Endpoint" },
                { "type": "object", "required": ["secret"], "properties": { "secret": { "type": ["string", "null"], "description": "What the receiver verifies with; shown only here." } } }
            ]
        },
        "EndpointPage": {
            "type": "object", "required": ["data", "next_cursor"],
            "properties": { "data": { "type": "array", "items": { "$ref": "#/components/schemas/Endpoint" } }, "next_cursor": { "type": ["string", "null"] } }
        },
        "Rotated": {
            "type": "object", "required": ["secret", "previous_valid_until"],
            "properties": { "secret": { "type": "string", "description": "Shown only here." }, "previous_valid_until": ms }
        },
        "Recover": {
            "type": "object", "additionalProperties": false, "required": ["since"],
            "properties": { "since": ms }
        },
        "Recovered": { "type": "object", "required": ["requeued"], "properties": { "requeued": { "type": "integer" } } },
        "MessageSend": {
            "type": "object", "additionalProperties": false, "required": ["event_type", "payload"],
            "properties": {
                "event_type": { "type": "string", "minLength": 1, "maxLength": 255 },
                "payload": { "description": "Any JSON value: the body every endpoint receives (compact)." },
                "idempotency_key": { "type": "string", "minLength": 1, "maxLength": 255, "description": "A repeat stores nothing and answers the earlier message." }
            }
        },
        "Accepted": {
            "type": "object", "required": ["message_id", "delivery_ids", "duplicate"],
            "properties": { "message_id": { "type": "string" }, "delivery_ids": { "type": "array", "items": { "type": "string" } }, "duplicate": { "type": "boolean" } }
        },
        "Message": {
            "type": "object", "required": ["id", "event_type", "payload", "created_at", "delivery_ids"],
            "properties": {
                "id": { "type": "string" }, "event_type": { "type": "string" }, "payload": {},
                "idempotency_key": { "type": ["string", "null"] }, "created_at": ms,
                "delivery_ids": { "type": "array", "items": { "type": "string" } }
            }
        },
        "Delivery": {
            "type": "object", "required": ["id", "message_id", "endpoint_id", "state", "attempts", "due_since", "created_at"],
            "properties": {
                "id": { "type": "string" }, "message_id": { "type": "string" }, "endpoint_id": { "type": "string" },
                "state": { "type": "string", "enum": ["pending", "in_flight", "delivered", "failed"] },
                "attempts": { "type": "integer" }, "next_attempt_at": ms_or_null, "first_attempt_at": ms_or_null,
                "due_since": ms, "last_error": { "type": ["string", "null"] }, "created_at": ms
            }
        },
        "Attempt": {
            "type": "object", "required": ["id", "number", "at", "duration_ms", "success"],
            "properties": {
                "id": { "type": "string" }, "number": { "type": "integer" }, "at": ms,
                "duration_ms": { "type": "integer" }, "status": { "type": ["integer", "null"] },
                "error": { "type": ["string", "null"] }, "response_snippet": { "type": ["string", "null"] },
                "success": { "type": "boolean" }
            }
        },
        "DeliveryWithAttempts": {
            "allOf": [
                { "$ref": "#/components/schemas/Delivery" },
                { "type": "object", "required": ["attempt_log"], "properties": { "attempt_log": { "type": "array", "items": { "$ref": "#/components/schemas/Attempt" } } } }
            ]
        },
        "DeliveryPage": {
            "type": "object", "required": ["data", "next_cursor"],
            "properties": { "data": { "type": "array", "items": { "$ref": "#/components/schemas/Delivery" } }, "next_cursor": { "type": ["string", "null"] } }
        },
        "EventTypeFamily": {
            "type": "object", "required": ["family", "open", "event_types"],
            "properties": {
                "family": { "type": "string" },
                "open": { "type": "boolean", "description": "Whether types outside the list may be subscribed." },
                "event_types": { "type": "array", "items": { "type": "object", "required": ["name", "example"], "properties": { "name": { "type": "string" }, "example": {} } } }
            }
        },
        "EventTypeCatalog": {
            "type": "object", "required": ["data"],
            "properties": { "data": { "type": "array", "items": { "$ref": "#/components/schemas/EventTypeFamily" } } }
        }
    })
}

/// The document.
pub(crate) fn spec() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        json!({
            "openapi": "3.1.0",
            "info": {
                "title": "hookwire management API",
                "version": env!("CARGO_PKG_VERSION"),
                "description": "Manage webhook endpoints, send messages and inspect deliveries. Paths are relative to where the host mounts the router. Times are Unix milliseconds. Every error is application/problem+json (RFC 9457)."
            },
            "paths": paths(),
            "components": {
                "schemas": schemas(),
                "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "Or whatever the host's Tenants resolver reads." } }
            },
            "security": [{ "bearer": [] }]
        })
    })
}

pub(crate) async fn document() -> Response {
    reply(StatusCode::OK, spec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_and_every_documented_operation_is_routed() {
        let doc = spec();
        let paths = doc["paths"].as_object().expect("paths");
        let routed: Vec<(String, String)> = crate::v1::table()
            .into_iter()
            .map(|(m, p, _)| (m.as_str().to_ascii_lowercase(), p.to_owned()))
            .collect();
        for (method, path) in &routed {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is not documented"
            );
        }
        for (path, item) in paths {
            for method in item.as_object().expect("path item").keys() {
                assert!(
                    routed.contains(&(method.clone(), path.clone())),
                    "{method} {path} is documented but not routed"
                );
            }
        }
        // Every $ref resolves.
        let text = doc.to_string();
        for part in text.split("\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap_or("");
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "dangling $ref {name}"
            );
        }
    }
}
