//! Cost of one retry decision and one health update, against a baseline of the nominal
//! backoff lookup measured in the same run.

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use hookwire_retry::{EndpointHealth, Finality, HealthPolicy, Outcome, RetryPolicy, SeededJitter};

fn bench(c: &mut Criterion) {
    let svix = RetryPolicy::svix();
    let zerotier = RetryPolicy::zerotier();
    let outcome = Outcome::from_status(503, None);
    let mut rng = SeededJitter::new(1);
    c.bench_function("baseline/backoff_delay", |b| {
        b.iter(|| zerotier.backoff().delay(black_box(7)))
    });
    c.bench_function("decide/zerotier", |b| {
        b.iter(|| zerotier.decide(black_box(7), &outcome, Duration::ZERO, &mut rng))
    });
    c.bench_function("decide/svix_jitter", |b| {
        b.iter(|| svix.decide(black_box(3), &outcome, Duration::ZERO, &mut rng))
    });
    let policy = HealthPolicy::default();
    let mut health = EndpointHealth::new();
    let mut i = 0u64;
    c.bench_function("health/record", |b| {
        b.iter(|| {
            i += 1;
            let o = if i.is_multiple_of(3) {
                &outcome
            } else {
                &Outcome::Success { status: 200 }
            };
            health.record(
                &policy,
                black_box(o),
                Finality::Final,
                UNIX_EPOCH + Duration::from_secs(i),
            )
        })
    });
    c.bench_function("parse_retry_after/http_date", |b| {
        b.iter(|| {
            hookwire_retry::parse_retry_after(
                black_box("Sun, 06 Nov 1994 08:49:37 GMT"),
                UNIX_EPOCH,
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
