//! OpsGenie team routing rules: which escalation policy or schedule a team's alert starts.
//!
//! A team has an ordered list of rules; the first whose criteria match the alert and whose time
//! restriction holds at the alert's time decides the target ([`route`]). OpsGenie keeps a
//! default rule (`match-all`, no restriction) last, so in practice some rule always matches;
//! with no matching rule [`route`] says `None` and the caller decides (no one is notified).
//!
//! # Conditions
//!
//! A condition reads one alert field and applies one operation, optionally negated (`not`):
//!
//! | field | value | operations |
//! |---|---|---|
//! | message, alias, description, source, entity | the text | equals, contains, starts-with, ends-with, matches, is-empty, equals-ignore-whitespace |
//! | tags, actions | each element | as for text: true when **some** element passes; is-empty: no element |
//! | details (`extra-properties`) with `key` | the value under `key` (missing: empty) | as for text |
//! | details without `key` | the whole map | contains-key, contains-value, is-empty |
//! | priority | P1–P5 | equals, greater-than, less-than (P1 is the greatest: `greater-than P3` is P1 or P2) |
//!
//! Text comparisons are exact (case-sensitive); `matches` is a whole-value regex (anchored,
//! like OpsGenie's Java `matches`); `equals-ignore-whitespace` drops all whitespace on both
//! sides first. A condition that cannot work (a bad regex, `greater-than` on a message, a
//! priority that is not P1–P5) is refused when the rule is built.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc, Weekday};
use chrono_tz::Tz;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::alert::Priority;
use crate::clock::Millis;
use crate::schedule::{ClockTime, Restriction, WeekdayWindow};

/// Why a routing rule was refused. Messages say what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    #[error("condition {index}: `{value}` is not a valid regular expression: {why}")]
    BadRegex {
        index: usize,
        value: String,
        why: String,
    },
    #[error("condition {index}: operation `{operation}` does not apply to field `{field}`: use {allowed}")]
    OperationMismatch {
        index: usize,
        operation: &'static str,
        field: &'static str,
        allowed: &'static str,
    },
    #[error(
        "condition {index}: expectedValue `{value}` is not a priority: use P1, P2, P3, P4 or P5"
    )]
    BadPriority { index: usize, value: String },
    #[error("criteria of type `{0}` need at least one condition: add one, or use match-all")]
    NoConditions(&'static str),
    #[error("time restriction: {0}")]
    BadRestriction(String),
    #[error("unknown time zone `{0}`: use an IANA name such as Europe/Berlin")]
    UnknownTimeZone(String),
    #[error("notify of type `{0}` needs an id or a name")]
    TargetWithoutName(&'static str),
}

// ------------------------------------------------------------------------------------------
// The alert as routing sees it
// ------------------------------------------------------------------------------------------

/// The fields of an alert that routing conditions read.
#[derive(Debug, Clone, Copy)]
pub struct AlertView<'a> {
    pub message: &'a str,
    pub alias: &'a str,
    pub description: &'a str,
    pub source: &'a str,
    pub entity: &'a str,
    pub tags: &'a [String],
    pub actions: &'a [String],
    pub details: &'a BTreeMap<String, String>,
    pub priority: Priority,
}

// ------------------------------------------------------------------------------------------
// Criteria
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CriteriaKind {
    /// Every alert.
    #[default]
    MatchAll,
    /// At least one condition holds.
    MatchAnyCondition,
    /// Every condition holds.
    MatchAllConditions,
}

impl CriteriaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CriteriaKind::MatchAll => "match-all",
            CriteriaKind::MatchAnyCondition => "match-any-condition",
            CriteriaKind::MatchAllConditions => "match-all-conditions",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    Message,
    Alias,
    Description,
    Source,
    Entity,
    Tags,
    Actions,
    /// OpsGenie calls the details map `extra-properties`; both names are accepted.
    #[serde(alias = "extra-properties")]
    Details,
    Priority,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Message => "message",
            Field::Alias => "alias",
            Field::Description => "description",
            Field::Source => "source",
            Field::Entity => "entity",
            Field::Tags => "tags",
            Field::Actions => "actions",
            Field::Details => "details",
            Field::Priority => "priority",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
    Matches,
    IsEmpty,
    EqualsIgnoreWhitespace,
    ContainsKey,
    ContainsValue,
    GreaterThan,
    LessThan,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Equals => "equals",
            Operation::Contains => "contains",
            Operation::StartsWith => "starts-with",
            Operation::EndsWith => "ends-with",
            Operation::Matches => "matches",
            Operation::IsEmpty => "is-empty",
            Operation::EqualsIgnoreWhitespace => "equals-ignore-whitespace",
            Operation::ContainsKey => "contains-key",
            Operation::ContainsValue => "contains-value",
            Operation::GreaterThan => "greater-than",
            Operation::LessThan => "less-than",
        }
    }

    fn is_text(self) -> bool {
        use Operation::*;
        matches!(
            self,
            Equals | Contains | StartsWith | EndsWith | Matches | IsEmpty | EqualsIgnoreWhitespace
        )
    }
}

/// The wire and config form of a condition, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionSpec {
    pub field: Field,
    /// For `details`: the key whose value is compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default)]
    pub not: bool,
    pub operation: Operation,
    #[serde(default)]
    pub expected_value: String,
}

/// A checked condition (its regex compiled, its operation fitting its field).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "ConditionSpec", into = "ConditionSpec")]
pub struct Condition {
    spec: ConditionSpec,
    regex: Option<Regex>,
    priority: Option<Priority>,
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec
    }
}
impl Eq for Condition {}

impl Condition {
    pub fn new(spec: ConditionSpec) -> Result<Self, RoutingError> {
        Self::checked(0, spec)
    }

    fn checked(index: usize, spec: ConditionSpec) -> Result<Self, RoutingError> {
        let op = spec.operation;
        let field = spec.field;
        let mismatch = |allowed| RoutingError::OperationMismatch {
            index,
            operation: op.as_str(),
            field: field.as_str(),
            allowed,
        };
        let fits = match field {
            Field::Priority => matches!(
                op,
                Operation::Equals | Operation::GreaterThan | Operation::LessThan
            ),
            Field::Details if spec.key.as_deref().is_none_or(|k| k.is_empty()) => matches!(
                op,
                Operation::ContainsKey | Operation::ContainsValue | Operation::IsEmpty
            ),
            _ => op.is_text(),
        };
        if !fits {
            return Err(mismatch(match field {
                Field::Priority => "equals, greater-than or less-than",
                Field::Details if spec.key.is_none() => {
                    "contains-key, contains-value or is-empty (or give a key)"
                }
                _ => "equals, contains, starts-with, ends-with, matches, is-empty or equals-ignore-whitespace",
            }));
        }
        let priority = if field == Field::Priority {
            Some(
                spec.expected_value
                    .trim()
                    .parse::<Priority>()
                    .map_err(|_| RoutingError::BadPriority {
                        index,
                        value: spec.expected_value.clone(),
                    })?,
            )
        } else {
            None
        };
        let regex = if op == Operation::Matches {
            Some(
                Regex::new(&format!("^(?:{})$", spec.expected_value)).map_err(|e| {
                    RoutingError::BadRegex {
                        index,
                        value: spec.expected_value.clone(),
                        why: e.to_string(),
                    }
                })?,
            )
        } else {
            None
        };
        Ok(Condition {
            spec,
            regex,
            priority,
        })
    }

    pub fn spec(&self) -> &ConditionSpec {
        &self.spec
    }

    pub fn matches(&self, alert: &AlertView<'_>) -> bool {
        self.spec.not != self.holds(alert)
    }

    fn holds(&self, alert: &AlertView<'_>) -> bool {
        let text = |v: &str| self.text(v);
        match self.spec.field {
            Field::Message => text(alert.message),
            Field::Alias => text(alert.alias),
            Field::Description => text(alert.description),
            Field::Source => text(alert.source),
            Field::Entity => text(alert.entity),
            Field::Tags => self.list(alert.tags),
            Field::Actions => self.list(alert.actions),
            Field::Details => match self.spec.key.as_deref().filter(|k| !k.is_empty()) {
                Some(key) => text(alert.details.get(key).map_or("", String::as_str)),
                None => match self.spec.operation {
                    Operation::ContainsKey => alert.details.contains_key(&self.spec.expected_value),
                    Operation::ContainsValue => alert
                        .details
                        .values()
                        .any(|v| *v == self.spec.expected_value),
                    _ => alert.details.is_empty(),
                },
            },
            Field::Priority => {
                let want = self.priority.unwrap_or_default();
                match self.spec.operation {
                    // P1 is the greatest priority and the smallest in `Ord`.
                    Operation::GreaterThan => alert.priority < want,
                    Operation::LessThan => alert.priority > want,
                    _ => alert.priority == want,
                }
            }
        }
    }

    fn list(&self, items: &[String]) -> bool {
        if self.spec.operation == Operation::IsEmpty {
            items.is_empty()
        } else {
            items.iter().any(|i| self.text(i))
        }
    }

    fn text(&self, v: &str) -> bool {
        let want = self.spec.expected_value.as_str();
        match self.spec.operation {
            Operation::Equals => v == want,
            Operation::Contains => v.contains(want),
            Operation::StartsWith => v.starts_with(want),
            Operation::EndsWith => v.ends_with(want),
            Operation::Matches => self.regex.as_ref().is_some_and(|r| r.is_match(v)),
            Operation::IsEmpty => v.trim().is_empty(),
            Operation::EqualsIgnoreWhitespace => {
                let squeeze =
                    |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
                squeeze(v) == squeeze(want)
            }
            _ => false,
        }
    }
}

impl TryFrom<ConditionSpec> for Condition {
    type Error = RoutingError;
    fn try_from(spec: ConditionSpec) -> Result<Self, Self::Error> {
        Condition::new(spec)
    }
}

impl From<Condition> for ConditionSpec {
    fn from(c: Condition) -> Self {
        c.spec
    }
}

/// The wire and config form of criteria.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriteriaSpec {
    #[serde(rename = "type", default)]
    pub kind: CriteriaKind,
    #[serde(default)]
    pub conditions: Vec<ConditionSpec>,
}

/// Checked criteria: `match-all` ignores its conditions (OpsGenie drops them); the other two
/// kinds need at least one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CriteriaSpec", into = "CriteriaSpec")]
pub struct Criteria {
    kind: CriteriaKind,
    conditions: Vec<Condition>,
}

impl Criteria {
    pub fn match_all() -> Self {
        Criteria::default()
    }

    pub fn new(spec: CriteriaSpec) -> Result<Self, RoutingError> {
        if spec.kind == CriteriaKind::MatchAll {
            return Ok(Criteria::default());
        }
        if spec.conditions.is_empty() {
            return Err(RoutingError::NoConditions(spec.kind.as_str()));
        }
        let conditions = spec
            .conditions
            .into_iter()
            .enumerate()
            .map(|(i, c)| Condition::checked(i, c))
            .collect::<Result<_, _>>()?;
        Ok(Criteria {
            kind: spec.kind,
            conditions,
        })
    }

    pub fn kind(&self) -> CriteriaKind {
        self.kind
    }

    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    pub fn matches(&self, alert: &AlertView<'_>) -> bool {
        match self.kind {
            CriteriaKind::MatchAll => true,
            CriteriaKind::MatchAnyCondition => self.conditions.iter().any(|c| c.matches(alert)),
            CriteriaKind::MatchAllConditions => self.conditions.iter().all(|c| c.matches(alert)),
        }
    }
}

impl TryFrom<CriteriaSpec> for Criteria {
    type Error = RoutingError;
    fn try_from(spec: CriteriaSpec) -> Result<Self, Self::Error> {
        Criteria::new(spec)
    }
}

impl From<Criteria> for CriteriaSpec {
    fn from(c: Criteria) -> Self {
        CriteriaSpec {
            kind: c.kind,
            conditions: c.conditions.into_iter().map(|c| c.spec).collect(),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Time restriction (OpsGenie's wire shape, checked into a schedule restriction)
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DayTimeSpec {
    pub start_hour: u32,
    #[serde(default)]
    pub start_min: u32,
    pub end_hour: u32,
    #[serde(default)]
    pub end_min: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeekdayTimeSpec {
    pub start_day: String,
    pub start_hour: u32,
    #[serde(default)]
    pub start_min: u32,
    pub end_day: String,
    pub end_hour: u32,
    #[serde(default)]
    pub end_min: u32,
}

/// OpsGenie's `timeRestriction` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum TimeRestrictionSpec {
    TimeOfDay { restriction: DayTimeSpec },
    WeekdayAndTimeOfDay { restrictions: Vec<WeekdayTimeSpec> },
}

/// A checked time restriction: when (in the rule's time zone) a rule applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TimeRestrictionSpec", into = "TimeRestrictionSpec")]
pub struct TimeRestriction(Restriction);

fn clock(h: u32, m: u32) -> Result<ClockTime, RoutingError> {
    ClockTime::new(h, m).map_err(|e| RoutingError::BadRestriction(e.to_string()))
}

fn weekday(s: &str) -> Result<Weekday, RoutingError> {
    s.trim().parse::<Weekday>().map_err(|_| {
        RoutingError::BadRestriction(format!(
            "`{s}` is not a day of the week: write monday … sunday"
        ))
    })
}

impl TimeRestriction {
    pub fn new(r: Restriction) -> Result<Self, RoutingError> {
        match &r {
            Restriction::WeekdayAndTimeOfDay(w) if w.is_empty() => {
                Err(RoutingError::BadRestriction(
                    "weekday-and-time-of-day needs at least one window".into(),
                ))
            }
            _ => Ok(TimeRestriction(r)),
        }
    }

    pub fn restriction(&self) -> &Restriction {
        &self.0
    }

    pub fn contains(&self, tz: &Tz, at: DateTime<Utc>) -> bool {
        self.0.contains(tz, at)
    }
}

impl TryFrom<TimeRestrictionSpec> for TimeRestriction {
    type Error = RoutingError;
    fn try_from(spec: TimeRestrictionSpec) -> Result<Self, Self::Error> {
        TimeRestriction::new(match spec {
            TimeRestrictionSpec::TimeOfDay { restriction: r } => Restriction::TimeOfDay {
                start: clock(r.start_hour, r.start_min)?,
                end: clock(r.end_hour, r.end_min)?,
            },
            TimeRestrictionSpec::WeekdayAndTimeOfDay { restrictions } => {
                Restriction::WeekdayAndTimeOfDay(
                    restrictions
                        .iter()
                        .map(|w| {
                            Ok(WeekdayWindow {
                                start_day: weekday(&w.start_day)?,
                                start: clock(w.start_hour, w.start_min)?,
                                end_day: weekday(&w.end_day)?,
                                end: clock(w.end_hour, w.end_min)?,
                            })
                        })
                        .collect::<Result<_, RoutingError>>()?,
                )
            }
        })
    }
}

fn day_name(d: Weekday) -> String {
    match d {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
    .to_string()
}

impl From<TimeRestriction> for TimeRestrictionSpec {
    fn from(t: TimeRestriction) -> Self {
        match t.0 {
            Restriction::TimeOfDay { start, end } => TimeRestrictionSpec::TimeOfDay {
                restriction: DayTimeSpec {
                    start_hour: start.hour(),
                    start_min: start.minute(),
                    end_hour: end.hour(),
                    end_min: end.minute(),
                },
            },
            Restriction::WeekdayAndTimeOfDay(windows) => TimeRestrictionSpec::WeekdayAndTimeOfDay {
                restrictions: windows
                    .iter()
                    .map(|w| WeekdayTimeSpec {
                        start_day: day_name(w.start_day),
                        start_hour: w.start.hour(),
                        start_min: w.start.minute(),
                        end_day: day_name(w.end_day),
                        end_hour: w.end.hour(),
                        end_min: w.end.minute(),
                    })
                    .collect(),
            },
        }
    }
}

// ------------------------------------------------------------------------------------------
// Target and rule
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Escalation,
    Schedule,
    /// Route the alert to the team but notify no one.
    None,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Escalation => "escalation",
            TargetKind::Schedule => "schedule",
            TargetKind::None => "none",
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// OpsGenie's `notify`: an escalation or schedule by id or name, or no one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    #[serde(rename = "type")]
    pub kind: TargetKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Target {
    pub fn none() -> Self {
        Target {
            kind: TargetKind::None,
            id: None,
            name: None,
        }
    }

    pub fn escalation(id_or_name: impl Into<String>) -> Self {
        Target {
            kind: TargetKind::Escalation,
            id: None,
            name: Some(id_or_name.into()),
        }
    }

    pub fn schedule(id_or_name: impl Into<String>) -> Self {
        Target {
            kind: TargetKind::Schedule,
            id: None,
            name: Some(id_or_name.into()),
        }
    }

    pub fn check(&self) -> Result<(), RoutingError> {
        let named = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        if self.kind != TargetKind::None && !named(&self.id) && !named(&self.name) {
            return Err(RoutingError::TargetWithoutName(self.kind.as_str()));
        }
        Ok(())
    }
}

/// One team routing rule. `time_zone` is the zone its restriction is read in (`None`: UTC, or
/// whatever the caller passes to [`route_in`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRoutingRule {
    pub id: String,
    pub name: String,
    /// OpsGenie's default rule: last, match-all, cannot be deleted.
    pub is_default: bool,
    pub criteria: Criteria,
    pub time_restriction: Option<TimeRestriction>,
    pub time_zone: Option<Tz>,
    pub notify: Target,
}

impl TeamRoutingRule {
    /// Whether the rule takes this alert at `at`, reading its restriction in the rule's zone or
    /// else `fallback`.
    pub fn applies(&self, alert: &AlertView<'_>, at: Millis, fallback: &Tz) -> bool {
        let in_time = match &self.time_restriction {
            None => true,
            Some(r) => DateTime::from_timestamp_millis(at)
                .is_some_and(|t| r.contains(self.time_zone.as_ref().unwrap_or(fallback), t)),
        };
        in_time && self.criteria.matches(alert)
    }
}

/// Parses an IANA zone name for a rule's `timezone`.
pub fn parse_time_zone(name: &str) -> Result<Tz, RoutingError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| RoutingError::UnknownTimeZone(name.to_string()))
}

/// The target of the first rule, in order, that takes the alert at `at` (restrictions of rules
/// without a zone read in UTC). `None` when no rule does.
pub fn route<'r>(
    rules: &'r [TeamRoutingRule],
    alert: &AlertView<'_>,
    at: Millis,
) -> Option<&'r Target> {
    route_in(rules, alert, at, &Tz::UTC)
}

/// Like [`route`], with restrictions of rules without a zone read in `team_zone`.
pub fn route_in<'r>(
    rules: &'r [TeamRoutingRule],
    alert: &AlertView<'_>,
    at: Millis,
    team_zone: &Tz,
) -> Option<&'r Target> {
    rules
        .iter()
        .find(|r| r.applies(alert, at, team_zone))
        .map(|r| &r.notify)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Alert {
        message: String,
        alias: String,
        description: String,
        source: String,
        entity: String,
        tags: Vec<String>,
        actions: Vec<String>,
        details: BTreeMap<String, String>,
        priority: Priority,
    }

    impl Alert {
        fn new(message: &str) -> Self {
            Alert {
                message: message.into(),
                alias: "db-down".into(),
                description: "".into(),
                source: "prometheus".into(),
                entity: "db-1".into(),
                tags: vec!["prod".into(), "db".into()],
                actions: vec![],
                details: [("region".to_string(), "eu-west".to_string())].into(),
                priority: Priority::P3,
            }
        }
        fn view(&self) -> AlertView<'_> {
            AlertView {
                message: &self.message,
                alias: &self.alias,
                description: &self.description,
                source: &self.source,
                entity: &self.entity,
                tags: &self.tags,
                actions: &self.actions,
                details: &self.details,
                priority: self.priority,
            }
        }
    }

    fn cond(json: &str) -> Result<Condition, String> {
        serde_json::from_str::<Condition>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn conditions_table() {
        let mut a = Alert::new("Disk full on db-1");
        a.priority = Priority::P2;
        let cases: &[(&str, bool)] = &[
            (
                r#"{"field":"message","operation":"contains","expectedValue":"full"}"#,
                true,
            ),
            (
                r#"{"field":"message","operation":"contains","expectedValue":"FULL"}"#,
                false,
            ),
            (
                r#"{"field":"message","operation":"equals","expectedValue":"Disk full on db-1"}"#,
                true,
            ),
            (
                r#"{"field":"message","operation":"starts-with","expectedValue":"Disk"}"#,
                true,
            ),
            (
                r#"{"field":"message","operation":"ends-with","expectedValue":"db-2"}"#,
                false,
            ),
            (
                r#"{"field":"message","operation":"matches","expectedValue":"Disk .* db-\\d"}"#,
                true,
            ),
            (
                r#"{"field":"message","operation":"matches","expectedValue":"full"}"#,
                false,
            ),
            (
                r#"{"field":"message","operation":"equals-ignore-whitespace","expectedValue":"Diskfull ondb-1"}"#,
                true,
            ),
            (r#"{"field":"description","operation":"is-empty"}"#, true),
            (
                r#"{"field":"description","operation":"is-empty","not":true}"#,
                false,
            ),
            (
                r#"{"field":"alias","operation":"equals","expectedValue":"db-down"}"#,
                true,
            ),
            (
                r#"{"field":"source","operation":"equals","expectedValue":"prometheus"}"#,
                true,
            ),
            (
                r#"{"field":"entity","operation":"starts-with","expectedValue":"db"}"#,
                true,
            ),
            (
                r#"{"field":"tags","operation":"contains","expectedValue":"prod"}"#,
                true,
            ),
            (
                r#"{"field":"tags","operation":"equals","expectedValue":"staging"}"#,
                false,
            ),
            (
                r#"{"field":"tags","operation":"equals","expectedValue":"staging","not":true}"#,
                true,
            ),
            (r#"{"field":"tags","operation":"is-empty"}"#, false),
            (r#"{"field":"actions","operation":"is-empty"}"#, true),
            (
                r#"{"field":"extra-properties","key":"region","operation":"starts-with","expectedValue":"eu"}"#,
                true,
            ),
            (
                r#"{"field":"details","key":"zone","operation":"is-empty"}"#,
                true,
            ),
            (
                r#"{"field":"details","operation":"contains-key","expectedValue":"region"}"#,
                true,
            ),
            (
                r#"{"field":"details","operation":"contains-value","expectedValue":"us-east"}"#,
                false,
            ),
            (
                r#"{"field":"priority","operation":"equals","expectedValue":"P2"}"#,
                true,
            ),
            (
                r#"{"field":"priority","operation":"greater-than","expectedValue":"P3"}"#,
                true,
            ),
            (
                r#"{"field":"priority","operation":"greater-than","expectedValue":"P2"}"#,
                false,
            ),
            (
                r#"{"field":"priority","operation":"less-than","expectedValue":"P1"}"#,
                true,
            ),
            (
                r#"{"field":"priority","operation":"less-than","expectedValue":"P2"}"#,
                false,
            ),
        ];
        for (json, want) in cases {
            let c = cond(json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(c.matches(&a.view()), *want, "{json}");
        }
    }

    #[test]
    fn refuses_conditions_that_cannot_work() {
        let err =
            cond(r#"{"field":"message","operation":"matches","expectedValue":"(("}"#).unwrap_err();
        assert!(err.contains("not a valid regular expression"), "{err}");
        let err = cond(r#"{"field":"message","operation":"greater-than","expectedValue":"x"}"#)
            .unwrap_err();
        assert!(err.contains("does not apply to field `message`"), "{err}");
        let err =
            cond(r#"{"field":"priority","operation":"equals","expectedValue":"P9"}"#).unwrap_err();
        assert!(err.contains("not a priority"), "{err}");
        let err =
            cond(r#"{"field":"details","operation":"contains","expectedValue":"x"}"#).unwrap_err();
        assert!(err.contains("give a key"), "{err}");
        let err =
            cond(r#"{"field":"recipients","operation":"equals","expectedValue":"x"}"#).unwrap_err();
        assert!(err.contains("unknown variant"), "{err}");
        let err =
            serde_json::from_str::<Criteria>(r#"{"type":"match-any-condition","conditions":[]}"#)
                .unwrap_err()
                .to_string();
        assert!(err.contains("need at least one condition"), "{err}");
    }

    #[test]
    fn criteria_kinds() {
        let a = Alert::new("cpu high");
        let c = |json: &str| {
            serde_json::from_str::<Criteria>(json)
                .unwrap()
                .matches(&a.view())
        };
        let yes = r#"{"field":"tags","operation":"contains","expectedValue":"db"}"#;
        let no = r#"{"field":"tags","operation":"contains","expectedValue":"web"}"#;
        assert!(c(r#"{"type":"match-all"}"#));
        assert!(c(&format!(
            r#"{{"type":"match-any-condition","conditions":[{no},{yes}]}}"#
        )));
        assert!(!c(&format!(
            r#"{{"type":"match-all-conditions","conditions":[{no},{yes}]}}"#
        )));
        assert!(c(&format!(
            r#"{{"type":"match-all-conditions","conditions":[{yes},{yes}]}}"#
        )));
        // match-all drops conditions, as OpsGenie does; the default is match-all.
        let all: Criteria =
            serde_json::from_str(&format!(r#"{{"type":"match-all","conditions":[{no}]}}"#))
                .unwrap();
        assert!(all.conditions().is_empty());
        assert_eq!(
            serde_json::to_value(Criteria::default()).unwrap(),
            serde_json::json!({"type":"match-all","conditions":[]})
        );
    }

    fn rule(
        name: &str,
        criteria: &str,
        restriction: Option<&str>,
        tz: Option<Tz>,
        notify: Target,
    ) -> TeamRoutingRule {
        TeamRoutingRule {
            id: name.into(),
            name: name.into(),
            is_default: false,
            criteria: serde_json::from_str(criteria).unwrap(),
            time_restriction: restriction.map(|r| serde_json::from_str(r).unwrap()),
            time_zone: tz,
            notify,
        }
    }

    /// 2026-01-05T08:00:00Z, a Monday.
    const MONDAY_8Z: Millis = 1_767_600_000_000;
    const HOUR: Millis = 3_600_000;

    #[test]
    fn first_matching_rule_in_order_wins_and_time_restrictions_apply() {
        let p1 = r#"{"type":"match-all-conditions","conditions":[{"field":"priority","operation":"equals","expectedValue":"P1"}]}"#;
        let business = r#"{"type":"weekday-and-time-of-day","restrictions":[{"startDay":"monday","startHour":9,"startMin":0,"endDay":"monday","endHour":17,"endMin":0}]}"#;
        let nights = r#"{"type":"time-of-day","restriction":{"startHour":22,"startMin":0,"endHour":6,"endMin":0}}"#;
        let rules = vec![
            rule("p1", p1, None, None, Target::escalation("page-now")),
            rule(
                "office",
                r#"{"type":"match-all"}"#,
                Some(business),
                Some(chrono_tz::Europe::Berlin),
                Target::schedule("office"),
            ),
            rule(
                "nights",
                r#"{"type":"match-all"}"#,
                Some(nights),
                None,
                Target::none(),
            ),
            TeamRoutingRule {
                is_default: true,
                ..rule(
                    "default",
                    r#"{"type":"match-all"}"#,
                    None,
                    None,
                    Target::escalation("sre_escalation"),
                )
            },
        ];
        let mut a = Alert::new("x");
        let name = |t: Option<&Target>| t.map(|t| (t.kind, t.name.clone().unwrap_or_default()));
        // Monday 08:00Z is 09:00 in Berlin: inside office hours.
        assert_eq!(
            name(route(&rules, &a.view(), MONDAY_8Z)),
            Some((TargetKind::Schedule, "office".into()))
        );
        // 07:59Z is 08:59 in Berlin: before office hours; not night either → default.
        assert_eq!(
            name(route(&rules, &a.view(), MONDAY_8Z - 60_000)),
            Some((TargetKind::Escalation, "sre_escalation".into()))
        );
        // 23:00Z: night, read in UTC (no zone on the rule) → none.
        assert_eq!(
            name(route(&rules, &a.view(), MONDAY_8Z + 15 * HOUR)),
            Some((TargetKind::None, String::new()))
        );
        // In the team's zone (New York, UTC-5) 23:00Z is 18:00: not night.
        assert_eq!(
            name(route_in(
                &rules,
                &a.view(),
                MONDAY_8Z + 15 * HOUR,
                &chrono_tz::America::New_York
            )),
            Some((TargetKind::Escalation, "sre_escalation".into()))
        );
        a.priority = Priority::P1;
        assert_eq!(
            name(route(&rules, &a.view(), MONDAY_8Z)),
            Some((TargetKind::Escalation, "page-now".into()))
        );
        assert_eq!(
            route(&rules[..1], &Alert::new("x").view(), MONDAY_8Z),
            None,
            "no rule matches"
        );
        assert_eq!(route(&[], &a.view(), MONDAY_8Z), None);
    }

    #[test]
    fn restrictions_round_trip_in_opsgenie_shape() {
        let json = serde_json::json!({"type":"weekday-and-time-of-day","restrictions":[{"startDay":"friday","startHour":18,"startMin":0,"endDay":"monday","endHour":9,"endMin":30}]});
        let r: TimeRestriction = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), json);
        let bad =
            serde_json::json!({"type":"time-of-day","restriction":{"startHour":25,"endHour":1}});
        assert!(serde_json::from_value::<TimeRestriction>(bad).is_err());
        let bad = serde_json::json!({"type":"weekday-and-time-of-day","restrictions":[{"startDay":"funday","startHour":1,"endDay":"monday","endHour":2}]});
        let err = serde_json::from_value::<TimeRestriction>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("funday"), "{err}");
        assert!(Target {
            kind: TargetKind::Escalation,
            id: None,
            name: Some(" ".into())
        }
        .check()
        .is_err());
        assert!(Target::none().check().is_ok());
    }
}
