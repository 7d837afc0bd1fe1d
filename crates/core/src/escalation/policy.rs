//! An escalation policy as OpsGenie's `/v2/escalations` defines it: ordered rules and a repeat,
//! checked when built.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::EscalationError;
use crate::duration::Duration;

/// Longest rule delay and repeat wait accepted. OpsGenie's own limit was a day; Klaxon allows
/// more but keeps every due time far from overflowing.
pub const MAX_DELAY: Duration = Duration(std::time::Duration::from_secs(366 * 86_400));

/// Most repeats of one escalation (OpsGenie: "repeat 20 times at the maximum").
pub const MAX_REPEAT_COUNT: u32 = 20;

/// When a rule still notifies: while the alert is unacknowledged, or while it is open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    #[default]
    IfNotAcked,
    IfNotClosed,
}

/// Which users of the recipient a rule notifies.
///
/// | recipient | allowed                                                  |
/// |-----------|----------------------------------------------------------|
/// | user      | `default` (the user)                                     |
/// | schedule  | `default` (on call now), `next`, `previous` (on call)    |
/// | team      | `default` (the team's routing), `all`, `admins`, `users`, `random` |
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyType {
    #[default]
    Default,
    Next,
    Previous,
    Users,
    Admins,
    Random,
    All,
}

/// What a rule notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecipientKind {
    User,
    Team,
    Schedule,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Recipient {
    #[serde(rename = "type")]
    pub kind: RecipientKind,
    pub id: String,
}

impl Recipient {
    pub fn user(id: impl Into<String>) -> Self {
        Recipient {
            kind: RecipientKind::User,
            id: id.into(),
        }
    }
    pub fn team(id: impl Into<String>) -> Self {
        Recipient {
            kind: RecipientKind::Team,
            id: id.into(),
        }
    }
    pub fn schedule(id: impl Into<String>) -> Self {
        Recipient {
            kind: RecipientKind::Schedule,
            id: id.into(),
        }
    }
}

/// One rule: `delay` after the start of its cycle, if `condition` still holds, notify
/// `notify_type` of `recipient`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EscalationRule {
    #[serde(default)]
    pub condition: Condition,
    #[serde(default)]
    pub notify_type: NotifyType,
    #[serde(default)]
    pub delay: Duration,
    pub recipient: Recipient,
}

/// Run the rules again after the last one, `count` more times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Repeat {
    /// Pause between a cycle's last rule and the next cycle's start.
    pub wait_interval: Duration,
    /// Cycles after the first one. OpsGenie clients send `count: 0` for "no repeat".
    pub count: u32,
    /// At each repeat an acknowledgement is reverted, so `if-not-acked` rules notify again.
    #[serde(default)]
    pub reset_recipient_states: bool,
    /// Close the alert once every repeat has run and nobody has taken it.
    #[serde(default)]
    pub close_alert_after_all: bool,
}

/// The wire and config form, before it is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EscalationSpec {
    #[serde(default)]
    pub rules: Vec<EscalationRule>,
    #[serde(default)]
    pub repeat: Option<Repeat>,
}

/// A checked policy: recipients are named, notify types fit their recipients, no rule is
/// listed twice, and repeats have time between them. Rules keep the order they were given in
/// (their index is part of every step key); each fires at its own delay, so the order need not
/// follow the delays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "EscalationSpec", into = "EscalationSpec")]
pub struct EscalationPolicy {
    rules: Vec<EscalationRule>,
    repeat: Option<Repeat>,
}

impl EscalationPolicy {
    pub fn new(spec: EscalationSpec) -> Result<Self, EscalationError> {
        for (i, rule) in spec.rules.iter().enumerate() {
            check_rule(i, rule)?;
            if let Some(first) = spec.rules[..i].iter().position(|r| r == rule) {
                return Err(EscalationError::DuplicateRule { rule: i, first });
            }
        }
        if let Some(repeat) = &spec.repeat {
            if repeat.count > MAX_REPEAT_COUNT {
                return Err(EscalationError::RepeatCountOutOfRange(repeat.count));
            }
            if repeat.wait_interval > MAX_DELAY {
                return Err(EscalationError::WaitTooLong {
                    wait: repeat.wait_interval,
                    max: MAX_DELAY,
                });
            }
            let runs_again = repeat.count > 0 || repeat.close_alert_after_all;
            let longest = spec.rules.iter().map(|r| r.delay).max().unwrap_or_default();
            if runs_again && longest.as_millis() + repeat.wait_interval.as_millis() == 0 {
                return Err(EscalationError::RepeatWithoutTime);
            }
        }
        Ok(EscalationPolicy {
            rules: spec.rules,
            repeat: spec.repeat,
        })
    }

    pub fn rules(&self) -> &[EscalationRule] {
        &self.rules
    }

    pub fn repeat(&self) -> Option<&Repeat> {
        self.repeat.as_ref()
    }

    /// Cycles after the first.
    pub fn repeat_count(&self) -> u32 {
        self.repeat.map_or(0, |r| r.count)
    }

    /// From one cycle's start to the next: the longest delay plus the wait.
    pub fn cycle_length_ms(&self) -> i64 {
        let longest = self.rules.iter().map(|r| r.delay.as_millis()).max();
        longest.unwrap_or(0) + self.repeat.map_or(0, |r| r.wait_interval.as_millis())
    }

    pub(crate) fn resets_acknowledgement(&self) -> bool {
        self.repeat.is_some_and(|r| r.reset_recipient_states)
    }

    pub(crate) fn closes_alert_after_all(&self) -> bool {
        self.repeat.is_some_and(|r| r.close_alert_after_all)
    }

    /// Some rule keeps notifying after an acknowledgement.
    pub(crate) fn has_if_not_closed(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.condition == Condition::IfNotClosed)
    }
}

impl TryFrom<EscalationSpec> for EscalationPolicy {
    type Error = EscalationError;
    fn try_from(spec: EscalationSpec) -> Result<Self, Self::Error> {
        EscalationPolicy::new(spec)
    }
}

impl From<EscalationPolicy> for EscalationSpec {
    fn from(p: EscalationPolicy) -> Self {
        EscalationSpec {
            rules: p.rules,
            repeat: p.repeat,
        }
    }
}

fn check_rule(i: usize, rule: &EscalationRule) -> Result<(), EscalationError> {
    if rule.recipient.id.trim().is_empty() {
        return Err(EscalationError::EmptyRecipient { rule: i });
    }
    if rule.delay > MAX_DELAY {
        return Err(EscalationError::DelayTooLong {
            rule: i,
            delay: rule.delay,
            max: MAX_DELAY,
        });
    }
    let kind = rule.recipient.kind;
    if !kind.allows(rule.notify_type) {
        return Err(EscalationError::NotifyTypeMismatch {
            rule: i,
            notify_type: rule.notify_type.as_str(),
            recipient: kind.as_str(),
            allowed: kind.allowed(),
        });
    }
    Ok(())
}

impl RecipientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientKind::User => "user",
            RecipientKind::Team => "team",
            RecipientKind::Schedule => "schedule",
        }
    }

    fn allows(self, t: NotifyType) -> bool {
        use NotifyType::*;
        match self {
            RecipientKind::User => t == Default,
            RecipientKind::Schedule => matches!(t, Default | Next | Previous),
            RecipientKind::Team => matches!(t, Default | All | Admins | Users | Random),
        }
    }

    fn allowed(self) -> &'static str {
        match self {
            RecipientKind::User => "default",
            RecipientKind::Schedule => "default, next or previous",
            RecipientKind::Team => "default, all, admins, users or random",
        }
    }
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::IfNotAcked => "if-not-acked",
            Condition::IfNotClosed => "if-not-closed",
        }
    }
}

impl NotifyType {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyType::Default => "default",
            NotifyType::Next => "next",
            NotifyType::Previous => "previous",
            NotifyType::Users => "users",
            NotifyType::Admins => "admins",
            NotifyType::Random => "random",
            NotifyType::All => "all",
        }
    }
}

impl FromStr for Condition {
    type Err = EscalationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "if-not-acked" => Ok(Condition::IfNotAcked),
            "if-not-closed" => Ok(Condition::IfNotClosed),
            other => Err(unknown("condition", other, "if-not-acked, if-not-closed")),
        }
    }
}

impl FromStr for NotifyType {
    type Err = EscalationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "default" => NotifyType::Default,
            "next" => NotifyType::Next,
            "previous" => NotifyType::Previous,
            "users" => NotifyType::Users,
            "admins" => NotifyType::Admins,
            "random" => NotifyType::Random,
            "all" => NotifyType::All,
            other => {
                return Err(unknown(
                    "notifyType",
                    other,
                    "default, next, previous, users, admins, random, all",
                ))
            }
        })
    }
}

impl FromStr for RecipientKind {
    type Err = EscalationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(RecipientKind::User),
            "team" => Ok(RecipientKind::Team),
            "schedule" => Ok(RecipientKind::Schedule),
            other => Err(unknown("recipient type", other, "user, team, schedule")),
        }
    }
}

fn unknown(field: &'static str, value: &str, allowed: &'static str) -> EscalationError {
    EscalationError::UnknownValue {
        field,
        value: value.to_string(),
        allowed,
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for NotifyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for RecipientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(delay: &str, recipient: Recipient) -> EscalationRule {
        EscalationRule {
            condition: Condition::IfNotAcked,
            notify_type: NotifyType::Default,
            delay: delay.parse().unwrap(),
            recipient,
        }
    }

    fn spec(rules: Vec<EscalationRule>, repeat: Option<Repeat>) -> EscalationSpec {
        EscalationSpec { rules, repeat }
    }

    #[test]
    fn accepts_rules_in_any_order_and_measures_the_cycle() {
        let p = EscalationPolicy::new(spec(
            vec![
                rule("10m", Recipient::team("t")),
                rule("0", Recipient::schedule("s")),
            ],
            Some(Repeat {
                wait_interval: "5m".parse().unwrap(),
                count: 2,
                ..Repeat::default()
            }),
        ))
        .unwrap();
        assert_eq!(p.cycle_length_ms(), 15 * 60_000);
        assert_eq!(p.repeat_count(), 2);
    }

    #[test]
    fn refuses_notify_types_that_do_not_fit_the_recipient() {
        let mut r = rule("0", Recipient::user("u"));
        r.notify_type = NotifyType::Next;
        let err = EscalationPolicy::new(spec(vec![r], None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "rule 0: notifyType `next` does not apply to a user recipient: use default"
        );
        let mut r = rule("0", Recipient::schedule("s"));
        r.notify_type = NotifyType::Admins;
        assert!(EscalationPolicy::new(spec(vec![r], None)).is_err());
        let mut r = rule("0", Recipient::team("t"));
        r.notify_type = NotifyType::Random;
        assert!(EscalationPolicy::new(spec(vec![r], None)).is_ok());
    }

    #[test]
    fn refuses_duplicates_empty_ids_and_bad_repeats() {
        let a = rule("5m", Recipient::user("u"));
        assert_eq!(
            EscalationPolicy::new(spec(vec![a.clone(), a.clone()], None)),
            Err(EscalationError::DuplicateRule { rule: 1, first: 0 })
        );
        assert_eq!(
            EscalationPolicy::new(spec(vec![rule("0", Recipient::user(" "))], None)),
            Err(EscalationError::EmptyRecipient { rule: 0 })
        );
        let repeat = |count, wait: &str| {
            Some(Repeat {
                wait_interval: wait.parse().unwrap(),
                count,
                ..Repeat::default()
            })
        };
        assert_eq!(
            EscalationPolicy::new(spec(vec![a.clone()], repeat(21, "1m"))),
            Err(EscalationError::RepeatCountOutOfRange(21))
        );
        assert_eq!(
            EscalationPolicy::new(spec(vec![rule("0", Recipient::user("u"))], repeat(1, "0"))),
            Err(EscalationError::RepeatWithoutTime)
        );
        // `count: 0` is how OpsGenie clients say "no repeat", even with no wait.
        assert!(EscalationPolicy::new(spec(vec![a], repeat(0, "0"))).is_ok());
        assert!(
            EscalationPolicy::new(spec(vec![rule("400d", Recipient::user("u"))], None))
                .unwrap_err()
                .to_string()
                .contains("at most")
        );
    }

    #[test]
    fn parses_the_opsgenie_words() {
        assert_eq!("if-not-closed".parse(), Ok(Condition::IfNotClosed));
        assert_eq!("admins".parse(), Ok(NotifyType::Admins));
        assert_eq!("schedule".parse(), Ok(RecipientKind::Schedule));
        let err = "later".parse::<NotifyType>().unwrap_err().to_string();
        assert!(err.contains("default, next, previous"), "{err}");
    }

    #[test]
    fn deserializes_and_checks_config() {
        let yaml = "rules:\n  - delay: 5m\n    notifyType: next\n    recipient: {type: schedule, id: primary}\nrepeat: {waitInterval: 10m, count: 1}\n";
        let p: EscalationPolicy = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(p.rules()[0].condition, Condition::IfNotAcked);
        assert_eq!(p.rules()[0].notify_type, NotifyType::Next);
        let bad = "rules:\n  - recipient: {type: user, id: u}\n    notifyType: all\n";
        assert!(serde_yaml::from_str::<EscalationPolicy>(bad).is_err());
    }
}
