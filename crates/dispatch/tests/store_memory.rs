//! The published store conformance suite (`hookwire_dispatch::store::conformance`) against
//! [`MemoryStore`].
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hookwire_dispatch::store::{MemoryStore, Store};

async fn make() -> (Arc<dyn Store>, ()) {
    (Arc::new(MemoryStore::new()), ())
}

hookwire_dispatch::store_conformance_suite!(make());
