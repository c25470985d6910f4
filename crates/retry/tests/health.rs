//! Endpoint health: consecutive failed deliveries, failing duration, 410, circuit breaker.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hookwire_retry::Finality::{Final, Retrying};
use hookwire_retry::{
    CircuitBreakerConfig, CircuitState, Decision, DisableReason, EndpointHealth, Finality, Fixed,
    HealthChange, HealthPolicy, Outcome, RetryPolicy,
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

/// Records one delivery of `attempts` attempts: all fail, the last is [`Final`].
fn failed_delivery(
    h: &mut EndpointHealth,
    p: &HealthPolicy,
    attempts: u64,
    now: &mut u64,
) -> Vec<HealthChange> {
    (1..=attempts)
        .map(|a| {
            *now += 1;
            let f = if a == attempts { Final } else { Retrying };
            h.record(p, &fail(), f, t(*now))
        })
        .collect()
}

#[test]
fn zta_ten_consecutive_failed_deliveries_disable() {
    let p = no_circuit();
    let mut h = EndpointHealth::new();
    let mut now = 0;
    // Nine deliveries that each exhaust 10 attempts: 90 failed attempts, still enabled.
    for d in 1..=9 {
        let changes = failed_delivery(&mut h, &p, 10, &mut now);
        assert!(
            changes.iter().all(|c| *c == HealthChange::None),
            "{changes:?}"
        );
        assert_eq!(h.consecutive_failed_deliveries, d);
    }
    assert_eq!(h.consecutive_failures, 90);
    assert!(!h.is_disabled());
    // A successful attempt (here a retry that got through) resets both streaks.
    h.record(&p, &fail(), Retrying, t(100));
    assert_eq!(h.record(&p, &ok(), Final, t(101)), HealthChange::None);
    assert_eq!(h.consecutive_failures, 0);
    assert_eq!(h.consecutive_failed_deliveries, 0);
    now = 200;
    for _ in 0..9 {
        failed_delivery(&mut h, &p, 1, &mut now);
    }
    assert_eq!(h.consecutive_failed_deliveries, 9);
    // Retried attempts of the tenth delivery never complete it...
    for i in 0..20 {
        assert_eq!(
            h.record(&p, &fail(), Retrying, t(300 + i)),
            HealthChange::None
        );
    }
    assert_eq!(h.consecutive_failed_deliveries, 9);
    // ...its last attempt does.
    let change = h.record(&p, &Outcome::Timeout, Final, t(320));
    let reason = DisableReason::ConsecutiveFailures { count: 10 };
    assert_eq!(change, HealthChange::Disabled(reason.clone()));
    assert!(h.is_disabled());
    assert_eq!(h.disabled, Some(reason.clone()));
    assert_eq!(h.disabled_at, Some(t(320)));
    assert_eq!(reason.to_string(), "Too many consecutive failures (10)");
    assert!(!h.allows_request(&p, t(321)));
    // Stays disabled, reports nothing more, until enabled.
    assert_eq!(h.record(&p, &ok(), Final, t(322)), HealthChange::None);
    assert!(h.is_disabled());
    h.enable();
    assert!(!h.is_disabled() && h.allows_request(&p, t(323)));
}

/// Drives one ZeroTier delivery against an endpoint that always fails, letting the retry
/// policy decide when it ends, as the dispatcher does.
fn zerotier_delivery(h: &mut EndpointHealth, p: &HealthPolicy, clock: &mut Duration) -> u32 {
    let retry = RetryPolicy::zerotier();
    let started = *clock;
    let mut attempt = 1;
    loop {
        let decision = retry.decide(attempt, &fail(), *clock - started, &mut Fixed(0.5));
        let finality = match decision {
            Decision::RetryAfter(_) => Retrying,
            _ => Final,
        };
        let change = h.record(p, &fail(), finality, UNIX_EPOCH + *clock);
        if let HealthChange::Disabled(reason) = change {
            assert_eq!(finality, Final, "disabled mid-delivery: {reason}");
        }
        match decision {
            Decision::RetryAfter(d) => *clock += d,
            _ => return attempt,
        }
        attempt += 1;
    }
}

#[test]
fn one_delivery_of_n_attempts_does_not_disable_but_n_failed_deliveries_do() {
    // The dispatcher's defaults: ZTA's 10, and ZeroTier's 10 attempts per delivery.
    let p = no_circuit();
    assert_eq!(p.max_consecutive_failures, Some(10));
    let mut h = EndpointHealth::new();
    let mut clock = Duration::from_secs(1_700_000_000);
    assert_eq!(zerotier_delivery(&mut h, &p, &mut clock), 10);
    assert_eq!(h.consecutive_failures, 10);
    assert_eq!(h.consecutive_failed_deliveries, 1);
    assert!(!h.is_disabled(), "one dead delivery disabled the endpoint");
    for n in 2..=9 {
        zerotier_delivery(&mut h, &p, &mut clock);
        assert!(!h.is_disabled(), "disabled after {n} deliveries");
    }
    zerotier_delivery(&mut h, &p, &mut clock);
    assert_eq!(
        h.disabled,
        Some(DisableReason::ConsecutiveFailures { count: 10 })
    );
    assert_eq!(h.consecutive_failures, 100);
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
    // Counted over attempts: retried ones extend the streak too.
    assert_eq!(h.record(&p, &fail(), Retrying, t(0)), HealthChange::None);
    assert_eq!(h.failing_since, Some(t(0)));
    assert_eq!(
        h.record(&p, &fail(), Retrying, t(5 * day - 1)),
        HealthChange::None
    );
    assert_eq!(
        h.record(&p, &fail(), Retrying, t(5 * day)),
        HealthChange::Disabled(DisableReason::FailingSince { since: t(0) })
    );

    // Any success resets the streak.
    let mut h = EndpointHealth::new();
    h.record(&p, &fail(), Final, t(0));
    h.record(&p, &ok(), Final, t(4 * day));
    assert_eq!(h.failing_since, None);
    assert_eq!(h.record(&p, &fail(), Final, t(6 * day)), HealthChange::None);
    assert_eq!(h.failing_since, Some(t(6 * day)));

    // A streak older than twice the period is forgotten (Svix's cache expiry).
    let mut h = EndpointHealth::new();
    h.record(&p, &fail(), Final, t(0));
    assert_eq!(
        h.record(&p, &fail(), Final, t(10 * day + 1)),
        HealthChange::None
    );
    assert_eq!(h.failing_since, Some(t(10 * day + 1)));
}

#[test]
fn gone_disables_at_once() {
    let p = HealthPolicy::default();
    let mut h = EndpointHealth::new();
    assert_eq!(
        h.record(&p, &Outcome::from_status(410, None), Final, t(0)),
        HealthChange::Disabled(DisableReason::Gone)
    );
    assert!(!h.allows_request(&p, t(1)));
    let lenient = HealthPolicy::lenient();
    let mut h = EndpointHealth::new();
    for i in 0..100 {
        assert_eq!(
            h.record(&lenient, &Outcome::from_status(410, None), Final, t(i)),
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
            h.record(&p, &Outcome::BodyTooLarge, Final, t(i)),
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
        assert_eq!(h.record(&p, &ok(), Final, t(i)), HealthChange::None);
    }
    // 6 failures of 9 requests: below the 10-request minimum. The breaker counts attempts,
    // retried or not.
    for i in 3..9 {
        assert_eq!(h.record(&p, &fail(), Retrying, t(i)), HealthChange::None);
    }
    // 7 of 10 = 70 %: opens.
    assert_eq!(
        h.record(&p, &fail(), Retrying, t(9)),
        HealthChange::CircuitOpened
    );
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
    assert_eq!(
        h.record(&p, &fail(), Final, t(40)),
        HealthChange::CircuitOpened
    );
    assert_eq!(h.consecutive_opens, 2);
    // Recording after open_for performs the half-open transition itself; a good probe closes.
    assert_eq!(
        h.record(&p, &ok(), Final, t(70)),
        HealthChange::CircuitClosed
    );
    assert_eq!(h.circuit, CircuitState::Closed);
    assert_eq!(h.consecutive_opens, 0);
    assert_eq!(h.window_counts(), (0, 0));
}

#[test]
fn circuit_window_slides() {
    let p = circuit_only(CircuitBreakerConfig::default());
    let mut h = EndpointHealth::new();
    for i in 0..9 {
        h.record(&p, &fail(), Final, t(i));
    }
    // Ten minutes later the old failures are out of the 5-minute window.
    assert_eq!(h.record(&p, &fail(), Final, t(600)), HealthChange::None);
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
    assert_eq!(
        h.record(&p, &fail(), Final, t(0)),
        HealthChange::CircuitOpened
    );
    // Failures while open (in-flight requests) change nothing.
    assert_eq!(h.record(&p, &fail(), Final, t(1)), HealthChange::None);
    assert_eq!(
        h.record(&p, &fail(), Final, t(31)),
        HealthChange::CircuitOpened
    );
    assert_eq!(
        h.record(&p, &fail(), Final, t(62)),
        HealthChange::Disabled(DisableReason::CircuitOpenedTooOften { opens: 3 })
    );
    assert!(!h.allows_request(&p, t(1000)));
}

#[test]
fn health_round_trips_through_json() {
    let p = HealthPolicy::default();
    let mut h = EndpointHealth::new();
    for i in 0..12 {
        h.record(&p, &fail(), Final, t(i));
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
    // Health stored before failed deliveries were counted: the new count starts at 0.
    let old: EndpointHealth = serde_json::from_str(
        r#"{"consecutive_failures":7,"failing_since":null,"circuit":"closed","window":[]}"#,
    )
    .unwrap();
    assert_eq!(
        (old.consecutive_failures, old.consecutive_failed_deliveries),
        (7, 0)
    );
    // The disable reason keeps its serialized form.
    assert_eq!(
        serde_json::to_string(&DisableReason::ConsecutiveFailures { count: 10 }).unwrap(),
        r#"{"reason":"consecutive_failures","count":10}"#
    );
    assert_eq!(
        serde_json::to_string(&Finality::Retrying).unwrap(),
        r#""retrying""#
    );
}

#[test]
fn clock_going_backwards_is_tolerated() {
    let p = HealthPolicy::default();
    let mut h = EndpointHealth::new();
    h.record(&p, &fail(), Final, t(1000));
    h.record(&p, &fail(), Final, t(10));
    h.record(&p, &ok(), Final, UNIX_EPOCH);
    assert_eq!(h.consecutive_failures, 0);
}
