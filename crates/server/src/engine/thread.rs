//! The engine's own thread: the escalation, page and outbox workers run on a single-threaded
//! runtime of their own, beside the HTTP server's.
//!
//! Why: a page waits for about twenty database round trips (claim, load, write) and one HTTP
//! send. On the server's runtime each of those wake-ups queued behind whatever HTTP requests
//! were ready at the time, so under 1,000 alerts/s a round took 15 ms on PostgreSQL and a page
//! waited two or three rounds (docs/benchmarks.md). On its own thread the engine is woken by the
//! operating system as soon as its answer arrives. Its PostgreSQL connections are its own pool,
//! opened on this runtime (a connection belongs to the runtime that opened it).

use crate::engine::{escalation, links::LinkSigner, outbox, pages, writer::Writer};
use crate::notify::Channels;
use crate::reload::Live;
use klaxon_core::clock::Clock;
use klaxon_store::Store;
use std::sync::Arc;
use tokio::sync::{watch, Notify};

/// PostgreSQL connections of the engine's pool: the three workers, the outcome recorder and
/// the reads of a round.
const POOL: u32 = 8;

/// What the engine's workers need.
pub struct Parts {
    pub store: Store,
    pub writer: Writer,
    pub clock: Arc<dyn Clock>,
    pub channels: Arc<Live<Channels>>,
    pub links: LinkSigner,
    pub escalation_wake: Arc<Notify>,
    pub pages_wake: Arc<Notify>,
    pub outbox_wake: Arc<Notify>,
    pub stop: watch::Receiver<bool>,
}

/// Starts the engine thread; returns once its workers run (or with the error that kept them
/// from starting). The handle, a task on the caller's runtime, ends when the thread's workers
/// have stopped (after `stop`) and what was in flight is recorded.
pub async fn start(parts: Parts) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<anyhow::Result<()>>();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("klaxon-engine".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.into()));
                    return;
                }
            };
            rt.block_on(run(parts, ready_tx));
            drop(rt);
            let _ = done_tx.send(());
        })?;
    ready_rx.await??;
    Ok(tokio::spawn(async move {
        let _ = done_rx.await;
    }))
}

async fn run(parts: Parts, ready: tokio::sync::oneshot::Sender<anyhow::Result<()>>) {
    let Parts {
        store,
        writer,
        clock,
        channels,
        links,
        escalation_wake,
        pages_wake,
        outbox_wake,
        stop,
    } = parts;
    let store = match store.with_own_pool(POOL).await {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(e.into()));
            return;
        }
    };
    // The three workers share one outbox: the escalation and page workers hand it the
    // deliveries due at once, the outbox worker claims the rest (retries, other processes'
    // leftovers, messages queued by other parts).
    let outbox = outbox::Outbox::new(store.clone(), clock.clone(), channels, outbox_wake.clone());
    let pager = Arc::new(pages::Pager {
        store: store.clone(),
        directory: Default::default(),
        clock: clock.clone(),
        links,
        outbox: outbox.clone(),
    });
    let escalator = Arc::new(escalation::Escalator {
        store: store.clone(),
        writer,
        clock,
        pager: pager.clone(),
        pages_wake: pages_wake.clone(),
    });
    let workers = [
        tokio::spawn(escalation::run(escalator, escalation_wake, stop.clone())),
        tokio::spawn(pages::run(pager, pages_wake, stop.clone())),
        tokio::spawn(outbox::run(outbox, outbox_wake, stop)),
    ];
    let _ = ready.send(Ok(()));
    for w in workers {
        let _ = w.await;
    }
    if store.dialect() == klaxon_store::Dialect::Postgres {
        store.close().await;
    }
}
