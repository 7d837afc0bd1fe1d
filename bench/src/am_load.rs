//! `klaxon-am-load`: posts the same batches of Prometheus alerts (`--batch` per request) to an
//! Alertmanager API v2 (the real Alertmanager or Klaxon) over `--connections` keep-alive
//! connections until `--alerts` distinct alerts were sent, then times
//! `GET /api/v2/alerts?filter=…`. Prints one line of figures.

use anyhow::Context;
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::Request;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser, Clone)]
struct Args {
    /// Base URL, e.g. http://127.0.0.1:9093
    #[arg(long)]
    url: String,
    /// Sent as `Authorization: Bearer <key>` (Klaxon); empty for Alertmanager.
    #[arg(long, default_value = "")]
    key: String,
    #[arg(long, default_value_t = 8)]
    connections: usize,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Distinct alerts to post in total.
    #[arg(long, default_value_t = 100_000)]
    alerts: u64,
    /// How many times to run each filtered query.
    #[arg(long, default_value_t = 5)]
    queries: usize,
    #[arg(long, default_value = "target")]
    label: String,
    /// Port of the webhook receiver this program runs for the delivery probes (0: no probes).
    /// The server must deliver alerts with a `probe` label there with group_wait 0.
    #[arg(long, default_value_t = 0)]
    probe_port: u16,
    /// How many single-alert delivery probes to time (one after the other).
    #[arg(long, default_value_t = 20)]
    probes: usize,
}

type Seen = Arc<Mutex<HashMap<String, Instant>>>;

/// The probe receiver: records when a body mentioning `probe-<run>-<i>` first arrived.
async fn probe_receiver(port: u16, seen: Seen) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let at = Instant::now();
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let text = String::from_utf8_lossy(&body);
                        let mut rest = text.as_ref();
                        while let Some(i) = rest.find("probe-") {
                            let id: String = rest[i..]
                                .chars()
                                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                                .collect();
                            seen.lock().unwrap().entry(id.clone()).or_insert(at);
                            rest = &rest[i + id.len().max(1)..];
                        }
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from_static(b"{}"),
                        )))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(())
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(host: &str, port: u16) -> anyhow::Result<Sender> {
    let stream = tokio::net::TcpStream::connect((host, port)).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn send(
    s: &mut Sender,
    args: &Args,
    host: &str,
    method: &str,
    path: &str,
    body: Bytes,
) -> anyhow::Result<(u16, Bytes)> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", host)
        .header("content-type", "application/json");
    if !args.key.is_empty() {
        req = req.header("authorization", format!("Bearer {}", args.key));
    }
    s.ready().await?;
    let resp = s.send_request(req.body(Full::new(body))?).await?;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// Alert `i`: 100 alertnames, 50 instances per name, severity by name; far-future endsAt so
/// that every alert stays active while queried.
fn alert(i: u64, run: &str) -> serde_json::Value {
    serde_json::json!({
        "labels": {
            "alertname": format!("Alert{}", i % 100),
            "instance": format!("host-{}.example.com:9100", i),
            "job": "node",
            "severity": if i.is_multiple_of(10) { "critical" } else { "warning" },
            "cluster": format!("cluster-{}", i % 7),
            "run": run,
        },
        "annotations": {"summary": format!("Alert {i} is firing"), "runbook_url": "https://runbooks.example.com/x"},
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "2099-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.com/graph?g0.expr=up",
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let uri: hyper::Uri = args.url.parse()?;
    let host = uri.host().context("url needs a host")?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let run = format!("r{}", std::process::id());
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (args, host, next, run) = (args.clone(), host.clone(), next.clone(), run.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = connect(&host, port).await?;
            let mut lat = Vec::new();
            loop {
                let first = next.fetch_add(args.batch as u64, Relaxed);
                if first >= args.alerts {
                    break;
                }
                let last = (first + args.batch as u64).min(args.alerts);
                let batch: Vec<_> = (first..last).map(|i| alert(i, &run)).collect();
                let body = Bytes::from(serde_json::to_vec(&batch)?);
                let t = Instant::now();
                let (status, text) =
                    send(&mut s, &args, &host, "POST", "/api/v2/alerts", body).await?;
                lat.push(t.elapsed());
                anyhow::ensure!(
                    status == 200,
                    "POST answered {status}: {}",
                    String::from_utf8_lossy(&text)
                );
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort();
    let rate = args.alerts as f64 / secs;

    // Queries at the full alert count.
    let mut s = connect(&host, port).await?;
    let queries = [
        ("one alertname", format!("/api/v2/alerts?filter=alertname%3D%22Alert42%22&filter=run%3D%22{run}%22")),
        ("regex", format!("/api/v2/alerts?filter=instance%3D~%22host-1234.%2A%22&filter=run%3D%22{run}%22")),
        ("critical in a cluster", format!("/api/v2/alerts?filter=severity%3D%22critical%22&filter=cluster%3D%22cluster-3%22&filter=run%3D%22{run}%22")),
    ];
    let mut qline = Vec::new();
    for (name, path) in &queries {
        let mut times = Vec::new();
        let mut n = 0;
        for _ in 0..args.queries {
            let t = Instant::now();
            let (status, body) = send(&mut s, &args, &host, "GET", path, Bytes::new()).await?;
            times.push(t.elapsed());
            anyhow::ensure!(status == 200, "GET {path} answered {status}");
            n = serde_json::from_slice::<Vec<serde_json::Value>>(&body)?.len();
        }
        times.sort();
        qline.push(format!(
            "{name} ({n} hits) median {:.1} ms",
            percentile(&times, 0.5)
        ));
    }
    // POST → webhook delivered, one alert at a time (a new group each, group_wait 0).
    let mut pline = String::new();
    if args.probe_port != 0 {
        let seen: Seen = Arc::new(Mutex::new(HashMap::new()));
        probe_receiver(args.probe_port, seen.clone()).await?;
        let mut times = Vec::new();
        let mut lost = 0;
        for i in 0..args.probes {
            let id = format!("probe-{run}-{i}");
            let body = serde_json::json!([{
                "labels": {"alertname": "DeliveryProbe", "probe": id, "severity": "critical", "run": run},
                "annotations": {"summary": id},
                "startsAt": chrono::Utc::now().to_rfc3339(),
                "endsAt": "2099-01-01T00:00:00Z",
            }]);
            let t = Instant::now();
            let (status, text) = send(
                &mut s,
                &args,
                &host,
                "POST",
                "/api/v2/alerts",
                Bytes::from(body.to_string()),
            )
            .await?;
            anyhow::ensure!(
                status == 200,
                "probe POST answered {status}: {}",
                String::from_utf8_lossy(&text)
            );
            let deadline = t + Duration::from_secs(30);
            loop {
                if let Some(at) = seen.lock().unwrap().get(&id) {
                    times.push(at.duration_since(t));
                    break;
                }
                if Instant::now() > deadline {
                    lost += 1;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        times.sort();
        pline = format!(
            "; webhook delivered ({} probes{}) p50 {:.1} ms max {:.1} ms",
            times.len(),
            if lost > 0 {
                format!(", {lost} not delivered within 30 s")
            } else {
                String::new()
            },
            percentile(&times, 0.5),
            times
                .last()
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0),
        );
    }
    println!(
        "{}: {} alerts in {:.2}s = {:.0} alerts/s; POST ({} per request) p50 {:.1} ms p99 {:.1} ms; GET {}{}",
        args.label,
        args.alerts,
        secs,
        rate,
        args.batch,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        qline.join("; "),
        pline,
    );
    Ok(())
}
