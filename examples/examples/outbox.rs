//! The transactional outbox end to end: an application writes orders to its own database and
//! queues each order's webhook in the same transaction. One order commits, one rolls back; the
//! receiver on 127.0.0.1 gets exactly the committed one.
//!
//! The receiver is a hookwire-axum endpoint that verifies each webhook's Zentitle RSA signature.
//!
//! Run: `cargo run -p hookwire-examples --example outbox`. It runs on SQLite (in a temporary
//! directory), then the same on PostgreSQL, on `HOOKWIRE_POSTGRES_URL` or
//! `postgres://postgres@127.0.0.1:5432/test`, in a throwaway schema it drops afterwards (no
//! server there: it says so and skips that half).

use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use hookwire::axum::{Receiver, Verified};
use hookwire::dispatch::{CreatedEndpoint, Dispatcher, DispatcherBuilder, NewEndpoint};
use hookwire::events::Family;
use hookwire::signature::Scheme;
use tokio::net::TcpListener;

type Seen = Arc<Mutex<Vec<String>>>;

/// Binds the receiver's port; the endpoint's URL is known before its secret.
async fn bind() -> Result<(TcpListener, String), Box<dyn Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hooks", listener.local_addr()?);
    Ok((listener, url))
}

/// A hookwire-axum receiver on `listener`: verifies each webhook with the endpoint's
/// verification key (Zentitle: the RSA public key) and records its body.
fn receive(listener: TcpListener, created: CreatedEndpoint) -> Result<Seen, Box<dyn Error>> {
    let key = created
        .secret
        .ok_or("a Zentitle endpoint is always signed")?
        .verification;
    let receiver = Receiver::new(&Scheme::Zentitle, &[key])?.with_memory_replay_guard(1_000);
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let app = Router::new()
        .route(
            "/hooks",
            post(move |hook: Verified<Bytes>| async move {
                if let Ok(mut seen) = record.lock() {
                    seen.push(String::from_utf8_lossy(&hook.payload).into_owned());
                }
                StatusCode::NO_CONTENT
            }),
        )
        .with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(seen)
}

fn order_body(id: &str) -> Vec<u8> {
    format!(r#"{{"eventCode":"entitlement.activated","resourceId":"{id}"}}"#).into_bytes()
}

/// Waits until the receiver saw `n` requests (or a few seconds passed).
async fn settle(seen: &Seen, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let got = seen.lock().map(|s| s.clone()).unwrap_or_default();
        if got.len() >= n {
            // A little longer: anything that should not arrive would arrive now.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return seen.lock().map(|s| s.clone()).unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seen.lock().map(|s| s.clone()).unwrap_or_default()
}

async fn subscribe(d: &Dispatcher, url: &str) -> Result<CreatedEndpoint, Box<dyn Error>> {
    let created = d
        .create_endpoint(
            NewEndpoint::new("acct-1", Family::Zentitle, url)
                .event_types(["entitlement.activated"]),
        )
        .await?;
    Ok(created)
}

async fn sqlite() -> Result<(), Box<dyn Error>> {
    let (listener, url) = bind().await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("app.db");
    let dispatcher = DispatcherBuilder::sqlite(&file)?
        .allow_loopback_http() // the receiver is on 127.0.0.1 (examples and tests only)
        .poll_interval(Duration::from_millis(100))
        .build()?;
    let seen = receive(listener, subscribe(&dispatcher, &url).await?)?;
    dispatcher.start()?;

    let d = dispatcher.clone();
    tokio::task::spawn_blocking(move || -> Result<(), Box<dyn Error + Send + Sync>> {
        let mut conn = rusqlite::Connection::open(&file)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch("CREATE TABLE orders (id TEXT PRIMARY KEY)")?;
        for (id, commit) in [("ord-1", true), ("ord-2", false)] {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute("INSERT INTO orders (id) VALUES (?1)", [id])?;
            let queued = d.send_in_sqlite(
                &tx,
                "acct-1",
                "entitlement.activated",
                order_body(id),
                Some(id),
            )?;
            if commit {
                tx.commit()?;
            } else {
                tx.rollback()?;
            }
            println!(
                "sqlite: {id}: {queued:?}, {}",
                if commit { "committed" } else { "rolled back" }
            );
        }
        Ok(())
    })
    .await?
    .map_err(|e| e.to_string())?;
    dispatcher.wake();
    let got = settle(&seen, 1).await;
    println!("sqlite: the receiver got {} webhook(s): {got:?}", got.len());
    dispatcher.shutdown(Duration::from_secs(2)).await;
    if got != [String::from_utf8_lossy(&order_body("ord-1")).into_owned()] {
        return Err("sqlite: expected exactly the committed order's webhook".into());
    }
    Ok(())
}

async fn postgres() -> Result<(), Box<dyn Error>> {
    let url = std::env::var("HOOKWIRE_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let (client, conn) = match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
        Ok(c) => c,
        Err(e) => {
            println!("postgres: skipped, no server at {url} ({e})");
            return Ok(());
        }
    };
    tokio::spawn(conn);
    let mut client = client;
    let schema = format!("outbox_example_{}", std::process::id());
    let (listener, hook_url) = bind().await?;
    let dispatcher = DispatcherBuilder::postgres_schema(&url, &schema)
        .await?
        .allow_loopback_http()
        .build()?;
    let seen = receive(listener, subscribe(&dispatcher, &hook_url).await?)?;
    dispatcher.start()?;
    client
        .batch_execute(&format!(
            "CREATE TABLE \"{schema}\".orders (id text PRIMARY KEY)"
        ))
        .await?;
    for (id, commit) in [("ord-1", true), ("ord-2", false)] {
        let mut tx = client.transaction().await?;
        tx.execute(
            &format!("INSERT INTO \"{schema}\".orders (id) VALUES ($1)"),
            &[&id],
        )
        .await?;
        let queued = dispatcher
            .send_in_postgres(
                &mut tx,
                "acct-1",
                "entitlement.activated",
                order_body(id),
                Some(id),
            )
            .await?;
        if commit {
            tx.commit().await?; // NOTIFY wakes the workers
        } else {
            tx.rollback().await?;
        }
        println!(
            "postgres: {id}: {queued:?}, {}",
            if commit { "committed" } else { "rolled back" }
        );
    }
    let got = settle(&seen, 1).await;
    println!(
        "postgres: the receiver got {} webhook(s): {got:?}",
        got.len()
    );
    dispatcher.shutdown(Duration::from_secs(2)).await;
    client
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await?;
    if got != [String::from_utf8_lossy(&order_body("ord-1")).into_owned()] {
        return Err("postgres: expected exactly the committed order's webhook".into());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    sqlite().await?;
    postgres().await?;
    Ok(())
}
