//! The escalation worker. Every new alert gets a `route` row due at once; this worker routes
//! it (the alert's responders: a team through its routing rules, an escalation policy, a
//! user, a schedule) into one escalation row per policy, then plans each row with the pure
//! planner (`klaxon_core::escalation::plan`) over the window since its last plan: due steps
//! page the users their recipient means now (a `pages` row each, unique per step and user),
//! effects (revert an acknowledgement at a repeat, close after all repeats) go through the
//! writer, and the row sleeps until the planner's next due time.

use super::directory_cache::cached;
use super::outbox::DEADLINE_MS;
use super::pages::{PageRef, PageRound, Pager};
use super::run_due_loop;
use super::writer::Writer;
use crate::http::opsgenie::schedules::on_call_sets;
use klaxon_core::alert::ResponderKind;
use klaxon_core::clock::Clock;
use klaxon_core::escalation::{
    self, AlertEvent, AlertHistory, Directory, EscalationPolicy, EscalationRule, EscalationSpec,
    NotifyType, Recipient, RecipientKind, TeamMember, UserId,
};
use klaxon_core::lifecycle::{Action, Actor, Alert, Responder, Status};
use klaxon_core::routing::{AlertView, TargetKind, TeamRoutingRule};
use klaxon_store::{
    ActionRequest, ClaimedEscalation, EngineLog, EscalationDone, Handoff, Identifier, Maintenance,
    NewEscalation, NewPage, PolicyRecord, RecipientState, Store, WriteKind, WriteOp,
};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Notify;

const BATCH: i64 = 256;
/// How long a claim holds a row. A process that dies mid-plan leaves it due again after this.
pub const LEASE_MS: i64 = 10_000;

pub struct Escalator {
    pub store: Store,
    pub writer: Writer,
    pub clock: Arc<dyn Clock>,
    /// Plans the first notifications of the pages a round writes, and sends those due at once.
    pub pager: Arc<Pager>,
    /// Wakes the page worker when pages were written with later notifications.
    pub pages_wake: Arc<Notify>,
}

/// What one round loaded, shared by the rows it plans (many alerts of one burst go to the same
/// policy, schedule and users).
#[derive(Default)]
struct Round {
    dir: Loaded,
    pages: PageRound,
    policies: HashMap<String, Option<PolicyRecord>>,
    routing_rules: HashMap<String, Vec<TeamRoutingRule>>,
    /// The directory's version the round read.
    version: Option<i64>,
}

pub async fn run(e: Arc<Escalator>, wake: Arc<Notify>, stop: tokio::sync::watch::Receiver<bool>) {
    let w = e.clone();
    run_due_loop(
        "escalations",
        e.clock.clone(),
        wake,
        stop,
        move |now| {
            let w = w.clone();
            async move { w.work(now).await }
        },
        move || {
            let s = e.store.clone();
            async move { s.next_escalation_due().await }
        },
    )
    .await
}

/// The alert's history as the planner of an escalation that started at `started_at` sees it:
/// its state then (acknowledged, snoozed) and the events since, in order, never going back in
/// time (instants from several processes may disagree by a few milliseconds).
pub fn history_from(started_at: i64, alert: &Alert, events: &[AlertEvent]) -> AlertHistory {
    let mut h = AlertHistory::new(started_at);
    let mut acked = false;
    let mut snooze_until: Option<i64> = None;
    let mut last = started_at;
    for e in events {
        if e.at() < started_at {
            match *e {
                AlertEvent::Acknowledged { .. } => acked = true,
                AlertEvent::Unacknowledged { .. } => acked = false,
                AlertEvent::Snoozed { until, .. } => snooze_until = Some(until),
                AlertEvent::Closed { .. } => {
                    let _ = h.push(AlertEvent::Closed { at: started_at });
                    return h;
                }
            }
            continue;
        }
        if acked {
            let _ = h.push(AlertEvent::Acknowledged { at: started_at });
            acked = false;
        }
        if let Some(until) = snooze_until.take().filter(|u| *u > started_at) {
            let _ = h.push(AlertEvent::Snoozed {
                at: started_at,
                until,
            });
        }
        last = last.max(e.at());
        let e = match *e {
            AlertEvent::Acknowledged { .. } => AlertEvent::Acknowledged { at: last },
            AlertEvent::Unacknowledged { .. } => AlertEvent::Unacknowledged { at: last },
            AlertEvent::Snoozed { until, .. } => AlertEvent::Snoozed { at: last, until },
            AlertEvent::Closed { .. } => AlertEvent::Closed { at: last },
        };
        if h.push(e).is_err() {
            break;
        }
    }
    if acked {
        let _ = h.push(AlertEvent::Acknowledged { at: started_at });
    }
    if let Some(until) = snooze_until.filter(|u| *u > started_at) {
        let _ = h.push(AlertEvent::Snoozed {
            at: started_at,
            until,
        });
    }
    if alert.status == Status::Closed && h.closed_at().is_none() {
        // Closed without a recorded event (e.g. before the engine existed).
        let at = alert.close_time.unwrap_or(alert.updated_at).max(last);
        let _ = h.push(AlertEvent::Closed { at });
    }
    h
}

fn policy_of(rule: EscalationRule) -> EscalationPolicy {
    EscalationPolicy::new(EscalationSpec {
        rules: vec![rule],
        repeat: None,
    })
    .expect("a single rule with no delay is a valid policy")
}

fn notify_now(recipient: Recipient, notify_type: NotifyType) -> EscalationPolicy {
    policy_of(EscalationRule {
        condition: Default::default(),
        notify_type,
        delay: Default::default(),
        recipient,
    })
}

/// Answers the planner's questions from values loaded before planning.
#[derive(Default)]
struct Loaded {
    /// schedule id → [now, next, previous]
    schedules: HashMap<String, [Vec<UserId>; 3]>,
    teams: HashMap<String, Vec<TeamMember>>,
    /// team id → users its own routing notifies (on call in the team's schedules, or everyone)
    team_default: HashMap<String, Vec<UserId>>,
    usernames: HashMap<String, String>,
    /// The directory's version the round read.
    version: Option<i64>,
}

impl Directory for Loaded {
    fn on_call(&self, schedule_id: &str, _at: i64) -> Vec<UserId> {
        self.schedules
            .get(schedule_id)
            .map(|s| s[0].clone())
            .unwrap_or_default()
    }
    fn next_on_call(&self, schedule_id: &str, _at: i64) -> Vec<UserId> {
        self.schedules
            .get(schedule_id)
            .map(|s| s[1].clone())
            .unwrap_or_default()
    }
    fn previous_on_call(&self, schedule_id: &str, _at: i64) -> Vec<UserId> {
        self.schedules
            .get(schedule_id)
            .map(|s| s[2].clone())
            .unwrap_or_default()
    }
    fn team_members(&self, team_id: &str) -> Vec<TeamMember> {
        self.teams.get(team_id).cloned().unwrap_or_default()
    }
    fn team_default(&self, team_id: &str, _at: i64) -> Vec<UserId> {
        self.team_default.get(team_id).cloned().unwrap_or_default()
    }
}

impl Escalator {
    pub async fn work(&self, now: i64) -> anyhow::Result<()> {
        loop {
            let token = uuid::Uuid::now_v7().to_string();
            let claimed = self
                .store
                .claim_escalations(now, now + LEASE_MS, &token, BATCH)
                .await?;
            if claimed.is_empty() {
                return Ok(());
            }
            let n = claimed.len();
            let mut ids: Vec<String> = claimed.iter().map(|c| c.alert_id.clone()).collect();
            ids.sort();
            ids.dedup();
            // Independent reads at once (on PostgreSQL, on several connections).
            let (alerts, maintenance, version) = tokio::try_join!(
                self.store.alert_contexts(&ids),
                self.store.active_maintenance(now),
                self.store.directory_version()
            )?;
            self.pager.directory.observe(version);
            let alerts: HashMap<String, (Alert, Vec<AlertEvent>)> = alerts
                .into_iter()
                .map(|(a, e)| (a.id.clone(), (a, e)))
                .collect();
            let mut round = Round::default();
            (round.version, round.dir.version, round.pages.version) =
                (Some(version), Some(version), Some(version));
            let mut done = Vec::with_capacity(n);
            let mut effects = Vec::new();
            for c in &claimed {
                let Some((alert, events)) = alerts.get(&c.alert_id) else {
                    done.push(finished(c, now));
                    continue;
                };
                let mut d = match &c.policy {
                    None => self.route(c, alert, now, &mut round).await?,
                    Some(json) => {
                        self.plan(
                            c,
                            json,
                            alert,
                            events,
                            &maintenance,
                            now,
                            &mut effects,
                            &mut round.dir,
                        )
                        .await?
                    }
                };
                // The escalations just routed are planned at once: their first steps page in
                // this round, not the next.
                for e in &mut d.new_escalations {
                    let started = ClaimedEscalation {
                        id: e.id.clone(),
                        alert_id: e.alert_id.clone(),
                        origin: e.origin.clone(),
                        policy_id: e.policy_id.clone(),
                        policy_name: e.policy_name.clone(),
                        policy: Some(e.policy.clone()),
                        started_at: e.started_at,
                        planned_to: None,
                        token: String::new(),
                    };
                    let first = self
                        .plan(
                            &started,
                            &e.policy,
                            alert,
                            events,
                            &maintenance,
                            now,
                            &mut effects,
                            &mut round.dir,
                        )
                        .await?;
                    (e.planned_to, e.due_at) = (Some(first.planned_to), first.due_at);
                    d.pages.extend(first.pages);
                    (e.logs, e.recipients) = (first.logs, first.recipients);
                }
                // So are the pages' notification rules: what is due at once is sent straight
                // after the commit.
                for p in &mut d.pages {
                    let page = PageRef {
                        escalation_id: &p.escalation_id,
                        step_key: &p.step_key,
                        user_id: &p.user_id,
                        username: &p.username,
                        paged_at: p.paged_at,
                        planned_to: None,
                    };
                    let planned = self
                        .pager
                        .plan(&page, alert, events, &mut round.pages, now)
                        .await?;
                    p.planned_to = Some(now);
                    p.due_at = planned.due_at;
                    p.deliveries = planned.deliveries;
                    p.logs = planned.logs;
                }
                done.push(d);
            }
            let later = done
                .iter()
                .flat_map(|d| &d.pages)
                .any(|p| p.due_at.is_some());
            let handoff = Handoff {
                token: &token,
                // From the clock now, not the round's start: `work` loops over batches.
                deadline: self.clock.now_ms() + DEADLINE_MS,
            };
            let handed_off = self
                .store
                .finish_escalations(&done, now, Some(handoff))
                .await?;
            self.pager.outbox.dispatch(handed_off).await;
            for (alert_id, action) in effects {
                self.apply_effect(&alert_id, action, now).await;
            }
            if later {
                self.pages_wake.notify_one();
            }
            if (n as i64) < BATCH {
                return Ok(());
            }
        }
    }

    async fn apply_effect(&self, alert_id: &str, action: Action, now: i64) {
        let op = WriteOp {
            request_id: uuid::Uuid::now_v7().to_string(),
            integration_id: String::new(),
            integration_name: "Escalation".into(),
            integration_type: "Escalation".into(),
            team_id: None,
            actor: Actor {
                user: "System".into(),
                via: "Escalation".into(),
                source: "escalation".into(),
            },
            now,
            kind: WriteKind::Act {
                target: Identifier::Id(alert_id.to_string()),
                action: ActionRequest::Ready(action),
                note: None,
            },
        };
        if let Err(e) = self.writer.write(op).await {
            tracing::warn!(error = %e, alert_id, "escalation effect not applied");
        }
    }

    /// Turns a routing row into escalation rows, one per policy its responders lead to.
    async fn route(
        &self,
        c: &ClaimedEscalation,
        alert: &Alert,
        now: i64,
        round: &mut Round,
    ) -> anyhow::Result<EscalationDone> {
        let mut d = finished(c, now);
        let all = c.origin == "route" || c.origin.starts_with("renotify:");
        let targets: Vec<Responder> = if all {
            alert.responders.clone()
        } else {
            // responder:<kind>:<id>:<unique>
            let mut parts = c.origin.splitn(4, ':');
            let (_, kind, id) = (parts.next(), parts.next(), parts.next());
            match (kind.and_then(ResponderKind::parse), id) {
                (Some(kind), Some(id)) => vec![alert
                    .responders
                    .iter()
                    .find(|r| r.kind == kind && r.id == id)
                    .cloned()
                    .unwrap_or(Responder {
                        kind,
                        id: id.to_string(),
                        name: id.to_string(),
                    })],
                _ => vec![],
            }
        };
        if targets.is_empty() && all {
            d.logs.push(log(
                alert,
                "No responders: nobody is notified for this alert".into(),
            ));
        }
        let prefix = if c.origin == "route" {
            String::new()
        } else {
            format!("{}/", c.origin)
        };
        let view = AlertView {
            message: &alert.message,
            alias: &alert.alias,
            description: &alert.description,
            source: &alert.source,
            entity: &alert.entity,
            tags: &alert.tags,
            actions: &alert.actions,
            details: &alert.details,
            priority: alert.priority,
        };
        for r in targets {
            let mut add = |origin: String, id: String, name: String, policy: EscalationPolicy| {
                d.new_escalations.push(NewEscalation {
                    id: uuid::Uuid::now_v7().to_string(),
                    alert_id: alert.id.clone(),
                    origin: format!("{prefix}{origin}"),
                    policy_id: id,
                    policy_name: name,
                    policy: serde_json::to_string(&policy).unwrap_or_default(),
                    started_at: c.started_at,
                    planned_to: None,
                    due_at: Some(now),
                    logs: vec![],
                    recipients: vec![],
                });
            };
            match r.kind {
                ResponderKind::User => add(
                    format!("user:{}", r.id),
                    String::new(),
                    format!("user {}", r.name),
                    notify_now(Recipient::user(&r.id), NotifyType::Default),
                ),
                ResponderKind::Schedule => match self.store.schedule_by_id(&r.id).await? {
                    Some(s) => add(
                        format!("schedule:{}", s.id),
                        String::new(),
                        format!("schedule {}", s.name),
                        notify_now(Recipient::schedule(&s.id), NotifyType::Default),
                    ),
                    None => match self.store.schedule_by_name(&r.name).await? {
                        Some(s) => add(
                            format!("schedule:{}", s.id),
                            String::new(),
                            format!("schedule {}", s.name),
                            notify_now(Recipient::schedule(&s.id), NotifyType::Default),
                        ),
                        None => d.logs.push(log(
                            alert,
                            format!("Schedule {} not found: not notified", r.name),
                        )),
                    },
                },
                ResponderKind::Escalation => {
                    let key = if r.id.is_empty() { &r.name } else { &r.id };
                    match self.policy(key, round).await? {
                        Some(p) => add(
                            format!("escalation:{}", p.id),
                            p.id.clone(),
                            p.name.clone(),
                            p.policy,
                        ),
                        None => d.logs.push(log(
                            alert,
                            format!("Escalation {} not found: not notified", r.name),
                        )),
                    }
                }
                ResponderKind::Team => {
                    if !round.routing_rules.contains_key(&r.id) {
                        let rules = self.store.team_routing_rules(&r.id).await?;
                        round.routing_rules.insert(r.id.clone(), rules);
                    }
                    let rules = &round.routing_rules[&r.id];
                    match klaxon_core::routing::route(rules, &view, now) {
                        Some(t) if t.kind == TargetKind::Escalation => {
                            let key = t.id.clone().or(t.name.clone()).unwrap_or_default();
                            match self.policy(&key, round).await? {
                                Some(p) => {
                                    d.logs.push(log(
                                        alert,
                                        format!(
                                            "Team {} routed the alert to escalation {}",
                                            r.name, p.name
                                        ),
                                    ));
                                    add(
                                        format!("team:{}:escalation:{}", r.id, p.id),
                                        p.id.clone(),
                                        p.name.clone(),
                                        p.policy,
                                    )
                                }
                                None => d.logs.push(log(
                                    alert,
                                    format!(
                                        "Team {}: escalation {key} not found: not notified",
                                        r.name
                                    ),
                                )),
                            }
                        }
                        Some(t) if t.kind == TargetKind::Schedule => {
                            let key = t.id.clone().or(t.name.clone()).unwrap_or_default();
                            let s = match self.store.schedule_by_id(&key).await? {
                                Some(s) => Some(s),
                                None => self.store.schedule_by_name(&key).await?,
                            };
                            match s {
                                Some(s) => {
                                    d.logs.push(log(
                                        alert,
                                        format!(
                                            "Team {} routed the alert to schedule {}",
                                            r.name, s.name
                                        ),
                                    ));
                                    add(
                                        format!("team:{}:schedule:{}", r.id, s.id),
                                        String::new(),
                                        format!("schedule {}", s.name),
                                        notify_now(Recipient::schedule(&s.id), NotifyType::Default),
                                    )
                                }
                                None => d.logs.push(log(
                                    alert,
                                    format!(
                                        "Team {}: schedule {key} not found: not notified",
                                        r.name
                                    ),
                                )),
                            }
                        }
                        Some(_) => d.logs.push(log(
                            alert,
                            format!("Team {}'s routing notifies nobody for this alert", r.name),
                        )),
                        None => add(
                            format!("team:{}", r.id),
                            String::new(),
                            format!("team {}", r.name),
                            notify_now(Recipient::team(&r.id), NotifyType::Default),
                        ),
                    }
                }
            }
        }
        Ok(d)
    }

    #[allow(clippy::too_many_arguments)]
    async fn plan(
        &self,
        c: &ClaimedEscalation,
        json: &str,
        alert: &Alert,
        events: &[AlertEvent],
        maintenance: &[Maintenance],
        now: i64,
        effects: &mut Vec<(String, Action)>,
        dir: &mut Loaded,
    ) -> anyhow::Result<EscalationDone> {
        let mut d = finished(c, now);
        let policy: EscalationPolicy = match serde_json::from_str(json) {
            Ok(p) => p,
            Err(e) => {
                d.logs.push(log(
                    alert,
                    format!("Escalation {} is unreadable ({e}): stopped", c.policy_name),
                ));
                return Ok(d);
            }
        };
        let history = history_from(c.started_at, alert, events);
        let plan = escalation::plan(&policy, &history, c.planned_to, now);
        d.due_at = plan.next_due;
        if plan.due.is_empty() && plan.effects.is_empty() {
            return Ok(d);
        }
        if let Some(m) = suppressing(maintenance, alert, &c.policy_id) {
            for step in &plan.due {
                d.logs.push(log(
                    alert,
                    format!(
                        "Escalation {} step {}: not notified during maintenance {:?}",
                        c.policy_name, step.key, m.description
                    ),
                ));
            }
            return Ok(d);
        }
        self.load(&plan.due, now, dir).await?;
        for step in &plan.due {
            let seed = format!("{}/{}", alert.id, step.key);
            let users = escalation::resolve(&step.rule, &*dir, now, &seed);
            let what = describe(&step.rule, &dir.usernames);
            if users.is_empty() {
                d.logs.push(log(
                    alert,
                    format!(
                        "Escalation {}: {what} has nobody to notify (step {})",
                        c.policy_name, step.key
                    ),
                ));
                continue;
            }
            let names: Vec<String> = users
                .iter()
                .map(|u| dir.usernames.get(u).cloned().unwrap_or_else(|| u.clone()))
                .collect();
            d.logs.push(log(
                alert,
                format!(
                    "Escalation {}: notifying {} ({what}, step {})",
                    c.policy_name,
                    names.join(", "),
                    step.key
                ),
            ));
            for (u, name) in users.iter().zip(names) {
                d.pages.push(NewPage {
                    id: uuid::Uuid::now_v7().to_string(),
                    alert_id: alert.id.clone(),
                    escalation_id: c.id.clone(),
                    step_key: step.key.to_string(),
                    user_id: u.clone(),
                    username: name.clone(),
                    paged_at: now,
                    planned_to: None,
                    due_at: Some(now),
                    deliveries: vec![],
                    logs: vec![],
                });
                d.recipients.push(RecipientState {
                    alert_id: alert.id.clone(),
                    user_id: u.clone(),
                    username: name,
                    state: "pending".into(),
                    method: String::new(),
                });
            }
        }
        for e in &plan.effects {
            match e {
                escalation::Effect::CloseAlert { .. } => {
                    d.logs.push(log(
                        alert,
                        format!(
                            "Escalation {}: every repeat ran and nobody took the alert: closing it",
                            c.policy_name
                        ),
                    ));
                    effects.push((alert.id.clone(), Action::Close));
                }
                escalation::Effect::RevertAcknowledgement { cycle, .. } => {
                    d.logs.push(log(
                        alert,
                        format!(
                            "Escalation {}: repeat {cycle} resets the acknowledgement",
                            c.policy_name
                        ),
                    ));
                    effects.push((alert.id.clone(), Action::Unacknowledge));
                }
            }
        }
        Ok(d)
    }

    /// A user by id or name, from the directory cache.
    async fn user(
        &self,
        key: &str,
        version: Option<i64>,
    ) -> anyhow::Result<Option<klaxon_store::UserRef>> {
        cached(&self.pager.directory, version, key, || {
            self.store.schedule_user(key)
        })
        .await
    }

    /// An escalation policy by id or name, once per round (from the directory cache).
    async fn policy(&self, key: &str, round: &mut Round) -> anyhow::Result<Option<PolicyRecord>> {
        if !round.policies.contains_key(key) {
            let p = cached(&self.pager.directory, round.version, key, || {
                self.store.escalation_policy(key)
            })
            .await?;
            round.policies.insert(key.to_string(), p);
        }
        Ok(round.policies[key].clone())
    }

    /// Loads into `l` what resolving these steps' recipients needs, as of `now` (what an
    /// earlier row of the round loaded is reused).
    async fn load(
        &self,
        steps: &[escalation::DueStep],
        now: i64,
        l: &mut Loaded,
    ) -> anyhow::Result<()> {
        let names = |l: &mut Loaded, refs: &[klaxon_store::UserRef]| -> Vec<UserId> {
            refs.iter()
                .map(|u| {
                    l.usernames.insert(u.id.clone(), u.username.clone());
                    u.id.clone()
                })
                .collect()
        };
        for step in steps {
            let id = step.rule.recipient.id.clone();
            match step.rule.recipient.kind {
                RecipientKind::User => {
                    if !l.usernames.contains_key(&id) {
                        if let Some(u) = self.user(&id, l.version).await? {
                            l.usernames.insert(u.id.clone(), u.username);
                        }
                    }
                }
                RecipientKind::Schedule => {
                    if l.schedules.contains_key(&id) {
                        continue;
                    }
                    let sets = match self.store.schedule_by_id(&id).await? {
                        Some(s) => {
                            let [a, b, c] = on_call_sets(&self.store, &s, now).await?;
                            [names(l, &a), names(l, &b), names(l, &c)]
                        }
                        None => Default::default(),
                    };
                    l.schedules.insert(id, sets);
                }
                RecipientKind::Team => {
                    if l.teams.contains_key(&id) {
                        continue;
                    }
                    let members = self.store.team_members(&id).await?;
                    for m in &members {
                        if !l.usernames.contains_key(&m.user) {
                            if let Some(u) = self.user(&m.user, l.version).await? {
                                l.usernames.insert(u.id.clone(), u.username);
                            }
                        }
                    }
                    // The team's own routing: whoever is on call in the team's schedules now,
                    // or, without schedules, every member.
                    let mut on_call = Vec::new();
                    for s in self.store.list_schedules().await? {
                        if s.team.as_ref().is_some_and(|t| t.id == id) {
                            let [now_set, _, _] = on_call_sets(&self.store, &s, now).await?;
                            for u in names(l, &now_set) {
                                if !on_call.contains(&u) {
                                    on_call.push(u);
                                }
                            }
                        }
                    }
                    if on_call.is_empty() {
                        on_call = members.iter().map(|m| m.user.clone()).collect();
                    }
                    l.team_default.insert(id.clone(), on_call);
                    l.teams.insert(id, members);
                }
            }
        }
        Ok(())
    }
}

/// A maintenance window in force that covers this alert's integration or this policy with
/// state `disabled`.
fn suppressing<'m>(
    ms: &'m [Maintenance],
    alert: &Alert,
    policy_id: &str,
) -> Option<&'m Maintenance> {
    #[derive(serde::Deserialize)]
    struct Rule {
        #[serde(default)]
        state: String,
        entity: Entity,
    }
    #[derive(serde::Deserialize)]
    struct Entity {
        id: String,
        #[serde(rename = "type")]
        kind: String,
    }
    ms.iter().find(|m| {
        let rules: Vec<Rule> = serde_json::from_str(&m.rules).unwrap_or_default();
        rules.iter().any(|r| {
            r.state != "enabled"
                && ((r.entity.kind == "integration"
                    && r.entity.id == alert.integration_id
                    && !alert.integration_id.is_empty())
                    || (r.entity.kind == "policy"
                        && r.entity.id == policy_id
                        && !policy_id.is_empty()))
        })
    })
}

fn describe(rule: &EscalationRule, usernames: &HashMap<String, String>) -> String {
    let id = &rule.recipient.id;
    let name = usernames.get(id).cloned().unwrap_or_else(|| id.clone());
    match rule.recipient.kind {
        RecipientKind::User => format!("user {name}"),
        RecipientKind::Schedule => match rule.notify_type {
            NotifyType::Next => format!("next on-call of schedule {id}"),
            NotifyType::Previous => format!("previous on-call of schedule {id}"),
            _ => format!("on-call of schedule {id}"),
        },
        RecipientKind::Team => format!("team {id} ({})", rule.notify_type),
    }
}

fn log(alert: &Alert, text: String) -> EngineLog {
    EngineLog {
        alert_id: alert.id.clone(),
        text,
    }
}

fn finished(c: &ClaimedEscalation, now: i64) -> EscalationDone {
    EscalationDone {
        id: c.id.clone(),
        token: c.token.clone(),
        planned_to: now,
        due_at: None,
        ..Default::default()
    }
}
