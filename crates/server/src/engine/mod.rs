//! The engine: workers over durable due-time rows, and the group-commit writer every alert
//! change goes through.

pub mod alertmanager;
pub mod directory_cache;
pub mod escalation;
pub mod heartbeats;
pub mod links;
pub mod outbox;
pub mod pages;
pub mod render;
pub mod snooze;
pub mod thread;
pub mod writer;

use klaxon_core::clock::Clock;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Notify;

/// How long a worker sleeps when nothing is due and nothing wakes it. Bounds how late work
/// committed by another process sharing the database is noticed.
pub const IDLE_POLL_MS: i64 = 5_000;

/// The loop every engine worker runs: do what is due at `now`, then sleep until the earliest
/// due row, a wake-up (new work committed in this process), or stop. The due times live in the
/// database, so a restart picks up where this left off.
pub async fn run_due_loop<W, WF, N, NF>(
    name: &'static str,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut work: W,
    mut next_due: N,
) where
    W: FnMut(i64) -> WF,
    WF: Future<Output = anyhow::Result<()>>,
    N: FnMut() -> NF,
    NF: Future<Output = Result<Option<i64>, klaxon_store::StoreError>>,
{
    loop {
        if *stop.borrow() {
            return;
        }
        // Registered before the work so that a wake-up during it is not lost.
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let now = clock.now_ms();
        if let Err(e) = work(now).await {
            tracing::warn!(error = %e, worker = name, "engine worker: will retry");
        }
        // Woken while working (under load, new work committed meanwhile): go again at once,
        // without asking the database for the next due time first.
        if futures_util::FutureExt::now_or_never(notified.as_mut()).is_some() {
            continue;
        }
        let next = match next_due().await {
            Ok(Some(t)) => t.min(now + IDLE_POLL_MS),
            Ok(None) => now + IDLE_POLL_MS,
            Err(_) => now + 1_000,
        };
        tokio::select! {
            _ = clock.sleep_until(next) => {}
            _ = &mut notified => {}
            _ = stop.changed() => return,
        }
    }
}
