//! Secrets at rest: `create_endpoint` and the signer-cache miss path with encryption against
//! without, in the same run. The miss path is what a worker does when an endpoint is not in
//! its cache (first delivery, after a change): copy the stored record, decrypt it, build the
//! signer over its active secrets. A hit does neither, so delivery throughput does not move.
//!
//! `cargo bench -p hookwire-benches --bench at_rest`
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hookwire_dispatch::model::{Auth, Endpoint};
use hookwire_dispatch::store::{MemoryStore, SqliteStore, Store};
use hookwire_dispatch::{Dispatcher, EncryptionKey, Keyring, NewEndpoint};
use hookwire_events::Family;
use hookwire_signature::Signer;

fn key() -> EncryptionKey {
    EncryptionKey::from_bytes("bench", [7; 32]).unwrap()
}

/// An endpoint with a signing secret, a bearer token and a secret header (3 sealed values).
fn new_endpoint(tenant: String, family: Family) -> NewEndpoint {
    NewEndpoint::new(tenant, family, "https://hooks.example.com/bench")
        .auth(Auth::Bearer {
            token: "bench-bearer-token-0123456789".into(),
        })
        .secret_header("X-Bench", "bench-secret-header-value")
}

fn dispatcher(store: Arc<dyn Store>, encrypted: bool) -> Dispatcher {
    let b = Dispatcher::builder(store);
    let b = if encrypted {
        b.encryption_key(key())
    } else {
        b
    };
    b.build().unwrap()
}

fn bench_create(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("create_endpoint");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(4));
    let n = AtomicU64::new(0);
    for backend in ["memory", "sqlite"] {
        for encrypted in [false, true] {
            let store: Arc<dyn Store> = match backend {
                "memory" => Arc::new(MemoryStore::new()),
                _ => Arc::new(
                    SqliteStore::open(dir.path().join(format!("create-{encrypted}.db"))).unwrap(),
                ),
            };
            let d = dispatcher(store, encrypted);
            let label = if encrypted { "aes256gcm" } else { "plaintext" };
            g.bench_function(BenchmarkId::new(backend, label), |b| {
                b.iter(|| {
                    // A tenant per endpoint: the per-tenant limit never applies.
                    let t = format!("t{}", n.fetch_add(1, Ordering::Relaxed));
                    rt.block_on(d.create_endpoint(new_endpoint(t, Family::ZeroTier)))
                        .unwrap()
                });
            });
        }
    }
    g.finish();
}

/// The record as the store keeps it, with and without encryption.
fn stored(rt: &tokio::runtime::Runtime, family: Family, encrypted: bool) -> Endpoint {
    let d = dispatcher(Arc::new(MemoryStore::new()), encrypted);
    rt.block_on(async {
        let id = d
            .create_endpoint(new_endpoint("t".to_owned(), family))
            .await
            .unwrap()
            .id()
            .to_owned();
        d.store().get_endpoint(&id).await.unwrap().unwrap()
    })
}

fn bench_signer_miss(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let keyring = Keyring::new(vec![key()]).unwrap();
    let mut g = c.benchmark_group("signer_cache_miss");
    g.throughput(Throughput::Elements(1));
    g.sample_size(30);
    g.measurement_time(Duration::from_secs(3));
    for (name, family) in [
        ("zerotier_hmac", Family::ZeroTier),
        ("zentitle_rsa", Family::Zentitle),
    ] {
        for encrypted in [false, true] {
            let record = stored(&rt, family, encrypted);
            assert_eq!(record.sealed, encrypted);
            let scheme = record.scheme.clone().unwrap();
            let now = i64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis(),
            )
            .unwrap();
            let label = if encrypted { "aes256gcm" } else { "plaintext" };
            g.bench_function(BenchmarkId::new(name, label), |b| {
                b.iter(|| {
                    let mut ep = record.clone();
                    keyring.open(&mut ep).unwrap();
                    Signer::new(&scheme, &ep.active_secrets(now)).unwrap()
                });
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_create, bench_signer_miss);
criterion_main!(benches);
