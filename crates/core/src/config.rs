//! The YAML configuration file: schema and validation. Reading files and environment
//! overrides belong to the server; this module only parses text and checks rules.

use crate::alert::Priority;
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "sqlite://klaxon.db";

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub listen: Option<String>,
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(default)]
    pub database: Option<String>,
    /// Path prefix for the OpsGenie routes (`/og` → `/og/v2/alerts`).
    #[serde(default)]
    pub opsgenie_prefix: Option<String>,
    #[serde(default)]
    pub users: Vec<UserConfig>,
    #[serde(default)]
    pub teams: Vec<TeamConfig>,
    #[serde(default)]
    pub integrations: Vec<IntegrationConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    #[default]
    User,
    Stakeholder,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
            Role::Stakeholder => "stakeholder",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub username: String,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub role: Role,
    #[serde(default)]
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub members: Vec<MemberConfig>,
}

/// A team member: a bare username, or `{username, role}` (role `admin` or `user`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum MemberConfig {
    Username(String),
    Full {
        username: String,
        #[serde(default)]
        role: Option<String>,
    },
}

impl MemberConfig {
    pub fn username(&self) -> &str {
        match self {
            MemberConfig::Username(u) | MemberConfig::Full { username: u, .. } => u,
        }
    }
    pub fn role(&self) -> &str {
        match self {
            MemberConfig::Full { role: Some(r), .. } => r,
            _ => "user",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntegrationKind {
    Api,
    Alertmanager,
    Prometheus,
    Pagerduty,
    Webhook,
    Email,
}

impl IntegrationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationKind::Api => "api",
            IntegrationKind::Alertmanager => "alertmanager",
            IntegrationKind::Prometheus => "prometheus",
            IntegrationKind::Pagerduty => "pagerduty",
            IntegrationKind::Webhook => "webhook",
            IntegrationKind::Email => "email",
        }
    }
    /// The name OpsGenie shows in `integration.type`.
    pub fn opsgenie_type(self) -> &'static str {
        match self {
            IntegrationKind::Api => "API",
            IntegrationKind::Alertmanager => "Prometheus",
            IntegrationKind::Prometheus => "Prometheus",
            IntegrationKind::Pagerduty => "PagerDuty",
            IntegrationKind::Webhook => "Webhook",
            IntegrationKind::Email => "Email",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "api" => IntegrationKind::Api,
            "alertmanager" => IntegrationKind::Alertmanager,
            "prometheus" => IntegrationKind::Prometheus,
            "pagerduty" => IntegrationKind::Pagerduty,
            "webhook" => IntegrationKind::Webhook,
            "email" => IntegrationKind::Email,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: IntegrationKind,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub api_key_file: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// One problem in a config file, with the line it is on when that can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl Config {
    /// Parses and validates. Returns every problem found, each with its line number.
    pub fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
        let cfg: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_yaml::from_str(text).map_err(|e| {
                let line = e.location().map(|l| l.line());
                // serde_yaml appends "at line N column M"; keep the message short and put the
                // line in front, where people look for it.
                let msg = e.to_string();
                let msg = match msg.find(" at line ") {
                    Some(i) => msg[..i].to_string(),
                    None => msg,
                };
                vec![ConfigError { line, message: msg }]
            })?
        };
        let errors = cfg.validate(text);
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(errors)
        }
    }

    pub fn listen(&self) -> &str {
        self.listen.as_deref().unwrap_or(DEFAULT_LISTEN)
    }

    pub fn database(&self) -> &str {
        self.database.as_deref().unwrap_or(DEFAULT_DATABASE)
    }

    /// The OpsGenie prefix normalised to `/x/y` (or empty).
    pub fn opsgenie_prefix(&self) -> String {
        normalize_prefix(self.opsgenie_prefix.as_deref().unwrap_or(""))
    }

    fn validate(&self, text: &str) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        let mut err = |needle: &str, message: String| {
            errs.push(ConfigError {
                line: locate(text, needle),
                message,
            })
        };

        if let Some(p) = &self.opsgenie_prefix {
            if !p.is_empty() && !p.starts_with('/') {
                err(
                    p,
                    format!("opsgenie_prefix {p:?} must start with '/' (e.g. /og)"),
                );
            }
        }
        if let Some(db) = &self.database {
            if !(db.starts_with("sqlite:")
                || db.starts_with("postgres://")
                || db.starts_with("postgresql://"))
            {
                err(
                    db,
                    format!("database {db:?} must be sqlite://PATH or postgres://…"),
                );
            }
        }
        if let Some(l) = &self.listen {
            if l.parse::<std::net::SocketAddr>().is_err() {
                err(
                    l,
                    format!("listen {l:?} is not an address like 127.0.0.1:8080"),
                );
            }
        }

        let mut usernames = HashSet::new();
        for u in &self.users {
            if !looks_like_email(&u.username) {
                err(
                    &u.username,
                    format!("user {:?}: username must be an e-mail address", u.username),
                );
            }
            if !usernames.insert(u.username.to_lowercase()) {
                err(
                    &u.username,
                    format!("user {:?} is declared twice", u.username),
                );
            }
            if let Some(tz) = &u.time_zone {
                if tz.parse::<chrono_tz::Tz>().is_err() {
                    err(tz, format!("user {:?}: unknown time zone {tz:?} (use an IANA name like Europe/Berlin)", u.username));
                }
            }
        }

        let mut teams = HashSet::new();
        for t in &self.teams {
            if t.name.trim().is_empty() {
                err("teams:", "a team has an empty name".into());
            }
            if !teams.insert(t.name.to_lowercase()) {
                err(&t.name, format!("team {:?} is declared twice", t.name));
            }
            for m in &t.members {
                if !usernames.contains(&m.username().to_lowercase()) {
                    err(
                        m.username(),
                        format!(
                            "team {:?}: member {:?} is not a user declared under users:",
                            t.name,
                            m.username()
                        ),
                    );
                }
                if !matches!(m.role(), "admin" | "user") {
                    err(
                        m.role(),
                        format!(
                            "team {:?}: member role {:?} should be admin or user",
                            t.name,
                            m.role()
                        ),
                    );
                }
            }
        }

        let mut integrations = HashSet::new();
        for i in &self.integrations {
            if !integrations.insert(i.name.to_lowercase()) {
                err(
                    &i.name,
                    format!("integration {:?} is declared twice", i.name),
                );
            }
            match (&i.api_key, &i.api_key_file) {
                (Some(_), Some(_)) => err(
                    &i.name,
                    format!(
                        "integration {:?}: give api_key or api_key_file, not both",
                        i.name
                    ),
                ),
                (None, None) => err(
                    &i.name,
                    format!("integration {:?}: needs api_key or api_key_file", i.name),
                ),
                (Some(k), None) if k.trim().len() < 8 => err(
                    &i.name,
                    format!(
                        "integration {:?}: api_key is too short (at least 8 characters)",
                        i.name
                    ),
                ),
                _ => {}
            }
            if let Some(team) = &i.team {
                if !teams.contains(&team.to_lowercase()) {
                    err(
                        team,
                        format!(
                            "integration {:?}: team {team:?} is not declared under teams:",
                            i.name
                        ),
                    );
                }
            }
        }
        errs
    }
}

pub fn normalize_prefix(p: &str) -> String {
    let trimmed = p.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// The 1-based line where `needle` first stands as a whole value (not inside a longer word), so
/// that rule errors point at the place a person has to fix.
fn locate(text: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    let is_word = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@');
    text.lines()
        .position(|line| {
            line.match_indices(needle).any(|(i, _)| {
                let before = line[..i].chars().next_back();
                let after = line[i + needle.len()..].chars().next();
                !before.is_some_and(is_word) && !after.is_some_and(is_word)
            })
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
listen: 127.0.0.1:9090
database: sqlite://x.db
opsgenie_prefix: /og/
users:
  - {username: alice@example.com, full_name: Alice, role: admin, time_zone: Europe/Berlin}
  - username: bob@example.com
teams:
  - name: sre
    members: [alice@example.com, {username: bob@example.com, role: admin}]
integrations:
  - {name: prom, type: api, api_key: "0123456789", team: sre, priority: P2, tags: [prod]}
"#;

    #[test]
    fn parses_a_good_file() {
        let c = Config::parse(GOOD).unwrap();
        assert_eq!(c.listen(), "127.0.0.1:9090");
        assert_eq!(c.opsgenie_prefix(), "/og");
        assert_eq!(c.users.len(), 2);
        assert_eq!(c.users[1].role, Role::User);
        assert_eq!(c.teams[0].members[1].role(), "admin");
        assert_eq!(c.integrations[0].priority, Some(Priority::P2));
        assert!(c.integrations[0].enabled);
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.listen(), DEFAULT_LISTEN);
        assert_eq!(c.database(), DEFAULT_DATABASE);
        assert_eq!(c.opsgenie_prefix(), "");
    }

    #[test]
    fn rule_errors_carry_line_numbers() {
        let text = GOOD.replace(
            "members: [alice@example.com,",
            "members: [carol@example.com,",
        );
        let errs = Config::parse(&text).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].line, Some(10));
        assert!(errs[0].message.contains("carol@example.com"));
    }

    #[test]
    fn syntax_and_type_errors_carry_line_numbers() {
        let errs = Config::parse("listen: 127.0.0.1:1\nusers:\n  - username: [1]\n").unwrap_err();
        assert_eq!(errs[0].line, Some(3));
        let errs = Config::parse("lisen: x\n").unwrap_err();
        assert!(
            errs[0].message.contains("unknown field `lisen`"),
            "{errs:?}"
        );
        assert_eq!(errs[0].line, Some(1));
        let errs = Config::parse(
            "integrations:\n  - {name: a, type: api, api_key: abcdefghij, priority: P7}\n",
        )
        .unwrap_err();
        assert_eq!(errs[0].line, Some(2));
    }

    #[test]
    fn collects_every_rule_error() {
        let text = r#"
users:
  - {username: not-an-email, time_zone: Mars/Olympus}
integrations:
  - {name: a, type: api}
  - {name: b, type: api, api_key: "0123456789", team: ghosts}
"#;
        let errs = Config::parse(text).unwrap_err();
        let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(errs.len(), 4, "{all:?}");
        assert!(all[0].starts_with("line 3:") && all[0].contains("e-mail"));
        assert!(all[1].contains("Mars/Olympus"));
        assert!(all[2].starts_with("line 5:") && all[2].contains("needs api_key"));
        assert!(all[3].starts_with("line 6:") && all[3].contains("ghosts"));
    }
}
