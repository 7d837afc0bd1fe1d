//! Properties of the notification planner on random rules, histories and wake-up times: each
//! key once, next-due ahead and exact, nothing once the page is answered.

use std::collections::{BTreeSet, HashSet};

use proptest::prelude::*;

use super::*;
use crate::alert::Priority;
use crate::clock::Millis;
use crate::duration::Duration;
use crate::escalation::{AlertEvent, AlertHistory};

const T0: Millis = 1_780_000_000_000;
const MIN: Millis = 60_000;
const CONTACTS: [&str; 3] = ["push", "phone", "mail"];

fn profile() -> impl Strategy<Value = NotificationProfile> {
    let step = (0usize..3, 0u64..6, prop::bool::weighted(0.9));
    let rule = (
        prop::collection::vec(step, 1..4),
        prop::option::of(0u64..6),
        prop::collection::vec(0usize..5, 0..3),
    );
    (
        prop::collection::vec(rule, 0..3),
        prop::collection::vec(any::<bool>(), 3),
    )
        .prop_filter_map("valid profile", |(rules, enabled)| {
            let contacts = CONTACTS
                .iter()
                .zip(enabled)
                .map(|(id, enabled)| {
                    let (kind, to) = match *id {
                        "push" => (ContactKind::Mobile, "alice"),
                        "phone" => (ContactKind::Sms, "+491701234567"),
                        _ => (ContactKind::Email, "alice@example.com"),
                    };
                    ContactMethod::new(ContactSpec {
                        id: id.to_string(),
                        kind,
                        to: to.into(),
                        enabled,
                    })
                    .expect("valid contact")
                })
                .collect();
            let priorities = [
                Priority::P1,
                Priority::P2,
                Priority::P3,
                Priority::P4,
                Priority::P5,
            ];
            let rules = rules
                .into_iter()
                .enumerate()
                .map(|(i, (steps, loop_after, prios))| NotificationRule {
                    name: format!("r{i}"),
                    criteria: Criteria {
                        priorities: prios.into_iter().map(|p| priorities[p]).collect(),
                        ..Criteria::default()
                    },
                    steps: steps
                        .into_iter()
                        .map(|(c, after, enabled)| Step {
                            send_after: Duration::from_secs(after * 60),
                            contact: CONTACTS[c].to_string(),
                            enabled,
                        })
                        .collect(),
                    loop_after: loop_after.map(|m| Duration::from_secs(m * 60)),
                    enabled: true,
                })
                .collect();
            NotificationProfile::new(ProfileSpec { contacts, rules }).ok()
        })
}

fn history() -> impl Strategy<Value = AlertHistory> {
    let kind = prop_oneof![
        Just(0u8), // ack
        Just(1u8), // un-ack
        Just(2u8), // snooze
        Just(3u8), // close
    ];
    prop::collection::vec((0i64..20, kind), 0..5).prop_map(|events| {
        let mut h = AlertHistory::new(T0);
        let mut t = T0;
        for (gap, kind) in events {
            t += gap * MIN;
            let e = match kind {
                0 => AlertEvent::Acknowledged { at: t },
                1 => AlertEvent::Unacknowledged { at: t },
                2 => AlertEvent::Snoozed {
                    at: t,
                    until: t + 30 * MIN,
                },
                _ => AlertEvent::Closed { at: t },
            };
            if h.push(e).is_err() {
                break;
            }
        }
        h
    })
}

fn wakeups(from: Millis) -> impl Strategy<Value = Vec<Millis>> {
    prop::collection::vec((0i64..120, prop_oneof![Just(0i64), 1i64..MIN]), 1..40).prop_map(
        move |v| {
            let set: BTreeSet<Millis> =
                v.into_iter().map(|(m, off)| from + m * MIN + off).collect();
            set.into_iter().collect()
        },
    )
}

fn priority() -> impl Strategy<Value = Priority> {
    prop::sample::select(vec![
        Priority::P1,
        Priority::P2,
        Priority::P3,
        Priority::P4,
        Priority::P5,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_key_once_next_due_ahead_nothing_once_answered(
        profile in profile(), history in history(), priority in priority(),
        paged_min in 0i64..30, times in wakeups(T0),
    ) {
        let page = Page { user: "alice", priority, tags: &[], paged_at: T0 + paged_min * MIN };
        let answered = history.events().iter().map(AlertEvent::at).find(|t| *t > page.paged_at);
        let mut seen = HashSet::new();
        let mut since = None;
        for &now in &times {
            let p = plan(&profile, &page, &history, since, now);
            for n in &p.due {
                prop_assert!(seen.insert(n.key.clone()), "{} returned twice", n.key);
                prop_assert!(n.due_at <= now && since.is_none_or(|s| n.due_at > s));
                prop_assert!(n.due_at >= page.paged_at);
                prop_assert!(n.contact.enabled());
                if let Some(a) = answered {
                    prop_assert!(n.due_at < a && now < a, "{} sent after the answer at {a}", n.key);
                }
            }
            if let Some(next) = p.next_due {
                prop_assert!(next > now);
            }
            since = Some(now);
        }
    }

    #[test]
    fn next_due_is_exact(
        profile in profile(), history in history(), priority in priority(),
        paged_min in 0i64..30, now_min in 0i64..120,
    ) {
        let page = Page { user: "alice", priority, tags: &[], paged_at: T0 + paged_min * MIN };
        let now = T0 + now_min * MIN;
        let known = history.as_of(now);
        if let Some(next) = plan(&profile, &page, &known, None, now).next_due {
            let at_next = plan(&profile, &page, &known, Some(now), next);
            prop_assert!(!at_next.due.is_empty());
            prop_assert!(at_next.due.iter().all(|n| n.due_at == next));
            let before = plan(&profile, &page, &known, Some(now), next - 1);
            prop_assert!(before.due.is_empty());
            prop_assert_eq!(before.next_due, Some(next));
        }
    }
}
