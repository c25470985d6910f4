//! `/v1/endpoints`: create (the secret once), list, get, patch, delete, rotate the secret
//! (the new one once), send a test event, recover failures.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use hookwire_dispatch::model::{Auth, EndpointStatus, RateLimit, UnixMillis};
use hookwire_dispatch::{EndpointInfo, EndpointUpdate, NewEndpoint};
use hookwire_events::Family;
use hookwire_signature::{Scheme, Secret};
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Deserializer, Serialize};

use crate::json::{IdPath, JsonBody, Query, check_id, reply};
use crate::problem::Problem;
use crate::state::ApiState;
use crate::tenant::Tenant;
use crate::v1::{DEFAULT_PAGE, ListPage, page_params};

/// `Some(None)` for an explicit `null`, `None` (with `#[serde(default)]`) when absent.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// How the dispatcher authenticates to the endpoint, as the API reads it.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum AuthInput {
    None,
    Bearer { token: String },
    ApiKey { header: String, key: String },
    Basic { username: String, password: String },
    CustomHeader { header: String, value: String },
}

impl From<AuthInput> for Auth {
    fn from(a: AuthInput) -> Self {
        match a {
            AuthInput::None => Auth::None,
            AuthInput::Bearer { token } => Auth::Bearer {
                token: Secret::new(token),
            },
            AuthInput::ApiKey { header, key } => Auth::ApiKey {
                header,
                key: Secret::new(key),
            },
            AuthInput::Basic { username, password } => Auth::Basic {
                username,
                password: Secret::new(password),
            },
            AuthInput::CustomHeader { header, value } => Auth::CustomHeader {
                header,
                value: Secret::new(value),
            },
        }
    }
}

/// Auth as the API shows it: the kind and header names, never the secret values.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum AuthView<'a> {
    None,
    Bearer,
    ApiKey { header: &'a str },
    Basic { username: &'a str },
    CustomHeader { header: &'a str },
}

fn auth_view(a: &Auth) -> AuthView<'_> {
    match a {
        Auth::Bearer { .. } => AuthView::Bearer,
        Auth::ApiKey { header, .. } => AuthView::ApiKey { header },
        Auth::Basic { username, .. } => AuthView::Basic { username },
        Auth::CustomHeader { header, .. } => AuthView::CustomHeader { header },
        _ => AuthView::None,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateLimitInput {
    per_second: f64,
    burst: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBody {
    family: Family,
    url: String,
    #[serde(default)]
    event_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    scheme: Option<Option<String>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    auth: Option<AuthInput>,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    rate_limit: Option<RateLimitInput>,
    #[serde(default)]
    max_in_flight: Option<u32>,
    #[serde(default)]
    fifo: Option<bool>,
    #[serde(default)]
    timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchBody {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    event_types: Option<Vec<String>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    auth: Option<AuthInput>,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "nullable")]
    rate_limit: Option<Option<RateLimitInput>>,
    #[serde(default, deserialize_with = "nullable")]
    max_in_flight: Option<Option<u32>>,
    #[serde(default)]
    fifo: Option<bool>,
    #[serde(default)]
    timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecoverBody {
    since: UnixMillis,
}

#[derive(Debug, Serialize)]
struct SecretView {
    created_at: UnixMillis,
    expires_at: Option<UnixMillis>,
}

/// An endpoint as every response shows it (no secret values).
#[derive(Debug, Serialize)]
pub(crate) struct EndpointView<'a> {
    id: &'a str,
    family: Family,
    url: &'a str,
    event_types: &'a [String],
    scheme: Option<&'static str>,
    description: &'a str,
    enabled: bool,
    disabled_reason: Option<&'a str>,
    auth: AuthView<'a>,
    headers: BTreeMap<&'a str, &'a str>,
    rate_limit: Option<RateLimit>,
    max_in_flight: Option<u32>,
    fifo: bool,
    timeout_ms: u64,
    secrets: Vec<SecretView>,
    created_at: UnixMillis,
    updated_at: UnixMillis,
    last_triggered_at: Option<UnixMillis>,
}

pub(crate) fn view(info: &EndpointInfo) -> EndpointView<'_> {
    let e = &info.endpoint;
    let disabled_reason = match &e.status {
        EndpointStatus::Disabled { reason, .. } => Some(reason.as_str()),
        _ => None,
    };
    EndpointView {
        id: &e.id,
        family: e.family,
        url: &e.url,
        event_types: &e.event_types,
        scheme: e.scheme.as_ref().map(Scheme::name),
        description: &e.description,
        enabled: e.is_enabled(),
        disabled_reason,
        auth: auth_view(&e.auth),
        headers: e
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        rate_limit: e.rate_limit,
        max_in_flight: e.max_in_flight,
        fifo: e.fifo,
        timeout_ms: e.timeout_ms,
        secrets: info
            .secrets
            .iter()
            .map(|s| SecretView {
                created_at: s.created_at,
                expires_at: s.expires_at,
            })
            .collect(),
        created_at: e.created_at,
        updated_at: e.updated_at,
        last_triggered_at: e.last_triggered_at,
    }
}

fn headers_vec(map: BTreeMap<String, String>) -> Vec<(String, String)> {
    map.into_iter().collect()
}

fn timeout(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// The endpoint `id` of `tenant`, or 404 (also for another tenant's).
pub(crate) async fn owned(
    state: &ApiState,
    tenant: &Tenant,
    id: &str,
) -> Result<EndpointInfo, Problem> {
    check_id(id, "ep")?;
    state
        .dispatcher()
        .tenant_endpoint(tenant.as_str(), id)
        .await?
        .ok_or_else(|| Problem::not_found("endpoint"))
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    tenant: Tenant,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, Problem> {
    let mut new = NewEndpoint::new(tenant.into_string(), body.family, body.url);
    if let Some(types) = body.event_types {
        new = new.event_types(types);
    }
    if let Some(scheme) = body.scheme {
        let scheme = match scheme {
            None => None,
            Some(name) => Some(
                Scheme::from_name(&name)
                    .map_err(|e| Problem::unprocessable("scheme", e.to_string()))?,
            ),
        };
        new = new.scheme(scheme);
    }
    if let Some(d) = body.description {
        new = new.description(d);
    }
    if let Some(a) = body.auth {
        new = new.auth(a.into());
    }
    if let Some(h) = body.headers {
        for (k, v) in h {
            new = new.header(k, v);
        }
    }
    if let Some(r) = body.rate_limit {
        new = new.rate_limit(r.per_second, r.burst);
    }
    if let Some(n) = body.max_in_flight {
        new.max_in_flight = Some(n);
    }
    if let Some(f) = body.fifo {
        new = new.fifo(f);
    }
    if let Some(ms) = body.timeout_ms {
        new = new.timeout(timeout(ms));
    }
    let created = state.dispatcher().create_endpoint(new).await?;
    #[derive(Serialize)]
    struct Created<'a> {
        #[serde(flatten)]
        endpoint: EndpointView<'a>,
        secret: Option<&'a str>,
    }
    let body = Created {
        endpoint: view(&created.info),
        secret: created
            .secret
            .as_ref()
            .map(|s| s.verification.expose_secret()),
    };
    let mut res = reply(StatusCode::CREATED, &body);
    if let Ok(v) = HeaderValue::from_str(&format!("endpoints/{}", created.id())) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    tenant: Tenant,
    uri: http::Uri,
) -> Result<Response, Problem> {
    let mut q = Query::parse(uri.query())?;
    let (size, cursor) = page_params(&mut q, DEFAULT_PAGE)?;
    q.finish()?;
    let page = state
        .dispatcher()
        .endpoint_page(tenant.as_str(), size, cursor.as_deref())
        .await?;
    let data: Vec<EndpointView<'_>> = page.items.iter().map(view).collect();
    Ok(reply(
        StatusCode::OK,
        &ListPage {
            data,
            next_cursor: page.next,
        },
    ))
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    tenant: Tenant,
    IdPath(id): IdPath,
) -> Result<Response, Problem> {
    let info = owned(&state, &tenant, &id).await?;
    Ok(reply(StatusCode::OK, &view(&info)))
}

pub(crate) async fn patch(
    State(state): State<ApiState>,
    tenant: Tenant,
    IdPath(id): IdPath,
    JsonBody(body): JsonBody<PatchBody>,
) -> Result<Response, Problem> {
    owned(&state, &tenant, &id).await?;
    let update = EndpointUpdate {
        url: body.url,
        event_types: body.event_types,
        description: body.description,
        auth: body.auth.map(Into::into),
        headers: body.headers.map(headers_vec),
        timeout: body.timeout_ms.map(timeout),
        rate_limit: body.rate_limit.map(|r| {
            r.map(|r| RateLimit {
                per_second: r.per_second,
                burst: r.burst,
            })
        }),
        max_in_flight: body.max_in_flight,
        fifo: body.fifo,
        enabled: body.enabled,
        ..EndpointUpdate::default()
    };
    let info = state.dispatcher().update_endpoint(&id, update).await?;
    Ok(reply(StatusCode::OK, &view(&info)))
}

pub(crate) async fn delete(
    State(state): State<ApiState>,
    tenant: Tenant,
    IdPath(id): IdPath,
) -> Result<Response, Problem> {
    owned(&state, &tenant, &id).await?;
    if state.dispatcher().delete_endpoint(&id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(Problem::not_found("endpoint"))
    }
}

pub(crate) async fn rotate(
    State(state): State<ApiState>,
    tenant: Tenant,
    IdPath(id): IdPath,
) -> Result<Response, Problem> {
    owned(&state, &tenant, &id).await?;
    let rotated = state.dispatcher().rotate_secret(&id).await?;
    #[derive(Serialize)]
    struct Rotated<'a> {
        secret: &'a str,
        previous_valid_until: UnixMillis,
    }
    Ok(reply(
        StatusCode::OK,
        &Rotated {
            secret: rotated.secret.verification.expose_secret(),
            previous_valid_until: rotated.previous_valid_until,
        },
    ))
}

pub(crate) async fn test(
    State(state): State<ApiState>,
    tenant: Tenant,
    IdPath(id): IdPath,
) -> Result<Response, Problem> {
    owned(&state, &tenant, &id).await?;
    let result = state.dispatcher().send_test(&id).await?;
    let message_id = match result {
        hookwire_dispatch::model::EnqueueResult::Created { message_id, .. }
        | hookwire_dispatch::model::EnqueueResult::Duplicate { message_id } => message_id,
        _ => return Err(Problem::internal()),
    };
    let delivery_ids = state.dispatcher().delivery_ids(&message_id).await?;
    Ok(reply(
        StatusCode::ACCEPTED,
        &crate::v1::messages::Accepted {
            message_id: &message_id,
            delivery_ids: &delivery_ids,
            duplicate: false,
        },
    ))
}

pub(crate) async fn recover(
    State(state): State<ApiState>,
    tenant: Tenant,
    IdPath(id): IdPath,
    JsonBody(body): JsonBody<RecoverBody>,
) -> Result<Response, Problem> {
    owned(&state, &tenant, &id).await?;
    let n = state.dispatcher().recover(&id, body.since).await?;
    #[derive(Serialize)]
    struct Recovered {
        requeued: u64,
    }
    Ok(reply(StatusCode::ACCEPTED, &Recovered { requeued: n }))
}
