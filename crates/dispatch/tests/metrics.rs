//! The worker's metrics, seen through a global in-test `metrics::Recorder`: delivered,
//! retried, failed and disabled counters, the attempt counter by outcome, both histograms and
//! the queue-depth gauge (refreshed at shutdown), their `family`/`endpoint` labels, against
//! real HTTP receivers on 127.0.0.1 and the memory store.
//!
//! The recorder is process-global (workers run on other threads), so this binary holds a
//! single test and everything it asserts is a delta from a snapshot taken before it starts.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{Reply, TestServer, fast_retry, message_id, wait_state};
use hookwire_dispatch::metrics as m;
use hookwire_dispatch::model::{DeliveryFilter, DeliveryState, EndpointStatus};
use hookwire_dispatch::store::MemoryStore;
use hookwire_dispatch::{Dispatcher, NewEndpoint};
use hookwire_events::Family;
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

/// A metric's name and its labels, sorted.
type Series = (String, Vec<(String, String)>);

/// Everything recorded so far.
#[derive(Clone, Debug, Default)]
struct Recorded {
    counters: BTreeMap<Series, u64>,
    /// Every value set, in order.
    gauges: BTreeMap<Series, Vec<f64>>,
    histograms: BTreeMap<Series, Vec<f64>>,
}

impl Recorded {
    /// A counter's total over all its label sets.
    fn counter(&self, name: &str) -> u64 {
        self.counters
            .iter()
            .filter(|((n, _), _)| n == name)
            .map(|(_, v)| *v)
            .sum()
    }

    fn gauge(&self, name: &str) -> Vec<f64> {
        self.gauges
            .iter()
            .filter(|((n, _), _)| n == name)
            .flat_map(|(_, v)| v.iter().copied())
            .collect()
    }

    fn histogram(&self, name: &str) -> Vec<f64> {
        self.histograms
            .iter()
            .filter(|((n, _), _)| n == name)
            .flat_map(|(_, v)| v.iter().copied())
            .collect()
    }

    /// The label sets seen for `name` (any kind).
    fn labels(&self, name: &str) -> Vec<Vec<(String, String)>> {
        let c = self.counters.keys();
        let g = self.gauges.keys();
        let h = self.histograms.keys();
        c.chain(g)
            .chain(h)
            .filter(|(n, _)| n == name)
            .map(|(_, l)| l.clone())
            .collect()
    }
}

type Shared = Arc<Mutex<Recorded>>;

fn series(key: &Key) -> Series {
    let mut labels: Vec<(String, String)> = key
        .labels()
        .map(|l| (l.key().to_owned(), l.value().to_owned()))
        .collect();
    labels.sort();
    (key.name().to_owned(), labels)
}

/// One registered handle: writes straight into the shared map.
struct Handle {
    series: Series,
    shared: Shared,
}

impl CounterFn for Handle {
    fn increment(&self, value: u64) {
        let mut r = self.shared.lock().unwrap();
        *r.counters.entry(self.series.clone()).or_default() += value;
    }

    fn absolute(&self, value: u64) {
        let mut r = self.shared.lock().unwrap();
        let c = r.counters.entry(self.series.clone()).or_default();
        *c = (*c).max(value);
    }
}

impl GaugeFn for Handle {
    fn increment(&self, value: f64) {
        let mut r = self.shared.lock().unwrap();
        let v = r.gauges.entry(self.series.clone()).or_default();
        let last = v.last().copied().unwrap_or(0.0);
        v.push(last + value);
    }

    fn decrement(&self, value: f64) {
        GaugeFn::increment(self, -value);
    }

    fn set(&self, value: f64) {
        let mut r = self.shared.lock().unwrap();
        r.gauges.entry(self.series.clone()).or_default().push(value);
    }
}

impl HistogramFn for Handle {
    fn record(&self, value: f64) {
        let mut r = self.shared.lock().unwrap();
        r.histograms
            .entry(self.series.clone())
            .or_default()
            .push(value);
    }
}

struct TestRecorder {
    shared: Shared,
}

impl TestRecorder {
    fn handle(&self, key: &Key) -> Arc<Handle> {
        Arc::new(Handle {
            series: series(key),
            shared: Arc::clone(&self.shared),
        })
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle(key))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.handle(key))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.handle(key))
    }
}

/// Installs the global recorder once and returns its map.
fn recorder() -> Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    Arc::clone(SHARED.get_or_init(|| {
        let shared = Shared::default();
        metrics::set_global_recorder(TestRecorder {
            shared: Arc::clone(&shared),
        })
        .unwrap_or_else(|_| panic!("a global recorder was already installed"));
        shared
    }))
}

fn snapshot(shared: &Shared) -> Recorded {
    shared.lock().unwrap().clone()
}

/// Waits until `f` holds for the recorded metrics (panics after 10 s with `what`).
async fn wait_metrics(shared: &Shared, what: &str, f: impl Fn(&Recorded) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = snapshot(shared);
        if f(&r) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_emits_counters_histograms_and_the_queue_depth_gauge() {
    let shared = recorder();

    // Answers 200 after 400 ms: its delivery stays in flight across several gauge ticks.
    let ok = TestServer::start(|_, _| {
        Reply::Delay(Duration::from_millis(400), Box::new(Reply::Status(200)))
    })
    .await;
    let flaky = TestServer::start(|_, i| {
        if i == 0 {
            Reply::Status(500)
        } else {
            Reply::Status(200)
        }
    })
    .await;
    let broken = TestServer::status(500).await;
    let gone = TestServer::status(410).await;

    let d = Dispatcher::builder(Arc::new(MemoryStore::new()))
        .allow_loopback_http()
        .lease(Duration::from_secs(5))
        .poll_interval(Duration::from_millis(50))
        .health_flush_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let mut endpoints = Vec::new();
    for (tenant, server) in [
        ("ok", &ok),
        ("flaky", &flaky),
        ("broken", &broken),
        ("gone", &gone),
    ] {
        let ep = d
            .create_endpoint(
                NewEndpoint::new(tenant, Family::ZeroTier, server.url("/")).retry(fast_retry(3)),
            )
            .await
            .unwrap();
        endpoints.push((tenant, ep.id().to_owned()));
    }

    let before = snapshot(&shared);
    d.start().unwrap();
    let mut ids = Vec::new();
    for tenant in ["ok", "flaky", "broken", "gone"] {
        let id = d
            .send(tenant, "NETWORK_JOIN", b"{}".to_vec())
            .await
            .unwrap();
        ids.push((tenant, message_id(id).await));
    }
    for (tenant, id) in &ids {
        let state = match *tenant {
            "ok" | "flaky" => DeliveryState::Delivered,
            _ => DeliveryState::Failed,
        };
        wait_state(&d, id, state).await;
    }
    assert_eq!(ok.count(), 1);
    assert_eq!(flaky.count(), 2);
    assert_eq!(broken.count(), 3, "three attempts, then exhausted");
    assert_eq!(gone.count(), 1, "410 is not retried");
    let (_, gone_id) = endpoints.iter().find(|(t, _)| *t == "gone").unwrap();
    let info = d.get_endpoint(gone_id).await.unwrap().unwrap();
    assert!(
        matches!(info.endpoint.status, EndpointStatus::Disabled { .. }),
        "410 did not disable: {:?}",
        info.endpoint.status
    );

    // Counters are bumped right after the store records the result, and the disable counter
    // after the health write that follows: wait for them rather than racing the worker.
    let delta = |r: &Recorded, name: &str| r.counter(name) - before.counter(name);
    let expected = [
        // ok + flaky's second attempt.
        (m::DELIVERED, 2),
        // flaky once, broken twice (attempts 1 and 2 of 3).
        (m::RETRIED, 3),
        // broken exhausted + gone given up; no other pending delivery failed by the disable.
        (m::FAILED, 2),
        // gone, by 410.
        (m::DISABLED, 1),
        // 1 + 2 + 3 + 1.
        (m::ATTEMPTS, 7),
    ];
    wait_metrics(&shared, "the counters", |r| {
        expected.iter().all(|(name, n)| delta(r, name) >= *n)
    })
    .await;
    // And the gauge: set while work was in flight, then back to 0 once all of it finished.
    wait_metrics(&shared, "the queue-depth gauge back at 0", |r| {
        let g = r.gauge(m::QUEUE_DEPTH);
        g.len() > before.gauge(m::QUEUE_DEPTH).len() && g.last() == Some(&0.0)
    })
    .await;
    // Let any stray increment land, then check exact amounts.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = snapshot(&shared);
    for (name, n) in expected {
        assert_eq!(delta(&after, name), n, "{name}: {after:?}");
    }
    assert_eq!(delta(&after, m::LEASE_LOST), 0, "no lease was lost");

    // Labels: the family on every delivery and attempt series (bounded), the outcome on
    // attempts; no endpoint id unless asked for; the queue gauge bare.
    let family = ("family".to_owned(), "zerotier".to_owned());
    for name in [
        m::DELIVERED,
        m::RETRIED,
        m::FAILED,
        m::DISABLED,
        m::ATTEMPT_SECONDS,
        m::DELIVERY_LATENCY_SECONDS,
    ] {
        let labels = after.labels(name);
        assert!(!labels.is_empty(), "{name} never recorded");
        assert!(
            labels.iter().all(|l| l == std::slice::from_ref(&family)),
            "{name}: {labels:?}"
        );
    }
    let outcome = |o: &str| {
        let mut l = vec![family.clone(), ("outcome".to_owned(), o.to_owned())];
        l.sort();
        l
    };
    let attempts_by = |o: &str| {
        after
            .counters
            .get(&(m::ATTEMPTS.to_owned(), outcome(o)))
            .copied()
            .unwrap_or(0)
            - before
                .counters
                .get(&(m::ATTEMPTS.to_owned(), outcome(o)))
                .copied()
                .unwrap_or(0)
    };
    // ok and flaky's second: success; flaky's first and broken's three: 5xx; gone: 4xx.
    assert_eq!(attempts_by("success"), 2);
    assert_eq!(attempts_by("server_error"), 4);
    assert_eq!(attempts_by("client_error"), 1);
    for labels in after.labels(m::ATTEMPTS) {
        let o = labels.iter().find(|(k, _)| k == "outcome").unwrap();
        assert!(m::OUTCOMES.contains(&o.1.as_str()), "{labels:?}");
    }
    assert!(after.labels(m::QUEUE_DEPTH).iter().all(Vec::is_empty));

    // Histograms: one attempt-duration sample per attempt, one latency sample per delivery.
    let new = |now: Vec<f64>, was: Vec<f64>| now[was.len()..].to_vec();
    let attempt_secs = new(
        after.histogram(m::ATTEMPT_SECONDS),
        before.histogram(m::ATTEMPT_SECONDS),
    );
    assert_eq!(attempt_secs.len(), 7, "{attempt_secs:?}");
    assert!(attempt_secs.iter().all(|s| s.is_finite() && *s >= 0.0));
    assert!(
        attempt_secs.iter().any(|s| *s >= 0.35),
        "the 400 ms answer is not among the attempt durations: {attempt_secs:?}"
    );
    let latency = new(
        after.histogram(m::DELIVERY_LATENCY_SECONDS),
        before.histogram(m::DELIVERY_LATENCY_SECONDS),
    );
    assert_eq!(latency.len(), 2, "{latency:?}");
    assert!(latency.iter().all(|s| s.is_finite() && *s >= 0.0));
    // The slow one waited 400 ms for its answer; the flaky one 50 ms for its retry.
    assert!(
        latency.iter().all(|s| *s >= 0.04) && latency.iter().any(|s| *s >= 0.35),
        "{latency:?}"
    );
    assert!(latency.iter().all(|s| *s < 10.0), "{latency:?}");

    // Gauge: set repeatedly; saw the in-flight work (the 400 ms delivery spans several
    // 100 ms ticks) and ended at 0.
    let depth = new(after.gauge(m::QUEUE_DEPTH), before.gauge(m::QUEUE_DEPTH));
    assert!(depth.len() >= 2, "{depth:?}");
    assert!(
        depth.iter().any(|v| *v >= 1.0),
        "never saw pending work: {depth:?}"
    );
    assert!(depth.iter().all(|v| *v >= 0.0 && *v <= 4.0), "{depth:?}");
    assert_eq!(depth.last(), Some(&0.0));

    // A manual redelivery, long after the send: its latency runs from the redelivery (the
    // new first due time), not from the send a second ago.
    let (_, flaky_msg) = ids.iter().find(|(t, _)| *t == "flaky").unwrap();
    let flaky_delivery = d
        .deliveries(&DeliveryFilter {
            message_id: Some(flaky_msg.clone()),
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let was = snapshot(&shared)
        .histogram(m::DELIVERY_LATENCY_SECONDS)
        .len();
    let asked = Instant::now();
    d.redeliver(&flaky_delivery.id).await.unwrap();
    wait_metrics(&shared, "the redelivery's latency", |r| {
        r.histogram(m::DELIVERY_LATENCY_SECONDS).len() > was
    })
    .await;
    let window = asked.elapsed().as_secs_f64();
    let sample = snapshot(&shared).histogram(m::DELIVERY_LATENCY_SECONDS)[was];
    assert!(
        sample <= window + 0.002,
        "latency {sample} s, but the redelivery was asked for only {window} s ago"
    );
    assert!(sample >= 0.0);
    let redelivered = d.delivery(&flaky_delivery.id).await.unwrap().unwrap();
    assert!(redelivered.due_since > flaky_delivery.due_since + 900);

    d.shutdown(Duration::from_secs(1)).await;

    // With the endpoint label on, and the gauge at shutdown: two deliveries still in flight
    // when shutdown starts finish during the drain; the gauge must then read 0, not the 2 its
    // last periodic refresh saw.
    let slow = TestServer::start(|_, _| {
        Reply::Delay(Duration::from_millis(600), Box::new(Reply::Status(200)))
    })
    .await;
    let d = Dispatcher::builder(Arc::new(MemoryStore::new()))
        .allow_loopback_http()
        .metrics_endpoint_label(true)
        .poll_interval(Duration::from_millis(50))
        .health_flush_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let ep = d
        .create_endpoint(NewEndpoint::new("labelled", Family::Zta, slow.url("/")))
        .await
        .unwrap();
    let ep_id = ep.id().to_owned();
    d.start().unwrap();
    for _ in 0..2 {
        d.send("labelled", "pageview", b"{}".to_vec())
            .await
            .unwrap();
    }
    slow.wait_for(2, Duration::from_secs(10)).await;
    wait_metrics(&shared, "the gauge seeing the work in flight", |r| {
        r.gauge(m::QUEUE_DEPTH).last() == Some(&2.0)
    })
    .await;
    let report = d.shutdown(Duration::from_secs(5)).await;
    assert_eq!((report.finished, report.released), (2, 0));
    assert_eq!(d.queue_depth().await.unwrap(), 0);
    assert_eq!(snapshot(&shared).gauge(m::QUEUE_DEPTH).last(), Some(&0.0));
    let after = snapshot(&shared);
    let mut labelled = vec![
        ("endpoint".to_owned(), ep_id),
        ("family".to_owned(), "zta".to_owned()),
    ];
    labelled.sort();
    assert_eq!(
        after
            .counters
            .get(&(m::DELIVERED.to_owned(), labelled.clone())),
        Some(&2)
    );
    assert!(
        after
            .labels(m::DELIVERY_LATENCY_SECONDS)
            .contains(&labelled)
    );
}
