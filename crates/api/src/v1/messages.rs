//! `/v1/messages`: send one (202 with the message and delivery ids), read one.

use axum::extract::State;
use axum::response::Response;
use hookwire_dispatch::model::UnixMillis;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::json::{IdPath, JsonBody, check_id, reply};
use crate::problem::Problem;
use crate::state::ApiState;
use crate::tenant::Tenant;

/// Longest idempotency key accepted, in bytes.
const MAX_IDEMPOTENCY_KEY: usize = 255;
/// Longest event type accepted, in bytes.
const MAX_EVENT_TYPE: usize = 255;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendBody {
    event_type: String,
    payload: Value,
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// What `POST /v1/messages` and the test event answer.
#[derive(Debug, Serialize)]
pub(crate) struct Accepted<'a> {
    pub(crate) message_id: &'a str,
    pub(crate) delivery_ids: &'a [String],
    pub(crate) duplicate: bool,
}

pub(crate) async fn send(
    State(state): State<ApiState>,
    tenant: Tenant,
    JsonBody(body): JsonBody<SendBody>,
) -> Result<Response, Problem> {
    if body.event_type.is_empty() || body.event_type.len() > MAX_EVENT_TYPE {
        return Err(Problem::unprocessable(
            "event_type",
            format!("must be 1 to {MAX_EVENT_TYPE} bytes"),
        ));
    }
    if let Some(k) = &body.idempotency_key
        && (k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY)
    {
        return Err(Problem::unprocessable(
            "idempotency_key",
            format!("must be 1 to {MAX_IDEMPOTENCY_KEY} bytes"),
        ));
    }
    let payload = serde_json::to_vec(&body.payload).map_err(|_| Problem::internal())?;
    let sent = state
        .dispatcher()
        .send_message(
            tenant.as_str(),
            &body.event_type,
            payload,
            body.idempotency_key.as_deref(),
        )
        .await?;
    Ok(reply(
        StatusCode::ACCEPTED,
        &Accepted {
            message_id: &sent.message_id,
            delivery_ids: &sent.delivery_ids,
            duplicate: sent.duplicate,
        },
    ))
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    tenant: Tenant,
    IdPath(id): IdPath,
) -> Result<Response, Problem> {
    check_id(&id, "msg")?;
    let d = state.dispatcher();
    let m = d
        .tenant_message(tenant.as_str(), &id)
        .await?
        .ok_or_else(|| Problem::not_found("message"))?;
    let delivery_ids = d.delivery_ids(&id).await?;
    #[derive(Serialize)]
    struct View<'a> {
        id: &'a str,
        event_type: &'a str,
        payload: Value,
        idempotency_key: Option<&'a str>,
        created_at: UnixMillis,
        delivery_ids: &'a [String],
    }
    let payload = serde_json::from_slice(&m.payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&m.payload).into_owned()));
    Ok(reply(
        StatusCode::OK,
        &View {
            id: &m.id,
            event_type: &m.event_type,
            payload,
            idempotency_key: m.idempotency_key.as_deref(),
            created_at: m.created_at,
            delivery_ids: &delivery_ids,
        },
    ))
}
