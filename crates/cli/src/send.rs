//! `hookwire send <url> --scheme S --secret S [--event-type T] [--body FILE] [--retry PRESET]
//! [--allow-loopback]`: one event through the dispatcher, every attempt printed.

use std::sync::Arc;
use std::time::Duration;

use hookwire_dispatch::model::{DeliveryFilter, DeliveryState, EnqueueResult};
use hookwire_dispatch::store::MemoryStore;
use hookwire_dispatch::{Dispatcher, NewEndpoint};
use hookwire_retry::RetryPolicy;
use hookwire_signature::Secret;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{SchemeName, SendArgs};
use crate::error::CliError;
use crate::io::{print_line, read_body, read_text_file};
use crate::keys;
use crate::time::unix_now_millis as now_millis;

/// How often the attempt log is polled while the delivery runs.
const POLL: Duration = Duration::from_millis(20);

pub(crate) async fn run(args: SendArgs) -> Result<(), CliError> {
    let scheme = keys::scheme(args.scheme, args.header_name.as_deref())?;
    let family = keys::family(args.scheme);
    let mut secrets: Vec<Secret> = args.secrets.iter().map(Secret::new).collect();
    for path in &args.keys {
        secrets.push(Secret::new(read_text_file(path)?));
    }
    let mut secrets = secrets.into_iter();
    let first = secrets.next().ok_or_else(|| {
        CliError::usage("give at least one --secret (or --key PEM_FILE for zentitle)")
    })?;
    let policy = match &args.retry {
        Some(name) => RetryPolicy::preset(name).ok_or_else(|| {
            CliError::usage(format!(
                "unknown retry preset `{name}`: use one of {}",
                hookwire_retry::PRESET_NAMES.join(", ")
            ))
        })?,
        None => hookwire_dispatch::registry::default_retry(family),
    };
    let body = read_body(args.body.as_deref())?;
    let event_type = match &args.event_type {
        Some(t) => t.clone(),
        None => default_event_type(args.scheme, &body),
    };

    // An ephemeral in-memory store: this command is one delivery, not a queue to keep.
    let mut builder = Dispatcher::builder(Arc::new(MemoryStore::new()))
        .workers(1)
        .poll_interval(Duration::from_millis(50));
    if args.allow_loopback {
        builder = builder.allow_loopback_http();
    }
    let dispatcher = builder.build().map_err(failed)?;
    let tenant = "hookwire-cli";
    let created = dispatcher
        .create_endpoint(
            NewEndpoint::new(tenant, family, args.url.clone())
                .scheme(Some(scheme.clone()))
                .secret(first)
                .retry(policy.clone()),
        )
        .await
        .map_err(|e| CliError::failed(format!("endpoint refused: {e}")))?;
    for extra in secrets {
        dispatcher
            .rotate_secret_with(created.id(), Some(extra))
            .await
            .map_err(|e| CliError::usage(e.to_string()))?;
    }
    dispatcher.start().map_err(failed)?;
    let message_id = match dispatcher
        .send(tenant, &event_type, body.clone())
        .await
        .map_err(failed)?
    {
        EnqueueResult::Created { message_id, .. } | EnqueueResult::Duplicate { message_id } => {
            message_id
        }
        other => return Err(CliError::failed(format!("not queued: {other:?}"))),
    };
    print_line(&format!(
        "sending {message_id} ({event_type}, {} bytes) to {} signed with {}, retry preset {} \
         ({} attempts at most)",
        body.len(),
        args.url,
        scheme.name(),
        args.retry.as_deref().unwrap_or("family default"),
        policy.max_attempts()
    ))?;
    let outcome = follow(&dispatcher, &message_id).await;
    dispatcher.shutdown(Duration::from_secs(2)).await;
    outcome
}

/// Prints each attempt as it is logged until the delivery is delivered or failed.
async fn follow(dispatcher: &Dispatcher, message_id: &str) -> Result<(), CliError> {
    let filter = DeliveryFilter {
        message_id: Some(message_id.to_owned()),
        ..DeliveryFilter::default()
    };
    let mut printed = 0;
    // Waits between attempts can be long (ZeroTier's reach an hour): a spinner on stderr
    // (drawn only on a terminal) counts down to the next one.
    let mut waiting: Option<ProgressBar> = None;
    loop {
        let attempts = dispatcher
            .attempts_for_message(message_id)
            .await
            .map_err(failed)?;
        let delivery = dispatcher
            .deliveries(&filter)
            .await
            .map_err(failed)?
            .into_iter()
            .next()
            .ok_or_else(|| CliError::failed("the delivery disappeared from the store"))?;
        let done = matches!(
            delivery.state,
            DeliveryState::Delivered | DeliveryState::Failed
        );
        if attempts.len() > printed
            && let Some(bar) = waiting.take()
        {
            bar.finish_and_clear();
        }
        for (i, a) in attempts.iter().enumerate().skip(printed) {
            let what = crate::deliveries::attempt_result(a);
            let last = i + 1 == attempts.len();
            let next = if a.success {
                "delivered".to_owned()
            } else if last && delivery.state == DeliveryState::Pending {
                let wait = (delivery.next_attempt_at - now_millis()).max(0);
                format!("retrying in {:.1} s", wait as f64 / 1000.0)
            } else if last && delivery.state == DeliveryState::Failed {
                format!(
                    "giving up: {}",
                    delivery.last_error.as_deref().unwrap_or("failed")
                )
            } else {
                "retrying".to_owned()
            };
            print_line(&format!(
                "attempt {}: {what} in {} ms; {next}",
                a.number, a.duration_ms
            ))?;
        }
        printed = attempts.len();
        let wait_ms = delivery.next_attempt_at - now_millis();
        if !done && delivery.state == DeliveryState::Pending && printed > 0 && wait_ms > 1_000 {
            let bar = waiting.get_or_insert_with(spinner);
            bar.set_message(format!(
                "attempt {} in {} s",
                printed + 1,
                (wait_ms + 999) / 1_000
            ));
            bar.tick();
        }
        if done {
            if let Some(bar) = waiting.take() {
                bar.finish_and_clear();
            }
            return match delivery.state {
                DeliveryState::Delivered => Ok(()),
                _ => Err(CliError::failed(format!(
                    "not delivered after {} attempt(s): {}",
                    delivery.attempts,
                    delivery.last_error.as_deref().unwrap_or("failed")
                ))),
            };
        }
        tokio::time::sleep(POLL).await;
    }
}

fn spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("  {spinner} {msg}") {
        bar.set_style(style);
    }
    bar
}

/// The body's event type when the family's parser knows it, else `hookwire.test`.
fn default_event_type(scheme: SchemeName, body: &[u8]) -> String {
    hookwire_events::parse(keys::family(scheme), body)
        .ok()
        .map(|e| e.subscription_type().to_owned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "hookwire.test".to_owned())
}

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::failed(e.to_string())
}
