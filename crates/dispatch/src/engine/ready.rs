//! The at-rest pass over the store before first use (keys checked, plaintext records
//! migrated), and the same pass as [`Dispatcher::reencrypt`](crate::Dispatcher::reencrypt).

use std::sync::{Arc, Mutex};

use super::Engine;
use crate::at_rest::{AtRestError, Pass, ReencryptReport};
use crate::error::{DispatchError, Result};
use crate::model::Endpoint;

/// Records per transaction of the at-rest pass at open.
const OPEN_PASS_BATCH: usize = 256;

impl Engine {
    /// [`Dispatcher::ready`](crate::Dispatcher::ready): the open pass, once.
    pub(crate) async fn ready(&self) -> Result<()> {
        self.ready
            .get_or_try_init(|| async {
                let report = self.pass(Pass::Open, OPEN_PASS_BATCH).await?;
                if report.migrated > 0 {
                    tracing::info!(
                        records = report.migrated,
                        "plaintext endpoint records encrypted at open"
                    );
                }
                Ok::<(), DispatchError>(())
            })
            .await
            .map(|_| ())
    }

    /// One pass over every endpoint record, `batch` records per transaction.
    pub(crate) async fn pass(&self, pass: Pass, batch: usize) -> Result<ReencryptReport> {
        if pass == Pass::Reencrypt && self.at_rest.keys.is_none() {
            return Err(AtRestError::NotConfigured.into());
        }
        let mut report = ReencryptReport::default();
        let mut after: Option<String> = None;
        loop {
            let failed: Arc<Mutex<Option<AtRestError>>> = Arc::new(Mutex::new(None));
            let counts: Arc<Mutex<(u64, u64)>> = Arc::new(Mutex::new((0, 0)));
            let (failed2, counts2, at_rest) = (
                Arc::clone(&failed),
                Arc::clone(&counts),
                self.at_rest.clone(),
            );
            let rewrite = Box::new(move |ep: &mut Endpoint| {
                let mut slot = failed2.lock().unwrap_or_else(|p| p.into_inner());
                if slot.is_some() {
                    return false;
                }
                match at_rest.pass_record(ep, pass) {
                    Ok(Some(was_plain)) => {
                        let mut c = counts2.lock().unwrap_or_else(|p| p.into_inner());
                        c.0 += 1;
                        c.1 += u64::from(was_plain);
                        true
                    }
                    Ok(None) => false,
                    Err(e) => {
                        *slot = Some(e);
                        false
                    }
                }
            });
            let done = self
                .store
                .rewrite_endpoints(after.as_deref(), batch, rewrite)
                .await?;
            let (rewritten, migrated) = *counts.lock().unwrap_or_else(|p| p.into_inner());
            report.examined += done.seen as u64;
            report.rewritten += rewritten;
            report.migrated += migrated;
            report.batches += 1;
            if let Some(e) = failed.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return Err(e.into());
            }
            match done.last_id {
                Some(last) if done.seen >= batch => after = Some(last),
                _ => return Ok(report),
            }
        }
    }
}
