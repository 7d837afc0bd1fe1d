//! Time, durability and concurrency: snooze timers driven by the test clock, concurrent
//! creates, graceful shutdown, health endpoints.

use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn snooze_ends_through_the_durable_timer_even_across_a_restart() {
    for backend in klaxon_store::testing::backends() {
        let app = TestApp::spawn(backend).await;
        let id = app
            .create(ADMIN_KEY, json!({"message": "noisy", "alias": "n"}))
            .await;
        app.post(&format!("/v2/alerts/{id}/acknowledge"), json!({}))
            .await;
        let (s, _) = app
            .post(
                &format!("/v2/alerts/{id}/snooze"),
                json!({"endTime": "2026-01-01T00:10:00Z"}),
            )
            .await;
        assert_eq!(s, 202);
        let a = app.alert(&id).await;
        assert_eq!(
            (a["snoozed"].clone(), a["snoozedUntil"].clone()),
            (json!(true), json!("2026-01-01T00:10:00.000Z"))
        );

        // Restart on the same database: the timer is a row, not a task.
        let database = app.database.clone();
        app.stop().await;
        let app = TestApp::spawn_with(backend, &config(""), Some(database)).await;
        app.clock.advance(Duration::from_secs(9 * 60));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(app.alert(&id).await["snoozed"], true, "not yet due");
        app.clock.advance(Duration::from_secs(60));
        app.eventually("snooze to end", || async {
            app.alert(&id).await["snoozed"] == false
        })
        .await;
        let a = app.alert(&id).await;
        assert_eq!(
            a["acknowledged"], false,
            "a woken alert asks for attention again"
        );
        assert!(a.get("snoozedUntil").is_none());
        let (_, logs) = app.get(&format!("/v2/alerts/{id}/logs?order=asc")).await;
        let last = logs["data"].as_array().unwrap().last().unwrap()["log"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(last.contains("Snooze ended"), "{last}");
        app.stop().await;
    }
}

#[tokio::test]
async fn concurrent_creates_are_all_committed_and_dedup_holds_under_contention() {
    for backend in klaxon_store::testing::backends() {
        let app = TestApp::spawn(backend).await;
        let mut tasks = vec![];
        for i in 0..200 {
            let (http, base) = (app.http.clone(), app.base.clone());
            tasks.push(tokio::spawn(async move {
                let alias = if i % 4 == 0 {
                    "shared".to_string()
                } else {
                    format!("u{i}")
                };
                let r = http
                    .post(format!("{base}/v2/alerts"))
                    .header("Authorization", format!("GenieKey {ADMIN_KEY}"))
                    .json(&json!({"message": "m", "alias": alias}))
                    .send()
                    .await
                    .unwrap();
                r.status().as_u16()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 202);
        }
        let (_, c) = app.get("/v2/alerts/count").await;
        assert_eq!(c["data"]["count"], 151, "{backend:?}");
        let (_, s) = app.get("/v2/alerts/shared?identifierType=alias").await;
        assert_eq!(s["data"]["count"], 50);
        let metrics = app.text("/metrics").await;
        assert!(
            metrics.contains("klaxon_alerts_created_total 151"),
            "{metrics}"
        );
        assert!(metrics.contains("klaxon_alerts_deduplicated_total 49"));
        app.stop().await;
    }
}

#[tokio::test]
async fn graceful_stop_finishes_in_flight_creates() {
    for backend in klaxon_store::testing::backends() {
        let app = TestApp::spawn(backend).await;
        let mut tasks = vec![];
        for i in 0..50 {
            let (http, base) = (app.http.clone(), app.base.clone());
            tasks.push(tokio::spawn(async move {
                http.post(format!("{base}/v2/alerts"))
                    .header("Authorization", format!("GenieKey {ADMIN_KEY}"))
                    .json(&json!({"message": "m", "alias": format!("g{i}")}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .ok()
            }));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        let database = app.database.clone();
        app.stop().await;
        let mut accepted = vec![];
        for (i, t) in tasks.into_iter().enumerate() {
            if t.await.unwrap() == Some(202) {
                accepted.push(i);
            }
        }
        let app = TestApp::spawn_with(backend, &config(""), Some(database)).await;
        for i in &accepted {
            let (s, _) = app
                .get(&format!("/v2/alerts/g{i}?identifierType=alias"))
                .await;
            assert_eq!(
                s, 200,
                "alert g{i} was answered 202 but is missing ({backend:?})"
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn(klaxon_store::Dialect::Sqlite).await;
    let get = |p: &str| app.http.get(format!("{}{p}", app.root())).send();
    assert_eq!(get("/healthz").await.unwrap().status().as_u16(), 200);
    assert_eq!(get("/readyz").await.unwrap().status().as_u16(), 200);
    let m = get("/metrics").await.unwrap();
    assert!(m.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = m.text().await.unwrap();
    for name in [
        "klaxon_http_requests_total",
        "klaxon_alerts_created_total",
        "klaxon_ingest_duration_seconds_bucket",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_second_process_on_the_same_sqlite_file_refuses_to_start() {
    let database = klaxon_store::testing::fresh_database(klaxon_store::Dialect::Sqlite).await;
    let first = TestApp::spawn_with(
        klaxon_store::Dialect::Sqlite,
        &config(""),
        Some(database.clone()),
    )
    .await;
    let dir = std::env::temp_dir().join("klaxon-tests");
    let path = dir.join(format!("cfg-{}.yaml", uuid::Uuid::new_v4()));
    std::fs::write(&path, config("")).unwrap();
    let settings = klaxon_server::settings::Settings::load_with(
        Some(&path),
        Some("127.0.0.1:0".into()),
        Some(database.clone()),
    )
    .unwrap();
    let clock: std::sync::Arc<dyn klaxon_core::clock::Clock> =
        std::sync::Arc::new(klaxon_core::clock::ManualClock::new(T0));
    let err = match klaxon_server::App::start(&settings, clock.clone()).await {
        Ok(_) => panic!("two engines on one SQLite file"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("in use by another klaxon process"), "{err}");
    first.stop().await;
    let again = klaxon_server::App::start(&settings, clock)
        .await
        .expect("the lock is released on stop");
    again.stop().await.unwrap();
}
