//! hookwire-dispatch: the embeddable webhook dispatcher (work in progress).
//!
//! See `../shared/DESIGN.md` for the data flow: `send` stores a message and one delivery per
//! subscribed endpoint before it returns; workers claim due deliveries under a lease, sign,
//! POST, classify the outcome and record the attempt.

pub mod model;
pub mod ssrf;
pub mod store;
pub mod transport;

/// The `User-Agent` sent unless the builder sets another.
pub const DEFAULT_USER_AGENT: &str = concat!("hookwire/", env!("CARGO_PKG_VERSION"));
