//! Properties of the planner on random policies, histories and engine wake-up times: each step
//! key is returned once, next-due is in the future and exact, nothing is due after a close, and
//! a late engine never sends more than a prompt one.

use std::collections::{BTreeSet, HashSet};

use proptest::prelude::*;

use super::*;
use crate::clock::Millis;

const T0: Millis = 1_780_000_000_000;
const MIN: Millis = 60_000;

fn policy() -> impl Strategy<Value = EscalationPolicy> {
    let rule = (
        any::<bool>(),
        prop::sample::select(vec![0u64, 0, 1, 2, 5, 10]),
    );
    let repeat = prop::option::of((0u32..4, 0u64..8, any::<bool>(), any::<bool>()));
    (prop::collection::vec(rule, 0..4), repeat).prop_filter_map(
        "valid policy",
        |(rules, repeat)| {
            let rules = rules
                .into_iter()
                .enumerate()
                .map(|(i, (if_not_closed, delay))| EscalationRule {
                    condition: if if_not_closed {
                        Condition::IfNotClosed
                    } else {
                        Condition::IfNotAcked
                    },
                    notify_type: NotifyType::Default,
                    delay: crate::duration::Duration::from_secs(delay * 60),
                    recipient: Recipient::user(format!("u{i}")),
                })
                .collect();
            let repeat = repeat.map(|(count, wait, reset, close)| Repeat {
                wait_interval: crate::duration::Duration::from_secs(wait * 60),
                count,
                reset_recipient_states: reset,
                close_alert_after_all: close,
            });
            EscalationPolicy::new(EscalationSpec { rules, repeat }).ok()
        },
    )
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Ack,
    Unack,
    Snooze(i64),
    Close,
}

/// Events at non-decreasing minutes (several may share one), ending at the first close.
fn history() -> impl Strategy<Value = AlertHistory> {
    let kind = prop_oneof![
        3 => Just(Kind::Ack),
        3 => Just(Kind::Unack),
        2 => (1i64..40).prop_map(Kind::Snooze),
        1 => Just(Kind::Close),
    ];
    prop::collection::vec((0i64..15, kind), 0..8).prop_map(|events| {
        let mut h = AlertHistory::new(T0);
        let mut t = T0;
        for (gap, kind) in events {
            t += gap * MIN;
            let e = match kind {
                Kind::Ack => AlertEvent::Acknowledged { at: t },
                Kind::Unack => AlertEvent::Unacknowledged { at: t },
                Kind::Snooze(len) => AlertEvent::Snoozed {
                    at: t,
                    until: t + len * MIN,
                },
                Kind::Close => AlertEvent::Closed { at: t },
            };
            if h.push(e).is_err() {
                break;
            }
        }
        h
    })
}

/// Increasing wake-up times over the first three hours, some on whole minutes (where steps
/// and events fall), some between.
fn wakeups() -> impl Strategy<Value = Vec<Millis>> {
    prop::collection::vec((0i64..180, prop_oneof![Just(0i64), 1i64..MIN]), 1..40).prop_map(|v| {
        let set: BTreeSet<Millis> = v.into_iter().map(|(m, off)| T0 + m * MIN + off).collect();
        set.into_iter().collect()
    })
}

/// Everything returned by planning at each of `times`, each window starting at the last.
fn sweep(
    policy: &EscalationPolicy,
    history: &AlertHistory,
    times: &[Millis],
) -> Vec<(Millis, Plan)> {
    let mut since = None;
    times
        .iter()
        .map(|&now| {
            let p = plan(policy, history, since, now);
            since = Some(now);
            (now, p)
        })
        .collect()
}

/// The prompt engine: plan at creation, then at every next-due time and every change.
fn prompt_times(policy: &EscalationPolicy, history: &AlertHistory, until: Millis) -> Vec<Millis> {
    let mut times = vec![T0];
    let (mut since, mut now) = (None, T0);
    loop {
        let p = plan(policy, history, since, now);
        let change = history
            .events()
            .iter()
            .map(AlertEvent::at)
            .find(|t| *t > now);
        let wake = [p.next_due, change].into_iter().flatten().min();
        match wake {
            Some(t) if t <= until => {
                times.push(t);
                since = Some(now);
                now = t;
            }
            _ => return times,
        }
    }
}

fn keys(plans: &[(Millis, Plan)]) -> Vec<StepKey> {
    plans
        .iter()
        .flat_map(|(_, p)| p.due.iter().map(|s| s.key))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_key_once_next_due_ahead_nothing_after_close(
        policy in policy(), history in history(), times in wakeups()
    ) {
        let plans = sweep(&policy, &history, &times);
        let mut seen = HashSet::new();
        let mut effects = HashSet::new();
        let mut since = None;
        for (now, p) in &plans {
            for s in &p.due {
                prop_assert!(seen.insert(s.key), "{} returned twice", s.key);
                prop_assert!(s.due_at <= *now && since.is_none_or(|x| s.due_at > x));
                if let Some(closed) = history.closed_at() {
                    prop_assert!(s.due_at < closed, "{} due at or after the close", s.key);
                }
            }
            for e in &p.effects {
                prop_assert!(effects.insert(*e), "{e:?} returned twice");
            }
            if let Some(next) = p.next_due {
                prop_assert!(next > *now);
            }
            if history.closed_at().is_some_and(|c| c <= *now) {
                prop_assert!(p.due.is_empty() && p.effects.is_empty() && p.next_due.is_none());
            }
            since = Some(*now);
        }
    }

    /// Planning again at next-due (with nothing new having happened) finds something due
    /// exactly there, and nothing a millisecond earlier.
    #[test]
    fn next_due_is_exact(policy in policy(), history in history(), now_min in 0i64..180) {
        let now = T0 + now_min * MIN;
        let known = history.as_of(now);
        if let Some(next) = plan(&policy, &known, None, now).next_due {
            let at_next = plan(&policy, &known, Some(now), next);
            prop_assert!(!at_next.due.is_empty() || !at_next.effects.is_empty());
            prop_assert!(at_next.due.iter().all(|s| s.due_at == next));
            let before = plan(&policy, &known, Some(now), next - 1);
            prop_assert!(before.due.is_empty() && before.effects.is_empty());
            prop_assert_eq!(before.next_due, Some(next));
        }
    }

    /// However the engine's wake-ups fall, it sends only what a prompt engine sends; with no
    /// changes to the alert, exactly that.
    #[test]
    fn late_engine_sends_a_subset_of_a_prompt_one(
        policy in policy(), history in history(), times in wakeups()
    ) {
        let until = *times.last().unwrap_or(&T0);
        let prompt: HashSet<StepKey> =
            keys(&sweep(&policy, &history, &prompt_times(&policy, &history, until))).into_iter().collect();
        let late: HashSet<StepKey> = keys(&sweep(&policy, &history, &times)).into_iter().collect();
        prop_assert!(late.is_subset(&prompt), "late only: {:?}", late.difference(&prompt).collect::<Vec<_>>());
        let quiet = AlertHistory::new(T0);
        let prompt: HashSet<StepKey> =
            keys(&sweep(&policy, &quiet, &prompt_times(&policy, &quiet, until))).into_iter().collect();
        let late: HashSet<StepKey> = keys(&sweep(&policy, &quiet, &times)).into_iter().collect();
        prop_assert_eq!(late, prompt);
    }
}
