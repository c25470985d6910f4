//! `hookwire serve [--db FILE | --postgres URL] [--addr ADDR] [--tokens FILE]
//! [--allow-loopback] [--key-file F]`: the dispatcher and the management API in one process.
//! With `--key-file` the endpoint secrets are encrypted at rest with the file's keys (newest
//! last); the store is checked (and plaintext records migrated) before anything is served.
//!
//! The contract scripts rely on: stdout gets, in this order, `listening: http://ADDR`,
//! `api: http://ADDR/v1`, and (without `--tokens`) `tenant: default` and `token: hwk_…`,
//! then nothing until shutdown. SIGTERM or Ctrl-C stop accepting requests, let the requests
//! and delivery attempts in flight finish (up to 10 s; unfinished deliveries go back to the
//! store, due at once), print `stopped: …` and exit 0.

use std::time::Duration;

use hookwire_api::{ApiState, BearerTokens};
use hookwire_dispatch::{Dispatcher, DispatcherBuilder};

use crate::cli::ServeArgs;
use crate::error::CliError;
use crate::io::{print_line, print_lines, read_key_file};

/// How long in-flight attempts may run on after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);

/// The mounted routers: `/v1`, the vendor-shaped routers at `/zta/api/webhooks`,
/// `/hub-message/webhooks`, `/zitadel/v2/actions/...` and the portal at `/portal`, over the
/// same state (and so the same tenants). This server speaks plain HTTP: on loopback the
/// portal's cookies go without `Secure` (local development); on any other address they keep
/// it, for a TLS proxy in front.
fn app(state: ApiState, addr: std::net::SocketAddr) -> Result<axum::Router, CliError> {
    let portal = hookwire_api::portal::PortalConfig::new()
        .map_err(|e| CliError::failed(e.to_string()))?
        .secure_cookies(!addr.ip().is_loopback());
    Ok(hookwire_api::app(state, portal))
}

async fn builder(args: &ServeArgs) -> Result<DispatcherBuilder, CliError> {
    let builder = match &args.postgres {
        Some(url) => DispatcherBuilder::postgres(url)
            .await
            .map_err(|e| CliError::failed(format!("cannot open the PostgreSQL store: {e}")))?,
        None => {
            let path = args
                .db
                .clone()
                .unwrap_or_else(|| std::path::PathBuf::from("hookwire.db"));
            DispatcherBuilder::sqlite(&path).map_err(|e| {
                CliError::failed(format!("cannot open the store {}: {e}", path.display()))
            })?
        }
    };
    let builder = match &args.key_file {
        Some(path) => builder.encryption_keys(read_key_file(path)?),
        None => builder,
    };
    Ok(if args.allow_loopback {
        builder.allow_loopback_http()
    } else {
        builder
    })
}

fn tokens(args: &ServeArgs) -> Result<(BearerTokens, Option<String>), CliError> {
    match &args.tokens {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::usage(format!("cannot read tokens file {}: {e}", path.display()))
            })?;
            let tokens = BearerTokens::parse(&text)
                .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
            if tokens.is_empty() {
                return Err(CliError::usage(format!(
                    "{} holds no `<token> <tenant>` line",
                    path.display()
                )));
            }
            Ok((tokens, None))
        }
        None => {
            let mut tokens = BearerTokens::new();
            let token = tokens
                .generate("default")
                .map_err(|e| CliError::failed(e.to_string()))?;
            Ok((tokens, Some(token)))
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

pub(crate) async fn run(args: ServeArgs) -> Result<(), CliError> {
    let (tokens, fresh) = tokens(&args)?;
    // `open` runs the at-rest check: a store the keys cannot read is refused here.
    let dispatcher: Dispatcher = builder(&args)
        .await?
        .open()
        .await
        .map_err(|e| CliError::failed(format!("cannot open the store: {e}")))?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| CliError::failed(format!("cannot listen on {}: {e}", args.addr)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::failed(e.to_string()))?;
    dispatcher
        .start()
        .map_err(|e| CliError::failed(e.to_string()))?;
    let mut lines = vec![
        format!("listening: http://{addr}"),
        format!("api: http://{addr}/v1"),
    ];
    if let Some(token) = fresh {
        lines.push("tenant: default".to_owned());
        lines.push(format!("token: {token}"));
    }
    print_lines(lines)?;
    let app = app(ApiState::new(dispatcher.clone(), tokens), addr)?;
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(stop_signal())
        .await;
    let report = dispatcher.shutdown(DRAIN).await;
    print_line(&format!(
        "stopped: {} attempts finished, {} deliveries back in the store",
        report.finished, report.released
    ))?;
    served.map_err(|e| CliError::failed(format!("server: {e}")))
}
