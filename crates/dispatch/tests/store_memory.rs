//! The store conformance suite against [`MemoryStore`].
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hookwire_dispatch::store::{MemoryStore, Store};

mod store_conformance;

async fn make() -> (Arc<dyn Store>, ()) {
    (Arc::new(MemoryStore::new()), ())
}

store_conformance::store_conformance_suite!(make());
