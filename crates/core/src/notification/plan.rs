//! The notification planner: once an escalation step has paged a user, which of their contact
//! methods are due now, and when the next one is.

use std::fmt;

use serde::Serialize;

use super::contact::ContactMethod;
use super::rule::{NotificationProfile, Selection};
use crate::alert::Priority;
use crate::clock::Millis;
use crate::escalation::{AlertEvent, AlertHistory, Course};

/// Which rule a notification comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RuleRef {
    /// Index of the rule in the user's rules.
    Rule(u32),
    /// No rule matched: every contact method at once.
    EveryContact,
}

/// Names one notification of one page for good: user, rule, step (index of the step in the
/// rule, or of the contact method for [`RuleRef::EveryContact`]) and loop. The engine adds
/// the alert and the escalation step that paged the user to make the delivery's idempotency
/// key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct NotificationKey {
    pub user: String,
    pub rule: RuleRef,
    pub step: u32,
    pub cycle: u64,
}

impl fmt::Display for NotificationKey {
    /// `user/rule/step/cycle`, the rule as its index or `all`: `alice/0/1/2`, `bob/all/0/0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule {
            RuleRef::Rule(i) => write!(f, "{}/{}/{}/{}", self.user, i, self.step, self.cycle),
            RuleRef::EveryContact => write!(f, "{}/all/{}/{}", self.user, self.step, self.cycle),
        }
    }
}

/// A user paged for an alert by an escalation step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page<'a> {
    pub user: &'a str,
    pub priority: Priority,
    pub tags: &'a [String],
    /// When the escalation step paged them: step delays count from here.
    pub paged_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueNotification {
    pub key: NotificationKey,
    pub due_at: Millis,
    pub contact: ContactMethod,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationPlan {
    /// By due time, then key.
    pub due: Vec<DueNotification>,
    /// The first instant after `now` at which a notification falls due if the alert does not
    /// change; `None` when none will.
    pub next_due: Option<Millis>,
}

/// Notifications of `page` due in `(since, now]` (from the page when `since` is `None`).
///
/// - The rule is the first enabled one whose criteria match the alert; with none, every
///   enabled contact method is notified at once, without a loop. Disabled steps and contact
///   methods are skipped.
/// - The page is answered by the alert's first change after `paged_at`: acknowledge, close,
///   snooze, or un-acknowledge (which restarts the escalation and pages anew). Nothing of the
///   page is due at or after that instant, and nothing late is sent once it has happened.
/// - A page on an alert already acknowledged (an `if-not-closed` escalation rule) runs the
///   rule's steps once, without looping; on a snoozed or closed alert nothing is sent.
/// - Loops run every `longest send_after + loop_after` until answered. After a gap (the engine
///   was down) each step is sent once, for its latest loop, not once per missed loop.
pub fn plan(
    profile: &NotificationProfile,
    page: &Page<'_>,
    history: &AlertHistory,
    since: Option<Millis>,
    now: Millis,
) -> NotificationPlan {
    let mut out = NotificationPlan {
        due: Vec::new(),
        next_due: None,
    };
    let history = history.as_of(now);
    let start = page.paged_at;
    let at_start = Course::new(&history, None).state_at(start);
    if at_start.closed || at_start.snoozed {
        return out;
    }
    let answered = history
        .events()
        .iter()
        .map(AlertEvent::at)
        .find(|t| *t > start);
    if answered.is_some_and(|t| t <= now) {
        return out;
    }

    let selected = select(profile, page);
    let loop_ms = selected.loop_ms.filter(|_| !at_start.acked);
    for step in selected.steps {
        let first = start.saturating_add(step.offset_ms);
        let occurrence = |cycle: u64| first.saturating_add(cycle as i64 * loop_ms.unwrap_or(0));
        // Latest occurrence at or before now, and the first after it.
        let (latest, next) = match loop_ms {
            _ if now < first => (None, Some(0)),
            Some(l) => {
                let c = ((now - first) / l) as u64;
                (Some(c), Some(c + 1))
            }
            None => (Some(0), None),
        };
        if let Some(c) = latest.filter(|c| since.is_none_or(|s| occurrence(*c) > s)) {
            out.due.push(DueNotification {
                key: NotificationKey {
                    user: page.user.to_string(),
                    rule: selected.rule,
                    step: step.index,
                    cycle: c,
                },
                due_at: occurrence(c),
                contact: step.contact.clone(),
            });
        }
        if let Some(t) = next.map(occurrence) {
            out.next_due = Some(out.next_due.map_or(t, |n| n.min(t)));
        }
    }
    out.due
        .sort_by(|a, b| (a.due_at, &a.key).cmp(&(b.due_at, &b.key)));
    out
}

/// The steps that page a user for one alert: the rule they come from, those that can be sent,
/// and the loop length.
struct Selected<'a> {
    rule: RuleRef,
    steps: Vec<UsableStep<'a>>,
    loop_ms: Option<i64>,
}

struct UsableStep<'a> {
    index: u32,
    offset_ms: i64,
    contact: &'a ContactMethod,
}

/// Enabled steps whose contact method is enabled; for [`Selection::EveryContact`], every
/// enabled contact method at once.
fn select<'a>(profile: &'a NotificationProfile, page: &Page<'_>) -> Selected<'a> {
    match profile.select(page.priority, page.tags) {
        Selection::Rule { index, rule } => Selected {
            rule: RuleRef::Rule(index as u32),
            steps: rule
                .steps
                .iter()
                .enumerate()
                .filter(|(_, s)| s.enabled)
                .filter_map(|(i, s)| {
                    let contact = profile.contact(&s.contact).filter(|c| c.enabled())?;
                    Some(UsableStep {
                        index: i as u32,
                        offset_ms: s.send_after.as_millis(),
                        contact,
                    })
                })
                .collect(),
            loop_ms: rule.loop_length_ms(),
        },
        Selection::EveryContact => Selected {
            rule: RuleRef::EveryContact,
            steps: profile
                .contacts()
                .iter()
                .enumerate()
                .filter(|(_, c)| c.enabled())
                .map(|(i, contact)| UsableStep {
                    index: i as u32,
                    offset_ms: 0,
                    contact,
                })
                .collect(),
            loop_ms: None,
        },
    }
}
