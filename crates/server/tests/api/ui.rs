//! The web UI over HTTP: sign-in, sessions, CSRF and cross-site refusal, lockout, acting on
//! alerts through the shared writer, stakeholders, and team visibility.

use crate::helpers::{TestApp, ADMIN_KEY, SRE_KEY, WEB_KEY};
use klaxon_store::Dialect;
use serde_json::json;
use std::time::Duration;

pub const PASSWORD: &str = "correct horse battery";

pub fn ui_config(dir: &std::path::Path) -> String {
    let pw = dir.join(format!("pw-{}.txt", uuid::Uuid::new_v4()));
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let hash = klaxon_server::http::ui::session::hash_password(PASSWORD).unwrap();
    format!(
        r#"
users:
  - {{username: alice@example.com, full_name: Alice, role: admin, password_file: {pw}}}
  - {{username: bob@example.com, full_name: Bob, password_hash: '{hash}'}}
  - {{username: erin@example.com, full_name: Erin, password_hash: '{hash}'}}
  - {{username: carol@example.com, full_name: Carol, role: stakeholder, password_hash: '{hash}'}}
teams:
  - {{name: sre, members: [alice@example.com, erin@example.com]}}
  - {{name: web, members: [bob@example.com]}}
integrations:
  - {{name: global, type: api, api_key: {ADMIN_KEY}}}
  - {{name: prom, type: api, api_key: {SRE_KEY}, team: sre, priority: P2}}
  - {{name: webhooks, type: api, api_key: {WEB_KEY}, team: web}}
schedules:
  - name: primary
    time_zone: UTC
    team: sre
    rotations:
      - {{name: daily, type: daily, start: 2026-01-01 00:00, participants: [alice@example.com, erin@example.com]}}
"#,
        pw = pw.display()
    )
}

pub async fn spawn(backend: Dialect) -> TestApp {
    let dir = std::env::temp_dir().join("klaxon-tests");
    std::fs::create_dir_all(&dir).unwrap();
    TestApp::spawn_with(backend, &ui_config(&dir), None).await
}

/// A browser without JavaScript: keeps its cookies, follows no redirects.
pub struct Browser {
    pub root: String,
    pub http: reqwest::Client,
    pub cookies: Vec<(String, String)>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Page {
    /// The first hidden CSRF field's value.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find(r#"name="_csrf" value=""#)
            .unwrap_or_else(|| panic!("no CSRF field in {}", self.body));
        let rest = &self.body[at + r#"name="_csrf" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            root: app.root(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: vec![],
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let req = if self.cookies.is_empty() {
            req
        } else {
            req.header("Cookie", self.cookie_header())
        };
        let resp = req.send().await.unwrap();
        let set_cookies: Vec<String> = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookies {
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !v.is_empty() {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
        Page {
            status: resp.status().as_u16(),
            location: resp
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string()),
            set_cookies,
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.root));
        self.send(req).await
    }

    /// A same-origin form post, as a browser sends it.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self
            .http
            .post(format!("{}{path}", self.root))
            .header("Origin", &self.root)
            .header("Sec-Fetch-Site", "same-origin")
            .form(form);
        self.send(req).await
    }

    pub async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        let login = self.get("/ui/login").await;
        assert_eq!(login.status, 200);
        let csrf = login.csrf();
        self.post(
            "/ui/login",
            &[
                ("_csrf", &csrf),
                ("username", username),
                ("password", password),
                ("next", "/ui/alerts"),
            ],
        )
        .await
    }
}

#[tokio::test]
async fn sign_in_session_cookie_and_sign_out() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let mut b = Browser::new(&app);

        // Not signed in: pages send to the sign-in page, with the way back.
        let p = b.get("/ui/alerts?f=open").await;
        assert_eq!(p.status, 303);
        assert_eq!(
            p.location.as_deref(),
            Some("/ui/login?next=%2Fui%2Falerts%3Ff%3Dopen")
        );
        assert_eq!(b.get("/").await.location.as_deref(), Some("/ui"));

        let bad = b.sign_in("alice@example.com", "wrong password").await;
        assert_eq!(bad.status, 401);
        assert!(
            bad.body.contains("Wrong username or password"),
            "{}",
            bad.body
        );

        let ok = b.sign_in("ALICE@example.com", PASSWORD).await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        assert_eq!(ok.location.as_deref(), Some("/ui/alerts"));
        let cookie = ok
            .set_cookies
            .iter()
            .find(|c| c.starts_with("klaxon_session="))
            .expect("session cookie");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(!cookie.contains("Secure"), "no https public_url: {cookie}");

        let list = b.get("/ui/alerts").await;
        assert_eq!(list.status, 200);
        assert!(list.body.contains("alice@example.com"));
        assert_eq!(
            list.set_cookies.len(),
            0,
            "a page view does not reissue cookies"
        );

        // The token in the cookie is not what the database holds.
        let token = b
            .cookies
            .iter()
            .find(|(k, _)| k == "klaxon_session")
            .unwrap()
            .1
            .clone();
        assert_eq!(token.len(), 64);

        // Sign out revokes the session: the same cookie no longer works.
        let csrf = list.csrf();
        let out = b.post("/ui/logout", &[("_csrf", &csrf)]).await;
        assert_eq!(out.status, 303);
        let mut replay = Browser::new(&app);
        replay.cookies.push(("klaxon_session".into(), token));
        assert_eq!(replay.get("/ui/alerts").await.status, 303);
        app.stop().await;
    }
}

#[tokio::test]
async fn unauthenticated_and_cross_site_requests_are_refused() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let id = app
            .create(ADMIN_KEY, json!({"message": "disk full", "alias": "d1"}))
            .await;
        let tiny = app.alert(&id).await["tinyId"].as_str().unwrap().to_string();
        let mut anon = Browser::new(&app);
        for path in [
            "/ui/alerts".to_string(),
            "/ui/alerts/list".to_string(),
            format!("/ui/alerts/{tiny}"),
            format!("/ui/alerts/{tiny}/timeline"),
        ] {
            let p = anon.get(&path).await;
            assert_eq!(p.status, 303, "{path}");
            assert!(p.location.unwrap().starts_with("/ui/login"), "{path}");
            assert!(!p.body.contains("disk full"));
        }
        assert_eq!(anon.get("/ui/events").await.status, 401);
        for path in [
            "/ui/alerts/bulk".to_string(),
            format!("/ui/alerts/{tiny}/act"),
            "/ui/logout".to_string(),
        ] {
            let p = anon
                .post(&path, &[("action", "close"), ("alert", &tiny)])
                .await;
            assert_eq!(p.status, 401, "{path}");
        }

        let mut b = Browser::new(&app);
        assert_eq!(b.sign_in("alice@example.com", PASSWORD).await.status, 303);
        let page = b.get(&format!("/ui/alerts/{tiny}")).await;
        let csrf = page.csrf();
        let act = format!("{}/ui/alerts/{tiny}/act", b.root);
        let form = [("_csrf", csrf.as_str()), ("action", "close")];

        // Another site's form, even carrying a valid token, is refused by Origin...
        let p = b
            .send(
                b.http
                    .post(&act)
                    .header("Origin", "http://evil.example")
                    .form(&form),
            )
            .await;
        assert_eq!(p.status, 403);
        // ...and by Sec-Fetch-Site.
        let p = b
            .send(
                b.http
                    .post(&act)
                    .header("Sec-Fetch-Site", "cross-site")
                    .form(&form),
            )
            .await;
        assert_eq!(p.status, 403);
        // A same-origin post without the session's token is refused too.
        let p = b
            .post(&format!("/ui/alerts/{tiny}/act"), &[("action", "close")])
            .await;
        assert_eq!(p.status, 403);
        let p = b
            .post(
                &format!("/ui/alerts/{tiny}/act"),
                &[("_csrf", "0".repeat(64).as_str()), ("action", "close")],
            )
            .await;
        assert_eq!(p.status, 403);
        // The sign-in form itself checks its token (login CSRF).
        let mut fresh = Browser::new(&app);
        let p = fresh
            .post(
                "/ui/login",
                &[("username", "alice@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(p.status, 403);
        assert_eq!(app.alert(&id).await["status"], "open", "nothing was closed");

        // The token in a header (as htmx sends it) works.
        let p = b
            .send(
                b.http
                    .post(&act)
                    .header("X-CSRF-Token", &csrf)
                    .header("Sec-Fetch-Site", "same-origin")
                    .form(&[("action", "close")]),
            )
            .await;
        assert_eq!(p.status, 303);
        assert_eq!(app.alert(&id).await["status"], "closed");
        app.stop().await;
    }
}

#[tokio::test]
async fn repeated_failures_lock_the_username_for_a_while() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let mut b = Browser::new(&app);
        for i in 1..=5 {
            let p = b.sign_in("bob@example.com", "nope nope").await;
            assert_eq!(p.status, 401, "attempt {i}");
        }
        // Locked: even the right password is refused, without being checked.
        let p = b.sign_in("bob@example.com", PASSWORD).await;
        assert_eq!(p.status, 429, "{}", p.body);
        assert!(p.body.contains("Try again in 30 s"), "{}", p.body);
        // The lock is durable (in the database) and ends by the clock.
        app.clock.advance(Duration::from_secs(31));
        let p = b.sign_in("bob@example.com", PASSWORD).await;
        assert_eq!(p.status, 303, "{}", p.body);
        // Unknown usernames are counted too, and answer like wrong passwords.
        let mut b = Browser::new(&app);
        let p = b.sign_in("nobody@example.com", PASSWORD).await;
        assert_eq!(p.status, 401);
        assert!(p.body.contains("Wrong username or password"));
        app.stop().await;
    }
}

#[tokio::test]
async fn actions_from_the_web_go_through_the_writer_and_the_timeline() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let id = app
            .create(
                ADMIN_KEY,
                json!({"message": "db down", "priority": "P1",
                       "details": {"runbook": "https://runbooks.example.com/db"}}),
            )
            .await;
        let tiny = app.alert(&id).await["tinyId"].as_str().unwrap().to_string();
        let mut b = Browser::new(&app);
        b.sign_in("alice@example.com", PASSWORD).await;
        let page = b.get(&format!("/ui/alerts/{tiny}")).await;
        assert_eq!(page.status, 200);
        assert!(page
            .body
            .contains(r#"class="runbook" href="https://runbooks.example.com/db""#));
        let csrf = page.csrf();

        let p = b
            .post(
                &format!("/ui/alerts/{tiny}/act"),
                &[("_csrf", &csrf), ("action", "ack")],
            )
            .await;
        assert_eq!(p.status, 303);
        let back = p.location.unwrap();
        assert!(
            back.starts_with(&format!("/ui/alerts/{tiny}?req=")),
            "{back}"
        );
        let after = b.get(&back).await;
        assert!(after.body.contains("Done: Acknowledge."), "{}", after.body);
        assert!(after
            .body
            .contains("Alert acknowledged via Web[UI] by alice@example.com"));
        let a = app.alert(&id).await;
        assert_eq!(a["acknowledged"], true);
        assert_eq!(a["report"]["acknowledgedBy"], "alice@example.com");

        let p = b
            .post(
                &format!("/ui/alerts/{tiny}/act"),
                &[
                    ("_csrf", &csrf),
                    ("action", "note"),
                    ("note", "looking <b>now</b>"),
                ],
            )
            .await;
        assert_eq!(p.status, 303);
        let (_, notes) = app.get(&format!("/v2/alerts/{id}/notes")).await;
        assert_eq!(notes["data"][0]["note"], "looking <b>now</b>");
        let page = b.get(&format!("/ui/alerts/{tiny}")).await;
        assert!(
            page.body.contains("looking &lt;b&gt;now&lt;/b&gt;"),
            "escaped"
        );

        // A refused action says why.
        b.post(
            &format!("/ui/alerts/{tiny}/act"),
            &[("_csrf", &csrf), ("action", "close")],
        )
        .await;
        let p = b
            .post(
                &format!("/ui/alerts/{tiny}/act"),
                &[("_csrf", &csrf), ("action", "ack")],
            )
            .await;
        let after = b.get(&p.location.unwrap()).await;
        assert!(after.body.contains("did nothing"), "{}", after.body);
        app.stop().await;
    }
}

#[tokio::test]
async fn bulk_close_and_paging() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let mut tinies = vec![];
        for i in 0..55 {
            app.clock.advance(Duration::from_millis(1));
            let id = app
                .create(
                    ADMIN_KEY,
                    json!({"message": format!("alert {i}"), "alias": format!("a{i}")}),
                )
                .await;
            tinies.push(app.alert(&id).await["tinyId"].as_str().unwrap().to_string());
        }
        let mut b = Browser::new(&app);
        b.sign_in("alice@example.com", PASSWORD).await;
        let first = b.get("/ui/alerts").await;
        assert!(first.body.contains(">alert 54<") && !first.body.contains(">alert 4<"));
        let at = first.body.find(r#"rel="next""#).expect("a next page");
        let href_at = first.body[..at].rfind("href=\"").unwrap() + 6;
        let href = first.body[href_at..]
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&");
        let second = b.get(&href).await;
        assert!(second.body.contains(">alert 4<") && !second.body.contains(">alert 5<"));
        assert!(!second.body.contains(r#"rel="next""#));

        let csrf = first.csrf();
        let mut form = vec![
            ("_csrf", csrf.as_str()),
            ("action", "close"),
            ("back", "/ui/alerts?f=open"),
        ];
        for t in &tinies[52..] {
            form.push(("alert", t));
        }
        let p = b.post("/ui/alerts/bulk", &form).await;
        assert_eq!(p.status, 303);
        let list = b.get(&p.location.unwrap()).await;
        assert!(list.body.contains("Closed 3 alert(s)."), "{}", list.body);
        assert!(!list.body.contains(">alert 54<") && list.body.contains(">alert 2<"));
        let (_, count) = app.get("/v2/alerts/count?query=status:closed").await;
        assert_eq!(count["data"]["count"], 3);
        app.stop().await;
    }
}

#[tokio::test]
async fn stakeholders_see_but_cannot_act() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let id = app
            .create(ADMIN_KEY, json!({"message": "checkout slow"}))
            .await;
        let tiny = app.alert(&id).await["tinyId"].as_str().unwrap().to_string();
        let mut b = Browser::new(&app);
        assert_eq!(b.sign_in("carol@example.com", PASSWORD).await.status, 303);
        let page = b.get(&format!("/ui/alerts/{tiny}")).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("checkout slow"));
        assert!(!page.body.contains(">Acknowledge<"), "no action buttons");
        let csrf = page.csrf();
        for action in ["ack", "close", "note"] {
            let p = b
                .post(
                    &format!("/ui/alerts/{tiny}/act"),
                    &[("_csrf", &csrf), ("action", action), ("note", "x")],
                )
                .await;
            assert_eq!(p.status, 403, "{action}");
        }
        let p = b
            .post(
                "/ui/alerts/bulk",
                &[("_csrf", &csrf), ("action", "close"), ("alert", &tiny)],
            )
            .await;
        assert_eq!(p.status, 403);
        let a = app.alert(&id).await;
        assert_eq!(
            (a["status"].as_str(), a["acknowledged"].as_bool()),
            (Some("open"), Some(false))
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn team_members_see_their_teams_alerts_only() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let sre = app.create(SRE_KEY, json!({"message": "sre only"})).await;
        let web = app.create(WEB_KEY, json!({"message": "web only"})).await;
        let shared = app
            .create(
                WEB_KEY,
                json!({"message": "web shared with sre", "visibleTo": [{"type": "team", "name": "sre"}]}),
            )
            .await;
        let to_erin = app
            .create(
                WEB_KEY,
                json!({"message": "web paging erin", "responders": [{"type": "user", "username": "erin@example.com"}]}),
            )
            .await;
        let global = app.create(ADMIN_KEY, json!({"message": "no team"})).await;
        let tiny = |v: serde_json::Value| v["tinyId"].as_str().unwrap().to_string();
        let web_tiny = tiny(app.alert(&web).await);

        let mut erin = Browser::new(&app);
        erin.sign_in("erin@example.com", PASSWORD).await;
        let list = erin.get("/ui/alerts").await;
        for seen in [
            "sre only",
            "web shared with sre",
            "web paging erin",
            "no team",
        ] {
            assert!(list.body.contains(seen), "erin sees {seen:?}");
        }
        assert!(!list.body.contains("web only"));
        assert_eq!(
            erin.get(&format!("/ui/alerts/{web_tiny}")).await.status,
            404
        );
        let csrf = list.csrf();
        let p = erin
            .post(
                &format!("/ui/alerts/{web_tiny}/act"),
                &[("_csrf", &csrf), ("action", "close")],
            )
            .await;
        assert_eq!(p.status, 404);
        let p = erin
            .post(
                "/ui/alerts/bulk",
                &[("_csrf", &csrf), ("action", "close"), ("alert", &web_tiny)],
            )
            .await;
        assert_eq!(p.status, 303);
        assert_eq!(app.alert(&web).await["status"], "open");
        // A search cannot reach past the team filter.
        let found = erin.get("/ui/alerts?q=message%3A%22web+only%22&f=").await;
        assert!(found.body.contains("No alerts match."), "{}", found.body);

        let mut bob = Browser::new(&app);
        bob.sign_in("bob@example.com", PASSWORD).await;
        let list = bob.get("/ui/alerts").await;
        assert!(list.body.contains("web only") && !list.body.contains("sre only"));

        let mut alice = Browser::new(&app);
        alice.sign_in("alice@example.com", PASSWORD).await;
        let list = alice.get("/ui/alerts").await;
        for seen in ["sre only", "web only", "no team"] {
            assert!(list.body.contains(seen), "the admin sees {seen:?}");
        }
        let _ = (sre, shared, to_erin, global);
        app.stop().await;
    }
}

#[tokio::test]
async fn admin_password_from_the_environment_is_only_a_first_password() {
    for backend in klaxon_store::testing::backends() {
        let database = klaxon_store::testing::fresh_database(backend).await;
        let mut settings = klaxon_server::settings::Settings::load_with(
            None,
            Some("127.0.0.1:0".into()),
            Some(database.clone()),
        )
        .unwrap();
        settings.admin_password = Some("first-admin-pw".into());
        let clock = klaxon_core::clock::ManualClock::new(crate::helpers::T0);
        let app = klaxon_server::App::start(&settings, std::sync::Arc::new(clock.clone()))
            .await
            .unwrap();
        let store = app.state.store.clone();
        let mut b = Browser {
            root: format!("http://{}", app.addr),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: vec![],
        };
        let login = b.get("/ui/login").await;
        let csrf = login.csrf();
        let p = b
            .post(
                "/ui/login",
                &[
                    ("_csrf", &csrf),
                    ("username", "admin"),
                    ("password", "first-admin-pw"),
                ],
            )
            .await;
        assert_eq!(p.status, 303, "{}", p.body);
        let admin = store.ui_user("admin").await.unwrap().unwrap();
        assert_eq!(admin.role, "admin");

        // Changed with the CLI path, the env var no longer overrides it at the next start.
        klaxon_server::http::ui::accounts::set_password_cli(
            &store,
            "admin",
            None,
            "changed-pw-123\n",
            0,
        )
        .await
        .unwrap();
        klaxon_server::http::ui::accounts::apply(&store, &[], Some("first-admin-pw"), 0)
            .await
            .unwrap();
        let h = store
            .ui_user("admin")
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .unwrap();
        assert!(klaxon_server::http::ui::session::verify_password(
            "changed-pw-123",
            &h
        ));
        // The CLI change signed the browser out.
        assert_eq!(b.get("/ui/alerts").await.status, 303);
        let err = klaxon_server::http::ui::accounts::set_password_cli(
            &store,
            "nobody",
            None,
            "long enough pw",
            0,
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("no user \"nobody\""), "{err}");
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn on_call_overview_and_taking_a_shift() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let mut erin = Browser::new(&app);
        erin.sign_in("erin@example.com", PASSWORD).await;
        let overview = erin.get("/ui/oncall").await;
        assert_eq!(overview.status, 200);
        let now_cell = |body: &str| {
            let at = body.find(r#"class="oncall-now""#).expect("on-call cell");
            body[at..at + body[at..].find("</td>").unwrap()].to_string()
        };
        assert!(
            now_cell(&overview.body).contains("alice@example.com"),
            "{}",
            overview.body
        );
        let at = overview.body.find("/ui/oncall/").unwrap();
        let link = overview.body[at..].split('"').next().unwrap().to_string();

        let page = erin.get(&link).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Take this shift"));
        let csrf = page.csrf();
        let start = crate::helpers::T0.to_string();
        let end = (crate::helpers::T0 + 3_600_000).to_string();
        let p = erin
            .post(
                &format!("{link}/override"),
                &[
                    ("_csrf", &csrf),
                    ("user", "erin@example.com"),
                    ("start_ms", &start),
                    ("end_ms", &end),
                ],
            )
            .await;
        assert_eq!(p.status, 303);
        let done = erin.get(&p.location.unwrap()).await;
        assert!(done.body.contains("Override created"), "{}", done.body);
        assert!(
            done.body.contains(r#"class="shift override""#),
            "the calendar shows it"
        );
        let overview = erin.get("/ui/oncall").await;
        assert!(
            now_cell(&overview.body).contains("erin@example.com"),
            "{}",
            overview.body
        );

        // A local window the wrong way round is refused with a message, nothing written.
        let p = erin
            .post(
                &format!("{link}/override"),
                &[
                    ("_csrf", &csrf),
                    ("user", "erin@example.com"),
                    ("start", "2026-01-02T10:00"),
                    ("end", "2026-01-02T09:00"),
                ],
            )
            .await;
        let back = erin.get(&p.location.unwrap()).await;
        assert!(back.body.contains("The end must be after the start."));

        // Time off: people book their own; others' only if admin.
        let p = erin
            .post(
                &format!("{link}/time-off"),
                &[
                    ("_csrf", &csrf),
                    ("user", "alice@example.com"),
                    ("start", "2026-01-03T00:00"),
                    ("end", "2026-01-04T00:00"),
                ],
            )
            .await;
        assert_eq!(p.status, 403);
        let p = erin
            .post(
                &format!("{link}/time-off"),
                &[
                    ("_csrf", &csrf),
                    ("user", "erin@example.com"),
                    ("start", "2026-01-03T00:00"),
                    ("end", "2026-01-04T00:00"),
                    ("reason", "dentist"),
                ],
            )
            .await;
        assert_eq!(p.status, 303);
        let (_, off) = app.get("/v2/time-off").await;
        assert!(off.to_string().contains("dentist"), "{off}");

        let mut carol = Browser::new(&app);
        carol.sign_in("carol@example.com", PASSWORD).await;
        let page = carol.get(&link).await;
        assert!(!page.body.contains("Take this shift"));
        let p = carol
            .post(
                &format!("{link}/override"),
                &[
                    ("_csrf", &page.csrf()),
                    ("user", "carol@example.com"),
                    ("start_ms", &start),
                    ("end_ms", &end),
                ],
            )
            .await;
        assert_eq!(p.status, 403);
        app.stop().await;
    }
}

#[tokio::test]
async fn integrations_create_rotate_disable() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let mut bob = Browser::new(&app);
        bob.sign_in("bob@example.com", PASSWORD).await;
        assert_eq!(bob.get("/ui/integrations").await.status, 403);

        let mut alice = Browser::new(&app);
        alice.sign_in("alice@example.com", PASSWORD).await;
        let page = alice.get("/ui/integrations").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("managed in config"));
        let csrf = page.csrf();
        let key_of = |p: &Page| {
            let at = p.body.find(r#"id="new-key">"#).expect("the key is shown") + 13;
            p.body[at..at + p.body[at..].find('<').unwrap()].to_string()
        };
        let created = alice
            .post(
                "/ui/integrations",
                &[
                    ("_csrf", &csrf),
                    ("name", "grafana"),
                    ("kind", "api"),
                    ("team", "sre"),
                ],
            )
            .await;
        assert_eq!(created.status, 200, "{}", created.body);
        let key = key_of(&created);
        assert!(created.body.contains("opsgenie_configs") && created.body.contains(&key));
        let (s, _) = app
            .call(
                "POST",
                "/v2/alerts",
                Some(&key),
                Some(json!({"message": "from grafana"})),
            )
            .await;
        assert_eq!(s, 202);
        let dup = alice
            .post(
                "/ui/integrations",
                &[("_csrf", &csrf), ("name", "GRAFANA"), ("kind", "api")],
            )
            .await;
        assert_eq!(dup.status, 422);
        assert!(dup.body.contains("already exists"));

        let list = alice.get("/ui/integrations").await;
        let at = list.body.find("/rotate\"").unwrap();
        let id_at = list.body[..at].rfind("/ui/integrations/").unwrap() + 17;
        let id = list.body[id_at..at].to_string();
        let rotated = alice
            .post(
                &format!("/ui/integrations/{id}/rotate"),
                &[("_csrf", &csrf)],
            )
            .await;
        let new_key = key_of(&rotated);
        assert_ne!(new_key, key);
        let (s, _) = app.call("GET", "/v2/alerts", Some(&key), None).await;
        assert_eq!(s, 401, "the old key stops working at once");
        let (s, _) = app.call("GET", "/v2/alerts", Some(&new_key), None).await;
        assert_eq!(s, 200);

        let p = alice
            .post(
                &format!("/ui/integrations/{id}/enabled"),
                &[("_csrf", &csrf), ("enabled", "false")],
            )
            .await;
        assert_eq!(p.status, 303);
        let (s, _) = app.call("GET", "/v2/alerts", Some(&new_key), None).await;
        assert_eq!(s, 401, "disabled");
        app.stop().await;
    }
}
