//! Notification stories in minutes after the page, driven like the engine drives the planner.

use super::*;
use crate::alert::Priority;
use crate::clock::Millis;
use crate::escalation::{AlertEvent, AlertHistory};

const T0: Millis = 1_780_000_000_000;
const MIN: Millis = 60_000;

fn at(minutes: i64) -> Millis {
    T0 + minutes * MIN
}

/// Alice: push now, SMS after 1 minute, voice after 3 minutes for P1/P2 (looping every 5
/// minutes after the last step when `looping`); e-mail only for the rest.
fn alice(looping: bool) -> NotificationProfile {
    let loop_after = if looping {
        "loopAfter: 5m"
    } else {
        "enabled: true"
    };
    serde_yaml::from_str(&format!(
        "
contacts:
  - {{id: push, method: mobile, to: alice}}
  - {{id: phone, method: sms, to: '+491701234567'}}
  - {{id: call, method: voice, to: '+491701234567'}}
  - {{id: mail, method: email, to: alice@example.com}}
rules:
  - name: urgent
    criteria: {{priorities: [P1, P2]}}
    steps:
      - {{contact: push}}
      - {{sendAfter: 1m, contact: phone}}
      - {{sendAfter: 3m, contact: call}}
    {loop_after}
  - name: the rest
    steps: [{{contact: mail}}]
"
    ))
    .expect("valid profile")
}

fn page(priority: Priority, paged_at: Millis) -> Page<'static> {
    Page {
        user: "alice",
        priority,
        tags: &[],
        paged_at,
    }
}

fn history(events: &[AlertEvent]) -> AlertHistory {
    AlertHistory::from_events(T0, events.iter().copied()).expect("valid history")
}

/// Plans at the page, then at every next-due time and every change, until `horizon`.
fn drive(
    profile: &NotificationProfile,
    page: &Page<'_>,
    history: &AlertHistory,
    horizon: i64,
) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let (mut since, mut now) = (None, page.paged_at);
    loop {
        let p = plan(profile, page, history, since, now);
        for n in &p.due {
            out.push((
                (n.due_at - T0) / MIN,
                format!("{} {}", n.contact.id(), n.key),
            ));
        }
        let change = history
            .events()
            .iter()
            .map(AlertEvent::at)
            .find(|t| *t > now);
        match [p.next_due, change].into_iter().flatten().min() {
            Some(t) if t <= at(horizon) => {
                since = Some(now);
                now = t;
            }
            _ => return out,
        }
    }
}

fn expect(list: &[(i64, &str)]) -> Vec<(i64, String)> {
    list.iter().map(|(m, s)| (*m, s.to_string())).collect()
}

#[test]
fn push_now_sms_after_a_minute_voice_after_three() {
    let fired = drive(
        &alice(false),
        &page(Priority::P1, at(0)),
        &history(&[]),
        120,
    );
    assert_eq!(
        fired,
        expect(&[
            (0, "push alice/0/0/0"),
            (1, "phone alice/0/1/0"),
            (3, "call alice/0/2/0")
        ])
    );
}

#[test]
fn ack_stops_the_rest() {
    let h = history(&[AlertEvent::Acknowledged { at: at(2) }]);
    let fired = drive(&alice(true), &page(Priority::P1, at(0)), &h, 120);
    assert_eq!(
        fired,
        expect(&[(0, "push alice/0/0/0"), (1, "phone alice/0/1/0")])
    );
    let p = plan(
        &alice(true),
        &page(Priority::P1, at(0)),
        &h,
        Some(at(1)),
        at(2),
    );
    assert!(p.due.is_empty() && p.next_due.is_none());
}

#[test]
fn loops_until_answered() {
    let h = history(&[AlertEvent::Closed { at: at(12) }]);
    let fired = drive(&alice(true), &page(Priority::P2, at(0)), &h, 120);
    // A loop is the last step (3m) plus loopAfter (5m): 8 minutes.
    assert_eq!(
        fired,
        expect(&[
            (0, "push alice/0/0/0"),
            (1, "phone alice/0/1/0"),
            (3, "call alice/0/2/0"),
            (8, "push alice/0/0/1"),
            (9, "phone alice/0/1/1"),
            (11, "call alice/0/2/1"),
        ])
    );
}

#[test]
fn other_priorities_take_the_next_matching_rule() {
    let fired = drive(&alice(true), &page(Priority::P4, at(2)), &history(&[]), 120);
    assert_eq!(fired, expect(&[(2, "mail alice/1/0/0")]));
}

#[test]
fn a_user_without_rules_gets_every_contact_method_at_once() {
    let profile: NotificationProfile = serde_yaml::from_str(
        "contacts: [{id: push, method: mobile, to: bob}, {id: hook, method: webhook, to: 'https://x.example/h', enabled: false}, {id: mail, method: email, to: bob@example.com}]",
    )
    .expect("valid");
    let fired = drive(&profile, &page(Priority::P3, at(0)), &history(&[]), 120);
    assert_eq!(
        fired,
        expect(&[(0, "push alice/all/0/0"), (0, "mail alice/all/2/0")])
    );
}

#[test]
fn a_page_on_an_acknowledged_alert_runs_once_and_on_a_snoozed_one_not_at_all() {
    let h = history(&[AlertEvent::Acknowledged { at: at(0) }]);
    let fired = drive(&alice(true), &page(Priority::P1, at(5)), &h, 120);
    assert_eq!(fired.len(), 3, "one pass, no loop: {fired:?}");
    let h = history(&[AlertEvent::Snoozed {
        at: at(0),
        until: at(30),
    }]);
    assert!(drive(&alice(true), &page(Priority::P1, at(5)), &h, 120).is_empty());
}

#[test]
fn unack_ends_the_page_because_the_escalation_pages_anew() {
    let h = history(&[
        AlertEvent::Acknowledged { at: at(0) },
        AlertEvent::Unacknowledged { at: at(2) },
    ]);
    let fired = drive(&alice(true), &page(Priority::P1, at(1)), &h, 120);
    assert_eq!(fired, expect(&[(1, "push alice/0/0/0")]));
}

#[test]
fn after_a_gap_each_step_is_sent_once_for_its_latest_loop() {
    let p = plan(
        &alice(true),
        &page(Priority::P1, at(0)),
        &history(&[]),
        Some(at(0)),
        at(20),
    );
    let sent: Vec<(i64, String)> = p
        .due
        .iter()
        .map(|n| ((n.due_at - T0) / MIN, n.key.to_string()))
        .collect();
    assert_eq!(
        sent,
        expect(&[
            (16, "alice/0/0/2"),
            (17, "alice/0/1/2"),
            (19, "alice/0/2/2")
        ])
    );
    assert_eq!(p.next_due, Some(at(24)));
}
