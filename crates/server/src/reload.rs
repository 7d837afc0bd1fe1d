//! Config reload (SIGHUP or `POST /-/reload`, as in Alertmanager and Prometheus).
//!
//! The file is read and checked completely before anything changes: a file with an error is
//! refused and the running config stays. A good file is then applied the way `serve` applies it
//! at start (users, teams, integrations, schedules, passwords, status pages, contacts,
//! notification rules, escalations, routing rules, heartbeats, in the store; config objects that
//! left the file are removed), and the parts held in memory are swapped: the Alertmanager
//! routing tree, inhibit rules and time intervals, the integrations' priority mappings, the
//! health checks, the `notify:` channels and retry settings, the status pages' host names.
//! `listen`, `database`, `public_url` and the OpsGenie path prefix need a restart; a reload that
//! changes them says so and keeps the running values.

use crate::app::AppState;
use crate::settings::Settings;
use std::sync::{Arc, RwLock};

/// A value the running server reads often and a reload replaces now and then.
pub struct Live<T>(RwLock<Arc<T>>);

impl<T> Live<T> {
    pub fn new(v: T) -> Live<T> {
        Live(RwLock::new(Arc::new(v)))
    }

    /// The current value (readers keep the one they got for the rest of their work).
    pub fn get(&self) -> Arc<T> {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn set(&self, v: T) {
        match self.0.write() {
            Ok(mut g) => *g = Arc::new(v),
            Err(p) => *p.into_inner() = Arc::new(v),
        }
    }
}

/// Where the running config came from, and the lock that keeps two reloads apart.
pub struct Source {
    /// The settings running now (`path` is `None` without a config file: nothing to reload).
    pub settings: tokio::sync::Mutex<Settings>,
}

/// What a reload did.
#[derive(Debug, Default)]
pub struct Report {
    /// Settings that changed in the file but only take effect after a restart.
    pub need_restart: Vec<&'static str>,
}

/// Reads the config file again and applies it. On error nothing has changed (the error says
/// what is wrong, with `FILE:LINE` like `check-config`), except when the database fails half
/// way through applying, which the error then says.
pub async fn reload(state: &AppState) -> anyhow::Result<Report> {
    let r = reload_file(state).await;
    if r.is_err() {
        state.metrics.config_reload_failed();
    }
    r
}

async fn reload_file(state: &AppState) -> anyhow::Result<Report> {
    let mut current = state.source.settings.lock().await;
    let Some(path) = current.path.clone() else {
        anyhow::bail!("klaxon runs without a config file (serve --config FILE); nothing to reload");
    };
    let mut next = Settings::load(Some(&path)).map_err(|e| anyhow::anyhow!("{e}"))?;
    // The admin password only ever seeds the first password; keep what started the process.
    next.admin_password = current.admin_password.clone();
    let now = state.clock.now_ms();

    // Everything that can fail on the file's content is built before anything is applied.
    let am = state.am.get().reloaded(&next)?;
    let heartbeats = crate::engine::heartbeats::declared(&next.config.heartbeats)?;
    let checks = crate::status::health::Checks::new(&next.config.health_checks);
    let channels = crate::notify::Channels::new(
        Arc::new(next.config.notify.clone()),
        crate::app::webhook_secret(&state.store, &next.config.notify).await?,
    )?;

    // Compared as the file says them: `KLAXON_LISTEN` and the like override both alike.
    let (a, b) = (&current.config, &next.config);
    let mut report = Report::default();
    for (what, changed) in [
        ("listen", a.listen() != b.listen()),
        ("database", a.database() != b.database()),
        ("public_url", a.public_url != b.public_url),
        (
            "opsgenie_prefix",
            a.opsgenie_prefix() != b.opsgenie_prefix(),
        ),
        (
            "notify.link_ttl",
            a.notify.link_ttl_ms() != b.notify.link_ttl_ms(),
        ),
    ] {
        if changed {
            report.need_restart.push(what);
        }
    }
    // Those keep running as they started.
    next.listen = current.listen.clone();
    next.database = current.database.clone();
    next.public_url = current.public_url.clone();
    next.opsgenie_prefix = current.opsgenie_prefix.clone();

    crate::app::apply_config(&state.store, &next, &heartbeats, now).await?;
    let names: Vec<String> = checks.by_name.keys().cloned().collect();
    let removed = state.store.sync_health_checks(&names, now).await?;

    // Nothing below can fail: the running config is swapped whole.
    state.am.set(am);
    state.mappings.set(next.config.alert_mappings());
    state.channels.set(channels);
    state
        .host_pages
        .set(crate::http::statuspage::HostPages::new(&next.status_pages));
    state.health_checks.set(checks);
    state.keys.clear();
    // Policies, routes and rules may have changed: every worker looks again.
    state.am.get().wake.notify_one();
    state.health_wake.notify_one();
    state.heartbeat_wake.notify_one();
    state.escalation_wake.notify_one();
    state.pages_wake.notify_one();
    state.outbox_wake.notify_one();
    // Checks removed while down: their alerts close, their components recover.
    crate::status::health::retire(
        &state.store,
        &state.writer,
        &removed,
        &current.config.health_checks,
        now,
    )
    .await;
    *current = next;
    state.metrics.config_loaded(now);
    Ok(report)
}

/// Reloads and logs the outcome (the SIGHUP path).
pub async fn reload_and_log(state: &AppState) {
    match reload(state).await {
        Ok(r) if r.need_restart.is_empty() => tracing::info!("config reloaded"),
        Ok(r) => tracing::warn!(
            settings = %r.need_restart.join(", "),
            "config reloaded; these changed settings take effect after a restart"
        ),
        Err(e) => tracing::error!(error = %e, "config reload failed; the running config stays"),
    }
}
