//! Secrets at rest on SQLite: the raw file (and its WAL) holds no secret, records decrypt only
//! with a configured key, a moved ciphertext fails, keys rotate, `reencrypt` survives SIGKILL,
//! and a plaintext store written by the release before encryption migrates.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::panic)]

mod at_rest_support;
mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use at_rest_support::{create_every_kind, found_in, key};
use common::TestServer;
use hookwire_dispatch::model::Auth;
use hookwire_dispatch::store::{SqliteStore, Store};
use hookwire_dispatch::{AtRestError, DispatchError, Dispatcher, EncryptionKey, NewEndpoint};
use hookwire_events::Family;

fn open(path: &Path, keys: Vec<EncryptionKey>) -> Dispatcher {
    Dispatcher::builder(Arc::new(SqliteStore::open(path).unwrap()))
        .encryption_keys(keys)
        .allow_loopback_http()
        .poll_interval(Duration::from_millis(20))
        .build()
        .unwrap()
}

/// The file and its `-wal` / `-shm` companions, concatenated.
fn raw_bytes(path: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        if let Ok(b) = std::fs::read(PathBuf::from(p)) {
            all.extend(b);
        }
    }
    all
}

/// `(id, body)` of every endpoint row, read with plain SQL.
fn raw_rows(path: &Path) -> Vec<(String, String)> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut s = c
        .prepare("SELECT id, body FROM endpoints ORDER BY id")
        .unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn set_raw_body(path: &Path, id: &str, body: &serde_json::Value) {
    let c = rusqlite::Connection::open(path).unwrap();
    let n = c
        .execute(
            "UPDATE endpoints SET body = ?2 WHERE id = ?1",
            rusqlite::params![id, body.to_string()],
        )
        .unwrap();
    assert_eq!(n, 1);
}

fn body_of(path: &Path, id: &str) -> serde_json::Value {
    let (_, body) = raw_rows(path).into_iter().find(|(i, _)| i == id).unwrap();
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_and_wal_hold_no_secret_and_deliveries_use_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hooks.db");
    let server = TestServer::status(200).await;
    let d = open(&db, vec![key("k1", 1)]);
    let mut secrets = create_every_kind(&d, "t1", &server.url(""), "a").await;
    // A rotation and an update write secrets too.
    let zt = d.list_endpoints("t1").await.unwrap()[0].endpoint.id.clone();
    let rotated = d.rotate_secret(&zt).await.unwrap();
    secrets.push(rotated.secret.signing.expose_secret().to_owned());
    let update = hookwire_dispatch::EndpointUpdate {
        auth: Some(Auth::Bearer {
            token: "bearer-updated-a-1d2e".into(),
        }),
        ..Default::default()
    };
    d.update_endpoint(&zt, update).await.unwrap();
    secrets.push("bearer-updated-a-1d2e".to_owned());

    // Deliveries carry the decrypted credentials.
    d.start().unwrap();
    d.send("t1", "hookwire.test", b"{}".to_vec()).await.unwrap();
    let got = server.wait_for(4, Duration::from_secs(20)).await;
    let to_zt = got.iter().find(|r| r.path == "/zt").unwrap();
    assert_eq!(
        to_zt.headers["authorization"],
        "Bearer bearer-updated-a-1d2e"
    );
    assert_eq!(to_zt.headers["x-secret-one"], "secret-header-one-a-0b1c");
    assert_eq!(to_zt.headers["x-plain"], "not-secret");
    let to_zen = got.iter().find(|r| r.path == "/zitadel").unwrap();
    assert_eq!(to_zen.headers["x-shared"], "custom-auth-a-3c2b");

    // The registry hands out plaintext; the file, the WAL and the rows hold none of it.
    let info = d.get_endpoint(&zt).await.unwrap().unwrap();
    assert!(!info.endpoint.sealed);
    assert_eq!(
        info.endpoint.secret_headers[1].value.expose_secret(),
        "secret-header-two-a-9e8d"
    );
    assert!(secrets.len() >= 12, "{}", secrets.len());
    let leaked = found_in(&raw_bytes(&db), &secrets);
    assert!(
        leaked.is_empty(),
        "{} secrets in the raw file",
        leaked.len()
    );
    for (id, body) in raw_rows(&db) {
        assert!(found_in(body.as_bytes(), &secrets).is_empty(), "{id}");
        assert!(body.contains("\"sealed\":true"), "{id}");
        assert!(body.contains("v1.k1."), "{id}");
    }
    d.shutdown(Duration::from_secs(2)).await;
    drop(d);
    let leaked = found_in(&raw_bytes(&db), &secrets);
    assert!(
        leaked.is_empty(),
        "{} secrets in the raw file after close",
        leaked.len()
    );
    // Debug never shows a key or a value.
    let shown = format!("{:?} {info:?}", key("k1", 1));
    assert!(found_in(shown.as_bytes(), &secrets).is_empty());
    assert!(!shown.contains(&format!("{:?}", [1u8; 32])));
}

fn is_at_rest(e: &DispatchError) -> Option<&AtRestError> {
    e.at_rest_error()
}

#[tokio::test]
async fn decrypts_only_with_a_configured_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hooks.db");
    let d = open(&db, vec![key("k1", 1)]);
    create_every_kind(&d, "t1", "https://hooks.example.com", "b").await;
    let id = d.list_endpoints("t1").await.unwrap()[0].endpoint.id.clone();
    drop(d);

    // No key: refused, saying why, on every path (and `open` fails at build).
    let none = open(&db, vec![]);
    let err = none.ready().await.unwrap_err();
    assert!(
        matches!(is_at_rest(&err), Some(AtRestError::NoKey { .. })),
        "{err}"
    );
    assert!(
        err.to_string().contains("no encryption key is configured"),
        "{err}"
    );
    assert!(none.get_endpoint(&id).await.is_err());
    assert!(
        none.send("t1", "hookwire.test", b"{}".to_vec())
            .await
            .is_err()
    );
    let created = none
        .create_endpoint(NewEndpoint::new(
            "t2",
            Family::ZeroTier,
            "https://x.example.com",
        ))
        .await;
    assert!(created.is_err());
    let built = Dispatcher::builder(Arc::new(SqliteStore::open(&db).unwrap()))
        .open()
        .await;
    assert!(built.is_err());

    // Another key id only: refused, naming the missing key.
    let other = open(&db, vec![key("k9", 9)]);
    let err = other.ready().await.unwrap_err();
    assert!(
        matches!(is_at_rest(&err), Some(AtRestError::UnknownKey { key_id, .. }) if key_id == "k1"),
        "{err}"
    );
    // The right id with other bytes: the records do not decrypt.
    let wrong = open(&db, vec![key("k1", 7)]);
    let err = wrong.get_endpoint(&id).await.unwrap_err();
    assert!(
        matches!(is_at_rest(&err), Some(AtRestError::Decrypt { .. })),
        "{err}"
    );
    // No error message carries a key.
    assert!(!err.to_string().contains("AQEB"));

    let right = open(&db, vec![key("k1", 1)]);
    let ep = right.get_endpoint(&id).await.unwrap().unwrap();
    assert!(
        matches!(&ep.endpoint.auth, Auth::Bearer { token } if token.expose_secret() == "bearer-token-b-7f3a9c")
    );
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_endpoint_or_field_fails() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hooks.db");
    let d = open(&db, vec![key("k1", 1)]);
    create_every_kind(&d, "t1", "https://hooks.example.com", "c").await;
    create_every_kind(&d, "t2", "https://hooks.example.com", "d").await;
    let a = d.list_endpoints("t1").await.unwrap()[0].endpoint.id.clone();
    let b = d.list_endpoints("t2").await.unwrap()[0].endpoint.id.clone();
    let c = d.list_endpoints("t2").await.unwrap()[1].endpoint.id.clone();
    drop(d);

    // A's bearer token into B's record, same field: B no longer decrypts.
    let a_body = body_of(&db, &a);
    let mut b_body = body_of(&db, &b);
    b_body["auth"]["token"] = a_body["auth"]["token"].clone();
    set_raw_body(&db, &b, &b_body);
    // A's first secret header into A's second: A no longer decrypts (the field is bound too).
    let mut a_moved = a_body.clone();
    a_moved["secret_headers"][1]["value"] = a_body["secret_headers"][0]["value"].clone();
    set_raw_body(&db, &a, &a_moved);
    // A's signing secret into C's (another endpoint) signing-secret slot.
    let mut c_body = body_of(&db, &c);
    c_body["secrets"][0]["secret"] = a_body["secrets"][0]["secret"].clone();
    c_body["secrets"][0]["created_at"] = a_body["secrets"][0]["created_at"].clone();
    set_raw_body(&db, &c, &c_body);

    let d = open(&db, vec![key("k1", 1)]);
    for (id, field) in [
        (&b, "auth/bearer"),
        (&a, "header/x-secret-two"),
        (&c, "secret/"),
    ] {
        let err = d.get_endpoint(id).await.unwrap_err();
        assert!(
            matches!(is_at_rest(&err), Some(AtRestError::Decrypt { endpoint, field: f, .. })
                if endpoint == id && f.starts_with(field)),
            "{id}: {err}"
        );
    }
    // The untouched ones still read.
    let untouched = &d.store().list_endpoints("t2").await.unwrap()[2].id;
    assert!(d.get_endpoint(untouched).await.unwrap().is_some());
}

/// The key ids the raw rows name.
fn raw_key_ids(db: &Path) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for (_, body) in raw_rows(db) {
        for part in body.split("\"v1.").skip(1) {
            let id = part.split('.').next().unwrap().to_owned();
            *ids.entry(id).or_default() += 1;
        }
    }
    ids
}

#[tokio::test]
async fn rotation_new_writes_use_the_newest_key_and_reencrypt_moves_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hooks.db");
    let d = open(&db, vec![key("k1", 1)]);
    let mut secrets = create_every_kind(&d, "t1", "https://hooks.example.com", "e").await;
    drop(d);
    assert_eq!(raw_key_ids(&db).keys().collect::<Vec<_>>(), ["k1"]);

    let d = open(&db, vec![key("k1", 1), key("k2", 2)]);
    secrets.extend(create_every_kind(&d, "t2", "https://hooks.example.com", "f").await);
    let ids = raw_key_ids(&db);
    assert!(ids["k1"] > 0 && ids["k2"] > 0, "{ids:?}");
    // Both generations read.
    assert_eq!(d.list_endpoints("t1").await.unwrap().len(), 4);
    assert_eq!(d.list_endpoints("t2").await.unwrap().len(), 4);
    let report = d.reencrypt(3).await.unwrap();
    assert_eq!(report.examined, 8);
    assert_eq!(report.rewritten, 4);
    assert_eq!(report.migrated, 0);
    assert_eq!(report.batches, 3);
    assert_eq!(raw_key_ids(&db).keys().collect::<Vec<_>>(), ["k2"]);
    // Again: nothing to do.
    assert_eq!(d.reencrypt(3).await.unwrap().rewritten, 0);
    drop(d);

    // The old key can go now.
    let d = open(&db, vec![key("k2", 2)]);
    let mut read = Vec::new();
    for t in ["t1", "t2"] {
        for info in d.list_endpoints(t).await.unwrap() {
            if let Auth::Bearer { token } = &info.endpoint.auth {
                read.push(token.expose_secret().to_owned());
            }
        }
    }
    assert_eq!(read, ["bearer-token-e-7f3a9c", "bearer-token-f-7f3a9c"]);
    assert!(found_in(&raw_bytes(&db), &secrets).is_empty());
    // Without a key, reencrypt says so.
    let none = open(&db, vec![]);
    assert!(matches!(
        is_at_rest(&none.reencrypt(10).await.unwrap_err()),
        Some(AtRestError::NotConfigured)
    ));
}

#[tokio::test]
async fn a_fresh_store_without_key_stays_usable_in_the_clear_and_migrates_later() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hooks.db");
    let d = open(&db, vec![]);
    let secrets = create_every_kind(&d, "t1", "https://hooks.example.com", "g").await;
    assert!(
        !found_in(&raw_bytes(&db), &secrets).is_empty(),
        "stored in the clear"
    );
    drop(d);
    let d = open(&db, vec![key("k1", 1)]);
    d.ready().await.unwrap();
    for (id, body) in raw_rows(&db) {
        assert!(found_in(body.as_bytes(), &secrets).is_empty(), "{id}");
    }
    assert_eq!(d.list_endpoints("t1").await.unwrap().len(), 4);
}

// ---- migration of a store written by the release before encryption ------------------------

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/plaintext-v0.1.0.db"
);
const FIXTURE_EXPECTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/plaintext-v0.1.0.expected.json"
);

/// Every secret the fixture holds: signing secrets from its sidecar, auth values as its
/// generator (`make_plaintext_fixture.rs.txt`) set them.
fn fixture_secrets() -> (serde_json::Value, Vec<String>) {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE_EXPECTED).unwrap()).unwrap();
    let mut all: Vec<String> = [
        "fixture-bearer-token-0001",
        "fixture-basic-password-0002",
        "fixture-api-key-0003",
        "fixture-custom-value-0004",
    ]
    .map(str::to_owned)
    .to_vec();
    for ep in expected.as_object().unwrap().values() {
        for s in ep["secrets"].as_array().unwrap() {
            all.push(s.as_str().unwrap().to_owned());
        }
    }
    (expected, all)
}

#[tokio::test]
async fn plaintext_store_of_the_previous_release_is_migrated_at_first_open_with_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    std::fs::copy(FIXTURE, &db).unwrap();
    let (expected, secrets) = fixture_secrets();
    assert_eq!(
        found_in(&raw_bytes(&db), &secrets).len(),
        secrets.len(),
        "the fixture is plaintext"
    );

    let d = Dispatcher::builder(Arc::new(SqliteStore::open(&db).unwrap()))
        .encryption_key(key("k1", 1))
        .open()
        .await
        .unwrap();
    for (id, body) in raw_rows(&db) {
        assert!(found_in(body.as_bytes(), &secrets).is_empty(), "{id}");
        assert!(body.contains("\"sealed\":true"), "{id}");
    }
    // Every secret decrypts to what the old release stored; nothing else changed.
    let list = d.list_endpoints("fixture").await.unwrap();
    assert_eq!(list.len(), 5);
    for (name, ep) in expected.as_object().unwrap() {
        let id = ep["id"].as_str().unwrap();
        let info = list.iter().find(|i| i.endpoint.id == id).unwrap();
        assert_eq!(
            info.secrets.len(),
            ep["secrets"].as_array().unwrap().len(),
            "{name}"
        );
        let auth = match &info.endpoint.auth {
            Auth::Bearer { token } => token.expose_secret().to_owned(),
            Auth::Basic { password, .. } => password.expose_secret().to_owned(),
            Auth::ApiKey { key, .. } => key.expose_secret().to_owned(),
            Auth::CustomHeader { value, .. } => value.expose_secret().to_owned(),
            _ => String::new(),
        };
        let want = match name.as_str() {
            "bearer" => "fixture-bearer-token-0001",
            "basic" => "fixture-basic-password-0002",
            "api_key" => "fixture-api-key-0003",
            "custom_header" => "fixture-custom-value-0004",
            _ => "",
        };
        assert_eq!(auth, want, "{name}");
    }
    let bearer = list
        .iter()
        .find(|i| i.endpoint.id == expected["bearer"]["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        bearer.endpoint.headers,
        [("X-Team".to_owned(), "blue".to_owned())]
    );
    // The signing secrets sign as before: the store's record holds them.
    let raw = d
        .store()
        .get_endpoint(expected["bearer"]["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut opened = raw.clone();
    hookwire_dispatch::Keyring::new(vec![key("k1", 1)])
        .unwrap()
        .open(&mut opened)
        .unwrap();
    let got: Vec<&str> = opened
        .secrets
        .iter()
        .map(|s| s.secret.expose_secret())
        .collect();
    let want: Vec<&str> = expected["bearer"]["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(got, want);
    // The queued delivery survived.
    assert_eq!(d.queue_depth().await.unwrap(), 5);
    d.shutdown(Duration::from_secs(1)).await;
    drop(d);
    // Old plaintext may remain in free pages until VACUUM (see the README); after it, none.
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    drop(c);
    assert!(found_in(&raw_bytes(&db), &secrets).is_empty());
    // Reopening without the key is now refused.
    let err = open(&db, vec![]).ready().await.unwrap_err();
    assert!(
        matches!(is_at_rest(&err), Some(AtRestError::NoKey { .. })),
        "{err}"
    );
}

// ---- SIGKILL in the middle of the migration and of reencrypt --------------------------------

const CRASH_TENANTS: usize = 60;
const PER_TENANT: usize = 10;

/// The child: opens the store with keys k1 and k2 (migrating plaintext records to k2 at open)
/// and runs `reencrypt` in small batches until killed or done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of sigkill_during_migration_and_reencrypt_leaves_every_record_readable"]
async fn reencrypt_child() {
    let Ok(db) = std::env::var("HOOKWIRE_REENCRYPT_CHILD") else {
        panic!("reencrypt_child only runs as the child of the SIGKILL test");
    };
    let d = Dispatcher::builder(Arc::new(SqliteStore::open(&db).unwrap()))
        .encryption_key(key("k1", 1))
        .encryption_key(key("k2", 2))
        .build()
        .unwrap();
    d.ready().await.unwrap();
    d.reencrypt(4).await.unwrap();
    println!("HOOKWIRE-REENCRYPT-DONE");
}

/// Reads every record straight from the store (no dispatcher, so nothing is migrated here)
/// and checks each decrypts with k1 + k2 to what was created.
async fn check_all(db: &Path, want: &HashMap<String, String>) {
    let store = SqliteStore::open(db).unwrap();
    let keys = hookwire_dispatch::Keyring::new(vec![key("k1", 1), key("k2", 2)]).unwrap();
    let mut seen = 0;
    for t in 0..CRASH_TENANTS {
        for mut ep in store.list_endpoints(&format!("t{t}")).await.unwrap() {
            keys.open(&mut ep).unwrap();
            let Auth::Bearer { token } = &ep.auth else {
                panic!("auth lost");
            };
            assert_eq!(
                Some(token.expose_secret()),
                want.get(&ep.id).map(String::as_str)
            );
            seen += 1;
        }
    }
    assert_eq!(seen, want.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_migration_and_reencrypt_leaves_every_record_readable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hooks.db");
    let mut want = HashMap::new();
    // Half the records in the clear (no key), half under k1.
    for (half, keys) in [(0, vec![]), (1, vec![key("k1", 1)])] {
        let d = open(&db, keys);
        d.ready().await.unwrap();
        let mut tasks = Vec::new();
        for t in (half * CRASH_TENANTS / 2)..((half + 1) * CRASH_TENANTS / 2) {
            let d = d.clone();
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                for i in 0..PER_TENANT {
                    let token = format!("crash-token-{t}-{i}");
                    let new = NewEndpoint::new(
                        format!("t{t}"),
                        Family::ZeroTier,
                        "https://h.example.com",
                    )
                    .auth(Auth::Bearer {
                        token: token.clone().into(),
                    });
                    out.push((d.create_endpoint(new).await.unwrap().id().to_owned(), token));
                }
                out
            }));
        }
        for t in tasks {
            want.extend(t.await.unwrap());
        }
    }
    let exe = std::env::current_exe().unwrap();
    let mut kills = 0;
    let mut mid_pass = 0;
    let mut rng_state: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..40 {
        let mut child = Command::new(&exe)
            .args(["--ignored", "--exact", "reencrypt_child", "--nocapture"])
            .env("HOOKWIRE_REENCRYPT_CHILD", &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        // Early rounds die young; later ones get longer, so the pass always ends.
        let wait = Duration::from_millis(20 + rng_state % (60 + 40 * round));
        tokio::time::sleep(wait).await;
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        let out = child.wait_with_output().unwrap();
        check_all(&db, &want).await;
        let ids = raw_key_ids(&db);
        if !finished && ids.contains_key("k1") && ids.contains_key("k2") {
            mid_pass += 1;
        }
        if String::from_utf8_lossy(&out.stdout).contains("HOOKWIRE-REENCRYPT-DONE") {
            break;
        }
    }
    assert!(mid_pass >= 1, "no child was killed mid-way ({kills} kills)");
    eprintln!("{kills} kills, {mid_pass} in the middle of the pass");
    let ids = raw_key_ids(&db);
    assert_eq!(
        ids.keys().collect::<Vec<_>>(),
        ["k2"],
        "{ids:?} after {kills} kills"
    );
    // The old key can go: everything reads with k2 alone.
    let d = open(&db, vec![key("k2", 2)]);
    d.ready().await.unwrap();
    assert_eq!(d.list_endpoints("t0").await.unwrap().len(), PER_TENANT);
}
