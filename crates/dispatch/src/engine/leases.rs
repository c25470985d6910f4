//! The lease keeper: renews the lease of every delivery this process holds, every third of
//! the lease, in one store call per claim loop. A process that dies stops renewing, so its
//! deliveries are due again one lease after their last renewal.

use std::sync::Arc;
use std::time::Duration;

use super::Engine;
use super::clock::millis;
use crate::metrics as m;

/// Runs until aborted: shutdown stops it only after the drain, since attempts still running
/// then keep their leases.
pub(crate) async fn keep(engine: Arc<Engine>) {
    let every = engine.settings.renew_every().max(Duration::from_millis(10));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        renew_held(&engine).await;
    }
}

/// Renews every held lease to a full lease from now; returns how many were renewed.
pub(crate) async fn renew_held(engine: &Engine) -> usize {
    let until = engine
        .clock
        .now_millis()
        .saturating_add(millis(engine.settings.lease));
    let mut renewed = 0;
    for (worker, ids) in engine.in_flight.by_worker() {
        match engine.store.renew_leases(&worker, &ids, until).await {
            Ok(lost) => {
                renewed += ids.len() - lost.len();
                for id in lost {
                    // The result of its running attempt will not be recorded (the store
                    // refuses it); whoever holds the lease now sends it.
                    metrics::counter!(m::LEASE_LOST).increment(1);
                    tracing::warn!(delivery = %id, "lease lost while the attempt runs");
                }
            }
            Err(e) => tracing::warn!(worker = %worker, error = %e, "lease renewal failed"),
        }
    }
    renewed
}
