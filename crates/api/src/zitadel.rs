//! ZITADEL's Actions v2 management API (targets and executions), over the dispatcher.
//!
//! Routes, as ZITADEL's REST gateway serves them (`zitadel.action.v2.ActionService`):
//! - `POST /v2/actions/targets` (CreateTarget → `{"id", "creationDate", "signingKey"}`: the
//!   signing key, the only time it is shown)
//! - `POST /v2/actions/targets/search` (ListTargets → `{"pagination": {"totalResult",
//!   "appliedLimit"}, "targets": [...]}`), also as `GET /v2/actions/targets`
//! - `GET /v2/actions/targets/{id}` (GetTarget → `{"target": {...}}`)
//! - `POST /v2/actions/targets/{id}` (UpdateTarget → `{"changeDate"}`, plus `signingKey`
//!   when `expirationSigningKey` asked for a new one)
//! - `DELETE /v2/actions/targets/{id}` (DeleteTarget → `{"deletionDate"}`; also removes the
//!   target from every execution)
//! - `PUT /v2/actions/executions` (SetExecution → `{"setDate"}`; an empty target list
//!   removes the execution)
//! - `POST /v2/actions/executions/search` (ListExecutions), also as
//!   `GET /v2/actions/executions`
//!
//! Errors are the gateway's `{"code": <gRPC code>, "message": "...", "details": []}`.
//!
//! Each target is a dispatcher endpoint of family [`Family::Zitadel`] under
//! [`instance_tenant`], signed with `ZITADEL-Signature` by its signing key; its name, type
//! and executions are kept in the endpoint's metadata. The stored targets and executions
//! feed both engines of `hookwire_dispatch::zitadel`: [`executor`] builds the synchronous
//! [`Executor`] (request, response and function executions), and [`enqueue_event`] hands an
//! event to the durable dispatcher, one delivery per target of the best matching event
//! execution (stored, retried, in the attempt log).

// Handlers and their helpers return a finished `Response` as the error: it ends the request
// at once, so boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use hookwire_dispatch::model::{Endpoint, EnqueueResult};
use hookwire_dispatch::transport::Transport;
use hookwire_dispatch::zitadel::{ConfigError, Executor, Router as ExecutionRouter, Trigger};
use hookwire_dispatch::{DispatchError, Dispatcher, EndpointInfo, EndpointUpdate, NewEndpoint};
use hookwire_events::Family;
use hookwire_events::zitadel::{
    Condition, EventCondition, EventExecution, Execution, PayloadType, Target, TargetRef,
    TargetType,
};
use hookwire_signature::Scheme;
use http::StatusCode;
use http::request::Parts;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::flavour::{self, BodyError, json_ok};
use crate::state::ApiState;
use crate::tenant::Rejection;

const KIND: &str = "zitadel";
const NAME_KEY: &str = "zitadel.name";
const TYPE_KEY: &str = "zitadel.target_type";
const PAYLOAD_KEY: &str = "zitadel.payload_type";
const EXECUTIONS_KEY: &str = "zitadel.executions";
/// What a target endpoint subscribes to while no event execution names it: not an event
/// type ZITADEL has, so a plain `send` to the instance tenant never reaches it.
const NO_EVENTS: &str = "event";
/// ZITADEL's largest target timeout.
const MAX_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(270);
const DEFAULT_LIMIT: usize = 100;

/// The dispatcher tenant holding `tenant`'s targets.
pub fn instance_tenant(tenant: &str) -> String {
    flavour::scoped(KIND, tenant, "instance")
}

/// The ZITADEL Actions v2 API for targets and executions.
pub fn router(state: ApiState) -> Router {
    let limit = state.max_body();
    Router::new()
        .route("/v2/actions/targets", post(create).get(targets_get))
        .route("/v2/actions/targets/search", post(targets_search))
        .route(
            "/v2/actions/targets/{id}",
            get(get_target).post(update).delete(delete),
        )
        .route(
            "/v2/actions/executions",
            put(set_execution).get(executions_get),
        )
        .route("/v2/actions/executions/search", post(executions_search))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}

// ---- what the engines read ----------------------------------------------------------------

/// An execution as kept in a target's metadata: its condition and this target's place.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Membership {
    condition: Condition,
    position: usize,
    created: i64,
    changed: i64,
}

fn memberships(ep: &Endpoint) -> Vec<Membership> {
    ep.metadata
        .get(EXECUTIONS_KEY)
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_default()
}

/// The numeric-string target id of an endpoint (`ep_<32 hex>` read as a 128-bit number).
fn target_id(endpoint_id: &str) -> String {
    flavour::endpoint_hex(endpoint_id)
        .and_then(|h| u128::from_str_radix(h, 16).ok())
        .map_or_else(|| endpoint_id.to_owned(), |n| n.to_string())
}

/// The endpoint id of a target id.
fn endpoint_id(target_id: &str) -> Option<String> {
    if target_id.is_empty() || !target_id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u128 = target_id.parse().ok()?;
    Some(format!("ep_{n:032x}"))
}

/// A target resource as GetTarget shows it (no signing key).
fn target_view(ep: &Endpoint) -> Target {
    let mut t = Target {
        id: Some(target_id(&ep.id)),
        creation_date: Some(flavour::iso_z(ep.created_at)),
        change_date: Some(flavour::iso_z(ep.updated_at)),
        name: ep.metadata.get(NAME_KEY).cloned().unwrap_or_default(),
        endpoint: ep.url.clone(),
        timeout: Some(hookwire_events::zitadel::format_duration(
            std::time::Duration::from_millis(ep.timeout_ms),
        )),
        ..Target::default()
    };
    t.payload_type = Some(PayloadType::from_wire(
        ep.metadata
            .get(PAYLOAD_KEY)
            .map_or("PAYLOAD_TYPE_JSON", String::as_str),
    ));
    t.target_type = ep
        .metadata
        .get(TYPE_KEY)
        .and_then(|s| serde_json::from_str(s).ok());
    t
}

/// The executions, from the memberships of every target: grouped by condition, targets in
/// order.
fn executions_of(eps: &[Endpoint]) -> Vec<Execution> {
    struct Group {
        condition: Condition,
        created: i64,
        changed: i64,
        targets: Vec<(usize, String)>,
    }
    let mut by_condition: BTreeMap<String, Group> = BTreeMap::new();
    for ep in eps {
        for m in memberships(ep) {
            let key = serde_json::to_string(&m.condition).unwrap_or_default();
            let g = by_condition.entry(key).or_insert_with(|| Group {
                condition: m.condition.clone(),
                created: m.created,
                changed: m.changed,
                targets: Vec::new(),
            });
            g.created = g.created.min(m.created);
            g.changed = g.changed.max(m.changed);
            g.targets.push((m.position, target_id(&ep.id)));
        }
    }
    let mut out: Vec<Execution> = by_condition
        .into_values()
        .map(|mut g| {
            g.targets.sort();
            let mut e = Execution::new(g.condition, g.targets.into_iter().map(|(_, id)| id));
            e.creation_date = Some(flavour::iso_z(g.created));
            e.change_date = Some(flavour::iso_z(g.changed));
            e
        })
        .collect();
    out.sort_by(|a, b| a.creation_date.cmp(&b.creation_date));
    out
}

/// `tenant`'s targets (with their signing keys, for the executor) and executions.
///
/// # Errors
/// [`DispatchError`] when the store fails.
pub async fn load(
    dispatcher: &Dispatcher,
    tenant: &str,
) -> Result<(Vec<Target>, Vec<Execution>), DispatchError> {
    // Decrypted records: the executor signs with the targets' keys.
    let eps = dispatcher
        .endpoint_records(&instance_tenant(tenant))
        .await?;
    let now = crate::flavour::now_millis();
    let targets = eps
        .iter()
        .map(|ep| {
            let mut t = target_view(ep);
            t.signing_key = ep
                .active_secrets(now)
                .first()
                .map(|s| s.expose_secret().to_owned());
            t
        })
        .collect();
    Ok((targets, executions_of(&eps)))
}

/// Why [`executor`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The store failed.
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
    /// A stored target or execution is not usable by the executor.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The synchronous [`Executor`] over `tenant`'s stored targets and executions (build a new
/// one after a change).
///
/// # Errors
/// [`LoadError`].
pub async fn executor(
    dispatcher: &Dispatcher,
    tenant: &str,
    transport: Transport,
) -> Result<Executor, LoadError> {
    let (targets, executions) = load(dispatcher, tenant).await?;
    Ok(Executor::new(transport, targets, executions)?)
}

/// Stores one delivery per target of the best matching event execution of `tenant` (event
/// beats group beats all), each to that target's endpoint, with the event's
/// `ContextInfoEvent` JSON as the body. No match stores nothing.
///
/// # Errors
/// [`DispatchError`]: no `event_type`, payload too large, store failure.
pub async fn enqueue_event(
    dispatcher: &Dispatcher,
    tenant: &str,
    event: &EventExecution,
) -> Result<Vec<EnqueueResult>, DispatchError> {
    let event_type = event.event_type.as_deref().unwrap_or_default();
    if event_type.is_empty() {
        return Err(hookwire_dispatch::ValidationError::EmptyEventType.into());
    }
    let (_, executions) = load(dispatcher, tenant).await?;
    let events = executions
        .into_iter()
        .filter(|e| matches!(e.condition, Condition::Event(_)));
    // Stored executions were validated when set; one that no longer parses is skipped.
    let router = ExecutionRouter::new(events).unwrap_or_default();
    let body = serde_json::to_vec(event).unwrap_or_default();
    let mut out = Vec::new();
    for target in router.targets(Trigger::Event(event_type)) {
        if let Some(ep) = endpoint_id(target) {
            out.push(dispatcher.send_to(&ep, event_type, body.clone()).await?);
        }
    }
    Ok(out)
}

// ---- HTTP ---------------------------------------------------------------------------------

/// gRPC status codes the gateway maps to HTTP.
#[derive(Clone, Copy)]
enum Code {
    InvalidArgument = 3,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    FailedPrecondition = 9,
    Internal = 13,
    Unauthenticated = 16,
}

fn error(code: Code, message: impl Into<String>) -> Response {
    #[derive(Serialize)]
    struct Body {
        code: i32,
        message: String,
        details: [(); 0],
    }
    let status = match code {
        Code::InvalidArgument | Code::FailedPrecondition => StatusCode::BAD_REQUEST,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let body = Body {
        code: code as i32,
        message: message.into(),
        details: [],
    };
    crate::json::reply(status, &body)
}

fn internal(e: &DispatchError) -> Response {
    tracing::error!(error = %e, "zitadel api: store failure");
    error(Code::Internal, "Errors.Internal")
}

fn refusal(e: &DispatchError) -> Response {
    if let Some(v) = flavour::validation(e) {
        let code = match v {
            hookwire_dispatch::ValidationError::TooManyEndpoints { .. } => Code::FailedPrecondition,
            _ => Code::InvalidArgument,
        };
        error(code, v.to_string())
    } else if flavour::is_not_found(e) {
        error(Code::NotFound, "Errors.Target.NotFound")
    } else {
        internal(e)
    }
}

fn body_error(e: BodyError) -> Response {
    if e.status == StatusCode::PAYLOAD_TOO_LARGE {
        // RESOURCE_EXHAUSTED, with the status the body limit gives.
        let body = serde_json::json!({ "code": 8, "message": e.message, "details": [] });
        return crate::json::reply(e.status, &body);
    }
    error(Code::InvalidArgument, e.message)
}

async fn caller(state: &ApiState, parts: &Parts) -> Result<String, Response> {
    flavour::tenant_of(state, parts).await.map_err(|r| match r {
        Rejection::Forbidden => error(Code::PermissionDenied, "Errors.PermissionDenied"),
        _ => error(Code::Unauthenticated, "Errors.Token.Invalid"),
    })
}

async fn targets_of(state: &ApiState, tenant: &str) -> Result<Vec<EndpointInfo>, Response> {
    state
        .dispatcher()
        .list_endpoints(&instance_tenant(tenant))
        .await
        .map_err(|e| internal(&e))
}

/// The target's endpoint if it is one of `tenant`'s; `None` otherwise (as for an id that
/// does not exist).
async fn owned(state: &ApiState, tenant: &str, id: &str) -> Result<Option<EndpointInfo>, Response> {
    let Some(ep) = endpoint_id(id) else {
        return Ok(None);
    };
    match state.dispatcher().get_endpoint(&ep).await {
        Ok(Some(info)) if info.endpoint.tenant == instance_tenant(tenant) => Ok(Some(info)),
        Ok(_) => Ok(None),
        Err(e) => Err(internal(&e)),
    }
}

/// Checks a target resource the way the executor will use it.
fn check_target(t: &Target) -> Result<std::time::Duration, Response> {
    if !t.extra.is_empty() {
        let names: Vec<&str> = t.extra.keys().map(String::as_str).collect();
        return Err(error(
            Code::InvalidArgument,
            format!("unknown field(s): {}", names.join(", ")),
        ));
    }
    if t.name.trim().is_empty() || t.name.len() > 1000 {
        return Err(error(
            Code::InvalidArgument,
            "name must be 1 to 1000 characters",
        ));
    }
    if t.endpoint.is_empty() || t.endpoint.len() > 2048 {
        return Err(error(
            Code::InvalidArgument,
            "endpoint must be 1 to 2048 characters",
        ));
    }
    let mut probe = t.clone();
    probe.id = Some("probe".to_owned());
    probe.signing_key = None;
    let checked = hookwire_dispatch::zitadel::CallTarget::from_resource(&probe)
        .map_err(|e| error(Code::InvalidArgument, e.to_string()))?;
    if checked.timeout() > MAX_TIMEOUT {
        return Err(error(Code::InvalidArgument, "timeout must be at most 270s"));
    }
    Ok(checked.timeout())
}

fn type_json(t: &Option<TargetType>) -> String {
    serde_json::to_string(t).unwrap_or_default()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateResponse {
    id: String,
    creation_date: String,
    signing_key: Option<String>,
}

async fn create(
    State(state): State<ApiState>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let tenant = match caller(&state, &parts).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let target: Target = match flavour::json_body(body) {
        Ok(t) => t,
        Err(e) => return body_error(e),
    };
    if target.id.is_some() || target.signing_key.is_some() {
        return error(
            Code::InvalidArgument,
            "id and signingKey are assigned by the server",
        );
    }
    let timeout = match check_target(&target) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let existing = match targets_of(&state, &tenant).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    if existing
        .iter()
        .any(|i| i.endpoint.metadata.get(NAME_KEY) == Some(&target.name))
    {
        return error(Code::AlreadyExists, "Errors.Target.AlreadyExists");
    }
    let new = NewEndpoint::new(
        instance_tenant(&tenant),
        Family::Zitadel,
        target.endpoint.clone(),
    )
    .event_types([NO_EVENTS])
    .scheme(Some(Scheme::Zitadel))
    .timeout(timeout)
    .description(format!("ZITADEL target {}", target.name))
    .metadata(NAME_KEY, target.name.clone())
    .metadata(TYPE_KEY, type_json(&target.target_type))
    .metadata(PAYLOAD_KEY, target.effective_payload_type().as_str());
    match state.dispatcher().create_endpoint(new).await {
        Ok(created) => json_ok(CreateResponse {
            id: target_id(created.id()),
            creation_date: flavour::iso_z(created.info.endpoint.created_at),
            signing_key: created
                .secret
                .as_ref()
                .map(|s| s.signing.expose_secret().to_owned()),
        })
        .into_response(),
        Err(e) => refusal(&e),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Pagination {
    #[serde(default)]
    offset: Option<Value>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    asc: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Search {
    #[serde(default)]
    pagination: Option<Pagination>,
    #[serde(default)]
    sorting_column: Option<String>,
    #[serde(default)]
    filters: Vec<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PaginationResponse {
    total_result: String,
    applied_limit: String,
}

/// Offset (a protojson uint64: number or string) and limit of a search.
fn window(search: &Search) -> Result<(usize, usize, bool), Response> {
    if !search.filters.is_empty() {
        return Err(error(Code::InvalidArgument, "filters are not supported"));
    }
    if let Some(col) = &search.sorting_column
        && !(col.ends_with("_CREATION_DATE") || col.ends_with("_UNSPECIFIED"))
    {
        return Err(error(
            Code::InvalidArgument,
            format!("sortingColumn {col} is not supported (results are by creation date)"),
        ));
    }
    let p = search.pagination.as_ref();
    let offset = match p.and_then(|p| p.offset.as_ref()) {
        None => 0,
        Some(Value::Number(n)) => n.as_u64().unwrap_or(u64::MAX),
        Some(Value::String(s)) => s.parse().unwrap_or(u64::MAX),
        Some(_) => u64::MAX,
    };
    if offset == u64::MAX {
        return Err(error(
            Code::InvalidArgument,
            "pagination.offset must be a uint64",
        ));
    }
    let limit = match p.and_then(|p| p.limit) {
        None | Some(0) => DEFAULT_LIMIT,
        Some(n) => usize::try_from(n).unwrap_or(DEFAULT_LIMIT).min(1000),
    };
    let asc = p.and_then(|p| p.asc).unwrap_or(true);
    Ok((usize::try_from(offset).unwrap_or(usize::MAX), limit, asc))
}

fn page<T>(mut items: Vec<T>, search: &Search) -> Result<(PaginationResponse, Vec<T>), Response> {
    let (offset, limit, asc) = window(search)?;
    if !asc {
        items.reverse();
    }
    let total = items.len();
    let items: Vec<T> = items.into_iter().skip(offset).take(limit).collect();
    Ok((
        PaginationResponse {
            total_result: total.to_string(),
            applied_limit: limit.to_string(),
        },
        items,
    ))
}

/// What a listing lists.
#[derive(Clone, Copy)]
enum Listing {
    Targets,
    Executions,
}

/// ListTargets / ListExecutions (`GET` lists everything, `POST …/search` takes a search).
async fn listing(state: ApiState, parts: Parts, search: Search, what: Listing) -> Response {
    #[derive(Serialize)]
    struct Listed<T> {
        pagination: PaginationResponse,
        #[serde(skip_serializing_if = "Option::is_none")]
        targets: Option<Vec<T>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        executions: Option<Vec<T>>,
    }
    fn answer<T: Serialize>(items: Vec<T>, search: &Search, what: Listing) -> Response {
        match page(items, search) {
            Ok((pagination, items)) => {
                let (targets, executions) = match what {
                    Listing::Targets => (Some(items), None),
                    Listing::Executions => (None, Some(items)),
                };
                json_ok(Listed {
                    pagination,
                    targets,
                    executions,
                })
                .into_response()
            }
            Err(r) => r,
        }
    }
    let tenant = match caller(&state, &parts).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let eps = match targets_of(&state, &tenant).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    match what {
        Listing::Targets => {
            let targets: Vec<Target> = eps.iter().map(|i| target_view(&i.endpoint)).collect();
            answer(targets, &search, what)
        }
        Listing::Executions => {
            let raw: Vec<Endpoint> = eps.into_iter().map(|i| i.endpoint).collect();
            answer(executions_of(&raw), &search, what)
        }
    }
}

async fn targets_get(State(state): State<ApiState>, parts: Parts) -> Response {
    listing(state, parts, Search::default(), Listing::Targets).await
}

async fn targets_search(
    State(state): State<ApiState>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match search_body(body) {
        Ok(search) => listing(state, parts, search, Listing::Targets).await,
        Err(r) => r,
    }
}

async fn executions_get(State(state): State<ApiState>, parts: Parts) -> Response {
    listing(state, parts, Search::default(), Listing::Executions).await
}

async fn executions_search(
    State(state): State<ApiState>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match search_body(body) {
        Ok(search) => listing(state, parts, search, Listing::Executions).await,
        Err(r) => r,
    }
}

/// A search body; an empty body is an empty search.
fn search_body(body: Result<Bytes, BytesRejection>) -> Result<Search, Response> {
    match &body {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(Search::default()),
        _ => flavour::json_body(body).map_err(body_error),
    }
}

async fn get_target(
    State(state): State<ApiState>,
    parts: Parts,
    Path(id): Path<String>,
) -> Response {
    #[derive(Serialize)]
    struct Got {
        target: Target,
    }
    let tenant = match caller(&state, &parts).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    match owned(&state, &tenant, &id).await {
        Ok(Some(info)) => json_ok(Got {
            target: target_view(&info.endpoint),
        })
        .into_response(),
        Ok(None) => error(Code::NotFound, "Errors.Target.NotFound"),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateBody {
    name: Option<String>,
    endpoint: Option<String>,
    timeout: Option<String>,
    payload_type: Option<PayloadType>,
    expiration_signing_key: Option<String>,
    rest_webhook: Option<Value>,
    rest_call: Option<Value>,
    rest_async: Option<Value>,
    /// The id is in the path; a body copy must agree.
    id: Option<String>,
}

async fn update(
    State(state): State<ApiState>,
    parts: Parts,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Updated {
        change_date: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        signing_key: Option<String>,
    }
    let tenant = match caller(&state, &parts).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let info = match owned(&state, &tenant, &id).await {
        Ok(Some(i)) => i,
        Ok(None) => return error(Code::NotFound, "Errors.Target.NotFound"),
        Err(r) => return r,
    };
    let body: UpdateBody = match flavour::json_body(body) {
        Ok(b) => b,
        Err(e) => return body_error(e),
    };
    if body.id.as_deref().is_some_and(|b| b != id) {
        return error(
            Code::InvalidArgument,
            "id in the body differs from the path",
        );
    }
    let rotate = match body.expiration_signing_key.as_deref() {
        None => false,
        Some("0s") => true,
        Some(_) => {
            return error(
                Code::InvalidArgument,
                "expirationSigningKey: only an immediate rotation (\"0s\") is supported",
            );
        }
    };
    // The target as it will be, checked whole before anything is written.
    let mut target = target_view(&info.endpoint);
    if let Some(n) = body.name {
        target.name = n;
    }
    if let Some(e) = body.endpoint {
        target.endpoint = e;
    }
    if let Some(t) = body.timeout {
        target.timeout = Some(t);
    }
    if let Some(p) = body.payload_type {
        target.payload_type = Some(p);
    }
    let kinds = [
        ("restWebhook", body.rest_webhook),
        ("restCall", body.rest_call),
        ("restAsync", body.rest_async),
    ];
    let given: Vec<(&str, Value)> = kinds
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    match given.as_slice() {
        [] => {}
        [(k, v)] => {
            let mut obj = Map::new();
            obj.insert((*k).to_owned(), v.clone());
            match serde_json::from_value::<TargetType>(Value::Object(obj)) {
                Ok(t) => target.target_type = Some(t),
                Err(e) => return error(Code::InvalidArgument, format!("{k}: {e}")),
            }
        }
        _ => {
            return error(
                Code::InvalidArgument,
                "only one of restWebhook, restCall, restAsync",
            );
        }
    }
    let timeout = match check_target(&target) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if info.endpoint.metadata.get(NAME_KEY) != Some(&target.name) {
        let existing = match targets_of(&state, &tenant).await {
            Ok(e) => e,
            Err(r) => return r,
        };
        if existing.iter().any(|i| {
            i.endpoint.id != info.endpoint.id
                && i.endpoint.metadata.get(NAME_KEY) == Some(&target.name)
        }) {
            return error(Code::AlreadyExists, "Errors.Target.AlreadyExists");
        }
    }
    let mut metadata = info.endpoint.metadata.clone();
    metadata.insert(NAME_KEY.to_owned(), target.name.clone());
    metadata.insert(TYPE_KEY.to_owned(), type_json(&target.target_type));
    metadata.insert(
        PAYLOAD_KEY.to_owned(),
        target.effective_payload_type().as_str().to_owned(),
    );
    let update = EndpointUpdate {
        url: Some(target.endpoint.clone()),
        timeout: Some(timeout),
        description: Some(format!("ZITADEL target {}", target.name)),
        metadata: Some(metadata),
        ..EndpointUpdate::default()
    };
    let dispatcher = state.dispatcher();
    let ep_id = info.endpoint.id.clone();
    let updated = match dispatcher.update_endpoint(&ep_id, update).await {
        Ok(u) => u,
        Err(e) => return refusal(&e),
    };
    let mut change = updated.endpoint.updated_at;
    let signing_key = if rotate {
        match dispatcher.set_signing(&ep_id, Some(Scheme::Zitadel)).await {
            Ok(issued) => {
                change = crate::flavour::now_millis().max(change);
                issued.map(|s| s.signing.expose_secret().to_owned())
            }
            Err(e) => return refusal(&e),
        }
    } else {
        None
    };
    json_ok(Updated {
        change_date: flavour::iso_z(change),
        signing_key,
    })
    .into_response()
}

async fn delete(State(state): State<ApiState>, parts: Parts, Path(id): Path<String>) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Deleted {
        #[serde(skip_serializing_if = "Option::is_none")]
        deletion_date: Option<String>,
    }
    let tenant = match caller(&state, &parts).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    // Deleting a target that does not exist (or is another tenant's) succeeds without a
    // date, as in ZITADEL: the desired state holds.
    let info = match owned(&state, &tenant, &id).await {
        Ok(Some(i)) => i,
        Ok(None) => {
            return json_ok(Deleted {
                deletion_date: None,
            })
            .into_response();
        }
        Err(r) => return r,
    };
    match state.dispatcher().delete_endpoint(&info.endpoint.id).await {
        Ok(deleted) => json_ok(Deleted {
            deletion_date: deleted.then(|| flavour::iso_z(crate::flavour::now_millis())),
        })
        .into_response(),
        Err(e) => internal(&e),
    }
}

/// The subscriptions an endpoint needs for its event memberships.
fn event_types_of(ms: &[Membership]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in ms {
        let s = match &m.condition {
            Condition::Event(EventCondition::Event(e)) => e.clone(),
            Condition::Event(EventCondition::Group(g)) if g.ends_with(".*") => g.clone(),
            Condition::Event(EventCondition::Group(g)) => format!("{g}.*"),
            Condition::Event(EventCondition::All(_)) => "*".to_owned(),
            _ => continue,
        };
        if !out.contains(&s) {
            out.push(s);
        }
    }
    if out.is_empty() {
        out.push(NO_EVENTS.to_owned());
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetBody {
    condition: Condition,
    #[serde(default)]
    targets: Vec<TargetRef>,
}

async fn set_execution(
    State(state): State<ApiState>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Set {
        set_date: String,
    }
    let tenant = match caller(&state, &parts).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let body: SetBody = match flavour::json_body(body) {
        Ok(b) => b,
        Err(e) => return body_error(e),
    };
    let ids: Vec<String> = body.targets.iter().map(|t| t.id().to_owned()).collect();
    // The condition must be one the engines can route.
    let probe = Execution::new(body.condition.clone(), ids.clone());
    if let Err(e) = ExecutionRouter::new([probe]) {
        return error(Code::InvalidArgument, e.to_string());
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return error(
                Code::InvalidArgument,
                format!("target {id} is listed twice"),
            );
        }
    }
    let eps = match targets_of(&state, &tenant).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let by_target: BTreeMap<String, &EndpointInfo> =
        eps.iter().map(|i| (target_id(&i.endpoint.id), i)).collect();
    if let Some(missing) = ids.iter().find(|id| !by_target.contains_key(*id)) {
        return error(Code::NotFound, format!("Errors.Target.NotFound: {missing}"));
    }
    let now = crate::flavour::now_millis();
    let key = serde_json::to_string(&body.condition).unwrap_or_default();
    let created = eps
        .iter()
        .flat_map(|i| memberships(&i.endpoint))
        .filter(|m| serde_json::to_string(&m.condition).unwrap_or_default() == key)
        .map(|m| m.created)
        .min()
        .unwrap_or(now);
    for (tid, info) in &by_target {
        let before = memberships(&info.endpoint);
        let mut after: Vec<Membership> = before
            .iter()
            .filter(|m| serde_json::to_string(&m.condition).unwrap_or_default() != key)
            .cloned()
            .collect();
        if let Some(position) = ids.iter().position(|id| id == tid) {
            after.push(Membership {
                condition: body.condition.clone(),
                position,
                created,
                changed: now,
            });
        }
        if before.is_empty() && after.is_empty() {
            continue;
        }
        let mut metadata = info.endpoint.metadata.clone();
        if after.is_empty() {
            metadata.remove(EXECUTIONS_KEY);
        } else {
            metadata.insert(
                EXECUTIONS_KEY.to_owned(),
                serde_json::to_string(&after).unwrap_or_default(),
            );
        }
        let update = EndpointUpdate {
            event_types: Some(event_types_of(&after)),
            metadata: Some(metadata),
            ..EndpointUpdate::default()
        };
        if let Err(e) = state
            .dispatcher()
            .update_endpoint(&info.endpoint.id, update)
            .await
        {
            return refusal(&e);
        }
    }
    json_ok(Set {
        set_date: flavour::iso_z(now),
    })
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_ids_round_trip() {
        let ep = "ep_0000000000000000000000000000002a";
        assert_eq!(target_id(ep), "42");
        assert_eq!(endpoint_id("42").as_deref(), Some(ep));
        let ep = "ep_ffffffffffffffffffffffffffffffff";
        assert_eq!(endpoint_id(&target_id(ep)).as_deref(), Some(ep));
        assert_eq!(endpoint_id("-1"), None);
        assert_eq!(endpoint_id("abc"), None);
        assert_eq!(
            endpoint_id("999999999999999999999999999999999999999999"),
            None
        );
    }
}
