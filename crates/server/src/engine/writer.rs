//! Group commit. Every alert write and every Alertmanager API ingest is sent here; a worker
//! takes whatever has queued up and commits it in one transaction per kind, then answers each
//! caller. Under load many requests share one fsync, so durability (a 2xx means committed)
//! does not cost throughput.

use crate::metrics::Metrics;
use klaxon_store::{AmIngest, Outcome, Store, StoreError, WriteOp};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};

const MAX_BATCH: usize = 512;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

enum Job {
    /// A Klaxon alert create or action (OpsGenie, PagerDuty, webhooks, the engine).
    Alert(Box<WriteOp>, Reply<Outcome>),
    /// One `POST /api/v2/alerts` (Prometheus alerts, their groups and memberships).
    AmIngest(AmIngest, Reply<()>),
}

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    /// Counts committed batches of Klaxon alert writes, so watchers in this process (the UI's
    /// live list, the escalation worker) learn of a change at once instead of polling.
    committed: Arc<tokio::sync::watch::Sender<u64>>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the writer has stopped (server shutting down)")]
    Stopped,
}

impl Writer {
    /// Starts `workers` writer tasks (1 on SQLite, which has a single writer anyway). They
    /// stop when every `Writer` handle is dropped and the queue is drained.
    pub fn start(
        store: Store,
        metrics: Arc<Metrics>,
        workers: usize,
    ) -> (Writer, Vec<tokio::task::JoinHandle<()>>) {
        let (tx, rx) = mpsc::channel::<Job>(16_384);
        let rx = Arc::new(Mutex::new(rx));
        let committed = Arc::new(tokio::sync::watch::Sender::new(0u64));
        let handles = (0..workers.max(1))
            .map(|_| {
                let (store, metrics, rx) = (store.clone(), metrics.clone(), rx.clone());
                let committed = committed.clone();
                tokio::spawn(async move { run(store, metrics, rx, committed).await })
            })
            .collect();
        (Writer { tx, committed }, handles)
    }

    /// Changes whenever a batch of Klaxon alert writes has been committed.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// Commits one operation (with whatever else is queued) and returns its outcome.
    pub async fn write(&self, op: WriteOp) -> Result<Outcome, WriteError> {
        let (done, wait) = oneshot::channel();
        self.send(Job::Alert(Box::new(op), done)).await?;
        Ok(wait.await.map_err(|_| WriteError::Stopped)??)
    }

    /// Commits one Alertmanager API ingest together with the others queued (in the order
    /// they arrived); returns once it is committed.
    pub async fn am_ingest(&self, ingest: AmIngest) -> Result<(), WriteError> {
        let (done, wait) = oneshot::channel();
        self.send(Job::AmIngest(ingest, done)).await?;
        Ok(wait.await.map_err(|_| WriteError::Stopped)??)
    }

    async fn send(&self, job: Job) -> Result<(), WriteError> {
        self.tx.send(job).await.map_err(|_| WriteError::Stopped)
    }
}

async fn run(
    store: Store,
    metrics: Arc<Metrics>,
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    committed: Arc<tokio::sync::watch::Sender<u64>>,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    loop {
        {
            let mut rx = rx.lock().await;
            if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
                return;
            }
        }
        // The two kinds touch different tables: one transaction for each.
        let (mut ops, mut op_waiters) = (Vec::new(), Vec::new());
        let (mut ingests, mut ingest_waiters) = (Vec::new(), Vec::new());
        for job in batch.drain(..) {
            match job {
                Job::Alert(op, w) => {
                    ops.push(*op);
                    op_waiters.push(w);
                }
                Job::AmIngest(i, w) => {
                    ingests.push(i);
                    ingest_waiters.push(w);
                }
            }
        }
        if !ops.is_empty() {
            let results = store.write_batch(&ops).await;
            metrics.write_batches.fetch_add(1, Relaxed);
            metrics.write_batch_ops.fetch_add(ops.len() as u64, Relaxed);
            answer(results, op_waiters, "alert write failed");
            committed.send_modify(|n| *n = n.wrapping_add(1));
        }
        if !ingests.is_empty() {
            let results = store.am_ingest_batch(&ingests).await;
            metrics.write_batches.fetch_add(1, Relaxed);
            metrics
                .write_batch_ops
                .fetch_add(ingests.len() as u64, Relaxed);
            answer(results, ingest_waiters, "alertmanager ingest failed");
        }
    }
}

fn answer<T>(results: Vec<Result<T, StoreError>>, waiters: Vec<Reply<T>>, what: &str) {
    for (r, w) in results.into_iter().zip(waiters) {
        if let Err(e) = &r {
            tracing::error!(error = %e, "{what}");
        }
        let _ = w.send(r);
    }
}
