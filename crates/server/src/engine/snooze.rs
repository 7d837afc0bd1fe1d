//! Snooze ends. The due time lives in `alerts.snoozed_until`, so a restart loses nothing: the
//! worker wakes every alert whose snooze ended, then sleeps until the next end or until a new
//! snooze is committed.

use super::writer::Writer;
use klaxon_core::clock::Clock;
use klaxon_core::lifecycle::{Action, Actor};
use klaxon_store::{ActionRequest, Identifier, Store, WriteKind, WriteOp};
use std::sync::Arc;
use tokio::sync::Notify;

/// How long to sleep when nothing is due and nothing wakes us (catches snoozes committed by
/// another process sharing the database).
const IDLE_POLL_MS: i64 = 5_000;

pub async fn run(
    store: Store,
    writer: Writer,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let now = clock.now_ms();
        match wake_due(&store, &writer, now).await {
            Ok(()) => {}
            Err(e) => tracing::warn!(error = %e, "snooze worker: will retry"),
        }
        let next = match store.next_snooze_end().await {
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

async fn wake_due(store: &Store, writer: &Writer, now: i64) -> anyhow::Result<()> {
    loop {
        let due = store.due_snoozes(now, 256).await?;
        if due.is_empty() {
            return Ok(());
        }
        let n = due.len();
        for id in due {
            writer
                .write(WriteOp {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    integration_id: String::new(),
                    integration_name: "klaxon".into(),
                    integration_type: "System".into(),
                    team_id: None,
                    actor: Actor {
                        user: "System".into(),
                        via: "Klaxon".into(),
                        source: "snooze".into(),
                    },
                    now,
                    kind: WriteKind::Act {
                        target: Identifier::Id(id),
                        action: ActionRequest::Ready(Action::Wake),
                        note: None,
                    },
                })
                .await?;
        }
        if n < 256 {
            return Ok(());
        }
    }
}
