//! `status_pages:` and `health_checks:` in the config file, and their validation.
//!
//! ```yaml
//! status_pages:
//!   - id: acme                       # slug: /status/acme, /v1/pages/acme
//!     name: Acme
//!     host: status.acme.example      # optional: this host name serves the page at /
//!     branding: {title: "Acme status", logo_url: "https://…/logo.svg",
//!                colors: {accent: "#0b5fff", background: "#ffffff", text: "#1f2933"}}
//!     groups: [{name: Platform, description: "Core services"}]
//!     components:
//!       - {name: API, group: Platform, description: "Public REST API"}
//!       - {name: Website}
//! health_checks:
//!   - name: api-health
//!     type: http                     # http | tcp
//!     url: http://api.internal/health
//!     method: GET
//!     interval: 30s
//!     timeout: 3s
//!     retries: 3                     # tries inside one run, with backoff on 500/502/504
//!     retry_backoff: 300ms           # wait before the 2nd try, doubling after
//!     expect_status: "200-299"       # a code, a range, or a list of them
//!     body_contains: ok
//!     headers_match: {content-type: application/json}
//!     failure_threshold: 3           # failed runs in a row before it is down
//!     success_threshold: 2           # good runs in a row before it is up again
//!     component: acme/API            # page/component whose status it sets
//!     down_status: major_outage      # or partial_outage, degraded_performance
//!     alert: true                    # open a Klaxon alert while down (pages the on-call)
//!     incident: true                 # open a status-page incident while down
//!     priority: P2
//!     retention: 90d                 # how long results are kept
//!   - name: site-tls
//!     type: http
//!     url: https://www.acme.example/
//!     tls_expiry_warning: 14d        # alert when the certificate expires sooner than this
//!     tls_ca_file: /etc/klaxon/internal-ca.pem   # extra trusted CA(s), PEM (optional)
//!     tls_skip_verify: false         # accept any certificate (still reads its expiry)
//! ```

use super::ComponentStatus;
use crate::alert::Priority;
use crate::config::{locate, locate_from, ConfigError};
use crate::duration::Duration;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPageConfig {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub branding: Branding,
    #[serde(default)]
    pub groups: Vec<GroupConfig>,
    #[serde(default)]
    pub components: Vec<ComponentConfig>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub logo_url: Option<String>,
    #[serde(default)]
    pub colors: Colors,
}

/// CSS colours (`#rgb` or `#rrggbb`) for the public page.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Colors {
    #[serde(default)]
    pub accent: Option<String>,
    #[serde(default)]
    pub background: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentConfig {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The name of a group declared under the page's `groups:`.
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub only_show_if_degraded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    Http,
    Tcp,
}

/// `200`, `"200-299"`, or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ExpectStatus {
    Code(u16),
    Text(String),
    List(Vec<ExpectStatus>),
}

impl ExpectStatus {
    /// The accepted ranges, or what is wrong.
    pub fn ranges(&self) -> Result<Vec<(u16, u16)>, String> {
        match self {
            ExpectStatus::Code(c) => Ok(vec![(*c, *c)]),
            ExpectStatus::Text(t) => {
                let parse = |s: &str| {
                    s.trim().parse::<u16>().ok().filter(|c| (100..=599).contains(c)).ok_or_else(
                        || format!("expect_status {t:?}: write a code (200), a range (200-299) or a list"),
                    )
                };
                match t.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (parse(a)?, parse(b)?);
                        if a > b {
                            return Err(format!("expect_status {t:?}: the range is backwards"));
                        }
                        Ok(vec![(a, b)])
                    }
                    None => parse(t).map(|c| vec![(c, c)]),
                }
            }
            ExpectStatus::List(l) => {
                let mut out = Vec::new();
                for e in l {
                    out.extend(e.ranges()?);
                }
                Ok(out)
            }
        }
    }
}

fn default_interval() -> Duration {
    Duration::from_secs(60)
}
fn default_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_backoff() -> Duration {
    Duration(std::time::Duration::from_millis(300))
}
fn default_tls_warning() -> Duration {
    Duration::from_secs(14 * 86_400)
}
fn default_retention() -> Duration {
    Duration::from_secs(90 * 86_400)
}
fn three() -> u32 {
    3
}
fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn get() -> String {
    "GET".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: CheckKind,
    #[serde(default)]
    pub url: Option<String>,
    /// `host:port`, for `type: tcp`.
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default = "get")]
    pub method: String,
    #[serde(default = "default_interval")]
    pub interval: Duration,
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// Tries inside one run (1 = no retry).
    #[serde(default = "three")]
    pub retries: u32,
    /// The wait before the second try; it doubles for each further try (seed 001's
    /// `backoff_factor=0.3`).
    #[serde(default = "default_backoff")]
    pub retry_backoff: Duration,
    #[serde(default)]
    pub expect_status: Option<ExpectStatus>,
    #[serde(default)]
    pub body_contains: Option<String>,
    /// Response headers that must be present with these values (names case-insensitive).
    #[serde(default)]
    pub headers_match: BTreeMap<String, String>,
    #[serde(default = "three")]
    pub failure_threshold: u32,
    #[serde(default = "one")]
    pub success_threshold: u32,
    /// `page/component`.
    #[serde(default)]
    pub component: Option<String>,
    #[serde(default)]
    pub down_status: Option<String>,
    #[serde(default = "yes")]
    pub alert: bool,
    #[serde(default)]
    pub incident: bool,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default = "default_retention")]
    pub retention: Duration,
    /// For https: a warning alert opens when the server's certificate expires sooner.
    #[serde(default = "default_tls_warning")]
    pub tls_expiry_warning: Duration,
    /// For https: a PEM file of CA certificates trusted besides the system's.
    #[serde(default)]
    pub tls_ca_file: Option<String>,
    /// For https: accept any certificate (self-signed, expired, another name).
    #[serde(default)]
    pub tls_skip_verify: bool,
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl HealthCheckConfig {
    /// Accepted status ranges (default 200–399).
    pub fn status_ranges(&self) -> Vec<(u16, u16)> {
        self.expect_status
            .as_ref()
            .and_then(|e| e.ranges().ok())
            .unwrap_or_else(|| vec![(200, 399)])
    }

    /// The component's status while the check is down.
    pub fn down_status(&self) -> ComponentStatus {
        self.down_status
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(ComponentStatus::MajorOutage)
    }

    pub fn priority(&self) -> Priority {
        self.priority
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(Priority::P2)
    }

    /// `(page, component)` from `component: page/component`.
    pub fn component_ref(&self) -> Option<(&str, &str)> {
        self.component
            .as_deref()
            .and_then(|c| c.split_once('/'))
            .map(|(p, c)| (p.trim(), c.trim()))
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn is_colour(s: &str) -> bool {
    let hex = s.strip_prefix('#').unwrap_or("");
    matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// Every problem in `status_pages:` and `health_checks:`, each pointing at its line.
pub fn validate(
    pages: &[StatusPageConfig],
    checks: &[HealthCheckConfig],
    text: &str,
) -> Vec<ConfigError> {
    let mut errs = Vec::new();
    let mut cursor = locate(text, "status_pages:");
    let mut ids = HashSet::new();
    for p in pages {
        let at = locate_from(text, cursor, &p.id);
        cursor = at.map(|l| l + 1).or(cursor);
        let mut err = |needle: &str, message: String| {
            errs.push(ConfigError {
                line: locate_from(text, at, needle).or(at),
                message: format!("status page {:?}: {message}", p.id),
            })
        };
        if !is_slug(&p.id) {
            err(
                &p.id,
                "id must be a slug: lowercase letters, digits, - and _ (it is used in URLs)".into(),
            );
        }
        if !ids.insert(p.id.clone()) {
            err(&p.id, "is declared twice".into());
        }
        if p.name.trim().is_empty() {
            err("name:", "name is empty".into());
        }
        if let Some(h) = &p.host {
            if h.is_empty() || h.contains('/') || h.contains(char::is_whitespace) {
                err(
                    h,
                    format!("host {h:?} must be a bare host name like status.example.com"),
                );
            }
        }
        let c = &p.branding.colors;
        for v in [&c.accent, &c.background, &c.text].into_iter().flatten() {
            if !is_colour(v) {
                err(v, format!("colour {v:?} must be #rgb or #rrggbb"));
            }
        }
        if let Some(u) = &p.branding.logo_url {
            if !(u.starts_with("https://") || u.starts_with("http://") || u.starts_with('/')) {
                err(
                    u,
                    format!("logo_url {u:?} must be an http(s) URL or a path"),
                );
            }
        }
        let mut groups = HashSet::new();
        for g in &p.groups {
            if !groups.insert(g.name.to_lowercase()) {
                err(&g.name, format!("group {:?} is declared twice", g.name));
            }
        }
        let mut names = HashSet::new();
        for comp in &p.components {
            if comp.name.trim().is_empty() {
                err("components:", "a component has an empty name".into());
            }
            if comp.name.contains('/') {
                err(
                    &comp.name,
                    format!("component {:?}: a name may not contain '/'", comp.name),
                );
            }
            if !names.insert(comp.name.to_lowercase()) {
                err(
                    &comp.name,
                    format!("component {:?} is declared twice", comp.name),
                );
            }
            if let Some(g) = &comp.group {
                if !groups.contains(&g.to_lowercase()) {
                    err(
                        g,
                        format!(
                            "component {:?}: group {g:?} is not declared under this page's groups:",
                            comp.name
                        ),
                    );
                }
            }
        }
    }

    let mut cursor = locate(text, "health_checks:");
    let mut names = HashSet::new();
    for c in checks {
        let at = locate_from(text, cursor, &c.name);
        cursor = at.map(|l| l + 1).or(cursor);
        let mut err = |needle: &str, message: String| {
            errs.push(ConfigError {
                line: locate_from(text, at, needle).or(at),
                message: format!("health check {:?}: {message}", c.name),
            })
        };
        if c.name.trim().is_empty() {
            err("name:", "name is empty".into());
        }
        if !names.insert(c.name.to_lowercase()) {
            err(&c.name, "is declared twice".into());
        }
        match c.kind {
            CheckKind::Http => match &c.url {
                None => err("type:", "type http needs a url".into()),
                Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => {
                    err(u, format!("url {u:?} must start with http:// or https://"))
                }
                _ => {}
            },
            CheckKind::Tcp => match &c.address {
                None => err("type:", "type tcp needs an address (host:port)".into()),
                Some(a) => {
                    let port = a.rsplit_once(':').and_then(|(h, p)| {
                        (!h.is_empty()).then(|| p.parse::<u16>().ok()).flatten()
                    });
                    if port.is_none() {
                        err(a, format!("address {a:?} must be host:port"));
                    }
                }
            },
        }
        if c.kind == CheckKind::Tcp
            && (c.expect_status.is_some()
                || c.body_contains.is_some()
                || !c.headers_match.is_empty())
        {
            err(
                "type:",
                "expect_status, body_contains and headers_match apply to http checks only".into(),
            );
        }
        let https = c.kind == CheckKind::Http
            && c.url.as_deref().is_some_and(|u| u.starts_with("https://"));
        if !https && (c.tls_ca_file.is_some() || c.tls_skip_verify) {
            let key = if c.tls_ca_file.is_some() {
                "tls_ca_file"
            } else {
                "tls_skip_verify"
            };
            err(
                key,
                "tls_ca_file and tls_skip_verify apply to https checks only".into(),
            );
        }
        if c.tls_ca_file
            .as_deref()
            .is_some_and(|f| f.trim().is_empty())
        {
            err("tls_ca_file", "tls_ca_file is empty".into());
        }
        let method = c.method.to_ascii_uppercase();
        if !matches!(method.as_str(), "GET" | "HEAD" | "POST" | "PUT" | "OPTIONS") {
            err(
                &c.method,
                format!(
                    "method {:?} should be GET, HEAD, POST, PUT or OPTIONS",
                    c.method
                ),
            );
        }
        if c.interval.as_millis() < 1_000 {
            err(
                "interval:",
                format!("interval {} is shorter than 1s", c.interval),
            );
        }
        if c.timeout.as_millis() < 1 || c.timeout.as_millis() > c.interval.as_millis().max(1_000) {
            err(
                "timeout:",
                format!(
                    "timeout {} must be positive and at most the interval",
                    c.timeout
                ),
            );
        }
        if c.retries == 0 || c.retries > 10 {
            err(
                "retries:",
                format!("retries {} must be between 1 and 10", c.retries),
            );
        }
        if c.failure_threshold == 0 || c.success_threshold == 0 {
            err(
                "threshold",
                "failure_threshold and success_threshold must be at least 1".into(),
            );
        }
        if let Some(e) = &c.expect_status {
            if let Err(m) = e.ranges() {
                err("expect_status:", m);
            }
        }
        if let Some(s) = &c.down_status {
            match s.parse::<ComponentStatus>() {
                Ok(ComponentStatus::Operational | ComponentStatus::UnderMaintenance) | Err(_) => err(
                    s,
                    format!("down_status {s:?} should be degraded_performance, partial_outage or major_outage"),
                ),
                Ok(_) => {}
            }
        }
        if let Some(p) = &c.priority {
            if let Err(e) = p.parse::<Priority>() {
                err(&format!("priority: {p}"), format!("priority: {e}"));
            }
        }
        if let Some(comp) = &c.component {
            match c.component_ref() {
                None => err(
                    comp,
                    format!("component {comp:?} must be written page/component"),
                ),
                Some((page, name)) => match pages.iter().find(|p| p.id == page) {
                    None => err(
                        comp,
                        format!("component {comp:?}: no status page {page:?} under status_pages:"),
                    ),
                    Some(p)
                        if !p
                            .components
                            .iter()
                            .any(|x| x.name.eq_ignore_ascii_case(name)) =>
                    {
                        err(
                            comp,
                            format!(
                                "component {comp:?}: page {page:?} declares no component {name:?}"
                            ),
                        )
                    }
                    _ => {}
                },
            }
        } else if c.incident {
            err(
                "incident:",
                "incident: true needs a component (page/component)".into(),
            );
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const GOOD: &str = r##"
status_pages:
  - id: acme
    name: Acme
    branding: {title: "Acme status", logo_url: "https://example.com/l.svg", colors: {accent: "#0b5fff"}}
    groups: [{name: Platform}]
    components:
      - {name: API, group: Platform}
      - {name: Website}
health_checks:
  - name: api-health
    type: http
    url: http://127.0.0.1:9/health
    interval: 30s
    timeout: 3s
    expect_status: "200-299"
    component: acme/API
    incident: true
    priority: P1
  - {name: db, type: tcp, address: "127.0.0.1:5432", component: acme/website}
"##;

    #[test]
    fn parses_pages_and_checks() {
        let c = Config::parse(GOOD).unwrap();
        assert_eq!(c.status_pages[0].components.len(), 2);
        let h = &c.health_checks[0];
        assert_eq!(h.interval.as_millis(), 30_000);
        assert_eq!(h.status_ranges(), vec![(200, 299)]);
        assert_eq!(h.component_ref(), Some(("acme", "API")));
        assert_eq!(h.retries, 3);
        assert_eq!(c.health_checks[1].status_ranges(), vec![(200, 399)]);
    }

    #[test]
    fn errors_point_at_their_lines() {
        let bad = r##"
status_pages:
  - id: Acme Corp
    name: Acme
    branding: {colors: {accent: blue}}
    components:
      - {name: API, group: Nope}
health_checks:
  - name: api
    type: http
    url: ftp://x
    expect_status: "299-200"
    component: acme/Missing
  - name: tcp1
    type: tcp
    address: nohost
    priority: P9
"##;
        let errs = Config::parse(bad).unwrap_err();
        let lines: Vec<String> = errs
            .iter()
            .map(|e| format!("{}: {}", e.line.unwrap_or(0), e.message))
            .collect();
        let has = |line: usize, word: &str| {
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{line}: ")) && l.contains(word))
        };
        assert!(has(3, "slug"), "{lines:#?}");
        assert!(has(5, "colour"), "{lines:#?}");
        assert!(has(7, "group \"Nope\""), "{lines:#?}");
        assert!(has(11, "http://"), "{lines:#?}");
        assert!(has(12, "backwards"), "{lines:#?}");
        assert!(has(13, "no status page"), "{lines:#?}");
        assert!(has(16, "host:port"), "{lines:#?}");
        assert!(has(17, "priority"), "{lines:#?}");
    }

    #[test]
    fn https_checks_take_tls_options_and_others_do_not() {
        let ok = r##"
health_checks:
  - name: site
    type: http
    url: https://127.0.0.1:8443/
    tls_expiry_warning: 30d
    tls_ca_file: /etc/ssl/ca.pem
  - {name: plain, type: http, url: "https://example.com/", tls_skip_verify: true}
"##;
        let c = Config::parse(ok).unwrap();
        assert_eq!(
            c.health_checks[0].tls_expiry_warning.as_millis(),
            30 * 86_400_000
        );
        assert_eq!(
            c.health_checks[0].tls_ca_file.as_deref(),
            Some("/etc/ssl/ca.pem")
        );
        assert_eq!(
            c.health_checks[1].tls_expiry_warning.as_millis(),
            14 * 86_400_000
        );
        assert!(c.health_checks[1].tls_skip_verify);

        let bad = r##"
health_checks:
  - name: plain
    type: http
    url: http://127.0.0.1/
    tls_skip_verify: true
  - {name: db, type: tcp, address: "db:5432", tls_ca_file: /ca.pem}
"##;
        let errs = Config::parse(bad).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].line, Some(6), "{errs:?}");
        assert!(
            errs.iter().all(|e| e.message.contains("https checks only")),
            "{errs:?}"
        );
    }
}
