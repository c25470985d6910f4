//! `hookwire listen <scheme> --secret S [--addr 127.0.0.1:9000] [--header-name NAME]`: a local
//! receiver that verifies every request and prints one JSON line per request.

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use hookwire_axum::{Checked, Receiver, Rejection, Verification};
use serde_json::{Map, Value, json};

use crate::cli::{ListenArgs, SchemeName};
use crate::error::CliError;
use crate::io::print_line;
use crate::time::{rfc3339_millis, unix_now_millis};
use crate::verify::verifier;

/// Largest body accepted (larger ones are answered 413 by the receiver and not printed).
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The router state: the scheme (for the event type) and hookwire-axum's receiver.
#[derive(Clone)]
struct Listener {
    scheme: SchemeName,
    receiver: Receiver,
}

impl FromRef<Listener> for Receiver {
    fn from_ref(listener: &Listener) -> Receiver {
        listener.receiver.clone()
    }
}

pub(crate) async fn run(args: ListenArgs) -> Result<(), CliError> {
    let verifier = verifier(
        args.scheme,
        &args.keys,
        args.header_name.as_deref(),
        args.tolerance,
    )?;
    let state = Listener {
        scheme: args.scheme,
        receiver: Receiver::from_verifier(verifier, None).with_body_limit(BODY_LIMIT),
    };
    let socket = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| CliError::failed(format!("cannot listen on {}: {e}", args.addr)))?;
    let addr = socket
        .local_addr()
        .map_err(|e| CliError::failed(format!("cannot read the listening address: {e}")))?;
    eprintln!(
        "hookwire: listening on http://{addr} ({}); one JSON line per request on stdout",
        args.scheme.as_str()
    );
    let app = Router::new().fallback(receive).with_state(state);
    axum::serve(socket, app)
        .await
        .map_err(|e| CliError::failed(format!("server stopped: {e}")))
}

/// Every request, verified or not, is printed; the answer is 204 or 401.
async fn receive(
    State(listener): State<Listener>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    checked: Checked,
) -> StatusCode {
    let line = report(
        listener.scheme,
        unix_now_millis(),
        &method,
        &uri,
        &headers,
        &checked.body,
        &checked.outcome,
    );
    // A closed stdout ends the printing, not the receiver: the answer still goes out.
    let _ = print_line(&line);
    if checked.is_verified() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNAUTHORIZED
    }
}

/// One JSON line: time, method, path, verified or why not, id/timestamp, event type, body.
fn report(
    scheme: SchemeName,
    now_ms: i64,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    outcome: &Result<Verification, Rejection>,
) -> String {
    let mut line = Map::new();
    line.insert("time".into(), json!(rfc3339_millis(now_ms)));
    line.insert("method".into(), json!(method.as_str()));
    line.insert("path".into(), json!(uri.to_string()));
    match outcome {
        Ok(v) => {
            line.insert("verified".into(), json!(true));
            if let Some(id) = &v.id {
                line.insert("id".into(), json!(id));
            }
            if let Some(ts) = v.timestamp {
                line.insert("timestamp".into(), json!(ts));
            }
            line.insert("key_index".into(), json!(v.key_index));
        }
        Err(refused) => {
            line.insert("verified".into(), json!(false));
            // The verifier's own reason (`signature mismatch`, ``missing header `…` ``).
            let reason = refused
                .signature_error()
                .map_or_else(|| refused.to_string(), ToString::to_string);
            line.insert("error".into(), json!(reason));
        }
    }
    line.insert("event_type".into(), event_type(scheme, headers, body));
    line.insert("body".into(), body_value(body));
    Value::Object(line).to_string()
}

/// The event type: through the family's parser, Stripe's `type` field, or GitHub's
/// `X-GitHub-Event` header; `null` when it cannot be told.
fn event_type(scheme: SchemeName, headers: &HeaderMap, body: &[u8]) -> Value {
    match scheme {
        SchemeName::Stripe => {
            return serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("type").cloned())
                .unwrap_or(Value::Null);
        }
        SchemeName::Github => {
            return headers
                .get("x-github-event")
                .and_then(|v| v.to_str().ok())
                .map_or(Value::Null, |s| json!(s));
        }
        _ => {}
    }
    let family = crate::keys::family(scheme);
    hookwire_events::parse(family, body).map_or(Value::Null, |e| json!(e.event_type()))
}

/// The body as JSON when it is JSON, as text when it is UTF-8, otherwise `{"base64": …}`.
fn body_value(body: &[u8]) -> Value {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return v;
    }
    match std::str::from_utf8(body) {
        Ok(s) => json!(s),
        Err(_) => {
            use base64::Engine as _;
            json!({ "base64": base64::engine::general_purpose::STANDARD.encode(body) })
        }
    }
}
