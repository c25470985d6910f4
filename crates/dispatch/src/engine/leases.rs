//! The lease keeper: every third of the lease, renews the leases this process holds that
//! would otherwise run out before the next round, in one store call per claim loop. Most
//! attempts end long before that and are never renewed. A process that dies stops renewing,
//! so its deliveries are due again one lease after their last renewal.

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

/// Renews, to a full lease from now, every held lease that ends within two renewal
/// intervals (it would have less than one left at the next round); returns how many were
/// renewed.
pub(crate) async fn renew_held(engine: &Engine) -> usize {
    let now = engine.clock.now_millis();
    let until = now.saturating_add(millis(engine.settings.lease));
    let horizon = now.saturating_add(2 * millis(engine.settings.renew_every()));
    let mut renewed = 0;
    for (worker, ids) in engine.in_flight.expiring(horizon) {
        match engine.store.renew_leases(&worker, &ids, until).await {
            Ok(lost) => {
                renewed += ids.len() - lost.len();
                engine.in_flight.renewed(&ids, until);
                for id in lost {
                    // The result of its running attempt will not be recorded (the store
                    // refuses it); whoever holds the lease now sends it.
                    metrics::counter!(m::LEASE_LOST).increment(1);
                    tracing::warn!(delivery = %id, "lease lost while the attempt runs");
                }
            }
            Err(e) => engine.fault_log.log_failure(now, "lease renewal", &e),
        }
    }
    renewed
}
