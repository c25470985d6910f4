//! Metric names and labels, recorded through the [`metrics`](https://docs.rs/metrics) facade.
//!
//! Install any recorder (Prometheus exporter, ...) in the application; without one the calls
//! cost almost nothing.
//!
//! # Labels
//! Only labels whose values form a small, fixed set are on by default, so a recorder's series
//! count does not grow with traffic:
//!
//! | label | on | values |
//! | --- | --- | --- |
//! | `family` | every delivery and attempt metric | the family's name (`zerotier`, `zta`, …): at most [`Family::ALL`](hookwire_events::Family::ALL) |
//! | `outcome` | [`ATTEMPTS`] | [`OUTCOMES`]: `success`, `redirect`, `client_error`, `server_error`, `timeout`, … |
//! | `endpoint` | every delivery and attempt metric, when [`DispatcherBuilder::metrics_endpoint_label`](crate::DispatcherBuilder::metrics_endpoint_label) is on | the endpoint id: one series per endpoint, so turn it on only where the number of endpoints is bounded |
//!
//! [`QUEUE_DEPTH`] and [`RETENTION_DELETED`] are per store, without labels.

use hookwire_retry::Outcome;
use metrics::Label;

use crate::model::Endpoint;

/// Counter: deliveries that got a 2xx.
pub const DELIVERED: &str = "hookwire_deliveries_delivered_total";
/// Counter: deliveries given up (attempts exhausted, permanent error, endpoint disabled).
pub const FAILED: &str = "hookwire_deliveries_failed_total";
/// Counter: attempts that failed and were scheduled again.
pub const RETRIED: &str = "hookwire_deliveries_retried_total";
/// Counter: endpoints disabled automatically (health, 410 Gone).
pub const DISABLED: &str = "hookwire_endpoints_disabled_total";
/// Counter: every HTTP attempt made, labelled with its `outcome`.
pub const ATTEMPTS: &str = "hookwire_attempts_total";
/// Histogram: seconds per HTTP attempt.
pub const ATTEMPT_SECONDS: &str = "hookwire_attempt_duration_seconds";
/// Histogram: seconds from the delivery's first due time to delivered (its
/// [`due_since`](crate::model::Delivery::due_since): the `send`, or the scheduled time of a delayed
/// one; a manual redelivery or recovery starts the clock again, retries do not).
pub const DELIVERY_LATENCY_SECONDS: &str = "hookwire_delivery_latency_seconds";
/// Gauge: deliveries pending or in flight (refreshed periodically and at shutdown).
pub const QUEUE_DEPTH: &str = "hookwire_queue_depth";
/// Counter: results that could not be recorded because the lease was lost.
pub const LEASE_LOST: &str = "hookwire_lease_lost_total";
/// Counter: rows deleted by retention (messages, deliveries and attempts), labelled `kind`.
pub const RETENTION_DELETED: &str = "hookwire_retention_deleted_total";

/// Every value of the `outcome` label of [`ATTEMPTS`].
pub const OUTCOMES: [&str; 12] = [
    "success",
    "redirect",
    "client_error",
    "server_error",
    "timeout",
    "connection_refused",
    "connection_reset",
    "dns",
    "tls",
    "ssrf_refused",
    "body_too_large",
    "other",
];

/// The `outcome` label of an attempt: one of [`OUTCOMES`].
pub(crate) fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Success { .. } => "success",
        Outcome::Status { status, .. } => match status {
            300..=399 => "redirect",
            400..=499 => "client_error",
            500..=599 => "server_error",
            _ => "other",
        },
        Outcome::Timeout => "timeout",
        Outcome::ConnectionRefused => "connection_refused",
        Outcome::ConnectionReset => "connection_reset",
        Outcome::Dns => "dns",
        Outcome::Tls => "tls",
        Outcome::SsrfRefused => "ssrf_refused",
        Outcome::BodyTooLarge => "body_too_large",
        // `Outcome` is non-exhaustive: an outcome added later counts as "other" until it
        // gets a label of its own.
        _ => "other",
    }
}

/// The labels of a delivery's metrics: `family`, and `endpoint` when asked for.
pub(crate) fn labels(endpoint: &Endpoint, with_endpoint: bool) -> Vec<Label> {
    let mut labels = vec![Label::new("family", endpoint.family.name())];
    if with_endpoint {
        labels.push(Label::new("endpoint", endpoint.id.clone()));
    }
    labels
}

/// [`labels`] plus the attempt's `outcome`.
pub(crate) fn attempt_labels(base: &[Label], outcome: &Outcome) -> Vec<Label> {
    let mut labels = base.to_vec();
    labels.push(Label::new("outcome", outcome_label(outcome)));
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_labels_are_a_closed_set() {
        let cases = [
            (Outcome::Success { status: 204 }, "success"),
            (
                Outcome::Status {
                    status: 302,
                    retry_after: None,
                },
                "redirect",
            ),
            (
                Outcome::Status {
                    status: 429,
                    retry_after: None,
                },
                "client_error",
            ),
            (
                Outcome::Status {
                    status: 503,
                    retry_after: None,
                },
                "server_error",
            ),
            (Outcome::Timeout, "timeout"),
            (Outcome::ConnectionRefused, "connection_refused"),
            (Outcome::ConnectionReset, "connection_reset"),
            (Outcome::Dns, "dns"),
            (Outcome::Tls, "tls"),
            (Outcome::SsrfRefused, "ssrf_refused"),
            (Outcome::BodyTooLarge, "body_too_large"),
            (Outcome::Other("whatever the error said".into()), "other"),
        ];
        for (outcome, label) in cases {
            assert_eq!(outcome_label(&outcome), label, "{outcome:?}");
            assert!(OUTCOMES.contains(&label));
        }
    }
}
