//! The alert state machine: what each action does to an alert and what it writes to the
//! timeline. Storage loads the alert, calls [`apply`], and writes back the result.

use crate::alert::{limits, merge_tags, truncate_chars, Priority, ResponderKind};
use crate::clock::Millis;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Responder {
    pub kind: ResponderKind,
    pub id: String,
    /// Team or schedule name, or username; kept so output can show it without a lookup.
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Status {
        if s == "closed" {
            Status::Closed
        } else {
            Status::Open
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: String,
    pub tiny_id: i64,
    pub alias: String,
    pub message: String,
    pub description: String,
    pub status: Status,
    pub acknowledged: bool,
    pub is_seen: bool,
    pub snoozed: bool,
    pub snoozed_until: Option<Millis>,
    pub count: i64,
    pub priority: Priority,
    pub source: String,
    pub owner: String,
    pub entity: String,
    pub tags: Vec<String>,
    pub details: BTreeMap<String, String>,
    pub actions: Vec<String>,
    pub responders: Vec<Responder>,
    pub visible_to: Vec<Responder>,
    pub integration_id: String,
    pub integration_name: String,
    pub integration_type: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub last_occurred_at: Millis,
    /// Milliseconds from creation to the first acknowledgement / close.
    pub ack_time: Option<Millis>,
    pub close_time: Option<Millis>,
    pub acknowledged_by: Option<String>,
    pub closed_by: Option<String>,
}

impl Alert {
    /// Teams that may see this alert: responder teams and `visibleTo` teams.
    pub fn team_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for r in self.responders.iter().chain(&self.visible_to) {
            if r.kind == ResponderKind::Team && !ids.contains(&r.id) {
                ids.push(r.id.clone());
            }
        }
        ids
    }
}

/// Who did something, as the timeline shows it: `via API[prom] by alice`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user named in the request (`user` field), or the integration name.
    pub user: String,
    /// Where it came from: `API`, `Alertmanager`, `Web`, …
    pub via: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Close,
    Acknowledge,
    Unacknowledge,
    Snooze {
        end_time: Millis,
    },
    /// Snooze ended (the durable timer fired).
    Wake,
    Escalate {
        to: Responder,
    },
    Assign {
        owner: String,
    },
    AddResponder {
        responder: Responder,
    },
    AddTeam {
        team: Responder,
    },
    ExecuteAction {
        action: String,
    },
    AddNote,
    AddTags {
        tags: Vec<String>,
    },
    RemoveTags {
        tags: Vec<String>,
    },
    AddDetails {
        details: BTreeMap<String, String>,
    },
    RemoveDetails {
        keys: Vec<String>,
    },
    UpdateMessage {
        message: String,
    },
    UpdateDescription {
        description: String,
    },
    UpdatePriority {
        priority: Priority,
    },
    Delete,
}

impl Action {
    /// OpsGenie's name for the action, as request status reports it.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Close => "Close",
            Action::Acknowledge => "Acknowledge",
            Action::Unacknowledge => "UnAcknowledge",
            Action::Snooze { .. } => "Snooze",
            Action::Wake => "Snooze Ended",
            Action::Escalate { .. } => "Escalate",
            Action::Assign { .. } => "Assign Ownership",
            Action::AddResponder { .. } => "Add Responder",
            Action::AddTeam { .. } => "Add Team",
            Action::ExecuteAction { .. } => "Execute Custom Action",
            Action::AddNote => "Add Note",
            Action::AddTags { .. } => "Add Tags",
            Action::RemoveTags { .. } => "Remove Tags",
            Action::AddDetails { .. } => "Add Details",
            Action::RemoveDetails { .. } => "Remove Details",
            Action::UpdateMessage { .. } => "Update Message",
            Action::UpdateDescription { .. } => "Update Description",
            Action::UpdatePriority { .. } => "Update Priority",
            Action::Delete => "Delete",
        }
    }
}

/// Why an action did nothing. Recorded as the request's status; the HTTP answer is still 202.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// A line for the alert's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub kind: &'static str,
    pub text: String,
}

fn line(kind: &'static str, text: String) -> LogLine {
    LogLine { kind, text }
}

/// Applies an action at `now`. On success the alert is changed and the timeline lines to
/// append are returned; on refusal nothing changed.
pub fn apply(
    alert: &mut Alert,
    action: &Action,
    actor: &Actor,
    now: Millis,
) -> Result<Vec<LogLine>, Refused> {
    let by = format!("via {}[{}] by {}", actor.via, actor.source, actor.user);
    let open = alert.status == Status::Open;
    let need_open = |what: &str| {
        if open {
            Ok(())
        } else {
            Err(Refused(format!("Alert is closed; cannot {what}")))
        }
    };
    let out = match action {
        Action::Close => {
            if !open {
                return Err(Refused("Alert is already closed".into()));
            }
            alert.status = Status::Closed;
            alert.snoozed = false;
            alert.snoozed_until = None;
            alert.close_time = Some(now - alert.created_at);
            alert.closed_by = Some(actor.user.clone());
            vec![line("system", format!("Alert closed {by}"))]
        }
        Action::Acknowledge => {
            need_open("acknowledge")?;
            if alert.acknowledged {
                return Err(Refused("Alert is already acknowledged".into()));
            }
            alert.acknowledged = true;
            alert.is_seen = true;
            if alert.ack_time.is_none() {
                alert.ack_time = Some(now - alert.created_at);
                alert.acknowledged_by = Some(actor.user.clone());
            }
            vec![line("system", format!("Alert acknowledged {by}"))]
        }
        Action::Unacknowledge => {
            need_open("unacknowledge")?;
            if !alert.acknowledged {
                return Err(Refused("Alert is not acknowledged".into()));
            }
            alert.acknowledged = false;
            vec![line("system", format!("Alert unacknowledged {by}"))]
        }
        Action::Snooze { end_time } => {
            need_open("snooze")?;
            if *end_time <= now {
                return Err(Refused("Snooze end time must be in the future".into()));
            }
            alert.snoozed = true;
            alert.snoozed_until = Some(*end_time);
            vec![line(
                "system",
                format!(
                    "Alert snoozed until {} {by}",
                    crate::time::format_iso(*end_time)
                ),
            )]
        }
        Action::Wake => {
            if !alert.snoozed {
                // The timer outlived its snooze (e.g. the alert was closed); just clear it.
                alert.snoozed_until = None;
                return Ok(vec![]);
            }
            alert.snoozed = false;
            alert.snoozed_until = None;
            // An acknowledged alert that was snoozed comes back unacknowledged, so that it is
            // looked at again (OpsGenie re-notifies at snooze end).
            alert.acknowledged = false;
            vec![line(
                "system",
                "Snooze ended; alert is active again".to_string(),
            )]
        }
        Action::Escalate { to } => {
            need_open("escalate")?;
            add_responder(alert, to);
            vec![line(
                "system",
                format!("Alert escalated to {} {by}", to.name),
            )]
        }
        Action::Assign { owner } => {
            need_open("assign")?;
            alert.owner = owner.clone();
            vec![line(
                "system",
                format!("Alert ownership assigned to {owner} {by}"),
            )]
        }
        Action::AddResponder { responder } | Action::AddTeam { team: responder } => {
            need_open("add a responder")?;
            if !add_responder(alert, responder) {
                return Err(Refused(format!(
                    "{} is already a responder",
                    responder.name
                )));
            }
            vec![line(
                "system",
                format!(
                    "{} {} added as responder {by}",
                    responder.kind.as_str(),
                    responder.name
                ),
            )]
        }
        Action::ExecuteAction { action: a } => {
            if !alert.actions.iter().any(|x| x == a) {
                return Err(Refused(format!("Alert has no action named {a:?}")));
            }
            vec![line("system", format!("Action {a:?} executed {by}"))]
        }
        Action::AddNote => vec![line("note", format!("Note added {by}"))],
        Action::AddTags { tags } => {
            merge_tags(&mut alert.tags, tags);
            alert.tags.truncate(limits::TAGS);
            vec![line(
                "system",
                format!("Tags [{}] added {by}", tags.join(", ")),
            )]
        }
        Action::RemoveTags { tags } => {
            alert.tags.retain(|t| !tags.contains(t));
            vec![line(
                "system",
                format!("Tags [{}] removed {by}", tags.join(", ")),
            )]
        }
        Action::AddDetails { details } => {
            for (k, v) in details {
                alert.details.insert(k.clone(), v.clone());
            }
            let keys: Vec<&str> = details.keys().map(|k| k.as_str()).collect();
            vec![line(
                "system",
                format!("Details [{}] added {by}", keys.join(", ")),
            )]
        }
        Action::RemoveDetails { keys } => {
            for k in keys {
                alert.details.remove(k);
            }
            vec![line(
                "system",
                format!("Details [{}] removed {by}", keys.join(", ")),
            )]
        }
        Action::UpdateMessage { message } => {
            if message.trim().is_empty() {
                return Err(Refused("Message can not be empty".into()));
            }
            let message = truncate_chars(message, limits::MESSAGE);
            let old = std::mem::replace(&mut alert.message, message.clone());
            vec![line(
                "system",
                format!("Message updated from {old:?} to {message:?} {by}"),
            )]
        }
        Action::UpdateDescription { description } => {
            alert.description = truncate_chars(description, limits::DESCRIPTION);
            vec![line("system", format!("Description updated {by}"))]
        }
        Action::UpdatePriority { priority } => {
            let old = std::mem::replace(&mut alert.priority, *priority);
            vec![line(
                "system",
                format!("Priority changed from {old} to {priority} {by}"),
            )]
        }
        Action::Delete => vec![line("system", format!("Alert deleted {by}"))],
    };
    alert.updated_at = now;
    Ok(out)
}

fn add_responder(alert: &mut Alert, r: &Responder) -> bool {
    if alert
        .responders
        .iter()
        .any(|x| x.kind == r.kind && x.id == r.id)
    {
        return false;
    }
    alert.responders.push(r.clone());
    true
}

/// What a repeated create (same alias, alert still open) does: count up, nothing else changes.
pub fn occurred_again(alert: &mut Alert, actor: &Actor, now: Millis) -> LogLine {
    alert.count += 1;
    alert.last_occurred_at = now;
    alert.updated_at = now;
    line(
        "system",
        format!(
            "Alert occurred again via {}[{}] (count {}); no notification sent",
            actor.via, actor.source, alert.count
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn alert() -> Alert {
        Alert {
            id: "a1".into(),
            tiny_id: 1,
            alias: "disk".into(),
            message: "disk full".into(),
            description: String::new(),
            status: Status::Open,
            acknowledged: false,
            is_seen: false,
            snoozed: false,
            snoozed_until: None,
            count: 1,
            priority: Priority::P3,
            source: "test".into(),
            owner: String::new(),
            entity: String::new(),
            tags: vec![],
            details: BTreeMap::new(),
            actions: vec!["restart".into()],
            responders: vec![],
            visible_to: vec![],
            integration_id: "i".into(),
            integration_name: "prom".into(),
            integration_type: "API".into(),
            created_at: 1_000,
            updated_at: 1_000,
            last_occurred_at: 1_000,
            ack_time: None,
            close_time: None,
            acknowledged_by: None,
            closed_by: None,
        }
    }

    fn actor() -> Actor {
        Actor {
            user: "alice".into(),
            via: "API".into(),
            source: "prom".into(),
        }
    }

    #[test]
    fn ack_then_close_records_report_times() {
        let mut a = alert();
        apply(&mut a, &Action::Acknowledge, &actor(), 61_000).unwrap();
        assert!(a.acknowledged && a.is_seen);
        assert_eq!(a.ack_time, Some(60_000));
        assert_eq!(a.acknowledged_by.as_deref(), Some("alice"));
        let log = apply(&mut a, &Action::Close, &actor(), 121_000).unwrap();
        assert_eq!(a.status, Status::Closed);
        assert_eq!(a.close_time, Some(120_000));
        assert_eq!(log[0].text, "Alert closed via API[prom] by alice");
        assert_eq!(
            apply(&mut a, &Action::Close, &actor(), 130_000),
            Err(Refused("Alert is already closed".into()))
        );
        assert!(apply(&mut a, &Action::Acknowledge, &actor(), 130_000).is_err());
    }

    #[test]
    fn second_ack_keeps_first_ack_time() {
        let mut a = alert();
        apply(&mut a, &Action::Acknowledge, &actor(), 2_000).unwrap();
        apply(&mut a, &Action::Unacknowledge, &actor(), 3_000).unwrap();
        apply(&mut a, &Action::Acknowledge, &actor(), 9_000).unwrap();
        assert_eq!(a.ack_time, Some(1_000));
    }

    #[test]
    fn snooze_and_wake() {
        let mut a = alert();
        assert!(apply(&mut a, &Action::Snooze { end_time: 500 }, &actor(), 1_000).is_err());
        apply(&mut a, &Action::Snooze { end_time: 5_000 }, &actor(), 1_000).unwrap();
        assert!(a.snoozed);
        assert_eq!(a.snoozed_until, Some(5_000));
        apply(&mut a, &Action::Wake, &actor(), 5_000).unwrap();
        assert!(!a.snoozed && a.snoozed_until.is_none());
    }

    #[test]
    fn tags_details_and_message() {
        let mut a = alert();
        apply(
            &mut a,
            &Action::AddTags {
                tags: vec!["db".into(), "prod".into()],
            },
            &actor(),
            2,
        )
        .unwrap();
        apply(
            &mut a,
            &Action::RemoveTags {
                tags: vec!["db".into()],
            },
            &actor(),
            3,
        )
        .unwrap();
        assert_eq!(a.tags, ["prod"]);
        let mut d = BTreeMap::new();
        d.insert("k".to_string(), "v".to_string());
        apply(&mut a, &Action::AddDetails { details: d }, &actor(), 4).unwrap();
        apply(
            &mut a,
            &Action::RemoveDetails {
                keys: vec!["k".into()],
            },
            &actor(),
            5,
        )
        .unwrap();
        assert!(a.details.is_empty());
        apply(
            &mut a,
            &Action::UpdateMessage {
                message: "x".repeat(200),
            },
            &actor(),
            6,
        )
        .unwrap();
        assert_eq!(a.message.len(), 130);
        assert_eq!(a.updated_at, 6);
    }

    #[test]
    fn responders_are_not_duplicated_and_give_team_ids() {
        let mut a = alert();
        let sre = Responder {
            kind: ResponderKind::Team,
            id: "t1".into(),
            name: "sre".into(),
        };
        apply(
            &mut a,
            &Action::AddResponder {
                responder: sre.clone(),
            },
            &actor(),
            2,
        )
        .unwrap();
        assert!(apply(&mut a, &Action::AddTeam { team: sre }, &actor(), 3).is_err());
        a.visible_to.push(Responder {
            kind: ResponderKind::Team,
            id: "t2".into(),
            name: "ops".into(),
        });
        assert_eq!(a.team_ids(), ["t1", "t2"]);
    }

    #[test]
    fn custom_action_must_exist() {
        let mut a = alert();
        assert!(apply(
            &mut a,
            &Action::ExecuteAction {
                action: "restart".into()
            },
            &actor(),
            2
        )
        .is_ok());
        assert!(apply(
            &mut a,
            &Action::ExecuteAction {
                action: "nope".into()
            },
            &actor(),
            2
        )
        .is_err());
    }

    #[test]
    fn occurred_again_counts_and_keeps_message() {
        let mut a = alert();
        let l = occurred_again(&mut a, &actor(), 9_000);
        assert_eq!(
            (a.count, a.last_occurred_at, a.message.as_str()),
            (2, 9_000, "disk full")
        );
        assert!(l.text.contains("count 2"));
    }
}
