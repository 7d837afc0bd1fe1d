//! `klaxon-bench-status-seed`: fills a database with a status page for the public-page
//! benchmark: `--components` components (in groups of ten), a year of status history for each
//! (an outage every few days), resolved incidents, and a year of health-check results.
//! Prints the `status_pages:` YAML to give `klaxon serve` (the same page and components, so
//! the server keeps the seeded rows).

use clap::Parser;
use klaxon_store::{ComponentDecl, HealthCheckResult, IncidentWrite, PageDecl, Store};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    database: String,
    #[arg(long, default_value_t = 100)]
    components: usize,
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// Health checks whose results are stored (one result every `--check-every` seconds).
    #[arg(long, default_value_t = 10)]
    checks: usize,
    #[arg(long, default_value_t = 300)]
    check_every: i64,
}

const DAY: i64 = 86_400_000;

fn decl(n: usize) -> PageDecl {
    PageDecl {
        id: "bench".into(),
        name: "Bench".into(),
        host: None,
        branding: "{}".into(),
        groups: (0..n.div_ceil(10))
            .map(|g| (format!("Group {g}"), String::new()))
            .collect(),
        components: (0..n)
            .map(|i| ComponentDecl {
                name: format!("Component {i}"),
                description: format!("Service number {i}"),
                group: Some(format!("Group {}", i / 10)),
                only_show_if_degraded: false,
            })
            .collect(),
    }
}

/// A small deterministic generator (no dependency needed for a benchmark's data).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let store = Store::connect(&a.database).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let start = now - a.days * DAY;
    let page = decl(a.components);
    store
        .apply_status_pages(std::slice::from_ref(&page), start)
        .await?;
    let comps: Vec<_> = store
        .status_components("bench")
        .await?
        .into_iter()
        .filter(|c| !c.is_group)
        .collect();
    let mut rng = Lcg(42);
    let mut history = Vec::new();
    for c in &comps {
        // An outage every 1–6 days, lasting 5–180 minutes.
        let mut t = start + rng.next(DAY as u64) as i64;
        while t < now - DAY {
            let status =
                ["degraded_performance", "partial_outage", "major_outage"][rng.next(3) as usize];
            let len = (5 + rng.next(175) as i64) * 60_000;
            history.push((c.id.clone(), t, status.to_string()));
            history.push((c.id.clone(), t + len, "operational".to_string()));
            t += DAY + rng.next(5 * DAY as u64) as i64;
        }
    }
    store.import_status_history(&history).await?;
    let mut incidents = 0;
    for day in (0..a.days).step_by(3) {
        let at = start + day * DAY + 3_600_000;
        let c = &comps[rng.next(comps.len() as u64) as usize];
        let w = IncidentWrite {
            name: Some(format!("Elevated errors on {}", c.name)),
            body: Some("We are investigating.".into()),
            impact: Some("major".into()),
            component_ids: Some(vec![c.id.clone()]),
            ..Default::default()
        };
        let id = store.create_status_incident("bench", &w, at).await?;
        for (i, st) in ["identified", "monitoring", "resolved"].iter().enumerate() {
            let w = IncidentWrite {
                status: Some(st.to_string()),
                body: Some(format!("Update: {st}.")),
                ..Default::default()
            };
            store
                .update_status_incident("bench", &id, &w, at + (i as i64 + 1) * 1_200_000)
                .await?;
        }
        incidents += 1;
    }
    let mut results = 0usize;
    for k in 0..a.checks {
        let rows: Vec<HealthCheckResult> = (0..(a.days * 86_400 / a.check_every))
            .map(|i| HealthCheckResult {
                at: start + i * a.check_every * 1000,
                ok: rng.next(200) != 0,
                latency_ms: 20 + rng.next(80) as i64,
                status_code: Some(200),
                error: None,
            })
            .collect();
        results += rows.len();
        store
            .import_health_check_results(&format!("check-{k}"), &rows)
            .await?;
    }
    eprintln!(
        "seeded {} components, {} history rows, {incidents} incidents, {results} check results",
        comps.len(),
        history.len()
    );
    println!("status_pages:\n  - id: bench\n    name: Bench\n    groups:");
    for (g, _) in &page.groups {
        println!("      - {{name: \"{g}\"}}");
    }
    println!("    components:");
    for c in &page.components {
        println!(
            "      - {{name: \"{}\", group: \"{}\", description: \"{}\"}}",
            c.name,
            c.group.as_deref().unwrap_or(""),
            c.description
        );
    }
    store.close().await;
    Ok(())
}
