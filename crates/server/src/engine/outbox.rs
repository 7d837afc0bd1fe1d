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
use klaxon_core::clock::Clock;
use klaxon_core::notify_config::RetryConfig;
use klaxon_store::{
    ClaimedDelivery, DeliveryOutcome, DeliveryResult, EngineLog, RecipientState, Store,
};
use std::sync::Arc;
use tokio::sync::Notify;

const BATCH: i64 = 128;
/// How long a claim holds a delivery before it counts as cut off.
const DEADLINE_MS: i64 = 15_000;
/// Sends in flight at once.
const PARALLEL: usize = 64;

pub struct Outbox {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub channels: Channels,
    pub retry: RetryConfig,
}

pub async fn run(outbox: Arc<Outbox>, wake: Arc<Notify>, stop: tokio::sync::watch::Receiver<bool>) {
    let o = outbox.clone();
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
            let s = outbox.store.clone();
            async move { s.next_delivery_due().await }
        },
    )
    .await
}

impl Outbox {
    /// Sends everything due at `now` (in rounds of [`BATCH`]).
    pub async fn send_due(&self, now: i64) -> anyhow::Result<()> {
        loop {
            let token = uuid::Uuid::now_v7().to_string();
            let claimed = self
                .store
                .claim_deliveries(now, now + DEADLINE_MS, &token, BATCH)
                .await?;
            if claimed.is_empty() {
                return Ok(());
            }
            let n = claimed.len();
            let sem = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
            let mut tasks = tokio::task::JoinSet::new();
            for d in claimed {
                let permit = sem.clone().acquire_owned().await?;
                let channels = self.channels.clone();
                tasks.spawn(async move {
                    let r = attempt(&channels, &d).await;
                    drop(permit);
                    (d, r)
                });
            }
            while let Some(joined) = tasks.join_next().await {
                let (d, r) = joined?;
                let at = self.clock.now_ms();
                let result = self.result(&d, r, at);
                self.store.finish_delivery(&result, at).await?;
            }
            if (n as i64) < BATCH {
                return Ok(());
            }
        }
    }

    fn result(
        &self,
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
            Err(SendError::Temporary(e)) if attempt < i64::from(self.retry.max_attempts) => {
                let wait = backoff_ms(attempt, self.retry.max_backoff.as_millis(), &d.key);
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
