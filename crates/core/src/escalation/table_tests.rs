//! The escalation stories people will check: driven like the engine drives the planner (wake at
//! the next due time or when the alert changes) and written in minutes after creation.

use super::*;
use crate::clock::Millis;

const T0: Millis = 1_780_000_000_000;
const MIN: Millis = 60_000;

fn at(minutes: i64) -> Millis {
    T0 + minutes * MIN
}

fn rule(
    condition: Condition,
    delay: &str,
    notify_type: NotifyType,
    recipient: Recipient,
) -> EscalationRule {
    EscalationRule {
        condition,
        notify_type,
        delay: delay.parse().expect("duration"),
        recipient,
    }
}

/// P1: the primary on-call now; no ack in 5 minutes → the backup schedule; 10 minutes → the
/// whole team; then the same twice more, 5 minutes after the last rule each time.
fn classic(repeat: Repeat) -> EscalationPolicy {
    EscalationPolicy::new(EscalationSpec {
        rules: vec![
            rule(
                Condition::IfNotAcked,
                "0",
                NotifyType::Default,
                Recipient::schedule("primary"),
            ),
            rule(
                Condition::IfNotAcked,
                "5m",
                NotifyType::Default,
                Recipient::schedule("backup"),
            ),
            rule(
                Condition::IfNotAcked,
                "10m",
                NotifyType::All,
                Recipient::team("sre"),
            ),
        ],
        repeat: Some(repeat),
    })
    .expect("valid policy")
}

fn twice() -> Repeat {
    Repeat {
        wait_interval: "5m".parse().expect("duration"),
        count: 2,
        reset_recipient_states: false,
        close_alert_after_all: false,
    }
}

fn history(events: &[(i64, Ev)]) -> AlertHistory {
    AlertHistory::from_events(
        T0,
        events.iter().map(|(m, e)| match *e {
            Ev::Ack => AlertEvent::Acknowledged { at: at(*m) },
            Ev::Unack => AlertEvent::Unacknowledged { at: at(*m) },
            Ev::SnoozeUntil(u) => AlertEvent::Snoozed {
                at: at(*m),
                until: at(u),
            },
            Ev::Close => AlertEvent::Closed { at: at(*m) },
        }),
    )
    .expect("valid history")
}

#[derive(Clone, Copy)]
enum Ev {
    Ack,
    Unack,
    SnoozeUntil(i64),
    Close,
}

/// What the engine does: plan at creation, then wake at each next due time and at each change
/// of the alert, passing the previous wake-up as `since`. Returns `(minute, what)` for every
/// step and effect, and whether the escalation had finished by `horizon`.
fn drive(
    policy: &EscalationPolicy,
    history: &AlertHistory,
    horizon: i64,
) -> (Vec<(i64, String)>, bool) {
    let mut out = Vec::new();
    let (mut since, mut now) = (None, T0);
    loop {
        let plan = plan(policy, history, since, now);
        // At one instant, a revert comes before the steps it lets through.
        for e in &plan.effects {
            let what = match e {
                Effect::RevertAcknowledgement { run, cycle, .. } => {
                    format!("revert ack {run}.{cycle}")
                }
                Effect::CloseAlert { .. } => "close alert".to_string(),
            };
            out.push(((e.at() - T0) / MIN, what));
        }
        for s in &plan.due {
            out.push(((s.due_at - T0) / MIN, s.key.to_string()));
        }
        out.sort_by_key(|(m, _)| *m);
        let change = history
            .events()
            .iter()
            .map(AlertEvent::at)
            .find(|t| *t > now);
        let wake = match (plan.next_due, change) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(t) => t,
                None => return (out, true),
            },
        };
        if wake > at(horizon) {
            return (out, plan.is_finished());
        }
        since = Some(now);
        now = wake;
    }
}

fn steps(list: &[(i64, &str)]) -> Vec<(i64, String)> {
    list.iter().map(|(m, s)| (*m, s.to_string())).collect()
}

#[test]
fn unanswered_alert_walks_every_rule_and_every_repeat() {
    let (fired, finished) = drive(&classic(twice()), &history(&[]), 600);
    assert_eq!(
        fired,
        steps(&[
            (0, "0.0.0"),
            (5, "0.0.1"),
            (10, "0.0.2"),
            (15, "0.1.0"),
            (20, "0.1.1"),
            (25, "0.1.2"),
            (30, "0.2.0"),
            (35, "0.2.1"),
            (40, "0.2.2"),
        ])
    );
    assert!(finished);
}

#[test]
fn the_steps_reach_on_call_then_backup_then_the_whole_team() {
    let policy = classic(twice());
    let mut d = FakeDirectory::default();
    d.shifts
        .insert("primary".into(), vec![(T0, vec!["ann".into()])]);
    d.shifts
        .insert("backup".into(), vec![(T0, vec!["bob".into()])]);
    d.teams.insert(
        "sre".into(),
        ["ann", "bob", "cat"]
            .iter()
            .map(|u| TeamMember {
                user: u.to_string(),
                role: TeamRole::User,
            })
            .collect(),
    );
    let h = history(&[]);
    let who = |minute: i64| {
        let p = plan(&policy, &h, Some(at(minute) - 1), at(minute));
        p.due
            .iter()
            .flat_map(|s| resolve(&s.rule, &d, at(minute), &format!("a1/{}", s.key)))
            .collect::<Vec<_>>()
    };
    assert_eq!(who(0), ["ann"]);
    assert_eq!(who(5), ["bob"]);
    assert_eq!(who(10), ["ann", "bob", "cat"]);
    assert!(who(7).is_empty());
}

#[test]
fn ack_at_seven_minutes_stops_everything_after_it() {
    let policy = classic(twice());
    let h = history(&[(7, Ev::Ack)]);
    let (fired, finished) = drive(&policy, &h, 600);
    assert_eq!(fired, steps(&[(0, "0.0.0"), (5, "0.0.1")]));
    assert!(finished);
    let p = plan(&policy, &h, Some(at(5)), at(7));
    assert!(
        p.due.is_empty() && p.is_finished(),
        "nothing left once acknowledged: {p:?}"
    );
}

#[test]
fn ack_and_step_at_the_same_instant_the_ack_wins() {
    let (fired, _) = drive(&classic(twice()), &history(&[(5, Ev::Ack)]), 600);
    assert_eq!(fired, steps(&[(0, "0.0.0")]));
}

#[test]
fn unack_restarts_from_the_beginning_as_a_new_run() {
    let h = history(&[(7, Ev::Ack), (12, Ev::Unack), (13, Ev::Ack)]);
    let (fired, _) = drive(&classic(twice()), &h, 600);
    assert_eq!(fired, steps(&[(0, "0.0.0"), (5, "0.0.1"), (12, "1.0.0")]));

    let h = history(&[(7, Ev::Ack), (12, Ev::Unack)]);
    let (fired, _) = drive(&classic(twice()), &h, 600);
    assert_eq!(
        fired[2..5],
        steps(&[(12, "1.0.0"), (17, "1.0.1"), (22, "1.0.2")])
    );
    assert_eq!(fired.len(), 2 + 9, "a fresh repeat count");
}

#[test]
fn close_stops_everything() {
    let policy = classic(twice());
    let h = history(&[(7, Ev::Close)]);
    let (fired, finished) = drive(&policy, &h, 600);
    assert_eq!(fired, steps(&[(0, "0.0.0"), (5, "0.0.1")]));
    assert!(finished);
    // Even a step that is late when the engine comes back is not sent for a closed alert.
    let p = plan(&policy, &h, Some(at(4)), at(12));
    assert!(p.due.is_empty() && p.next_due.is_none());
}

#[test]
fn snooze_suppresses_then_restarts_at_its_end() {
    let h = history(&[(3, Ev::SnoozeUntil(20))]);
    let (fired, _) = drive(&classic(twice()), &h, 600);
    assert_eq!(
        fired[..4],
        steps(&[(0, "0.0.0"), (20, "1.0.0"), (25, "1.0.1"), (30, "1.0.2")])
    );
    // While snoozed, the next thing due is the snooze's end.
    let p = plan(&classic(twice()), &h, Some(at(0)), at(3));
    assert_eq!(p.next_due, Some(at(20)));
}

#[test]
fn snooze_of_an_acknowledged_alert_pages_again_when_it_ends() {
    let h = history(&[(2, Ev::Ack), (3, Ev::SnoozeUntil(60))]);
    let (fired, _) = drive(&classic(twice()), &h, 65);
    assert_eq!(fired, steps(&[(0, "0.0.0"), (60, "1.0.0"), (65, "1.0.1")]));
}

#[test]
fn if_not_closed_rules_keep_going_after_an_ack() {
    let mut spec: EscalationSpec = classic(twice()).into();
    spec.rules[2].condition = Condition::IfNotClosed;
    let policy = EscalationPolicy::new(spec).expect("valid");
    let (fired, _) = drive(&policy, &history(&[(7, Ev::Ack)]), 600);
    assert_eq!(
        fired,
        steps(&[
            (0, "0.0.0"),
            (5, "0.0.1"),
            (10, "0.0.2"),
            (25, "0.1.2"),
            (40, "0.2.2")
        ])
    );
}

#[test]
fn close_after_all_closes_an_alert_nobody_took() {
    let policy = classic(Repeat {
        close_alert_after_all: true,
        ..twice()
    });
    let (fired, finished) = drive(&policy, &history(&[]), 600);
    // One waitInterval after the last rule of the last repeat.
    assert_eq!(fired.last(), Some(&(45, "close alert".to_string())));
    assert_eq!(fired.len(), 10);
    assert!(finished);
    let p = plan(&policy, &history(&[]), Some(at(44)), at(45));
    assert!(p.closes_alert());

    // Acknowledged under if-not-acked rules only: the alert is someone's; it stays open.
    let (fired, _) = drive(&policy, &history(&[(7, Ev::Ack)]), 600);
    assert!(
        fired.iter().all(|(_, what)| what != "close alert"),
        "{fired:?}"
    );
}

#[test]
fn reset_recipient_states_reverts_the_ack_at_each_repeat() {
    let policy = classic(Repeat {
        reset_recipient_states: true,
        ..twice()
    });
    let (fired, _) = drive(&policy, &history(&[(7, Ev::Ack)]), 600);
    assert_eq!(
        fired,
        steps(&[
            (0, "0.0.0"),
            (5, "0.0.1"),
            (15, "revert ack 0.1"),
            (15, "0.1.0"),
            (20, "0.1.1"),
            (25, "0.1.2"),
            (30, "0.2.0"),
            (35, "0.2.1"),
            (40, "0.2.2"),
        ])
    );
    // Acknowledged again during the repeat: its remaining if-not-acked steps stop.
    let (fired, _) = drive(&policy, &history(&[(7, Ev::Ack), (16, Ev::Ack)]), 600);
    assert_eq!(
        fired.iter().map(|(m, _)| *m).collect::<Vec<_>>(),
        [0, 5, 15, 15, 30, 30, 35, 40]
    );
}

#[test]
fn late_steps_fire_at_once_in_order_unless_answered_meanwhile() {
    let policy = classic(twice());
    // The engine was down from minute 1 to minute 12.
    let p = plan(&policy, &history(&[]), Some(at(1)), at(12));
    let keys: Vec<String> = p.due.iter().map(|s| s.key.to_string()).collect();
    assert_eq!(keys, ["0.0.1", "0.0.2"]);
    assert_eq!(p.next_due, Some(at(15)));
    // The alert was acknowledged at 7 meanwhile: nobody is paged late for it.
    let p = plan(&policy, &history(&[(7, Ev::Ack)]), Some(at(1)), at(12));
    assert!(p.due.is_empty());
}

#[test]
fn a_policy_without_repeat_or_rules_finishes() {
    let policy = EscalationPolicy::new(EscalationSpec {
        rules: vec![rule(
            Condition::IfNotAcked,
            "1m",
            NotifyType::Default,
            Recipient::user("u"),
        )],
        repeat: None,
    })
    .expect("valid");
    let (fired, finished) = drive(&policy, &history(&[]), 600);
    assert_eq!(fired, steps(&[(1, "0.0.0")]));
    assert!(finished);
    let empty = EscalationPolicy::new(EscalationSpec::default()).expect("valid");
    assert!(plan(&empty, &history(&[]), None, T0).is_finished());
}
