//! hookwire-api: the webhook management API a sending service gives its own customers.
//!
//! One call mounts it inside the host's axum application, under the host's own
//! authentication: [`router`] takes the [`Dispatcher`] and a [`Tenants`] resolver that maps
//! each request to a tenant id (or refuses it), and returns an [`axum::Router`] serving the
//! JSON API under `/v1` (endpoints, messages, deliveries, redelivery, recovery, the event-type
//! catalog and the OpenAPI 3.1 document at `/v1/openapi.json`).
//!
//! ```
//! use std::sync::Arc;
//! use hookwire_api::BearerTokens;
//! use hookwire_dispatch::{Dispatcher, store::MemoryStore};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dispatcher = Dispatcher::builder(Arc::new(MemoryStore::new())).build()?;
//! let mut tokens = BearerTokens::new();
//! let token = tokens.generate("acme")?; // hand it to the tenant once
//! # let _ = token;
//! let app: axum::Router = axum::Router::new().nest("/hooks", hookwire_api::router(dispatcher, tokens));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! # Guarantees
//! - A tenant never reads, changes or learns the existence of another tenant's endpoints,
//!   messages or deliveries: their ids answer exactly like ids that do not exist (404).
//! - Every error is one shape, [`Problem`] (`application/problem+json`, RFC 9457), naming the
//!   field that failed; the caller's mistakes are 4xx, never 500; store failures are 500/503
//!   without detail.
//! - Secrets appear in exactly two responses: endpoint creation and secret rotation.

mod flavour;
pub mod hub_message;
mod json;
pub mod portal;
mod problem;
mod state;
mod tenant;
pub mod v1;
pub mod zitadel;
pub mod zta;

pub use problem::{Problem, TYPE_PREFIX};
pub use state::{ApiState, DEFAULT_BODY_LIMIT};
pub use tenant::{BearerTokens, Rejection, Tenant, TenantFn, Tenants, TokenError};

use hookwire_dispatch::Dispatcher;

/// The management API for `dispatcher`, with requests mapped to tenants by `tenants`: the
/// generic JSON API under `/v1`. Nest or merge it into the host's router.
pub fn router(dispatcher: Dispatcher, tenants: impl Tenants) -> axum::Router {
    router_with(ApiState::new(dispatcher, tenants))
}

/// [`router`] over a prepared [`ApiState`] (to share one state, and its settings, between
/// several routers of this crate).
pub fn router_with(state: ApiState) -> axum::Router {
    v1::routes().with_state(state)
}

/// Everything this crate serves, at the paths `hookwire serve` uses: the generic API under
/// `/v1`, the vendor-shaped flavours at `/zta/api/webhooks`, `/hub-message/webhooks` and
/// `/zitadel/v2/actions/...`, and the tenant portal at `/portal`, all behind `state`'s
/// tenants.
pub fn app(state: ApiState, portal: portal::PortalConfig) -> axum::Router {
    router_with(state.clone())
        .nest("/zta", zta::router(state.clone()))
        .nest("/hub-message", hub_message::router(state.clone()))
        .nest("/zitadel", zitadel::router(state.clone()))
        .nest("/portal", portal::router(state, portal))
}
