//! Snooze ends. The due time lives in `alerts.snoozed_until`, so a restart loses nothing: the
//! worker wakes every alert whose snooze ended, then sleeps until the next end or until a new
//! snooze is committed.

use super::writer::Writer;
use klaxon_core::clock::Clock;
use klaxon_core::lifecycle::{Action, Actor};
use klaxon_store::{ActionRequest, Identifier, Store, WriteKind, WriteOp};
use std::sync::Arc;
use tokio::sync::Notify;

pub async fn run(
    store: Store,
    writer: Writer,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let s = store.clone();
    super::run_due_loop(
        "snooze",
        clock,
        wake,
        stop,
        move |now| {
            let (store, writer) = (store.clone(), writer.clone());
            async move { wake_due(&store, &writer, now).await }
        },
        move || {
            let s = s.clone();
            async move { s.next_snooze_end().await }
        },
    )
    .await
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
