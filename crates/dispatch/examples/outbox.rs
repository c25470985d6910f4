//! The transactional outbox end to end: an application writes orders to its own database and
//! queues each order's webhook in the same transaction. One order commits, one rolls back; the
//! receiver on 127.0.0.1 gets exactly the committed one.
//!
//! Run: `cargo run -p hookwire-dispatch --example outbox` (SQLite, in a temporary directory).
//! With `--features postgres` it runs the same on PostgreSQL too, on `HOOKWIRE_POSTGRES_URL`
//! or `postgres://postgres@127.0.0.1:5432/test`, in a throwaway schema it drops afterwards.

use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hookwire_dispatch::{Dispatcher, DispatcherBuilder, NewEndpoint};
use hookwire_events::Family;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Seen = Arc<Mutex<Vec<String>>>;

/// Reads one HTTP/1.1 request, records its body, answers 204.
async fn serve(mut stream: TcpStream, seen: Seen) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    if let Ok(mut seen) = seen.lock() {
        seen.push(body);
    }
    stream
        .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
        .await
}

async fn receiver() -> Result<(String, Seen), Box<dyn Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hooks", listener.local_addr()?);
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, Arc::clone(&record)));
        }
    });
    Ok((url, seen))
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

async fn subscribe(d: &Dispatcher, url: &str) -> Result<(), Box<dyn Error>> {
    d.create_endpoint(
        NewEndpoint::new("acct-1", Family::Zentitle, url).event_types(["entitlement.activated"]),
    )
    .await?;
    Ok(())
}

async fn sqlite() -> Result<(), Box<dyn Error>> {
    let (url, seen) = receiver().await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("app.db");
    let dispatcher = DispatcherBuilder::sqlite(&file)?
        .allow_loopback_http() // the receiver is on 127.0.0.1 (examples and tests only)
        .poll_interval(Duration::from_millis(100))
        .build()?;
    subscribe(&dispatcher, &url).await?;
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

#[cfg(feature = "postgres")]
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
    let (hook_url, seen) = receiver().await?;
    let dispatcher = DispatcherBuilder::postgres_schema(&url, &schema)
        .await?
        .allow_loopback_http()
        .build()?;
    subscribe(&dispatcher, &hook_url).await?;
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
    #[cfg(feature = "postgres")]
    postgres().await?;
    Ok(())
}
