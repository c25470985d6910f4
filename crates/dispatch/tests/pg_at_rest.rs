//! Secrets at rest on PostgreSQL: raw `SELECT`s of every column find no secret, records
//! decrypt only with a configured key, a moved ciphertext fails, plaintext records migrate,
//! keys rotate, and `reencrypt` survives SIGKILL. Needs a server: see `pg_support`.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::panic)]

mod at_rest_support;
mod pg_support;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use at_rest_support::{create_every_kind, found_in, key};
use hookwire_dispatch::model::Auth;
use hookwire_dispatch::store::{PostgresStore, Store};
use hookwire_dispatch::{
    AtRestError, DispatchError, Dispatcher, EncryptionKey, Keyring, NewEndpoint,
};
use hookwire_events::Family;

async fn open(schema: &str, keys: Vec<EncryptionKey>) -> Dispatcher {
    let store = PostgresStore::connect_schema(pg_support::url(), schema)
        .await
        .unwrap();
    Dispatcher::builder(Arc::new(store))
        .encryption_keys(keys)
        .build()
        .unwrap()
}

async fn sql() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(pg_support::url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

/// Every row of every table of the schema, as text (`SELECT t::text`).
async fn raw_dump(schema: &str) -> Vec<u8> {
    let c = sql().await;
    let mut out = Vec::new();
    for table in ["endpoints", "messages", "deliveries", "attempts"] {
        for row in c
            .query(&format!("SELECT t::text FROM \"{schema}\".{table} t"), &[])
            .await
            .unwrap()
        {
            let text: String = row.get(0);
            out.extend(text.into_bytes());
            out.push(b'\n');
        }
    }
    out
}

/// Key id → how many values name it, from the raw `data` column.
async fn raw_key_ids(schema: &str) -> HashMap<String, usize> {
    let c = sql().await;
    let mut ids = HashMap::new();
    for row in c
        .query(
            &format!("SELECT data::text FROM \"{schema}\".endpoints"),
            &[],
        )
        .await
        .unwrap()
    {
        let body: String = row.get(0);
        for part in body.split("\"v1.").skip(1) {
            *ids.entry(part.split('.').next().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    ids
}

fn at_rest(e: &DispatchError) -> Option<&AtRestError> {
    e.at_rest_error()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_columns_hold_no_secret_and_only_configured_keys_decrypt() {
    let schema = pg_support::fresh_schema();
    let _guard = pg_support::SchemaGuard {
        url: pg_support::url().to_owned(),
        schema: schema.clone(),
    };
    let d = open(&schema, vec![key("k1", 1)]).await;
    let mut secrets = create_every_kind(&d, "t1", "https://hooks.example.com", "p").await;
    secrets.extend(create_every_kind(&d, "t2", "https://hooks.example.com", "q").await);
    let zt = d.list_endpoints("t1").await.unwrap()[0].endpoint.id.clone();
    secrets.push(
        d.rotate_secret(&zt)
            .await
            .unwrap()
            .secret
            .signing
            .expose_secret()
            .to_owned(),
    );
    d.send("t1", "hookwire.test", b"{}".to_vec()).await.unwrap();
    let dump = raw_dump(&schema).await;
    assert!(dump.len() > 1000);
    let leaked = found_in(&dump, &secrets);
    assert!(leaked.is_empty(), "{} secrets in raw columns", leaked.len());
    assert!(String::from_utf8_lossy(&dump).contains("v1.k1."));

    // No key, another key id, the right id with other bytes: refused or undecryptable.
    let none = open(&schema, vec![]).await;
    let err = none.ready().await.unwrap_err();
    assert!(
        matches!(at_rest(&err), Some(AtRestError::NoKey { .. })),
        "{err}"
    );
    let other = open(&schema, vec![key("k9", 9)]).await;
    let err = other.get_endpoint(&zt).await.unwrap_err();
    assert!(
        matches!(at_rest(&err), Some(AtRestError::UnknownKey { .. })),
        "{err}"
    );
    let wrong = open(&schema, vec![key("k1", 5)]).await;
    let err = wrong.get_endpoint(&zt).await.unwrap_err();
    assert!(
        matches!(at_rest(&err), Some(AtRestError::Decrypt { .. })),
        "{err}"
    );

    // t1's bearer ciphertext copied into t2's endpoint with SQL: that record fails.
    let b = d.list_endpoints("t2").await.unwrap()[0].endpoint.id.clone();
    let c = sql().await;
    let n = c
        .execute(
            &format!(
                "UPDATE \"{schema}\".endpoints SET data = jsonb_set(data, '{{auth,token}}', \
                 (SELECT data->'auth'->'token' FROM \"{schema}\".endpoints WHERE id = $1)) \
                 WHERE id = $2"
            ),
            &[&zt, &b],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let err = d.get_endpoint(&b).await.unwrap_err();
    assert!(
        matches!(at_rest(&err), Some(AtRestError::Decrypt { endpoint, field, .. })
            if *endpoint == b && field == "auth/bearer"),
        "{err}"
    );
    let ep = d.get_endpoint(&zt).await.unwrap().unwrap();
    assert!(
        matches!(&ep.endpoint.auth, Auth::Bearer { token } if token.expose_secret() == "bearer-token-p-7f3a9c")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_records_migrate_and_keys_rotate() {
    let schema = pg_support::fresh_schema();
    let _guard = pg_support::SchemaGuard {
        url: pg_support::url().to_owned(),
        schema: schema.clone(),
    };
    let d = open(&schema, vec![]).await;
    let mut secrets = create_every_kind(&d, "t1", "https://hooks.example.com", "r").await;
    assert!(
        !found_in(&raw_dump(&schema).await, &secrets).is_empty(),
        "in the clear"
    );
    let d = open(&schema, vec![key("k1", 1)]).await;
    d.ready().await.unwrap();
    assert!(found_in(&raw_dump(&schema).await, &secrets).is_empty());
    assert_eq!(
        raw_key_ids(&schema).await.keys().collect::<Vec<_>>(),
        ["k1"]
    );
    let d = open(&schema, vec![key("k1", 1), key("k2", 2)]).await;
    secrets.extend(create_every_kind(&d, "t2", "https://hooks.example.com", "s").await);
    let report = d.reencrypt(3).await.unwrap();
    assert_eq!(
        (report.examined, report.rewritten, report.batches),
        (8, 4, 3)
    );
    assert_eq!(
        raw_key_ids(&schema).await.keys().collect::<Vec<_>>(),
        ["k2"]
    );
    let d = open(&schema, vec![key("k2", 2)]).await;
    assert_eq!(d.list_endpoints("t1").await.unwrap().len(), 4);
    assert_eq!(d.list_endpoints("t2").await.unwrap().len(), 4);
    assert!(found_in(&raw_dump(&schema).await, &secrets).is_empty());
}

// ---- SIGKILL in the middle of reencrypt -----------------------------------------------------

const TENANTS: usize = 40;
const PER_TENANT: usize = 10;

/// The child: opens the schema with k1 and k2 and runs `reencrypt` in small batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of sigkill_during_reencrypt_leaves_every_record_readable"]
async fn pg_reencrypt_child() {
    let Ok(schema) = std::env::var("HOOKWIRE_PG_REENCRYPT_CHILD") else {
        panic!("pg_reencrypt_child only runs as the child of the SIGKILL test");
    };
    let d = open(&schema, vec![key("k1", 1), key("k2", 2)]).await;
    d.ready().await.unwrap();
    d.reencrypt(4).await.unwrap();
    println!("HOOKWIRE-REENCRYPT-DONE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_reencrypt_leaves_every_record_readable() {
    let schema = pg_support::fresh_schema();
    let _guard = pg_support::SchemaGuard {
        url: pg_support::url().to_owned(),
        schema: schema.clone(),
    };
    let mut want = HashMap::new();
    for (half, keys) in [(0, vec![]), (1, vec![key("k1", 1)])] {
        let d = open(&schema, keys).await;
        d.ready().await.unwrap();
        for t in (half * TENANTS / 2)..((half + 1) * TENANTS / 2) {
            for i in 0..PER_TENANT {
                let token = format!("pg-crash-token-{t}-{i}");
                let new =
                    NewEndpoint::new(format!("t{t}"), Family::ZeroTier, "https://h.example.com")
                        .auth(Auth::Bearer {
                            token: token.clone().into(),
                        });
                want.insert(d.create_endpoint(new).await.unwrap().id().to_owned(), token);
            }
        }
    }
    let keys = Keyring::new(vec![key("k1", 1), key("k2", 2)]).unwrap();
    let store = PostgresStore::connect_schema(pg_support::url(), &schema)
        .await
        .unwrap();
    let exe = std::env::current_exe().unwrap();
    let (mut kills, mut mid_pass) = (0, 0);
    let mut rng: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..40 {
        let mut child = Command::new(&exe)
            .args(["--ignored", "--exact", "pg_reencrypt_child", "--nocapture"])
            .env("HOOKWIRE_PG_REENCRYPT_CHILD", &schema)
            .env("HOOKWIRE_POSTGRES_URL", pg_support::url())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let wait = Duration::from_millis(30 + rng % (80 + 50 * round));
        tokio::time::sleep(wait).await;
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        let out = child.wait_with_output().unwrap();
        // Every record decrypts, read straight from the store (nothing migrated here).
        let mut seen = 0;
        for t in 0..TENANTS {
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
        let ids = raw_key_ids(&schema).await;
        if !finished && ids.contains_key("k1") && ids.contains_key("k2") {
            mid_pass += 1;
        }
        if String::from_utf8_lossy(&out.stdout).contains("HOOKWIRE-REENCRYPT-DONE") {
            break;
        }
    }
    assert!(mid_pass >= 1, "no child was killed mid-way ({kills} kills)");
    assert_eq!(
        raw_key_ids(&schema).await.keys().collect::<Vec<_>>(),
        ["k2"]
    );
}
