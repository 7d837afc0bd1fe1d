//! Alertmanager groups in the store, on every backend: what a flush's finish does with
//! members that arrive while the flush runs.

use klaxon_store::testing::{backends, fresh_database};
use klaxon_store::*;
use std::collections::BTreeMap;

const T0: i64 = 1_700_000_000_000;
const LEASE: i64 = T0 + 60_000;
const INTERVAL: i64 = 300_000;

async fn stores() -> Vec<(Dialect, Store)> {
    let mut v = vec![];
    for b in backends() {
        let url = fresh_database(b).await;
        v.push((b, Store::connect(&url).await.expect("connect")));
    }
    v
}

/// A fingerprint (16 hex digits) for a test alert's name: the name's bytes, so that the
/// fingerprints sort as the names do.
fn fp(name: &str) -> String {
    assert!(name.len() <= 8, "{name}: at most 8 bytes");
    let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{hex:0<16}")
}

fn alert(instance: &str, ends_at: i64) -> AmAlert {
    let labels: BTreeMap<String, String> = [("alertname", "Down"), ("instance", instance)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    AmAlert {
        fingerprint: fp(instance),
        labels,
        annotations: BTreeMap::new(),
        starts_at: T0 - 600_000,
        ends_at,
        generator_url: String::new(),
        updated_at: T0,
    }
}

fn group() -> AmGroupRef {
    AmGroupRef {
        group_key: "{}:{alertname=\"Down\"}".into(),
        route_id: "0".into(),
        receiver: "sre".into(),
        group_labels: [("alertname".to_string(), "Down".to_string())].into(),
        alias: "alias-down".into(),
        first_flush_at: T0,
    }
}

async fn ingest(s: &Store, a: &AmAlert, now: i64) {
    s.am_ingest(
        std::slice::from_ref(a),
        &[(group(), a.fingerprint.clone())],
        now,
    )
    .await
    .expect("ingest");
}

/// The result of a flush at T0 that saw only `a`, resolved: the group is to be deleted.
fn all_resolved() -> AmFlushResult {
    AmFlushResult {
        next_flush_at: None,
        notified: vec![fp("a")],
        suppressed: String::new(),
        last_notified_at: Some(T0 - 60_000),
        remove: vec![fp("a")],
        flushed_at: T0,
        rejoin_flush_at: T0 + INTERVAL,
    }
}

/// The fingerprints of every stored alert, in the store's order.
async fn fingerprints(s: &Store) -> Vec<String> {
    s.am_alerts(None, &[])
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.fingerprint)
        .collect()
}

async fn members(s: &Store) -> Option<(AmGroup, Vec<String>)> {
    s.am_groups().await.expect("groups").into_iter().next()
}

#[tokio::test]
async fn a_member_joining_during_the_last_flush_keeps_the_group() {
    for (b, s) in stores().await {
        ingest(&s, &alert("a", T0 - 1), T0 - 120_000).await;
        let claimed = s.am_claim_groups(T0, LEASE, 10).await.unwrap();
        assert_eq!(claimed.len(), 1, "{b:?}");
        // The flush has read the members (only `a`, resolved); `b` is posted now.
        ingest(&s, &alert("b", T0 + 3_600_000), T0 + 10).await;
        assert!(s
            .am_finish_group(&claimed[0].group_key, LEASE, &all_resolved())
            .await
            .unwrap());
        let (g, fps) = members(&s)
            .await
            .unwrap_or_else(|| panic!("{b:?}: the group (and its new member) was deleted"));
        assert_eq!(fps, vec![fp("b")], "{b:?}");
        assert_eq!(g.flush_at, T0 + INTERVAL, "{b:?}");
        assert!(g.notified.is_empty(), "{b:?}");
        assert_eq!(g.last_notified_at, None, "{b:?}");
    }
}

#[tokio::test]
async fn a_member_firing_again_during_the_last_flush_keeps_the_group() {
    for (b, s) in stores().await {
        ingest(&s, &alert("a", T0 - 1), T0 - 120_000).await;
        let claimed = s.am_claim_groups(T0, LEASE, 10).await.unwrap();
        // A new occurrence of `a`, ending within the lease (an explicit short endsAt).
        ingest(&s, &alert("a", T0 + 30_000), T0 + 10).await;
        assert!(s
            .am_finish_group(&claimed[0].group_key, LEASE, &all_resolved())
            .await
            .unwrap());
        let (g, fps) = members(&s).await.expect("group kept");
        assert_eq!(fps, vec![fp("a")], "{b:?}");
        assert_eq!(g.flush_at, T0 + INTERVAL, "{b:?}");
    }
}

#[tokio::test]
async fn a_group_whose_members_all_resolved_is_deleted() {
    for (b, s) in stores().await {
        ingest(&s, &alert("a", T0 - 1), T0 - 120_000).await;
        let claimed = s.am_claim_groups(T0, LEASE, 10).await.unwrap();
        assert!(s
            .am_finish_group(&claimed[0].group_key, LEASE, &all_resolved())
            .await
            .unwrap());
        assert!(members(&s).await.is_none(), "{b:?}");
        // A finish whose claim was lost changes nothing.
        ingest(&s, &alert("c", T0 + 3_600_000), T0 + 20).await;
        assert!(!s
            .am_finish_group(&group().group_key, LEASE, &all_resolved())
            .await
            .unwrap());
        assert_eq!(
            members(&s).await.expect("new group").1,
            vec![fp("c")],
            "{b:?}"
        );
    }
}

/// Concurrent ingests while groups are flushed and deleted: every member posted firing ends
/// up in its group (on PostgreSQL this exercises the ingest's lock on the groups).
#[tokio::test]
async fn concurrent_ingests_and_finishes_lose_no_member() {
    for (b, s) in stores().await {
        for round in 0..20i64 {
            let now = T0 + round * 1_000_000;
            ingest(&s, &alert(&format!("old{round}"), now - 1), now - 500).await;
            let claimed = s.am_claim_groups(now, now + 60_000, 10).await.unwrap();
            assert_eq!(claimed.len(), 1, "{b:?} round {round}");
            let fresh = alert(&format!("new{round}"), now + 3_600_000);
            let (s1, s2) = (s.clone(), s.clone());
            let key = claimed[0].group_key.clone();
            let result = AmFlushResult {
                remove: vec![fp(&format!("old{round}"))],
                flushed_at: now,
                rejoin_flush_at: now + INTERVAL,
                ..all_resolved()
            };
            let post = tokio::spawn(async move { ingest(&s1, &fresh, now + 10).await });
            let finish =
                tokio::spawn(async move { s2.am_finish_group(&key, now + 60_000, &result).await });
            post.await.unwrap();
            assert!(finish.await.unwrap().unwrap());
            let (_, fps) = members(&s)
                .await
                .unwrap_or_else(|| panic!("{b:?} round {round}: member lost"));
            assert_eq!(fps, vec![fp(&format!("new{round}"))], "{b:?} round {round}");
            // Resolve it for the next round: the next flush deletes the group.
            ingest(&s, &alert(&format!("new{round}"), now + 100), now + 50).await;
            let c = s
                .am_claim_groups(now + 400_000, now + 460_000, 10)
                .await
                .unwrap();
            let r = AmFlushResult {
                remove: vec![fp(&format!("new{round}"))],
                flushed_at: now + 400_000,
                ..all_resolved()
            };
            assert!(s
                .am_finish_group(&c[0].group_key, now + 460_000, &r)
                .await
                .unwrap());
            assert!(members(&s).await.is_none(), "{b:?} round {round}");
        }
    }
}

fn ingest_of(alerts: Vec<AmAlert>, group_wait: i64, now: i64) -> AmIngest {
    let groups = alerts
        .iter()
        .map(|a| {
            let g = AmGroupRef {
                first_flush_at: now + group_wait,
                ..group()
            };
            (g, a.fingerprint.clone())
        })
        .collect();
    AmIngest {
        alerts,
        groups,
        now,
    }
}

fn posted(instance: &str, starts_at: i64, ends_at: i64, summary: &str, now: i64) -> AmAlert {
    AmAlert {
        starts_at,
        annotations: [("summary".to_string(), summary.to_string())].into(),
        updated_at: now,
        ..alert(instance, ends_at)
    }
}

/// Several requests committed in one transaction (group commit) end as if stored one after
/// the other: postings of one fingerprint merge in arrival order, the first request naming a
/// group creates it, and every membership is kept.
#[tokio::test]
async fn a_batch_of_ingests_applies_them_in_arrival_order() {
    for (b, s) in stores().await {
        // Before the batch: `x` firing since T0 - 1h.
        ingest(&s, &alert("x", T0 + 3_600_000), T0 - 100).await;
        let batch = vec![
            // `a` starts firing; `x` is resolved.
            ingest_of(
                vec![
                    posted("a", T0 - 60_000, T0 + 600_000, "first", T0),
                    posted("x", T0 - 600_000, T0 + 5, "resolved", T0),
                ],
                30_000,
                T0,
            ),
            // `a` again, later start (still firing: keeps the first start); `x` fires again
            // after it resolved: a new occurrence with its own start. `b` joins.
            ingest_of(
                vec![
                    posted("a", T0 - 30_000, T0 + 900_000, "second", T0 + 10),
                    posted("x", T0 + 100, T0 + 700_000, "again", T0 + 10),
                    posted("b", T0, T0 + 700_000, "b", T0 + 10),
                ],
                0,
                T0 + 10,
            ),
            // `a` a third time, inside the same request twice: the last one is the newest.
            ingest_of(
                vec![
                    posted("a", T0 - 10_000, T0 + 950_000, "third", T0 + 20),
                    posted("a", T0 - 5_000, T0 + 990_000, "fourth", T0 + 20),
                ],
                0,
                T0 + 20,
            ),
        ];
        let results = s.am_ingest_batch(&batch).await;
        assert!(results.iter().all(Result::is_ok), "{b:?}: {results:?}");

        let stored = s.am_alerts(None, &[]).await.unwrap();
        let by_fp = |fp: &str| {
            stored
                .iter()
                .find(|a| a.fingerprint == fp)
                .unwrap_or_else(|| panic!("{b:?}: {fp} missing"))
        };
        let a = by_fp(&fp("a"));
        assert_eq!(
            (
                a.starts_at,
                a.ends_at,
                a.annotations["summary"].as_str(),
                a.updated_at
            ),
            (T0 - 60_000, T0 + 990_000, "fourth", T0 + 20),
            "{b:?}"
        );
        let x = by_fp(&fp("x"));
        assert_eq!(
            (x.starts_at, x.ends_at, x.annotations["summary"].as_str()),
            (T0 + 100, T0 + 700_000, "again"),
            "{b:?}: a new occurrence after the resolve starts afresh"
        );
        assert_eq!(by_fp(&fp("b")).starts_at, T0, "{b:?}");

        // The group existed before the batch: its due time is the first ingest's.
        let (g, fps) = members(&s).await.expect("group");
        assert_eq!(fps, [fp("a"), fp("b"), fp("x")], "{b:?}");
        assert_eq!((g.flush_at, g.created_at), (T0, T0 - 100), "{b:?}");
    }
}

/// A group first named inside a batch is created by the earliest request naming it.
#[tokio::test]
async fn a_group_opened_in_a_batch_takes_the_first_requests_group_wait() {
    for (b, s) in stores().await {
        let batch = vec![
            ingest_of(vec![posted("a", T0, T0 + 600_000, "a", T0)], 30_000, T0),
            ingest_of(vec![posted("b", T0, T0 + 600_000, "b", T0 + 5)], 0, T0 + 5),
        ];
        let results = s.am_ingest_batch(&batch).await;
        assert!(results.iter().all(Result::is_ok), "{b:?}: {results:?}");
        let (g, fps) = members(&s).await.expect("group");
        assert_eq!(fps, [fp("a"), fp("b")], "{b:?}");
        assert_eq!((g.flush_at, g.created_at), (T0 + 30_000, T0), "{b:?}");
    }
}

/// One request the database refuses does not sink the others committed with it: each is then
/// tried alone. (PostgreSQL refuses a NUL character in text; SQLite stores it, so there every
/// request is kept.)
#[tokio::test]
async fn a_refused_request_in_a_batch_does_not_sink_the_others() {
    for (b, s) in stores().await {
        let mut bad = posted("bad", T0, T0 + 600_000, "bad", T0);
        bad.generator_url = "http://prometheus/\u{0}".into();
        let batch = vec![
            ingest_of(vec![posted("a", T0, T0 + 600_000, "a", T0)], 0, T0),
            ingest_of(vec![bad], 0, T0),
            ingest_of(vec![posted("c", T0, T0 + 600_000, "c", T0)], 0, T0),
        ];
        let results = s.am_ingest_batch(&batch).await;
        let refused = b == Dialect::Postgres;
        assert!(
            results[0].is_ok() && results[2].is_ok(),
            "{b:?}: {results:?}"
        );
        assert_eq!(results[1].is_err(), refused, "{b:?}: {results:?}");
        let fps = fingerprints(&s).await;
        let want: Vec<String> = if refused {
            vec![fp("a"), fp("c")]
        } else {
            vec![fp("a"), fp("bad"), fp("c")]
        };
        assert_eq!(fps, want, "{b:?}");
        assert_eq!(members(&s).await.expect("group").1, want, "{b:?}");
    }
}

/// The garbage collection forgets resolved alerts that no group holds, and only those.
#[tokio::test]
async fn gc_forgets_resolved_alerts_outside_groups() {
    for (b, s) in stores().await {
        // `kept` is resolved but still a member; `gone` is resolved and in no group; `firing`
        // is in no group but still firing.
        ingest(&s, &alert("kept", T0 - 10), T0 - 100).await;
        for (name, ends_at) in [("gone", T0 - 10), ("firing", T0 + 3_600_000)] {
            s.am_ingest(&[alert(name, ends_at)], &[], T0 - 100)
                .await
                .unwrap();
        }
        assert_eq!(s.am_gc(T0).await.unwrap(), 1, "{b:?}");
        let mut fps = fingerprints(&s).await;
        fps.sort();
        assert_eq!(fps, [fp("firing"), fp("kept")], "{b:?}");
    }
}

/// Migration 0015 (integer fingerprints, memberships by group id) carries the alerts, groups
/// and memberships of a database written before it over, in fingerprint order across the
/// sign boundary of the stored integers, and ingests go on into the carried-over groups.
#[tokio::test]
async fn migration_0015_keeps_alerts_groups_and_members() {
    use klaxon_core::alertmanager::Fingerprint;
    for b in backends() {
        let url = fresh_database(b).await;
        // The migrations before 0015, from a copy of their directory.
        let backend_dir = match b {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        };
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend_dir);
        let old = std::env::temp_dir().join(format!(
            "klaxon-migrations-{backend_dir}-{}-{}",
            std::process::id(),
            T0
        ));
        std::fs::create_dir_all(&old).unwrap();
        for f in std::fs::read_dir(&src).unwrap() {
            let f = f.unwrap();
            let name = f.file_name().into_string().unwrap();
            if name.as_str() < "0015" {
                std::fs::copy(f.path(), old.join(&name)).unwrap();
            }
        }
        let migrator = sqlx::migrate::Migrator::new(old.as_path()).await.unwrap();
        let down: BTreeMap<String, String> = [("alertname", "Down"), ("instance", "db1")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let real = Fingerprint::of(&down).to_string();
        let mut fps = vec![
            real.clone(),
            "0000000000000000".to_string(),
            "7fffffffffffffff".to_string(),
            "8000000000000000".to_string(),
            "ffffffffffffffff".to_string(),
        ];
        let rows: Vec<String> = fps
            .iter()
            .map(|fp| {
                let labels = if *fp == real {
                    r#"{"alertname":"Down","instance":"db1"}"#.to_string()
                } else {
                    format!(r#"{{"alertname":"Down","instance":"{fp}"}}"#)
                };
                format!(
                    "('{fp}', '{labels}', '{{\"summary\":\"s\"}}', {}, {}, 'http://prom', {T0})",
                    T0 - 1000,
                    T0 + 3_600_000
                )
            })
            .collect();
        let seed = format!(
            "INSERT INTO am_alerts (fingerprint, labels, annotations, starts_at, ends_at, generator_url, updated_at) VALUES {};
             INSERT INTO am_groups (group_key, route_id, receiver, group_labels, alias, flush_at, notified, created_at) VALUES
               ('{{}}:{{alertname=\"Down\"}}', '0', 'sre', '{{\"alertname\":\"Down\"}}', 'alias-down', {T0}, '[\"{real}\"]', {T0}),
               ('{{}}/{{severity=\"critical\"}}:{{}}', '0.0', 'db', '{{}}', 'alias-db', {}, '[]', {T0});
             INSERT INTO am_group_alerts (group_key, fingerprint) VALUES
               ('{{}}:{{alertname=\"Down\"}}', '{real}'), ('{{}}:{{alertname=\"Down\"}}', 'ffffffffffffffff'),
               ('{{}}:{{alertname=\"Down\"}}', '0000000000000000'), ('{{}}/{{severity=\"critical\"}}:{{}}', '8000000000000000');",
            rows.join(", "),
            T0 + 5
        );
        match b {
            Dialect::Sqlite => {
                use std::str::FromStr;
                let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                    .unwrap()
                    .create_if_missing(true)
                    .foreign_keys(true);
                let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
                migrator.run(&pool).await.unwrap();
                sqlx::raw_sql(&seed).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Dialect::Postgres => {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                migrator.run(&pool).await.unwrap();
                sqlx::raw_sql(&seed).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
        std::fs::remove_dir_all(&old).unwrap();

        let s = Store::connect(&url).await.expect("connect runs 0015");
        fps.sort();
        let stored = s.am_alerts(None, &[]).await.unwrap();
        assert_eq!(
            stored
                .iter()
                .map(|a| a.fingerprint.clone())
                .collect::<Vec<_>>(),
            fps,
            "{b:?}: every alert, in hex order"
        );
        let a = stored.iter().find(|a| a.fingerprint == real).unwrap();
        assert_eq!(
            (
                &a.labels,
                a.annotations["summary"].as_str(),
                a.starts_at,
                a.ends_at,
                a.generator_url.as_str(),
                a.updated_at
            ),
            (&down, "s", T0 - 1000, T0 + 3_600_000, "http://prom", T0),
            "{b:?}"
        );
        let groups = s.am_groups().await.unwrap();
        let summary: Vec<(String, i64, Vec<String>, Vec<String>)> = groups
            .into_iter()
            .map(|(g, m)| (g.alias, g.flush_at, g.notified, m))
            .collect();
        let mut down_members = vec![
            real.clone(),
            "0000000000000000".to_string(),
            "ffffffffffffffff".to_string(),
        ];
        down_members.sort();
        assert_eq!(
            summary,
            vec![
                (
                    "alias-db".to_string(),
                    T0 + 5,
                    vec![],
                    vec!["8000000000000000".to_string()]
                ),
                (
                    "alias-down".to_string(),
                    T0,
                    vec![real.clone()],
                    down_members
                ),
            ],
            "{b:?}: groups and their members"
        );
        let members = s.am_group_members(&group().group_key).await.unwrap();
        assert_eq!(members.len(), 3, "{b:?}");

        // Ingests go on: into a carried-over group, and into a new one (a new id).
        ingest(&s, &alert("b", T0 + 3_600_000), T0 + 10).await;
        let fresh = AmGroupRef {
            group_key: "{}:{alertname=\"Up\"}".into(),
            alias: "alias-up".into(),
            ..group()
        };
        s.am_ingest(&[alert("c", T0 + 3_600_000)], &[(fresh, fp("c"))], T0 + 10)
            .await
            .unwrap();
        let groups = s.am_groups().await.unwrap();
        let counts: Vec<(String, usize)> = groups
            .iter()
            .map(|(g, m)| (g.alias.clone(), m.len()))
            .collect();
        assert_eq!(
            counts,
            [
                ("alias-db".to_string(), 1),
                ("alias-down".to_string(), 4),
                ("alias-up".to_string(), 1)
            ],
            "{b:?}"
        );
    }
}
