//! Reading Statuspage request bodies: `{"incident": {...}}`-style wrappers, checked fields, and
//! times in the forms scripts send (RFC 3339, or a naive ISO time read as UTC, as Python's
//! `datetime.now().isoformat()` gives).

use super::error::{SpError, SpResult};
use klaxon_core::status::{ComponentStatus, Impact, IncidentStatus};
use serde_json::{Map, Value};

pub const NAME_MAX: usize = 255;

/// The JSON object under `key` (or the body itself when it is not wrapped).
pub fn wrapped(body: &[u8], key: &str) -> SpResult<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| SpError::bad_request(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(mut o) = v else {
        return Err(SpError::bad_request(format!(
            "the body must be a JSON object like {{\"{key}\": {{…}}}}"
        )));
    };
    match o.remove(key) {
        Some(Value::Object(inner)) => Ok(inner),
        Some(_) => Err(SpError::invalid(format!("{key} must be an object"))),
        None => Ok(o),
    }
}

pub fn string(o: &Map<String, Value>, key: &str) -> SpResult<Option<String>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(SpError::invalid(format!("{key} must be a string"))),
    }
}

pub fn name(o: &Map<String, Value>, key: &str, required: bool) -> SpResult<Option<String>> {
    let n = string(o, key)?.map(|s| s.trim().to_string());
    match n {
        Some(s) if s.is_empty() => Err(SpError::invalid(format!("{key} can't be blank"))),
        Some(s) if s.chars().count() > NAME_MAX => Err(SpError::invalid(format!(
            "{key} is too long (maximum is {NAME_MAX} characters)"
        ))),
        None if required => Err(SpError::invalid(format!("{key} can't be blank"))),
        other => Ok(other),
    }
}

pub fn boolean(o: &Map<String, Value>, key: &str) -> SpResult<Option<bool>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        Some(_) => Err(SpError::invalid(format!("{key} must be true or false"))),
    }
}

pub fn integer(o: &Map<String, Value>, key: &str) -> SpResult<Option<i64>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| SpError::invalid(format!("{key} must be an integer"))),
        Some(_) => Err(SpError::invalid(format!("{key} must be an integer"))),
    }
}

pub fn string_list(o: &Map<String, Value>, key: &str) -> SpResult<Option<Vec<String>>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(SpError::invalid(format!("{key} must be a list of ids"))),
            })
            .collect::<SpResult<Vec<_>>>()
            .map(Some),
        Some(_) => Err(SpError::invalid(format!("{key} must be a list of ids"))),
    }
}

pub fn time(o: &Map<String, Value>, key: &str) -> SpResult<Option<i64>> {
    let Some(s) = string(o, key)? else {
        return Ok(None);
    };
    parse_time(&s).map(Some).ok_or_else(|| {
        SpError::invalid(format!(
            "{key} {s:?} is not a time: use ISO-8601 like 2026-01-02T03:04:05Z"
        ))
    })
}

pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = klaxon_core::time::parse_iso(s) {
        return Some(t);
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(|d| {
            d.and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .and_utc()
                .timestamp_millis()
        })
}

pub fn component_status(s: &str, key: &str) -> SpResult<String> {
    s.parse::<ComponentStatus>()
        .map(|c| c.as_str().to_string())
        .map_err(|e| SpError::invalid(format!("{key}: {e}")))
}

pub fn incident_status(s: &str) -> SpResult<IncidentStatus> {
    s.parse::<IncidentStatus>()
        .map_err(|e| SpError::invalid(format!("status: {e}")))
}

pub fn impact(s: &str, key: &str) -> SpResult<String> {
    s.parse::<Impact>()
        .map(|i| i.as_str().to_string())
        .map_err(|e| SpError::invalid(format!("{key}: {e}")))
}

/// `components: {id: status}` (Statuspage's map of status changes).
pub fn component_statuses(o: &Map<String, Value>) -> SpResult<Vec<(String, String)>> {
    match o.get("components") {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(id, v)| match v {
                Value::String(s) => Ok((id.clone(), component_status(s, &format!("components[{id}]"))?)),
                _ => Err(SpError::invalid(format!("components[{id}] must be a component status"))),
            })
            .collect(),
        Some(_) => Err(SpError::invalid(
            "components must be an object of component id → status, like {\"id\": \"partial_outage\"}",
        )),
    }
}
