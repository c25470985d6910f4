//! Typed parse vs `serde_json::Value` parse of the same bytes (the baseline, same run): a
//! ~1 KiB ZeroTier hook, a ~4 KiB Z-API callback, the cost of each parsing rule (a repeated
//! key in a content object, one deeper that sends the input to the reference path, a
//! float-heavy payload), and the whole corpus with mutated copies.
//!
//! `cargo bench -p hookwire-benches --bench parse -- --warm-up-time 1 --measurement-time 3`
//!
//! `typed_via_value` is the reference path alone (bytes -> `Value` -> types), which is what
//! `parse` did before issue 20. serde_json's `float_roundtrip` is a build-time feature: its
//! cost is measured by running `standard_floats_6k/serde_json_value` with and without it.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

#[path = "support/bodies.rs"]
mod bodies;
use bodies::{zapi_body, zerotier_body};

/// A 4 KiB Z-API image callback whose content object repeats `thumbnailUrl` (as the vendor's
/// own examples do): the direct path reads that object a second time, as a raw object.
fn zapi_nested_repeat_body() -> Vec<u8> {
    let body = String::from_utf8(zapi_body()).expect("ASCII");
    body.replacen(
        r#""caption""#,
        r#""thumbnailUrl":"https://example.com/t2.jpg","caption""#,
        1,
    )
    .into_bytes()
}

/// The same, with the repeat one level deeper, inside a typed struct of the DEFAULT format:
/// the direct path stands aside and the reference path (through a `Value`) runs.
fn hub_default_deep_repeat_body() -> Vec<u8> {
    let text = "Lorem ipsum dolor sit amet. ".repeat(100);
    format!(
        r#"{{"message":{{"_id":"019E6F1A93FE78DCB54332F9FF0CCAE7","tenant":"t","channel_id":"c","created":1779980473342,"sender":{{"identifier":"a","name":"n","identifier":"b"}},"contents":[{{"@class":".TextContent","text":"{text}"}}]}},"messageEventType":"NEW_MESSAGE"}}"#
    )
    .into_bytes()
}

/// 256 coordinates of 15-17 significant digits in a free-form object.
fn floats_body() -> Vec<u8> {
    let mut items = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..256 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let lon = (x % 360_000_000_000_000_000) as f64 / 1e15 - 180.0;
        let digits = 15 + i % 3;
        items.push(format!("{lon:.prec$e}", prec = digits - 1));
    }
    format!(
        r#"{{"type":"whatever.coordinates","timestamp":"2026-12-02T15:00:00Z","data":{{"points":[{}]}}}}"#,
        items.join(",")
    )
    .into_bytes()
}

/// Every published corpus file of every family, plus mutated copies of each (a repeated
/// top-level key, an unknown field, numbers rewritten with 17 digits).
fn corpus() -> Vec<(hookwire_events::Family, Vec<u8>)> {
    use hookwire_events::Family;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/corpus");
    let mut files = Vec::new();
    for (dir, family) in [
        ("hubmessage", Family::HubMessage),
        ("zapi", Family::HubMessage),
        ("zentitle", Family::Zentitle),
        ("zerotier", Family::ZeroTier),
        ("zitadel", Family::Zitadel),
        ("zta", Family::Zta),
    ] {
        let mut names: Vec<_> = std::fs::read_dir(format!("{root}/{dir}"))
            .expect("corpus directory")
            .map(|e| e.expect("corpus entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        for path in names {
            let bytes = std::fs::read(&path).expect("corpus file");
            if hookwire_events::parse(family, &bytes).is_err() {
                continue; // the corpus keeps a few invalid files on purpose
            }
            let end = bytes.iter().rposition(|&b| b == b'}').expect("an object");
            let mut repeated = bytes.clone();
            repeated.splice(end..end, br#","zz":1,"zz":2"#.iter().copied());
            let mut unknown = bytes.clone();
            unknown.splice(
                end..end,
                br#","zzUnknown":{"a":[1,2.5,null,"x"]}"#.iter().copied(),
            );
            let digits = String::from_utf8_lossy(&bytes).replace(".0,", ".000000000000001,");
            files.push((family, bytes));
            files.push((family, repeated));
            files.push((family, unknown));
            files.push((family, digits.into_bytes()));
        }
    }
    files
}

fn bench(c: &mut Criterion) {
    use hookwire_events::{Family, from_value, parse};
    for (name, family, body) in [
        ("zerotier_1k", Family::ZeroTier, zerotier_body()),
        ("zapi_4k", Family::HubMessage, zapi_body()),
        (
            "zapi_4k_nested_repeat",
            Family::HubMessage,
            zapi_nested_repeat_body(),
        ),
        (
            "hub_default_3k_deep_repeat",
            Family::HubMessage,
            hub_default_deep_repeat_body(),
        ),
        (
            "standard_floats_6k",
            Family::StandardWebhooks,
            floats_body(),
        ),
    ] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function("typed", |b| {
            b.iter(|| parse(family, black_box(&body)).expect("valid body"))
        });
        // The reference path alone: bytes -> Value -> typed (what `parse` did before).
        g.bench_function("typed_via_value", |b| {
            b.iter(|| {
                let v = serde_json::from_slice(black_box(&body)).expect("valid JSON");
                from_value(family, v).expect("valid body")
            })
        });
        g.bench_function("serde_json_value", |b| {
            b.iter(|| {
                serde_json::from_slice::<serde_json::Value>(black_box(&body)).expect("valid JSON")
            })
        });
        g.finish();
    }

    let files = corpus();
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    let mut g = c.benchmark_group("corpus_and_mutations");
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("typed", |b| {
        b.iter(|| {
            for (family, bytes) in &files {
                black_box(parse(*family, black_box(bytes)).expect("valid body"));
            }
        })
    });
    g.bench_function("serde_json_value", |b| {
        b.iter(|| {
            for (_, bytes) in &files {
                black_box(
                    serde_json::from_slice::<serde_json::Value>(black_box(bytes))
                        .expect("valid JSON"),
                );
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
