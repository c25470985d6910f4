//! Verify throughput next to a bare `Hmac<Sha256>` and the `standardwebhooks` crate, in the
//! same run; RSA-2048 (Zentitle) verify and sign on ring, next to the `rsa` crate and to
//! OpenSSL (`openssl speed -elapsed -seconds 3 rsa2048`, run by this bench, printed to stderr).
//!
//! `cargo bench -p hookwire-benches --bench verify -- --measurement-time 2 --warm-up-time 1`
//!
//! In each `verify/<bytes>` group, `baseline_bare_hmac` is the denominator of the target
//! (hookwire ZeroTier verify at >= 0.9x its rate, i.e. ratio = baseline time / hookwire time):
//! a receiver that knows its key and the timestamp computes `Hmac<Sha256>` over the same
//! `"{t}," + body` (keying, update, finalize) and compares with `verify_slice`.
//! `baseline_prekeyed_hmac` is the floor: the same MAC from a pre-keyed state, no header work.
#![allow(clippy::unwrap_used, missing_docs)] // bench setup; a failure aborts the bench

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use hookwire_signature::{Scheme, Secret, Signer, Verifier};
use http::HeaderMap;
use sha2::Sha256;

const ZT_KEYS: [&str; 3] = [
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
    "778c6dab5feca625c7831644d18c4d0e4b3a337bff8a1e1c8f938f9cc20e6536",
];
const SW_KEYS: [&str; 3] = [
    "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
    "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
];

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn header_map(headers: Vec<(http::HeaderName, http::HeaderValue)>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(k, v);
    }
    map
}

fn verify(c: &mut Criterion) {
    let t = now();
    for size in [256usize, 1024, 64 * 1024, 1024 * 1024] {
        // ASCII: the standardwebhooks crate refuses non-UTF-8 payloads (hookwire does not).
        let body: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
        let mut group = c.benchmark_group(format!("verify/{size}"));
        group.throughput(Throughput::Bytes(size as u64));

        // Baseline (the target's denominator): bare HMAC-SHA256 over the same signed bytes as
        // ZeroTier ("{t}," + body), keyed per call, compared with `verify_slice`.
        let key = hex::decode(ZT_KEYS[2]).unwrap();
        let ts = t.to_string();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(ts.as_bytes());
        mac.update(b",");
        mac.update(&body);
        let tag = mac.finalize().into_bytes();
        group.bench_function("baseline_bare_hmac", |b| {
            b.iter(|| {
                let mut mac = Hmac::<Sha256>::new_from_slice(black_box(&key)).unwrap();
                mac.update(ts.as_bytes());
                mac.update(b",");
                mac.update(black_box(&body));
                mac.verify_slice(&tag).is_ok()
            })
        });

        // Floor: a pre-keyed HMAC state cloned per call (what hookwire does inside), with none
        // of the header lookup, parsing, hex decoding or time check.
        let prekeyed = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        group.bench_function("baseline_prekeyed_hmac", |b| {
            b.iter(|| {
                let mut mac = black_box(&prekeyed).clone();
                mac.update(ts.as_bytes());
                mac.update(b",");
                mac.update(black_box(&body));
                mac.verify_slice(&tag).is_ok()
            })
        });

        // hookwire ZeroTier, one and three secrets (the matching secret last).
        let zt_secret = [Secret::new(ZT_KEYS[2])];
        let zt_headers = header_map(
            Signer::new(&Scheme::ZeroTier, &zt_secret)
                .unwrap()
                .sign("", t, &body)
                .unwrap(),
        );
        for n in [1usize, 3] {
            let secrets: Vec<Secret> = ZT_KEYS[3 - n..].iter().map(|s| Secret::new(*s)).collect();
            let v = Verifier::new(&Scheme::ZeroTier, &secrets).unwrap();
            assert!(v.verify_at(&body, &zt_headers, t).is_ok());
            group.bench_function(
                BenchmarkId::new("hookwire_zerotier", format!("{n}_secrets")),
                |b| b.iter(|| v.verify_at(black_box(&body), &zt_headers, t).is_ok()),
            );
        }

        // hookwire Standard Webhooks vs the standardwebhooks crate, same message.
        let scheme = Scheme::from_name("standard").unwrap();
        let sw_headers = header_map(
            Signer::new(&scheme, &[Secret::new(SW_KEYS[2])])
                .unwrap()
                .sign("msg_p5jXN8AQM9LWM0D4loKWxJek", t, &body)
                .unwrap(),
        );
        for n in [1usize, 3] {
            let secrets: Vec<Secret> = SW_KEYS[3 - n..].iter().map(|s| Secret::new(*s)).collect();
            let v = Verifier::new(&scheme, &secrets).unwrap();
            assert!(v.verify(&body, &sw_headers).is_ok());
            group.bench_function(
                BenchmarkId::new("hookwire_standard", format!("{n}_secrets")),
                |b| b.iter(|| v.verify(black_box(&body), &sw_headers).is_ok()),
            );
        }
        let theirs = standardwebhooks::Webhook::new(SW_KEYS[2]).unwrap();
        assert!(theirs.verify(&body, &sw_headers).is_ok());
        group.bench_function("standardwebhooks_crate", |b| {
            b.iter(|| theirs.verify(black_box(&body), &sw_headers).is_ok())
        });
        group.finish();
    }
}

/// OpenSSL's RSA-2048 rates on this machine, measured now (`openssl speed -elapsed -seconds 3
/// rsa2048`, one process): `(sign/s, verify/s)`, or `None` without an `openssl` binary.
/// `-elapsed` makes OpenSSL count wall-clock time, as criterion does; without it OpenSSL
/// counts its own CPU time, which on a loaded machine flatters it several times over.
fn openssl_speed_rsa2048() -> Option<(f64, f64)> {
    let out = std::process::Command::new("openssl")
        .args(["speed", "-elapsed", "-seconds", "3", "rsa2048"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    // The result line: `rsa 2048 bits 0.000915s 0.000027s   1092.5  37037.0`.
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("rsa") && l.contains("2048 bits"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let verify = fields.last()?.parse().ok()?;
    let sign = fields.get(fields.len().checked_sub(2)?)?.parse().ok()?;
    Some((sign, verify))
}

/// RSA-2048 (Zentitle) on ring through hookwire, next to the `rsa` crate (the path hookwire
/// used before issue 20) and OpenSSL's own rates measured in the same run by `openssl speed`
/// (printed; ratio = hookwire rate / OpenSSL rate = OpenSSL time / hookwire time).
fn rsa(c: &mut Criterion) {
    use rsa::pkcs8::DecodePrivateKey as _;
    use rsa::signature::{RandomizedSigner as _, Verifier as _};

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/specs/vectors/");
    let pem = std::fs::read_to_string(format!("{dir}zentitle_test_private_key.pem")).unwrap();
    let private = Secret::new(pem.as_str());
    let public = Scheme::Zentitle.verification_secret(&private).unwrap();
    let body = vec![b'x'; 1024];
    let signer = Signer::new(&Scheme::Zentitle, &[private]).unwrap();
    let headers = header_map(signer.sign("", 0, &body).unwrap());
    let verifier = Verifier::new(&Scheme::Zentitle, &[public]).unwrap();

    let old_key = rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap();
    let old_signer = rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(old_key.clone());
    let old_verifier =
        rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(old_key.to_public_key());
    let old_sig = old_signer.sign_with_rng(&mut rsa::rand_core::OsRng, &body);
    assert!(old_verifier.verify(&body, &old_sig).is_ok());

    match openssl_speed_rsa2048() {
        Some((sign, verify)) => eprintln!(
            "openssl speed rsa2048 (same run): sign {sign:.1}/s ({:.1} us), verify {verify:.1}/s ({:.2} us)",
            1e6 / sign,
            1e6 / verify
        ),
        None => eprintln!("openssl speed rsa2048: no openssl binary, no OpenSSL baseline"),
    }

    let mut group = c.benchmark_group("rsa2048_zentitle_1k");
    group.bench_function("verify_ring", |b| {
        b.iter(|| {
            verifier
                .verify_ignoring_time(black_box(&body), &headers)
                .is_ok()
        })
    });
    group.bench_function("sign_ring", |b| {
        b.iter(|| signer.sign("", 0, black_box(&body)).unwrap())
    });
    group.bench_function("verify_rsa_crate_old_path", |b| {
        b.iter(|| old_verifier.verify(black_box(&body), &old_sig).is_ok())
    });
    group.bench_function("sign_rsa_crate_old_path_blinded", |b| {
        b.iter(|| old_signer.sign_with_rng(&mut rsa::rand_core::OsRng, black_box(&body)))
    });
    group.finish();
}

criterion_group!(benches, verify, rsa);
criterion_main!(benches);
