//! Building and running the application: store, engine workers, HTTP server.

use crate::engine::writer::Writer;
use crate::http::auth::KeyCache;
use crate::metrics::Metrics;
use crate::reload::Live;
use crate::settings::Settings;
use anyhow::Context;
use klaxon_core::clock::{Clock, SystemClock};
use klaxon_store::{Dialect, IntegrationSpec, Store};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Notify;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub writer: Writer,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    pub keys: Arc<KeyCache>,
    /// Wakes the snooze worker when a snooze is committed.
    pub snooze_wake: Arc<Notify>,
    /// Wakes the heartbeat worker when a ping or an edit moves a heartbeat's due time.
    pub heartbeat_wake: Arc<Notify>,
    /// Wakes the scheduled-maintenance worker when a maintenance is created or changed.
    pub maintenance_wake: Arc<Notify>,
    pub public_url: Option<String>,
    pub opsgenie_prefix: String,
    /// Per-integration priority and tag mapping for the webhook and PagerDuty surfaces.
    pub mappings: Arc<Live<klaxon_core::mapping::AlertMappings>>,
    /// Tells the web UI's open pages that alerts changed.
    pub live: Arc<crate::http::ui::LiveAlerts>,
    /// The Alertmanager API's routing tree and settings; its flush worker's wake-up.
    pub am: Arc<Live<crate::engine::alertmanager::AmRuntime>>,
    /// Signs and checks the ack/close links in messages.
    pub links: crate::engine::links::LinkSigner,
    /// The engine's wake-ups: escalations (also woken by every committed write), pages, outbox.
    pub escalation_wake: Arc<Notify>,
    pub pages_wake: Arc<Notify>,
    pub outbox_wake: Arc<Notify>,
    /// The channels the outbox sends through, with the `notify:` section they were made from
    /// (retry settings; Twilio replies are checked against its auth token).
    pub channels: Arc<Live<crate::notify::Channels>>,
    /// The health checks the health worker runs, and its wake-up.
    pub health_checks: Arc<Live<crate::status::health::Checks>>,
    pub health_wake: Arc<Notify>,
    /// Status pages that own `/` on their own host name.
    pub host_pages: Arc<Live<crate::http::statuspage::HostPages>>,
    /// The config file this process runs (reloaded on SIGHUP and `POST /-/reload`).
    pub source: Arc<crate::reload::Source>,
    /// The public status pages, rendered for a few seconds (http/statuspage/cache.rs).
    pub status_pages: Arc<crate::http::statuspage::cache::PageCache>,
}

/// Applies the objects the config file declares to the store (at start and on reload): users,
/// teams, integrations, schedules, passwords, status pages, contacts, notification rules,
/// escalations, routing rules and heartbeats.
pub async fn apply_config(
    store: &Store,
    settings: &Settings,
    heartbeats: &[klaxon_store::HeartbeatFields],
    now: i64,
) -> anyhow::Result<()> {
    store
        .apply_directory(&settings.directory, now)
        .await
        .context("applying users, teams and integrations from the config")?;
    store
        .apply_schedules(&settings.schedules, now)
        .await
        .context("applying schedules and time off from the config")?;
    crate::http::ui::accounts::apply(
        store,
        &settings.passwords,
        settings.admin_password.as_deref(),
        now,
    )
    .await
    .context("applying web UI passwords")?;
    store
        .apply_status_pages(&settings.status_pages, now)
        .await
        .context("applying status pages from the config")?;
    store
        .apply_directory_decl(&settings.directory_decl, now)
        .await
        .context(
            "applying contacts, notification rules, escalations and routing rules from the config",
        )?;
    store
        .apply_heartbeats(heartbeats, now)
        .await
        .context("applying heartbeats from the config")?;
    Ok(())
}

/// The secret outgoing webhooks are signed with: `notify.webhook_secret`, or one generated
/// once and kept in the database.
pub async fn webhook_secret(
    store: &Store,
    notify: &klaxon_core::notify_config::NotifyConfig,
) -> anyhow::Result<String> {
    Ok(match &notify.webhook_secret {
        Some(s) => s.clone(),
        None => {
            store
                .engine_secret("webhook", &crate::keys::generate_key())
                .await?
        }
    })
}

/// A running Klaxon: the HTTP server and its workers.
pub struct App {
    pub addr: SocketAddr,
    pub state: AppState,
    /// The admin key generated on first start without a config (printed once).
    pub generated_key: Option<String>,
    /// On SQLite: an exclusive lock on `<database>.lock`, held while this process runs the
    /// engine, so a second process on the same file refuses to start instead of firing
    /// timers twice. Released when the process exits, however it exits.
    engine_lock: Option<std::fs::File>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    shutdown: Arc<Notify>,
    workers: Vec<tokio::task::JoinHandle<()>>,
    stop_workers: tokio::sync::watch::Sender<bool>,
}

impl App {
    /// Opens the store, applies the config, starts the workers and the HTTP listener.
    pub async fn start(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        let engine_lock = lock_sqlite_engine(&settings.database)?;
        let store = Store::connect(&settings.database)
            .await
            .with_context(|| format!("opening database {}", redact(&settings.database)))?;
        let mut app = Self::start_with_store(settings, store, clock).await?;
        app.engine_lock = engine_lock;
        Ok(app)
    }

    pub async fn start_with_store(
        settings: &Settings,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<App> {
        let heartbeats = crate::engine::heartbeats::declared(&settings.config.heartbeats)?;
        apply_config(&store, settings, &heartbeats, clock.now_ms()).await?;
        let generated_key = if settings.directory.integrations.is_empty()
            && store.integration_count().await? == 0
        {
            let key = crate::keys::generate_key();
            store
                .create_integration(
                    &IntegrationSpec {
                        name: "default".into(),
                        kind: "api".into(),
                        key_hash: crate::keys::hash_key(&key),
                        team: None,
                        default_priority: None,
                        default_tags: vec![],
                        enabled: true,
                    },
                    clock.now_ms(),
                )
                .await?;
            Some(key)
        } else {
            None
        };

        let metrics = Arc::new(Metrics::default());
        // One group-commit writer on both backends. PostgreSQL could take concurrent batches,
        // but more, smaller transactions cost it more CPU per alert, which the engine's rounds
        // and the creates themselves then wait for: at 1,000 alerts/s, accepted → first webhook
        // p99 was 16-22 ms with 1 writer, 25-28 ms with 2 and 72-87 ms with 4, and 1 writer
        // also created the most alerts/s (docs/benchmarks.md, session 6).
        let writers = 1;
        let listener = tokio::net::TcpListener::bind(&settings.listen)
            .await
            .with_context(|| format!("listening on {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let escalation_wake = Arc::new(Notify::new());
        let (writer, mut workers) = Writer::start(store.clone(), metrics.clone(), writers);
        {
            // Every committed batch wakes the escalation worker: new alerts and changes (an
            // un-acknowledgement restarts an escalation) are due at once.
            let mut committed = writer.subscribe();
            let wake = escalation_wake.clone();
            workers.push(tokio::spawn(async move {
                while committed.changed().await.is_ok() {
                    wake.notify_one();
                }
            }));
        }
        let notify = Arc::new(settings.config.notify.clone());
        metrics.config_loaded(clock.now_ms());
        // Two different secrets: a webhook receiver learns its key, which must not sign links.
        let link_secret = store
            .engine_secret("links", &crate::keys::generate_key())
            .await?;
        let webhook_secret = webhook_secret(&store, &notify).await?;
        let base_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let links =
            crate::engine::links::LinkSigner::new(&link_secret, &base_url, notify.link_ttl_ms());
        if store.dialect() == Dialect::Sqlite {
            // This process holds the SQLite engine lock: claims left by an earlier run are
            // its own, from before a crash, and can be picked up at once.
            store.release_engine_leases(clock.now_ms()).await?;
        }
        let state = AppState {
            store: store.clone(),
            writer: writer.clone(),
            metrics,
            clock: clock.clone(),
            keys: Arc::new(KeyCache::default()),
            snooze_wake: Arc::new(Notify::new()),
            heartbeat_wake: Arc::new(Notify::new()),
            maintenance_wake: Arc::new(Notify::new()),
            public_url: settings.public_url.clone(),
            opsgenie_prefix: settings.opsgenie_prefix.clone(),
            mappings: Arc::new(Live::new(settings.config.alert_mappings())),
            live: Arc::new(crate::http::ui::LiveAlerts::default()),
            am: Arc::new(Live::new(crate::engine::alertmanager::AmRuntime::new(
                settings,
                clock.now_ms(),
            )?)),
            links: links.clone(),
            escalation_wake: escalation_wake.clone(),
            pages_wake: Arc::new(Notify::new()),
            outbox_wake: Arc::new(Notify::new()),
            status_pages: Default::default(),
            channels: Arc::new(Live::new(crate::notify::Channels::new(
                notify.clone(),
                webhook_secret,
            )?)),
            health_checks: Arc::new(Live::new(crate::status::health::Checks::new(
                &settings.config.health_checks,
            ))),
            health_wake: Arc::new(Notify::new()),
            host_pages: Arc::new(Live::new(crate::http::statuspage::HostPages::new(
                &settings.status_pages,
            ))),
            source: Arc::new(crate::reload::Source {
                settings: tokio::sync::Mutex::new(settings.clone()),
            }),
        };
        store.set_status_notifier(crate::status::subscribers::notifier(
            base_url.clone(),
            state.outbox_wake.clone(),
        ));
        let (stop_workers, stop_rx) = tokio::sync::watch::channel(false);
        workers.push(tokio::spawn(crate::engine::snooze::run(
            store.clone(),
            writer.clone(),
            clock.clone(),
            state.snooze_wake.clone(),
            stop_rx.clone(),
        )));
        workers.push(tokio::spawn(state.live.clone().run(
            store.clone(),
            writer.clone(),
            stop_rx.clone(),
        )));
        workers.push(tokio::spawn(crate::engine::alertmanager::run(
            state.am.clone(),
            store.clone(),
            writer.clone(),
            clock.clone(),
            stop_rx.clone(),
        )));
        workers.push(tokio::spawn(crate::status::maintenance::run(
            store.clone(),
            clock.clone(),
            state.maintenance_wake.clone(),
            stop_rx.clone(),
        )));
        workers.push(tokio::spawn(crate::status::health::run(
            store.clone(),
            writer.clone(),
            clock.clone(),
            state.health_checks.clone(),
            state.health_wake.clone(),
            stop_rx.clone(),
        )));
        workers.push(tokio::spawn(crate::engine::heartbeats::run(
            store.clone(),
            writer.clone(),
            clock.clone(),
            state.heartbeat_wake.clone(),
            stop_rx.clone(),
        )));
        if store.dialect() == Dialect::Postgres {
            workers.push(tokio::spawn(analyze_young_tables(
                store.clone(),
                clock.clone(),
                stop_rx.clone(),
            )));
        }
        // The escalation, page and outbox workers run on the engine's own thread.
        workers.push(
            crate::engine::thread::start(crate::engine::thread::Parts {
                store: store.clone(),
                writer,
                clock: clock.clone(),
                channels: state.channels.clone(),
                links,
                escalation_wake,
                pages_wake: state.pages_wake.clone(),
                outbox_wake: state.outbox_wake.clone(),
                stop: stop_rx,
            })
            .await?,
        );

        let router = crate::http::router(state.clone());
        let shutdown = Arc::new(Notify::new());
        let stop = shutdown.clone();
        let host_pages = state.host_pages.clone();
        let server = tokio::spawn(async move {
            // Clients write `/v2/users/` as often as `/v2/users`; strip the slash before routing.
            let app = tower::Layer::layer(
                &tower_http::normalize_path::NormalizePathLayer::trim_trailing_slash(),
                router,
            );
            // A status page with its own host name owns `/` on that host.
            let app = tower::Layer::layer(
                &tower::util::MapRequestLayer::new(move |r| host_pages.get().rewrite(r)),
                app,
            );
            let app =
                axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                    SocketAddr,
                >(app);
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.notified().await })
                .await
        });
        Ok(App {
            addr,
            state,
            generated_key,
            engine_lock: None,
            server,
            shutdown,
            workers,
            stop_workers,
        })
    }

    /// Stops accepting connections, lets in-flight requests finish, drains the writer, closes
    /// the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.notify_one();
        self.server.await??;
        let _ = self.stop_workers.send(true);
        let App { state, workers, .. } = self;
        let store = state.store.clone();
        drop(state);
        for w in workers {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), w).await;
        }
        store.close().await;
        Ok(())
    }

    /// Runs until SIGINT or SIGTERM, then stops gracefully. SIGHUP reloads the config file.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        #[cfg(unix)]
        let hup = {
            let state = self.state.clone();
            let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    crate::reload::reload_and_log(&state).await;
                }
            })
        };
        shutdown_signal().await;
        #[cfg(unix)]
        hup.abort();
        tracing::info!("shutting down: finishing in-flight requests");
        self.stop().await
    }
}

pub fn default_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// Takes the engine lock of a SQLite database file (`sqlite://PATH` → `PATH.lock`). PostgreSQL
/// needs none: its workers claim rows with `FOR UPDATE SKIP LOCKED`, so processes can share it.
fn lock_sqlite_engine(database: &str) -> anyhow::Result<Option<std::fs::File>> {
    let Some(rest) = database.strip_prefix("sqlite:") else {
        return Ok(None);
    };
    let path = rest
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or("");
    if path.is_empty() || path.contains(":memory:") {
        return Ok(None);
    }
    let lock_path = format!("{path}.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("creating lock file {lock_path}"))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(anyhow::anyhow!(
            "database {path} is in use by another klaxon process; SQLite allows one engine per \
             file (use PostgreSQL to run several klaxon processes)"
        )),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {lock_path}"))
        }
    }
}

/// Hides a password in a database URL for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***@{}", &url[..s], &url[at + 1..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// PostgreSQL: every few seconds, first statistics for the tables that grew without any
/// (`Store::analyze_grown_tables`), so that a new database under load gets sensible query plans
/// in seconds rather than after autovacuum's first visit.
async fn analyze_young_tables(
    store: Store,
    clock: Arc<dyn Clock>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    const EVERY_MS: i64 = 5_000;
    loop {
        tokio::select! {
            _ = clock.sleep_until(clock.now_ms() + EVERY_MS) => {}
            _ = stop.changed() => return,
        }
        match store.analyze_grown_tables().await {
            Ok(t) if !t.is_empty() => {
                tracing::debug!(tables = ?t, "first statistics of grown tables")
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "analyzing grown tables failed"),
        }
    }
}
