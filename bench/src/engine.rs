//! `klaxon-bench-engine`: how fast a page leaves Klaxon, and how late escalations fire.
//!
//! It runs its own webhook receiver (the contact method of the paged user points at it) and
//! records when each alert's first webhook arrives.
//!
//! - `--mode latency`: creates alerts open-loop at `--rate` per second for `--seconds`, each
//!   with an escalation whose first rule pages at once, and prints p50/p90/p99/max of
//!   "create request sent → webhook received" (and "202 received → webhook received").
//! - `--mode lateness`: creates `--alerts` alerts as fast as it can, each with an escalation
//!   whose only rule fires `--delay-secs` after creation, then waits for every page and prints
//!   the lateness of each (arrival − (alert createdAt + delay)): p50/p99/max. All the steps
//!   fall due within the time it takes to create them, so this measures throughput.
//! - `--mode steady`: first opens `--alerts` alerts on `--idle-escalation` (a policy whose step
//!   lies far in the future, so they stay open with a pending escalation row each), then
//!   creates alerts at `--rate` per second for `--seconds` on `--escalation` and prints the
//!   lateness of their steps (`--delay-secs` after creation): how late a step fires while
//!   100,000 alerts are open, at a steady rate the engine can keep up with.

use anyhow::Context;
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Parser, Clone)]
struct Args {
    #[arg(long)]
    url: String,
    #[arg(long)]
    key: String,
    /// Port of the webhook receiver this program runs (the user's contact URL).
    #[arg(long)]
    receiver_port: u16,
    /// latency | lateness
    #[arg(long, default_value = "latency")]
    mode: String,
    /// The escalation policy alerts are sent to.
    #[arg(long)]
    escalation: String,
    /// steady: the policy of the open background alerts.
    #[arg(long, default_value = "idle")]
    idle_escalation: String,
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 100_000)]
    alerts: usize,
    #[arg(long, default_value_t = 60)]
    delay_secs: i64,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    #[arg(long, default_value = "klaxon")]
    label: String,
}

type Arrivals = Arc<Mutex<HashMap<String, (Instant, i64, i64)>>>;

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Records the first arrival per alias: (instant, wall ms, alert createdAt ms).
async fn receiver(port: u16, arrivals: Arrivals) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                let arrivals = arrivals.clone();
                async move {
                    let at = Instant::now();
                    let wall = wall_ms();
                    let body = req
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
                        let alias = v["alert"]["alias"].as_str().unwrap_or("").to_string();
                        let created = v["alert"]["createdAt"]
                            .as_str()
                            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                            .map(|d| d.timestamp_millis())
                            .unwrap_or(0);
                        arrivals
                            .lock()
                            .unwrap()
                            .entry(alias)
                            .or_insert((at, wall, created));
                    }
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(
                        b"{}",
                    ))))
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}

struct Client {
    uri: hyper::Uri,
    host: String,
    port: u16,
    key: String,
}

impl Client {
    async fn connect(
        &self,
    ) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port)).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(sender)
    }

    async fn create(
        &self,
        sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
        alias: &str,
        escalation: &str,
    ) -> anyhow::Result<()> {
        let body = serde_json::json!({
            "message": format!("bench {alias}"),
            "alias": alias,
            "priority": "P1",
            "responders": [{"type": "escalation", "name": escalation}],
        });
        let req = Request::post(self.uri.clone())
            .header("host", &self.host)
            .header("authorization", format!("GenieKey {}", self.key))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))?;
        sender.ready().await?;
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        let _ = resp.into_body().collect().await?;
        anyhow::ensure!(status.as_u16() == 202, "create answered {status}");
        Ok(())
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(mut v: Vec<f64>) -> String {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    format!(
        "n={} p50={:.1}ms p90={:.1}ms p99={:.1}ms max={:.1}ms",
        v.len(),
        pct(&v, 0.5),
        pct(&v, 0.9),
        pct(&v, 0.99),
        v.last().copied().unwrap_or(f64::NAN)
    )
}

async fn wait_all(arrivals: &Arrivals, n: usize, limit: Duration) -> usize {
    let end = Instant::now() + limit;
    loop {
        let got = arrivals.lock().unwrap().len();
        if got >= n || Instant::now() > end {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let arrivals: Arrivals = Arc::default();
    tokio::spawn(receiver(args.receiver_port, arrivals.clone()));
    let uri: hyper::Uri = format!("{}/v2/alerts", args.url.trim_end_matches('/')).parse()?;
    let client = Arc::new(Client {
        host: uri.host().context("url needs a host")?.to_string(),
        port: uri.port_u16().unwrap_or(80),
        uri,
        key: args.key.clone(),
    });
    let run = std::process::id();
    match args.mode.as_str() {
        "latency" => {
            let total = (args.rate * args.seconds) as usize;
            let sent: Arc<Mutex<HashMap<String, (Instant, Instant)>>> = Arc::default();
            let (tx, rx) = async_channel::<(String, Instant)>(args.connections * 4);
            let mut workers = Vec::new();
            for _ in 0..args.connections {
                let (client, rx, sent) = (client.clone(), rx.clone(), sent.clone());
                let escalation = args.escalation.clone();
                workers.push(tokio::spawn(async move {
                    let mut sender = client.connect().await?;
                    while let Ok((alias, t0)) = rx.recv().await {
                        client.create(&mut sender, &alias, &escalation).await?;
                        sent.lock().unwrap().insert(alias, (t0, Instant::now()));
                    }
                    anyhow::Ok(())
                }));
            }
            let start = Instant::now();
            for i in 0..total {
                let due = start + Duration::from_micros(i as u64 * 1_000_000 / args.rate);
                tokio::time::sleep_until(due.into()).await;
                tx.send((format!("lat-{run}-{i}"), Instant::now())).await?;
            }
            drop(tx);
            for w in workers {
                w.await??;
            }
            let offered = total as f64 / start.elapsed().as_secs_f64();
            let got = wait_all(&arrivals, total, Duration::from_secs(30)).await;
            let arr = arrivals.lock().unwrap();
            let sent = sent.lock().unwrap();
            let mut from_send = Vec::new();
            let mut from_ack = Vec::new();
            for (alias, (t0, t202)) in sent.iter() {
                if let Some((at, _, _)) = arr.get(alias) {
                    from_send.push(at.duration_since(*t0).as_secs_f64() * 1e3);
                    from_ack.push(at.saturating_duration_since(*t202).as_secs_f64() * 1e3);
                }
            }
            println!(
                "{}: alert → first webhook at {:.0} alerts/s offered ({} of {} delivered): from request sent {}; from 202 {}",
                args.label, offered, got, total, summary(from_send), summary(from_ack)
            );
        }
        "lateness" => {
            let start = Instant::now();
            create_many(
                &client,
                &format!("late-{run}"),
                args.alerts,
                args.connections,
                &args.escalation,
            )
            .await?;
            let took = start.elapsed().as_secs_f64();
            println!(
                "{}: {} open alerts created in {:.1}s ({:.0}/s); waiting for their escalations ({}s after each creation)",
                args.label, args.alerts, took, args.alerts as f64 / took, args.delay_secs
            );
            let got = wait_all(
                &arrivals,
                args.alerts,
                Duration::from_secs(args.delay_secs as u64 + took as u64 + 120),
            )
            .await;
            let late = lateness(&arrivals, args.delay_secs);
            println!(
                "{}: escalation lateness with {} open alerts ({} of {} fired): {}",
                args.label,
                args.alerts,
                got,
                args.alerts,
                summary(late)
            );
        }
        "steady" => {
            let start = Instant::now();
            create_many(
                &client,
                &format!("idle-{run}"),
                args.alerts,
                args.connections,
                &args.idle_escalation,
            )
            .await?;
            let took = start.elapsed().as_secs_f64();
            println!(
                "{}: {} open alerts with a pending step created in {:.1}s; now {}/s for {}s, each step {}s after creation",
                args.label, args.alerts, took, args.rate, args.seconds, args.delay_secs
            );
            let total = (args.rate * args.seconds) as usize;
            let mut sender = client.connect().await?;
            let begin = Instant::now();
            for i in 0..total {
                let due = begin + Duration::from_micros(i as u64 * 1_000_000 / args.rate);
                tokio::time::sleep_until(due.into()).await;
                client
                    .create(&mut sender, &format!("steady-{run}-{i}"), &args.escalation)
                    .await?;
            }
            let got = wait_all(
                &arrivals,
                total,
                Duration::from_secs(args.delay_secs as u64 + 120),
            )
            .await;
            let late = lateness(&arrivals, args.delay_secs);
            println!(
                "{}: escalation lateness at {}/s with {} open alerts ({} of {} fired): {}",
                args.label,
                args.rate,
                args.alerts,
                got,
                total,
                summary(late)
            );
        }
        other => anyhow::bail!("unknown mode {other:?}: latency | lateness | steady"),
    }
    Ok(())
}

/// Creates `n` alerts named `{prefix}-{i}` on `escalation` over `connections` connections, as
/// fast as Klaxon takes them.
async fn create_many(
    client: &Arc<Client>,
    prefix: &str,
    n: usize,
    connections: usize,
    escalation: &str,
) -> anyhow::Result<()> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (client, next) = (client.clone(), next.clone());
        let (prefix, escalation) = (prefix.to_string(), escalation.to_string());
        workers.push(tokio::spawn(async move {
            let mut sender = client.connect().await?;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(());
                }
                client
                    .create(&mut sender, &format!("{prefix}-{i}"), &escalation)
                    .await?;
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    Ok(())
}

/// Each arrival's lateness: arrival − (alert createdAt + delay), in ms.
fn lateness(arrivals: &Arrivals, delay_secs: i64) -> Vec<f64> {
    arrivals
        .lock()
        .unwrap()
        .values()
        .map(|(_, wall, created)| (wall - (created + delay_secs * 1000)) as f64)
        .collect()
}

/// A small multi-consumer channel on tokio primitives.
fn async_channel<T: Send + 'static>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = tokio::sync::mpsc::channel(cap);
    (Sender(tx), Receiver(Arc::new(tokio::sync::Mutex::new(rx))))
}

struct Sender<T>(tokio::sync::mpsc::Sender<T>);
impl<T> Sender<T> {
    async fn send(&self, v: T) -> anyhow::Result<()> {
        self.0
            .send(v)
            .await
            .map_err(|_| anyhow::anyhow!("workers stopped"))
    }
}

struct Receiver<T>(Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<T>>>);
impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver(self.0.clone())
    }
}
impl<T> Receiver<T> {
    async fn recv(&self) -> Result<T, ()> {
        self.0.lock().await.recv().await.ok_or(())
    }
}
