//! Silences: matchers plus a time window. A silence mutes the alerts all its matchers match
//! while it is active.
//!
//! The state follows from time alone: **pending** before `startsAt`, **active** from
//! `startsAt` until `endsAt`, **expired** from `endsAt` on (the window is half-open, the way
//! Alertmanager's API reports it, so a silence expired "now" by setting `endsAt = now` is
//! expired at once).

use super::labels::{is_valid_label_name, Labels};
use super::matcher::{MatchType, Matcher};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A silence in the Alertmanager API v2 shape (`status` is computed, see [`Silence::state`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Silence {
    #[serde(default)]
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[serde(default)]
    pub created_by: String,
    #[serde(default)]
    pub comment: String,
}

/// Ordered as the API lists silences: active, pending, expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SilenceState {
    Active,
    Pending,
    Expired,
}

impl SilenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Active => "active",
            SilenceState::Pending => "pending",
            SilenceState::Expired => "expired",
        }
    }
}

/// Why a silence cannot be saved. The messages are Alertmanager's, so clients that show them
/// read the same text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    #[error("at least one matcher required")]
    NoMatchers,
    #[error("invalid label matcher {index}: invalid label name {name:?}")]
    BadLabelName { index: usize, name: String },
    #[error("at least one matcher must not match the empty string")]
    MatchesEverything,
    #[error("Failed to create silence: start time must be before end time")]
    EndsBeforeStart,
    #[error("Failed to create silence: end time can't be in the past")]
    EndsInThePast,
}

impl Silence {
    pub fn state(&self, now: DateTime<Utc>) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if now < self.ends_at {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }

    /// Whether every matcher matches `labels` (missing labels are `""`), whatever the time.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matchers.iter().all(|m| m.matches(labels))
    }

    /// Whether the silence mutes `labels` at `now`.
    pub fn mutes(&self, labels: &Labels, now: DateTime<Utc>) -> bool {
        self.state(now) == SilenceState::Active && self.matches(labels)
    }

    /// Alertmanager's checks for a silence being created or updated at `now`: matchers with
    /// valid names, not all matching the empty string (a silence of everything), and a window
    /// that ends after it starts and after `now`.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), SilenceError> {
        if self.matchers.is_empty() {
            return Err(SilenceError::NoMatchers);
        }
        if let Some((index, m)) = self
            .matchers
            .iter()
            .enumerate()
            .find(|(_, m)| !is_valid_label_name(m.name()))
        {
            return Err(SilenceError::BadLabelName {
                index,
                name: m.name().to_string(),
            });
        }
        if self.matchers.iter().all(matches_empty) {
            return Err(SilenceError::MatchesEverything);
        }
        if self.ends_at <= self.starts_at {
            return Err(SilenceError::EndsBeforeStart);
        }
        if self.ends_at < now {
            return Err(SilenceError::EndsInThePast);
        }
        Ok(())
    }

    /// Whether each of `filter` appears among this silence's matchers with the same name,
    /// type and value (the `filter` of `GET /api/v2/silences`).
    pub fn has_matchers(&self, filter: &[Matcher]) -> bool {
        filter.iter().all(|f| self.matchers.contains(f))
    }
}

/// Alertmanager's notion of a matcher that matches "nothing set": `a=""` or a positive regex
/// that matches `""`. Negative matchers never count.
fn matches_empty(m: &Matcher) -> bool {
    match m.op() {
        MatchType::Equal | MatchType::Regexp => m.matches_value(""),
        MatchType::NotEqual | MatchType::NotRegexp => false,
    }
}

/// The active silences that mute `labels` at `now`, in the order given.
pub fn silences_matching<'a>(
    silences: &'a [Silence],
    labels: &Labels,
    now: DateTime<Utc>,
) -> Vec<&'a Silence> {
    silences.iter().filter(|s| s.mutes(labels, now)).collect()
}

/// Orders silences as `GET /api/v2/silences` lists them: active (ending soonest first), then
/// pending (starting soonest first), then expired (most recently ended first).
pub fn sort_silences(silences: &mut [Silence], now: DateTime<Utc>) {
    silences.sort_by(|a, b| {
        let (sa, sb) = (a.state(now), b.state(now));
        sa.cmp(&sb).then_with(|| match sa {
            SilenceState::Active => a.ends_at.cmp(&b.ends_at),
            SilenceState::Pending => a.starts_at.cmp(&b.starts_at),
            SilenceState::Expired => b.ends_at.cmp(&a.ends_at),
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn silence(id: &str, matchers: &str, from: &str, to: &str) -> Silence {
        Silence {
            id: id.into(),
            matchers: super::super::Matchers::parse(matchers).unwrap().into_vec(),
            starts_at: at(from),
            ends_at: at(to),
            created_by: "me".into(),
            comment: "maintenance".into(),
        }
    }

    #[test]
    fn state_from_time_alone() {
        let s = silence("1", "a=b", "2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z");
        let cases = [
            ("2024-01-01T09:59:59Z", SilenceState::Pending),
            ("2024-01-01T10:00:00Z", SilenceState::Active),
            ("2024-01-01T11:59:59Z", SilenceState::Active),
            ("2024-01-01T12:00:00Z", SilenceState::Expired),
            ("2025-01-01T00:00:00Z", SilenceState::Expired),
        ];
        for (now, want) in cases {
            assert_eq!(s.state(at(now)), want, "{now}");
        }
        assert_eq!(
            serde_json::to_string(&SilenceState::Pending).unwrap(),
            "\"pending\""
        );
    }

    #[test]
    fn silences_matching_only_active_and_matching() {
        let silences = [
            silence(
                "db",
                r#"team="db""#,
                "2024-01-01T10:00:00Z",
                "2024-01-01T12:00:00Z",
            ),
            silence(
                "later",
                r#"team="db""#,
                "2024-01-01T11:00:00Z",
                "2024-01-01T12:00:00Z",
            ),
            silence(
                "prod",
                r#"env=~"prod|staging",team!="web""#,
                "2024-01-01T00:00:00Z",
                "2024-01-02T00:00:00Z",
            ),
            silence(
                "old",
                r#"team="db""#,
                "2023-01-01T00:00:00Z",
                "2023-01-02T00:00:00Z",
            ),
            silence(
                "no-region",
                r#"team="db",region="""#,
                "2024-01-01T00:00:00Z",
                "2024-01-02T00:00:00Z",
            ),
        ];
        let alert = labels(&[("team", "db"), ("env", "prod")]);
        let ids = |now: &str, l: &Labels| -> Vec<String> {
            silences_matching(&silences, l, at(now))
                .iter()
                .map(|s| s.id.clone())
                .collect()
        };
        assert_eq!(
            ids("2024-01-01T10:30:00Z", &alert),
            ["db", "prod", "no-region"]
        );
        assert_eq!(
            ids("2024-01-01T11:30:00Z", &alert),
            ["db", "later", "prod", "no-region"]
        );
        let with_region = labels(&[("team", "db"), ("env", "dev"), ("region", "eu")]);
        assert_eq!(ids("2024-01-01T10:30:00Z", &with_region), ["db"]);
        let web = labels(&[("team", "web"), ("env", "prod")]);
        assert!(ids("2024-01-01T10:30:00Z", &web).is_empty());
    }

    #[test]
    fn api_json_round_trip() {
        let json = r#"{"id":"abc","matchers":[{"name":"alertname","value":"Disk.*","isRegex":true,"isEqual":true}],"startsAt":"2024-01-01T10:00:00Z","endsAt":"2024-01-01T12:00:00Z","createdBy":"ops","comment":"disk swap"}"#;
        let s: Silence = serde_json::from_str(json).unwrap();
        assert_eq!(s.matchers[0].op(), MatchType::Regexp);
        assert!(s.matches(&labels(&[("alertname", "DiskFull")])));
        assert_eq!(serde_json::to_string(&s).unwrap(), json);
        // A new silence has no id yet.
        let new: Silence = serde_json::from_str(
            r#"{"matchers":[{"name":"a","value":"b","isRegex":false}],"startsAt":"2024-01-01T10:00:00+01:00","endsAt":"2024-01-01T12:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(new.id, "");
        assert_eq!(new.starts_at, at("2024-01-01T09:00:00Z"));
    }

    #[test]
    fn validation_like_alertmanager() {
        let now = at("2024-01-01T10:30:00Z");
        let ok = silence("1", "a=b", "2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z");
        assert_eq!(ok.validate(now), Ok(()));
        let mut none = ok.clone();
        none.matchers.clear();
        assert_eq!(none.validate(now), Err(SilenceError::NoMatchers));
        let cases = [
            (r#"a="""#, SilenceError::MatchesEverything),
            (r#"a=~".*""#, SilenceError::MatchesEverything),
            (r#"a=~".*",b="""#, SilenceError::MatchesEverything),
        ];
        for (m, want) in cases {
            let s = silence("1", m, "2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z");
            assert_eq!(s.validate(now), Err(want), "{m}");
        }
        // Negative matchers do not count as matching everything.
        let neg = silence(
            "1",
            r#"a!="x""#,
            "2024-01-01T10:00:00Z",
            "2024-01-01T12:00:00Z",
        );
        assert_eq!(neg.validate(now), Ok(()));
        let colon = silence("1", "a:b=c", "2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z");
        assert!(matches!(
            colon.validate(now),
            Err(SilenceError::BadLabelName { index: 0, .. })
        ));
        let backwards = silence("1", "a=b", "2024-01-01T12:00:00Z", "2024-01-01T12:00:00Z");
        assert_eq!(backwards.validate(now), Err(SilenceError::EndsBeforeStart));
        let past = silence("1", "a=b", "2024-01-01T09:00:00Z", "2024-01-01T10:00:00Z");
        assert_eq!(past.validate(now), Err(SilenceError::EndsInThePast));
    }

    #[test]
    fn api_order_and_filter() {
        let now = at("2024-01-01T10:30:00Z");
        let mut list = vec![
            silence(
                "expired-early",
                "a=b",
                "2024-01-01T00:00:00Z",
                "2024-01-01T01:00:00Z",
            ),
            silence(
                "pending-late",
                "a=b",
                "2024-01-01T20:00:00Z",
                "2024-01-01T21:00:00Z",
            ),
            silence(
                "active-late",
                "a=b",
                "2024-01-01T10:00:00Z",
                "2024-01-01T18:00:00Z",
            ),
            silence(
                "expired-late",
                "a=b",
                "2024-01-01T00:00:00Z",
                "2024-01-01T02:00:00Z",
            ),
            silence(
                "active-soon",
                r#"a=b,c=~"d""#,
                "2024-01-01T10:00:00Z",
                "2024-01-01T11:00:00Z",
            ),
            silence(
                "pending-soon",
                "a=b",
                "2024-01-01T11:00:00Z",
                "2024-01-01T21:00:00Z",
            ),
        ];
        sort_silences(&mut list, now);
        let ids: Vec<&str> = list.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "active-soon",
                "active-late",
                "pending-soon",
                "pending-late",
                "expired-late",
                "expired-early"
            ]
        );
        let filter = super::super::Matchers::parse(r#"c=~"d""#).unwrap();
        assert!(list[0].has_matchers(&filter));
        assert!(!list[1].has_matchers(&filter));
        let other_type = super::super::Matchers::parse(r#"c="d""#).unwrap();
        assert!(!list[0].has_matchers(&other_type));
    }
}
