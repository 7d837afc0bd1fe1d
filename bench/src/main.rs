//! `klaxon-load`: a small closed-loop HTTP load generator for Klaxon's create-alert path.
//!
//! Each of `--connections` keep-alive connections sends one request, waits for the answer,
//! sends the next, for `--seconds`. Prints requests/s and latency percentiles. Modes:
//! `unique` (every alert new), `dedup` (most creates repeat one of a few aliases).

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use std::time::{Duration, Instant};

#[derive(Parser, Clone)]
struct Args {
    /// Base URL, e.g. http://127.0.0.1:8080 (add the OpsGenie prefix if one is set).
    #[arg(long)]
    url: String,
    #[arg(long)]
    key: String,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// unique | dedup
    #[arg(long, default_value = "unique")]
    mode: String,
    /// With --mode dedup: how many distinct aliases the repeated creates use.
    #[arg(long, default_value_t = 50)]
    dedup_aliases: usize,
    /// With --mode dedup: percent of requests that repeat an alias.
    #[arg(long, default_value_t = 80)]
    dedup_percent: u64,
    /// A label for the printed line.
    #[arg(long, default_value = "klaxon")]
    label: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let uri: hyper::Uri = format!("{}/v2/alerts", args.url.trim_end_matches('/')).parse()?;
    let host = uri.host().context("url needs a host")?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let run_id = std::process::id();
    let mut tasks = Vec::new();
    for c in 0..args.connections {
        let (args, uri, host) = (args.clone(), uri.clone(), host.clone());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            let mut i = 0u64;
            while Instant::now() < deadline {
                i += 1;
                let alias = if args.mode == "dedup" && (i * 7 + c as u64) % 100 < args.dedup_percent
                {
                    format!("dedup-{}", (i as usize + c) % args.dedup_aliases)
                } else {
                    format!("load-{run_id}-{c}-{i}")
                };
                let body = serde_json::json!({
                    "message": format!("Load test alert {i}"),
                    "alias": alias,
                    "priority": "P3",
                    "tags": ["load", "bench"],
                    "details": {"connection": c.to_string(), "seq": i.to_string()},
                    "source": "klaxon-load",
                });
                let req = Request::post(uri.clone())
                    .header("host", &host)
                    .header("authorization", format!("GenieKey {}", args.key))
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body.to_string())))?;
                let t = Instant::now();
                sender.ready().await?;
                let resp = sender.send_request(req).await?;
                let status = resp.status().as_u16();
                resp.into_body().collect().await?;
                lat.push(t.elapsed());
                if status != 202 {
                    errors += 1;
                }
            }
            anyhow::Ok((lat, errors))
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await??;
        all.extend(l);
        errors += e;
    }
    if all.is_empty() {
        bail!("no request completed");
    }
    all.sort();
    let pct =
        |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    let rps = all.len() as f64 / args.seconds as f64;
    println!(
        "{:<28} mode={:<6} conns={:<4} requests={:<8} errors={:<4} rps={:>9.0} p50={:>6.2}ms p99={:>6.2}ms max={:>7.2}ms",
        args.label, args.mode, args.connections, all.len(), errors, rps, pct(0.50), pct(0.99), pct(1.0)
    );
    if errors > 0 {
        bail!("{errors} requests were not answered 202");
    }
    Ok(())
}
