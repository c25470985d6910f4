//! The plainest use of hookwire, both sides in one program: a service embeds the dispatcher on
//! a SQLite file and registers a customer's endpoint; the customer's receiver is an axum app
//! that verifies every webhook with `hookwire-axum` and reads the typed ZeroTier hook.
//!
//! Run: `cargo run -p hookwire-examples --example dispatch_to_axum`. Everything stays on
//! 127.0.0.1 (the dispatcher is told to allow plain HTTP to loopback, which a real deployment
//! never needs) and the program exits once every hook it sent was received.

use std::error::Error;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::routing::post;
use hookwire::axum::{Receiver, Verified};
use hookwire::dispatch::{DispatcherBuilder, NewEndpoint};
use hookwire::events::Family;
use hookwire::events::zerotier::Hook;
use hookwire::signature::Scheme;
use tokio::sync::mpsc;

/// The receiver app's state: the verifying [`Receiver`] and where the handler reports.
#[derive(Clone)]
struct App {
    receiver: Receiver,
    seen: mpsc::Sender<String>,
}

impl FromRef<App> for Receiver {
    fn from_ref(app: &App) -> Receiver {
        app.receiver.clone()
    }
}

/// The receiver's handler: runs only for requests whose signature verified.
async fn on_hook(State(app): State<App>, hook: Verified<Hook>) -> &'static str {
    let line = format!(
        "{} {}: delivered and verified (signed at {:?})",
        hook.payload.event_type(),
        hook.payload.hook_id(),
        hook.verification.timestamp
    );
    let _ = app.seen.send(line).await;
    "ok"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // The sending service: one dispatcher per process over a durable store.
    let dir = tempfile::tempdir()?;
    let dispatcher = DispatcherBuilder::sqlite(dir.path().join("webhooks.db"))?
        .allow_loopback_http()
        .build()?;
    dispatcher.start()?;

    // The customer's receiver gets a port first, so its URL can be registered.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hooks/zerotier", listener.local_addr()?);

    // Registering the endpoint issues its secret, shown this one time.
    let created = dispatcher
        .create_endpoint(
            NewEndpoint::new("org-1", Family::ZeroTier, &url)
                .event_types(["NETWORK_JOIN", "MEMBER_DELETED"]),
        )
        .await?;
    let secret = created.secret.ok_or("ZeroTier endpoints are signed")?;

    // The receiver verifies with that secret over the exact bytes received.
    let receiver =
        Receiver::new(&Scheme::ZeroTier, &[secret.verification])?.with_memory_replay_guard(1_000);
    let (seen, mut rx) = mpsc::channel(16);
    let app = Router::new()
        .route("/hooks/zerotier", post(on_hook))
        .with_state(App { receiver, seen });
    tokio::spawn(async move { axum::serve(listener, app).await });

    // The service sends events; each is durable before `send` returns.
    let hooks = [
        (
            "NETWORK_JOIN",
            r#"{"hook_id":"h-1","org_id":"o-1","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#,
        ),
        (
            "MEMBER_DELETED",
            r#"{"hook_id":"h-2","org_id":"o-1","hook_type":"MEMBER_DELETED","network_id":"19d9808567a17ccf","member_id":"a02505e545","old_config":null,"user_id":"u-1","user_email":"admin@example.com"}"#,
        ),
    ];
    for (event_type, body) in hooks {
        let sent = dispatcher
            .send("org-1", event_type, body.as_bytes().to_vec())
            .await?;
        println!("sent {event_type}: {sent:?}");
    }
    for _ in hooks {
        let line = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await?
            .ok_or("the receiver stopped")?;
        println!("{line}");
    }
    dispatcher.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
