//! Property tests: caps hold and nothing overflows for any attempt number, jitter stays in
//! its band, `Retry-After` lands in its clamp, a success resets failure counters, the
//! consecutive-failure rule counts failed deliveries (never retried attempts), and the
//! parsers never panic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hookwire_retry::{
    Backoff, Decision, DisableReason, EndpointHealth, Finality, Fixed, HealthPolicy, Jitter,
    MAX_DELAY, Outcome, RetryAfter, RetryAfterRule, RetryPolicy, parse_retry_after,
};
use proptest::prelude::*;

fn jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::None),
        Just(Jitter::Full),
        (0u32..=100).prop_map(|percent| Jitter::Symmetric { percent }),
        (0u32..=1000).prop_map(|percent| Jitter::Additive { percent }),
    ]
}

fn draw() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0f64..1.0,
        Just(0.0),
        Just(0.999_999_999),
        Just(1.0),
        Just(-3.0),
        Just(42.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
    ]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        (0u16..1000).prop_map(|s| Outcome::from_status(s, None)),
        (0u16..1000, any::<u64>()).prop_map(|(s, ra)| {
            Outcome::from_status(s, Some(RetryAfter::from_duration(Duration::from_secs(ra))))
        }),
        Just(Outcome::Timeout),
        Just(Outcome::ConnectionRefused),
        Just(Outcome::ConnectionReset),
        Just(Outcome::Dns),
        Just(Outcome::Tls),
        Just(Outcome::BodyTooLarge),
        Just(Outcome::SsrfRefused),
        Just(Outcome::Other("x".into())),
    ]
}

fn finality() -> impl Strategy<Value = Finality> {
    prop_oneof![Just(Finality::Retrying), Just(Finality::Final)]
}

fn capped_backoff() -> impl Strategy<Value = Backoff> {
    let cap = 0u64..=MAX_DELAY.as_millis() as u64;
    prop_oneof![
        (cap.clone(), any::<u64>(), 1u32..1_000_000).prop_map(|(cap, base, f)| {
            Backoff::Exponential {
                base: Duration::from_millis(base % (cap + 1)),
                factor: f64::from(f),
                cap: Duration::from_millis(cap),
            }
        }),
        (cap.clone(), any::<u64>(), 1.0f64..1e6).prop_map(|(cap, base, factor)| {
            Backoff::Exponential {
                base: Duration::from_millis(base % (cap + 1)),
                factor,
                cap: Duration::from_millis(cap),
            }
        }),
        (cap, any::<u64>(), any::<u64>()).prop_map(|(cap, base, step)| Backoff::Linear {
            base: Duration::from_millis(base % (cap + 1)),
            step: Duration::from_millis(step),
            cap: Duration::from_millis(cap),
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn delays_never_exceed_cap_or_overflow(
        backoff in capped_backoff(),
        jitter in jitter(),
        attempt in any::<u32>(),
        r in draw(),
        elapsed in any::<u64>(),
        o in outcome(),
    ) {
        let cap = backoff.cap().unwrap();
        let p = RetryPolicy::builder(backoff.clone())
            .max_attempts(10_000)
            .jitter(jitter)
            .build()
            .unwrap();
        // Nominal delays: capped, for any attempt number.
        let nominal = backoff.delay(attempt).unwrap();
        prop_assert!(nominal <= cap);
        prop_assert!(backoff.delay(attempt.saturating_add(1)).unwrap() >= nominal);
        let d = p.decide(attempt, &o, Duration::from_millis(elapsed), &mut Fixed(r));
        if let Decision::RetryAfter(d) = d {
            prop_assert!(d <= MAX_DELAY);
            // Retry-After is governed by its own rule (ignored here): the cap holds.
            prop_assert!(d <= cap, "{d:?} > {cap:?}");
        }
    }

    #[test]
    fn jitter_stays_in_band(jitter in jitter(), nanos in any::<u64>(), r in draw()) {
        let d = Duration::from_nanos(nanos);
        let (lo, hi) = jitter.band(d);
        prop_assert!(lo <= hi);
        let out = jitter.apply(d, &mut Fixed(r));
        prop_assert!(lo <= out && out <= hi, "{out:?} not in [{lo:?}, {hi:?}]");
        if jitter == Jitter::None {
            prop_assert_eq!(out, d);
        }
    }

    #[test]
    fn retry_after_always_in_clamp(
        preset in prop_oneof![Just("svix"), Just("standard"), Just("zerotier")],
        between in proptest::option::of((0u64..=604_800, 0u64..=604_800)),
        attempt in 1u32..12,
        ra in any::<u64>(),
        ra_nanos in 0u32..1_000_000_000,
        status in prop_oneof![Just(429u16), Just(503), Just(500), Just(302)],
        r in draw(),
    ) {
        let mut p = RetryPolicy::preset(preset).unwrap();
        if let Some((a, b)) = between {
            let rule = RetryAfterRule::Between {
                min: Duration::from_secs(a.min(b)),
                max: Duration::from_secs(a.max(b)),
            };
            p = p.to_builder().retry_after(rule).build().unwrap();
        }
        let hint = RetryAfter::from_duration(Duration::new(ra, ra_nanos));
        let o = Outcome::from_status(status, Some(hint));
        match p.decide(attempt, &o, Duration::ZERO, &mut Fixed(r)) {
            Decision::RetryAfter(d) => {
                let nominal = p.nominal_delay(attempt).unwrap();
                let base = match p.overload_floor() {
                    Some(f) if o.is_overload() => nominal.max(f),
                    _ => nominal,
                };
                let (lo, hi) = p.retry_after_rule().bounds(base).unwrap();
                prop_assert!(lo <= d && d <= hi, "{d:?} not in [{lo:?}, {hi:?}]");
            }
            Decision::GiveUp => prop_assert!(attempt >= p.max_attempts()),
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }

    #[test]
    fn success_resets_failure_counters(
        events in proptest::collection::vec((outcome(), finality(), 0u64..100_000_000), 0..200),
        end in 0u64..100_000_000,
        last in finality(),
        lenient in any::<bool>(),
    ) {
        let p = if lenient { HealthPolicy::lenient() } else { HealthPolicy::default() };
        let mut h = EndpointHealth::new();
        let t = |s: u64| UNIX_EPOCH + Duration::from_secs(1_600_000_000 + s);
        let mut now = 0;
        for (o, f, step) in &events {
            now += step % 10_000;
            h.record(&p, o, *f, t(now));
            prop_assert!(h.window.len() <= 11);
        }
        h.record(&p, &Outcome::from_status(200, None), last, t(now + end));
        prop_assert_eq!(h.consecutive_failures, 0);
        prop_assert_eq!(h.consecutive_failed_deliveries, 0);
        prop_assert_eq!(h.failing_since, None);
        prop_assert_eq!(h.last_success_at, Some(t(now + end)));
    }

    /// Against a model: the consecutive rule counts deliveries whose last attempt failed
    /// (a success resets, `BodyTooLarge` is neutral, retried attempts never count), and it
    /// disables exactly when the count reaches the limit on a delivery's last attempt.
    #[test]
    fn consecutive_rule_counts_failed_deliveries_not_attempts(
        events in proptest::collection::vec((outcome(), finality()), 0..300),
        limit in 1u32..6,
    ) {
        let p = HealthPolicy {
            max_consecutive_failures: Some(limit),
            disable_after_failing_for: None,
            disable_on_gone: false,
            circuit: None,
        };
        let mut h = EndpointHealth::new();
        let t = |s: u64| UNIX_EPOCH + Duration::from_secs(1_600_000_000 + s);
        let mut failed_deliveries = 0u32;
        let mut disabled: Option<DisableReason> = None;
        for (i, (o, f)) in events.iter().enumerate() {
            h.record(&p, o, *f, t(i as u64));
            if o.is_success() {
                failed_deliveries = 0;
            } else if *o != Outcome::BodyTooLarge && *f == Finality::Final {
                failed_deliveries += 1;
                if failed_deliveries >= limit && disabled.is_none() {
                    disabled = Some(DisableReason::ConsecutiveFailures {
                        count: failed_deliveries,
                    });
                }
            }
            prop_assert_eq!(h.consecutive_failed_deliveries, failed_deliveries);
            prop_assert_eq!(&h.disabled, &disabled);
        }
    }

    /// Any number of failed attempts of one delivery (all but its last retried) never trips
    /// the consecutive rule, whatever the limit.
    #[test]
    fn one_delivery_never_disables_by_itself(
        failures in proptest::collection::vec(outcome(), 0..500),
        limit in 1u32..20,
    ) {
        let p = HealthPolicy {
            max_consecutive_failures: Some(limit),
            disable_after_failing_for: None,
            disable_on_gone: false,
            circuit: None,
        };
        let mut h = EndpointHealth::new();
        let t = |s: u64| UNIX_EPOCH + Duration::from_secs(1_600_000_000 + s);
        let n = failures.len();
        for (i, o) in failures.iter().enumerate() {
            let f = if i + 1 == n { Finality::Final } else { Finality::Retrying };
            h.record(&p, o, f, t(i as u64));
            prop_assert!(h.consecutive_failed_deliveries <= 1);
            prop_assert!(limit == 1 || !h.is_disabled(), "disabled by one delivery: {:?}", h);
        }
    }

    #[test]
    fn parse_retry_after_never_panics(s in "\\PC{0,40}", now in any::<u64>()) {
        let now = UNIX_EPOCH + Duration::from_secs(now % 1_000_000_000_000);
        let _ = parse_retry_after(&s, now);
    }

    #[test]
    fn retry_after_seconds_round_trip(n in any::<u64>()) {
        prop_assert_eq!(parse_retry_after(&n.to_string(), UNIX_EPOCH), Some(Duration::from_secs(n)));
    }

    #[test]
    fn imf_fixdate_round_trip(date in 0u64..253_402_300_800, now in 0u64..253_402_300_800) {
        let value = imf_fixdate(date);
        let now_t = UNIX_EPOCH + Duration::from_secs(now);
        let expected = Duration::from_secs(date.saturating_sub(now));
        prop_assert_eq!(parse_retry_after(&value, now_t), Some(expected), "{}", value);
    }

    #[test]
    fn policy_json_round_trip(
        backoff in capped_backoff(),
        hundredths in 100u32..100_000,
        jitter in jitter(),
        n in 1u32..100,
    ) {
        // serde_json (without `float_roundtrip`) is exact for short decimals such as 1.5 or
        // 2.25, not for every f64 bit pattern; factors are written as such decimals.
        let backoff = match backoff {
            Backoff::Exponential { base, cap, .. } => Backoff::Exponential {
                base,
                factor: f64::from(hundredths) / 100.0,
                cap,
            },
            other => other,
        };
        let p = RetryPolicy::builder(backoff).max_attempts(n).jitter(jitter).build().unwrap();
        let back: RetryPolicy = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        // Durations are stored in whole milliseconds, which the generators use.
        prop_assert_eq!(back, p);
    }
}

/// Formats unix seconds as an IMF-fixdate, independently of the crate's parser.
fn imf_fixdate(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // civil_from_days (Howard Hinnant).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn formatter_matches_rfc_example() {
    assert_eq!(imf_fixdate(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    let _: SystemTime = UNIX_EPOCH;
}
