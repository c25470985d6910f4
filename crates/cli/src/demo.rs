//! `hookwire demo [--db FILE]`: the whole system on embedded defaults, on 127.0.0.1 only.
//!
//! Local receivers for every family verify each request with the family's scheme and parse it
//! with the family's types; a dispatcher on the embedded SQLite store delivers a batch of
//! events of every family to them; one receiver answers 500 a few times (retries), one
//! answers 410 (auto-disable); a ZITADEL request execution runs against a local restCall
//! target. The summary table says what was delivered, retried, failed and verified, and the
//! exit code is 1 when anything was lost or failed to verify.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use hookwire_dispatch::model::{
    DeliveryFilter, DeliveryState, EndpointStatus, EnqueueResult, new_id,
};
use hookwire_dispatch::registry::default_scheme;
use hookwire_dispatch::ssrf::{IpCidr, SsrfGuard};
use hookwire_dispatch::store::SqliteStore;
use hookwire_dispatch::transport::{Transport, TransportConfig};
use hookwire_dispatch::zitadel::{Executor, Incoming, Reply, TargetReceiver};
use hookwire_dispatch::{Dispatcher, NewEndpoint};
use hookwire_events::Family;
use hookwire_events::zitadel::{Condition, Execution, MethodCondition, Target};
use hookwire_retry::{Backoff, RetryPolicy};
use hookwire_signature::{Scheme, Verifier};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::cli::DemoArgs;
use crate::deliveries::table;
use crate::error::CliError;
use crate::io::{print_line, print_lines};

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

struct Receiver {
    family: Family,
    mode: Mode,
    verifier: Verifier,
    failures_left: AtomicU32,
    seen: Mutex<Seen>,
}

impl Receiver {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn receive(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let now = Instant::now();
    let mut seen = receiver.seen();
    seen.requests += 1;
    if receiver.mode == Mode::Gone {
        return StatusCode::GONE;
    }
    if let Err(e) = receiver.verifier.verify(&body, &headers) {
        seen.rejected.push(e.to_string());
        return StatusCode::UNAUTHORIZED;
    }
    if hookwire_events::parse(receiver.family, &body).is_err() {
        seen.unparsed += 1;
        return StatusCode::BAD_REQUEST;
    }
    if receiver.mode == Mode::Flaky
        && receiver
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

/// The ZITADEL restCall target: verifies `ZITADEL-Signature`, then enriches the request.
async fn zitadel_target(
    State(target): State<Arc<TargetReceiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(header::HeaderName, &'static str); 1], Vec<u8>) {
    let reply = match target.receive(&headers, &body) {
        Ok(Incoming::Request(call)) => {
            let mut request = call.request.unwrap_or_else(|| json!({}));
            request["profile"]["displayName"] = json!("Mini Mouse (checked by the demo target)");
            request["metadata"] = json!([{ "key": "department", "value": "RW5naW5lZXJpbmc=" }]);
            Reply::message(&request)
        }
        Ok(_) => Reply::forward_error(400, "the demo target handles request executions"),
        Err(_) => Reply::fail(401),
    };
    (
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, Reply::CONTENT_TYPE)],
        reply.body,
    )
}

/// One demo endpoint as registered.
struct Row {
    spec: &'static Spec,
    tenant: String,
    endpoint_id: String,
    receiver: Arc<Receiver>,
}

/// Per-row results.
struct Outcome {
    deliveries: usize,
    delivered: usize,
    failed: usize,
    unsettled: usize,
    retries: u64,
    verified: usize,
    latencies_ms: Vec<u64>,
    problems: Vec<String>,
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
    let dispatcher = Dispatcher::builder(Arc::new(store))
        .allow_loopback_http()
        .poll_interval(Duration::from_millis(50))
        .health_flush_interval(Duration::from_millis(100))
        .build()
        .map_err(failed)?;
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
        let verifier = Verifier::new(
            &default_scheme(spec.family),
            std::slice::from_ref(&issued.verification),
        )
        .map_err(failed)?;
        let receiver = Arc::new(Receiver {
            family: spec.family,
            mode: spec.mode,
            verifier,
            failures_left: AtomicU32::new(FLAKY_FAILURES),
            seen: Mutex::new(Seen::default()),
        });
        router = router.route(
            &format!("/{}", spec.path),
            post(receive).with_state(Arc::clone(&receiver)),
        );
        rows.push(Row {
            spec,
            tenant,
            endpoint_id: created.id().to_owned(),
            receiver,
        });
    }
    let zitadel_key = Scheme::Zitadel.generate_secret().map_err(failed)?;
    let target = Arc::new(TargetReceiver::new(zitadel_key.clone()).map_err(failed)?);
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
                    sent_at.insert(message_id, t0);
                    progress.inc_length(deliveries as u64);
                }
                EnqueueResult::Duplicate { message_id } => {
                    return Err(CliError::failed(format!(
                        "{message_id} was stored as a duplicate"
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
        let o = outcome(&dispatcher, row, &sent_at).await?;
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
        problems.extend(o.problems.iter().map(|p| format!("{}: {p}", row.spec.path)));
        if o.unsettled > 0 {
            problems.push(format!(
                "{}: {} deliveries still pending after {} s",
                row.spec.path,
                o.unsettled,
                SETTLE_DEADLINE.as_secs()
            ));
        }
        match row.spec.mode {
            Mode::Flaky => notes.push(format!(
                "  {}: answered 500 {FLAKY_FAILURES} times; the dispatcher retried ({} retries) \
                 and delivered everything",
                row.spec.path, o.retries
            )),
            Mode::Gone => {
                let status = dispatcher
                    .get_endpoint(&row.endpoint_id)
                    .await
                    .map_err(failed)?
                    .map(|e| e.endpoint.status);
                match status {
                    Some(EndpointStatus::Disabled { reason, .. }) => notes.push(format!(
                        "  {}: disabled by the dispatcher ({reason}); its {} deliveries failed \
                         on purpose and later sends skip it",
                        row.spec.path, o.failed
                    )),
                    _ => problems.push(format!("{}: not disabled after 410 Gone", row.spec.path)),
                }
            }
            Mode::Healthy => {}
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

    dispatcher.shutdown(Duration::from_secs(2)).await;
    let _ = stop_tx.send(());
    let _ = server.await;

    let total: usize = sent_at.len();
    print_line("")?;
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

/// Counts one row's deliveries and checks them against what its receiver saw.
async fn outcome(
    dispatcher: &Dispatcher,
    row: &Row,
    sent_at: &HashMap<String, Instant>,
) -> Result<Outcome, CliError> {
    let deliveries = endpoint_deliveries(dispatcher, &row.endpoint_id).await?;
    let seen = row.receiver.seen();
    let mut o = Outcome {
        deliveries: deliveries.len(),
        delivered: 0,
        failed: 0,
        unsettled: 0,
        retries: 0,
        verified: 0,
        latencies_ms: Vec::new(),
        problems: Vec::new(),
    };
    for d in &deliveries {
        o.retries += u64::from(d.attempts.saturating_sub(1));
        match d.state {
            DeliveryState::Delivered => {
                o.delivered += 1;
                match seen.accepted.get(&d.message_id) {
                    Some(at) => {
                        o.verified += 1;
                        if let Some(t0) = sent_at.get(&d.message_id) {
                            let ms = at.saturating_duration_since(*t0).as_millis();
                            o.latencies_ms.push(u64::try_from(ms).unwrap_or(u64::MAX));
                        }
                    }
                    None => o.problems.push(format!(
                        "{} marked delivered but never verified on receipt",
                        d.message_id
                    )),
                }
            }
            DeliveryState::Failed => o.failed += 1,
            DeliveryState::Pending | DeliveryState::InFlight => o.unsettled += 1,
        }
    }
    if !seen.rejected.is_empty() {
        o.problems.push(format!(
            "{} requests failed verification (first: {})",
            seen.rejected.len(),
            seen.rejected[0]
        ));
    }
    if seen.unparsed > 0 {
        o.problems
            .push(format!("{} verified bodies did not parse", seen.unparsed));
    }
    match row.spec.mode {
        Mode::Healthy | Mode::Flaky => {
            if o.failed > 0 {
                o.problems.push(format!("{} deliveries failed", o.failed));
            }
            if row.spec.mode == Mode::Flaky && o.retries < u64::from(FLAKY_FAILURES) {
                o.problems.push(format!(
                    "only {} retries for {FLAKY_FAILURES} failures",
                    o.retries
                ));
            }
        }
        Mode::Gone => {
            if o.delivered > 0 {
                o.problems
                    .push("a delivery to the 410 endpoint counted as delivered".to_owned());
            }
        }
    }
    Ok(o)
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
    let transport = Transport::new(TransportConfig {
        guard: Arc::new(SsrfGuard::new().allow(loopback)),
        ..TransportConfig::default()
    })
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

    #[test]
    fn percentiles_of_nothing_and_something() {
        assert_eq!(percentiles(&[]), ("-".to_owned(), "-".to_owned()));
        assert_eq!(percentiles(&[5, 1, 3]), ("3".to_owned(), "5".to_owned()));
    }
}
