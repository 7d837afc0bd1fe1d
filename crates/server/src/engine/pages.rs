//! The page worker: a user paged by an escalation step runs their notification rules
//! (`klaxon_core::notification::plan`) from the page on; each due notification becomes an
//! outbox delivery, rendered for its contact method, with an idempotency key made of the
//! alert, the escalation, the step, the notification and the contact method. SMS and voice are
//! throttled per contact.

use super::directory_cache::{cached, DirectoryCache};
use super::links::{LinkAction, LinkSigner};
use super::outbox::Outbox;
use super::render::{self, MessageContext};
use super::run_due_loop;
use klaxon_core::clock::Clock;
use klaxon_core::escalation::AlertEvent;
use klaxon_core::lifecycle::Alert;
use klaxon_core::notification::{self, ContactKind, Page, Throttle};
use klaxon_store::{EngineLog, Handoff, NewDelivery, PageDone, Store, UserProfile};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Notify;

const BATCH: i64 = 256;
const LEASE_MS: i64 = 10_000;

pub struct Pager {
    pub store: Store,
    /// Users' profiles kept between rounds (shared with the escalation worker).
    pub directory: Arc<DirectoryCache>,
    pub clock: Arc<dyn Clock>,
    pub links: LinkSigner,
    pub outbox: Arc<Outbox>,
}

/// A page as the notification planner needs it.
pub struct PageRef<'a> {
    pub escalation_id: &'a str,
    pub step_key: &'a str,
    pub user_id: &'a str,
    pub username: &'a str,
    pub paged_at: i64,
    pub planned_to: Option<i64>,
}

/// What a page's planning produced: the notifications due, timeline lines, and when the page
/// is due next (`None`: its rules are done).
#[derive(Default)]
pub struct Planned {
    pub deliveries: Vec<NewDelivery>,
    pub logs: Vec<EngineLog>,
    pub due_at: Option<i64>,
}

/// What one round of planning has loaded or decided so far.
#[derive(Default)]
pub struct PageRound {
    /// Users' profiles (`None`: the user is gone).
    users: HashMap<String, Option<UserProfile>>,
    /// Per throttled (channel, target): when its messages were sent or are scheduled,
    /// including those planned earlier in this round (not committed yet).
    taken: HashMap<(String, String), Vec<i64>>,
    /// The directory's version the round read (`None`: the round loads everything itself).
    pub(super) version: Option<i64>,
}

pub async fn run(p: Arc<Pager>, wake: Arc<Notify>, stop: tokio::sync::watch::Receiver<bool>) {
    let w = p.clone();
    run_due_loop(
        "pages",
        p.clock.clone(),
        wake,
        stop,
        move |now| {
            let w = w.clone();
            async move { w.work(now).await }
        },
        move || {
            let s = p.store.clone();
            async move { s.next_page_due().await }
        },
    )
    .await
}

impl Pager {
    pub async fn work(&self, now: i64) -> anyhow::Result<()> {
        loop {
            let token = uuid::Uuid::now_v7().to_string();
            let claimed = self
                .store
                .claim_pages(now, now + LEASE_MS, &token, BATCH)
                .await?;
            if claimed.is_empty() {
                return Ok(());
            }
            let n = claimed.len();
            let mut ids: Vec<String> = claimed.iter().map(|c| c.alert_id.clone()).collect();
            ids.sort();
            ids.dedup();
            let (alerts, version) = tokio::try_join!(
                self.store.alert_contexts(&ids),
                self.store.directory_version()
            )?;
            self.directory.observe(version);
            let alerts: HashMap<String, (Alert, Vec<AlertEvent>)> = alerts
                .into_iter()
                .map(|(a, e)| (a.id.clone(), (a, e)))
                .collect();
            let mut round = PageRound {
                version: Some(version),
                ..Default::default()
            };
            let mut done = Vec::with_capacity(n);
            for c in &claimed {
                let mut d = PageDone {
                    id: c.id.clone(),
                    token: c.token.clone(),
                    planned_to: now,
                    due_at: None,
                    ..Default::default()
                };
                if let Some((alert, events)) = alerts.get(&c.alert_id) {
                    let page = PageRef {
                        escalation_id: &c.escalation_id,
                        step_key: &c.step_key,
                        user_id: &c.user_id,
                        username: &c.username,
                        paged_at: c.paged_at,
                        planned_to: c.planned_to,
                    };
                    let p = self.plan(&page, alert, events, &mut round, now).await?;
                    (d.deliveries, d.logs, d.due_at) = (p.deliveries, p.logs, p.due_at);
                }
                done.push(d);
            }
            // From the clock now, not the round's start: `work` loops over batches.
            let handoff = Handoff {
                token: &token,
                deadline: self.clock.now_ms() + super::outbox::DEADLINE_MS,
            };
            let handed_off = self.store.finish_pages(&done, now, Some(handoff)).await?;
            self.outbox.dispatch(handed_off).await;
            if (n as i64) < BATCH {
                return Ok(());
            }
        }
    }

    /// Runs a page's notification rules over the window since it was last planned.
    pub async fn plan(
        &self,
        c: &PageRef<'_>,
        alert: &Alert,
        events: &[AlertEvent],
        round: &mut PageRound,
        now: i64,
    ) -> anyhow::Result<Planned> {
        let mut d = Planned::default();
        if !round.users.contains_key(c.user_id) {
            let p = cached(&self.directory, round.version, c.user_id, || {
                self.store.notification_profile(c.user_id)
            })
            .await?;
            round.users.insert(c.user_id.to_string(), p);
        }
        let Some(Some(profile)) = round.users.get(c.user_id) else {
            d.logs.push(EngineLog {
                alert_id: alert.id.clone(),
                text: format!("User {} no longer exists: not notified", c.username),
            });
            return Ok(d);
        };
        let history = super::escalation::history_from(alert.created_at, alert, events);
        let page = Page {
            user: c.user_id,
            priority: alert.priority,
            tags: &alert.tags,
            paged_at: c.paged_at,
        };
        let plan = notification::plan(&profile.profile, &page, &history, c.planned_to, now);
        d.due_at = plan.next_due;
        if plan.due.is_empty()
            && c.planned_to.is_none()
            && profile.profile.contacts().iter().all(|m| !m.enabled())
        {
            d.logs.push(EngineLog {
                alert_id: alert.id.clone(),
                text: format!("{} has no enabled contact method: not notified", c.username),
            });
        }
        for n in plan.due {
            let kind = n.contact.kind();
            let key = format!(
                "{}/{}/{}/{}/{}",
                alert.id,
                c.escalation_id,
                c.step_key,
                n.key,
                n.contact.id()
            );
            let ack = self.links.url(&alert.id, LinkAction::Ack, c.username, now);
            let close = self
                .links
                .url(&alert.id, LinkAction::Close, c.username, now);
            let voice = format!(
                "{}/api/integrations/twilio/voice/{}",
                self.links.base_url(),
                self.links
                    .token(&alert.id, LinkAction::Ack, c.username, now)
            );
            let alert_url = format!("{}/ui/alerts/{}", self.links.base_url(), alert.id);
            let m = MessageContext {
                alert,
                username: c.username,
                ack_url: &ack,
                close_url: &close,
                alert_url: &alert_url,
                voice_url: &voice,
                key: &key,
            };
            let target = n.contact.to().to_string();
            let (channel, payload) = match kind {
                ContactKind::Webhook if render::is_teams_url(&target) => {
                    ("teams", render::teams_payload(&m))
                }
                k => (k.as_str(), render::payload(k, &m)),
            };
            let mut due_at = now;
            if kind.is_throttled() {
                let taken = match round.taken.entry((channel.to_string(), target.clone())) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => e.insert(
                        self.store
                            .recent_sends(channel, &target, now - Throttle::PHONE.window_ms())
                            .await?,
                    ),
                };
                due_at = Throttle::PHONE.schedule(taken, now);
                taken.push(due_at);
                if due_at > now {
                    d.logs.push(EngineLog {
                        alert_id: alert.id.clone(),
                        text: format!(
                            "{channel} to {} throttled (too many messages to {target} lately): held until {}",
                            c.username,
                            klaxon_core::time::format_iso(due_at)
                        ),
                    });
                }
            }
            d.deliveries.push(NewDelivery {
                key,
                alert_id: Some(alert.id.clone()),
                user_id: Some(c.user_id.to_string()),
                username: c.username.to_string(),
                contact: n.contact.id().to_string(),
                channel: channel.to_string(),
                target,
                payload: payload.to_string(),
                due_at,
            });
        }
        Ok(d)
    }
}
