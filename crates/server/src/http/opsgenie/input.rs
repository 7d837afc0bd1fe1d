//! Reading request bodies field by field, so that every problem is reported against the field
//! that has it, in OpsGenie's 422 shape.

use super::error::OgError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use klaxon_core::alert::ResponderRef;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub struct Body {
    map: Map<String, Value>,
    pub errors: Vec<(String, String)>,
}

/// Parses a JSON object body. An empty body is `{}` (the SDK sends none for a plain close).
pub fn parse(body: Result<Bytes, BytesRejection>) -> Result<Body, OgError> {
    Ok(Body {
        map: super::error::json_object(body)?,
        errors: vec![],
    })
}

impl Body {
    fn err(&mut self, key: &str, msg: impl Into<String>) {
        self.errors.push((key.to_string(), msg.into()));
    }

    /// Fails with a 422 listing every problem recorded so far.
    pub fn check(&mut self) -> Result<(), OgError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(OgError::fields(std::mem::take(&mut self.errors)))
        }
    }

    /// The raw value of `key`, removed from the body (for nested objects read by hand).
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    pub fn opt_str(&mut self, key: &str) -> Option<String> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.err(key, "should be a string");
                None
            }
        }
    }

    pub fn opt_bool(&mut self, key: &str) -> Option<bool> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.err(key, "should be true or false");
                None
            }
        }
    }

    /// A whole number (a JSON integer, or a string of digits as form-minded clients send).
    pub fn opt_int(&mut self, key: &str) -> Option<i64> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => s.trim().parse().ok(),
            Some(_) => {
                self.err(key, "should be a whole number");
                None
            }
        }
    }

    /// A reference object like `{"id": …}` or `{"name": …}`: its id and name, in that order,
    /// as the keys to try (an unknown id falls back to the name).
    pub fn opt_ref(&mut self, key: &str) -> Option<Vec<String>> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => {
                let get = |k: &str| {
                    m.get(k)
                        .and_then(Value::as_str)
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                };
                let keys: Vec<String> = get("id").into_iter().chain(get("name")).collect();
                if keys.is_empty() {
                    self.err(key, "should be an object with an id or a name");
                    return None;
                }
                Some(keys)
            }
            Some(_) => {
                self.err(key, "should be an object like {\"name\":\"sre\"}");
                None
            }
        }
    }

    pub fn str_list(&mut self, key: &str) -> Option<Vec<String>> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for it in items {
                    match it {
                        Value::String(s) => out.push(s.clone()),
                        _ => {
                            self.err(key, "should be a list of strings");
                            return None;
                        }
                    }
                }
                Some(out)
            }
            Some(_) => {
                self.err(key, "should be a list of strings");
                None
            }
        }
    }

    /// A string → string map. Numbers and booleans are taken as their text (clients that
    /// template details often send them); nested objects are refused.
    pub fn str_map(&mut self, key: &str) -> Option<BTreeMap<String, String>> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => {
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    let s = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Null => String::new(),
                        _ => {
                            self.err(key, format!("value of {k:?} should be a string"));
                            return None;
                        }
                    };
                    out.insert(k.clone(), s);
                }
                Some(out)
            }
            Some(_) => {
                self.err(key, "should be an object of string values");
                None
            }
        }
    }

    fn responder_from(&mut self, key: &str, v: &Value) -> Option<ResponderRef> {
        let Value::Object(m) = v else {
            self.err(
                key,
                "should be an object like {\"type\":\"team\",\"name\":\"sre\"}",
            );
            return None;
        };
        let get = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        match ResponderRef::from_parts(
            get("type").as_deref(),
            get("id"),
            get("name"),
            get("username"),
        ) {
            Ok(r) => Some(r),
            Err(e) => {
                self.err(key, e);
                None
            }
        }
    }

    pub fn responder_list(&mut self, key: &str) -> Vec<ResponderRef> {
        match self.map.get(key).cloned() {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| self.responder_from(key, v))
                .collect(),
            Some(_) => {
                self.err(key, "should be a list of responders");
                vec![]
            }
        }
    }

    /// One responder object under `key`; `kind` is forced when the field implies it
    /// (`team` → team, `escalation` → escalation, `owner` → user).
    pub fn responder(&mut self, key: &str, kind: Option<&str>) -> Option<ResponderRef> {
        let Some(v) = self.map.get(key).cloned().filter(|v| !v.is_null()) else {
            self.err(key, "is required");
            return None;
        };
        let mut v = v;
        if let (Some(kind), Value::Object(m)) = (kind, &mut v) {
            m.entry("type")
                .or_insert_with(|| Value::String(kind.to_string()));
        }
        self.responder_from(key, &v)
    }
}

/// Instants as clients send them: RFC 3339 (`Z` or offset) or a naive ISO time (Python's
/// `datetime.isoformat()` without tzinfo), which is taken as UTC.
pub fn parse_instant(s: &str) -> Result<i64, String> {
    if let Ok(ms) = klaxon_core::time::parse_iso(s) {
        return Ok(ms);
    }
    chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S%.f")
        .map(|t| t.and_utc().timestamp_millis())
        .map_err(|_| format!("{s:?} is not a time; use ISO-8601 like 2026-01-02T03:04:05Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(s: &str) -> Body {
        parse(Ok(Bytes::from(s.to_string())))
            .map_err(|e| e.message)
            .unwrap()
    }

    #[test]
    fn empty_body_is_an_empty_object() {
        assert!(body("").opt_str("user").is_none());
        assert!(parse(Ok(Bytes::from_static(b"[1]"))).is_err());
        assert!(parse(Ok(Bytes::from_static(b"{"))).is_err());
    }

    #[test]
    fn wrong_types_are_reported_per_field() {
        let mut b = body(r#"{"message": 5, "tags": ["a", 1], "details": {"n": 3, "o": {}}}"#);
        assert_eq!(b.opt_str("message"), None);
        assert_eq!(b.str_list("tags"), None);
        assert_eq!(b.str_map("details"), None);
        let fields: Vec<&str> = b.errors.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(fields, ["message", "tags", "details"]);
    }

    #[test]
    fn numbers_in_details_become_text() {
        let mut b = body(r#"{"details": {"n": 3, "b": true}}"#);
        let d = b.str_map("details").unwrap();
        assert_eq!(d["n"], "3");
        assert_eq!(d["b"], "true");
    }

    #[test]
    fn instants_in_client_forms() {
        assert_eq!(parse_instant("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(parse_instant("1970-01-01T00:00:01.500000").unwrap(), 1500);
        assert_eq!(parse_instant("1970-01-01T01:00:00+01:00").unwrap(), 0);
        assert!(parse_instant("soon").is_err());
    }
}
