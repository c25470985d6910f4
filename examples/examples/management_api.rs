//! The management API mounted in a host application: a service already has its own axum app
//! and its own login; it nests `hookwire-api` under `/webhooks`, and the host's session
//! decides which tenant a request acts for. The program then plays a customer: it registers
//! an endpoint over HTTP (the secret is in that one response), sends an event, and reads the
//! delivery back with its attempt.
//!
//! Run: `cargo run -p hookwire-examples --example management_api`. Everything stays on
//! 127.0.0.1.

use std::error::Error;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use hookwire::api::{Rejection, TenantFn};
use hookwire::dispatch::DispatcherBuilder;
use serde_json::{Value, json};

/// The host's own authentication, reduced to a header its login layer would set: the
/// signed-in account is the tenant. No header, no access.
fn host_session(parts: &axum::http::request::Parts) -> Result<String, Rejection> {
    parts
        .headers
        .get("x-host-account")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or(Rejection::Unauthorized)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // The service's dispatcher (embedded SQLite) and the customer's receiver.
    let dir = tempfile::tempdir()?;
    let dispatcher = DispatcherBuilder::sqlite(dir.path().join("webhooks.db"))?
        .allow_loopback_http()
        .build()?;
    dispatcher.start()?;
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/hooks", receiver.local_addr()?);
    let hooks = Router::new().route("/hooks", post(|| async { StatusCode::NO_CONTENT }));
    tokio::spawn(async move { axum::serve(receiver, hooks).await });

    // The host's app: its own routes, plus the management API in one `nest`.
    let app = Router::new().route("/health", get(|| async { "ok" })).nest(
        "/webhooks",
        hookwire::api::router(dispatcher.clone(), TenantFn(host_session)),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/webhooks", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("management API at {base}/v1 (OpenAPI: {base}/v1/openapi.json)");

    // A customer signed in to the host as "acme" uses it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{base}{path}"))
            .header("x-host-account", "acme")
    };

    let anonymous = http.get(format!("{base}/v1/endpoints")).send().await?;
    println!("without a session: {}", anonymous.status());

    let created: Value = call(reqwest::Method::POST, "/v1/endpoints")
        .json(&json!({"family": "zerotier", "url": hook_url, "event_types": ["NETWORK_JOIN"]}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let endpoint = created["id"].as_str().ok_or("an endpoint id")?.to_owned();
    let shown = created["secret"].as_str().map_or(0, str::len);
    println!("created {endpoint}; its secret ({shown} characters) is shown in this response only");

    let sent: Value = call(reqwest::Method::POST, "/v1/messages")
        .json(&json!({
            "event_type": "NETWORK_JOIN",
            "payload": {"hook_id": "h-1", "org_id": "o-1", "hook_type": "NETWORK_JOIN",
                        "network_id": "19d9808567a17ccf", "member_id": "a02505e545"}
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let delivery = sent["delivery_ids"][0]
        .as_str()
        .ok_or("a delivery id")?
        .to_owned();
    println!("accepted message {}", sent["message_id"]);

    for _ in 0..100 {
        let d: Value = call(reqwest::Method::GET, &format!("/v1/deliveries/{delivery}"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if d["state"] == "delivered" {
            let log = d["attempt_log"].as_array().map_or(0, Vec::len);
            println!(
                "delivery {delivery}: delivered after {} attempt(s), {log} in its attempt log",
                d["attempts"]
            );
            dispatcher.shutdown(Duration::from_secs(5)).await;
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the delivery did not arrive in 5 s".into())
}
