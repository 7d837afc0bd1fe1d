//! Status pages beyond HTTP: the incident rules both the API and the engine apply (impact,
//! maintenance due times), the maintenance worker and the health-check worker.

pub mod health;
pub mod maintenance;
pub mod subscribers;

use klaxon_core::status::maintenance::{next_due, Schedule};
use klaxon_core::status::{incident_impact, ComponentStatus, Impact, IncidentStatus};
use klaxon_store::{IncidentWrite, StatusIncident};

/// Fills in what a write implies: the impact (override, else the worst requested component
/// status, never lower than before; `maintenance` for a scheduled maintenance) and the next
/// automatic transition of a maintenance. `cur` is the incident before the write (None on
/// create).
pub fn complete_write(w: &mut IncidentWrite, cur: Option<&StatusIncident>) {
    let override_ = match &w.impact_override {
        Some(o) => o.as_deref().and_then(|s| s.parse::<Impact>().ok()),
        None => cur
            .and_then(|c| c.impact_override.as_deref())
            .and_then(|s| s.parse().ok()),
    };
    let requested = w
        .component_statuses
        .iter()
        .filter_map(|(_, s)| s.parse::<ComponentStatus>().ok());
    let scheduled_for = w.scheduled_for.or(cur.and_then(|c| c.scheduled_for));
    let mut impact = incident_impact(override_, requested);
    if override_.is_none() {
        if let Some(prev) = cur.and_then(|c| c.impact.parse::<Impact>().ok()) {
            impact = impact.max(prev);
        }
        if scheduled_for.is_some() && impact == Impact::None {
            impact = Impact::Maintenance;
        }
    }
    w.impact = Some(impact.as_str().to_string());

    if let Some(for_) = scheduled_for {
        let until = w
            .scheduled_until
            .or(cur.and_then(|c| c.scheduled_until))
            .unwrap_or(for_);
        let status = w
            .status
            .as_deref()
            .or(cur.map(|c| c.status.as_str()))
            .and_then(|s| s.parse::<IncidentStatus>().ok())
            .unwrap_or(IncidentStatus::Scheduled);
        let s = Schedule {
            scheduled_for: for_,
            scheduled_until: until,
            auto_in_progress: w
                .auto_in_progress
                .or(cur.map(|c| c.auto_in_progress))
                .unwrap_or(false),
            auto_completed: w
                .auto_completed
                .or(cur.map(|c| c.auto_completed))
                .unwrap_or(false),
        };
        w.next_transition_at = Some(next_due(status, &s));
    }
}

/// The status pages declared in the config, as the store applies them.
pub fn page_decls(c: &klaxon_core::config::Config) -> Vec<klaxon_store::PageDecl> {
    c.status_pages
        .iter()
        .map(|p| klaxon_store::PageDecl {
            id: p.id.clone(),
            name: p.name.clone(),
            host: p.host.clone(),
            branding: serde_json::to_string(&p.branding).unwrap_or_else(|_| "{}".into()),
            groups: p
                .groups
                .iter()
                .map(|g| (g.name.clone(), g.description.clone().unwrap_or_default()))
                .collect(),
            components: p
                .components
                .iter()
                .map(|c| klaxon_store::ComponentDecl {
                    name: c.name.clone(),
                    description: c.description.clone().unwrap_or_default(),
                    group: c.group.clone(),
                    only_show_if_degraded: c.only_show_if_degraded,
                })
                .collect(),
        })
        .collect()
}
