//! `TestApp`: a real Klaxon on port 0 over a fresh database, with a clock the test drives.

use klaxon_core::clock::{Clock, ManualClock};
use klaxon_server::settings::Settings;
use klaxon_server::App;
use klaxon_store::Dialect;
use serde_json::Value;
use std::sync::Arc;

pub const ADMIN_KEY: &str = "global-key-0001";
pub const SRE_KEY: &str = "sre-key-000001";
pub const WEB_KEY: &str = "web-key-000001";

/// 2026-01-01T00:00:00Z
pub const T0: i64 = 1_767_225_600_000;

pub fn config(extra: &str) -> String {
    format!(
        r#"
users:
  - {{username: alice@example.com, full_name: Alice, role: admin}}
  - {{username: bob@example.com, full_name: Bob}}
teams:
  - {{name: sre, members: [alice@example.com, bob@example.com]}}
  - {{name: web, members: [bob@example.com]}}
integrations:
  - {{name: global, type: api, api_key: {ADMIN_KEY}}}
  - {{name: prom, type: api, api_key: {SRE_KEY}, team: sre, priority: P2, tags: [prod]}}
  - {{name: webhooks, type: api, api_key: {WEB_KEY}, team: web}}
{extra}"#
    )
}

pub struct TestApp {
    pub app: Option<App>,
    pub base: String,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    pub database: String,
    /// The config file the app runs (a test rewrites it to test reloads).
    pub config_path: std::path::PathBuf,
}

impl TestApp {
    pub async fn spawn(backend: Dialect) -> TestApp {
        Self::spawn_with(backend, &config(""), None).await
    }

    /// Starts on `database` (or a fresh one) with the given config text.
    pub async fn spawn_with(
        backend: Dialect,
        config_text: &str,
        database: Option<String>,
    ) -> TestApp {
        Self::spawn_at(backend, config_text, database, T0).await
    }

    /// Like [`TestApp::spawn_with`], with the test clock starting at `start` (unix ms).
    pub async fn spawn_at(
        backend: Dialect,
        config_text: &str,
        database: Option<String>,
        start: i64,
    ) -> TestApp {
        let database = match database {
            Some(d) => d,
            None => klaxon_store::testing::fresh_database(backend).await,
        };
        let dir = std::env::temp_dir().join("klaxon-tests");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("cfg-{}.yaml", uuid::Uuid::new_v4()));
        std::fs::write(&path, config_text).unwrap();
        let settings = Settings::load_with(
            Some(&path),
            Some("127.0.0.1:0".into()),
            Some(database.clone()),
        )
        .unwrap_or_else(|e| panic!("test config: {e}"));
        let clock = ManualClock::new(start);
        let app = App::start(&settings, Arc::new(clock.clone()) as Arc<dyn Clock>)
            .await
            .expect("start klaxon");
        let prefix = settings.opsgenie_prefix.clone();
        TestApp {
            base: format!("http://{}{prefix}", app.addr),
            app: Some(app),
            clock,
            http: reqwest::Client::new(),
            database,
            config_path: path,
        }
    }

    pub fn root(&self) -> String {
        format!("http://{}", self.app.as_ref().unwrap().addr)
    }

    pub async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.stop().await.unwrap();
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method.parse().unwrap(), &url);
        if let Some(k) = key {
            req = req.header("Authorization", format!("GenieKey {k}"));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: body is not JSON: {text:?}"));
        (status, v)
    }

    /// `GET {root}{path}` without a key, as text (pages, metrics).
    pub async fn text(&self, path: &str) -> String {
        let url = format!("{}{path}", self.root());
        let resp = self.http.get(&url).send().await.expect("request");
        resp.text().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(ADMIN_KEY), Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, Some(ADMIN_KEY), None).await
    }

    /// Creates an alert and returns its id (via the request status, as the SDK does).
    pub async fn create(&self, key: &str, body: Value) -> String {
        let (s, v) = self.call("POST", "/v2/alerts", Some(key), Some(body)).await;
        assert_eq!(s, 202, "{v}");
        let rid = v["requestId"].as_str().unwrap().to_string();
        let (s, r) = self
            .call(
                "GET",
                &format!("/v2/alerts/requests/{rid}"),
                Some(key),
                None,
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["data"]["isSuccess"], true, "{r}");
        r["data"]["alertId"].as_str().unwrap().to_string()
    }

    pub async fn alert(&self, id: &str) -> Value {
        let (s, v) = self.get(&format!("/v2/alerts/{id}")).await;
        assert_eq!(s, 200, "{v}");
        v["data"].clone()
    }

    /// Waits (bounded) until `check` holds; engine workers run on their own tasks.
    pub async fn eventually<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..200 {
            if check().await {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for: {what}");
    }
}

/// Runs `f` once per backend with a fresh app.
#[macro_export]
macro_rules! each_backend {
    (|$app:ident| $body:block) => {
        for backend in klaxon_store::testing::backends() {
            let $app = $crate::helpers::TestApp::spawn(backend).await;
            $body
            $app.stop().await;
        }
    };
}
