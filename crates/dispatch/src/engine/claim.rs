//! The claim loops: take a permit per delivery, claim due deliveries in batches, run each in
//! its own task; and shutdown's drain.

use std::sync::Arc;
use std::time::Duration;

use hookwire_retry::SeededJitter;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument as _;

use super::backoff::Backoff;
use super::{Drained, Engine, attempt};
use crate::model::{ClaimedDelivery, UnixMillis};

/// A random source for retry jitter: the OS's, else the clock's nanoseconds.
fn jitter_source(engine: &Engine) -> SeededJitter {
    SeededJitter::from_entropy().unwrap_or_else(|_| {
        let nanos = engine
            .clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        SeededJitter::new(nanos)
    })
}

/// Waits for a first permit, then takes as many more as are free, up to a claim batch, in
/// one permit of that many (split per claimed delivery). `None` on shutdown.
async fn permits(
    engine: &Engine,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> Option<OwnedSemaphorePermit> {
    let mut permits = tokio::select! {
        p = Arc::clone(&engine.permits).acquire_owned() => p.ok()?,
        _ = shutdown.changed() => return None,
    };
    let want = engine.settings.claim_batch.saturating_sub(1);
    let more = want.min(engine.permits.available_permits());
    if more > 0 {
        match Arc::clone(&engine.permits).try_acquire_many_owned(u32::try_from(more).unwrap_or(0)) {
            Ok(p) => permits.merge(p),
            // Another claim loop took some meanwhile: take what is left one by one.
            Err(_) => {
                while permits.num_permits() <= want {
                    match Arc::clone(&engine.permits).try_acquire_owned() {
                        Ok(p) => permits.merge(p),
                        Err(_) => break,
                    }
                }
            }
        }
    }
    Some(permits)
}

/// One claim loop (number `n` of this process).
pub(crate) async fn run(engine: Arc<Engine>, n: usize) {
    let worker: Arc<str> = format!("{}-{n}", engine.instance).into();
    let mut shutdown = engine.shutdown.subscribe();
    let mut rng = jitter_source(&engine);
    let mut backoff = Backoff::default();
    // Nothing is claimed before the store passed the at-rest check (keys, migration).
    while let Err(e) = engine.ready().await {
        let delay = match e.store_error() {
            // The store is down: back off like a failing claim.
            Some(se) => {
                engine
                    .fault_log
                    .log_failure(engine.clock.now_millis(), "at-rest check", se);
                backoff.failed(&mut rng)
            }
            // Refused (keys, migration): an operator must act; say so every poll.
            None => {
                tracing::error!(worker = %worker, error = %e, "store refused: not delivering");
                engine.settings.poll_interval
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
    }
    backoff.succeeded();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let Some(mut permits) = permits(&engine, &mut shutdown).await else {
            break;
        };
        let notified = engine.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let now = engine.clock.now_millis();
        let claimed = match engine
            .store
            .claim(&worker, now, engine.settings.lease, permits.num_permits())
            .await
        {
            Ok(c) => {
                // The end of an outage, whoever logged it (an atomic load when none is open).
                backoff.succeeded();
                engine.fault_log.log_success(engine.clock.now_millis());
                c
            }
            Err(e) => {
                // Back off while the store fails (no hot loop, bounded log lines); the
                // first success resumes at full speed.
                engine
                    .fault_log
                    .log_failure(engine.clock.now_millis(), "claim", &e);
                drop(permits);
                tokio::select! {
                    _ = tokio::time::sleep(backoff.failed(&mut rng)) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
        };
        if claimed.is_empty() {
            drop(permits);
            idle(&engine, now, notified, &mut shutdown).await;
            continue;
        }
        // A short claim took everything due: wait for news rather than claim again at once
        // (so a busy queue never waits on a notification, and a quiet one claims once per
        // wake-up, not twice).
        let short = claimed.len() < permits.num_permits();
        if engine.is_stopping() {
            for cd in &claimed {
                release(&engine, &cd.delivery.id, &worker, engine.clock.now_millis()).await;
            }
            break;
        }
        for cd in claimed {
            let Some(permit) = permits.split(1) else {
                // The store returned more than asked; give the rest back.
                release(&engine, &cd.delivery.id, &worker, engine.clock.now_millis()).await;
                continue;
            };
            spawn_attempt(
                &engine,
                &worker,
                cd,
                permit,
                SeededJitter::new(rng.next_u64()),
            );
        }
        if short {
            drop(permits);
            idle(&engine, now, notified, &mut shutdown).await;
        }
    }
}

/// Waits for a wake-up of this process (`notified`, enabled before the claim), news from
/// the store, the next due time or shutdown.
async fn idle(
    engine: &Engine,
    now: UnixMillis,
    notified: std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) {
    let sleep_for = idle_sleep(engine, now).await;
    tokio::select! {
        _ = notified => {}
        _ = engine.store.wait_for_work(sleep_for) => {}
        _ = shutdown.changed() => {}
    }
}

/// How long an idle claim loop sleeps: until the next due delivery, at most the poll
/// interval (which also bounds how late an expired lease is noticed).
async fn idle_sleep(engine: &Engine, now: UnixMillis) -> Duration {
    match engine.store.next_due().await {
        Ok(Some(due)) if due > now => Duration::from_millis(u64::try_from(due - now).unwrap_or(0))
            .min(engine.settings.poll_interval),
        _ => engine.settings.poll_interval,
    }
}

/// Runs one claimed delivery in its own task, holding `permit` until it is finished.
fn spawn_attempt(
    engine: &Arc<Engine>,
    worker: &Arc<str>,
    cd: ClaimedDelivery,
    permit: OwnedSemaphorePermit,
    rng: SeededJitter,
) {
    let id = cd.delivery.id.clone();
    let lease_until = cd.delivery.lease_expires_at.unwrap_or_else(|| {
        engine
            .clock
            .now_millis()
            .saturating_add(super::clock::millis(engine.settings.lease))
    });
    let span = tracing::info_span!(
        "hookwire.attempt",
        delivery = %cd.delivery.id,
        message = %cd.message.id,
        endpoint = %cd.endpoint.id,
        attempt = cd.delivery.attempts + 1,
    );
    let (task_engine, task_worker, task_id) = (Arc::clone(engine), Arc::clone(worker), id.clone());
    engine
        .in_flight
        .insert_spawned(id, worker, lease_until, move || {
            tokio::spawn(
                async move {
                    attempt::run(&task_engine, &task_worker, cd, rng).await;
                    drop(permit);
                    task_engine.in_flight.finish(&task_id);
                }
                .instrument(span),
            )
            .abort_handle()
        });
}

/// Gives a claimed delivery back unattempted, due at `at`. Returns whether the store took it.
pub(crate) async fn release(engine: &Engine, delivery: &str, worker: &str, at: UnixMillis) -> bool {
    match engine.store.release(delivery, worker, at).await {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(delivery, error = %e, "release failed");
            false
        }
    }
}

/// Waits up to `deadline` for the claim loops to stop and held deliveries to finish, then
/// aborts and gives back the rest.
pub(crate) async fn drain(engine: &Arc<Engine>, deadline: Duration) -> Drained {
    let until = tokio::time::Instant::now() + deadline;
    // Let claim loops notice the signal (they release what they claim after it).
    let loops: Vec<_> = {
        let mut t = engine.tasks.lock().unwrap_or_else(|p| p.into_inner());
        let n = engine.settings.workers.min(t.len());
        t.drain(..n).collect()
    };
    for l in loops {
        let abort = l.abort_handle();
        if tokio::time::timeout_at(until, l).await.is_err() {
            abort.abort();
        }
    }
    let before = engine.in_flight.finished();
    loop {
        let changed = engine.in_flight.changed();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if engine.in_flight.len() == 0 {
            break;
        }
        if tokio::time::timeout_at(until, changed).await.is_err() {
            break;
        }
    }
    let finished = engine.in_flight.finished() - before;
    let mut released = 0;
    for (delivery, worker) in engine.in_flight.abort_all() {
        if release(engine, &delivery, &worker, engine.clock.now_millis()).await {
            released += 1;
        }
    }
    Drained { finished, released }
}
