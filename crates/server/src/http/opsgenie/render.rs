//! Alerts, notes, logs and request statuses in OpsGenie's JSON shapes.

use klaxon_core::lifecycle::Alert;
use klaxon_core::time::format_iso;
use klaxon_store::{LogRecord, NoteRecord, RecipientRecord, RequestRecord};
use serde_json::{json, Map, Value};

/// The list shape; [`alert_full`] adds what the single-alert GET shows.
pub fn alert_summary(a: &Alert) -> Value {
    let mut report = Map::new();
    if let Some(t) = a.ack_time {
        report.insert("ackTime".into(), json!(t));
    }
    if let Some(t) = a.close_time {
        report.insert("closeTime".into(), json!(t));
    }
    if let Some(u) = &a.acknowledged_by {
        report.insert("acknowledgedBy".into(), json!(u));
    }
    if let Some(u) = &a.closed_by {
        report.insert("closedBy".into(), json!(u));
    }
    let mut v = json!({
        "id": a.id,
        "tinyId": a.tiny_id.to_string(),
        "alias": a.alias,
        "message": a.message,
        "status": a.status.as_str(),
        "acknowledged": a.acknowledged,
        "isSeen": a.is_seen,
        "tags": a.tags,
        "snoozed": a.snoozed,
        "count": a.count,
        "lastOccurredAt": format_iso(a.last_occurred_at),
        "createdAt": format_iso(a.created_at),
        "updatedAt": format_iso(a.updated_at),
        "source": a.source,
        "owner": a.owner,
        "priority": a.priority.as_str(),
        "responders": a.responders.iter().map(|r| json!({"type": r.kind.as_str(), "id": r.id})).collect::<Vec<_>>(),
        "integration": {"id": a.integration_id, "name": a.integration_name, "type": a.integration_type},
        "report": report,
        "ownerTeamId": a.responders.iter().find(|r| r.kind == klaxon_core::alert::ResponderKind::Team).map(|r| r.id.clone()).unwrap_or_default(),
    });
    if let (Some(until), Some(m)) = (a.snoozed_until.filter(|_| a.snoozed), v.as_object_mut()) {
        m.insert("snoozedUntil".into(), json!(format_iso(until)));
    }
    v
}

pub fn alert_full(a: &Alert) -> Value {
    let mut v = alert_summary(a);
    if let Some(m) = v.as_object_mut() {
        m.insert("actions".into(), json!(a.actions));
        m.insert("entity".into(), json!(a.entity));
        m.insert("description".into(), json!(a.description));
        m.insert("details".into(), json!(a.details));
    }
    v
}

pub fn request_status(r: &RequestRecord) -> Value {
    json!({
        "success": r.success,
        "action": r.action,
        "processedAt": format_iso(r.processed_at),
        "integrationId": r.integration_id,
        "isSuccess": r.success,
        "status": r.status,
        "alertId": r.alert_id,
        "alias": r.alias,
    })
}

pub fn note(n: &NoteRecord) -> Value {
    json!({"note": n.note, "owner": n.owner, "createdAt": format_iso(n.created_at), "offset": n.seq.to_string()})
}

pub fn log(l: &LogRecord) -> Value {
    json!({"log": l.log, "type": l.kind, "owner": l.owner, "createdAt": format_iso(l.created_at), "offset": l.seq.to_string()})
}

pub fn recipient(r: &RecipientRecord) -> Value {
    json!({
        "user": {"id": r.user_id, "username": r.username},
        "state": r.state,
        "method": r.method,
        "createdAt": format_iso(r.created_at),
        "updatedAt": format_iso(r.updated_at),
    })
}
