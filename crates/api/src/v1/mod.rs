//! The generic JSON API under `/v1`.

use axum::Router;

use crate::problem::Problem;
use crate::state::ApiState;

/// Every route of the `/v1` API with the state still to be given: for hosts and sibling
/// routers that merge several routers over one [`ApiState`].
pub fn routes() -> Router<ApiState> {
    Router::new()
        .fallback(|| async { Problem::no_route() })
        .method_not_allowed_fallback(|| async { Problem::method_not_allowed() })
}
