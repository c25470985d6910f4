//! What the six receiver examples share: the listener, secrets from the environment, and a
//! ready-to-paste `curl` line signed with hookwire's own signer.
#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use hookwire::signature::{Scheme, Secret, Signer};

/// The secret from `var`, or `demo` (printed as a warning: never use a demo secret for real).
pub(crate) fn secret_from_env(var: &str, demo: impl FnOnce() -> String) -> Secret {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Secret::new(value),
        _ => {
            eprintln!("{var} is not set: using a demo secret (set it to your real one)");
            Secret::new(demo())
        }
    }
}

/// Prints a `curl` command that sends `body` to the example, signed with `signing_secret`.
pub(crate) fn print_curl(
    port: u16,
    path: &str,
    scheme: &Scheme,
    signing_secret: &Secret,
    body: &str,
) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    let headers = match Signer::new(scheme, std::slice::from_ref(signing_secret))
        .and_then(|s| s.sign("msg_example_1", now, body.as_bytes()))
    {
        Ok(h) => h,
        Err(e) => {
            eprintln!("cannot sign the sample request: {e}");
            return;
        }
    };
    let mut line = format!("curl -i http://127.0.0.1:{port}{path}");
    for (name, value) in &headers {
        line.push_str(&format!(" -H '{}: {}'", name, value.to_str().unwrap_or("")));
    }
    line.push_str(&format!(" --data-binary '{body}'"));
    println!("send a signed sample (timestamped schemes: within 5 minutes):\n  {line}\n");
}

/// Binds 127.0.0.1:`PORT` (from the environment; `PORT=0` picks a free port) or
/// 127.0.0.1:`default_port`.
pub(crate) async fn bind(default_port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default_port);
    tokio::net::TcpListener::bind(("127.0.0.1", port)).await
}

/// Serves `app` on `listener` until the process ends.
pub(crate) async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
