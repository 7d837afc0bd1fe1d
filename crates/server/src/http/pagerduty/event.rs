//! A PagerDuty Events API v2 event, parsed. Every problem is reported (PagerDuty lists them all
//! in `errors`), phrased the way PagerDuty phrases them.

use serde_json::{Map, Value};

/// PagerDuty's limit on `dedup_key`.
pub const DEDUP_KEY_MAX: usize = 255;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventAction {
    Trigger,
    Acknowledge,
    Resolve,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Critical,
    Error,
    Warning,
    Info,
}

impl Severity {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "critical" => Severity::Critical,
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            "info" => Severity::Info,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// What a trigger event says about the problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub summary: String,
    pub source: String,
    pub severity: Severity,
    /// As sent (ISO 8601, checked).
    pub timestamp: Option<String>,
    pub component: Option<String>,
    pub group: Option<String>,
    pub class: Option<String>,
    pub custom_details: Option<Value>,
    /// `(href, text)`
    pub links: Vec<(String, String)>,
    /// `(src, href)`
    pub images: Vec<(String, String)>,
    pub client: Option<String>,
    pub client_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub routing_key: String,
    pub action: EventAction,
    pub dedup_key: Option<String>,
    /// Present for triggers only; acknowledge and resolve ignore any payload, as PagerDuty does.
    pub trigger: Option<Trigger>,
}

struct Reader {
    errors: Vec<String>,
}

impl Reader {
    /// A string field; `None` when absent, null or blank.
    fn string(&mut self, obj: &Map<String, Value>, key: &str, path: &str) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.errors.push(format!("'{path}' must be a string"));
                None
            }
        }
    }

    fn required(&mut self, obj: &Map<String, Value>, key: &str, path: &str) -> Option<String> {
        let had_error = self.errors.len();
        let v = self.string(obj, key, path);
        if v.is_none() && self.errors.len() == had_error {
            self.errors.push(format!("'{path}' is missing or blank"));
        }
        v
    }

    /// A list of objects, each turned into a pair of string fields (`first` required).
    fn pairs(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        first: &str,
        second: &str,
    ) -> Vec<(String, String)> {
        let items = match obj.get(key) {
            None | Some(Value::Null) => return vec![],
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.errors
                    .push(format!("'{key}' must be a list of objects"));
                return vec![];
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Value::Object(m) = item else {
                self.errors.push(format!("'{key}[{i}]' must be an object"));
                continue;
            };
            let path = format!("{key}[{i}].{first}");
            if let Some(a) = self.required(m, first, &path) {
                let b = self
                    .string(m, second, &format!("{key}[{i}].{second}"))
                    .unwrap_or_default();
                out.push((a, b));
            }
        }
        out
    }
}

impl Event {
    /// Parses an event body. `fallback_key` is a routing key sent outside the body (the
    /// `X-Routing-Key` header older clients use, or an `Authorization` header); the body's wins.
    pub fn parse(body: &Value, fallback_key: Option<String>) -> Result<Event, Vec<String>> {
        let Value::Object(obj) = body else {
            return Err(vec!["Event must be a JSON object".into()]);
        };
        let mut r = Reader { errors: vec![] };
        let routing_key = r.string(obj, "routing_key", "routing_key").or(fallback_key);
        if routing_key.is_none() && !r.errors.iter().any(|e| e.contains("routing_key")) {
            r.errors.push("'routing_key' is missing or blank".into());
        }
        let action = match r.required(obj, "event_action", "event_action").as_deref() {
            Some("trigger") => Some(EventAction::Trigger),
            Some("acknowledge") => Some(EventAction::Acknowledge),
            Some("resolve") => Some(EventAction::Resolve),
            Some(_) => {
                r.errors.push(
                    "'event_action' is invalid (must be one of: 'trigger', 'acknowledge', 'resolve')"
                        .into(),
                );
                None
            }
            None => None,
        };
        let dedup_key = r.string(obj, "dedup_key", "dedup_key");
        if dedup_key
            .as_ref()
            .is_some_and(|k| k.chars().count() > DEDUP_KEY_MAX)
        {
            r.errors.push(format!(
                "'dedup_key' is too long (at most {DEDUP_KEY_MAX} characters)"
            ));
        }
        if matches!(
            action,
            Some(EventAction::Acknowledge | EventAction::Resolve)
        ) && dedup_key.is_none()
            && !r.errors.iter().any(|e| e.contains("dedup_key"))
        {
            r.errors.push(
                "'dedup_key' is missing or blank (it is required to acknowledge or resolve)".into(),
            );
        }
        let trigger = match action {
            Some(EventAction::Trigger) => Self::trigger(obj, &mut r),
            _ => None,
        };
        match (r.errors.is_empty(), routing_key, action) {
            (true, Some(routing_key), Some(action)) => Ok(Event {
                routing_key,
                action,
                dedup_key,
                trigger,
            }),
            _ => Err(r.errors),
        }
    }

    fn trigger(obj: &Map<String, Value>, r: &mut Reader) -> Option<Trigger> {
        let links = r.pairs(obj, "links", "href", "text");
        let images = r.pairs(obj, "images", "src", "href");
        let client = r.string(obj, "client", "client");
        let client_url = r.string(obj, "client_url", "client_url");
        let p = match obj.get("payload") {
            Some(Value::Object(p)) => p,
            None | Some(Value::Null) => {
                r.errors
                    .push("'payload' is missing (it is required to trigger)".into());
                return None;
            }
            Some(_) => {
                r.errors.push("'payload' must be an object".into());
                return None;
            }
        };
        let summary = r.required(p, "summary", "payload.summary");
        let source = r.required(p, "source", "payload.source");
        let severity = match r.required(p, "severity", "payload.severity") {
            Some(s) => Severity::parse(&s).or_else(|| {
                r.errors.push(
                    "'payload.severity' is invalid (must be one of: 'critical', 'error', 'warning', 'info')"
                        .into(),
                );
                None
            }),
            None => None,
        };
        let timestamp = r.string(p, "timestamp", "payload.timestamp");
        if let Some(t) = &timestamp {
            if !is_iso_time(t) {
                r.errors.push(format!(
                    "'payload.timestamp' is not an ISO 8601 time: {t:?} (use 2026-01-02T03:04:05Z)"
                ));
            }
        }
        let component = r.string(p, "component", "payload.component");
        let group = r.string(p, "group", "payload.group");
        let class = r.string(p, "class", "payload.class");
        let custom_details = p.get("custom_details").filter(|v| !v.is_null()).cloned();
        Some(Trigger {
            summary: summary?,
            source: source?,
            severity: severity?,
            timestamp,
            component,
            group,
            class,
            custom_details,
            links,
            images,
            client,
            client_url,
        })
    }
}

/// ISO 8601 as monitoring tools write it: RFC 3339, or without an offset (taken as UTC).
fn is_iso_time(s: &str) -> bool {
    klaxon_core::time::parse_iso(s).is_ok()
        || chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S%.f").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(v: Value) -> Vec<String> {
        Event::parse(&v, None).unwrap_err()
    }

    #[test]
    fn a_full_trigger_parses() {
        let e = Event::parse(
            &json!({
                "routing_key": "k", "event_action": "trigger", "dedup_key": "d",
                "payload": {"summary": "s", "source": "h", "severity": "warning",
                            "timestamp": "2026-01-02T03:04:05.000+00:00", "component": "db",
                            "group": "prod", "class": "disk", "custom_details": {"a": 1}},
                "links": [{"href": "https://l", "text": "L"}], "images": [{"src": "https://i"}],
                "client": "mon", "client_url": "https://mon", "unknown": true
            }),
            None,
        )
        .unwrap();
        assert_eq!(e.action, EventAction::Trigger);
        assert_eq!(e.dedup_key.as_deref(), Some("d"));
        let t = e.trigger.unwrap();
        assert_eq!(t.severity, Severity::Warning);
        assert_eq!(t.links, [("https://l".to_string(), "L".to_string())]);
        assert_eq!(t.images, [("https://i".to_string(), String::new())]);
        assert_eq!(t.custom_details, Some(json!({"a": 1})));
    }

    #[test]
    fn every_problem_is_listed() {
        assert_eq!(
            errors(json!({"event_action": "trigger", "payload": {"severity": "fatal"}})),
            [
                "'routing_key' is missing or blank",
                "'payload.summary' is missing or blank",
                "'payload.source' is missing or blank",
                "'payload.severity' is invalid (must be one of: 'critical', 'error', 'warning', 'info')",
            ]
        );
        assert_eq!(
            errors(json!({"routing_key": "k", "event_action": "explode"})),
            ["'event_action' is invalid (must be one of: 'trigger', 'acknowledge', 'resolve')"]
        );
        assert_eq!(
            errors(json!({"routing_key": 5, "event_action": "resolve"})),
            [
                "'routing_key' must be a string",
                "'dedup_key' is missing or blank (it is required to acknowledge or resolve)"
            ]
        );
        assert_eq!(
            errors(json!({"routing_key": "k", "event_action": "trigger"})),
            ["'payload' is missing (it is required to trigger)"]
        );
        assert_eq!(
            errors(
                json!({"routing_key": "k", "event_action": "trigger", "links": [1],
                          "payload": {"summary": "s", "source": "h", "severity": "info", "timestamp": "soon"}})
            ),
            [
                "'links[0]' must be an object",
                "'payload.timestamp' is not an ISO 8601 time: \"soon\" (use 2026-01-02T03:04:05Z)"
            ]
        );
        assert_eq!(
            errors(
                json!({"routing_key": "k", "event_action": "acknowledge", "dedup_key": "x".repeat(256)})
            ),
            ["'dedup_key' is too long (at most 255 characters)"]
        );
        assert_eq!(errors(json!([])), ["Event must be a JSON object"]);
    }

    #[test]
    fn resolve_ignores_the_payload_and_keys_may_come_from_outside_the_body() {
        let e = Event::parse(
            &json!({"event_action": "resolve", "dedup_key": "d", "payload": {"severity": "nope"}}),
            Some("header-key".into()),
        )
        .unwrap();
        assert_eq!(e.routing_key, "header-key");
        assert_eq!(e.action, EventAction::Resolve);
        assert!(e.trigger.is_none());
    }
}
