//! Scheduled maintenance moving by itself: the due time is `status_incidents.next_transition_at`,
//! claimed with a lease; the worker applies the transition the core rules name (and, when the
//! maintenance asks for it, puts its components under maintenance and back to operational).

use klaxon_core::clock::Clock;
use klaxon_core::status::maintenance::{due_status, Schedule};
use klaxon_core::status::IncidentStatus;
use klaxon_store::{IncidentWrite, Store};
use std::sync::Arc;
use tokio::sync::Notify;

const LEASE_MS: i64 = 60_000;
const BATCH: i64 = 64;

pub async fn run(
    store: Store,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let s = store.clone();
    crate::engine::run_due_loop(
        "maintenance",
        clock,
        wake,
        stop,
        move |now| {
            let store = store.clone();
            async move { transition_due(&store, now).await }
        },
        move || {
            let s = s.clone();
            async move { s.next_maintenance_transition().await }
        },
    )
    .await
}

pub async fn transition_due(store: &Store, now: i64) -> anyhow::Result<()> {
    loop {
        let claimed = store
            .claim_maintenance_transitions(now, now + LEASE_MS, BATCH)
            .await?;
        let n = claimed.len() as i64;
        for (page, id) in claimed {
            let Some(cur) = store.status_incident(&page, &id).await? else {
                continue;
            };
            let (Some(for_), Ok(status)) =
                (cur.scheduled_for, cur.status.parse::<IncidentStatus>())
            else {
                continue;
            };
            let schedule = Schedule {
                scheduled_for: for_,
                scheduled_until: cur.scheduled_until.unwrap_or(for_),
                auto_in_progress: cur.auto_in_progress,
                auto_completed: cur.auto_completed,
            };
            let mut w = IncidentWrite::default();
            if let Some(next) = due_status(status, &schedule, now) {
                w.status = Some(next.as_str().to_string());
                w.body = Some(match next {
                    IncidentStatus::InProgress => {
                        "Scheduled maintenance is now in progress.".into()
                    }
                    _ => "Scheduled maintenance has been completed.".into(),
                });
                let component_status = match next {
                    IncidentStatus::InProgress if cur.auto_maintenance_state => {
                        Some("under_maintenance")
                    }
                    IncidentStatus::Completed if cur.auto_operational_state => Some("operational"),
                    _ => None,
                };
                if let Some(s) = component_status {
                    w.component_statuses = cur
                        .component_ids
                        .iter()
                        .map(|c| (c.clone(), s.to_string()))
                        .collect();
                }
            }
            // Recomputes the next due time from the new status (or clears a stale one).
            super::complete_write(&mut w, Some(&cur));
            store.update_status_incident(&page, &id, &w, now).await?;
            tracing::info!(page = %page, incident = %id, status = ?w.status, "maintenance transition");
        }
        if n < BATCH {
            return Ok(());
        }
    }
}
