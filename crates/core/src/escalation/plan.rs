//! The escalation planner: given a policy, what happened to the alert and the instant, which
//! steps are due, what else the engine must do, and when to look again.

use std::fmt;

use serde::Serialize;

use super::course::{Course, Resets, State};
use super::history::AlertHistory;
use super::policy::{Condition, EscalationPolicy, EscalationRule};
use crate::clock::Millis;

/// Names one step for good: run of the escalation, repeat cycle within the run, rule index.
/// Part of the idempotency key of every delivery the step causes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct StepKey {
    /// 0 from creation; each un-acknowledgement or snooze end restarts the escalation as the
    /// next run.
    pub run: u32,
    /// 0 for the first pass, 1..=count for the repeats.
    pub cycle: u32,
    /// Index of the rule in the policy.
    pub rule: u32,
}

impl fmt::Display for StepKey {
    /// `run.cycle.rule`, e.g. `0.1.2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.run, self.cycle, self.rule)
    }
}

/// A rule whose time has come and whose condition holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueStep {
    pub key: StepKey,
    pub due_at: Millis,
    pub rule: EscalationRule,
}

/// What the engine does to the alert itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Effect {
    /// `resetRecipientStates`: a repeat began while the alert was acknowledged; mark it
    /// unacknowledged. Record no `Unacknowledged` event for it: this is not a restart (one
    /// recorded anyway at `at` is harmless, the alert is already unacknowledged there).
    RevertAcknowledgement { at: Millis, run: u32, cycle: u32 },
    /// `closeAlertAfterAll`: every repeat has run and nobody took the alert; close it.
    CloseAlert { at: Millis, run: u32 },
}

impl Effect {
    pub fn at(&self) -> Millis {
        match *self {
            Effect::RevertAcknowledgement { at, .. } | Effect::CloseAlert { at, .. } => at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Steps due in the window, by due time then key.
    pub due: Vec<DueStep>,
    /// Effects due in the window, by time.
    pub effects: Vec<Effect>,
    /// The first instant after `now` at which a step or effect falls due if the alert does not
    /// change; `None` when nothing will.
    pub next_due: Option<Millis>,
}

impl Plan {
    /// Nothing more will happen unless the alert changes (an un-acknowledgement or a snooze
    /// restarts the escalation; a closed alert stays finished).
    pub fn is_finished(&self) -> bool {
        self.next_due.is_none()
    }

    pub fn closes_alert(&self) -> bool {
        self.effects
            .iter()
            .any(|e| matches!(e, Effect::CloseAlert { .. }))
    }
}

/// What falls due in `(since, now]` (from the start when `since` is `None`): the engine passes
/// the `now` of its previous call as `since`, so each step is returned once. Events in
/// `history` after `now` are ignored.
///
/// A step is due at its instant if its run is still in force, the alert is open and not
/// snoozed, and its condition holds (ack and close at the same instant win). A step that is
/// late (due before `now`, e.g. after a restart of the engine) is still sent if all of that is
/// still true at `now`; otherwise it is dropped, so nobody is paged for an alert that was
/// acknowledged or closed meanwhile.
pub fn plan(
    policy: &EscalationPolicy,
    history: &AlertHistory,
    since: Option<Millis>,
    now: Millis,
) -> Plan {
    let history = history.as_of(now);
    let resets = policy.resets_acknowledgement().then(|| Resets {
        cycle_ms: policy.cycle_length_ms(),
        count: policy.repeat_count(),
    });
    let course = Course::new(&history, resets);
    let current = course.state_at(now);
    let in_window = |t: Millis| t <= now && since.is_none_or(|s| t > s);
    let mut plan = Plan {
        due: Vec::new(),
        effects: Vec::new(),
        next_due: None,
    };

    for (run, &start) in course.run_starts().iter().enumerate() {
        let end = course.run_end(run);
        let run = run as u32;
        let live = |t: Millis| t >= start && end.is_none_or(|e| t < e);
        for item in timetable(policy, start) {
            let wanted = |st: State| st.run == run && item.wanted(policy, st);
            if !live(item.at) || !wanted(course.state_at(item.at)) {
                continue;
            }
            if item.at > now {
                plan.next_due = earliest(plan.next_due, item.at);
            } else if in_window(item.at) && (item.at == now || wanted(current)) {
                match item.what {
                    What::Step { cycle, rule } => plan.due.push(DueStep {
                        key: StepKey { run, cycle, rule },
                        due_at: item.at,
                        rule: policy.rules()[rule as usize].clone(),
                    }),
                    What::Close => plan.effects.push(Effect::CloseAlert { at: item.at, run }),
                }
            }
        }
    }
    for r in course.reverts() {
        if r.at > now {
            plan.next_due = earliest(plan.next_due, r.at);
        } else if in_window(r.at) && !current.acked && !current.closed && current.run == r.run {
            plan.effects.push(Effect::RevertAcknowledgement {
                at: r.at,
                run: r.run,
                cycle: r.cycle,
            });
        }
    }
    plan.due.sort_by_key(|s| (s.due_at, s.key));
    plan.effects.sort_by_key(Effect::at);
    plan
}

fn earliest(a: Option<Millis>, b: Millis) -> Option<Millis> {
    Some(a.map_or(b, |a| a.min(b)))
}

/// One entry of a run's timetable.
struct Item {
    at: Millis,
    what: What,
}

enum What {
    Step { cycle: u32, rule: u32 },
    Close,
}

impl Item {
    fn wanted(&self, policy: &EscalationPolicy, st: State) -> bool {
        if st.closed || st.snoozed {
            return false;
        }
        match self.what {
            What::Step { rule, .. } => match policy.rules()[rule as usize].condition {
                Condition::IfNotAcked => !st.acked,
                Condition::IfNotClosed => true,
            },
            // Close only an escalation that was still going: nobody took the alert, or rules
            // that keep notifying after an acknowledgement were still at work.
            What::Close => !st.acked || policy.has_if_not_closed(),
        }
    }
}

/// Every step of a run that starts at `start`, cycle by cycle, and the auto-close.
fn timetable(policy: &EscalationPolicy, start: Millis) -> impl Iterator<Item = Item> + '_ {
    let cycle_ms = policy.cycle_length_ms();
    let cycles = policy.repeat_count() + 1;
    let steps = (0..cycles).flat_map(move |cycle| {
        let cycle_start = start.saturating_add(i64::from(cycle) * cycle_ms);
        policy
            .rules()
            .iter()
            .enumerate()
            .map(move |(rule, r)| Item {
                at: cycle_start.saturating_add(r.delay.as_millis()),
                what: What::Step {
                    cycle,
                    rule: rule as u32,
                },
            })
    });
    let close = policy.closes_alert_after_all().then(|| Item {
        at: start.saturating_add(i64::from(cycles) * cycle_ms),
        what: What::Close,
    });
    steps.chain(close)
}
