//! Zero Trust Analytics' webhooks API (`GET/POST/DELETE /api/webhooks`), over the dispatcher.
//!
//! The shapes are the vendor's (seed 001): `{"webhooks": [...]}` for a site's list,
//! `{"webhook": {...}}` with the secret once for a create (201), `{"success": true,
//! "message": "Webhook deleted successfully"}` for a delete by `?id=`, and `{"error": "..."}`
//! with 400, 401, 403, 404 or 405 otherwise. The limits are the dispatcher's (by default
//! ZTA's own: 10 webhooks per site, 5 event types per webhook).
//!
//! Each site's webhooks are dispatcher endpoints of family [`Family::Zta`] under the tenant
//! key [`site_tenant`]: send a site's events with
//! `dispatcher.send(&zta::site_tenant(tenant, site), "pageview", body)`.
//!
//! Deliberate differences from the seed: the list never shows `secret` (the seed's own text
//! says the secret is shown only once, at creation), and `lastTriggered` is `null` for a
//! webhook nothing was sent to yet.

// Handlers and their helpers return a finished `Response` as the error: it ends the request
// at once, so boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hookwire_dispatch::{DispatchError, EndpointInfo, NewEndpoint, ValidationError};
use hookwire_events::Family;
use http::StatusCode;
use http::request::Parts;
use serde::{Deserialize, Serialize};

use crate::flavour::{self, BodyError, json_ok};
use crate::state::ApiState;
use crate::tenant::Rejection;

const KIND: &str = "zta";

/// Who owns which site: the host's answer to the seed's "403 Access denied: you don't own
/// this site".
#[async_trait]
pub trait Sites: Send + Sync + 'static {
    /// Whether `tenant` may manage the webhooks of `site_id`.
    async fn owns(&self, tenant: &str, site_id: &str) -> bool;
}

/// Every site id names a site of the asking tenant's own (sites are namespaced per tenant,
/// so no tenant reaches another's).
#[derive(Clone, Copy, Debug, Default)]
pub struct EverySite;

#[async_trait]
impl Sites for EverySite {
    async fn owns(&self, _tenant: &str, _site_id: &str) -> bool {
        true
    }
}

/// The dispatcher tenant holding `tenant`'s webhooks of `site_id`.
pub fn site_tenant(tenant: &str, site_id: &str) -> String {
    flavour::scoped(KIND, tenant, site_id)
}

#[derive(Clone)]
struct Zta {
    api: ApiState,
    sites: Arc<dyn Sites>,
}

/// The ZTA webhooks API: `/api/webhooks`, every site id accepted ([`EverySite`]).
pub fn router(state: ApiState) -> Router {
    router_with_sites(state, EverySite)
}

/// [`router`] with the host's site ownership check.
pub fn router_with_sites(state: ApiState, sites: impl Sites) -> Router {
    let limit = state.max_body();
    Router::new()
        .route(
            "/api/webhooks",
            get(list)
                .post(create)
                .delete(remove)
                .fallback(|| async { error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed") }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(Zta {
            api: state,
            sites: Arc::new(sites),
        })
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    #[derive(Serialize)]
    struct Body {
        error: String,
    }
    (
        status,
        json_ok(Body {
            error: message.into(),
        }),
    )
        .into_response()
}

fn internal(e: &DispatchError) -> Response {
    tracing::error!(error = %e, "zta api: store failure");
    error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
}

fn body_error(e: BodyError) -> Response {
    error(e.status, e.message)
}

async fn caller(z: &Zta, parts: &Parts) -> Result<String, Response> {
    flavour::tenant_of(&z.api, parts)
        .await
        .map_err(|r| match r {
            Rejection::Forbidden => error(StatusCode::FORBIDDEN, "Access denied"),
            _ => error(StatusCode::UNAUTHORIZED, "Unauthorized"),
        })
}

async fn site(z: &Zta, tenant: &str, site_id: Option<&str>) -> Result<String, Response> {
    let site_id = site_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, "Site ID required"))?;
    if !flavour::valid_scope_id(site_id) {
        return Err(error(StatusCode::BAD_REQUEST, "Invalid site ID"));
    }
    if !z.sites.owns(tenant, site_id).await {
        return Err(error(StatusCode::FORBIDDEN, "Access denied"));
    }
    Ok(site_tenant(tenant, site_id))
}

/// `wh_<32 hex>` for `ep_<32 hex>`.
fn webhook_id(endpoint_id: &str) -> String {
    flavour::endpoint_hex(endpoint_id).map_or_else(|| endpoint_id.to_owned(), |h| format!("wh_{h}"))
}

/// A webhook as the list shows it (the seed's field order).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Webhook {
    id: String,
    url: String,
    events: Vec<String>,
    active: bool,
    created_at: String,
    last_triggered: Option<String>,
}

/// A webhook as its creation returns it: with the secret, the only time it is shown.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreatedWebhook {
    id: String,
    url: String,
    events: Vec<String>,
    secret: Option<String>,
    active: bool,
    created_at: String,
}

/// `{"success": true, "message": "..."}`.
#[derive(Serialize)]
struct Done {
    success: bool,
    message: &'static str,
}

#[derive(Serialize)]
struct Listed {
    webhooks: Vec<Webhook>,
}

#[derive(Serialize)]
struct Created {
    webhook: CreatedWebhook,
}

fn view(info: &EndpointInfo) -> Webhook {
    let ep = &info.endpoint;
    Webhook {
        id: webhook_id(&ep.id),
        url: ep.url.clone(),
        events: ep.event_types.clone(),
        active: ep.is_enabled(),
        created_at: flavour::iso_z(ep.created_at),
        last_triggered: ep.last_triggered_at.map(flavour::iso_z),
    }
}

async fn list(State(z): State<Zta>, parts: Parts) -> Response {
    let q = flavour::query(&parts);
    let tenant = match caller(&z, &parts).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let key = match site(&z, &tenant, q.get("siteId").map(String::as_str)).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    match z.api.dispatcher().list_endpoints(&key).await {
        Ok(eps) => {
            let webhooks = eps.iter().map(view).collect();
            json_ok(Listed { webhooks }).into_response()
        }
        Err(e) => internal(&e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    site_id: Option<String>,
    url: Option<String>,
    events: Option<Vec<String>>,
    description: Option<String>,
    /// `"test"` sends a test event to `webhookId` (the vendor's code does this on POST).
    action: Option<String>,
    webhook_id: Option<String>,
}

fn refusal(e: &DispatchError) -> Response {
    let message = match flavour::validation(e) {
        Some(v) => match v {
            ValidationError::InsecureUrl(_) | ValidationError::UnsupportedScheme(_) => {
                "URL must use HTTPS".to_owned()
            }
            ValidationError::UnknownEventType { event_type, .. } => {
                format!("Invalid event type: {event_type}")
            }
            ValidationError::TooManyEventTypes { max, .. } => {
                format!("Maximum {max} event types per webhook")
            }
            ValidationError::TooManyEndpoints { max, .. } => {
                format!("Maximum {max} webhooks per site")
            }
            ValidationError::NoEventTypes => "At least one event type required".to_owned(),
            ValidationError::InvalidUrl(_) | ValidationError::UrlCredentials => {
                "Invalid webhook URL".to_owned()
            }
            other => other.to_string(),
        },
        None => return internal(e),
    };
    error(StatusCode::BAD_REQUEST, message)
}

async fn create(
    State(z): State<Zta>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let tenant = match caller(&z, &parts).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let body: CreateBody = match flavour::json_body(body) {
        Ok(b) => b,
        Err(e) => return body_error(e),
    };
    if body.action.as_deref() == Some("test") {
        return test(&z, &tenant, body.webhook_id.as_deref()).await;
    }
    let key = match site(&z, &tenant, body.site_id.as_deref()).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let Some(url) = body.url.filter(|u| !u.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "URL required");
    };
    let events = body.events.unwrap_or_default();
    if events.is_empty() {
        return error(StatusCode::BAD_REQUEST, "At least one event type required");
    }
    // ZTA has no wildcard subscription.
    if let Some(bad) = events.iter().find(|e| !Family::Zta.is_known_event_type(e)) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("Invalid event type: {bad}"),
        );
    }
    let new = NewEndpoint::new(key, Family::Zta, url)
        .event_types(events)
        .description(body.description.unwrap_or_default());
    match z.api.dispatcher().create_endpoint(new).await {
        Ok(created) => {
            let w = view(&created.info);
            let webhook = CreatedWebhook {
                id: w.id,
                url: w.url,
                events: w.events,
                secret: created
                    .secret
                    .as_ref()
                    .map(|s| s.verification.expose_secret().to_owned()),
                active: w.active,
                created_at: w.created_at,
            };
            crate::json::reply(StatusCode::CREATED, &Created { webhook })
        }
        Err(e) => refusal(&e),
    }
}

/// The endpoint behind a webhook id, if it is one of `tenant`'s (else "not found", whether
/// it exists for another tenant or not at all), with its site checked against [`Sites`].
async fn owned(z: &Zta, tenant: &str, id: &str) -> Result<EndpointInfo, Response> {
    let not_found = || error(StatusCode::NOT_FOUND, "Webhook not found");
    let ep_id = id
        .strip_prefix("wh_")
        .and_then(flavour::endpoint_id_from_hex)
        .ok_or_else(not_found)?;
    let info = match z.api.dispatcher().get_endpoint(&ep_id).await {
        Ok(Some(info)) => info,
        Ok(None) => return Err(not_found()),
        Err(e) => return Err(internal(&e)),
    };
    let site_id = flavour::scope_of(&info.endpoint.tenant, KIND, tenant).ok_or_else(not_found)?;
    if !z.sites.owns(tenant, site_id).await {
        return Err(error(StatusCode::FORBIDDEN, "Access denied"));
    }
    Ok(info)
}

async fn test(z: &Zta, tenant: &str, id: Option<&str>) -> Response {
    let Some(id) = id.filter(|i| !i.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "Webhook ID required");
    };
    let info = match owned(z, tenant, id).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    match z.api.dispatcher().send_test(&info.endpoint.id).await {
        Ok(_) => json_ok(Done {
            success: true,
            message: "Test webhook queued for delivery",
        })
        .into_response(),
        Err(e) => internal(&e),
    }
}

async fn remove(State(z): State<Zta>, parts: Parts) -> Response {
    let q = flavour::query(&parts);
    let tenant = match caller(&z, &parts).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    // The docs say `?id=`, the vendor's code `?webhookId=`: both work.
    let Some(id) = q
        .get("id")
        .or_else(|| q.get("webhookId"))
        .filter(|i| !i.is_empty())
    else {
        return error(StatusCode::BAD_REQUEST, "Webhook ID required");
    };
    let info = match owned(&z, &tenant, id).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    match z.api.dispatcher().delete_endpoint(&info.endpoint.id).await {
        Ok(true) => json_ok(Done {
            success: true,
            message: "Webhook deleted successfully",
        })
        .into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "Webhook not found"),
        Err(e) => internal(&e),
    }
}
