//! `klaxon-bench-ui-list`: the web UI's alert list with many alerts in the database.
//!
//! Starts a real Klaxon (in process, on a loopback port) over a fresh SQLite file or a fresh
//! PostgreSQL database, writes `--alerts` alerts through the store's group-commit path (most of
//! them closed, as in a long-lived installation), signs in through the sign-in form, and times
//! `GET /ui/alerts` page views over one keep-alive connection: the default view (open alerts,
//! newest first), all alerts, a deep page reached by following "Next page" links, searches and
//! another order. Each figure is the request's round trip over loopback: server time plus a few
//! microseconds.

use anyhow::Context;
use clap::Parser;
use klaxon_core::alert::Priority;
use klaxon_core::clock::{Clock, SystemClock};
use klaxon_core::lifecycle::{Action, Actor};
use klaxon_store::{ActionRequest, Identifier, NewAlert, Store, WriteKind, WriteOp};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// Alerts to store.
    #[arg(long, default_value_t = 100_000)]
    alerts: usize,
    /// Share of them left open (the rest are closed), in percent.
    #[arg(long, default_value_t = 10)]
    open_percent: usize,
    /// Page views timed per case.
    #[arg(long, default_value_t = 100)]
    requests: usize,
    /// `sqlite` or a `postgres://…` URL of a server (a fresh database is created on it).
    #[arg(long, default_value = "sqlite")]
    database: String,
    /// Keep the database afterwards (its URL is printed), e.g. to EXPLAIN the list's queries.
    #[arg(long)]
    keep_database: bool,
}

const PASSWORD: &str = "bench-password-1";

const MEMBER: &str = "member@example.com";

/// Signs in through the sign-in form; returns the session cookie (`klaxon_session=…`).
async fn sign_in(http: &reqwest::Client, base: &str, username: &str) -> anyhow::Result<String> {
    let login = http.get(format!("{base}/ui/login")).send().await?;
    let login_cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .context("sign-in cookie")?
        .to_string();
    let csrf = login_cookie
        .split_once('=')
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    let signed = http
        .post(format!("{base}/ui/login"))
        .header("Cookie", &login_cookie)
        .header("Origin", base)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", username),
            ("password", PASSWORD),
        ])
        .send()
        .await?;
    let session = signed
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("klaxon_session="))
        .and_then(|c| c.split(';').next())
        .context("session cookie: sign-in failed")?
        .to_string();
    Ok(session)
}

fn op(kind: WriteKind, now: i64) -> WriteOp {
    WriteOp {
        request_id: format!("bench-{}", uuid_like(now)),
        integration_id: String::new(),
        integration_name: "bench".into(),
        integration_type: "API".into(),
        team_id: None,
        actor: Actor {
            user: "bench".into(),
            via: "API".into(),
            source: "bench".into(),
        },
        now,
        kind,
    }
}

fn uuid_like(n: i64) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    format!("{n}-{}", SEQ.fetch_add(1, Ordering::Relaxed))
}

async fn fill(store: &Store, n: usize, open_percent: usize, start: i64) -> anyhow::Result<()> {
    let tags = ["db", "api", "web", "cache", "queue"];
    let prios = [
        Priority::P1,
        Priority::P2,
        Priority::P3,
        Priority::P3,
        Priority::P4,
    ];
    let mut i = 0;
    while i < n {
        let end = (i + 1000).min(n);
        let mut ops = Vec::with_capacity(end - i);
        for k in i..end {
            let mut details = BTreeMap::new();
            details.insert("host".to_string(), format!("host-{}", k % 500));
            ops.push(op(
                WriteKind::Create(Box::new(NewAlert {
                    alias: format!("bench-{k}"),
                    message: format!("Disk {}% full on host-{}", 80 + k % 20, k % 500),
                    description: String::new(),
                    priority: prios[k % prios.len()],
                    source: "bench".into(),
                    entity: String::new(),
                    tags: vec![tags[k % tags.len()].to_string(), "prod".into()],
                    details,
                    actions: vec![],
                    responders: vec![],
                    visible_to: vec![],
                    note: None,
                })),
                start + k as i64 * 1000,
            ));
        }
        for r in store.write_batch(&ops).await {
            r.context("creating alerts")?;
        }
        let closes: Vec<WriteOp> = (i..end)
            .filter(|k| k % 100 >= open_percent)
            .map(|k| {
                op(
                    WriteKind::Act {
                        target: Identifier::Alias(format!("bench-{k}")),
                        action: ActionRequest::Ready(Action::Close),
                        note: None,
                    },
                    start + k as i64 * 1000 + 500,
                )
            })
            .collect();
        for r in store.write_batch(&closes).await {
            r.context("closing alerts")?;
        }
        i = end;
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("klaxon-bench-ui-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let database = if args.database == "sqlite" {
        format!("sqlite://{}", dir.join("bench.db").display())
    } else {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&args.database).await?;
        let name = format!("bench_ui_{}", std::process::id());
        sqlx::Executor::execute(&mut c, format!("CREATE DATABASE {name}").as_str()).await?;
        let base = args
            .database
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&args.database);
        format!("{base}/{name}")
    };
    let mut settings = klaxon_server::settings::Settings::load_with(
        None,
        Some("127.0.0.1:0".into()),
        Some(database.clone()),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    settings.admin_password = Some(PASSWORD.into());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let app = klaxon_server::App::start(&settings, clock.clone()).await?;
    let store = app.state.store.clone();

    let t = Instant::now();
    let start = clock.now_ms() - args.alerts as i64 * 1000;
    fill(&store, args.alerts, args.open_percent, start).await?;
    eprintln!(
        "stored {} alerts ({}% open) in {:.1} s on {}",
        args.alerts,
        args.open_percent,
        t.elapsed().as_secs_f64(),
        if args.database == "sqlite" {
            "SQLite"
        } else {
            "PostgreSQL"
        }
    );

    let base = format!("http://{}", app.addr);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1)
        .build()?;
    let session = sign_in(&http, &base, "admin").await?;
    // A person who is not an admin sees alerts through the visibility filter (their teams,
    // alerts naming them, alerts of no team): the same views again as them.
    let now = clock.now_ms();
    let member = store
        .create_user(
            &klaxon_store::UserFields {
                username: MEMBER.into(),
                full_name: "Bench Member".into(),
                role: "user".into(),
                time_zone: "UTC".into(),
            },
            now,
        )
        .await?;
    store
        .create_team(
            "bench-team",
            "",
            &[(member, klaxon_core::escalation::TeamRole::User)],
            now,
        )
        .await?;
    let hash = klaxon_server::http::ui::session::hash_password(PASSWORD)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    store.set_user_password(MEMBER, &hash, now).await?;
    let member_session = sign_in(&http, &base, MEMBER).await?;

    // A deep page: follow "Next page" 20 times from the all-alerts view.
    let mut deep = "/ui/alerts?f=".to_string();
    for _ in 0..20 {
        let body = http
            .get(format!("{base}{deep}"))
            .header("Cookie", &session)
            .send()
            .await?
            .text()
            .await?;
        let at = body.find(r#"rel="next""#).context("a next page")?;
        let href_at = body[..at].rfind("href=\"").context("next link")? + 6;
        deep = body[href_at..]
            .split('"')
            .next()
            .unwrap_or_default()
            .replace("&amp;", "&");
    }

    let cases = [
        (
            "open alerts, newest first (default view)",
            "/ui/alerts".to_string(),
        ),
        ("all alerts, newest first", "/ui/alerts?f=".to_string()),
        ("all alerts, page 21 (cursor)", deep),
        ("search tag:db (open)", "/ui/alerts?q=tag%3Adb".to_string()),
        (
            "search message:\"host-42\" (all)",
            "/ui/alerts?q=message%3A%22host-42%22&f=".to_string(),
        ),
        (
            "open P1-P2, by priority",
            "/ui/alerts?f=open,p12&sort=priority".to_string(),
        ),
        (
            "open, unacked, mine",
            "/ui/alerts?f=open,unacked,mine".to_string(),
        ),
    ];
    let cases: Vec<(String, &str, String)> = cases
        .iter()
        .map(|(n, p)| (n.to_string(), session.as_str(), p.clone()))
        .chain([
            (
                "as a team member: open alerts (default view)".to_string(),
                member_session.as_str(),
                "/ui/alerts".to_string(),
            ),
            (
                "as a team member: all alerts".to_string(),
                member_session.as_str(),
                "/ui/alerts?f=".to_string(),
            ),
        ])
        .collect();
    println!("| view | p50 | p99 | max |");
    println!("|---|---|---|---|");
    for (name, cookie, path) in &cases {
        let mut ms = Vec::with_capacity(args.requests);
        for _ in 0..args.requests {
            let t = Instant::now();
            let r = http
                .get(format!("{base}{path}"))
                .header("Cookie", *cookie)
                .send()
                .await?;
            anyhow::ensure!(r.status() == 200, "{path}: {}", r.status());
            let body = r.bytes().await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(!body.is_empty());
        }
        ms.sort_by(|a, b| a.total_cmp(b));
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} ms |",
            percentile(&ms, 0.5),
            percentile(&ms, 0.99),
            ms[ms.len() - 1]
        );
    }
    app.stop().await?;
    if args.keep_database {
        eprintln!("kept the database: {database}");
    } else if args.database == "sqlite" {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
