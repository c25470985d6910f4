//! The `LISTEN` side of work notifications: one dedicated connection per store.
//!
//! `release`, `redeliver` and `recover` run `pg_notify(channel, '')` after their change;
//! `enqueue` does so after its commit at most once per 10 ms (a trailing notification covers
//! the enqueues in between, and this process's own workers are woken directly), and
//! `enqueue_in_transaction` inside the caller's transaction, so it goes out at its commit. The listener task holds its own
//! connection (a pooled one would drop notifications), drives it with
//! [`Connection::poll_message`](tokio_postgres::Connection::poll_message) and wakes the
//! workers waiting in `wait_for_work`. It reconnects when the connection drops; while it is
//! down, `wait_for_work` simply sleeps for its timeout, so workers fall back to polling.

use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{AsyncMessage, Socket};

/// What the listener task shares with the store.
#[derive(Debug, Default)]
pub(super) struct Wakeup {
    /// Woken on every notification.
    pub(super) notify: Notify,
    /// Whether the listening connection is up (otherwise waiters just sleep).
    pub(super) connected: AtomicBool,
}

impl Wakeup {
    /// Wakes every waiter, and leaves a permit so a worker that is between its empty claim
    /// and its wait does not miss the news (it then makes one cheap extra claim).
    pub(super) fn wake(&self) {
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    /// Waits for a notification or `timeout`.
    pub(super) async fn wait(&self, timeout: Duration) {
        if self.connected.load(Ordering::Acquire) {
            let _ = tokio::time::timeout(timeout, self.notify.notified()).await;
        } else {
            tokio::time::sleep(timeout).await;
        }
    }
}

/// How long to wait before reconnecting a lost listening connection.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// Runs until `stop` is dropped: LISTENs on `channel`, wakes `wakeup` on each notification.
pub(super) async fn run<T>(
    config: tokio_postgres::Config,
    tls: T,
    channel: String,
    wakeup: Arc<Wakeup>,
    mut stop: oneshot::Receiver<()>,
) where
    T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
    T::Stream: Send + Sync,
    T::TlsConnect: Send + Sync,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    loop {
        let session = async {
            let (client, mut connection) = match config.connect(tls.clone()).await {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "PostgreSQL LISTEN connection failed");
                    return;
                }
            };
            let statement = format!("LISTEN \"{channel}\"");
            let mut listen = pin!(client.batch_execute(&statement));
            let mut listening = false;
            loop {
                tokio::select! {
                    result = &mut listen, if !listening => {
                        if let Err(e) = result {
                            tracing::warn!(error = %e, "PostgreSQL LISTEN failed");
                            return;
                        }
                        listening = true;
                        wakeup.connected.store(true, Ordering::Release);
                        // Work may have arrived while nobody listened.
                        wakeup.wake();
                    }
                    message = poll_fn(|cx| connection.poll_message(cx)) => match message {
                        Some(Ok(AsyncMessage::Notification(_))) => wakeup.wake(),
                        Some(Ok(_)) => {}
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "PostgreSQL LISTEN connection lost");
                            return;
                        }
                        None => return,
                    },
                }
            }
        };
        tokio::select! {
            () = session => {}
            _ = &mut stop => return,
        }
        wakeup.connected.store(false, Ordering::Release);
        tokio::select! {
            () = tokio::time::sleep(RECONNECT_DELAY) => {}
            _ = &mut stop => return,
        }
    }
}
