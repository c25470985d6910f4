//! Support for the workspace-level end-to-end tests (`end_to_end.rs`): a real axum server on
//! 127.0.0.1 that verifies every request with `hookwire-axum` and records the typed events.
//!
//! The tests drive the whole path a downstream service takes: the facade crate `hookwire`
//! (feature `full`), a durable dispatcher on a SQLite file, each family's signing scheme, a
//! receiver that verifies the exact bytes received and parses them into `hookwire-events`
//! types, and the replay guard answering a redelivered message.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use hookwire::axum::{Receiver, Verified};
use hookwire::events::{AnyEvent, Family};

/// One verified request, as the receiver handler saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The receiver's family.
    pub family: Family,
    /// The typed event's type.
    pub event_type: String,
    /// The signed message id, where the scheme carries one.
    pub id: Option<String>,
    /// The event re-serialized.
    pub json: String,
}

/// Everything the handlers recorded, shared with the test.
pub type Log = Arc<Mutex<Vec<Seen>>>;

#[derive(Clone)]
struct Route {
    receiver: Receiver,
    family: Family,
    log: Log,
}

impl axum::extract::FromRef<Route> for Receiver {
    fn from_ref(route: &Route) -> Receiver {
        route.receiver.clone()
    }
}

async fn handle(State(route): State<Route>, event: Verified<AnyEvent>) -> &'static str {
    let seen = Seen {
        family: route.family,
        event_type: event.payload.event_type().to_owned(),
        id: event.verification.id.clone(),
        json: event.payload.to_json().to_string(),
    };
    if let Ok(mut log) = route.log.lock() {
        log.push(seen);
    }
    "ok"
}

/// A router with one verifying route per `(path, family, receiver)`, all recording into `log`.
pub fn router(routes: Vec<(String, Family, Receiver)>, log: &Log) -> Router {
    let mut app = Router::new();
    for (path, family, receiver) in routes {
        let state = Route {
            receiver,
            family,
            log: Arc::clone(log),
        };
        app = app.route(&path, post(handle).with_state(state));
    }
    app
}

/// Binds a free port of 127.0.0.1; returns the listener and its base URL
/// (`http://127.0.0.1:PORT`), so endpoints can be registered before the routes exist.
///
/// # Errors
/// When no port can be bound.
pub async fn bind() -> std::io::Result<(tokio::net::TcpListener, String)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    Ok((listener, base))
}

/// Serves `app` on `listener` in the background.
pub fn serve(listener: tokio::net::TcpListener, app: Router) {
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}
