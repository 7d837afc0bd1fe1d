//! A user's notification rules (OpsGenie "notification rules" for new alerts): which rule
//! applies to an alert, and its steps "after N → contact method", looping until the alert is
//! answered.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::contact::ContactMethod;
use super::error::NotificationError;
use crate::alert::Priority;
use crate::duration::Duration;
use crate::escalation::MAX_DELAY;

/// Which alerts a rule is for. Empty lists match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Criteria {
    #[serde(default)]
    pub priorities: Vec<Priority>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub tag_match: TagMatch,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagMatch {
    /// The alert has at least one of the tags.
    #[default]
    Any,
    /// The alert has every one of the tags.
    All,
}

impl Criteria {
    pub fn matches(&self, priority: Priority, tags: &[String]) -> bool {
        let has = |t: &String| tags.contains(t);
        let tags_ok = self.tags.is_empty()
            || match self.tag_match {
                TagMatch::Any => self.tags.iter().any(has),
                TagMatch::All => self.tags.iter().all(has),
            };
        tags_ok && (self.priorities.is_empty() || self.priorities.contains(&priority))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// After the user was first paged for the alert (in each loop: after the loop's start).
    #[serde(default)]
    pub send_after: Duration,
    /// Id of one of the user's contact methods.
    pub contact: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRule {
    pub name: String,
    #[serde(default)]
    pub criteria: Criteria,
    pub steps: Vec<Step>,
    /// Run the steps again this long after the last one, until the alert is answered.
    #[serde(default)]
    pub loop_after: Option<Duration>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl NotificationRule {
    /// From one loop's start to the next, when the rule loops.
    pub fn loop_length_ms(&self) -> Option<i64> {
        let longest = self.steps.iter().map(|s| s.send_after.as_millis()).max();
        self.loop_after
            .map(|l| longest.unwrap_or(0) + l.as_millis())
    }
}

/// The wire and config form, before it is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileSpec {
    #[serde(default)]
    pub contacts: Vec<ContactMethod>,
    #[serde(default)]
    pub rules: Vec<NotificationRule>,
}

/// One user's checked contact methods and rules: ids and names unique, every step names one of
/// the user's contact methods, no step listed twice, loops take time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ProfileSpec", into = "ProfileSpec")]
pub struct NotificationProfile {
    contacts: Vec<ContactMethod>,
    rules: Vec<NotificationRule>,
}

/// Which steps page a user for an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection<'a> {
    /// The first enabled rule, in order, whose criteria match.
    Rule {
        index: usize,
        rule: &'a NotificationRule,
    },
    /// No rule matched (or the user has none): every enabled contact method at once, no loop.
    /// A page is never dropped for want of a rule.
    EveryContact,
}

impl NotificationProfile {
    pub fn new(spec: ProfileSpec) -> Result<Self, NotificationError> {
        let mut ids = HashSet::new();
        for c in &spec.contacts {
            if !ids.insert(c.id()) {
                return Err(NotificationError::DuplicateContact(c.id().to_string()));
            }
        }
        let mut names = HashSet::new();
        for rule in &spec.rules {
            let name = rule.name.trim();
            if name.is_empty() {
                return Err(NotificationError::EmptyRuleName);
            }
            if !names.insert(name) {
                return Err(NotificationError::DuplicateRule(name.to_string()));
            }
            check_rule(rule, &ids)?;
        }
        Ok(NotificationProfile {
            contacts: spec.contacts,
            rules: spec.rules,
        })
    }

    pub fn contacts(&self) -> &[ContactMethod] {
        &self.contacts
    }

    pub fn rules(&self) -> &[NotificationRule] {
        &self.rules
    }

    pub fn contact(&self, id: &str) -> Option<&ContactMethod> {
        self.contacts.iter().find(|c| c.id() == id)
    }

    pub fn select(&self, priority: Priority, tags: &[String]) -> Selection<'_> {
        self.rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.enabled && r.criteria.matches(priority, tags))
            .map_or(Selection::EveryContact, |(index, rule)| Selection::Rule {
                index,
                rule,
            })
    }
}

fn check_rule(rule: &NotificationRule, contacts: &HashSet<&str>) -> Result<(), NotificationError> {
    let name = || rule.name.clone();
    if rule.steps.is_empty() {
        return Err(NotificationError::NoSteps(name()));
    }
    let too_long = |delay: Duration| NotificationError::DelayTooLong {
        rule: name(),
        delay,
        max: MAX_DELAY,
    };
    for (i, step) in rule.steps.iter().enumerate() {
        if !contacts.contains(step.contact.as_str()) {
            return Err(NotificationError::UnknownContact {
                rule: name(),
                step: i,
                contact: step.contact.clone(),
            });
        }
        if step.send_after > MAX_DELAY {
            return Err(too_long(step.send_after));
        }
        let same = |s: &Step| s.send_after == step.send_after && s.contact == step.contact;
        if let Some(first) = rule.steps[..i].iter().position(same) {
            return Err(NotificationError::DuplicateStep {
                rule: name(),
                step: i,
                first,
            });
        }
    }
    if let Some(l) = rule.loop_after {
        if l > MAX_DELAY {
            return Err(too_long(l));
        }
    }
    if rule.loop_length_ms() == Some(0) {
        return Err(NotificationError::RepeatWithoutTime(name()));
    }
    Ok(())
}

impl TryFrom<ProfileSpec> for NotificationProfile {
    type Error = NotificationError;
    fn try_from(spec: ProfileSpec) -> Result<Self, Self::Error> {
        NotificationProfile::new(spec)
    }
}

impl From<NotificationProfile> for ProfileSpec {
    fn from(p: NotificationProfile) -> Self {
        ProfileSpec {
            contacts: p.contacts,
            rules: p.rules,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "
contacts:
  - {id: push, method: mobile, to: alice}
  - {id: phone, method: sms, to: '+491701234567'}
rules:
  - name: urgent
    criteria: {priorities: [P1, P2]}
    steps: [{contact: push}, {sendAfter: 1m, contact: phone}]
    loopAfter: 5m
  - name: db
    criteria: {tags: [db, prod], tagMatch: all}
    steps: [{contact: push}]
";

    #[test]
    fn first_matching_rule_wins_and_otherwise_every_contact() {
        let p: NotificationProfile = serde_yaml::from_str(YAML).unwrap();
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(matches!(
            p.select(Priority::P1, &tags(&["db", "prod"])),
            Selection::Rule { index: 0, .. }
        ));
        assert!(matches!(
            p.select(Priority::P3, &tags(&["db", "prod"])),
            Selection::Rule { index: 1, .. }
        ));
        assert_eq!(
            p.select(Priority::P3, &tags(&["db"])),
            Selection::EveryContact
        );
        assert_eq!(p.rules()[0].loop_length_ms(), Some(6 * 60_000));
    }

    #[test]
    fn refuses_rules_that_cannot_work() {
        let check = |yaml: &str| {
            let spec: ProfileSpec = serde_yaml::from_str(yaml).unwrap();
            NotificationProfile::new(spec).unwrap_err().to_string()
        };
        let contacts = "contacts: [{id: push, method: mobile, to: alice}]\n";
        let err = check(&format!(
            "{contacts}rules: [{{name: a, steps: [{{contact: phone}}]}}]"
        ));
        assert!(err.contains("no contact method `phone`"), "{err}");
        let err = check(&format!("{contacts}rules: [{{name: a, steps: []}}]"));
        assert!(err.contains("no steps"), "{err}");
        let err = check(&format!(
            "{contacts}rules: [{{name: a, steps: [{{contact: push}}]}}, {{name: a, steps: [{{contact: push}}]}}]"
        ));
        assert!(err.contains("two notification rules"), "{err}");
        let err = check(&format!(
            "{contacts}rules: [{{name: a, steps: [{{contact: push}}, {{contact: push}}]}}]"
        ));
        assert!(err.contains("repeats step 0"), "{err}");
        let err = check(&format!(
            "{contacts}rules: [{{name: a, steps: [{{contact: push}}], loopAfter: 0s}}]"
        ));
        assert!(err.contains("without time"), "{err}");
        let err = check(
            "contacts: [{id: x, method: email, to: a@b.cd}, {id: x, method: email, to: c@d.ef}]",
        );
        assert!(err.contains("two contact methods"), "{err}");
    }
}
