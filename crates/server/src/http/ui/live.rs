//! Live alert updates for open browsers: one watcher per process publishes a version number
//! that grows whenever any alert changes; each browser holds a server-sent-events stream and
//! reloads its list when the number moves.
//!
//! The watcher wakes at once when this process's writer commits, and also polls the database
//! every second (a cheap `MAX(seq)` on the timeline's primary key) so that writes of another
//! process sharing the PostgreSQL database show up too. It does nothing while nobody watches.

use super::session::Viewer;
use crate::app::AppState;
use crate::engine::writer::Writer;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Extension;
use futures_util::stream::Stream;
use klaxon_store::Store;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const POLL: Duration = Duration::from_secs(1);
/// At most this often after a burst of commits, so heavy ingest costs one query per interval.
const MIN_GAP: Duration = Duration::from_millis(200);

/// The published alert version.
pub struct LiveAlerts {
    version: watch::Sender<i64>,
}

impl Default for LiveAlerts {
    fn default() -> Self {
        LiveAlerts {
            version: watch::Sender::new(0),
        }
    }
}

impl LiveAlerts {
    /// Runs the watcher until `stop` turns true.
    pub async fn run(
        self: Arc<Self>,
        store: Store,
        writer: Writer,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut commits = writer.subscribe();
        loop {
            if self.version.receiver_count() > 0 {
                match store.alert_change_version().await {
                    Ok(v) => {
                        self.version.send_if_modified(|cur| {
                            let changed = *cur != v;
                            *cur = v;
                            changed
                        });
                    }
                    Err(e) => tracing::warn!(error = %e, "live alerts: reading the change version"),
                }
            }
            tokio::select! {
                _ = stop.changed() => return,
                r = commits.changed() => {
                    if r.is_err() {
                        // The writer stopped: keep polling for other processes' writes.
                        commits = writer.subscribe();
                    }
                    tokio::time::sleep(MIN_GAP).await;
                }
                _ = tokio::time::sleep(POLL) => {}
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}

/// `GET /ui/events`: an `alerts` event whenever the alert version moves.
pub async fn events(
    State(state): State<AppState>,
    Extension(_viewer): Extension<Viewer>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut rx = state.live.version.subscribe();
    rx.mark_unchanged();
    let stream = async_stream(rx);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn async_stream(rx: watch::Receiver<i64>) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.changed().await.ok()?;
        let v = *rx.borrow_and_update();
        Some((Ok(Event::default().event("alerts").data(v.to_string())), rx))
    })
}
