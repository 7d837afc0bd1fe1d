//! The directory in the config file: users' contact methods and notification rules
//! (`users[].contacts`, `users[].notification_rules`), escalation policies (`escalations:`),
//! and teams' routing rules (`teams[].routing_rules`, `teams[].escalation`).
//!
//! ```yaml
//! users:
//!   - username: alice@example.com
//!     contacts:
//!       - {id: push, method: mobile, to: alice}            # email | sms | voice | mobile | slack | webhook
//!       - {id: phone, method: sms, to: "+49 170 1234567"}
//!     notification_rules:
//!       - name: urgent
//!         priorities: [P1, P2]                            # empty: every priority
//!         tags: [db]                                      # tag_match: any (default) | all
//!         steps: [{contact: push}, {after: 1m, contact: phone}]
//!         loop_after: 5m                                  # run the steps again until answered
//! escalations:
//!   - name: sre_escalation
//!     team: sre
//!     rules:
//!       - {delay: 0, recipient: {type: schedule, name: sre-primary}}
//!       - {delay: 5m, notify_type: next, recipient: {type: schedule, name: sre-primary}}
//!       - {delay: 10m, notify_type: all, condition: if-not-closed, recipient: {type: team, name: sre}}
//!     repeat: {wait_interval: 10m, count: 2, close_alert_after_all: true}
//! teams:
//!   - name: sre
//!     escalation: sre_escalation                         # the default routing rule's target
//!     routing_rules:
//!       - name: business hours P1
//!         criteria:
//!           type: match-all-conditions                   # match-all | match-any-condition | match-all-conditions
//!           conditions: [{field: priority, operation: equals, expected_value: P1}]
//!         time_restriction: {type: time-of-day, start: "09:00", end: "17:00"}
//!         time_zone: Europe/Berlin                        # default UTC
//!         notify: {type: schedule, name: sre-primary}     # escalation | schedule | none
//! ```
//!
//! Durations are written like `30s`, `5m`, `1h`; a bare number is seconds. Every team gets a
//! last, match-all default rule notifying its `escalation`, else an escalation named
//! `<team>_escalation` when one is declared, else no one.

use super::{locate, locate_from, Config, ConfigError, RestrictionConfig, TeamConfig, UserConfig};
use crate::alert::Priority;
use crate::duration::Duration;
use crate::escalation::{
    Condition, EscalationPolicy, EscalationRule, EscalationSpec, NotifyType, Recipient,
    RecipientKind, Repeat,
};
use crate::notification::{
    ContactKind, ContactMethod, ContactSpec, Criteria as RuleCriteria, NotificationProfile,
    NotificationRule, ProfileSpec, Step, TagMatch,
};
use crate::routing::{
    self, ConditionSpec, Criteria, CriteriaKind, CriteriaSpec, Field, Operation, Target,
    TargetKind, TimeRestriction,
};
use serde::Deserialize;
use std::collections::HashSet;

fn yes() -> bool {
    true
}

/// A duration as written in the file: `5m`, `30s`, or a bare number of seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DurationText {
    Seconds(u64),
    Text(String),
}

impl DurationText {
    pub fn parse(&self) -> Result<Duration, (String, String)> {
        match self {
            DurationText::Seconds(s) => Ok(Duration::from_secs(*s)),
            DurationText::Text(t) => t.parse().map_err(|e| (t.clone(), e)),
        }
    }
}

fn duration(d: &Option<DurationText>) -> Result<Duration, (String, String)> {
    d.as_ref()
        .map_or(Ok(Duration::default()), DurationText::parse)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactConfig {
    pub id: String,
    pub method: String,
    pub to: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationRuleConfig {
    pub name: String,
    #[serde(default)]
    pub priorities: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// `any` (default) or `all`.
    #[serde(default)]
    pub tag_match: Option<String>,
    pub steps: Vec<StepConfig>,
    #[serde(default)]
    pub loop_after: Option<DurationText>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// After the page (default 0).
    #[serde(default)]
    pub after: Option<DurationText>,
    /// The id of one of the user's contacts.
    pub contact: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationConfig {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The owner team, declared under `teams:`.
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub rules: Vec<EscalationRuleConfig>,
    #[serde(default)]
    pub repeat: Option<RepeatConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationRuleConfig {
    /// `if-not-acked` (default) or `if-not-closed`.
    #[serde(default)]
    pub condition: Option<String>,
    /// `default`, `next`, `previous`, `users`, `admins`, `random`, `all`.
    #[serde(default)]
    pub notify_type: Option<String>,
    #[serde(default)]
    pub delay: Option<DurationText>,
    pub recipient: NamedRef,
}

/// `{type: user|team|schedule|escalation|none, name: …}`: an object by its name (users by
/// username).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedRef {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatConfig {
    #[serde(default)]
    pub wait_interval: Option<DurationText>,
    #[serde(default)]
    pub count: u32,
    #[serde(default)]
    pub reset_recipient_states: bool,
    #[serde(default)]
    pub close_alert_after_all: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRuleConfig {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub criteria: Option<CriteriaConfig>,
    #[serde(default)]
    pub time_restriction: Option<RestrictionConfig>,
    #[serde(default)]
    pub time_zone: Option<String>,
    pub notify: NamedRef,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriteriaConfig {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub conditions: Vec<ConditionConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionConfig {
    pub field: String,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub not: bool,
    pub operation: String,
    #[serde(default)]
    pub expected_value: Option<String>,
}

/// A team routing rule as the store applies it (targets by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingRuleDecl {
    pub name: String,
    pub is_default: bool,
    pub criteria: Criteria,
    pub time_restriction: Option<TimeRestriction>,
    pub time_zone: Option<String>,
    pub notify: Target,
}

/// Reads a kebab-case word into a serde enum, or says which word was wrong.
fn word<T: for<'de> Deserialize<'de>>(
    what: &str,
    v: &str,
    allowed: &str,
) -> Result<T, (String, String)> {
    serde_json::from_value(serde_json::Value::String(v.trim().to_string())).map_err(|_| {
        (
            v.to_string(),
            format!("{what} `{v}` is not one of {allowed}"),
        )
    })
}

impl UserConfig {
    /// The user's checked contacts and notification rules, or the offending value and what is
    /// wrong with it.
    pub fn profile(&self) -> Result<NotificationProfile, (String, String)> {
        let mut contacts = Vec::with_capacity(self.contacts.len());
        for c in &self.contacts {
            let kind: ContactKind =
                c.method
                    .trim()
                    .parse()
                    .map_err(|e: crate::notification::NotificationError| {
                        (c.method.clone(), e.to_string())
                    })?;
            contacts.push(
                ContactMethod::new(ContactSpec {
                    id: c.id.trim().to_string(),
                    kind,
                    to: c.to.clone(),
                    enabled: c.enabled,
                })
                .map_err(|e| (c.to.clone(), format!("contact {:?}: {e}", c.id)))?,
            );
        }
        let mut rules = Vec::with_capacity(self.notification_rules.len());
        for r in &self.notification_rules {
            let mut priorities = Vec::with_capacity(r.priorities.len());
            for p in &r.priorities {
                priorities.push(p.trim().parse::<Priority>().map_err(|e| {
                    (
                        p.clone(),
                        format!("notification rule {:?}: priority {e}", r.name),
                    )
                })?);
            }
            let tag_match = match r.tag_match.as_deref().map(str::trim) {
                None | Some("any") => TagMatch::Any,
                Some("all") => TagMatch::All,
                Some(other) => {
                    return Err((
                        other.to_string(),
                        format!(
                            "notification rule {:?}: tag_match `{other}` should be any or all",
                            r.name
                        ),
                    ))
                }
            };
            let mut steps = Vec::with_capacity(r.steps.len());
            for s in &r.steps {
                steps.push(Step {
                    send_after: duration(&s.after)?,
                    contact: s.contact.trim().to_string(),
                    enabled: s.enabled,
                });
            }
            rules.push(NotificationRule {
                name: r.name.clone(),
                criteria: RuleCriteria {
                    priorities,
                    tags: r.tags.clone(),
                    tag_match,
                },
                steps,
                loop_after: r.loop_after.as_ref().map(DurationText::parse).transpose()?,
                enabled: r.enabled,
            });
        }
        NotificationProfile::new(ProfileSpec { contacts, rules }).map_err(|e| {
            use crate::notification::NotificationError as E;
            let needle = match &e {
                E::UnknownContact { contact, .. } => format!("contact: {contact}"),
                E::DuplicateContact(id) => id.clone(),
                E::DuplicateRule(n) | E::NoSteps(n) | E::RepeatWithoutTime(n) => n.clone(),
                E::DuplicateStep { rule, .. } | E::DelayTooLong { rule, .. } => rule.clone(),
                _ => self.username.clone(),
            };
            (needle, e.to_string())
        })
    }
}

impl EscalationConfig {
    /// The checked policy, recipients still named by name.
    pub fn to_policy(&self) -> Result<EscalationPolicy, (String, String)> {
        let mut rules = Vec::with_capacity(self.rules.len());
        for r in &self.rules {
            let condition = match &r.condition {
                Some(c) => c
                    .trim()
                    .parse::<Condition>()
                    .map_err(|e| (c.clone(), e.to_string()))?,
                None => Condition::default(),
            };
            let notify_type = match &r.notify_type {
                Some(n) => n
                    .trim()
                    .parse::<NotifyType>()
                    .map_err(|e| (n.clone(), e.to_string()))?,
                None => NotifyType::default(),
            };
            let kind = r
                .recipient
                .kind
                .trim()
                .parse::<RecipientKind>()
                .map_err(|e| (r.recipient.kind.clone(), e.to_string()))?;
            rules.push(EscalationRule {
                condition,
                notify_type,
                delay: duration(&r.delay)?,
                recipient: Recipient {
                    kind,
                    id: r
                        .recipient
                        .name
                        .clone()
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                },
            });
        }
        let repeat = match &self.repeat {
            Some(r) => Some(Repeat {
                wait_interval: duration(&r.wait_interval)?,
                count: r.count,
                reset_recipient_states: r.reset_recipient_states,
                close_alert_after_all: r.close_alert_after_all,
            }),
            None => None,
        };
        EscalationPolicy::new(EscalationSpec { rules, repeat }).map_err(|e| {
            use crate::escalation::EscalationError as E;
            // Point at the rule that is wrong where the error names one.
            let rule = |i: usize| self.rules.get(i);
            let needle = match &e {
                E::NotifyTypeMismatch {
                    rule: i,
                    notify_type,
                    ..
                } => rule(*i).map(|_| format!("notify_type: {notify_type}")),
                E::DuplicateRule { rule: i, .. }
                | E::DelayTooLong { rule: i, .. }
                | E::EmptyRecipient { rule: i } => rule(*i).and_then(|r| r.recipient.name.clone()),
                _ => Some("repeat:".to_string()),
            };
            (needle.unwrap_or_else(|| self.name.clone()), e.to_string())
        })
    }
}

impl NamedRef {
    fn target(&self) -> Result<Target, (String, String)> {
        let kind: TargetKind = word("notify type", &self.kind, "escalation, schedule, none")?;
        let target = Target {
            kind,
            id: None,
            name: self.name.clone().map(|n| n.trim().to_string()),
        };
        target
            .check()
            .map_err(|e| (self.kind.clone(), e.to_string()))?;
        Ok(target)
    }
}

impl RoutingRuleConfig {
    /// The checked rule (targets by name), or the offending value and what is wrong with it.
    pub fn to_decl(&self, index: usize) -> Result<RoutingRuleDecl, (String, String)> {
        let criteria = match &self.criteria {
            None => Criteria::match_all(),
            Some(c) => {
                let kind: CriteriaKind = match &c.kind {
                    Some(k) => word(
                        "criteria type",
                        k,
                        "match-all, match-any-condition, match-all-conditions",
                    )?,
                    None => CriteriaKind::MatchAll,
                };
                let mut conditions = Vec::with_capacity(c.conditions.len());
                for cond in &c.conditions {
                    conditions.push(ConditionSpec {
                        field: word::<Field>(
                            "field",
                            &cond.field,
                            "message, alias, description, source, entity, tags, actions, details (extra-properties), priority",
                        )?,
                        key: cond.key.clone(),
                        not: cond.not,
                        operation: word::<Operation>(
                            "operation",
                            &cond.operation,
                            "equals, contains, starts-with, ends-with, matches, is-empty, equals-ignore-whitespace, contains-key, contains-value, greater-than, less-than",
                        )?,
                        expected_value: cond.expected_value.clone().unwrap_or_default(),
                    });
                }
                let needle = c
                    .conditions
                    .first()
                    .map_or_else(|| "criteria:".to_string(), |c| c.field.clone());
                Criteria::new(CriteriaSpec { kind, conditions })
                    .map_err(|e| (needle, e.to_string()))?
            }
        };
        let time_restriction = match &self.time_restriction {
            Some(r) => Some(
                TimeRestriction::new(r.to_restriction()?)
                    .map_err(|e| ("time_restriction:".to_string(), e.to_string()))?,
            ),
            None => None,
        };
        if let Some(z) = &self.time_zone {
            routing::parse_time_zone(z).map_err(|e| (z.clone(), e.to_string()))?;
        }
        Ok(RoutingRuleDecl {
            name: self
                .name
                .clone()
                .unwrap_or_else(|| format!("rule {}", index + 1)),
            is_default: false,
            criteria,
            time_restriction,
            time_zone: self.time_zone.as_ref().map(|z| z.trim().to_string()),
            notify: self.notify.target()?,
        })
    }
}

impl Config {
    /// The team's routing rules as declared, then the default rule (see the module docs).
    /// `Config::parse` has checked them; a rule refused anyway is skipped.
    pub fn team_routing(&self, team: &TeamConfig) -> Vec<RoutingRuleDecl> {
        let mut rules: Vec<RoutingRuleDecl> = team
            .routing_rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.to_decl(i).ok())
            .collect();
        let conventional = format!("{}_escalation", team.name);
        let default_target = match &team.escalation {
            Some(e) => Target::escalation(e.trim()),
            None if self
                .escalations
                .iter()
                .any(|e| e.name.eq_ignore_ascii_case(&conventional)) =>
            {
                Target::escalation(conventional)
            }
            None => Target::none(),
        };
        rules.push(RoutingRuleDecl {
            name: "Default Rule".into(),
            is_default: true,
            criteria: Criteria::match_all(),
            time_restriction: None,
            time_zone: None,
            notify: default_target,
        });
        rules
    }

    /// Contacts, notification rules, escalations and routing rules: every value the core
    /// refuses and every name that is not declared, each at its line.
    pub(super) fn validate_directory(
        &self,
        text: &str,
        usernames: &HashSet<String>,
        teams: &HashSet<String>,
        errs: &mut Vec<ConfigError>,
    ) {
        let mut cursor = locate(text, "users:");
        for u in &self.users {
            let at = locate_from(text, cursor, &u.username);
            cursor = at.map(|l| l + 1).or(cursor);
            if u.contacts.is_empty() && u.notification_rules.is_empty() {
                continue;
            }
            if let Err((needle, message)) = u.profile() {
                errs.push(ConfigError {
                    line: locate_from(text, at, &needle).or(at),
                    message: format!("user {:?}: {message}", u.username),
                });
            }
        }

        let schedules: HashSet<String> = self
            .schedules
            .iter()
            .map(|s| s.name.to_lowercase())
            .collect();
        let mut escalations = HashSet::new();
        let mut cursor = locate(text, "escalations:");
        for e in &self.escalations {
            let at = locate_from(text, cursor, &e.name);
            cursor = at.map(|l| l + 1).or(cursor);
            let mut err = |needle: &str, message: String| {
                errs.push(ConfigError {
                    line: locate_from(text, at, needle).or(at),
                    message: format!("escalation {:?}: {message}", e.name),
                })
            };
            if e.name.trim().is_empty() {
                err("name:", "an escalation has an empty name".into());
            }
            if !escalations.insert(e.name.trim().to_lowercase()) {
                err(&e.name, "is declared twice".into());
            }
            if let Some(team) = &e.team {
                if !teams.contains(&team.trim().to_lowercase()) {
                    err(team, format!("team {team:?} is not declared under teams:"));
                }
            }
            for r in &e.rules {
                let name = r.recipient.name.clone().unwrap_or_default();
                let key = name.trim().to_lowercase();
                let (known, under) = match r.recipient.kind.trim() {
                    "user" => (usernames.contains(&key), "users"),
                    "team" => (teams.contains(&key), "teams"),
                    "schedule" => (schedules.contains(&key), "schedules"),
                    _ => (true, ""),
                };
                if !known {
                    err(
                        &name,
                        format!(
                            "{} {name:?} is not declared under {under}:",
                            r.recipient.kind.trim()
                        ),
                    );
                }
            }
            if let Err((needle, message)) = e.to_policy() {
                err(&needle, message);
            }
        }

        let mut cursor = locate(text, "teams:");
        for t in &self.teams {
            let at = locate_from(text, cursor, &t.name);
            cursor = at.map(|l| l + 1).or(cursor);
            let mut err = |needle: &str, message: String| {
                errs.push(ConfigError {
                    line: locate_from(text, at, needle).or(at),
                    message: format!("team {:?}: {message}", t.name),
                })
            };
            if let Some(e) = &t.escalation {
                if !escalations.contains(&e.trim().to_lowercase()) {
                    err(
                        e,
                        format!("escalation {e:?} is not declared under escalations:"),
                    );
                }
            }
            for (i, r) in t.routing_rules.iter().enumerate() {
                match r.to_decl(i) {
                    Err((needle, message)) => {
                        err(&needle, format!("routing rule {}: {message}", i + 1))
                    }
                    Ok(rule) => {
                        let name = rule.notify.name.clone().unwrap_or_default();
                        let key = name.to_lowercase();
                        let missing = match rule.notify.kind {
                            TargetKind::Escalation => {
                                (!escalations.contains(&key)).then_some("escalations")
                            }
                            TargetKind::Schedule => {
                                (!schedules.contains(&key)).then_some("schedules")
                            }
                            TargetKind::None => None,
                        };
                        if let Some(under) = missing {
                            err(
                                &name,
                                format!(
                                    "routing rule {}: {} {name:?} is not declared under {under}:",
                                    i + 1,
                                    rule.notify.kind
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::AlertView;
    use std::collections::BTreeMap;

    const GOOD: &str = r#"
users:
  - username: alice@example.com
    contacts:
      - {id: push, method: mobile, to: alice}
      - {id: phone, method: sms, to: "+49 170 1234567"}
    notification_rules:
      - name: urgent
        priorities: [P1, P2]
        steps: [{contact: push}, {after: 1m, contact: phone}]
        loop_after: 5m
  - username: bob@example.com
teams:
  - name: sre
    members: [alice@example.com, bob@example.com]
    routing_rules:
      - name: P1 in office hours
        criteria:
          type: match-all-conditions
          conditions: [{field: priority, operation: equals, expected_value: P1}]
        time_restriction: {type: time-of-day, start: "09:00", end: "17:00"}
        time_zone: Europe/Berlin
        notify: {type: schedule, name: primary}
  - name: web
    escalation: sre_escalation
schedules:
  - name: primary
    rotations:
      - {name: r, type: weekly, start: 2026-01-05, participants: [alice@example.com]}
escalations:
  - name: sre_escalation
    team: sre
    rules:
      - {delay: 0, recipient: {type: schedule, name: primary}}
      - {delay: 5m, recipient: {type: user, name: bob@example.com}}
      - {delay: 600, notify_type: all, condition: if-not-closed, recipient: {type: team, name: sre}}
    repeat: {wait_interval: 10m, count: 2, close_alert_after_all: true}
"#;

    #[test]
    fn parses_the_directory() {
        let c = Config::parse(GOOD).unwrap_or_else(|e| panic!("{e:#?}"));
        let p = c.users[0].profile().unwrap();
        assert_eq!(p.contact("phone").unwrap().to(), "+491701234567");
        assert_eq!(p.rules()[0].steps[1].send_after.as_millis(), 60_000);
        assert_eq!(p.rules()[0].loop_length_ms(), Some(6 * 60_000));
        let policy = c.escalations[0].to_policy().unwrap();
        assert_eq!(policy.rules()[2].delay.as_millis(), 600_000);
        assert_eq!(policy.rules()[2].notify_type, NotifyType::All);
        assert_eq!(
            policy.rules()[1].recipient,
            Recipient::user("bob@example.com")
        );
        assert_eq!(policy.repeat_count(), 2);

        let sre = c.team_routing(&c.teams[0]);
        assert_eq!(sre.len(), 2);
        assert_eq!(sre[0].notify, Target::schedule("primary"));
        assert_eq!(sre[0].time_zone.as_deref(), Some("Europe/Berlin"));
        // No `escalation:`, but `sre_escalation` exists: the default rule notifies it.
        assert!(sre[1].is_default);
        assert_eq!(sre[1].notify, Target::escalation("sre_escalation"));
        let web = c.team_routing(&c.teams[1]);
        assert_eq!(web.len(), 1);
        assert_eq!(web[0].notify, Target::escalation("sre_escalation"));

        // The declared rule routes P1 at 10:00 Berlin (09:00Z on a Monday) to the schedule.
        let rules: Vec<routing::TeamRoutingRule> = sre
            .iter()
            .map(|d| routing::TeamRoutingRule {
                id: d.name.clone(),
                name: d.name.clone(),
                is_default: d.is_default,
                criteria: d.criteria.clone(),
                time_restriction: d.time_restriction.clone(),
                time_zone: d
                    .time_zone
                    .as_deref()
                    .map(|z| routing::parse_time_zone(z).unwrap()),
                notify: d.notify.clone(),
            })
            .collect();
        let details = BTreeMap::new();
        let alert = AlertView {
            message: "m",
            alias: "a",
            description: "",
            source: "",
            entity: "",
            tags: &[],
            actions: &[],
            details: &details,
            priority: Priority::P1,
        };
        let monday_9z = 1_767_603_600_000;
        assert_eq!(
            routing::route(&rules, &alert, monday_9z),
            Some(&Target::schedule("primary"))
        );
        assert_eq!(
            routing::route(&rules, &alert, monday_9z + 8 * 3_600_000),
            Some(&Target::escalation("sre_escalation"))
        );
    }

    #[test]
    fn directory_errors_point_at_their_lines() {
        let text = r#"
users:
  - username: alice@example.com
    contacts:
      - {id: push, method: mobile, to: alice}
      - {id: phone, method: sms, to: "+12"}
      - {id: fax, method: fax, to: "1"}
  - username: bob@example.com
    contacts:
      - {id: push, method: mobile, to: bob}
    notification_rules:
      - name: urgent
        steps: [{contact: voice}]
teams:
  - name: sre
    escalation: nope_escalation
    routing_rules:
      - notify: {type: escalation, name: ghost}
      - criteria: {type: match-any-condition, conditions: [{field: message, operation: matches, expected_value: "(("}]}
        notify: {type: none}
escalations:
  - name: sre_escalation
    team: ghosts
    rules:
      - {delay: 0, recipient: {type: user, name: carol@example.com}}
      - {delay: 5m, recipient: {type: schedule, name: nights}}
      - {delay: 1m, notify_type: next, recipient: {type: team, name: sre}}
"#;
        let errs = Config::parse(text).unwrap_err();
        let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        let expect = [
            ("line 6:", "E.164"),
            ("line 13:", "no contact method `voice`"),
            ("line 16:", "escalation \"nope_escalation\" is not declared"),
            ("line 18:", "escalation \"ghost\" is not declared"),
            ("line 19:", "not a valid regular expression"),
            ("line 23:", "team \"ghosts\" is not declared"),
            ("line 25:", "user \"carol@example.com\" is not declared"),
            ("line 26:", "schedule \"nights\" is not declared"),
            ("line 27:", "notifyType `next` does not apply to a team"),
        ];
        for (line, what) in expect {
            assert!(
                all.iter().any(|e| e.starts_with(line) && e.contains(what)),
                "{line} {what}: {all:#?}"
            );
        }
        // alice's first error (the phone number) hides the unknown method after it.
        assert_eq!(errs.len(), expect.len(), "{all:#?}");
        let errs = Config::parse(
            "users:\n  - username: a@b.cd\n    contacts: [{id: x, method: fax, to: y}]\n",
        )
        .unwrap_err();
        assert_eq!(errs[0].line, Some(3), "{errs:?}");
        assert!(
            errs[0].message.contains("`fax` is not a contact method"),
            "{errs:?}"
        );
    }
}
