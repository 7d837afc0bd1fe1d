//! Who a rule's recipient means at an instant. The engine answers the questions (from schedules
//! and teams in the store); the rules for combining the answers live here.

use serde::{Deserialize, Serialize};

use super::policy::{EscalationRule, NotifyType, RecipientKind};
use crate::clock::Millis;

pub type UserId = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TeamRole {
    Admin,
    User,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TeamMember {
    pub user: UserId,
    pub role: TeamRole,
}

/// The questions escalation asks about schedules and teams. Answers are in a stable order
/// (rotation order, member order), so resolution is deterministic.
pub trait Directory {
    /// Everyone on call in the schedule at `at`.
    fn on_call(&self, schedule_id: &str, at: Millis) -> Vec<UserId>;
    /// Who takes over at the next change of the schedule's on-call set after `at`.
    fn next_on_call(&self, schedule_id: &str, at: Millis) -> Vec<UserId>;
    /// Who was on call before the last change of the on-call set at or before `at`.
    fn previous_on_call(&self, schedule_id: &str, at: Millis) -> Vec<UserId>;
    fn team_members(&self, team_id: &str) -> Vec<TeamMember>;
    /// Whom the team's own routing notifies for this alert at `at` (OpsGenie: a team recipient
    /// with `default` goes through the team's routing rules), typically the on-call of the
    /// team's schedule.
    fn team_default(&self, team_id: &str, at: Millis) -> Vec<UserId>;
}

/// The users a rule notifies at `at`, each once, in the directory's order. `seed` makes
/// `random` deterministic: pass something unique to the step, such as the alert id and the
/// step key, so a retry picks the same member and the next repeat may pick another.
pub fn resolve(
    rule: &EscalationRule,
    directory: &dyn Directory,
    at: Millis,
    seed: &str,
) -> Vec<UserId> {
    let id = rule.recipient.id.as_str();
    let users = match (rule.recipient.kind, rule.notify_type) {
        (RecipientKind::User, _) => vec![id.to_string()],
        (RecipientKind::Schedule, NotifyType::Next) => directory.next_on_call(id, at),
        (RecipientKind::Schedule, NotifyType::Previous) => directory.previous_on_call(id, at),
        (RecipientKind::Schedule, _) => directory.on_call(id, at),
        (RecipientKind::Team, NotifyType::Default) => directory.team_default(id, at),
        (RecipientKind::Team, notify_type) => {
            let members = directory.team_members(id);
            let with_role = |role: TeamRole| {
                members
                    .iter()
                    .filter(|m| m.role == role)
                    .map(|m| m.user.clone())
                    .collect()
            };
            match notify_type {
                NotifyType::Admins => with_role(TeamRole::Admin),
                NotifyType::Users => with_role(TeamRole::User),
                NotifyType::Random if !members.is_empty() => {
                    let pick = fnv1a(seed.as_bytes()) % members.len() as u64;
                    vec![members[pick as usize].user.clone()]
                }
                NotifyType::Random => Vec::new(),
                _ => members.into_iter().map(|m| m.user).collect(),
            }
        }
    };
    let mut seen = std::collections::HashSet::new();
    users
        .into_iter()
        .filter(|u| seen.insert(u.clone()))
        .collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
pub(crate) mod fake {
    //! A directory made of fixed answers, for tests.

    use super::*;
    use std::collections::HashMap;

    type Shifts = [(Millis, Vec<UserId>)];

    #[derive(Default)]
    pub struct FakeDirectory {
        /// schedule → (from, users) in time order.
        pub shifts: HashMap<String, Vec<(Millis, Vec<UserId>)>>,
        pub teams: HashMap<String, Vec<TeamMember>>,
    }

    impl FakeDirectory {
        fn shift_index(&self, schedule: &str, at: Millis) -> Option<(usize, &Shifts)> {
            let shifts = self.shifts.get(schedule)?;
            let i = shifts
                .partition_point(|(from, _)| *from <= at)
                .checked_sub(1)?;
            Some((i, shifts))
        }
    }

    impl Directory for FakeDirectory {
        fn on_call(&self, schedule_id: &str, at: Millis) -> Vec<UserId> {
            self.shift_index(schedule_id, at)
                .map(|(i, s)| s[i].1.clone())
                .unwrap_or_default()
        }
        fn next_on_call(&self, schedule_id: &str, at: Millis) -> Vec<UserId> {
            self.shift_index(schedule_id, at)
                .and_then(|(i, s)| s.get(i + 1).map(|x| x.1.clone()))
                .unwrap_or_default()
        }
        fn previous_on_call(&self, schedule_id: &str, at: Millis) -> Vec<UserId> {
            self.shift_index(schedule_id, at)
                .and_then(|(i, s)| i.checked_sub(1).map(|p| s[p].1.clone()))
                .unwrap_or_default()
        }
        fn team_members(&self, team_id: &str) -> Vec<TeamMember> {
            self.teams.get(team_id).cloned().unwrap_or_default()
        }
        fn team_default(&self, team_id: &str, at: Millis) -> Vec<UserId> {
            self.on_call(&format!("{team_id}_schedule"), at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeDirectory;
    use super::*;
    use crate::escalation::policy::{Condition, Recipient};

    fn directory() -> FakeDirectory {
        let mut d = FakeDirectory::default();
        d.shifts.insert(
            "primary".into(),
            vec![
                (0, vec!["ann".into()]),
                (100, vec!["bob".into(), "bob".into()]),
                (200, vec!["cat".into()]),
            ],
        );
        d.shifts
            .insert("sre_schedule".into(), vec![(0, vec!["dan".into()])]);
        let member = |u: &str, role| TeamMember {
            user: u.into(),
            role,
        };
        d.teams.insert(
            "sre".into(),
            vec![
                member("dan", TeamRole::Admin),
                member("eve", TeamRole::User),
                member("fay", TeamRole::User),
            ],
        );
        d
    }

    fn rule(notify_type: NotifyType, recipient: Recipient) -> EscalationRule {
        EscalationRule {
            condition: Condition::IfNotAcked,
            notify_type,
            delay: Default::default(),
            recipient,
        }
    }

    #[test]
    fn schedules_resolve_to_current_next_and_previous_on_call() {
        let d = directory();
        let s = Recipient::schedule("primary");
        let at = |t| resolve(&rule(NotifyType::Default, s.clone()), &d, t, "");
        assert_eq!(at(150), ["bob"], "each user once");
        assert_eq!(
            resolve(&rule(NotifyType::Next, s.clone()), &d, 150, ""),
            ["cat"]
        );
        assert_eq!(
            resolve(&rule(NotifyType::Previous, s.clone()), &d, 150, ""),
            ["ann"]
        );
        assert!(resolve(
            &rule(NotifyType::Default, Recipient::schedule("gone")),
            &d,
            1,
            ""
        )
        .is_empty());
    }

    #[test]
    fn teams_resolve_by_role_routing_or_one_member() {
        let d = directory();
        let t = Recipient::team("sre");
        let r = |n| resolve(&rule(n, t.clone()), &d, 0, "alert-1/0.0.2");
        assert_eq!(r(NotifyType::All), ["dan", "eve", "fay"]);
        assert_eq!(r(NotifyType::Admins), ["dan"]);
        assert_eq!(r(NotifyType::Users), ["eve", "fay"]);
        assert_eq!(r(NotifyType::Default), ["dan"]);
        let picked = r(NotifyType::Random);
        assert_eq!(picked.len(), 1);
        assert_eq!(picked, r(NotifyType::Random), "same seed, same member");
        assert_eq!(
            resolve(
                &rule(NotifyType::Default, Recipient::user("zoe")),
                &d,
                0,
                ""
            ),
            ["zoe"]
        );
    }
}
