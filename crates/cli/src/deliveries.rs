//! `hookwire deliveries --db FILE list | show ID | redeliver ID | recover --endpoint ID
//! --since TIME | purge --older-than AGE | reencrypt --key-file F`: inspect, repair and
//! trim the embedded store.
//!
//! `redeliver` and `recover` only put deliveries back in the queue (due now); the next
//! dispatcher running on this store delivers them. `reencrypt` moves every endpoint record
//! to the newest key of the key file. None of them reads a secret, so only `reencrypt` needs
//! the keys.

use std::sync::Arc;

use hookwire_dispatch::model::{Attempt, Delivery, DeliveryFilter, DeliveryState};
use hookwire_dispatch::store::SqliteStore;
use hookwire_dispatch::store::{PurgeCutoffs, Store};
use hookwire_dispatch::{Dispatcher, Retention};

use crate::cli::{DeliveriesArgs, DeliveriesCommand};
use crate::error::CliError;
use crate::io::{print_lines, read_key_file};
use crate::time::{parse_time, rfc3339_millis, unix_now_millis};

pub(crate) async fn run(args: DeliveriesArgs) -> Result<(), CliError> {
    // Opening creates a missing file: refuse instead, a typo must not look like an empty store.
    if !args.db.is_file() {
        return Err(CliError::usage(format!(
            "no store at {}: give the file a dispatcher or `hookwire demo --db` wrote",
            args.db.display()
        )));
    }
    let store = SqliteStore::open(&args.db)
        .map_err(|e| CliError::failed(format!("cannot open {}: {e}", args.db.display())))?;
    let mut builder = Dispatcher::builder(Arc::new(store));
    if let DeliveriesCommand::Reencrypt { key_file, .. } = &args.command {
        builder = builder.encryption_keys(read_key_file(key_file)?);
    }
    // Never started: no workers, it only reads and re-queues.
    let dispatcher = builder.build().map_err(failed)?;
    match args.command {
        DeliveriesCommand::List {
            state,
            endpoint,
            limit,
        } => list(&dispatcher, state.as_deref(), endpoint, limit).await,
        DeliveriesCommand::Show { id } => show(&dispatcher, &id).await,
        DeliveriesCommand::Redeliver { id } => {
            dispatcher
                .redeliver(&id)
                .await
                .map_err(|e| CliError::failed(format!("cannot redeliver {id}: {e}")))?;
            print_lines([format!(
                "re-queued {id}, due now; the next dispatcher running on this store delivers it"
            )])
        }
        DeliveriesCommand::Recover { endpoint, since } => {
            let since_ms = parse_time(&since, unix_now_millis()).map_err(CliError::usage)?;
            let n = dispatcher
                .recover(&endpoint, since_ms)
                .await
                .map_err(|e| CliError::failed(format!("cannot recover {endpoint}: {e}")))?;
            print_lines([format!(
                "re-queued {n} failed deliveries of {endpoint} created since {}",
                rfc3339_millis(since_ms)
            )])
        }
        DeliveriesCommand::Purge { older_than } => {
            purge(dispatcher.store().as_ref(), &older_than).await
        }
        DeliveriesCommand::Reencrypt { batch, .. } => {
            let report = dispatcher
                .reencrypt(batch as usize)
                .await
                .map_err(|e| CliError::failed(format!("reencrypt stopped: {e}")))?;
            print_lines([format!(
                "{} endpoint records read, {} rewritten under the newest key ({} were in the \
                 clear), {} transactions; every record is now under the newest key",
                report.examined, report.rewritten, report.migrated, report.batches
            )])
        }
    }
}

async fn purge(store: &dyn Store, older_than: &str) -> Result<(), CliError> {
    let cutoff = parse_time(older_than, unix_now_millis()).map_err(CliError::usage)?;
    let report = Retention::new()
        .purge(store, &PurgeCutoffs::new(cutoff, cutoff))
        .await
        .map_err(|e| CliError::failed(format!("purge failed: {e}")))?;
    print_lines([format!(
        "deleted {} messages ({} deliveries, {} attempts) that ended before {}",
        report.messages,
        report.deliveries,
        report.attempts,
        rfc3339_millis(cutoff)
    )])
}

async fn list(
    dispatcher: &Dispatcher,
    state: Option<&str>,
    endpoint: Option<String>,
    limit: usize,
) -> Result<(), CliError> {
    let state = match state {
        Some(s) => Some(DeliveryState::parse(s).ok_or_else(|| {
            CliError::usage(format!(
                "unknown state `{s}`: use pending, in_flight, delivered or failed"
            ))
        })?),
        None => None,
    };
    let filter = DeliveryFilter {
        endpoint_id: endpoint,
        state,
        limit: Some(limit),
        ..DeliveryFilter::default()
    };
    let deliveries = dispatcher.deliveries(&filter).await.map_err(failed)?;
    let mut rows = vec![[
        "DELIVERY".to_owned(),
        "STATE".to_owned(),
        "ATTEMPTS".to_owned(),
        "EVENT".to_owned(),
        "ENDPOINT".to_owned(),
        "CREATED".to_owned(),
        "LAST ERROR".to_owned(),
    ]];
    for d in &deliveries {
        let event = dispatcher
            .message(&d.message_id)
            .await
            .map_err(failed)?
            .map(|m| m.event_type)
            .unwrap_or_default();
        rows.push([
            d.id.clone(),
            d.state.as_str().to_owned(),
            d.attempts.to_string(),
            event,
            d.endpoint_id.clone(),
            rfc3339_millis(d.created_at),
            d.last_error.clone().unwrap_or_default(),
        ]);
    }
    print_lines(table(&rows))?;
    print_lines([format!("{} deliveries", deliveries.len())])
}

async fn show(dispatcher: &Dispatcher, id: &str) -> Result<(), CliError> {
    let (deliveries, message_id) = if id.starts_with("msg_") {
        let filter = DeliveryFilter {
            message_id: Some(id.to_owned()),
            limit: Some(1000),
            ..DeliveryFilter::default()
        };
        (
            dispatcher.deliveries(&filter).await.map_err(failed)?,
            id.to_owned(),
        )
    } else {
        let d = dispatcher
            .delivery(id)
            .await
            .map_err(failed)?
            .ok_or_else(|| CliError::failed(format!("no delivery or message `{id}`")))?;
        let m = d.message_id.clone();
        (vec![d], m)
    };
    let message = dispatcher
        .message(&message_id)
        .await
        .map_err(failed)?
        .ok_or_else(|| CliError::failed(format!("no delivery or message `{id}`")))?;
    let attempts = dispatcher
        .attempts_for_message(&message_id)
        .await
        .map_err(failed)?;
    let mut out = vec![
        format!("message   {}", message.id),
        format!("tenant    {}", message.tenant),
        format!("event     {}", message.event_type),
        format!("created   {}", rfc3339_millis(message.created_at)),
        format!(
            "payload   {} bytes: {}",
            message.payload.len(),
            preview(&message.payload)
        ),
    ];
    for d in &deliveries {
        out.extend(delivery_lines(dispatcher, d, &attempts).await?);
    }
    print_lines(out)
}

async fn delivery_lines(
    dispatcher: &Dispatcher,
    d: &Delivery,
    attempts: &[Attempt],
) -> Result<Vec<String>, CliError> {
    // The URL only, straight from the store: the record's secret fields may be sealed under
    // a key this command was not given, and nothing here needs them.
    let url = dispatcher
        .store()
        .get_endpoint(&d.endpoint_id)
        .await
        .map_err(|e| CliError::failed(e.to_string()))?
        .map(|e| e.url)
        .unwrap_or_else(|| "(endpoint deleted)".to_owned());
    let mut out = vec![
        String::new(),
        format!("delivery  {}", d.id),
        format!("endpoint  {} {url}", d.endpoint_id),
        format!(
            "state     {} after {} attempt(s)",
            d.state.as_str(),
            d.attempts
        ),
    ];
    if d.state == DeliveryState::Pending {
        out.push(format!("next      {}", rfc3339_millis(d.next_attempt_at)));
    }
    if let Some(e) = &d.last_error {
        out.push(format!("last      {e}"));
    }
    for a in attempts.iter().filter(|a| a.delivery_id == d.id) {
        out.push(format!(
            "  #{} {} {} in {} ms{}",
            a.number,
            rfc3339_millis(a.at),
            attempt_result(a),
            a.duration_ms,
            a.response_snippet
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| format!(": {}", preview(s.as_bytes())))
                .unwrap_or_default()
        ));
    }
    Ok(out)
}

/// What an attempt got: `HTTP <status>`, the transport error, or `no response`.
pub(crate) fn attempt_result(a: &Attempt) -> String {
    match (a.status, &a.error) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(e)) => e.clone(),
        (None, None) => "no response".to_owned(),
    }
}

/// The first 120 characters of a body on one line.
fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match one_line.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

/// Left-aligned columns separated by two spaces.
pub(crate) fn table<const N: usize>(rows: &[[String; N]]) -> Vec<String> {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                line.push_str(cell);
                if i + 1 < N {
                    line.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
                }
            }
            line.trim_end().to_owned()
        })
        .collect()
}

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::failed(e.to_string())
}
