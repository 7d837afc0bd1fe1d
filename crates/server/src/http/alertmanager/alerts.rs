//! `POST /api/v2/alerts`, `GET /api/v2/alerts`, `GET /api/v2/alerts/groups`.

use super::{authorize, bool_param, parse_filters, parse_time, query_pairs, render_time, AmError};
use crate::app::AppState;
use crate::engine::alertmanager::{group_alias, AmRuntime, Suppression};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use klaxon_core::alertmanager::{
    is_valid_label_name, Fingerprint, Labels, MatchType, Matcher, Route,
};
use klaxon_store::{AmAlert, AmGroupRef, AmIngest};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// One alert as posted, after the schema checks.
struct Posted {
    labels: Labels,
    annotations: BTreeMap<String, String>,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
    generator_url: String,
}

fn parse_failed(because: impl std::fmt::Display) -> AmError {
    AmError::Parse(format!(
        "parsing alerts body from \"\" failed, because {because}"
    ))
}

fn string_map(v: Option<Value>, field: &str) -> Result<BTreeMap<String, String>, AmError> {
    match v {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        // Taken apart rather than copied: the keys and values move into the map.
        Some(Value::Object(m)) => m
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                other => Err(parse_failed(format!(
                    "json: cannot unmarshal {} into Go struct field Alert.{field} of type string",
                    json_kind(&other)
                ))),
            })
            .collect(),
        Some(other) => Err(parse_failed(format!(
            "json: cannot unmarshal {} into Go struct field Alert.{field} of type models.LabelSet",
            json_kind(&other)
        ))),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The schema checks Alertmanager's API layer makes: any failure refuses the whole request.
fn parse_body(body: &[u8]) -> Result<Vec<Posted>, AmError> {
    let v: Value = serde_json::from_slice(body).map_err(parse_failed)?;
    let Value::Array(items) = v else {
        return Err(parse_failed(format!(
            "json: cannot unmarshal {} into Go value of type models.PostableAlerts",
            json_kind(&v)
        )));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(mut obj) = item else {
            return Err(parse_failed(format!(
                "json: cannot unmarshal {} into Go value of type models.PostableAlert",
                json_kind(&item)
            )));
        };
        if matches!(obj.get("labels"), None | Some(Value::Null)) {
            return Err(AmError::Schema(
                602,
                format!("{i}.labels in body is required"),
            ));
        }
        // Checked in this order: labels, annotations, startsAt, endsAt.
        let labels = string_map(obj.remove("labels"), "labels")?;
        let annotations = string_map(obj.remove("annotations"), "annotations")?;
        let time = |name: &str| -> Result<Option<i64>, AmError> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => parse_time(s).map_err(parse_failed),
                Some(other) => Err(parse_failed(format!(
                    "json: cannot unmarshal {} into Go struct field {name} of type strfmt.DateTime",
                    json_kind(other)
                ))),
            }
        };
        let (starts_at, ends_at) = (time("startsAt")?, time("endsAt")?);
        out.push(Posted {
            labels,
            annotations,
            starts_at,
            ends_at,
            generator_url: match obj.remove("generatorURL") {
                Some(Value::String(s)) => s,
                _ => String::new(),
            },
        });
    }
    Ok(out)
}

/// Alertmanager's checks of one alert, with its messages.
fn validate(a: &AmAlert) -> Result<(), String> {
    if a.ends_at < a.starts_at {
        return Err("start time must be before end time".into());
    }
    if let Some(name) = a.labels.keys().find(|n| !is_valid_label_name(n)) {
        return Err(format!("invalid label set: invalid name {name:?}"));
    }
    if a.labels.is_empty() {
        return Err("at least one label pair required".into());
    }
    if let Some(name) = a.annotations.keys().find(|n| !is_valid_label_name(n)) {
        return Err(format!("invalid annotations: invalid name {name:?}"));
    }
    Ok(())
}

/// Stores the valid alerts and answers 200 with an empty body (what amtool and Prometheus
/// expect). As in Alertmanager, the valid alerts of a request are kept even when others are
/// refused; the refused ones are listed in a 400.
pub async fn post(
    State(state): State<AppState>,
    parts: Parts,
    body: Bytes,
) -> Result<Response, AmError> {
    authorize(&state, &parts).await?;
    let posted = parse_body(&body)?;
    let now = state.clock.now_ms();
    let rt = state.am.get();
    let mut errors = Vec::new();
    let mut alerts = Vec::with_capacity(posted.len());
    let mut groups = Vec::new();
    for p in posted {
        let mut labels = p.labels;
        labels.retain(|_, v| !v.is_empty());
        let starts_at = p.starts_at.or(p.ends_at).unwrap_or(now);
        let ends_at = p.ends_at.unwrap_or(now + rt.resolve_timeout_ms);
        let a = AmAlert {
            fingerprint: Fingerprint::of(&labels).to_string(),
            labels,
            annotations: p.annotations,
            starts_at,
            ends_at,
            generator_url: p.generator_url,
            updated_at: now,
        };
        if let Err(e) = validate(&a) {
            errors.push(e);
            continue;
        }
        for route in rt.rules.routes_for(&a.labels) {
            groups.push((group_ref(route, &a.labels, now), a.fingerprint.clone()));
        }
        alerts.push(a);
    }
    if !alerts.is_empty() {
        let wake = groups
            .iter()
            .any(|(g, _)| g.first_flush_at < now + crate::engine::IDLE_POLL_MS);
        // Committed together with the other requests queued (group commit); the 200 waits
        // for the commit.
        state
            .writer
            .am_ingest(AmIngest {
                alerts,
                groups,
                now,
            })
            .await?;
        if wake {
            rt.wake.notify_one();
        }
    }
    if !errors.is_empty() {
        return Err(AmError::Invalid(errors.join("; ")));
    }
    Ok(axum::http::StatusCode::OK.into_response())
}

fn group_ref(route: &Route, labels: &Labels, now: i64) -> AmGroupRef {
    let key = route.group_key(labels);
    AmGroupRef {
        alias: group_alias(&key),
        route_id: route.id().to_string(),
        receiver: route.receiver().to_string(),
        group_labels: route.group_labels(labels),
        first_flush_at: now + route.group_wait().0.as_millis() as i64,
        group_key: key,
    }
}

#[derive(Serialize)]
struct Receiver<'a> {
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertStatus {
    inhibited_by: Vec<String>,
    silenced_by: Vec<String>,
    state: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableAlert<'a> {
    annotations: &'a BTreeMap<String, String>,
    ends_at: String,
    fingerprint: &'a str,
    receivers: Vec<Receiver<'a>>,
    starts_at: String,
    status: AlertStatus,
    updated_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "str::is_empty")]
    generator_url: &'a str,
    labels: &'a Labels,
}

/// The filters of `GET /api/v2/alerts` and `/alerts/groups`.
struct Filter {
    matchers: Vec<Matcher>,
    receiver: Option<Matcher>,
    active: bool,
    silenced: bool,
    inhibited: bool,
}

impl Filter {
    fn parse(query: &[(String, String)]) -> Result<Filter, AmError> {
        let receiver = match query.iter().rev().find(|(k, _)| k == "receiver") {
            Some((_, re)) if !re.is_empty() => Some(
                Matcher::new(MatchType::Regexp, "receiver", re.as_str()).map_err(|e| {
                    AmError::Invalid(format!("failed to parse receiver param: {e}"))
                })?,
            ),
            _ => None,
        };
        // `unprocessed` is accepted; Klaxon processes every alert as it is posted.
        bool_param(query, "unprocessed", true)?;
        Ok(Filter {
            matchers: parse_filters(query)?,
            receiver,
            active: bool_param(query, "active", true)?,
            silenced: bool_param(query, "silenced", true)?,
            inhibited: bool_param(query, "inhibited", true)?,
        })
    }

    /// Equality matchers on non-empty values, which the store can narrow down with.
    fn equal_pairs(&self) -> Vec<(String, String)> {
        self.matchers
            .iter()
            .filter(|m| m.op() == MatchType::Equal && !m.value().is_empty())
            .map(|m| (m.name().to_string(), m.value().to_string()))
            .collect()
    }

    /// Regex matchers whose every match starts with a literal text (`host-12.*`): the store
    /// narrows down with that prefix too. (The exact matchers are applied afterwards.)
    fn prefix_pairs(&self) -> Vec<(String, String)> {
        self.matchers
            .iter()
            .filter(|m| m.op() == MatchType::Regexp)
            .filter_map(|m| Some((m.name().to_string(), regex_prefix(m.value())?)))
            .collect()
    }

    /// The alert as the API shows it, or `None` when the filter leaves it out.
    fn render<'a>(
        &self,
        rt: &'a AmRuntime,
        sup: &Suppression,
        a: &'a AmAlert,
    ) -> Option<GettableAlert<'a>> {
        if !self.matchers.iter().all(|m| m.matches(&a.labels)) {
            return None;
        }
        let mut receivers: Vec<&str> = rt
            .rules
            .routes_for(&a.labels)
            .into_iter()
            .map(Route::receiver)
            .collect();
        receivers.dedup();
        if let Some(re) = &self.receiver {
            if !receivers.iter().any(|r| re.matches_value(r)) {
                return None;
            }
        }
        let silenced_by = sup.silenced_by(&a.labels);
        let inhibited_by: Vec<String> = sup
            .inhibited_by(&a.labels)
            .map(|f| f.to_string())
            .into_iter()
            .collect();
        let suppressed = !silenced_by.is_empty() || !inhibited_by.is_empty();
        if (!self.active && !suppressed)
            || (!self.silenced && !silenced_by.is_empty())
            || (!self.inhibited && !inhibited_by.is_empty())
        {
            return None;
        }
        Some(GettableAlert {
            annotations: &a.annotations,
            ends_at: render_time(a.ends_at),
            fingerprint: &a.fingerprint,
            receivers: receivers
                .into_iter()
                .map(|name| Receiver { name })
                .collect(),
            starts_at: render_time(a.starts_at),
            status: AlertStatus {
                inhibited_by,
                silenced_by,
                state: if suppressed { "suppressed" } else { "active" },
            },
            updated_at: render_time(a.updated_at),
            generator_url: &a.generator_url,
            labels: &a.labels,
        })
    }
}

/// The literal text every match of the anchored regex `pattern` starts with, if there is one:
/// the leading run of plain characters, minus the last one when a quantifier follows it. No
/// prefix when the pattern has an alternation or starts with anything else.
fn regex_prefix(pattern: &str) -> Option<String> {
    if pattern.contains('|') {
        return None;
    }
    let meta = |c: char| ".^$*+?()[]{}|\\".contains(c);
    let mut prefix: Vec<char> = pattern
        .chars()
        .take_while(|c| !meta(*c) && !c.is_control() && *c != '"')
        .collect();
    if let Some(next) = pattern.chars().nth(prefix.len()) {
        if matches!(next, '*' | '?' | '{' | '+') {
            prefix.pop();
        }
    }
    (!prefix.is_empty()).then(|| prefix.into_iter().collect())
}

fn json_response<T: Serialize>(v: &T) -> Result<Response, AmError> {
    let body = serde_json::to_vec(v).map_err(|e| anyhow::anyhow!(e))?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// Firing alerts, filtered, ordered by fingerprint.
pub async fn list(State(state): State<AppState>, parts: Parts) -> Result<Response, AmError> {
    authorize(&state, &parts).await?;
    let filter = Filter::parse(&query_pairs(&parts))?;
    let now = state.clock.now_ms();
    let alerts = state
        .store
        .am_alerts_narrowed(Some(now), &filter.equal_pairs(), &filter.prefix_pairs())
        .await?;
    let rt = state.am.get();
    let sup = Suppression::load(&rt, &state.store, now).await?;
    let out: Vec<GettableAlert> = alerts
        .iter()
        .filter_map(|a| filter.render(&rt, &sup, a))
        .collect();
    json_response(&out)
}

#[derive(Serialize)]
struct AlertGroup<'a> {
    alerts: Vec<GettableAlert<'a>>,
    labels: &'a Labels,
    receiver: Receiver<'a>,
}

/// The aggregation groups with their (filtered) firing alerts; empty groups are left out.
pub async fn groups(State(state): State<AppState>, parts: Parts) -> Result<Response, AmError> {
    authorize(&state, &parts).await?;
    let filter = Filter::parse(&query_pairs(&parts))?;
    let now = state.clock.now_ms();
    let alerts = state
        .store
        .am_alerts_narrowed(Some(now), &filter.equal_pairs(), &filter.prefix_pairs())
        .await?;
    let by_fp: HashMap<&str, &AmAlert> =
        alerts.iter().map(|a| (a.fingerprint.as_str(), a)).collect();
    let groups = state.store.am_groups().await?;
    let rt = state.am.get();
    let sup = Suppression::load(&rt, &state.store, now).await?;
    let mut out = Vec::new();
    for (g, members) in &groups {
        if let Some(re) = &filter.receiver {
            if !re.matches_value(&g.receiver) {
                continue;
            }
        }
        let alerts: Vec<GettableAlert> = members
            .iter()
            .filter_map(|fp| by_fp.get(fp.as_str()))
            .filter_map(|a| filter.render(&rt, &sup, a))
            .collect();
        if alerts.is_empty() {
            continue;
        }
        out.push(AlertGroup {
            alerts,
            labels: &g.group_labels,
            receiver: Receiver { name: &g.receiver },
        });
    }
    json_response(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_errors_refuse_the_request() {
        let err = |b: &str| match parse_body(b.as_bytes()) {
            Err(AmError::Parse(m)) => format!("400 {m}"),
            Err(AmError::Schema(c, m)) => format!("422 {c} {m}"),
            Err(e) => format!("{e:?}"),
            Ok(_) => "ok".into(),
        };
        assert_eq!(
            err(r#"[{"annotations":{}}]"#),
            "422 602 0.labels in body is required"
        );
        assert!(err("{}")
            .contains("cannot unmarshal object into Go value of type models.PostableAlerts"));
        assert!(err(r#"[{"labels":{"a":1}}]"#)
            .contains("cannot unmarshal number into Go struct field Alert.labels of type string"));
        assert!(err(r#"[{"labels":{"a":"1"},"startsAt":"yesterday"}]"#)
            .starts_with("400 parsing alerts body"));
        let ok = parse_body(br#"[{"labels":{"a":"1"},"endsAt":"0001-01-01T00:00:00Z","startsAt":"2026-01-01T00:00:00.5+01:00"}]"#).unwrap();
        assert_eq!(ok[0].ends_at, None);
        assert_eq!(ok[0].starts_at, Some(1_767_222_000_500));
    }

    #[test]
    fn regex_prefixes_are_only_taken_when_every_match_has_them() {
        assert_eq!(regex_prefix("host-1234.*").as_deref(), Some("host-1234"));
        assert_eq!(regex_prefix("db1").as_deref(), Some("db1"));
        assert_eq!(regex_prefix("abc*").as_deref(), Some("ab"));
        assert_eq!(regex_prefix("a?").as_deref(), None);
        assert_eq!(regex_prefix("db1|web1"), None);
        assert_eq!(regex_prefix(".*x"), None);
        assert_eq!(regex_prefix("(?i)db"), None);
        assert_eq!(regex_prefix("a\\.b").as_deref(), Some("a"));
    }

    #[test]
    fn validation_messages_are_alertmanagers() {
        let a = |labels: &[(&str, &str)], s: i64, e: i64| AmAlert {
            fingerprint: String::new(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: BTreeMap::new(),
            starts_at: s,
            ends_at: e,
            generator_url: String::new(),
            updated_at: 0,
        };
        assert_eq!(
            validate(&a(&[], 0, 1)).unwrap_err(),
            "at least one label pair required"
        );
        assert_eq!(
            validate(&a(&[("a", "1")], 2, 1)).unwrap_err(),
            "start time must be before end time"
        );
        assert_eq!(
            validate(&a(&[("0bad", "1")], 0, 1)).unwrap_err(),
            "invalid label set: invalid name \"0bad\""
        );
        assert!(validate(&a(&[("a", "1")], 1, 1)).is_ok());
    }
}
