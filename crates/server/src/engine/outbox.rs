//! The outbox worker: claims due deliveries, sends them through their channel, and records
//! each attempt on the alert's timeline. Temporary failures retry with jittered exponential
//! backoff; permanent ones (and the last attempt) fail the delivery, and the escalation goes
//! on without it.
//!
//! A delivery cut off while sending (the process died) is due again at its deadline. A webhook
//! is sent again with the same idempotency key, for the receiver to de-duplicate; a message on
//! any other channel may already have reached the person, so it is not sent blindly a second
//! time: it is marked failed with "outcome unknown" and the escalation goes on.

use super::run_due_loop;
use crate::notify::{Channels, SendError};
use crate::reload::Live;
use klaxon_core::clock::Clock;
use klaxon_core::notify_config::RetryConfig;
use klaxon_store::{
    ClaimedDelivery, DeliveryOutcome, DeliveryResult, EngineLog, RecipientState, Store,
};
use std::sync::Arc;
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};

const BATCH: i64 = 128;
/// How long a claim holds a delivery before it counts as cut off: longer than a send may wait
/// for a free slot plus the send's own timeout (10 s each), so that a delivery still in flight
/// in this process is never taken for a dead one.
pub const DEADLINE_MS: i64 = 30_000;
/// What a send may take, its timeout plus time to record the outcome: one is started only with
/// this much of its claim left.
const SEND_BUDGET_MS: i64 = crate::notify::SEND_TIMEOUT.as_millis() as i64 + 5_000;
/// Sends in flight at once.
const PARALLEL: u32 = 128;
/// Outcomes recorded per transaction at most.
const FINISH_BATCH: usize = 512;

/// Sends deliveries, at most [`PARALLEL`] at once, and records their outcomes: a finisher
/// commits whatever outcomes came in while its previous transaction ran, so that a burst of
/// sends costs a few transactions, not one each. A send's slot is freed only once its outcome
/// is committed, so [`Outbox::idle`] means "everything sent is recorded".
pub struct Outbox {
    store: Store,
    clock: Arc<dyn Clock>,
    /// The channels, with their retry settings (replaced by a config reload).
    channels: Arc<Live<Channels>>,
    slots: Arc<Semaphore>,
    results: mpsc::UnboundedSender<(DeliveryResult, OwnedSemaphorePermit)>,
}

pub async fn run(outbox: Arc<Outbox>, wake: Arc<Notify>, stop: tokio::sync::watch::Receiver<bool>) {
    let o = outbox.clone();
    let s = outbox.store.clone();
    run_due_loop(
        "outbox",
        outbox.clock.clone(),
        wake,
        stop,
        move |now| {
            let o = o.clone();
            async move { o.send_due(now).await }
        },
        move || {
            let s = s.clone();
            async move { s.next_delivery_due().await }
        },
    )
    .await;
    // Stopping: let what is in flight finish and be recorded.
    outbox.idle().await;
}

impl Outbox {
    /// The outbox, with its finisher running; `wake` is the outbox worker's wake-up (a retry
    /// recorded wakes it).
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        channels: Arc<Live<Channels>>,
        wake: Arc<Notify>,
    ) -> Arc<Outbox> {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(finisher(store.clone(), clock.clone(), wake, rx));
        Arc::new(Outbox {
            store,
            clock,
            channels,
            slots: Arc::new(Semaphore::new(PARALLEL as usize)),
            results: tx,
        })
    }

    /// Sends everything due at `now` (claimed in rounds of [`BATCH`]).
    pub async fn send_due(&self, now: i64) -> anyhow::Result<()> {
        loop {
            let token = uuid::Uuid::now_v7().to_string();
            let claimed = self
                .store
                .claim_deliveries(now, self.clock.now_ms() + DEADLINE_MS, &token, BATCH)
                .await?;
            let n = claimed.len();
            self.dispatch(claimed).await;
            if (n as i64) < BATCH {
                return Ok(());
            }
        }
    }

    /// Sends deliveries already claimed by this process (waits for a free slot for each).
    pub async fn dispatch(&self, ds: Vec<ClaimedDelivery>) {
        let channels = self.channels.get();
        for d in ds {
            let Ok(permit) = self.slots.clone().acquire_owned().await else {
                return;
            };
            // A send must end (and be recorded) inside its claim, or the delivery falls due
            // again while in flight and is sent twice. One that waited too long for a slot is
            // left to fall due at its deadline instead.
            if self.clock.now_ms() + SEND_BUDGET_MS > d.deadline {
                tracing::warn!(delivery = %d.id, "outbox: no slot in time; the delivery is sent once its claim runs out");
                continue;
            }
            let channels = channels.clone();
            let clock = self.clock.clone();
            let results = self.results.clone();
            tokio::spawn(async move {
                let r = attempt(&channels, &d).await;
                let result = outcome(&channels.config().retry, &d, r, clock.now_ms());
                // The finisher lives as long as the outbox.
                let _ = results.send((result, permit));
            });
        }
    }

    /// Waits until nothing is in flight and every outcome is recorded.
    pub async fn idle(&self) {
        if let Ok(all) = self.slots.acquire_many(PARALLEL).await {
            drop(all);
        }
    }
}

/// Commits outcomes in batches: whatever arrived while the previous commit ran.
async fn finisher(
    store: Store,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    mut rx: mpsc::UnboundedReceiver<(DeliveryResult, OwnedSemaphorePermit)>,
) {
    while let Some(first) = rx.recv().await {
        let mut results = vec![first.0];
        let mut permits = vec![first.1];
        while results.len() < FINISH_BATCH {
            match rx.try_recv() {
                Ok((r, p)) => {
                    results.push(r);
                    permits.push(p);
                }
                Err(_) => break,
            }
        }
        let retry = results
            .iter()
            .any(|r| matches!(r.outcome, DeliveryOutcome::Retry { .. }));
        for tries in 1.. {
            match store.finish_deliveries(&results, clock.now_ms()).await {
                Ok(_) => break,
                Err(e) if tries < 5 => {
                    tracing::warn!(error = %e, "outbox: recording outcomes failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(50 << tries)).await;
                }
                Err(e) => {
                    // The deliveries stay claimed until their deadline and are then sent
                    // again (webhooks, same key) or marked "outcome unknown".
                    tracing::error!(error = %e, n = results.len(), "outbox: outcomes not recorded");
                    break;
                }
            }
        }
        drop(permits);
        if retry {
            wake.notify_one();
        }
    }
}

/// The outcome of one attempt as it is recorded: state, timeline line, recipient state.
fn outcome(
    retry: &RetryConfig,
    d: &ClaimedDelivery,
    r: Result<String, SendError>,
    now: i64,
) -> DeliveryResult {
    let who = if d.username.is_empty() {
        d.target.clone()
    } else {
        format!("{} ({})", d.username, d.target)
    };
    let attempt = d.attempts;
    let (outcome, text, state) = match r {
        Ok(detail) => (
            DeliveryOutcome::Sent,
            format!(
                "Sent {} notification to {who} (attempt {attempt}, {detail})",
                d.channel
            ),
            "sent",
        ),
        Err(SendError::Temporary(e)) if attempt < i64::from(retry.max_attempts) => {
            let wait = backoff_ms(attempt, retry.max_backoff.as_millis(), &d.key);
            (
                DeliveryOutcome::Retry {
                    at: now + wait,
                    error: e.clone(),
                },
                format!(
                    "{} notification to {who} failed (attempt {attempt}: {e}); retrying in {}s",
                    d.channel,
                    (wait + 999) / 1000
                ),
                "retrying",
            )
        }
        Err(e) => (
            DeliveryOutcome::Failed {
                error: e.to_string(),
            },
            format!(
                "{} notification to {who} failed for good (attempt {attempt}: {e})",
                d.channel
            ),
            "failed",
        ),
    };
    DeliveryResult {
        id: d.id.clone(),
        token: d.token.clone(),
        outcome,
        log: d.alert_id.as_ref().map(|a| EngineLog {
            alert_id: a.clone(),
            text,
        }),
        recipient: match (&d.alert_id, &d.user_id) {
            (Some(a), Some(u)) => Some(RecipientState {
                alert_id: a.clone(),
                user_id: u.clone(),
                username: d.username.clone(),
                state: state.into(),
                method: d.channel.clone(),
            }),
            _ => None,
        },
    }
}

async fn attempt(channels: &Channels, d: &ClaimedDelivery) -> Result<String, SendError> {
    if d.interrupted && d.channel != "webhook" {
        return Err(SendError::Permanent(
            "outcome unknown: Klaxon stopped while sending it, and it is not sent twice".into(),
        ));
    }
    channels.send(d).await
}

/// 1 s, 2 s, 4 s … up to `max_ms`, each shortened by up to a quarter, the same for the same
/// key and attempt (so tests and retries are reproducible).
pub fn backoff_ms(attempt: i64, max_ms: i64, key: &str) -> i64 {
    let base = 1_000i64.saturating_mul(1i64 << attempt.clamp(1, 30).saturating_sub(1));
    let base = base.min(max_ms.max(1_000));
    let h = key
        .bytes()
        .chain(attempt.to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    base - (base / 4) * (h % 1000) as i64 / 1000
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_grows_caps_and_jitters_within_a_quarter() {
        for (attempt, base) in [(1, 1_000), (2, 2_000), (3, 4_000), (10, 300_000)] {
            let b = backoff_ms(attempt, 300_000, "k");
            assert!(b <= base && b >= base * 3 / 4, "{attempt}: {b}");
        }
        assert_ne!(backoff_ms(5, 300_000, "a"), backoff_ms(5, 300_000, "b"));
        assert_eq!(backoff_ms(5, 300_000, "a"), backoff_ms(5, 300_000, "a"));
    }
}
