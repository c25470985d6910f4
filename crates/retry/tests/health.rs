//! Endpoint health: consecutive failures, failing duration, 410, circuit breaker.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hookwire_retry::{
    CircuitBreakerConfig, CircuitState, DisableReason, EndpointHealth, HealthChange, HealthPolicy,
    Outcome,
};

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn fail() -> Outcome {
    Outcome::from_status(503, None)
}

fn ok() -> Outcome {
    Outcome::from_status(200, None)
}

fn no_circuit() -> HealthPolicy {
    HealthPolicy {
        circuit: None,
        ..HealthPolicy::default()
    }
}

#[test]
fn zta_ten_consecutive_failures_disable() {
    let p = no_circuit();
    let mut h = EndpointHealth::new();
    for i in 0..9 {
        assert_eq!(h.record(&p, &fail(), t(i)), HealthChange::None);
    }
    // A success resets the streak.
    assert_eq!(h.record(&p, &ok(), t(9)), HealthChange::None);
    assert_eq!(h.consecutive_failures, 0);
    for i in 10..19 {
        assert_eq!(h.record(&p, &fail(), t(i)), HealthChange::None);
    }
    let change = h.record(&p, &Outcome::Timeout, t(19));
    let reason = DisableReason::ConsecutiveFailures { count: 10 };
    assert_eq!(change, HealthChange::Disabled(reason.clone()));
    assert!(h.is_disabled());
    assert_eq!(h.disabled, Some(reason.clone()));
    assert_eq!(h.disabled_at, Some(t(19)));
    assert_eq!(reason.to_string(), "Too many consecutive failures (10)");
    assert!(!h.allows_request(&p, t(20)));
    // Stays disabled, reports nothing more, until enabled.
    assert_eq!(h.record(&p, &ok(), t(21)), HealthChange::None);
    assert!(h.is_disabled());
    h.enable();
    assert!(!h.is_disabled() && h.allows_request(&p, t(22)));
}

#[test]
fn svix_five_days_failing_disables() {
    let p = HealthPolicy {
        max_consecutive_failures: None,
        circuit: None,
        ..HealthPolicy::default()
    };
    let day = 24 * 3600;
    let mut h = EndpointHealth::new();
    assert_eq!(h.record(&p, &fail(), t(0)), HealthChange::None);
    assert_eq!(h.failing_since, Some(t(0)));
    assert_eq!(h.record(&p, &fail(), t(5 * day - 1)), HealthChange::None);
    assert_eq!(
        h.record(&p, &fail(), t(5 * day)),
        HealthChange::Disabled(DisableReason::FailingSince { since: t(0) })
    );

    // Any success resets the streak.
    let mut h = EndpointHealth::new();
    h.record(&p, &fail(), t(0));
    h.record(&p, &ok(), t(4 * day));
    assert_eq!(h.failing_since, None);
    assert_eq!(h.record(&p, &fail(), t(6 * day)), HealthChange::None);
    assert_eq!(h.failing_since, Some(t(6 * day)));

    // A streak older than twice the period is forgotten (Svix's cache expiry).
    let mut h = EndpointHealth::new();
    h.record(&p, &fail(), t(0));
    assert_eq!(h.record(&p, &fail(), t(10 * day + 1)), HealthChange::None);
    assert_eq!(h.failing_since, Some(t(10 * day + 1)));
}

#[test]
fn gone_disables_at_once() {
    let p = HealthPolicy::default();
    let mut h = EndpointHealth::new();
    assert_eq!(
        h.record(&p, &Outcome::from_status(410, None), t(0)),
        HealthChange::Disabled(DisableReason::Gone)
    );
    assert!(!h.allows_request(&p, t(1)));
    let lenient = HealthPolicy::lenient();
    let mut h = EndpointHealth::new();
    for i in 0..100 {
        assert_eq!(
            h.record(&lenient, &Outcome::from_status(410, None), t(i)),
            HealthChange::None
        );
    }
    assert!(h.allows_request(&lenient, t(100)));
}

#[test]
fn body_too_large_is_neutral() {
    let p = HealthPolicy::default();
    let mut h = EndpointHealth::new();
    for i in 0..50 {
        assert_eq!(
            h.record(&p, &Outcome::BodyTooLarge, t(i)),
            HealthChange::None
        );
    }
    assert_eq!(h, EndpointHealth::default());
}

fn circuit_only(cb: CircuitBreakerConfig) -> HealthPolicy {
    HealthPolicy {
        max_consecutive_failures: None,
        disable_after_failing_for: None,
        disable_on_gone: true,
        circuit: Some(cb),
    }
}

#[test]
fn circuit_opens_half_opens_and_closes() {
    let p = circuit_only(CircuitBreakerConfig::default());
    let mut h = EndpointHealth::new();
    for i in 0..3 {
        assert_eq!(h.record(&p, &ok(), t(i)), HealthChange::None);
    }
    // 6 failures of 9 requests: below the 10-request minimum.
    for i in 3..9 {
        assert_eq!(h.record(&p, &fail(), t(i)), HealthChange::None);
    }
    // 7 of 10 = 70 %: opens.
    assert_eq!(h.record(&p, &fail(), t(9)), HealthChange::CircuitOpened);
    assert_eq!(h.circuit, CircuitState::Open);
    assert_eq!(h.consecutive_opens, 1);
    assert!(!h.allows_request(&p, t(9)));
    assert!(!h.allows_request(&p, t(38)));
    assert_eq!(h.retry_at(&p), Some(t(39)));
    assert!(h.allows_request(&p, t(39)));
    assert_eq!(h.poll(&p, t(38)), HealthChange::None);
    assert_eq!(h.poll(&p, t(39)), HealthChange::CircuitHalfOpen);
    assert_eq!(h.circuit, CircuitState::HalfOpen);
    // A failed probe reopens.
    assert_eq!(h.record(&p, &fail(), t(40)), HealthChange::CircuitOpened);
    assert_eq!(h.consecutive_opens, 2);
    // Recording after open_for performs the half-open transition itself; a good probe closes.
    assert_eq!(h.record(&p, &ok(), t(70)), HealthChange::CircuitClosed);
    assert_eq!(h.circuit, CircuitState::Closed);
    assert_eq!(h.consecutive_opens, 0);
    assert_eq!(h.window_counts(), (0, 0));
}

#[test]
fn circuit_window_slides() {
    let p = circuit_only(CircuitBreakerConfig::default());
    let mut h = EndpointHealth::new();
    for i in 0..9 {
        h.record(&p, &fail(), t(i));
    }
    // Ten minutes later the old failures are out of the 5-minute window.
    assert_eq!(h.record(&p, &fail(), t(600)), HealthChange::None);
    assert_eq!(h.window_counts(), (1, 1));
    assert!(h.window.len() <= 11);
}

#[test]
fn k_consecutive_opens_disable() {
    let cb = CircuitBreakerConfig {
        minimum_requests: 1,
        failure_rate_percent: 100,
        disable_after_opens: Some(3),
        ..CircuitBreakerConfig::default()
    };
    let p = circuit_only(cb);
    let mut h = EndpointHealth::new();
    assert_eq!(h.record(&p, &fail(), t(0)), HealthChange::CircuitOpened);
    // Failures while open (in-flight requests) change nothing.
    assert_eq!(h.record(&p, &fail(), t(1)), HealthChange::None);
    assert_eq!(h.record(&p, &fail(), t(31)), HealthChange::CircuitOpened);
    assert_eq!(
        h.record(&p, &fail(), t(62)),
        HealthChange::Disabled(DisableReason::CircuitOpenedTooOften { opens: 3 })
    );
    assert!(!h.allows_request(&p, t(1000)));
}

#[test]
fn health_round_trips_through_json() {
    let p = HealthPolicy::default();
    let mut h = EndpointHealth::new();
    for i in 0..12 {
        h.record(&p, &fail(), t(i));
    }
    let json = serde_json::to_string(&h).unwrap();
    assert_eq!(serde_json::from_str::<EndpointHealth>(&json).unwrap(), h);
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<HealthPolicy>(&json).unwrap(), p);
    // Partial JSON gets defaults.
    let p: HealthPolicy = serde_json::from_str(r#"{"max_consecutive_failures":3}"#).unwrap();
    assert_eq!(p.max_consecutive_failures, Some(3));
    assert_eq!(p.circuit, Some(CircuitBreakerConfig::default()));
    assert_eq!(
        serde_json::from_str::<EndpointHealth>("{}").unwrap(),
        EndpointHealth::new()
    );
}

#[test]
fn clock_going_backwards_is_tolerated() {
    let p = HealthPolicy::default();
    let mut h = EndpointHealth::new();
    h.record(&p, &fail(), t(1000));
    h.record(&p, &fail(), t(10));
    h.record(&p, &ok(), UNIX_EPOCH);
    assert_eq!(h.consecutive_failures, 0);
}
