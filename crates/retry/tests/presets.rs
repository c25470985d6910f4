//! Each preset's exact schedule: the delays, and the attempt where it gives up.

use std::time::Duration;

use hookwire_retry::{
    Backoff, Class, Decision, Fixed, Jitter, MAX_DELAY, Outcome, PRESET_NAMES, RetryAfter,
    RetryAfterRule, RetryPolicy,
};

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn status(code: u16) -> Outcome {
    Outcome::from_status(code, None)
}

fn decide(p: &RetryPolicy, attempt: u32, o: &Outcome) -> Decision {
    p.decide(attempt, o, Duration::ZERO, &mut Fixed(0.5))
}

/// Walks a policy with a retryable outcome until it gives up; returns the delays seen and
/// the attempt where it gave up.
fn walk(p: &RetryPolicy, o: &Outcome) -> (Vec<Duration>, u32) {
    let mut delays = Vec::new();
    for attempt in 1..=1000 {
        match decide(p, attempt, o) {
            Decision::RetryAfter(d) => delays.push(d),
            Decision::GiveUp => return (delays, attempt),
            other => {
                assert_eq!(other, Decision::GiveUp, "attempt {attempt}");
                break;
            }
        }
    }
    (delays, u32::MAX)
}

#[test]
fn zerotier_schedule() {
    let p = RetryPolicy::zerotier();
    let expected: Vec<Duration> = [1, 2, 4, 8, 16, 32, 60, 60, 60]
        .iter()
        .map(|m| s(m * 60))
        .collect();
    assert_eq!(p.schedule(), expected);
    assert_eq!(p.max_attempts(), 10);
    assert_eq!(p.timeout(), None);
    // Any failure is retried, and the walk gives up after the 10th attempt.
    for o in [
        status(503),
        status(404),
        status(301),
        Outcome::Timeout,
        Outcome::Dns,
    ] {
        assert_eq!(walk(&p, &o), (expected.clone(), 10), "{o:?}");
    }
    assert_eq!(decide(&p, 1, &status(410)), Decision::GiveUpAndDisable);
    assert_eq!(decide(&p, 1, &Outcome::SsrfRefused), Decision::GiveUp);
}

#[test]
fn zta_schedule_and_rules() {
    let p = RetryPolicy::zta();
    assert_eq!(p.schedule(), vec![s(5), s(25)]);
    assert_eq!(p.max_attempts(), 3);
    assert_eq!(p.timeout(), Some(s(5)));
    assert_eq!(walk(&p, &status(500)), (vec![s(5), s(25)], 3));
    assert_eq!(walk(&p, &Outcome::Timeout), (vec![s(5), s(25)], 3));
    // Only 5xx and timeouts are retried.
    for o in [
        status(429),
        status(408),
        status(404),
        status(302),
        Outcome::ConnectionRefused,
        Outcome::ConnectionReset,
        Outcome::Dns,
        Outcome::Tls,
    ] {
        assert_eq!(decide(&p, 1, &o), Decision::GiveUp, "{o:?}");
    }
    assert_eq!(decide(&p, 1, &status(410)), Decision::GiveUpAndDisable);
    assert_eq!(decide(&p, 2, &status(204)), Decision::Done);
    // Retry-After is ignored: the docs give fixed times.
    let hinted = Outcome::from_status(503, Some(RetryAfter::from_duration(s(600))));
    assert_eq!(decide(&p, 1, &hinted), Decision::RetryAfter(s(5)));
}

#[test]
fn zentitle_test_is_never_retried() {
    let p = RetryPolicy::zentitle_test();
    assert!(p.schedule().is_empty());
    assert_eq!(p.max_attempts(), 1);
    assert_eq!(walk(&p, &status(500)), (vec![], 1));
    assert_eq!(decide(&p, 1, &Outcome::Timeout), Decision::GiveUp);
    assert_eq!(decide(&p, 1, &status(200)), Decision::Done);
    assert_eq!(decide(&p, 1, &status(410)), Decision::GiveUpAndDisable);
}

#[test]
fn none_is_one_attempt() {
    let p = RetryPolicy::none();
    assert_eq!(p.max_attempts(), 1);
    assert_eq!(walk(&p, &Outcome::ConnectionRefused), (vec![], 1));
    assert_eq!(*p.backoff(), Backoff::None);
}

const STANDARD: [u64; 9] = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400];

#[test]
fn standard_webhooks_schedule() {
    let p = RetryPolicy::standard_webhooks();
    let expected: Vec<Duration> = STANDARD.iter().map(|n| s(*n)).collect();
    assert_eq!(p.schedule(), expected);
    assert_eq!(p.max_attempts(), 10);
    // The spec's table: the last attempt is at 75:35:05.
    let total: Duration = p.schedule().iter().sum();
    assert_eq!(total, s(75 * 3600 + 35 * 60 + 5));
    // Fixed(0.5) is the middle of the ±20 % band: the exact schedule.
    assert_eq!(walk(&p, &status(500)), (expected.clone(), 10));
    assert_eq!(walk(&p, &status(404)), (expected, 10));
    // The band edges.
    assert_eq!(
        p.decide(1, &status(500), Duration::ZERO, &mut Fixed(0.0)),
        Decision::RetryAfter(s(4))
    );
    assert_eq!(
        p.decide(2, &status(500), Duration::ZERO, &mut Fixed(1.0)),
        Decision::RetryAfter(s(360))
    );
    assert_eq!(p.timeout(), Some(s(30)));
    assert_eq!(decide(&p, 3, &status(410)), Decision::GiveUpAndDisable);
}

const SVIX: [u64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];

#[test]
fn svix_schedule_and_rules() {
    let p = RetryPolicy::svix();
    let expected: Vec<Duration> = SVIX.iter().map(|n| s(*n)).collect();
    assert_eq!(p.schedule(), expected);
    assert_eq!(p.max_attempts(), 8);
    assert_eq!(walk(&p, &status(500)), (expected, 8));
    assert_eq!(p.jitter(), Jitter::Symmetric { percent: 20 });
    // Timeouts and 429 raise the delay to 60 s (then jitter applies).
    assert_eq!(
        decide(&p, 1, &Outcome::Timeout),
        Decision::RetryAfter(s(60))
    );
    assert_eq!(decide(&p, 1, &status(429)), Decision::RetryAfter(s(60)));
    assert_eq!(
        decide(&p, 2, &Outcome::Timeout),
        Decision::RetryAfter(s(300))
    );
    assert_eq!(
        p.decide(1, &Outcome::Timeout, Duration::ZERO, &mut Fixed(0.0)),
        Decision::RetryAfter(s(48))
    );
    // Retry-After is clamped into [base, 2 × base], without jitter.
    let ra = |secs| Outcome::from_status(503, Some(RetryAfter::from_duration(s(secs))));
    assert_eq!(decide(&p, 1, &ra(1)), Decision::RetryAfter(s(5)));
    assert_eq!(decide(&p, 1, &ra(7)), Decision::RetryAfter(s(7)));
    assert_eq!(decide(&p, 1, &ra(3600)), Decision::RetryAfter(s(10)));
    assert_eq!(decide(&p, 2, &ra(3600)), Decision::RetryAfter(s(600)));
    // A 429 with Retry-After: base is the 60 s floor, so the clamp is [60, 120].
    let throttled = Outcome::from_status(429, Some(RetryAfter::from_duration(s(1))));
    assert_eq!(decide(&p, 1, &throttled), Decision::RetryAfter(s(60)));
    assert_eq!(decide(&p, 8, &ra(1)), Decision::GiveUp);
}

#[test]
fn presets_by_name() {
    assert_eq!(
        RetryPolicy::preset("zerotier"),
        Some(RetryPolicy::zerotier())
    );
    assert_eq!(RetryPolicy::preset("zta"), Some(RetryPolicy::zta()));
    assert_eq!(
        RetryPolicy::preset("zentitle-test"),
        Some(RetryPolicy::zentitle_test())
    );
    assert_eq!(
        RetryPolicy::preset("standard"),
        Some(RetryPolicy::standard_webhooks())
    );
    assert_eq!(RetryPolicy::preset("svix"), Some(RetryPolicy::svix()));
    assert_eq!(RetryPolicy::preset("none"), Some(RetryPolicy::none()));
    assert_eq!(RetryPolicy::preset("Svix"), None);
    assert_eq!(RetryPolicy::preset(""), None);
    for name in PRESET_NAMES {
        assert!(RetryPolicy::preset(name).is_some(), "{name}");
    }
}

#[test]
fn presets_round_trip_through_json() {
    for name in PRESET_NAMES {
        let p = RetryPolicy::preset(name).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        let back: RetryPolicy = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p, "{name}: {json}");
    }
    let json = serde_json::to_value(RetryPolicy::zta()).unwrap();
    assert_eq!(json["backoff"]["delays"], serde_json::json!([5000, 25000]));
    assert_eq!(json["timeout"], serde_json::json!(5000));
}

#[test]
fn deserializing_validates_and_fills_defaults() {
    let p: RetryPolicy = serde_json::from_str(
        r#"{"backoff":{"kind":"exponential","base":1000,"factor":2.0,"cap":8000},"max_attempts":6}"#,
    )
    .unwrap();
    assert_eq!(p.schedule(), vec![s(1), s(2), s(4), s(8), s(8)]);
    assert_eq!(p.jitter(), Jitter::None);
    for bad in [
        r#"{"backoff":{"kind":"none"},"max_attempts":0}"#,
        r#"{"backoff":{"kind":"none"},"max_attempts":3}"#,
        r#"{"backoff":{"kind":"schedule","delays":[]},"max_attempts":3}"#,
        r#"{"backoff":{"kind":"exponential","base":1000,"factor":0.5,"cap":8000},"max_attempts":3}"#,
        r#"{"backoff":{"kind":"exponential","base":9000,"factor":2.0,"cap":8000},"max_attempts":3}"#,
        r#"{"backoff":{"kind":"linear","base":0,"step":1,"cap":999999999999},"max_attempts":3}"#,
        r#"{"backoff":{"kind":"schedule","delays":[1]},"max_attempts":2,"jitter":{"mode":"symmetric","percent":101}}"#,
        r#"{"backoff":{"kind":"schedule","delays":[1]},"max_attempts":2,"timeout":0}"#,
        r#"{"backoff":{"kind":"schedule","delays":[1]},"max_attempts":2,"retry_after":{"rule":"between","min":5,"max":1}}"#,
        r#"{"backoff":{"kind":"schedule","delays":[1]},"max_attempts":20000}"#,
    ] {
        let err = serde_json::from_str::<RetryPolicy>(bad).unwrap_err();
        assert!(
            err.to_string().contains("invalid retry policy"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn builder_shapes_and_deadline() {
    let p = RetryPolicy::builder(Backoff::Linear {
        base: s(10),
        step: s(5),
        cap: s(30),
    })
    .max_attempts(7)
    .build()
    .unwrap();
    assert_eq!(p.schedule(), vec![s(10), s(15), s(20), s(25), s(30), s(30)]);

    let p = RetryPolicy::builder(Backoff::Schedule {
        delays: vec![s(1), s(2)],
    })
    .max_attempts(5)
    .deadline(Some(s(10)))
    .build()
    .unwrap();
    // Past its end a schedule repeats its last delay.
    assert_eq!(p.schedule(), vec![s(1), s(2), s(2), s(2)]);
    let o = Outcome::ConnectionReset;
    assert_eq!(
        p.decide(2, &o, s(8), &mut Fixed(0.5)),
        Decision::RetryAfter(s(2))
    );
    assert_eq!(p.decide(2, &o, s(9), &mut Fixed(0.5)), Decision::GiveUp);

    // Non-integral factor.
    let p = RetryPolicy::builder(Backoff::Exponential {
        base: s(4),
        factor: 1.5,
        cap: s(20),
    })
    .max_attempts(6)
    .build()
    .unwrap();
    assert_eq!(
        p.schedule(),
        vec![s(4), s(6), s(9), Duration::from_millis(13_500), s(20)]
    );

    // Between rule for Retry-After.
    let p = RetryPolicy::zerotier()
        .to_builder()
        .retry_after(RetryAfterRule::Between {
            min: s(30),
            max: s(90),
        })
        .build()
        .unwrap();
    let o = Outcome::from_status(503, Some(RetryAfter::from_duration(s(3600))));
    assert_eq!(decide(&p, 1, &o), Decision::RetryAfter(s(90)));

    // 4xx retry is configurable.
    let mut cfg = p.classify_config().clone();
    cfg.retry_client_errors = false;
    let p = p.to_builder().classify(cfg).build().unwrap();
    assert_eq!(p.classify(&status(404)), Class::Permanent);
    assert_eq!(decide(&p, 1, &status(404)), Decision::GiveUp);

    assert!(
        RetryPolicy::builder(Backoff::Exponential {
            base: s(1),
            factor: f64::NAN,
            cap: s(2)
        })
        .build()
        .is_err()
    );
    assert!(
        RetryPolicy::builder(Backoff::Schedule {
            delays: vec![MAX_DELAY + s(1)]
        })
        .build()
        .is_err()
    );
    let err = RetryPolicy::builder(Backoff::None)
        .max_attempts(2)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid retry policy: a policy without backoff allows one attempt"
    );
}

#[test]
fn attempt_zero_reads_as_one_and_huge_attempts_give_up() {
    let p = RetryPolicy::zerotier();
    assert_eq!(decide(&p, 0, &status(500)), Decision::RetryAfter(s(60)));
    assert_eq!(decide(&p, u32::MAX, &status(500)), Decision::GiveUp);
}
