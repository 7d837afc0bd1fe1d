//! The PagerDuty Events API v2 (`POST /v2/enqueue`): PagerDuty's clients and Alertmanager's
//! `pagerduty_configs` change only their URL. The routing key is a Klaxon integration key and
//! the dedup key is the alert's alias, so trigger → create (or count up an open alert),
//! acknowledge → acknowledge, resolve → close.
//!
//! Answers follow PagerDuty: 202 once the event is committed — also for acknowledging or
//! resolving a key that names no alert, whose outcome is recorded under the request id — and 400
//! "invalid event" for every problem with the event, an unknown routing key included.

pub mod error;
pub mod event;

use crate::app::AppState;
use crate::http::auth::{authenticate, key_from_request};
use crate::http::ingest::{self, Details, RequestIds};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use error::PdError;
use event::{Event, EventAction, Trigger};
use klaxon_core::alert::{limits, truncate_chars, Priority};
use klaxon_core::lifecycle::Action;
use klaxon_core::mapping::AlertMapping;
use klaxon_store::{ActionRequest, Identifier, Integration, NewAlert, WriteKind};
use serde_json::{json, Value};
use std::sync::atomic::Ordering::Relaxed;

pub fn router() -> Router<AppState> {
    Router::new().route("/v2/enqueue", post(enqueue))
}

/// Send an event: trigger, acknowledge or resolve an alert by its dedup key.
pub async fn enqueue(
    State(state): State<AppState>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PdError> {
    let started = std::time::Instant::now();
    let bytes = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            PdError::TooLarge
        } else {
            PdError::invalid(format!("Could not read request body: {r}"))
        }
    })?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| PdError::invalid(format!("Request body is not valid JSON: {e}")))?;
    // Older clients put the key in `X-Routing-Key`; any of Klaxon's key forms works too.
    let outside_key = parts
        .headers
        .get("x-routing-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .or_else(|| key_from_request(&parts));
    let event = Event::parse(&value, outside_key).map_err(PdError::Invalid)?;
    let integration = authenticate(&state, &event.routing_key)
        .await?
        .ok_or_else(|| PdError::invalid("Invalid routing key"))?;

    let client = event.trigger.as_ref().and_then(|t| t.client.clone());
    let actor = ingest::actor(&integration, "PagerDuty", client.as_deref().unwrap_or(""));
    let (dedup_key, kind) = match (event.action, event.trigger) {
        (EventAction::Trigger, Some(trigger)) => {
            let key = event
                .dedup_key
                .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
            let mappings = state.mappings.get();
            let mapping = mappings.get(&integration.name);
            let new = new_alert(&trigger, &key, &integration, mapping);
            (key, WriteKind::Create(Box::new(new)))
        }
        (action, _) => {
            // `Event::parse` refuses acknowledge and resolve without a dedup key.
            let key = event.dedup_key.unwrap_or_default();
            let action = match action {
                EventAction::Acknowledge => Action::Acknowledge,
                _ => Action::Close,
            };
            let kind = WriteKind::Act {
                target: Identifier::Alias(key.clone()),
                action: ActionRequest::Ready(action),
                note: None,
            };
            (key, kind)
        }
    };
    let is_create = matches!(kind, WriteKind::Create(_));
    let op = ingest::write_op(&state, &integration, RequestIds::new().take(), actor, kind);
    let outcome = state.writer.write(op).await?;
    if !is_create {
        state.metrics.alert_actions.fetch_add(1, Relaxed);
    } else if outcome.deduplicated {
        state.metrics.alerts_deduplicated.fetch_add(1, Relaxed);
    } else {
        state.metrics.alerts_created.fetch_add(1, Relaxed);
    }
    state.metrics.ingest_latency(started.elapsed());
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(
            json!({"status": "success", "message": "Event processed", "dedup_key": dedup_key}),
        ),
    )
        .into_response())
}

/// The alert a trigger opens. Severity picks the priority through the integration's
/// `priority_map` (by default critical P1, error P2, warning P3, info P5); component, group and
/// class become details and tags; `custom_details` become details, non-text values as JSON.
pub fn new_alert(
    t: &Trigger,
    dedup_key: &str,
    integration: &Integration,
    mapping: &AlertMapping,
) -> NewAlert {
    let summary = t.summary.trim();
    let (message, description) = ingest::message_and_description(summary, "");
    let priority = mapping
        .priority_for(t.severity.as_str())
        .unwrap_or(Priority::P3);

    let mut d = Details::default();
    d.add("severity", t.severity.as_str());
    for (k, v) in [
        ("component", &t.component),
        ("group", &t.group),
        ("class", &t.class),
    ] {
        if let Some(v) = v {
            d.add(k, v);
        }
    }
    match &t.custom_details {
        Some(Value::Object(m)) => {
            for (k, v) in m {
                d.add(k, &as_text(v));
            }
        }
        Some(other) => {
            d.add("custom_details", &as_text(other));
        }
        None => {}
    }
    if let Some(ts) = &t.timestamp {
        d.add("timestamp", ts);
    }
    if let Some(c) = &t.client {
        d.add("client", c);
    }
    if let Some(c) = &t.client_url {
        d.add("client_url", c);
    }
    for (i, (href, text)) in t.links.iter().enumerate() {
        let key = if text.trim().is_empty() {
            format!("link {}", i + 1)
        } else {
            text.clone()
        };
        d.add(&key, href);
    }
    for (i, (src, _)) in t.images.iter().enumerate() {
        d.add(&format!("image {}", i + 1), src);
    }

    let tag_values = [&t.component, &t.group, &t.class];
    NewAlert {
        alias: dedup_key.to_string(),
        message,
        description,
        priority,
        source: truncate_chars(t.source.trim(), limits::SOURCE),
        entity: truncate_chars(t.component.as_deref().unwrap_or(""), limits::ENTITY),
        tags: ingest::tags(
            tag_values.into_iter().flatten().map(String::as_str),
            &integration.default_tags,
        ),
        details: d.into_map(),
        actions: vec![],
        responders: vec![],
        visible_to: vec![],
        note: None,
    }
}

/// A JSON value as detail text: strings as they are, anything else as compact JSON.
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event::Severity;

    fn integration() -> Integration {
        Integration {
            id: "i".into(),
            name: "pd".into(),
            kind: "pagerduty".into(),
            team_id: None,
            team_name: None,
            default_priority: None,
            default_tags: vec!["prod".into()],
            enabled: true,
            managed: true,
        }
    }

    fn trigger(severity: Severity) -> Trigger {
        Trigger {
            summary: "x".repeat(200),
            source: "db1".into(),
            severity,
            timestamp: None,
            component: Some("postgres".into()),
            group: None,
            class: Some("disk".into()),
            custom_details: Some(json!({"free": 5, "mount": "/var", "nested": {"a": [1]}})),
            links: vec![("https://l".into(), String::new())],
            images: vec![],
            client: None,
            client_url: None,
        }
    }

    #[test]
    fn severities_map_to_priorities() {
        let m = AlertMapping::default();
        let p = |s| new_alert(&trigger(s), "k", &integration(), &m).priority;
        assert_eq!(
            [
                p(Severity::Critical),
                p(Severity::Error),
                p(Severity::Warning),
                p(Severity::Info)
            ],
            [Priority::P1, Priority::P2, Priority::P3, Priority::P5]
        );
        let custom = AlertMapping::new(None, [("info".to_string(), Priority::P4)], None);
        assert_eq!(
            new_alert(&trigger(Severity::Info), "k", &integration(), &custom).priority,
            Priority::P4
        );
    }

    #[test]
    fn a_long_summary_is_cut_and_kept_whole_in_the_description() {
        let a = new_alert(
            &trigger(Severity::Error),
            "k",
            &integration(),
            &AlertMapping::default(),
        );
        assert_eq!(a.message, "x".repeat(130));
        assert_eq!(a.description, "x".repeat(200));
        assert_eq!(a.alias, "k");
        assert_eq!(a.source, "db1");
        assert_eq!(a.entity, "postgres");
        assert_eq!(a.tags, ["postgres", "disk", "prod"]);
        assert_eq!(
            serde_json::to_value(&a.details).unwrap(),
            json!({"severity": "error", "component": "postgres", "class": "disk", "free": "5",
                   "mount": "/var", "nested": "{\"a\":[1]}", "link 1": "https://l"})
        );
    }
}
