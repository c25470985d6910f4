//! The engine's timing through a [`ManualClock`]: retry schedule, lease expiry and re-claim,
//! health windows and the circuit breaker. No sockets, no sleeps: requests' results are
//! made up and fed to the attempt's decide and record steps.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hookwire_events::Family;
use hookwire_retry::{
    CircuitBreakerConfig, CircuitState, Decision, Finality, HealthChange, HealthPolicy, Outcome,
    RetryPolicy, SeededJitter,
};
use http::HeaderMap;

use super::attempt::{self, Admission};
use super::clock::{Clock, ManualClock};
use super::health::HealthWritten;
use super::{Engine, leases};
use crate::model::{ClaimedDelivery, Completion, DeliveryState, Endpoint};
use crate::store::{MemoryStore, Store};
use crate::transport::HttpResult;
use crate::{Dispatcher, NewEndpoint};

const T0: u64 = 1_750_000_000_000;
const TENANT: &str = "t";

struct Fixture {
    dispatcher: Dispatcher,
    clock: Arc<ManualClock>,
    endpoint: String,
}

impl Fixture {
    async fn new(retry: RetryPolicy, health: HealthPolicy) -> Self {
        let clock = Arc::new(ManualClock::at(T0));
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let dispatcher = Dispatcher::builder(store)
            .clock(Arc::clone(&clock) as Arc<dyn Clock>)
            .health_flush_interval(Duration::from_secs(1))
            .build()
            .unwrap();
        let created = dispatcher
            .create_endpoint(
                NewEndpoint::new(TENANT, Family::ZeroTier, "https://hooks.example.com/a")
                    .retry(retry)
                    .health_policy(health),
            )
            .await
            .unwrap();
        Self {
            endpoint: created.id().to_owned(),
            dispatcher,
            clock,
        }
    }

    fn engine(&self) -> &Engine {
        &self.dispatcher.engine
    }

    fn store(&self) -> &Arc<dyn Store> {
        self.dispatcher.store()
    }

    async fn send(&self) {
        self.dispatcher
            .send(TENANT, "NETWORK_JOIN", b"{}".to_vec())
            .await
            .unwrap();
    }

    async fn claim(&self, worker: &str) -> Vec<ClaimedDelivery> {
        let lease = self.engine().settings().lease;
        self.store()
            .claim(worker, self.clock.now_millis(), lease, 10)
            .await
            .unwrap()
    }

    async fn stored_endpoint(&self) -> Endpoint {
        self.store()
            .get_endpoint(&self.endpoint)
            .await
            .unwrap()
            .unwrap()
    }

    /// Decides and records an attempt of `cd` that got `status`, starting now and taking
    /// 10 ms of clock time.
    async fn attempt(&self, worker: &str, cd: ClaimedDelivery, status: u16) -> attempt::Recorded {
        let started = self.clock.now_millis();
        self.clock.advance(Duration::from_millis(10));
        let finished = self.clock.now_millis();
        let result = HttpResult {
            outcome: Outcome::from_status(status, None),
            status: Some(status),
            body: Bytes::from_static(b"ok"),
            truncated: false,
            headers: HeaderMap::new(),
            error: None,
            duration: Duration::from_millis(10),
        };
        let due_since = cd.delivery.due_since;
        let decided = attempt::decide(
            &cd.endpoint,
            cd.delivery,
            &cd.message,
            Ok(result),
            (started, finished),
            1024,
            &mut SeededJitter::new(7),
        );
        let worker: std::sync::Arc<str> = worker.into();
        attempt::record(self.engine(), &worker, decided, due_since, &[]).await
    }

    /// Feeds one attempt's outcome to endpoint health as the engine does after recording.
    async fn health(&self, status: u16, finality: Finality) -> Option<HealthWritten> {
        let ep = self.stored_endpoint().await;
        self.engine()
            .note_health(&ep, Outcome::from_status(status, None), finality, false)
            .await
    }
}

fn no_health() -> HealthPolicy {
    HealthPolicy::lenient()
}

#[tokio::test]
async fn retry_schedule_follows_the_policy_on_the_clock() {
    // ZeroTier: 10 attempts, 1 min doubling to a 1 h cap, no jitter.
    let f = Fixture::new(RetryPolicy::zerotier(), no_health()).await;
    f.send().await;
    let mut expected = Vec::new();
    let mut got = Vec::new();
    for n in 1..=10u32 {
        let mut claimed = f.claim("w").await;
        assert_eq!(claimed.len(), 1, "attempt {n} is due");
        let decided = f.attempt("w", claimed.remove(0), 503).await;
        let finished = f.clock.now_millis();
        match decided.completion {
            Completion::Retry { at } => {
                let delay = Duration::from_millis(u64::try_from(at - finished).unwrap());
                got.push(delay);
                expected.push(Duration::from_secs((60u64 << (n - 1)).min(3600)));
                // Not due a millisecond early; due on time.
                f.clock.advance(delay - Duration::from_millis(1));
                assert!(
                    f.claim("w").await.is_empty(),
                    "attempt {} came early",
                    n + 1
                );
                f.clock.advance(Duration::from_millis(1));
            }
            Completion::Failed => {
                assert_eq!(n, 10, "gave up after {n} attempts");
            }
            Completion::Delivered => panic!("503 delivered"),
        }
    }
    assert_eq!(got, expected);
    let d = f
        .store()
        .list_deliveries(&Default::default())
        .await
        .unwrap();
    assert_eq!(d[0].state, DeliveryState::Failed);
    assert_eq!(d[0].attempts, 10);
}

#[tokio::test]
async fn held_leases_are_renewed_and_expired_ones_reclaimed() {
    let f = Fixture::new(RetryPolicy::zerotier(), no_health()).await;
    let lease = f.engine().settings().lease;
    f.send().await;
    let worker: Arc<str> = Arc::from("a");
    let cd = f.claim(&worker).await.remove(0);
    let until = cd.delivery.lease_expires_at.unwrap();
    f.engine()
        .in_flight
        .insert(cd.delivery.id.clone(), &worker, until);

    // Not renewed while more than two rounds of its lease are left.
    let every = f.engine().settings().renew_every();
    f.clock.advance(every / 2);
    assert_eq!(leases::renew_held(f.engine()).await, 0);
    f.clock.advance(every / 2);
    // Renewed every third of the lease, it stays held well past its length.
    for _ in 0..6 {
        assert_eq!(leases::renew_held(f.engine()).await, 1);
        f.clock.advance(every);
        assert!(f.claim("b").await.is_empty(), "claimed while renewed");
    }
    // The last renewal; then the holder dies.
    assert_eq!(leases::renew_held(f.engine()).await, 1);
    // The holder dies (no more renewals): one lease after the last renewal it is due.
    f.clock.advance(lease - Duration::from_millis(1));
    assert!(
        f.claim("b").await.is_empty(),
        "claimed before the lease ran out"
    );
    f.clock.advance(Duration::from_millis(1));
    let again = f.claim("b").await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].delivery.id, cd.delivery.id);

    // The first holder's renewal and its result are refused now.
    assert_eq!(leases::renew_held(f.engine()).await, 0);
    let decided = f.attempt("a", cd, 200).await;
    assert_eq!(decided.completion, Completion::Delivered);
    let stored = f
        .store()
        .get_delivery(&again[0].delivery.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.state,
        DeliveryState::InFlight,
        "a lost lease recorded nothing"
    );
    assert_eq!(stored.lease_owner.as_deref(), Some("b"));
    // The new holder's result counts.
    let decided = f.attempt("b", again.into_iter().next().unwrap(), 200).await;
    assert_eq!(decided.completion, Completion::Delivered);
    let stored = f.store().get_delivery(&stored.id).await.unwrap().unwrap();
    assert_eq!(stored.state, DeliveryState::Delivered);
    assert_eq!(stored.attempts, 1);
}

#[tokio::test]
async fn failing_for_five_days_disables_and_fails_pending() {
    let policy = HealthPolicy {
        max_consecutive_failures: None,
        disable_after_failing_for: Some(Duration::from_secs(5 * 24 * 3600)),
        disable_on_gone: true,
        circuit: None,
    };
    let f = Fixture::new(RetryPolicy::zerotier(), policy).await;
    f.send().await;
    f.send().await;
    let day = Duration::from_secs(24 * 3600);
    assert_eq!(
        f.health(500, Finality::Retrying).await.unwrap().disabled,
        None
    );
    for _ in 0..4 {
        f.clock.advance(day);
        assert_eq!(
            f.health(500, Finality::Retrying).await.unwrap().disabled,
            None
        );
    }
    // A success restarts the streak.
    f.clock.advance(Duration::from_secs(3600));
    f.health(200, Finality::Final).await;
    f.clock.advance(day);
    let w = f.health(500, Finality::Retrying).await.unwrap();
    assert_eq!(w.disabled, None, "the streak restarted at the success");
    f.clock.advance(5 * day - Duration::from_millis(1));
    assert_eq!(
        f.health(500, Finality::Retrying).await.unwrap().disabled,
        None
    );
    f.clock.advance(Duration::from_millis(1));
    let w = f.health(500, Finality::Retrying).await.unwrap();
    assert!(w.disabled.is_some(), "five days failing: {w:?}");
    assert_eq!(
        w.failed_pending, 2,
        "pending deliveries failed with the endpoint"
    );
    assert!(!f.stored_endpoint().await.is_enabled());
}

#[tokio::test]
async fn consecutive_failed_deliveries_disable_retried_attempts_do_not() {
    let policy = HealthPolicy {
        max_consecutive_failures: Some(3),
        disable_after_failing_for: None,
        disable_on_gone: true,
        circuit: None,
    };
    let f = Fixture::new(RetryPolicy::zerotier(), policy).await;
    for _ in 0..20 {
        assert_eq!(
            f.health(500, Finality::Retrying).await.unwrap().disabled,
            None
        );
    }
    f.health(500, Finality::Final).await;
    f.health(500, Finality::Final).await;
    // Any success resets the count of failed deliveries.
    f.health(200, Finality::Final).await;
    f.health(500, Finality::Final).await;
    assert_eq!(f.health(500, Finality::Final).await.unwrap().disabled, None);
    let w = f.health(500, Finality::Final).await.unwrap();
    assert!(
        w.disabled.is_some(),
        "three failed deliveries in a row: {w:?}"
    );
}

#[tokio::test]
async fn successes_are_buffered_until_the_flush_interval() {
    let policy = HealthPolicy {
        circuit: Some(CircuitBreakerConfig::default()),
        ..HealthPolicy::lenient()
    };
    let f = Fixture::new(RetryPolicy::zerotier(), policy).await;
    for _ in 0..5 {
        assert_eq!(f.health(200, Finality::Final).await, None, "written early");
    }
    assert_eq!(f.stored_endpoint().await.health.window_counts(), (0, 0));
    f.clock.advance(Duration::from_secs(1));
    assert!(f.health(200, Finality::Final).await.is_some());
    assert_eq!(f.stored_endpoint().await.health.window_counts(), (6, 0));
    // Shutdown's flush writes what is buffered.
    f.health(200, Finality::Final).await;
    f.engine().flush_health().await;
    assert_eq!(f.stored_endpoint().await.health.window_counts(), (7, 0));
    // A failure writes at once, with what was buffered since.
    f.health(200, Finality::Final).await;
    f.health(500, Finality::Retrying).await.unwrap();
    assert_eq!(f.stored_endpoint().await.health.window_counts(), (9, 1));
    // After a failure the endpoint is not clean: successes are written at once.
    assert!(f.health(200, Finality::Final).await.is_some());
    assert_eq!(f.stored_endpoint().await.health.window_counts(), (10, 1));
}

#[tokio::test]
async fn circuit_breaker_opens_holds_deliveries_and_closes_on_a_probe() {
    let cb = CircuitBreakerConfig {
        failure_rate_percent: 50,
        minimum_requests: 4,
        window: Duration::from_secs(60),
        open_for: Duration::from_secs(30),
        close_after_successes: 1,
        disable_after_opens: None,
    };
    let policy = HealthPolicy {
        circuit: Some(cb),
        ..HealthPolicy::lenient()
    };
    let f = Fixture::new(RetryPolicy::zerotier(), policy).await;
    for _ in 0..3 {
        assert_eq!(
            f.health(500, Finality::Retrying).await.unwrap().change,
            HealthChange::None
        );
    }
    let w = f.health(500, Finality::Retrying).await.unwrap();
    assert_eq!(w.change, HealthChange::CircuitOpened);
    let opened = f.clock.now_millis();

    // While open, an attempt is not admitted: the delivery waits until the breaker
    // half-opens.
    let ep = f.stored_endpoint().await;
    assert_eq!(ep.health.circuit, CircuitState::Open);
    f.clock.advance(Duration::from_secs(10));
    match attempt::admit(f.engine(), &ep, f.clock.now()) {
        Admission::Later { at, .. } => assert_eq!(at, opened + 30_000),
        Admission::Go(_) => panic!("admitted while open"),
    }
    f.clock.advance(Duration::from_secs(20));
    assert!(matches!(
        attempt::admit(f.engine(), &ep, f.clock.now()),
        Admission::Go(_)
    ));
    // The probe succeeds: closed.
    let w = f.health(200, Finality::Final).await.unwrap();
    assert_eq!(w.change, HealthChange::CircuitClosed);
    assert_eq!(
        f.stored_endpoint().await.health.circuit,
        CircuitState::Closed
    );
}

#[tokio::test]
async fn a_failed_probe_reopens_the_breaker() {
    let cb = CircuitBreakerConfig {
        failure_rate_percent: 50,
        minimum_requests: 2,
        window: Duration::from_secs(60),
        open_for: Duration::from_secs(30),
        close_after_successes: 1,
        disable_after_opens: Some(2),
    };
    let policy = HealthPolicy {
        circuit: Some(cb),
        ..HealthPolicy::lenient()
    };
    let f = Fixture::new(RetryPolicy::zerotier(), policy).await;
    f.health(500, Finality::Retrying).await;
    assert_eq!(
        f.health(500, Finality::Retrying).await.unwrap().change,
        HealthChange::CircuitOpened
    );
    f.clock.advance(Duration::from_secs(30));
    // The half-open probe fails: open again, the second time in a row: disabled.
    let w = f.health(500, Finality::Retrying).await.unwrap();
    assert!(w.disabled.is_some(), "{w:?}");
    let ep = f.stored_endpoint().await;
    assert!(!ep.is_enabled());
    assert!(matches!(
        attempt::admit(f.engine(), &ep, f.clock.now()),
        Admission::Later { .. }
    ));
}

#[tokio::test]
async fn unusable_secret_or_url_fails_the_delivery_at_once() {
    let f = Fixture::new(RetryPolicy::zerotier(), no_health()).await;
    f.send().await;
    let cd = f.claim("w").await.remove(0);
    let decided = attempt::decide(
        &cd.endpoint,
        cd.delivery,
        &cd.message,
        Err("invalid endpoint URL: x".to_owned()),
        (1, 2),
        16,
        &mut SeededJitter::new(1),
    );
    assert_eq!(decided.decision, Decision::GiveUp);
    assert_eq!(decided.completion, Completion::Failed);
    assert_eq!(
        decided.attempt.error.as_deref(),
        Some("invalid endpoint URL: x")
    );
}

#[test]
fn manual_clock_moves_only_when_told() {
    let c = ManualClock::at(5);
    assert_eq!(c.now_millis(), 5);
    c.advance(Duration::from_millis(7));
    assert_eq!(c.now_millis(), 12);
    assert!(c.now() < SystemTime::now());
}
