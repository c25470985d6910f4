//! Metric names, recorded through the [`metrics`](https://docs.rs/metrics) facade.
//!
//! Install any recorder (Prometheus exporter, ...) in the application; without one the calls
//! cost almost nothing.

/// Counter: deliveries that got a 2xx.
pub const DELIVERED: &str = "hookwire_deliveries_delivered_total";
/// Counter: deliveries given up (attempts exhausted, permanent error, endpoint disabled).
pub const FAILED: &str = "hookwire_deliveries_failed_total";
/// Counter: attempts that failed and were scheduled again.
pub const RETRIED: &str = "hookwire_deliveries_retried_total";
/// Counter: endpoints disabled automatically (health, 410 Gone).
pub const DISABLED: &str = "hookwire_endpoints_disabled_total";
/// Counter: every HTTP attempt made.
pub const ATTEMPTS: &str = "hookwire_attempts_total";
/// Histogram: seconds per HTTP attempt.
pub const ATTEMPT_SECONDS: &str = "hookwire_attempt_duration_seconds";
/// Histogram: seconds from `send` to delivered.
pub const DELIVERY_LATENCY_SECONDS: &str = "hookwire_delivery_latency_seconds";
/// Gauge: deliveries pending or in flight.
pub const QUEUE_DEPTH: &str = "hookwire_queue_depth";
/// Counter: results that could not be recorded because the lease was lost.
pub const LEASE_LOST: &str = "hookwire_lease_lost_total";
