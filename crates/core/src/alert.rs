//! Alert vocabulary shared by every surface: priority, status, responders, field limits.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// OpsGenie's five priorities. P1 is the most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Priority {
    P1,
    P2,
    #[default]
    P3,
    P4,
    P5,
}

pub const PRIORITY_ERROR: &str = "should be one of [ P1, P2, P3, P4, P5 ]";

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
            Priority::P5 => "P5",
        }
    }
}

impl FromStr for Priority {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "P1" => Ok(Priority::P1),
            "P2" => Ok(Priority::P2),
            "P3" => Ok(Priority::P3),
            "P4" => Ok(Priority::P4),
            "P5" => Ok(Priority::P5),
            _ => Err(PRIORITY_ERROR),
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Priority {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Priority {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Who an alert is for. On the wire `type` may be missing (the Python SDK omits it); it is
/// inferred from which identifier is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum ResponderKind {
    Team,
    User,
    Escalation,
    Schedule,
}

impl ResponderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponderKind::Team => "team",
            ResponderKind::User => "user",
            ResponderKind::Escalation => "escalation",
            ResponderKind::Schedule => "schedule",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "team" => Some(ResponderKind::Team),
            "user" => Some(ResponderKind::User),
            "escalation" => Some(ResponderKind::Escalation),
            "schedule" => Some(ResponderKind::Schedule),
            _ => None,
        }
    }
}

/// A responder as a client named it, before it is resolved to an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponderRef {
    pub kind: ResponderKind,
    pub id: Option<String>,
    pub name: Option<String>,
    pub username: Option<String>,
}

impl ResponderRef {
    /// Builds a reference from the loose wire form. `type` wins; without it a `username`
    /// means a user and a `name` means a team (what the SDK sends).
    pub fn from_parts(
        kind: Option<&str>,
        id: Option<String>,
        name: Option<String>,
        username: Option<String>,
    ) -> Result<Self, String> {
        let nonempty = |o: Option<String>| o.filter(|s| !s.trim().is_empty());
        let (id, name, username) = (nonempty(id), nonempty(name), nonempty(username));
        let kind = match kind {
            Some(k) => ResponderKind::parse(k).ok_or_else(|| {
                format!(
                    "responder type {k:?} should be one of [ team, user, escalation, schedule ]"
                )
            })?,
            None if username.is_some() => ResponderKind::User,
            None if name.is_some() => ResponderKind::Team,
            None => {
                return Err(
                    "responder type is missing and cannot be inferred from id alone; add type"
                        .into(),
                )
            }
        };
        if id.is_none() && name.is_none() && username.is_none() {
            return Err("responder needs an id, a name or a username".into());
        }
        Ok(ResponderRef {
            kind,
            id,
            name,
            username,
        })
    }
}

/// Field limits of OpsGenie's create-alert request. Text over the limit is cut (as OpsGenie
/// does); lists over their count are rejected.
pub mod limits {
    pub const MESSAGE: usize = 130;
    pub const ALIAS: usize = 512;
    pub const DESCRIPTION: usize = 15_000;
    pub const RESPONDERS: usize = 50;
    pub const VISIBLE_TO: usize = 50;
    pub const ACTIONS: usize = 10;
    pub const ACTION_LEN: usize = 50;
    pub const TAGS: usize = 20;
    pub const TAG_LEN: usize = 50;
    pub const DETAILS_CHARS: usize = 8_000;
    pub const ENTITY: usize = 512;
    pub const SOURCE: usize = 100;
    pub const USER: usize = 100;
    pub const NOTE: usize = 25_000;
}

/// Cuts `s` to at most `max` characters (not bytes).
pub fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// Adds tags keeping order and dropping duplicates.
pub fn merge_tags(existing: &mut Vec<String>, add: &[String]) {
    for t in add {
        if !existing.iter().any(|e| e == t) {
            existing.push(t.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_parses_exactly() {
        assert_eq!("P1".parse::<Priority>(), Ok(Priority::P1));
        assert_eq!("p1".parse::<Priority>(), Err(PRIORITY_ERROR));
        assert_eq!("P9".parse::<Priority>(), Err(PRIORITY_ERROR));
        assert_eq!(Priority::default(), Priority::P3);
    }

    #[test]
    fn responder_type_is_inferred_like_the_sdk_needs() {
        let r = ResponderRef::from_parts(None, None, Some("sre".into()), None).unwrap();
        assert_eq!(r.kind, ResponderKind::Team);
        let r = ResponderRef::from_parts(None, None, None, Some("a@b.c".into())).unwrap();
        assert_eq!(r.kind, ResponderKind::User);
        assert!(ResponderRef::from_parts(None, Some("x".into()), None, None).is_err());
        assert!(ResponderRef::from_parts(Some("robot"), None, Some("x".into()), None).is_err());
        assert!(ResponderRef::from_parts(Some("team"), None, Some(" ".into()), None).is_err());
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 5), "hi");
    }

    #[test]
    fn merge_tags_keeps_order_without_duplicates() {
        let mut t = vec!["a".to_string(), "b".to_string()];
        merge_tags(&mut t, &["b".to_string(), "c".to_string()]);
        assert_eq!(t, ["a", "b", "c"]);
    }
}
