//! Hub Message's webhooks API, per channel, over the dispatcher.
//!
//! Routes (both forms of the channel work; the second is the vendor's own):
//! - `GET /webhooks?channelId=C`, `POST /webhooks` (`channelId` in the query or the body)
//! - `GET | PATCH | DELETE /webhooks/{id}`
//! - `GET | POST /channels/{channelId}/webhooks`, `GET | PATCH | DELETE
//!   /channels/{channelId}/webhooks/{id}`
//!
//! The resource is the vendor's (seed 002, [`hookwire_events::hub_message::Webhook`]): a
//! 32-hex upper-case `id`, `instanceId` (the channel), `status` `ENABLED`/`DISABLED`,
//! `signing`, `secret` (64 hex, only in the create or `PATCH {"signing": true}` answer that
//! generated it), `auth {type, configured}` (the credentials are never returned),
//! `payloadFormat` `DEFAULT`/`Z_API`, `customAttributes`, `createdAt`/`updatedAt` as
//! `2025-01-15T10:30:00.000+0000`. Create answers 201, delete 204, a list is a JSON array.
//!
//! Every call answers **422** when the host's [`Roles`] says the account lacks the ENTERPRISE
//! role ("webhooks require the ENTERPRISE role on your account"). Errors are
//! `{"status": N, "error": "<reason phrase>", "message": "..."}` (the seed shows none).
//!
//! The five auth types map to the dispatcher's [`Auth`]: `NONE`; `BEARER` with `token`;
//! `API_KEY` with `key` (and `header`, default `X-API-Key`); `BASIC` with `username` and
//! `password`; `CUSTOM_HEADER` with `name` and `value`. The vendor does not publish these
//! field names; these are ours.
//!
//! Send a channel's events with [`send`], which gives each webhook the body of its payload
//! format.

// Handlers and their helpers return a finished `Response` as the error: it ends the request
// at once, so boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hookwire_dispatch::model::{Auth, EnqueueResult};
use hookwire_dispatch::{
    DispatchError, Dispatcher, EndpointInfo, EndpointUpdate, NewEndpoint, ValidationError,
};
use hookwire_events::Family;
use hookwire_events::hub_message::{
    AuthType, PayloadFormat, Webhook, WebhookAuth, WebhookEvent, WebhookStatus,
};
use hookwire_signature::{Scheme, Secret};
use http::StatusCode;
use http::request::Parts;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::flavour::{self, BodyError, json_ok};
use crate::state::ApiState;
use crate::tenant::Rejection;

const KIND: &str = "hub";
const FORMAT_KEY: &str = "hub_message.payload_format";
const ATTRIBUTES_KEY: &str = "hub_message.custom_attributes";
/// The seed's 422 message.
pub const ROLE_MESSAGE: &str = "Webhooks require the ENTERPRISE role on your account";

/// Whether an account may use webhooks (the vendor's ENTERPRISE role).
#[async_trait]
pub trait Roles: Send + Sync + 'static {
    /// Whether `tenant` has the role webhook calls need.
    async fn may_use_webhooks(&self, tenant: &str) -> bool;
}

/// Every account has the role.
#[derive(Clone, Copy, Debug, Default)]
pub struct EveryAccount;

#[async_trait]
impl Roles for EveryAccount {
    async fn may_use_webhooks(&self, _tenant: &str) -> bool {
        true
    }
}

/// The dispatcher tenant holding `tenant`'s webhooks of channel `channel_id`.
pub fn channel_tenant(tenant: &str, channel_id: &str) -> String {
    flavour::scoped(KIND, tenant, channel_id)
}

/// Sends one event of a channel: each enabled webhook subscribed to `event_type` gets
/// `default_body` or `z_api_body` by its payload format (one message per webhook, addressed
/// to it alone). Returns what the store did for each.
///
/// # Errors
/// As [`Dispatcher::send`].
pub async fn send(
    dispatcher: &Dispatcher,
    tenant: &str,
    channel_id: &str,
    event_type: &str,
    default_body: &[u8],
    z_api_body: &[u8],
) -> Result<Vec<EnqueueResult>, DispatchError> {
    let mut out = Vec::new();
    for info in dispatcher
        .list_endpoints(&channel_tenant(tenant, channel_id))
        .await?
    {
        let ep = &info.endpoint;
        if !ep.is_enabled() || !ep.subscribes_to(event_type) {
            continue;
        }
        let body = match format_of(&info) {
            PayloadFormat::ZApi => z_api_body,
            _ => default_body,
        };
        out.push(dispatcher.send_to(&ep.id, event_type, body).await?);
    }
    Ok(out)
}

#[derive(Clone)]
struct Hub {
    api: ApiState,
    roles: Arc<dyn Roles>,
}

/// The Hub Message webhooks API; every account has the role ([`EveryAccount`]).
pub fn router(state: ApiState) -> Router {
    router_with_roles(state, EveryAccount)
}

/// [`router`] with the host's role check (422 when it says no).
pub fn router_with_roles(state: ApiState, roles: impl Roles) -> Router {
    let limit = state.max_body();
    Router::new()
        .route("/webhooks", get(list_q).post(create_q))
        .route(
            "/webhooks/{id}",
            get(get_one).patch(patch_one).delete(delete_one),
        )
        .route(
            "/channels/{channel_id}/webhooks",
            get(list_path).post(create_path),
        )
        .route(
            "/channels/{channel_id}/webhooks/{id}",
            get(get_in).patch(patch_in).delete(delete_in),
        )
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(Hub {
            api: state,
            roles: Arc::new(roles),
        })
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    #[derive(Serialize)]
    struct Body {
        status: u16,
        error: &'static str,
        message: String,
    }
    let body = Body {
        status: status.as_u16(),
        error: status.canonical_reason().unwrap_or("Error"),
        message: message.into(),
    };
    crate::json::reply(status, &body)
}

fn internal(e: &DispatchError) -> Response {
    tracing::error!(error = %e, "hub-message api: store failure");
    error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
}

fn refusal(e: &DispatchError) -> Response {
    if let Some(v) = flavour::validation(e) {
        let message = match v {
            ValidationError::TooManyEndpoints { max, .. } => {
                format!("Maximum {max} webhooks per channel")
            }
            other => other.to_string(),
        };
        error(StatusCode::BAD_REQUEST, message)
    } else if flavour::is_not_found(e) {
        not_found()
    } else {
        internal(e)
    }
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Webhook not found")
}

fn body_error(e: BodyError) -> Response {
    error(e.status, e.message)
}

/// The tenant, after the role check.
async fn caller(h: &Hub, parts: &Parts) -> Result<String, Response> {
    let tenant = flavour::tenant_of(&h.api, parts)
        .await
        .map_err(|r| match r {
            Rejection::Forbidden => error(StatusCode::FORBIDDEN, "Access denied"),
            _ => error(StatusCode::UNAUTHORIZED, "Unauthorized"),
        })?;
    if !h.roles.may_use_webhooks(&tenant).await {
        return Err(error(StatusCode::UNPROCESSABLE_ENTITY, ROLE_MESSAGE));
    }
    Ok(tenant)
}

fn channel(id: Option<&str>) -> Result<&str, Response> {
    match id.filter(|c| !c.is_empty()) {
        None => Err(error(StatusCode::BAD_REQUEST, "channelId is required")),
        Some(c) if !flavour::valid_scope_id(c) => {
            Err(error(StatusCode::BAD_REQUEST, "channelId is invalid"))
        }
        Some(c) => Ok(c),
    }
}

fn format_of(info: &EndpointInfo) -> PayloadFormat {
    info.endpoint
        .metadata
        .get(FORMAT_KEY)
        .map_or(PayloadFormat::Default, |f| PayloadFormat::from_wire(f))
}

fn auth_type(auth: &Auth) -> AuthType {
    match auth {
        Auth::Bearer { .. } => AuthType::Bearer,
        Auth::ApiKey { .. } => AuthType::ApiKey,
        Auth::Basic { .. } => AuthType::Basic,
        Auth::CustomHeader { .. } => AuthType::CustomHeader,
        _ => AuthType::None,
    }
}

fn view(info: &EndpointInfo, channel_id: &str, secret: Option<&Secret>) -> Webhook {
    let ep = &info.endpoint;
    let kind = auth_type(&ep.auth);
    let attributes = ep
        .metadata
        .get(ATTRIBUTES_KEY)
        .and_then(|a| serde_json::from_str::<Map<String, Value>>(a).ok())
        .unwrap_or_default();
    let mut webhook = Webhook {
        id: flavour::endpoint_hex(&ep.id)
            .unwrap_or(&ep.id)
            .to_ascii_uppercase(),
        instance_id: channel_id.to_owned(),
        url: ep.url.clone(),
        description: Some((!ep.description.is_empty()).then(|| ep.description.clone())),
        events: ep
            .event_types
            .iter()
            .map(|e| WebhookEvent::from_wire(e))
            .collect(),
        status: if ep.is_enabled() {
            WebhookStatus::Enabled
        } else {
            WebhookStatus::Disabled
        },
        signing: ep.scheme.is_some(),
        secret: secret.map(|s| s.expose_secret().to_owned()),
        auth: None,
        payload_format: Some(format_of(info)),
        custom_attributes: Some(attributes),
        created_at: Some(flavour::iso_offset(ep.created_at)),
        updated_at: Some(flavour::iso_offset(ep.updated_at)),
        extra: Map::new(),
    };
    let mut auth = WebhookAuth {
        kind: AuthType::None,
        configured: !matches!(kind, AuthType::None),
        extra: Map::new(),
    };
    auth.kind = kind;
    webhook.auth = Some(auth);
    webhook
}

/// `auth` in a request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthBody {
    #[serde(rename = "type")]
    kind: String,
    token: Option<String>,
    key: Option<String>,
    header: Option<String>,
    username: Option<String>,
    password: Option<String>,
    name: Option<String>,
    value: Option<String>,
}

fn required(v: Option<String>, field: &str) -> Result<String, Response> {
    v.filter(|s| !s.is_empty())
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, format!("auth.{field} is required")))
}

fn to_auth(a: AuthBody) -> Result<Auth, Response> {
    Ok(match a.kind.as_str() {
        "NONE" => Auth::None,
        "BEARER" => Auth::Bearer {
            token: Secret::new(required(a.token, "token")?),
        },
        "API_KEY" => Auth::ApiKey {
            header: a.header.unwrap_or_else(|| "X-API-Key".to_owned()),
            key: Secret::new(required(a.key, "key")?),
        },
        "BASIC" => Auth::Basic {
            username: required(a.username, "username")?,
            password: Secret::new(required(a.password, "password")?),
        },
        "CUSTOM_HEADER" => Auth::CustomHeader {
            header: required(a.name.or(a.header), "name")?,
            value: Secret::new(required(a.value, "value")?),
        },
        other => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!(
                    "auth.type `{other}` is not one of NONE, BEARER, API_KEY, BASIC, CUSTOM_HEADER"
                ),
            ));
        }
    })
}

fn to_format(f: &str) -> Result<PayloadFormat, Response> {
    match PayloadFormat::from_wire(f) {
        PayloadFormat::Other(_) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("payloadFormat `{f}` is not one of DEFAULT, Z_API"),
        )),
        known => Ok(known),
    }
}

fn check_events(events: &[String]) -> Result<(), Response> {
    if events.is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "events must name at least one event",
        ));
    }
    match events
        .iter()
        .find(|e| !Family::HubMessage.is_known_event_type(e))
    {
        Some(bad) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("events: unknown event `{bad}`"),
        )),
        None => Ok(()),
    }
}

fn attributes_json(a: &Map<String, Value>) -> String {
    serde_json::to_string(a).unwrap_or_else(|_| "{}".to_owned())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    channel_id: Option<String>,
    url: Option<String>,
    events: Option<Vec<String>>,
    description: Option<String>,
    #[serde(default)]
    signing: bool,
    auth: Option<AuthBody>,
    payload_format: Option<String>,
    custom_attributes: Option<Map<String, Value>>,
}

async fn list(h: Hub, parts: Parts, channel_id: Option<String>) -> Response {
    let tenant = match caller(&h, &parts).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let channel_id = match channel(channel_id.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match h
        .api
        .dispatcher()
        .list_endpoints(&channel_tenant(&tenant, channel_id))
        .await
    {
        Ok(eps) => {
            let list: Vec<Webhook> = eps.iter().map(|i| view(i, channel_id, None)).collect();
            json_ok(list).into_response()
        }
        Err(e) => internal(&e),
    }
}

async fn create(
    h: Hub,
    parts: Parts,
    path_channel: Option<String>,
    query_channel: Option<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let tenant = match caller(&h, &parts).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let body: CreateBody = match flavour::json_body(body) {
        Ok(b) => b,
        Err(e) => return body_error(e),
    };
    let given = path_channel.or(query_channel).or(body.channel_id);
    let channel_id = match channel(given.as_deref()) {
        Ok(c) => c.to_owned(),
        Err(r) => return r,
    };
    let Some(url) = body.url.filter(|u| !u.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "url is required");
    };
    let events = body.events.unwrap_or_default();
    if let Err(r) = check_events(&events) {
        return r;
    }
    let auth = match body.auth.map(to_auth).transpose() {
        Ok(a) => a.unwrap_or_default(),
        Err(r) => return r,
    };
    let format = match body.payload_format.as_deref().map(to_format).transpose() {
        Ok(f) => f.unwrap_or(PayloadFormat::Default),
        Err(r) => return r,
    };
    let mut new = NewEndpoint::new(
        channel_tenant(&tenant, &channel_id),
        Family::HubMessage,
        url,
    )
    .event_types(events)
    .description(body.description.unwrap_or_default())
    .auth(auth)
    .metadata(FORMAT_KEY, format.as_str());
    if let Some(a) = &body.custom_attributes {
        new = new.metadata(ATTRIBUTES_KEY, attributes_json(a));
    }
    if !body.signing {
        new = new.scheme(None);
    }
    match h.api.dispatcher().create_endpoint(new).await {
        Ok(created) => {
            let secret = created.secret.as_ref().map(|s| &s.verification);
            let webhook = view(&created.info, &channel_id, secret);
            crate::json::reply(StatusCode::CREATED, &webhook)
        }
        Err(e) => refusal(&e),
    }
}

/// The endpoint behind a webhook id and its channel, if it is `tenant`'s (and in
/// `channel_id` when given); otherwise 404, exactly as for an id that does not exist.
async fn owned(
    h: &Hub,
    tenant: &str,
    channel_id: Option<&str>,
    id: &str,
) -> Result<(EndpointInfo, String), Response> {
    let ep_id = flavour::endpoint_id_from_hex(id).ok_or_else(not_found)?;
    let info = match h.api.dispatcher().get_endpoint(&ep_id).await {
        Ok(Some(i)) => i,
        Ok(None) => return Err(not_found()),
        Err(e) => return Err(internal(&e)),
    };
    let channel = flavour::scope_of(&info.endpoint.tenant, KIND, tenant)
        .filter(|c| channel_id.is_none_or(|want| want == *c))
        .ok_or_else(not_found)?
        .to_owned();
    Ok((info, channel))
}

async fn get_webhook(h: Hub, parts: Parts, channel_id: Option<String>, id: String) -> Response {
    let tenant = match caller(&h, &parts).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    match owned(&h, &tenant, channel_id.as_deref(), &id).await {
        Ok((info, channel)) => json_ok(view(&info, &channel, None)).into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PatchBody {
    url: Option<String>,
    events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    description: Option<Option<String>>,
    signing: Option<bool>,
    auth: Option<AuthBody>,
    status: Option<String>,
    payload_format: Option<String>,
    custom_attributes: Option<Map<String, Value>>,
    /// Accepted and ignored: a webhook cannot move to another channel.
    #[serde(rename = "channelId")]
    _channel_id: Option<String>,
}

fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

async fn patch_webhook(
    h: Hub,
    parts: Parts,
    channel_id: Option<String>,
    id: String,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let tenant = match caller(&h, &parts).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (info, channel) = match owned(&h, &tenant, channel_id.as_deref(), &id).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let body: PatchBody = match flavour::json_body(body) {
        Ok(b) => b,
        Err(e) => return body_error(e),
    };
    // Everything is checked before anything is written.
    if let Some(events) = &body.events
        && let Err(r) = check_events(events)
    {
        return r;
    }
    let auth = match body.auth.map(to_auth).transpose() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let enabled = match body.status.as_deref() {
        None => None,
        Some("ENABLED") => Some(true),
        Some("DISABLED") => Some(false),
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("status `{other}` is not one of ENABLED, DISABLED"),
            );
        }
    };
    let format = match body.payload_format.as_deref().map(to_format).transpose() {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut metadata: BTreeMap<String, String> = info.endpoint.metadata.clone();
    if let Some(f) = &format {
        metadata.insert(FORMAT_KEY.to_owned(), f.as_str().to_owned());
    }
    if let Some(a) = &body.custom_attributes {
        metadata.insert(ATTRIBUTES_KEY.to_owned(), attributes_json(a));
    }
    let update = EndpointUpdate {
        url: body.url,
        event_types: body.events,
        description: body.description.map(Option::unwrap_or_default),
        auth,
        enabled,
        metadata: (metadata != info.endpoint.metadata).then_some(metadata),
        ..EndpointUpdate::default()
    };
    let dispatcher = h.api.dispatcher();
    let ep_id = info.endpoint.id.clone();
    let mut info = match dispatcher.update_endpoint(&ep_id, update).await {
        Ok(i) => i,
        Err(e) => return refusal(&e),
    };
    let signed = info.endpoint.scheme.is_some();
    let secret = match body.signing {
        // `signing: true` always issues a new secret (a rotation when already signed).
        Some(true) if signed => dispatcher
            .rotate_secret(&ep_id)
            .await
            .map(|r| Some(r.secret)),
        Some(true) => {
            dispatcher
                .set_signing(&ep_id, Scheme::from_name("hub-message").ok())
                .await
        }
        Some(false) if signed => dispatcher.set_signing(&ep_id, None).await,
        _ => Ok(None),
    };
    let secret = match secret {
        Ok(s) => s,
        Err(e) => return refusal(&e),
    };
    if body.signing.is_some() {
        info = match dispatcher.get_endpoint(&ep_id).await {
            Ok(Some(i)) => i,
            Ok(None) => return not_found(),
            Err(e) => return internal(&e),
        };
    }
    let webhook = view(&info, &channel, secret.as_ref().map(|s| &s.verification));
    json_ok(webhook).into_response()
}

async fn delete_webhook(h: Hub, parts: Parts, channel_id: Option<String>, id: String) -> Response {
    let tenant = match caller(&h, &parts).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (info, _) = match owned(&h, &tenant, channel_id.as_deref(), &id).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    match h.api.dispatcher().delete_endpoint(&info.endpoint.id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => not_found(),
        Err(e) => internal(&e),
    }
}

// ---- thin route adapters ------------------------------------------------------------------

async fn list_q(State(h): State<Hub>, parts: Parts) -> Response {
    let c = flavour::query(&parts).remove("channelId");
    list(h, parts, c).await
}

async fn list_path(State(h): State<Hub>, parts: Parts, Path(c): Path<String>) -> Response {
    list(h, parts, Some(c)).await
}

async fn create_q(
    State(h): State<Hub>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let q = flavour::query(&parts).remove("channelId");
    create(h, parts, None, q, body).await
}

async fn create_path(
    State(h): State<Hub>,
    parts: Parts,
    Path(c): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    create(h, parts, Some(c), None, body).await
}

async fn get_one(State(h): State<Hub>, parts: Parts, Path(id): Path<String>) -> Response {
    get_webhook(h, parts, None, id).await
}

async fn get_in(
    State(h): State<Hub>,
    parts: Parts,
    Path((c, id)): Path<(String, String)>,
) -> Response {
    get_webhook(h, parts, Some(c), id).await
}

async fn patch_one(
    State(h): State<Hub>,
    parts: Parts,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    patch_webhook(h, parts, None, id, body).await
}

async fn patch_in(
    State(h): State<Hub>,
    parts: Parts,
    Path((c, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    patch_webhook(h, parts, Some(c), id, body).await
}

async fn delete_one(State(h): State<Hub>, parts: Parts, Path(id): Path<String>) -> Response {
    delete_webhook(h, parts, None, id).await
}

async fn delete_in(
    State(h): State<Hub>,
    parts: Parts,
    Path((c, id)): Path<(String, String)>,
) -> Response {
    delete_webhook(h, parts, Some(c), id).await
}
