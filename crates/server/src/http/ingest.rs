//! What the ingest surfaces beside the OpsGenie API share (PagerDuty events, the Alertmanager
//! webhook): write operations on behalf of an integration, request ids for them, and alert
//! details that stay within OpsGenie's limits however much a source sends.
//!
//! Any integration, whatever its `type`, may post to any surface: a key identifies a source and
//! its team; the type only names the source in `integration.type`.

use crate::app::AppState;
use crate::http::opsgenie::error::current_meta;
use klaxon_core::alert::{limits, truncate_chars};
use klaxon_core::config::IntegrationKind;
use klaxon_core::lifecycle::Actor;
use klaxon_store::{Integration, WriteKind, WriteOp};
use std::collections::BTreeMap;

/// Request ids for the writes one HTTP request makes: the first is the request's own id
/// (`X-Request-Id`), so its outcome can be looked up; later ones are fresh.
pub struct RequestIds {
    first: Option<String>,
}

impl RequestIds {
    pub fn new() -> Self {
        RequestIds {
            first: Some(current_meta().id),
        }
    }

    pub fn take(&mut self) -> String {
        self.first
            .take()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

/// The client's address, for the `source` of what it sends without one.
pub fn client_ip(parts: &axum::http::request::Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

/// An alert's message within its limit and its description; a message that had to be cut is
/// kept whole in an empty description, so nothing the source said is lost.
pub fn message_and_description(message: &str, description: &str) -> (String, String) {
    let cut = truncate_chars(message, limits::MESSAGE);
    let description = if cut.chars().count() < message.chars().count() && description.is_empty() {
        message
    } else {
        description
    };
    (cut, truncate_chars(description, limits::DESCRIPTION))
}

/// Who a write is by: the integration, via `via` (`PagerDuty`, `Alertmanager`), from `source`.
pub fn actor(integration: &Integration, via: &str, source: &str) -> Actor {
    let source = source.trim();
    Actor {
        user: integration.name.clone(),
        via: via.to_string(),
        source: if source.is_empty() {
            integration.name.clone()
        } else {
            truncate_chars(source, limits::SOURCE)
        },
    }
}

pub fn write_op(
    state: &AppState,
    integration: &Integration,
    request_id: String,
    actor: Actor,
    kind: WriteKind,
) -> WriteOp {
    WriteOp {
        request_id,
        integration_id: integration.id.clone(),
        integration_name: integration.name.clone(),
        integration_type: IntegrationKind::parse(&integration.kind)
            .map(|k| k.opsgenie_type())
            .unwrap_or("API")
            .to_string(),
        team_id: integration.team_id.clone(),
        actor,
        now: state.clock.now_ms(),
        kind,
    }
}

/// Alert details filled in order of importance until OpsGenie's 8,000-character budget is
/// spent: a source that sends too much loses its last details, never the alert.
#[derive(Debug, Default)]
pub struct Details {
    map: BTreeMap<String, String>,
    used: usize,
}

/// Room kept for the "…" that marks a cut value.
const ELLIPSIS: &str = "…";

impl Details {
    /// Adds `key` unless it is already there or empty. A value too long for what is left is cut
    /// and ends with "…"; returns whether anything was added.
    pub fn add(&mut self, key: &str, value: &str) -> bool {
        let key = key.trim();
        if key.is_empty() || self.map.contains_key(key) {
            return false;
        }
        let key_len = key.chars().count();
        let left = limits::DETAILS_CHARS.saturating_sub(self.used + key_len);
        let value_len = value.chars().count();
        let value = if value_len <= left {
            value.to_string()
        } else if left > 8 {
            format!("{}{ELLIPSIS}", truncate_chars(value, left - 1))
        } else {
            return false;
        };
        self.used += key_len + value.chars().count();
        self.map.insert(key.to_string(), value);
        true
    }

    pub fn into_map(self) -> BTreeMap<String, String> {
        self.map
    }
}

/// Tags from `values`: trimmed, cut to 50 characters, without duplicates, at most 20.
pub fn tags<'a>(values: impl IntoIterator<Item = &'a str>, defaults: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let cleaned = values
        .into_iter()
        .map(|t| truncate_chars(t.trim(), limits::TAG_LEN))
        .chain(defaults.iter().cloned());
    for t in cleaned {
        if !t.is_empty() && !out.contains(&t) && out.len() < limits::TAGS {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_keep_within_the_budget() {
        let mut d = Details::default();
        assert!(d.add("a", "1"));
        assert!(!d.add("a", "2"), "first value wins");
        assert!(!d.add(" ", "x"));
        let long = "x".repeat(limits::DETAILS_CHARS);
        assert!(d.add("big", &long));
        assert!(!d.add("late", "y"), "budget spent");
        let m = d.into_map();
        assert_eq!(m["a"], "1");
        let total: usize = m.iter().map(|(k, v)| k.len() + v.chars().count()).sum();
        assert_eq!(total, limits::DETAILS_CHARS);
        assert!(m["big"].ends_with('…'));
    }

    #[test]
    fn tags_are_cleaned_and_bounded() {
        let long = "t".repeat(60);
        let many: Vec<String> = (0..30).map(|i| format!("x{i}")).collect();
        let t = tags(
            ["db", " db ", "", long.as_str()],
            &["prod".to_string(), "db".to_string()],
        );
        assert_eq!(t, ["db".to_string(), "t".repeat(50), "prod".to_string()]);
        assert_eq!(tags(many.iter().map(String::as_str), &[]).len(), 20);
    }
}
