//! hookwire: embeddable webhooks for Rust (facade over the `hookwire-*` crates).

#![cfg_attr(docsrs, feature(doc_cfg))]

pub use hookwire_events as events;
pub use hookwire_retry as retry;
pub use hookwire_signature as signature;

#[cfg(feature = "dispatch")]
pub use hookwire_dispatch as dispatch;

#[cfg(feature = "axum")]
pub use hookwire_axum as axum;
