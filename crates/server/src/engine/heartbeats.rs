//! Heartbeat expiry. The due time lives in `heartbeats.expires_at`, so a restart loses
//! nothing: the worker claims every heartbeat whose time passed, opens its alert through the
//! writer, then sleeps until the next due time or until a ping or an edit wakes it.

use super::writer::Writer;
use klaxon_core::alert::Priority;
use klaxon_core::clock::Clock;
use klaxon_core::lifecycle::{Action, Actor};
use klaxon_store::{
    ActionRequest, ClaimedHeartbeat, HeartbeatFields, Identifier, NewAlert, Store, WriteKind,
    WriteOp,
};
use std::sync::Arc;
use tokio::sync::Notify;

/// How long a claim holds a heartbeat: if this process dies before its alert is committed,
/// the heartbeat falls due again after this long and another claim opens the alert.
const LEASE_MS: i64 = 60_000;

const BATCH: i64 = 256;

/// The alias of the alert a heartbeat opens when it expires; the next ping closes it.
pub fn alert_alias(name: &str) -> String {
    format!("heartbeat-{name}")
}

/// The heartbeats of the config file's `heartbeats:` as the store takes them. The interval
/// unit shown by the API is the largest of days, hours and minutes that divides the interval
/// (`seconds` otherwise).
pub fn declared(
    cfg: &[klaxon_core::config::HeartbeatConfig],
) -> anyhow::Result<Vec<HeartbeatFields>> {
    use klaxon_core::alert::{limits, truncate_chars};
    cfg.iter()
        .map(|h| {
            let interval_ms = h
                .interval_ms()
                .map_err(|(v, e)| anyhow::anyhow!("heartbeat {:?}: {v}: {e}", h.name))?;
            let priority = h
                .priority()
                .map_err(|e| anyhow::anyhow!("heartbeat {:?}: {e}", h.name))?;
            let unit = [
                ("days", 86_400_000),
                ("hours", 3_600_000),
                ("minutes", 60_000),
            ]
            .into_iter()
            .find(|(_, ms)| interval_ms % ms == 0)
            .map_or("seconds", |(u, _)| u);
            let tags = crate::http::ingest::tags(h.alert_tags.iter().map(String::as_str), &[]);
            Ok(HeartbeatFields {
                name: h.name.trim().to_string(),
                description: truncate_chars(
                    h.description.as_deref().unwrap_or(""),
                    limits::DESCRIPTION,
                ),
                interval_ms,
                interval_unit: unit.to_string(),
                enabled: h.enabled,
                owner_team: h.owner_team.as_ref().map(|t| t.trim().to_string()),
                alert_message: truncate_chars(
                    h.alert_message.as_deref().unwrap_or("").trim(),
                    limits::MESSAGE,
                ),
                alert_tags: tags,
                alert_priority: priority.as_str().to_string(),
            })
        })
        .collect()
}

fn actor() -> Actor {
    Actor {
        user: "System".into(),
        via: "Klaxon".into(),
        source: "heartbeat".into(),
    }
}

fn op(team_id: Option<String>, now: i64, kind: WriteKind) -> WriteOp {
    WriteOp {
        request_id: uuid::Uuid::now_v7().to_string(),
        integration_id: String::new(),
        integration_name: "Heartbeat".into(),
        integration_type: "Heartbeat".into(),
        team_id,
        actor: actor(),
        now,
        kind,
    }
}

/// The write that closes a heartbeat's expiry alert (if one is open).
pub fn close_op(name: &str, now: i64) -> WriteOp {
    op(
        None,
        now,
        WriteKind::Act {
            target: Identifier::Alias(alert_alias(name)),
            action: ActionRequest::Ready(Action::Close),
            note: Some(format!("{name} received a ping")),
        },
    )
}

fn create_op(h: &ClaimedHeartbeat, now: i64) -> WriteOp {
    let message = if h.alert_message.trim().is_empty() {
        format!("{} is expired", h.name)
    } else {
        h.alert_message.clone()
    };
    let new = NewAlert {
        alias: alert_alias(&h.name),
        message,
        description: format!("No ping from heartbeat {} within its interval.", h.name),
        priority: h.alert_priority.parse().unwrap_or(Priority::P3),
        source: "heartbeat".into(),
        entity: h.name.clone(),
        tags: h.alert_tags.clone(),
        details: Default::default(),
        actions: vec![],
        responders: vec![],
        visible_to: vec![],
        note: None,
    };
    op(
        h.owner_team_id.clone(),
        now,
        WriteKind::Create(Box::new(new)),
    )
}

pub async fn run(
    store: Store,
    writer: Writer,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let s = store.clone();
    super::run_due_loop(
        "heartbeats",
        clock,
        wake,
        stop,
        move |now| {
            let (store, writer) = (store.clone(), writer.clone());
            async move { expire_due(&store, &writer, now).await }
        },
        move || {
            let s = s.clone();
            async move { s.next_heartbeat_expiry().await }
        },
    )
    .await
}

async fn expire_due(store: &Store, writer: &Writer, now: i64) -> anyhow::Result<()> {
    loop {
        let claimed = store
            .claim_expired_heartbeats(now, now + LEASE_MS, BATCH)
            .await?;
        let n = claimed.len() as i64;
        for h in claimed {
            writer.write(create_op(&h, now)).await?;
            tracing::info!(heartbeat = %h.name, "heartbeat expired: alert opened");
            if !store.finish_heartbeat_expiry(&h.id, h.lease_until).await? {
                // A ping landed between the claim and the alert: its close may have found no
                // alert yet, so close the one just opened unless the heartbeat expired again.
                if let Some(cur) = store.heartbeat(&h.name).await? {
                    if !cur.expired {
                        writer.write(close_op(&h.name, now)).await?;
                    }
                }
            }
        }
        if n < BATCH {
            return Ok(());
        }
    }
}
