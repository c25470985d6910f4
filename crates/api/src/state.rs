//! [`ApiState`]: what every handler of this crate reaches.

use std::fmt;
use std::sync::Arc;

use hookwire_dispatch::Dispatcher;

use crate::tenant::Tenants;

/// Default largest request body accepted (2 MiB): the dispatcher's default payload limit
/// (1 MiB) plus room for its JSON envelope and escaping.
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The state shared by the API's handlers: the dispatcher, the tenant resolver and the
/// settings. `Clone` is cheap.
#[derive(Clone)]
pub struct ApiState {
    dispatcher: Dispatcher,
    tenants: Arc<dyn Tenants>,
    body_limit: usize,
}

impl fmt::Debug for ApiState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiState")
            .field("dispatcher", &self.dispatcher)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl ApiState {
    /// A state over `dispatcher` whose requests are mapped to tenants by `tenants`.
    pub fn new(dispatcher: Dispatcher, tenants: impl Tenants) -> Self {
        Self {
            dispatcher,
            tenants: Arc::new(tenants),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Sets the largest request body accepted, in bytes (default [`DEFAULT_BODY_LIMIT`]);
    /// larger ones are answered with 413.
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The dispatcher.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// The tenant resolver.
    pub fn tenants(&self) -> &Arc<dyn Tenants> {
        &self.tenants
    }

    /// The largest request body accepted.
    pub fn max_body(&self) -> usize {
        self.body_limit
    }
}
