//! `hookwire demo [--db FILE]`: the whole system on embedded defaults, on 127.0.0.1 only.
//!
//! Local receivers for every family (hookwire-axum's `Verified` extractor) verify each request
//! with the family's scheme and parse it with the family's types; a dispatcher on the embedded SQLite store delivers a batch of
//! events of every family to them; one receiver answers 500 a few times (retries), one
//! answers 410 (auto-disable); a ZITADEL request execution runs against a local restCall
//! target. The summary table says what was delivered, retried, failed and verified, and the
//! exit code is 1 when anything was lost or failed to verify.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hookwire_axum::zitadel::{Incoming, Reply};
use hookwire_axum::{PayloadRejection, Receiver, Verified, VerifiedRejection};
use hookwire_dispatch::model::{
    DeliveryFilter, DeliveryState, EndpointStatus, EnqueueResult, new_id,
};
use hookwire_dispatch::ssrf::{IpCidr, SsrfGuard};
use hookwire_dispatch::store::SqliteStore;
use hookwire_dispatch::transport::{Transport, TransportConfig};
use hookwire_dispatch::zitadel::Executor;
use hookwire_dispatch::{Dispatcher, EncryptionKey, NewEndpoint};
use hookwire_events::zitadel::{Condition, Execution, MethodCondition, Target};
use hookwire_events::{AnyEvent, Family};
use hookwire_retry::{Backoff, RetryPolicy};
use hookwire_signature::Scheme;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::cli::DemoArgs;
use crate::deliveries::table;
use crate::error::CliError;
use crate::io::{print_line, print_lines, read_key_file};

/// The demo's retry schedule: short so the demo ends in seconds. The family presets wait
/// minutes to hours between attempts (ZeroTier 1 min doubling to 1 h, ZTA 5 s and 25 s,
/// Standard Webhooks 5 s, 5 min, 30 min, …).
const DEMO_DELAYS_MS: [u64; 4] = [100, 200, 400, 800];
/// How many times the flaky receiver answers 500 before it recovers.
const FLAKY_FAILURES: u32 = 3;
/// The longest the demo waits for every delivery to settle.
const SETTLE_DEADLINE: Duration = Duration::from_secs(40);
/// The method the ZITADEL request execution runs before.
const ADD_HUMAN: &str = "/zitadel.user.v2.UserService/AddHumanUser";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Verifies, parses, answers 204.
    Healthy,
    /// Answers 500 to its first [`FLAKY_FAILURES`] requests, then behaves as healthy.
    Flaky,
    /// Answers 410 Gone: the dispatcher disables the endpoint.
    Gone,
}

/// One demo endpoint and its receiver.
struct Spec {
    family: Family,
    path: &'static str,
    mode: Mode,
}

const SPECS: [Spec; 8] = [
    Spec {
        family: Family::ZeroTier,
        path: "zerotier",
        mode: Mode::Healthy,
    },
    Spec {
        family: Family::ZeroTier,
        path: "zerotier-flaky",
        mode: Mode::Flaky,
    },
    Spec {
        family: Family::Zta,
        path: "zta",
        mode: Mode::Healthy,
    },
    Spec {
        family: Family::HubMessage,
        path: "hub-message",
        mode: Mode::Healthy,
    },
    Spec {
        family: Family::Zitadel,
        path: "zitadel",
        mode: Mode::Healthy,
    },
    Spec {
        family: Family::Zentitle,
        path: "zentitle",
        mode: Mode::Healthy,
    },
    Spec {
        family: Family::StandardWebhooks,
        path: "standard",
        mode: Mode::Healthy,
    },
    Spec {
        family: Family::StandardWebhooks,
        path: "standard-gone",
        mode: Mode::Gone,
    },
];

/// What a receiver saw.
#[derive(Default)]
struct Seen {
    requests: u64,
    /// Message id → first verified, parsed and accepted receipt.
    accepted: HashMap<String, Instant>,
    /// Why requests failed verification.
    rejected: Vec<String>,
    /// Verified requests whose body did not parse as the family's type.
    unparsed: u64,
}

/// One demo endpoint's receiving side: hookwire-axum's receiver for the family's scheme, the
/// fault it plays, and what it saw.
struct Inbox {
    receiver: Receiver,
    mode: Mode,
    failures_left: AtomicU32,
    seen: Mutex<Seen>,
}

impl Inbox {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The router state of one endpoint's route.
#[derive(Clone)]
struct Route(Arc<Inbox>);

impl FromRef<Route> for Receiver {
    fn from_ref(route: &Route) -> Receiver {
        route.0.receiver.clone()
    }
}

async fn receive(
    State(Route(inbox)): State<Route>,
    headers: HeaderMap,
    event: Result<Verified<AnyEvent>, VerifiedRejection<PayloadRejection>>,
) -> StatusCode {
    let now = Instant::now();
    let mut seen = inbox.seen();
    seen.requests += 1;
    if inbox.mode == Mode::Gone {
        return StatusCode::GONE;
    }
    match event {
        Ok(_) => {}
        Err(VerifiedRejection::Refused(refused)) => {
            seen.rejected.push(refused.to_string());
            return StatusCode::UNAUTHORIZED;
        }
        Err(VerifiedRejection::Body(_)) => {
            seen.unparsed += 1;
            return StatusCode::BAD_REQUEST;
        }
    }
    if inbox.mode == Mode::Flaky
        && inbox
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let id = headers
        .get(hookwire_dispatch::headers::MESSAGE_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    seen.accepted.entry(id).or_insert(now);
    StatusCode::NO_CONTENT
}

/// The ZITADEL restCall target: hookwire-axum verifies `ZITADEL-Signature` and parses the
/// call (refusing a bad one itself), then the target enriches the request.
async fn zitadel_target(call: Verified<Incoming>) -> Reply {
    match call.payload {
        Incoming::Request(call) => {
            let mut request = call.request.unwrap_or_else(|| json!({}));
            request["profile"]["displayName"] = json!("Mini Mouse (checked by the demo target)");
            request["metadata"] = json!([{ "key": "department", "value": "RW5naW5lZXJpbmc=" }]);
            Reply::message(&request)
        }
        _ => Reply::forward_error(400, "the demo target handles request executions"),
    }
}

/// One demo endpoint as registered.
struct Row {
    spec: &'static Spec,
    tenant: String,
    endpoint_id: String,
    receiver: Arc<Inbox>,
}

/// Per-row counts for the summary table.
struct Outcome {
    deliveries: usize,
    delivered: usize,
    failed: usize,
    retries: u64,
    verified: usize,
    latencies_ms: Vec<u64>,
}

/// What the loss check ([`losses`]) decides on for one endpoint: plain data, no I/O.
#[derive(Debug, Clone)]
struct Facts {
    /// The endpoint's name in the summary (its receiver's path).
    endpoint: String,
    mode: Mode,
    /// Ids of the messages sent to the endpoint's tenant.
    sent: Vec<String>,
    /// Every delivery the store holds for the endpoint: message id and state.
    stored: Vec<(String, DeliveryState)>,
    /// Message ids the receiver verified, parsed and accepted at least once.
    accepted: Vec<String>,
    /// Why requests failed verification at the receiver.
    rejected: Vec<String>,
    /// Verified requests whose body did not parse.
    unparsed: u64,
    /// Attempts after the first, over all the endpoint's deliveries.
    retries: u64,
    /// `Some(reason)` when the dispatcher disabled the endpoint.
    disabled: Option<String>,
}

pub(crate) async fn run(args: DemoArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let run_id = new_id("run")[4..12].to_owned();
    let (db, temporary) = match &args.db {
        Some(p) => (p.clone(), false),
        None => (
            std::env::temp_dir().join(format!("hookwire-demo-{run_id}.db")),
            true,
        ),
    };
    let result = run_in(&args, &db, temporary, &run_id, started).await;
    if temporary {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = db.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
    result
}

async fn run_in(
    args: &DemoArgs,
    db: &std::path::Path,
    temporary: bool,
    run_id: &str,
    started: Instant,
) -> Result<(), CliError> {
    let store = SqliteStore::open(db)
        .map_err(|e| CliError::failed(format!("cannot open the store {}: {e}", db.display())))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| CliError::failed(format!("cannot listen on 127.0.0.1: {e}")))?;
    let addr = listener.local_addr().map_err(failed)?;
    let (keys, key_note) = match &args.key_file {
        Some(path) => {
            let keys = read_key_file(path)?;
            let note = format!(
                "AES-256-GCM at rest, key {} of {}",
                keys.last().map_or("", |k| k.id()),
                path.display()
            );
            (keys, note)
        }
        None => {
            let key = EncryptionKey::generate(Some("demo")).map_err(failed)?;
            let note = "AES-256-GCM at rest under a throwaway key (--key-file FILE keeps one)";
            (vec![key], note.to_owned())
        }
    };
    let dispatcher = Dispatcher::builder(Arc::new(store))
        .encryption_keys(keys)
        .allow_loopback_http()
        .poll_interval(Duration::from_millis(50))
        .health_flush_interval(Duration::from_millis(100))
        .open()
        .await
        .map_err(|e| CliError::failed(format!("cannot open the store {}: {e}", db.display())))?;
    let policy = demo_policy()?;

    print_lines([
        "hookwire demo: every family, end to end, on 127.0.0.1 only".to_owned(),
        format!(
            "  store      SQLite {}{}",
            db.display(),
            if temporary {
                " (temporary; --db FILE keeps it for `hookwire deliveries`)"
            } else {
                ""
            }
        ),
        format!("  secrets    {key_note}"),
        format!(
            "  receivers  http://{addr}/<family>: {} endpoints, each verifying with its family's \
             scheme and parsing its family's types",
            SPECS.len()
        ),
        format!(
            "  retries    demo schedule {} ms ({} attempts) instead of the family presets, so this \
             takes seconds",
            DEMO_DELAYS_MS.map(|d| d.to_string()).join(", "),
            policy.max_attempts()
        ),
        format!(
            "  faults     zerotier-flaky answers 500 {FLAKY_FAILURES} times; standard-gone answers \
             410 Gone"
        ),
    ])?;

    // Endpoints first (each returns its secret once), then receivers verifying with them.
    let mut router = Router::new();
    let mut rows = Vec::new();
    for spec in &SPECS {
        let tenant = format!("demo-{}-{run_id}", spec.family.name());
        let created = dispatcher
            .create_endpoint(
                NewEndpoint::new(&tenant, spec.family, format!("http://{addr}/{}", spec.path))
                    .retry(policy.clone())
                    .description(format!("hookwire demo: {}", spec.path)),
            )
            .await
            .map_err(|e| CliError::failed(format!("cannot register {}: {e}", spec.path)))?;
        let issued = created
            .secret
            .as_ref()
            .ok_or_else(|| CliError::failed(format!("{} was created unsigned", spec.path)))?;
        let scheme = created
            .info
            .endpoint
            .scheme
            .clone()
            .ok_or_else(|| CliError::failed(format!("{} was created unsigned", spec.path)))?;
        let receiver = Receiver::new(&scheme, std::slice::from_ref(&issued.verification))
            .map_err(failed)?
            .with_family(spec.family);
        let receiver = Arc::new(Inbox {
            receiver,
            mode: spec.mode,
            failures_left: AtomicU32::new(FLAKY_FAILURES),
            seen: Mutex::new(Seen::default()),
        });
        router = router.route(
            &format!("/{}", spec.path),
            post(receive).with_state(Route(Arc::clone(&receiver))),
        );
        rows.push(Row {
            spec,
            tenant,
            endpoint_id: created.id().to_owned(),
            receiver,
        });
    }
    let zitadel_key = Scheme::Zitadel.generate_secret().map_err(failed)?;
    let target =
        Receiver::new(&Scheme::Zitadel, std::slice::from_ref(&zitadel_key)).map_err(failed)?;
    router = router.route("/zitadel-target", post(zitadel_target).with_state(target));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await
    });
    dispatcher.start().map_err(failed)?;

    // The batch: every family's tenant gets `events` messages; each fans out to the
    // tenant's endpoints.
    let progress = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("  {spinner} [{bar:40}] {pos}/{len} deliveries settled {msg}")
    {
        progress.set_style(style.progress_chars("=> "));
    }
    progress.set_message("(sending)");
    let mut sent_at: HashMap<String, Instant> = HashMap::new();
    // Tenant → ids of the messages sent to it, in order.
    let mut sent: HashMap<String, Vec<String>> = HashMap::new();
    let mut tenants: Vec<(&str, Family)> = Vec::new();
    for row in &rows {
        if !tenants.iter().any(|(t, _)| *t == row.tenant) {
            tenants.push((&row.tenant, row.spec.family));
        }
    }
    for i in 0..args.events {
        for (tenant, family) in &tenants {
            let body = sample(*family, i, run_id);
            let event = hookwire_events::parse(*family, &body).map_err(|e| {
                CliError::failed(format!("demo {family} sample does not parse: {e}"))
            })?;
            let t0 = Instant::now();
            match dispatcher
                .send_event(tenant, &event)
                .await
                .map_err(failed)?
            {
                EnqueueResult::Created {
                    message_id,
                    deliveries,
                } => {
                    sent.entry((*tenant).to_owned())
                        .or_default()
                        .push(message_id.clone());
                    sent_at.insert(message_id, t0);
                    progress.inc_length(deliveries as u64);
                }
                other => {
                    return Err(CliError::failed(format!(
                        "{other:?}: stored as a duplicate, not as a new message"
                    )));
                }
            }
        }
    }
    progress.set_message("");

    // Wait until every delivery is delivered or failed.
    let deadline = Instant::now() + SETTLE_DEADLINE;
    loop {
        let mut settled = 0u64;
        let mut total = 0u64;
        for row in &rows {
            for d in endpoint_deliveries(&dispatcher, &row.endpoint_id).await? {
                total += 1;
                if matches!(d.state, DeliveryState::Delivered | DeliveryState::Failed) {
                    settled += 1;
                }
            }
        }
        progress.set_length(total);
        progress.set_position(settled);
        if settled == total || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    progress.finish_and_clear();

    // The summary.
    let mut problems = Vec::new();
    let mut table_rows = vec![
        [
            "FAMILY",
            "ENDPOINT",
            "SENT",
            "DELIVERED",
            "RETRIES",
            "FAILED",
            "VERIFIED",
            "P50 MS",
            "MAX MS",
        ]
        .map(str::to_owned),
    ];
    let mut notes = Vec::new();
    for row in &rows {
        let deliveries = endpoint_deliveries(&dispatcher, &row.endpoint_id).await?;
        let disabled = match dispatcher
            .get_endpoint(&row.endpoint_id)
            .await
            .map_err(failed)?
        {
            Some(found) => match found.endpoint.status {
                EndpointStatus::Disabled { reason, .. } => Some(reason),
                _ => None,
            },
            None => {
                problems.push(format!(
                    "{}: endpoint missing from the store",
                    row.spec.path
                ));
                None
            }
        };
        let o = outcome(row, &deliveries, &sent_at);
        let (p50, max) = percentiles(&o.latencies_ms);
        table_rows.push([
            row.spec.family.name().to_owned(),
            row.spec.path.to_owned(),
            o.deliveries.to_string(),
            o.delivered.to_string(),
            o.retries.to_string(),
            o.failed.to_string(),
            o.verified.to_string(),
            p50,
            max,
        ]);
        let tenant_sent = sent.get(&row.tenant).cloned().unwrap_or_default();
        problems.extend(losses(&facts(
            row,
            &deliveries,
            tenant_sent,
            disabled.clone(),
        )));
        match (row.spec.mode, disabled) {
            (Mode::Flaky, _) => notes.push(format!(
                "  {}: answered 500 {FLAKY_FAILURES} times; the dispatcher retried ({} retries) \
                 and delivered everything",
                row.spec.path, o.retries
            )),
            (Mode::Gone, Some(reason)) => notes.push(format!(
                "  {}: disabled by the dispatcher ({reason}); its {} deliveries failed on \
                 purpose and later sends skip it",
                row.spec.path, o.failed
            )),
            _ => {}
        }
    }
    print_line("")?;
    print_lines(table(&table_rows))?;
    print_line(
        "  (retries: attempts after the first; verified: delivered and verified on receipt by the receiver; latency: send() to verified receipt)",
    )?;
    print_lines(notes)?;

    // One ZITADEL synchronous execution.
    print_line("")?;
    match zitadel_execution(addr, zitadel_key.expose_secret()).await {
        Ok(lines) => print_lines(lines)?,
        Err(e) => problems.push(format!("ZITADEL execution: {e}")),
    }

    let total: usize = sent_at.len();
    print_line("")?;
    let verdict = verdict(problems, total, started, temporary, db);
    if args.serve {
        serve_portal(&dispatcher, &rows, args.addr).await?;
    }
    dispatcher.shutdown(Duration::from_secs(2)).await;
    let _ = stop_tx.send(());
    let _ = server.await;
    verdict
}

/// The demo's last lines, and its result.
fn verdict(
    problems: Vec<String>,
    total: usize,
    started: Instant,
    temporary: bool,
    db: &std::path::Path,
) -> Result<(), CliError> {
    if problems.is_empty() {
        print_line(&format!(
            "ok: {total} messages, every delivery to a live endpoint delivered and verified on \
             receipt, nothing lost ({:.1} s)",
            started.elapsed().as_secs_f64()
        ))?;
        if !temporary {
            print_line(&format!(
                "inspect it: hookwire deliveries --db {} list",
                db.display()
            ))?;
        }
        Ok(())
    } else {
        for p in &problems {
            eprintln!("hookwire demo: FAILED {p}");
        }
        Err(CliError::failed(format!(
            "demo failed: {} problem(s) ({:.1} s)",
            problems.len(),
            started.elapsed().as_secs_f64()
        )))
    }
}

/// `--serve`: the API and the portal over the demo's dispatcher (its receivers keep running),
/// one sign-in token per demo tenant, until Ctrl-C.
async fn serve_portal(
    dispatcher: &Dispatcher,
    rows: &[Row],
    addr: std::net::SocketAddr,
) -> Result<(), CliError> {
    let mut tokens = hookwire_api::BearerTokens::new();
    let mut lines = Vec::new();
    for row in rows {
        let token = tokens.generate(row.tenant.clone()).map_err(failed)?;
        let what = match row.spec.mode {
            Mode::Flaky => "retries, then delivered",
            Mode::Gone => "a disabled endpoint (410 Gone)",
            Mode::Healthy => "deliveries and their attempts",
        };
        lines.push(format!("  {:<16} {token}  ({what})", row.spec.path));
    }
    let state = hookwire_api::ApiState::new(dispatcher.clone(), tokens);
    let config = hookwire_api::portal::PortalConfig::new()
        .map_err(failed)?
        .secure_cookies(false);
    let app = hookwire_api::app(state, config);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::failed(format!("cannot listen on {addr}: {e}")))?;
    let addr = listener.local_addr().map_err(failed)?;
    print_line("")?;
    print_line(&format!(
        "portal: http://{addr}/portal (sign in with one tenant's token; API: http://{addr}/v1)"
    ))?;
    print_lines(lines)?;
    print_line("serving until Ctrl-C")?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(failed)
}

/// Every delivery of one endpoint.
async fn endpoint_deliveries(
    dispatcher: &Dispatcher,
    endpoint_id: &str,
) -> Result<Vec<hookwire_dispatch::model::Delivery>, CliError> {
    dispatcher
        .deliveries(&DeliveryFilter {
            endpoint_id: Some(endpoint_id.to_owned()),
            limit: Some(100_000),
            ..DeliveryFilter::default()
        })
        .await
        .map_err(failed)
}

/// Counts one row's deliveries for the table; latency is send() to verified receipt.
fn outcome(
    row: &Row,
    deliveries: &[hookwire_dispatch::model::Delivery],
    sent_at: &HashMap<String, Instant>,
) -> Outcome {
    let seen = row.receiver.seen();
    let mut o = Outcome {
        deliveries: deliveries.len(),
        delivered: 0,
        failed: 0,
        retries: 0,
        verified: 0,
        latencies_ms: Vec::new(),
    };
    for d in deliveries {
        o.retries += u64::from(d.attempts.saturating_sub(1));
        match d.state {
            DeliveryState::Delivered => {
                o.delivered += 1;
                if let Some(at) = seen.accepted.get(&d.message_id) {
                    o.verified += 1;
                    if let Some(t0) = sent_at.get(&d.message_id) {
                        let ms = at.saturating_duration_since(*t0).as_millis();
                        o.latencies_ms.push(u64::try_from(ms).unwrap_or(u64::MAX));
                    }
                }
            }
            DeliveryState::Failed => o.failed += 1,
            DeliveryState::Pending | DeliveryState::InFlight => {}
        }
    }
    o
}

/// The plain facts about one row for [`losses`].
fn facts(
    row: &Row,
    deliveries: &[hookwire_dispatch::model::Delivery],
    sent: Vec<String>,
    disabled: Option<String>,
) -> Facts {
    let seen = row.receiver.seen();
    Facts {
        endpoint: row.spec.path.to_owned(),
        mode: row.spec.mode,
        sent,
        stored: deliveries
            .iter()
            .map(|d| (d.message_id.clone(), d.state))
            .collect(),
        accepted: seen.accepted.keys().cloned().collect(),
        rejected: seen.rejected.clone(),
        unparsed: seen.unparsed,
        retries: deliveries
            .iter()
            .map(|d| u64::from(d.attempts.saturating_sub(1)))
            .sum(),
        disabled,
    }
}

/// The loss check for one endpoint: one line per problem, each naming the endpoint and the
/// count; empty when nothing was lost.
///
/// A live (healthy or flaky) endpoint must hold exactly one delivery per message sent to its
/// tenant, each delivered, and its receiver must have verified and accepted every one of
/// those messages at least once. The 410 endpoint must be disabled with every delivery
/// failed. Any receiver seeing a request fail verification or a body not parse is a problem.
fn losses(f: &Facts) -> Vec<String> {
    let ep = &f.endpoint;
    let mut out = Vec::new();
    let sent: HashSet<&str> = f.sent.iter().map(String::as_str).collect();
    let accepted: HashSet<&str> = f.accepted.iter().map(String::as_str).collect();
    let mut by_message: HashMap<&str, Vec<DeliveryState>> = HashMap::new();
    for (id, state) in &f.stored {
        by_message.entry(id.as_str()).or_default().push(*state);
    }
    if let Some(first) = f.rejected.first() {
        out.push(format!(
            "{ep}: {} requests failed verification (first: {first})",
            f.rejected.len()
        ));
    }
    if f.unparsed > 0 {
        out.push(format!(
            "{ep}: {} verified bodies did not parse",
            f.unparsed
        ));
    }
    let unexpected = f
        .stored
        .iter()
        .filter(|(id, _)| !sent.contains(id.as_str()))
        .count();
    if unexpected > 0 {
        out.push(format!(
            "{ep}: {unexpected} deliveries in the store for messages the demo did not send"
        ));
    }
    let n = f.sent.len();
    match f.mode {
        Mode::Healthy | Mode::Flaky => {
            let (mut missing, mut doubled, mut pending, mut failed, mut unreceived) =
                (0, 0, 0, 0, 0);
            for id in &f.sent {
                match by_message.get(id.as_str()) {
                    None => missing += 1,
                    Some(states) => {
                        if states.len() > 1 {
                            doubled += 1;
                        }
                        if !states.contains(&DeliveryState::Delivered) {
                            if states.contains(&DeliveryState::Failed) {
                                failed += 1;
                            } else {
                                pending += 1;
                            }
                        }
                    }
                }
                if !accepted.contains(id.as_str()) {
                    unreceived += 1;
                }
            }
            if missing > 0 {
                out.push(format!(
                    "{ep}: {missing} of {n} messages sent to its tenant have no delivery in the \
                     store"
                ));
            }
            if doubled > 0 {
                out.push(format!(
                    "{ep}: {doubled} of {n} messages have more than one delivery in the store"
                ));
            }
            if failed > 0 {
                out.push(format!("{ep}: {failed} of {n} deliveries failed"));
            }
            if pending > 0 {
                out.push(format!(
                    "{ep}: {pending} of {n} deliveries still pending after {} s",
                    SETTLE_DEADLINE.as_secs()
                ));
            }
            if unreceived > 0 {
                out.push(format!(
                    "{ep}: {unreceived} of {n} messages never verified and accepted by the \
                     receiver"
                ));
            }
            if let Some(reason) = &f.disabled {
                out.push(format!("{ep}: disabled by the dispatcher ({reason})"));
            }
            if f.mode == Mode::Flaky && f.retries < u64::from(FLAKY_FAILURES) {
                out.push(format!(
                    "{ep}: only {} retries for {FLAKY_FAILURES} failures",
                    f.retries
                ));
            }
        }
        Mode::Gone => {
            if f.disabled.is_none() {
                out.push(format!("{ep}: not disabled after 410 Gone"));
            }
            let total = f.stored.len();
            let delivered = f
                .stored
                .iter()
                .filter(|(_, s)| *s == DeliveryState::Delivered)
                .count();
            let unsettled = f
                .stored
                .iter()
                .filter(|(_, s)| matches!(s, DeliveryState::Pending | DeliveryState::InFlight))
                .count();
            if delivered > 0 {
                out.push(format!(
                    "{ep}: {delivered} of {total} deliveries to the 410 endpoint counted as \
                     delivered"
                ));
            }
            if unsettled > 0 {
                out.push(format!(
                    "{ep}: {unsettled} of {total} deliveries to the 410 endpoint still pending \
                     after {} s",
                    SETTLE_DEADLINE.as_secs()
                ));
            }
            if !accepted.is_empty() {
                out.push(format!(
                    "{ep}: the 410 receiver accepted {} messages",
                    accepted.len()
                ));
            }
        }
    }
    out
}

/// p50 and max in ms, `-` when empty.
fn percentiles(values: &[u64]) -> (String, String) {
    let mut v = values.to_vec();
    v.sort_unstable();
    match (v.get(v.len() / 2), v.last()) {
        (Some(p50), Some(max)) => (p50.to_string(), max.to_string()),
        _ => ("-".to_owned(), "-".to_owned()),
    }
}

/// The demo's short retry schedule (see [`DEMO_DELAYS_MS`]).
fn demo_policy() -> Result<RetryPolicy, CliError> {
    RetryPolicy::builder(Backoff::Schedule {
        delays: DEMO_DELAYS_MS.map(Duration::from_millis).to_vec(),
    })
    .timeout(Some(Duration::from_secs(5)))
    .build()
    .map_err(|e| CliError::failed(format!("demo retry policy: {e}")))
}

/// Runs one ZITADEL request execution (before `AddHumanUser`) against the local restCall
/// target and returns the lines to print.
async fn zitadel_execution(
    addr: std::net::SocketAddr,
    signing_key: &str,
) -> Result<Vec<String>, String> {
    let loopback: IpCidr = "127.0.0.0/8".parse().map_err(|e| format!("{e}"))?;
    let transport = Transport::new(
        TransportConfig::default().guard(Arc::new(SsrfGuard::new().allow(loopback))),
    )
    .map_err(|e| e.to_string())?;
    let mut target = Target::rest_call(
        "demo-enrich-user",
        format!("http://{addr}/zitadel-target"),
        Duration::from_secs(5),
        true,
    );
    target.id = Some("demo-target-1".to_owned());
    target.signing_key = Some(signing_key.to_owned());
    let execution = Execution::new(
        Condition::Request(MethodCondition::Method(ADD_HUMAN.to_owned())),
        ["demo-target-1".to_owned()],
    );
    let executor = Executor::new(transport, [target], [execution])
        .map_err(|e| e.to_string())?
        .with_deadline(Duration::from_secs(10));
    let request = json!({
        "profile": { "givenName": "Mini", "familyName": "Mouse" },
        "email": { "email": "mini@mouse.com" }
    });
    let modified = executor
        .execute_request(ADD_HUMAN, request.clone())
        .await
        .map_err(|e| e.to_string())?;
    if modified.pointer("/profile/displayName").is_none() {
        return Err("the target's modification did not come back".to_owned());
    }
    let pretty = serde_json::to_string_pretty(&modified).map_err(|e| e.to_string())?;
    let mut lines = vec![
        format!(
            "ZITADEL execution: request before {ADD_HUMAN} -> restCall target (signed \
             ZITADEL-Signature, verified by the target) -> modified request:"
        ),
        format!("  sent     {request}"),
    ];
    lines.extend(pretty.lines().map(|l| format!("  {l}")));
    Ok(lines)
}

/// The `i`-th demo event of a family, as the vendor sends it.
fn sample(family: Family, i: u32, run: &str) -> Vec<u8> {
    let body: Value = match family {
        Family::ZeroTier => json!({
            "hook_id": format!("demo-hook-{run}"),
            "org_id": "1bb4dc96-f311-4c4a-ac93-551cbc0fa3da",
            "hook_type": "NETWORK_JOIN",
            "network_id": "19d9808567a17ccf",
            "member_id": format!("{:010x}", 0xa0_2505_e500_u64 + u64::from(i)),
        }),
        Family::Zta => json!({
            "event": "pageview",
            "timestamp": "2024-12-12T16:30:00.000Z",
            "data": {
                "siteId": "site_abc123",
                "path": format!("/blog/article-{i}"),
                "referrer": "https://google.com",
                "country": "US",
                "device": "desktop",
                "browser": "Chrome"
            }
        }),
        Family::HubMessage => json!({
            "message": {
                "_id": format!("019E6F1A93FE78DCB54332F9FF0C{i:04X}"),
                "tenant": "019DCEB3E93B7077B2447616B6DC8B91",
                "channel_id": "019E4C54B1B375A28970B605CA9B03C3",
                "created": 1_779_980_473_342_u64 + u64::from(i),
                "metadata": { "@class": ".Metadata", "from_me": false, "middleware": "META_WHATSAPP", "moment": 1_779_980_473_342_u64 },
                "sender": { "@class": ".Sender", "identifier": "5544936181064", "name": "Demo" },
                "recipient": { "@class": ".Recipient", "identifier": "BARLING_SYSTEM" },
                "contents": [{ "@class": ".TextContent", "message": format!("hello {i}"), "type": "TEXT" }],
                "attachments": [],
                "actions": []
            },
            "messageEventType": "NEW_MESSAGE"
        }),
        Family::Zitadel => json!({
            "aggregateID": format!("33649480993603{i:04}"),
            "aggregateType": "user",
            "resourceOwner": "336392597046099971",
            "instanceID": "336392597046034435",
            "version": "v2",
            "sequence": 1,
            "event_type": "user.human.added",
            "created_at": "2025-09-05T08:55:36.156333Z",
            "userID": "336392597046755331",
            "event_payload": { "email": "mini@mouse.com", "userName": format!("mini{i}@mouse.com") }
        }),
        Family::Zentitle => json!({
            "eventId": format!("event_demo{run}{i}"),
            "eventDate": "2025-06-06T11:39:22.739326Z",
            "eventCode": "customer.created",
            "resourceId": format!("cust_demo{i}"),
            "callAttempt": 1,
            "payload": { "customerId": format!("cust_demo{i}"), "name": "Acme" }
        }),
        Family::StandardWebhooks => json!({
            "type": "invoice.paid",
            "timestamp": "2025-01-01T00:00:00Z",
            "data": { "id": format!("inv_{run}_{i}"), "amount": 1200 + i }
        }),
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::failed(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_parses_as_its_family_with_a_subscribable_type() {
        for spec in &SPECS {
            for i in [0, 7] {
                let body = sample(spec.family, i, "abcd1234");
                let event = hookwire_events::parse(spec.family, &body)
                    .unwrap_or_else(|e| panic!("{}: {e}", spec.family));
                let t = event.subscription_type();
                assert!(!t.is_empty(), "{}", spec.family);
                assert!(
                    spec.family.is_known_event_type(t),
                    "{}: {t} is not a known type",
                    spec.family
                );
            }
        }
    }

    #[test]
    fn demo_policy_is_short() {
        let policy = demo_policy().unwrap();
        assert_eq!(policy.max_attempts(), 5);
        assert!(policy.schedule().iter().sum::<Duration>() < Duration::from_secs(2));
    }

    /// The facts of a complete run of `events` messages for an endpoint in `mode`.
    fn complete(mode: Mode, events: usize) -> Facts {
        let sent: Vec<String> = (0..events).map(|i| format!("msg_{i}")).collect();
        let (stored, accepted, disabled, retries) = match mode {
            Mode::Gone => (
                vec![(sent[0].clone(), DeliveryState::Failed)],
                Vec::new(),
                Some("endpoint answered 410 Gone".to_owned()),
                0,
            ),
            Mode::Healthy | Mode::Flaky => (
                sent.iter()
                    .map(|id| (id.clone(), DeliveryState::Delivered))
                    .collect(),
                sent.clone(),
                None,
                if mode == Mode::Flaky {
                    u64::from(FLAKY_FAILURES)
                } else {
                    0
                },
            ),
        };
        Facts {
            endpoint: "zta".to_owned(),
            mode,
            sent,
            stored,
            accepted,
            rejected: Vec::new(),
            unparsed: 0,
            retries,
            disabled,
        }
    }

    /// The single problem `losses` reports.
    fn one_loss(f: &Facts) -> String {
        let found = losses(f);
        assert_eq!(found.len(), 1, "{found:?}");
        found[0].clone()
    }

    #[test]
    fn a_complete_run_loses_nothing() {
        for mode in [Mode::Healthy, Mode::Flaky, Mode::Gone] {
            assert_eq!(
                losses(&complete(mode, 20)),
                Vec::<String>::new(),
                "{mode:?}"
            );
        }
        // Receipts may repeat (at-least-once): a message accepted twice is still one.
        let mut f = complete(Mode::Healthy, 4);
        f.accepted.push("msg_1".to_owned());
        assert!(losses(&f).is_empty());
    }

    #[test]
    fn fewer_deliveries_than_messages_is_a_loss() {
        // The fan-out skipped the endpoint for one message: the store has 3 rows for 4 sent,
        // and the receiver never saw it either.
        let mut f = complete(Mode::Healthy, 4);
        f.stored.remove(2);
        f.accepted.retain(|id| id != "msg_2");
        let found = losses(&f);
        assert_eq!(
            found,
            [
                "zta: 1 of 4 messages sent to its tenant have no delivery in the store",
                "zta: 1 of 4 messages never verified and accepted by the receiver",
            ],
        );
        // No deliveries at all: every message is counted.
        let mut f = complete(Mode::Flaky, 4);
        f.stored.clear();
        assert!(
            losses(&f)
                .iter()
                .any(|p| p
                    == "zta: 4 of 4 messages sent to its tenant have no delivery in the store"),
            "{:?}",
            losses(&f)
        );
        // A delivery for the wrong message does not make up for a missing one.
        let mut f = complete(Mode::Healthy, 4);
        f.stored[3].0 = "msg_other".to_owned();
        let found = losses(&f);
        assert!(
            found.contains(
                &"zta: 1 deliveries in the store for messages the demo did not send".to_owned()
            ),
            "{found:?}"
        );
        assert!(
            found.contains(
                &"zta: 1 of 4 messages sent to its tenant have no delivery in the store".to_owned()
            ),
            "{found:?}"
        );
    }

    #[test]
    fn a_delivery_left_pending_or_failed_is_a_loss() {
        for (state, want) in [
            (
                DeliveryState::Pending,
                format!(
                    "zta: 1 of 3 deliveries still pending after {} s",
                    SETTLE_DEADLINE.as_secs()
                ),
            ),
            (
                DeliveryState::InFlight,
                format!(
                    "zta: 1 of 3 deliveries still pending after {} s",
                    SETTLE_DEADLINE.as_secs()
                ),
            ),
            (
                DeliveryState::Failed,
                "zta: 1 of 3 deliveries failed".to_owned(),
            ),
        ] {
            // Even when the receiver accepted it, the store must say delivered.
            let mut f = complete(Mode::Healthy, 3);
            f.stored[1].1 = state;
            assert_eq!(one_loss(&f), want, "{state:?}");
        }
        // Delivered in the store but never accepted by the receiver.
        let mut f = complete(Mode::Healthy, 3);
        f.accepted.retain(|id| id != "msg_0");
        assert_eq!(
            one_loss(&f),
            "zta: 1 of 3 messages never verified and accepted by the receiver"
        );
        // Two deliveries of one message to one endpoint.
        let mut f = complete(Mode::Healthy, 3);
        f.stored
            .push(("msg_0".to_owned(), DeliveryState::Delivered));
        assert_eq!(
            one_loss(&f),
            "zta: 1 of 3 messages have more than one delivery in the store"
        );
    }

    #[test]
    fn a_message_failing_verification_is_a_loss() {
        let mut f = complete(Mode::Healthy, 5);
        f.rejected.push("signature mismatch".to_owned());
        assert_eq!(
            one_loss(&f),
            "zta: 1 requests failed verification (first: signature mismatch)"
        );
        let mut f = complete(Mode::Flaky, 5);
        f.unparsed = 2;
        assert_eq!(one_loss(&f), "zta: 2 verified bodies did not parse");
    }

    #[test]
    fn live_and_gone_endpoints_have_their_own_rules() {
        let mut f = complete(Mode::Flaky, 5);
        f.retries = 1;
        assert_eq!(one_loss(&f), "zta: only 1 retries for 3 failures");
        let mut f = complete(Mode::Healthy, 5);
        f.disabled = Some("manual".to_owned());
        assert_eq!(one_loss(&f), "zta: disabled by the dispatcher (manual)");

        let mut f = complete(Mode::Gone, 5);
        f.disabled = None;
        assert_eq!(one_loss(&f), "zta: not disabled after 410 Gone");
        let mut f = complete(Mode::Gone, 5);
        f.stored
            .push(("msg_1".to_owned(), DeliveryState::Delivered));
        assert_eq!(
            one_loss(&f),
            "zta: 1 of 2 deliveries to the 410 endpoint counted as delivered"
        );
        let mut f = complete(Mode::Gone, 5);
        f.stored[0].1 = DeliveryState::Pending;
        assert_eq!(
            one_loss(&f),
            format!(
                "zta: 1 of 1 deliveries to the 410 endpoint still pending after {} s",
                SETTLE_DEADLINE.as_secs()
            )
        );
    }

    #[test]
    fn percentiles_of_nothing_and_something() {
        assert_eq!(percentiles(&[]), ("-".to_owned(), "-".to_owned()));
        assert_eq!(percentiles(&[5, 1, 3]), ("3".to_owned(), "5".to_owned()));
    }
}
