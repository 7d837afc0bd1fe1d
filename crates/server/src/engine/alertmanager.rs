//! Alertmanager aggregation groups as Klaxon alerts. Each group (a route and the values of
//! its `group_by` labels) forms one Klaxon alert whose members are the group's Prometheus
//! alerts. The group's due time (`am_groups.flush_at`) is its next flush, as in
//! Alertmanager's dispatcher: `group_wait` after the group opens, then every `group_interval`.
//!
//! A flush compares the members that should be paged now (firing, not silenced, not
//! inhibited, route not muted) with those the Klaxon alert was last told about:
//! - first time any: the Klaxon alert is created (paged) with the route's receiver as responder;
//! - changed: a timeline note says which members joined and which resolved;
//! - unchanged for `repeat_interval` and not acknowledged: the responders are paged again
//!   (a new escalation, `Store::renotify`) and a note says so;
//! - all members resolved: the Klaxon alert closes and the group is deleted.
//!
//! Suppressed members never create an alert; when they hold back an open one, its timeline
//! names the silence or the inhibiting alert.

use super::writer::Writer;
use crate::http::ingest::Details;
use chrono::{DateTime, Utc};
use klaxon_core::alert::{limits, truncate_chars, Priority, ResponderKind, ResponderRef};
use klaxon_core::alertmanager::{
    label_set_string, Fingerprint, Labels, Route, Rules, Silence, TimeMute,
};
use klaxon_core::clock::Clock;
use klaxon_core::lifecycle::{Action, Actor, Status};
use klaxon_core::mapping::AlertMapping;
use klaxon_store::{
    ActionRequest, AmAlert, AmFlushResult, AmGroup, Identifier, NewAlert, Scope, Store, WriteKind,
    WriteOp,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::sync::Notify;

/// How long a claim holds a group; a process that dies mid-flush leaves it due again after this.
const LEASE_MS: i64 = 60_000;
const BATCH: i64 = 64;
/// Resolved alerts that belong to no group are forgotten this long after they ended (they
/// stay visible to `GET /api/v2/alerts?active=false…` until then only as history).
const RETAIN_RESOLVED_MS: i64 = 15 * 60_000;

/// The Alertmanager surface's configuration, shared by the HTTP handlers and the worker.
pub struct AmRuntime {
    pub rules: Rules,
    /// Receivers `GET /api/v2/receivers` lists.
    pub receivers: Vec<String>,
    /// `endsAt` of an alert posted without one: now + this.
    pub resolve_timeout_ms: i64,
    pub allow_anonymous_loopback: bool,
    /// `config.original` of `GET /api/v2/status`: an alertmanager.yml amtool can load.
    pub original: String,
    pub started_at: i64,
    /// Wakes the flush worker when a group falls due sooner than it would look.
    pub wake: Arc<Notify>,
}

impl AmRuntime {
    pub fn new(settings: &crate::settings::Settings, started_at: i64) -> anyhow::Result<Self> {
        let cfg = &settings.config;
        let rules = cfg
            .alertmanager_rules()
            .map_err(|e| anyhow::anyhow!("alertmanager sections: {e}"))?;
        let resolve = cfg.resolve_timeout().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut receivers: Vec<String> = rules
            .route()
            .walk()
            .iter()
            .map(|r| r.receiver().to_string())
            .chain(
                cfg.receivers
                    .iter()
                    .flatten()
                    .map(|r| r.name.clone())
                    .filter(|n| !n.is_empty()),
            )
            .collect();
        receivers.sort();
        receivers.dedup();
        Ok(AmRuntime {
            original: crate::http::alertmanager::status::original_config(settings, &rules),
            rules,
            receivers,
            resolve_timeout_ms: resolve.0.as_millis() as i64,
            allow_anonymous_loopback: cfg.alertmanager.allow_anonymous_loopback,
            started_at,
            wake: Arc::new(Notify::new()),
        })
    }

    /// The runtime for a reloaded config: same start time and wake-up, the new tree.
    pub fn reloaded(&self, settings: &crate::settings::Settings) -> anyhow::Result<AmRuntime> {
        Ok(AmRuntime {
            wake: self.wake.clone(),
            ..AmRuntime::new(settings, self.started_at)?
        })
    }

    /// The route a stored group belongs to (the root if the tree changed and it is gone).
    pub fn route(&self, id: &str) -> &Route {
        let root = self.rules.route();
        root.walk()
            .into_iter()
            .find(|r| r.id() == id)
            .unwrap_or(root)
    }
}

/// The alias of the Klaxon alert a group forms: hex SHA-256 of the group key, the alias
/// Alertmanager's own `opsgenie_configs` gives a group.
pub fn group_alias(group_key: &str) -> String {
    hex::encode(Sha256::digest(group_key.as_bytes()))
}

fn actor() -> Actor {
    Actor {
        user: "Alertmanager API".into(),
        via: "Klaxon".into(),
        source: "alertmanager".into(),
    }
}

fn op(now: i64, kind: WriteKind) -> WriteOp {
    WriteOp {
        request_id: uuid::Uuid::now_v7().to_string(),
        integration_id: String::new(),
        integration_name: "Alertmanager API".into(),
        integration_type: "Prometheus".into(),
        team_id: None,
        actor: actor(),
        now,
        kind,
    }
}

fn note_op(alert_id: &str, now: i64, note: String) -> WriteOp {
    op(
        now,
        WriteKind::Act {
            target: Identifier::Id(alert_id.to_string()),
            action: ActionRequest::Ready(Action::AddNote),
            note: Some(truncate_chars(&note, limits::NOTE)),
        },
    )
}

pub async fn run(
    rt: Arc<crate::reload::Live<AmRuntime>>,
    store: Store,
    writer: Writer,
    clock: Arc<dyn Clock>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let s = store.clone();
    let wake = rt.get().wake.clone();
    let last_gc = Arc::new(std::sync::atomic::AtomicI64::new(0));
    super::run_due_loop(
        "alertmanager groups",
        clock,
        wake,
        stop,
        move |now| {
            let (rt, store, writer, last_gc) =
                (rt.get(), store.clone(), writer.clone(), last_gc.clone());
            async move {
                flush_due(&rt, &store, &writer, now).await?;
                use std::sync::atomic::Ordering::Relaxed;
                if now - last_gc.load(Relaxed) > 60_000 {
                    last_gc.store(now, Relaxed);
                    store.am_gc(now - RETAIN_RESOLVED_MS).await?;
                }
                Ok(())
            }
        },
        move || {
            let s = s.clone();
            async move { s.am_next_flush().await }
        },
    )
    .await
}

/// What holds alerts back at one instant: active silences and inhibitions.
pub struct Suppression {
    silences: Vec<Silence>,
    inhibited: BTreeMap<Fingerprint, Fingerprint>,
    now: DateTime<Utc>,
}

impl Suppression {
    /// Loads the silences and, when there are inhibit rules, every firing alert.
    pub async fn load(rt: &AmRuntime, store: &Store, now: i64) -> anyhow::Result<Suppression> {
        let at = DateTime::from_timestamp_millis(now).unwrap_or_default();
        let silences = store
            .am_silences()
            .await?
            .into_iter()
            .map(|(s, _)| s)
            .filter(|s| s.ends_at > at)
            .collect();
        let inhibited = if rt.rules.inhibit_rules().is_empty() {
            BTreeMap::new()
        } else {
            let firing: Vec<Labels> = store
                .am_alerts(Some(now), &[])
                .await?
                .into_iter()
                .map(|a| a.labels)
                .collect();
            rt.rules.inhibitions(&firing)
        };
        Ok(Suppression {
            silences,
            inhibited,
            now: at,
        })
    }

    /// Ids of the active silences muting `labels`.
    pub fn silenced_by(&self, labels: &Labels) -> Vec<String> {
        self.silences
            .iter()
            .filter(|s| s.mutes(labels, self.now))
            .map(|s| s.id.clone())
            .collect()
    }

    /// The fingerprint of the alert inhibiting `labels`, if any.
    pub fn inhibited_by(&self, labels: &Labels) -> Option<Fingerprint> {
        self.inhibited.get(&Fingerprint::of(labels)).copied()
    }
}

async fn flush_due(rt: &AmRuntime, store: &Store, writer: &Writer, now: i64) -> anyhow::Result<()> {
    loop {
        let lease = now + LEASE_MS;
        let groups = store.am_claim_groups(now, lease, BATCH).await?;
        if groups.is_empty() {
            return Ok(());
        }
        let n = groups.len() as i64;
        let sup = Suppression::load(rt, store, now).await?;
        for g in groups {
            let result = flush_group(rt, store, writer, &sup, &g, now).await?;
            if !store.am_finish_group(&g.group_key, lease, &result).await? {
                tracing::warn!(group = %g.group_key, "alertmanager group flush lost its claim");
            }
        }
        if n < BATCH {
            return Ok(());
        }
    }
}

/// One flush of one group; returns what to store for it.
async fn flush_group(
    rt: &AmRuntime,
    store: &Store,
    writer: &Writer,
    sup: &Suppression,
    g: &AmGroup,
    now: i64,
) -> anyhow::Result<AmFlushResult> {
    let route = rt.route(&g.route_id);
    let members = store.am_group_members(&g.group_key).await?;
    let firing: Vec<&AmAlert> = members.iter().filter(|a| a.firing(now)).collect();
    let resolved: Vec<String> = members
        .iter()
        .filter(|a| !a.firing(now))
        .map(|a| a.fingerprint.clone())
        .collect();

    let mut to_page: Vec<&AmAlert> = Vec::new();
    let mut held: Vec<String> = Vec::new();
    for a in &firing {
        let silences = sup.silenced_by(&a.labels);
        let inhibitor = sup.inhibited_by(&a.labels);
        if !silences.is_empty() {
            held.push(format!(
                "{} silenced by {}",
                label_set_string(&a.labels),
                silences.join(", ")
            ));
        } else if let Some(src) = inhibitor {
            held.push(format!(
                "{} inhibited by alert {src}",
                label_set_string(&a.labels)
            ));
        } else {
            to_page.push(a);
        }
    }
    let at = DateTime::from_timestamp_millis(now).unwrap_or_default();
    let muted = rt.rules.time_mute(route, at);
    let suppressed = match &muted {
        Some(TimeMute::MuteInterval(name)) if !firing.is_empty() => {
            format!("route muted by time interval {name}")
        }
        Some(TimeMute::OutsideActiveIntervals) if !firing.is_empty() => {
            "route outside its active time intervals".to_string()
        }
        _ => held.join("; "),
    };
    let page: Vec<String> = if muted.is_some() {
        Vec::new()
    } else {
        to_page.iter().map(|a| a.fingerprint.clone()).collect()
    };

    let open = store
        .get_alert(&Identifier::Alias(g.alias.clone()), &Scope::global())
        .await?
        .filter(|a| a.status == Status::Open);
    let mut result = AmFlushResult {
        next_flush_at: Some(now + route.group_interval().0.as_millis() as i64),
        notified: g.notified.clone(),
        suppressed: suppressed.clone(),
        last_notified_at: g.last_notified_at,
        remove: resolved.clone(),
        flushed_at: now,
        rejoin_flush_at: now + route.group_interval().0.as_millis() as i64,
    };

    if firing.is_empty() {
        if let Some(a) = &open {
            let text = format!(
                "All {} alert(s) of the group resolved.",
                g.notified.len().max(resolved.len())
            );
            writer
                .write(op(
                    now,
                    WriteKind::Act {
                        target: Identifier::Id(a.id.clone()),
                        action: ActionRequest::Ready(Action::Close),
                        note: Some(text),
                    },
                ))
                .await?;
        }
        result.next_flush_at = None;
        return Ok(result);
    }

    let page_set: BTreeSet<&String> = page.iter().collect();
    let before: BTreeSet<&String> = g.notified.iter().collect();
    match (&open, page.is_empty()) {
        (None, false) => {
            let pageable: Vec<&AmAlert> = to_page.clone();
            let new = new_alert(rt, store, g, route, &pageable, &held).await?;
            writer
                .write(op(now, WriteKind::Create(Box::new(new))))
                .await?;
            result.notified = page.clone();
            result.last_notified_at = Some(now);
        }
        (Some(a), false) if page_set != before => {
            let joined: Vec<String> = to_page
                .iter()
                .filter(|x| !before.contains(&x.fingerprint))
                .map(|x| member_line(x))
                .collect();
            let left: Vec<&str> = g
                .notified
                .iter()
                .filter(|fp| !page_set.contains(fp))
                .map(String::as_str)
                .collect();
            let mut text = format!("Group updated: {} alert(s) firing.", page.len());
            if !joined.is_empty() {
                text.push_str(&format!("\nFiring: {}", joined.join("\n")));
            }
            if !left.is_empty() {
                text.push_str(&format!(
                    "\nResolved or suppressed (fingerprints): {}",
                    left.join(", ")
                ));
            }
            if !suppressed.is_empty() {
                text.push_str(&format!("\nHeld back: {suppressed}"));
            }
            writer.write(note_op(&a.id, now, text)).await?;
            result.notified = page.clone();
            result.last_notified_at = Some(now);
        }
        (Some(a), false) => {
            let repeat = route.repeat_interval().0.as_millis() as i64;
            let due = g.last_notified_at.is_none_or(|t| t + repeat <= now);
            if due && !a.acknowledged {
                // A new escalation of the alert's responders; the note's commit wakes the
                // escalation worker.
                store.renotify(&a.id, now).await?;
                writer
                    .write(note_op(
                        &a.id,
                        now,
                        format!(
                            "Still firing after repeat_interval ({}s): {} alert(s); re-notifying.",
                            repeat / 1000,
                            page.len()
                        ),
                    ))
                    .await?;
                result.last_notified_at = Some(now);
            }
        }
        (Some(a), true) => {
            // Everything still firing is held back: nothing is paged; say why, once.
            if suppressed != g.suppressed || !g.notified.is_empty() {
                writer
                    .write(note_op(
                        &a.id,
                        now,
                        format!("Notifications held back: {suppressed}"),
                    ))
                    .await?;
            }
            result.notified = Vec::new();
        }
        (None, true) => {
            if suppressed != g.suppressed {
                tracing::info!(group = %g.group_key, why = %suppressed, "alertmanager group suppressed: no Klaxon alert");
            }
        }
    }
    Ok(result)
}

fn member_line(a: &AmAlert) -> String {
    let summary = a
        .annotations
        .get("summary")
        .or_else(|| a.annotations.get("description"))
        .map(|s| format!(" — {s}"))
        .unwrap_or_default();
    format!(
        "- {} [{}]{summary}",
        label_set_string(&a.labels),
        a.fingerprint
    )
}

/// Labels (or annotations) every alert of `alerts` has with the same value.
fn common<'a>(
    maps: impl Iterator<Item = &'a BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let mut out: Option<BTreeMap<String, String>> = None;
    for m in maps {
        out = Some(match out {
            None => m.clone(),
            Some(acc) => acc
                .into_iter()
                .filter(|(k, v)| m.get(k) == Some(v))
                .collect(),
        });
    }
    out.unwrap_or_default()
}

async fn new_alert(
    rt: &AmRuntime,
    store: &Store,
    g: &AmGroup,
    route: &Route,
    firing: &[&AmAlert],
    held: &[String],
) -> anyhow::Result<NewAlert> {
    let labels = common(firing.iter().map(|a| &a.labels));
    let annotations = common(firing.iter().map(|a| &a.annotations));
    let mapping = AlertMapping::default();
    let message = annotations
        .get("summary")
        .cloned()
        .or_else(|| labels.get("alertname").cloned())
        .unwrap_or_else(|| label_set_string(&g.group_labels));
    let message = if firing.len() > 1 {
        format!("[{}] {message}", firing.len())
    } else {
        message
    };
    let priority = labels
        .get(&mapping.priority_label)
        .and_then(|v| mapping.priority_for(v))
        .unwrap_or(Priority::P3);
    let mut description = annotations
        .get("description")
        .map(|d| format!("{d}\n\n"))
        .unwrap_or_default();
    description.push_str(&format!("Alerts ({}):\n", firing.len()));
    for a in firing {
        description.push_str(&member_line(a));
        description.push('\n');
    }
    if !held.is_empty() {
        description.push_str(&format!("\nHeld back: {}\n", held.join("; ")));
    }
    let mut details = Details::default();
    details.add("receiver", route.receiver());
    details.add("members", &firing.len().to_string());
    if let Some(r) = annotations.get("runbook_url") {
        details.add("runbook_url", r);
    }
    for (k, v) in &labels {
        details.add(k, v);
    }
    details.add("group_key", &g.group_key);
    let tags = crate::http::ingest::tags(
        mapping
            .tag_labels
            .iter()
            .filter_map(|l| labels.get(l).map(String::as_str)),
        &[],
    );
    let receiver = route.receiver();
    let responders = if receiver.is_empty()
        || (receiver == klaxon_core::alertmanager::DEFAULT_RECEIVER
            && rt.rules.route().receiver() == receiver
            && store.team_by_name(receiver).await?.is_none())
    {
        vec![]
    } else {
        let kind = if store.team_by_name(receiver).await?.is_some() {
            ResponderKind::Team
        } else {
            ResponderKind::Escalation
        };
        vec![ResponderRef {
            kind,
            id: None,
            name: Some(receiver.to_string()),
            username: None,
        }]
    };
    Ok(NewAlert {
        alias: g.alias.clone(),
        message: truncate_chars(&message, limits::MESSAGE),
        description: truncate_chars(&description, limits::DESCRIPTION),
        priority,
        source: "Alertmanager API".into(),
        entity: truncate_chars(&label_set_string(&g.group_labels), limits::ENTITY),
        tags,
        details: details.into_map(),
        actions: vec![],
        responders,
        visible_to: vec![],
        note: None,
    })
}
