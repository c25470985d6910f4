//! `/v1/deliveries`: list (filters and a cursor), read one with its attempt log, redeliver.

use axum::extract::State;
use axum::response::Response;
use hookwire_dispatch::model::{Attempt, Delivery, DeliveryFilter, DeliveryState, UnixMillis};
use http::StatusCode;
use serde::Serialize;

use crate::json::{IdPath, Query, check_id, reply};
use crate::problem::Problem;
use crate::state::ApiState;
use crate::tenant::Tenant;
use crate::v1::{DEFAULT_PAGE, ListPage, page_params};

/// A delivery as the API shows it.
#[derive(Debug, Serialize)]
struct DeliveryView<'a> {
    id: &'a str,
    message_id: &'a str,
    endpoint_id: &'a str,
    state: DeliveryState,
    attempts: u32,
    next_attempt_at: Option<UnixMillis>,
    first_attempt_at: Option<UnixMillis>,
    due_since: UnixMillis,
    last_error: Option<&'a str>,
    created_at: UnixMillis,
}

fn view(d: &Delivery) -> DeliveryView<'_> {
    DeliveryView {
        id: &d.id,
        message_id: &d.message_id,
        endpoint_id: &d.endpoint_id,
        state: d.state,
        attempts: d.attempts,
        next_attempt_at: (d.state == DeliveryState::Pending).then_some(d.next_attempt_at),
        first_attempt_at: d.first_attempt_at,
        due_since: d.due_since,
        last_error: d.last_error.as_deref(),
        created_at: d.created_at,
    }
}

#[derive(Debug, Serialize)]
struct AttemptView<'a> {
    id: &'a str,
    number: u32,
    at: UnixMillis,
    duration_ms: u64,
    status: Option<u16>,
    error: Option<&'a str>,
    response_snippet: Option<&'a str>,
    success: bool,
}

fn attempt_view(a: &Attempt) -> AttemptView<'_> {
    AttemptView {
        id: &a.id,
        number: a.number,
        at: a.at,
        duration_ms: a.duration_ms,
        status: a.status,
        error: a.error.as_deref(),
        response_snippet: a.response_snippet.as_deref(),
        success: a.success,
    }
}

fn id_param(q: &mut Query, name: &str, prefix: &str) -> Result<Option<String>, Problem> {
    match q.take(name) {
        None => Ok(None),
        Some(v) => {
            check_id(&v, prefix).map_err(|p| Problem::invalid(name, p.detail().unwrap_or("")))?;
            Ok(Some(v))
        }
    }
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    tenant: Tenant,
    uri: http::Uri,
) -> Result<Response, Problem> {
    let mut q = Query::parse(uri.query())?;
    let (size, cursor) = page_params(&mut q, DEFAULT_PAGE)?;
    let filter = DeliveryFilter {
        tenant: Some(tenant.into_string()),
        endpoint_id: id_param(&mut q, "endpoint_id", "ep")?,
        message_id: id_param(&mut q, "message_id", "msg")?,
        state: q.take_with(
            "state",
            "pending, in_flight, delivered or failed",
            DeliveryState::parse,
        )?,
        event_type: q.take("event_type"),
        created_from: q.take_with("since", "Unix milliseconds", |v| v.parse().ok())?,
        created_before: q.take_with("until", "Unix milliseconds", |v| v.parse().ok())?,
        ..DeliveryFilter::default()
    };
    q.finish()?;
    let page = state
        .dispatcher()
        .delivery_page(&filter, size, cursor.as_deref())
        .await?;
    let data: Vec<DeliveryView<'_>> = page.items.iter().map(view).collect();
    Ok(reply(
        StatusCode::OK,
        &ListPage {
            data,
            next_cursor: page.next,
        },
    ))
}

async fn owned(state: &ApiState, tenant: &Tenant, id: &str) -> Result<Delivery, Problem> {
    check_id(id, "dlv")?;
    state
        .dispatcher()
        .tenant_delivery(tenant.as_str(), id)
        .await?
        .ok_or_else(|| Problem::not_found("delivery"))
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    tenant: Tenant,
    IdPath(id): IdPath,
) -> Result<Response, Problem> {
    let d = owned(&state, &tenant, &id).await?;
    let attempts: Vec<Attempt> = state
        .dispatcher()
        .attempts_for_message(&d.message_id)
        .await?
        .into_iter()
        .filter(|a| a.delivery_id == d.id)
        .collect();
    #[derive(Serialize)]
    struct Full<'a> {
        #[serde(flatten)]
        delivery: DeliveryView<'a>,
        attempt_log: Vec<AttemptView<'a>>,
    }
    Ok(reply(
        StatusCode::OK,
        &Full {
            delivery: view(&d),
            attempt_log: attempts.iter().map(attempt_view).collect(),
        },
    ))
}

pub(crate) async fn redeliver(
    State(state): State<ApiState>,
    tenant: Tenant,
    IdPath(id): IdPath,
) -> Result<Response, Problem> {
    owned(&state, &tenant, &id).await?;
    state.dispatcher().redeliver(&id).await.map_err(|e| {
        if e.is_not_found() {
            Problem::not_found("delivery")
        } else {
            e.into()
        }
    })?;
    let d = owned(&state, &tenant, &id).await?;
    Ok(reply(StatusCode::ACCEPTED, &view(&d)))
}
