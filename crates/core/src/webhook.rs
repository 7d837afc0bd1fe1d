//! The generic webhook integration (`type: webhook`, `POST /api/integrations/webhook`): any
//! JSON body, with the alert's fields picked out by JSON pointers (RFC 6901) configured per
//! integration under `mapping:`. For sources that speak neither OpsGenie, PagerDuty nor
//! Alertmanager (Grafana, cron jobs, CI).
//!
//! ```yaml
//! integrations:
//!   - name: grafana
//!     type: webhook
//!     api_key: "…"
//!     team: sre
//!     priority_map: {alerting: P2}     # value → priority (over critical P1, error P2, …)
//!     mapping:
//!       message: /title                # required in each body that opens an alert
//!       alias: /groupKey
//!       priority: /commonLabels/severity
//!       description: /message
//!       details: /commonLabels         # a pointer to an object, or {name: pointer, …}
//!       tags: /tags                    # an array of strings, or one comma-separated string
//!       source: /externalURL
//!       entity: /receiver
//!       status: /status                # with close_values / acknowledge_values
//!       close_values: [resolved]
//! ```

use crate::alert::{limits, truncate_chars};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// `details:` — one pointer to an object whose members become details, or a map of detail
/// name → pointer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum DetailsMapping {
    Object(String),
    Fields(BTreeMap<String, String>),
}

/// Where each field of the alert is in the body. Every field has a default pointer (its own
/// name: `/message`, `/alias`, …), so a body shaped like an OpsGenie create needs no mapping.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookMapping {
    pub message: String,
    pub alias: String,
    pub priority: String,
    pub description: String,
    pub details: DetailsMapping,
    pub tags: String,
    pub source: String,
    pub entity: String,
    /// The value that says what to do: one of `close_values` closes the alert named by the
    /// alias, one of `acknowledge_values` acknowledges it; anything else (or none) creates.
    pub status: String,
    pub close_values: Vec<String>,
    pub acknowledge_values: Vec<String>,
}

impl Default for WebhookMapping {
    fn default() -> Self {
        WebhookMapping {
            message: "/message".into(),
            alias: "/alias".into(),
            priority: "/priority".into(),
            description: "/description".into(),
            details: DetailsMapping::Object("/details".into()),
            tags: "/tags".into(),
            source: "/source".into(),
            entity: "/entity".into(),
            status: "/status".into(),
            close_values: ["resolved", "ok", "closed", "close"]
                .map(String::from)
                .to_vec(),
            acknowledge_values: ["acknowledged", "acknowledge", "ack"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// A JSON pointer as RFC 6901 writes it: empty (the whole body) or starting with `/`.
pub fn check_pointer(p: &str) -> Result<(), String> {
    if p.is_empty() || p.starts_with('/') {
        // `~` must be followed by 0 or 1.
        let mut chars = p.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                return Err(format!(
                    "{p:?} is not a JSON pointer: `~` must be followed by 0 or 1"
                ));
            }
        }
        Ok(())
    } else {
        Err(format!(
            "{p:?} is not a JSON pointer: it must start with '/' (e.g. /title, /labels/severity)"
        ))
    }
}

impl WebhookMapping {
    /// Every pointer with the field it is for (for validation).
    pub fn pointers(&self) -> Vec<(String, &str)> {
        let mut v: Vec<(String, &str)> = [
            ("message", &self.message),
            ("alias", &self.alias),
            ("priority", &self.priority),
            ("description", &self.description),
            ("tags", &self.tags),
            ("source", &self.source),
            ("entity", &self.entity),
            ("status", &self.status),
        ]
        .into_iter()
        .map(|(k, p)| (k.to_string(), p.as_str()))
        .collect();
        match &self.details {
            DetailsMapping::Object(p) => v.push(("details".into(), p.as_str())),
            DetailsMapping::Fields(m) => {
                v.extend(m.iter().map(|(k, p)| (format!("details.{k}"), p.as_str())))
            }
        }
        v
    }

    /// Reads one body. Missing fields are left empty (the alert's defaults apply), except the
    /// message of a create and the alias of a close or acknowledge, without which the request
    /// is refused with a message naming the pointer.
    pub fn extract(&self, body: &Value) -> Result<WebhookEvent, String> {
        let text = |p: &str| -> Option<String> {
            if p.is_empty() && !body.is_object() {
                return scalar(body);
            }
            body.pointer(p).and_then(scalar)
        };
        let alias = text(&self.alias)
            .map(|a| truncate_chars(a.trim(), limits::ALIAS))
            .filter(|a| !a.is_empty());
        if let Some(status) = text(&self.status) {
            let s = status.trim();
            let is = |list: &[String]| list.iter().any(|v| v.trim().eq_ignore_ascii_case(s));
            let action = if is(&self.close_values) {
                Some(WebhookAction::Close)
            } else if is(&self.acknowledge_values) {
                Some(WebhookAction::Acknowledge)
            } else {
                None
            };
            if let Some(action) = action {
                let alias = alias.ok_or_else(|| {
                    format!(
                        "status {s:?} {} an alert by its alias, but the body has no alias at {}",
                        match action {
                            WebhookAction::Close => "closes",
                            WebhookAction::Acknowledge => "acknowledges",
                        },
                        show(&self.alias)
                    )
                })?;
                return Ok(WebhookEvent::Act { action, alias });
            }
        }
        let message = text(&self.message)
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .ok_or_else(|| {
                format!(
                    "the body has no message at {} (the integration's mapping.message): a text, number or boolean is needed",
                    show(&self.message)
                )
            })?;
        let mut details = Vec::new();
        match &self.details {
            DetailsMapping::Object(p) => match body.pointer(p) {
                Some(Value::Object(m)) => {
                    for (k, v) in m {
                        if let Some(t) = as_text(v) {
                            details.push((k.clone(), t));
                        }
                    }
                }
                Some(Value::Null) | None => {}
                Some(other) => {
                    return Err(format!(
                        "details at {} must be an object, not {}",
                        show(p),
                        kind(other)
                    ))
                }
            },
            DetailsMapping::Fields(m) => {
                for (name, p) in m {
                    if let Some(t) = body.pointer(p).and_then(as_text) {
                        details.push((name.clone(), t));
                    }
                }
            }
        }
        let tags = match body.pointer(&self.tags) {
            Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
            Some(Value::String(s)) => s.split(',').map(|t| t.trim().to_string()).collect(),
            Some(Value::Null) | None => vec![],
            Some(other) => {
                return Err(format!(
                    "tags at {} must be an array of strings or a comma-separated string, not {}",
                    show(&self.tags),
                    kind(other)
                ))
            }
        };
        Ok(WebhookEvent::Create(Box::new(WebhookAlert {
            message,
            alias,
            priority: text(&self.priority).map(|p| p.trim().to_string()),
            description: body
                .pointer(&self.description)
                .and_then(as_text)
                .unwrap_or_default(),
            details,
            tags,
            source: text(&self.source).unwrap_or_default(),
            entity: text(&self.entity).unwrap_or_default(),
        })))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookAction {
    Close,
    Acknowledge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEvent {
    Create(Box<WebhookAlert>),
    Act {
        action: WebhookAction,
        alias: String,
    },
}

/// The fields read from a body that opens an alert (not yet cut to OpsGenie's limits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAlert {
    pub message: String,
    pub alias: Option<String>,
    /// The value found at the priority pointer; the integration's priority map reads it.
    pub priority: Option<String>,
    pub description: String,
    pub details: Vec<(String, String)>,
    pub tags: Vec<String>,
    pub source: String,
    pub entity: String,
}

fn show(p: &str) -> String {
    if p.is_empty() {
        "the top level".into()
    } else {
        p.to_string()
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A text, number or boolean as text; `None` for null, arrays and objects.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Any value as text: scalars as they are, arrays and objects as compact JSON.
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Array(_) | Value::Object(_) => Some(v.to_string()),
        other => scalar(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn grafana() -> WebhookMapping {
        serde_yaml::from_str(
            "message: /title\nalias: /groupKey\npriority: /commonLabels/severity\ndescription: /message\ndetails: /commonLabels\nsource: /externalURL\nentity: /receiver\nstatus: /status\nclose_values: [resolved]\ntags: /tags\n",
        )
        .unwrap()
    }

    #[test]
    fn a_grafana_body_maps_onto_an_alert() {
        let body = json!({
            "title": "[FIRING:1] HighCPU", "groupKey": "{}:{alertname=\"HighCPU\"}",
            "status": "firing", "message": "CPU above 90%", "receiver": "klaxon",
            "externalURL": "http://grafana:3000/", "commonLabels": {"severity": "critical", "host": "db1"},
            "tags": ["grafana", "cpu"]
        });
        let WebhookEvent::Create(a) = grafana().extract(&body).unwrap() else {
            panic!()
        };
        assert_eq!(a.message, "[FIRING:1] HighCPU");
        assert_eq!(a.alias.as_deref(), Some("{}:{alertname=\"HighCPU\"}"));
        assert_eq!(a.priority.as_deref(), Some("critical"));
        assert_eq!(a.description, "CPU above 90%");
        assert_eq!(
            a.details,
            vec![
                ("host".to_string(), "db1".to_string()),
                ("severity".to_string(), "critical".to_string())
            ]
        );
        assert_eq!(a.tags, vec!["grafana", "cpu"]);
        assert_eq!(a.source, "http://grafana:3000/");
        assert_eq!(a.entity, "klaxon");

        let resolved = json!({"status": "resolved", "groupKey": "g1", "title": "x"});
        assert_eq!(
            grafana().extract(&resolved).unwrap(),
            WebhookEvent::Act {
                action: WebhookAction::Close,
                alias: "g1".into()
            }
        );
    }

    #[test]
    fn defaults_details_by_name_and_refusals() {
        let m = WebhookMapping::default();
        let body = json!({"message": 42, "tags": "a, b", "status": "ACK", "alias": "x"});
        assert_eq!(
            m.extract(&body).unwrap(),
            WebhookEvent::Act {
                action: WebhookAction::Acknowledge,
                alias: "x".into()
            }
        );
        let WebhookEvent::Create(a) = m.extract(&json!({"message": 42, "tags": "a, b"})).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (a.message.as_str(), a.tags.clone()),
            ("42", vec!["a".to_string(), "b".to_string()])
        );

        let by_name: WebhookMapping = serde_yaml::from_str(
            "message: /job\ndetails: {exit: /result/code, log: /result/log}\n",
        )
        .unwrap();
        let WebhookEvent::Create(a) = by_name
            .extract(&json!({"job": "backup", "result": {"code": 3, "log": ["a", "b"]}}))
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            a.details,
            vec![
                ("exit".to_string(), "3".to_string()),
                ("log".to_string(), "[\"a\",\"b\"]".to_string())
            ]
        );

        let err = grafana().extract(&json!({"status": "firing"})).unwrap_err();
        assert!(err.contains("no message at /title"), "{err}");
        let err = grafana()
            .extract(&json!({"status": "resolved"}))
            .unwrap_err();
        assert!(err.contains("no alias at /groupKey"), "{err}");
        let err = m
            .extract(&json!({"message": "m", "details": [1]}))
            .unwrap_err();
        assert!(err.contains("must be an object"), "{err}");
        assert!(check_pointer("title").is_err());
        assert!(check_pointer("/a~2").is_err());
        assert!(check_pointer("/a~1b").is_ok());
        assert!(serde_yaml::from_str::<WebhookMapping>("mesage: /x\n").is_err());
    }
}
