//! The generic JSON API under `/v1`: endpoints, messages, deliveries, the event-type catalog
//! and the OpenAPI document. Every route but the document asks the [`Tenants`] resolver
//! first and sees only that tenant's records.
//!
//! [`Tenants`]: crate::Tenants

use axum::Router;
use axum::routing::{MethodFilter, MethodRouter, on};
use http::Method;
use serde::Serialize;

use crate::json::Query;
use crate::problem::Problem;
use crate::state::ApiState;

pub(crate) mod catalog;
pub(crate) mod deliveries;
pub(crate) mod endpoints;
pub(crate) mod messages;
pub(crate) mod openapi;

/// Default page size of the listings.
pub(crate) const DEFAULT_PAGE: usize = 50;

/// One page of a listing.
#[derive(Debug, Serialize)]
pub(crate) struct ListPage<T> {
    pub(crate) data: Vec<T>,
    pub(crate) next_cursor: Option<String>,
}

/// `limit` (1 to [`MAX_PAGE_SIZE`](hookwire_dispatch::MAX_PAGE_SIZE)) and `cursor`.
pub(crate) fn page_params(
    q: &mut Query,
    default: usize,
) -> Result<(usize, Option<String>), Problem> {
    let max = hookwire_dispatch::MAX_PAGE_SIZE;
    let what = format!("an integer from 1 to {max}");
    let size = q
        .take_with("limit", &what, |v| {
            v.parse::<usize>().ok().filter(|n| (1..=max).contains(n))
        })?
        .unwrap_or(default);
    let cursor = q.take("cursor");
    if cursor.as_deref() == Some("") {
        return Err(Problem::invalid("cursor", "empty cursor"));
    }
    Ok((size, cursor))
}

/// The route table: method, path, handler. The router is built from it and the OpenAPI test
/// holds the document against it, so the two cannot drift.
pub(crate) fn table() -> Vec<(Method, &'static str, MethodRouter<ApiState>)> {
    fn r<H, T>(
        m: Method,
        path: &'static str,
        h: H,
    ) -> (Method, &'static str, MethodRouter<ApiState>)
    where
        H: axum::handler::Handler<T, ApiState>,
        T: 'static,
    {
        let filter = match m {
            Method::POST => MethodFilter::POST,
            Method::PATCH => MethodFilter::PATCH,
            Method::DELETE => MethodFilter::DELETE,
            _ => MethodFilter::GET,
        };
        (m, path, on(filter, h))
    }
    vec![
        r(Method::GET, "/v1/endpoints", endpoints::list),
        r(Method::POST, "/v1/endpoints", endpoints::create),
        r(Method::GET, "/v1/endpoints/{id}", endpoints::get),
        r(Method::PATCH, "/v1/endpoints/{id}", endpoints::patch),
        r(Method::DELETE, "/v1/endpoints/{id}", endpoints::delete),
        r(
            Method::POST,
            "/v1/endpoints/{id}/rotate-secret",
            endpoints::rotate,
        ),
        r(Method::POST, "/v1/endpoints/{id}/test", endpoints::test),
        r(
            Method::POST,
            "/v1/endpoints/{id}/recover",
            endpoints::recover,
        ),
        r(Method::POST, "/v1/messages", messages::send),
        r(Method::GET, "/v1/messages/{id}", messages::get),
        r(Method::GET, "/v1/deliveries", deliveries::list),
        r(Method::GET, "/v1/deliveries/{id}", deliveries::get),
        r(
            Method::POST,
            "/v1/deliveries/{id}/redeliver",
            deliveries::redeliver,
        ),
        r(Method::GET, "/v1/event-types", catalog::list),
        r(Method::GET, "/v1/event-types/{family}", catalog::family),
        r(Method::GET, "/v1/openapi.json", openapi::document),
    ]
}

/// Every route of the `/v1` API with the state still to be given: for hosts and sibling
/// routers that merge several routers over one [`ApiState`].
pub fn routes() -> Router<ApiState> {
    let mut paths: Vec<(&'static str, MethodRouter<ApiState>)> = Vec::new();
    for (_, path, handler) in table() {
        match paths.iter().position(|(p, _)| *p == path) {
            Some(i) => {
                let (p, existing) = paths.swap_remove(i);
                paths.push((p, existing.merge(handler)));
            }
            None => paths.push((path, handler)),
        }
    }
    let mut router = Router::new();
    for (path, handler) in paths {
        router = router.route(path, handler);
    }
    router
        .fallback(|| async { Problem::no_route() })
        .method_not_allowed_fallback(|| async { Problem::method_not_allowed() })
}
