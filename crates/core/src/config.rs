//! The YAML configuration file: schema and validation. Reading files and environment
//! overrides belong to the server; this module only parses text and checks rules.

use crate::alert::Priority;
use crate::alertmanager::is_valid_label_name;
use crate::mapping::{AlertMapping, AlertMappings};
use crate::schedule::{
    self, ClockTime, Override, Participant, Restriction, Rotation, RotationKind, RotationSpec,
    Schedule, ScheduleMode, TimeOff, WeekdayWindow,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

mod directory;
mod heartbeats;
pub use directory::{
    ConditionConfig, ContactConfig, CriteriaConfig, DurationText, EscalationConfig,
    EscalationRuleConfig, NamedRef, NotificationRuleConfig, RepeatConfig, RoutingRuleConfig,
    RoutingRuleDecl, StepConfig,
};
pub use heartbeats::HeartbeatConfig;

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
    /// On-call schedules (see [`ScheduleConfig`]).
    #[serde(default)]
    pub schedules: Vec<ScheduleConfig>,
    /// Vacations and other absences, applied to every schedule (see [`TimeOffConfig`]).
    #[serde(default)]
    pub time_off: Vec<TimeOffConfig>,
    /// An alertmanager.yml's sections, accepted as they are (see [`crate::alertmanager`]):
    /// the routing tree whose receivers name Klaxon teams or escalation policies.
    #[serde(default)]
    pub route: Option<crate::alertmanager::RouteSpec>,
    #[serde(default)]
    pub inhibit_rules: Option<Vec<crate::alertmanager::InhibitRuleSpec>>,
    #[serde(default)]
    pub time_intervals: Option<Vec<crate::alertmanager::NamedTimeIntervalSpec>>,
    #[serde(default)]
    pub mute_time_intervals: Option<Vec<crate::alertmanager::NamedTimeIntervalSpec>>,
    /// Receiver names (notifier settings are ignored), so an alertmanager.yml pastes in.
    #[serde(default)]
    pub receivers: Option<Vec<crate::alertmanager::ReceiverSpec>>,
    /// alertmanager.yml's `global:` (only `resolve_timeout` is read) and `templates:` (ignored).
    #[serde(default)]
    pub global: Option<serde_yaml::Value>,
    #[serde(default)]
    pub templates: Option<Vec<String>>,
    /// Settings of the Alertmanager API v2 surface (`/api/v2/`).
    #[serde(default)]
    pub alertmanager: crate::alertmanager::ApiSettings,
    /// Public status pages (see [`crate::status::config`]).
    #[serde(default)]
    pub status_pages: Vec<crate::status::config::StatusPageConfig>,
    /// HTTP and TCP health checks (see [`crate::status::config`]).
    #[serde(default)]
    pub health_checks: Vec<crate::status::config::HealthCheckConfig>,
    /// Channels (SMTP, Twilio, ntfy), webhook signing, links and retries.
    #[serde(default)]
    pub notify: crate::notify_config::NotifyConfig,
    /// Escalation policies (see [`EscalationConfig`]).
    #[serde(default)]
    pub escalations: Vec<EscalationConfig>,
    /// Heartbeats declared in the file (see [`HeartbeatConfig`]).
    #[serde(default)]
    pub heartbeats: Vec<HeartbeatConfig>,
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
    /// Web UI password as an argon2 PHC string (`klaxon user hash-password` prints one).
    #[serde(default)]
    pub password_hash: Option<String>,
    /// A file holding the web UI password itself (relative to the config file).
    #[serde(default)]
    pub password_file: Option<String>,
    /// Where pages reach the user (see [`ContactConfig`]).
    #[serde(default)]
    pub contacts: Vec<ContactConfig>,
    /// Which contacts, when (see [`NotificationRuleConfig`]).
    #[serde(default)]
    pub notification_rules: Vec<NotificationRuleConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub members: Vec<MemberConfig>,
    /// The escalation policy the team's default routing rule notifies.
    #[serde(default)]
    pub escalation: Option<String>,
    /// Ordered routing rules, before the default rule (see [`RoutingRuleConfig`]).
    #[serde(default)]
    pub routing_rules: Vec<RoutingRuleConfig>,
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
    /// Default priority for alerts from this integration. Kept as text and checked in
    /// `validate`, so a wrong value is reported on its own line with its field name.
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Alertmanager webhook: the label whose value picks the priority (default `severity`).
    #[serde(default)]
    pub priority_label: Option<String>,
    /// Label value or PagerDuty severity → priority, merged over the defaults
    /// (critical P1, error P2, warning P3, info P5). Values are checked in `validate`.
    #[serde(default)]
    pub priority_map: BTreeMap<String, String>,
    /// Alertmanager webhook: common labels whose values become tags (default
    /// `[alertname, severity]`; `[]` for none).
    #[serde(default)]
    pub tag_labels: Option<Vec<String>>,
    /// Generic webhook (`POST /api/integrations/webhook`): where each alert field is in the
    /// body, as JSON pointers (see [`crate::webhook`]).
    #[serde(default)]
    pub mapping: Option<crate::webhook::WebhookMapping>,
}

impl IntegrationConfig {
    /// The validated default priority (`Config::parse` has already refused a bad one).
    pub fn default_priority(&self) -> Option<Priority> {
        self.priority.as_deref().and_then(|p| p.parse().ok())
    }

    /// How this integration's webhook and PagerDuty alerts get priority and tags
    /// (`Config::parse` has already refused bad values; any left are skipped).
    pub fn alert_mapping(&self) -> AlertMapping {
        AlertMapping::new(
            self.priority_label.as_deref(),
            self.priority_map
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.parse().ok()?))),
            self.tag_labels.clone(),
        )
        .with_webhook(self.mapping.clone())
    }
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

fn utc_name() -> String {
    "UTC".to_string()
}

/// An on-call schedule declared in the file. It is read-only through the API (overrides may
/// still be added there, for swaps); the file's own overrides are replaced on every start.
///
/// ```yaml
/// schedules:
///   - name: sre-primary
///     time_zone: Europe/Berlin        # IANA name; default UTC
///     mode: cumulative                # or layered (the last rotation with someone wins)
///     team: sre
///     rotations:
///       - name: weekdays
///         type: weekly                # hourly | daily | weekly
///         length: 1                   # units per turn
///         start: 2026-01-05 09:00     # local time in time_zone, or RFC 3339 with an offset
///         participants: [alice@example.com, bob@example.com, none]
///       - name: weekend
///         type: weekly
///         start: 2026-01-09 18:00
///         participants: [carol@example.com]
///         time_restriction:
///           type: weekday-and-time-of-day
///           windows: [{start_day: friday, start: "18:00", end_day: monday, end: "09:00"}]
///     overrides:
///       - {user: bob@example.com, start: 2026-02-02 09:00, end: 2026-02-03 09:00, rotations: [weekdays]}
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default = "utc_name")]
    pub time_zone: String,
    #[serde(default)]
    pub mode: ScheduleMode,
    /// The owner team, declared under `teams:`.
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub rotations: Vec<RotationConfig>,
    /// Later overrides win where they overlap.
    #[serde(default)]
    pub overrides: Vec<OverrideConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: RotationKind,
    #[serde(default = "one")]
    pub length: u32,
    pub start: String,
    #[serde(default)]
    pub end: Option<String>,
    /// Usernames in turn order; `none` leaves that turn uncovered.
    pub participants: Vec<String>,
    #[serde(default)]
    pub time_restriction: Option<RestrictionConfig>,
}

/// When a rotation's turn-holder is on call, in the schedule's wall-clock time (`HH:MM`).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RestrictionConfig {
    /// Every day from `start` to `end`; an end before the start wraps past midnight.
    TimeOfDay { start: String, end: String },
    /// Weekly windows such as Friday 18:00 → Monday 09:00.
    WeekdayAndTimeOfDay { windows: Vec<WindowConfig> },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    pub start_day: String,
    pub start: String,
    pub end_day: String,
    pub end: String,
}

/// Someone else (or `none`) on call for a window, in the named rotations or (none named) the
/// whole schedule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideConfig {
    #[serde(default)]
    pub alias: Option<String>,
    pub user: String,
    pub start: String,
    pub end: String,
    #[serde(default)]
    pub rotations: Vec<String>,
}

/// A user away from `start` to `end`: in every schedule their shifts go to `replacement`, or
/// are left uncovered when none is named. Times without an offset are read in the user's time
/// zone (`users[].time_zone`, default UTC).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeOffConfig {
    pub user: String,
    pub start: String,
    pub end: String,
    #[serde(default)]
    pub replacement: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Reads an instant written in a config file: RFC 3339 with `Z` or an offset, or a local
/// wall-clock time (`2026-01-05 09:00`, `2026-01-05T09:00:00`, `2026-01-05`) in `tz`.
pub fn parse_config_instant(s: &str, tz: &Tz) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    const FORMATS: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ];
    let local = FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(NaiveTime::MIN))
        })
        .ok_or_else(|| {
            format!("`{s}` is not a time: write 2026-01-05 09:00 (local) or 2026-01-05T09:00:00Z")
        })?;
    Ok(schedule::wall_clock_instant(tz, local))
}

fn parse_weekday(s: &str) -> Result<Weekday, String> {
    s.trim()
        .parse::<Weekday>()
        .map_err(|_| format!("`{s}` is not a day of the week: write monday … sunday"))
}

impl RestrictionConfig {
    /// The checked restriction, or the offending value and what is wrong with it.
    pub fn to_restriction(&self) -> Result<Restriction, (String, String)> {
        let clock = |v: &String| {
            v.parse::<ClockTime>()
                .map_err(|e| (v.clone(), e.to_string()))
        };
        let day = |v: &String| parse_weekday(v).map_err(|e| (v.clone(), e));
        Ok(match self {
            RestrictionConfig::TimeOfDay { start, end } => Restriction::TimeOfDay {
                start: clock(start)?,
                end: clock(end)?,
            },
            RestrictionConfig::WeekdayAndTimeOfDay { windows } => {
                let mut out = Vec::with_capacity(windows.len());
                for w in windows {
                    out.push(WeekdayWindow {
                        start_day: day(&w.start_day)?,
                        start: clock(&w.start)?,
                        end_day: day(&w.end_day)?,
                        end: clock(&w.end)?,
                    });
                }
                Restriction::WeekdayAndTimeOfDay(out)
            }
        })
    }
}

impl RotationConfig {
    /// The rotation as the schedule maths takes it (participants by username), or the offending
    /// value and what is wrong with it.
    pub fn to_spec(&self, tz: &Tz) -> Result<RotationSpec, (String, String)> {
        let instant = |v: &String| parse_config_instant(v, tz).map_err(|e| (v.clone(), e));
        Ok(RotationSpec {
            name: self.name.clone(),
            kind: self.kind,
            length: self.length,
            start: instant(&self.start)?,
            end: self.end.as_ref().map(instant).transpose()?,
            participants: self
                .participants
                .iter()
                .map(|p| match p.trim() {
                    "none" => Participant::None,
                    user => Participant::user(user),
                })
                .collect(),
            restriction: self
                .time_restriction
                .as_ref()
                .map(RestrictionConfig::to_restriction)
                .transpose()?,
        })
    }
}

impl OverrideConfig {
    pub fn to_override(&self, tz: &Tz) -> Result<Override, (String, String)> {
        let instant = |v: &String| parse_config_instant(v, tz).map_err(|e| (v.clone(), e));
        let user = match self.user.trim() {
            "none" => Participant::None,
            user => Participant::user(user),
        };
        Override::new(
            user,
            instant(&self.start)?,
            instant(&self.end)?,
            Some(self.rotations.clone()),
        )
        .map_err(|e| (self.start.clone(), e.to_string()))
    }
}

impl ScheduleConfig {
    /// The whole schedule checked by the schedule maths (users by username), or the offending
    /// value and what is wrong with it.
    pub fn to_schedule(&self) -> Result<Schedule, (String, String)> {
        let tz = schedule::parse_time_zone(&self.time_zone)
            .map_err(|e| (self.time_zone.clone(), e.to_string()))?;
        let mut rotations = Vec::with_capacity(self.rotations.len());
        for r in &self.rotations {
            let spec = r.to_spec(&tz)?;
            rotations.push(Rotation::new(spec).map_err(|e| (r.name.clone(), e.to_string()))?);
        }
        let overrides = self
            .overrides
            .iter()
            .map(|o| o.to_override(&tz))
            .collect::<Result<Vec<_>, _>>()?;
        Schedule::new(tz, self.mode, rotations, overrides)
            .map_err(|e| (self.name.clone(), e.to_string()))
    }
}

impl TimeOffConfig {
    /// The checked time off (users by username); naive times are read in `tz`, the user's zone.
    pub fn to_time_off(&self, tz: &Tz) -> Result<TimeOff, (String, String)> {
        let instant = |v: &String| parse_config_instant(v, tz).map_err(|e| (v.clone(), e));
        TimeOff::new(
            self.user.trim(),
            instant(&self.start)?,
            instant(&self.end)?,
            self.replacement.clone(),
        )
        .map_err(|e| (self.start.clone(), e.to_string()))
    }
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

    /// Every declared integration's priority and tag mapping, by name.
    pub fn alert_mappings(&self) -> AlertMappings {
        AlertMappings::new(
            self.integrations
                .iter()
                .map(|i| (i.name.clone(), i.alert_mapping())),
        )
    }

    fn validate(&self, text: &str) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        let mut err = |needle: &str, message: String| {
            errs.push(ConfigError {
                line: locate(text, needle),
                message,
            })
        };

        for (needle, message) in self.notify.problems() {
            err(&needle, message);
        }
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
            if let Some(p) = &i.priority {
                if let Err(e) = p.parse::<Priority>() {
                    err(
                        &format!("priority: {p}"),
                        format!("integration {:?}: priority: {e}", i.name),
                    );
                }
            }
            if let Some(l) = &i.priority_label {
                if !is_valid_label_name(l) {
                    err(
                        &format!("priority_label: {l}"),
                        format!(
                            "integration {:?}: priority_label {l:?} is not a label name (letters, digits and _, not starting with a digit)",
                            i.name
                        ),
                    );
                }
            }
            for (word, p) in &i.priority_map {
                if let Err(e) = p.parse::<Priority>() {
                    // Quoted keys are not found as written; the section's line is next best.
                    let at = format!("{word}: {p}");
                    err(
                        if locate(text, &at).is_some() {
                            &at
                        } else {
                            "priority_map:"
                        },
                        format!("integration {:?}: priority_map {word:?}: {e}", i.name),
                    );
                }
                if word.trim().is_empty() {
                    err(
                        "priority_map:",
                        format!("integration {:?}: priority_map has an empty key", i.name),
                    );
                }
            }
            for l in i.tag_labels.iter().flatten() {
                if !is_valid_label_name(l) {
                    err(
                        l,
                        format!(
                            "integration {:?}: tag_labels: {l:?} is not a label name",
                            i.name
                        ),
                    );
                }
            }
            if let Some(m) = &i.mapping {
                if i.kind != IntegrationKind::Webhook {
                    err(
                        "mapping:",
                        format!(
                            "integration {:?}: mapping: is read only for type: webhook",
                            i.name
                        ),
                    );
                }
                for (field, p) in m.pointers() {
                    if let Err(e) = crate::webhook::check_pointer(p) {
                        err(p, format!("integration {:?}: mapping.{field}: {e}", i.name));
                    }
                }
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
        self.validate_schedules(text, &usernames, &teams, &mut errs);
        errs.extend(self.validate_alertmanager(text));
        errs.extend(crate::status::config::validate(
            &self.status_pages,
            &self.health_checks,
            text,
        ));
        self.validate_directory(text, &usernames, &teams, &mut errs);
        self.validate_heartbeats(text, &teams, &mut errs);
        errs
    }

    /// Schedules and time off: every value the schedule maths refuses, every user, team and
    /// rotation that is not declared. Errors point at the offending value, searched from the
    /// schedule's own line so that a rotation name used in two schedules points at the right one.
    fn validate_schedules(
        &self,
        text: &str,
        usernames: &HashSet<String>,
        teams: &HashSet<String>,
        errs: &mut Vec<ConfigError>,
    ) {
        // Each entry is searched after the previous one, so that two entries with the same name
        // (or user) point at their own lines.
        let mut cursor = locate(text, "schedules:");
        let mut names = HashSet::new();
        for s in &self.schedules {
            let at = locate_from(text, cursor, &s.name);
            cursor = at.map(|l| l + 1).or(cursor);
            let mut err = |needle: &str, message: String| {
                errs.push(ConfigError {
                    line: locate_from(text, at, needle).or(at),
                    message: format!("schedule {:?}: {message}", s.name),
                })
            };
            if s.name.trim().is_empty() {
                err("name:", "a schedule has an empty name".into());
            }
            if !names.insert(s.name.to_lowercase()) {
                err(&s.name, "is declared twice".into());
            }
            if let Some(team) = &s.team {
                if !teams.contains(&team.to_lowercase()) {
                    err(team, format!("team {team:?} is not declared under teams:"));
                }
            }
            let known = |u: &str| u == "none" || usernames.contains(&u.trim().to_lowercase());
            for r in &s.rotations {
                for p in r.participants.iter().filter(|p| !known(p)) {
                    err(
                        p,
                        format!(
                            "rotation {:?}: participant {p:?} is not a user declared under users: (use `none` for a gap)",
                            r.name
                        ),
                    );
                }
            }
            for o in s.overrides.iter().filter(|o| !known(&o.user)) {
                err(
                    &o.user,
                    format!(
                        "override user {:?} is not a user declared under users: (or `none`)",
                        o.user
                    ),
                );
            }
            if let Err((needle, message)) = s.to_schedule() {
                err(&needle, message);
            }
        }

        let mut cursor = locate(text, "time_off:");
        for t in &self.time_off {
            let at = locate_from(text, cursor, &t.user);
            cursor = at.map(|l| l + 1).or(cursor);
            let mut err = |needle: &str, message: String| {
                errs.push(ConfigError {
                    line: locate_from(text, at, needle).or(at),
                    message: format!("time_off for {:?}: {message}", t.user),
                })
            };
            let user = self
                .users
                .iter()
                .find(|u| u.username.eq_ignore_ascii_case(t.user.trim()));
            if user.is_none() {
                err(
                    &t.user,
                    format!("user {:?} is not declared under users:", t.user),
                );
            }
            if let Some(r) = t.replacement.as_ref().filter(|r| !r.trim().is_empty()) {
                if !usernames.contains(&r.trim().to_lowercase()) {
                    err(
                        r,
                        format!("replacement {r:?} is not a user declared under users:"),
                    );
                }
            }
            let tz = user
                .and_then(|u| u.time_zone.as_deref())
                .and_then(|z| schedule::parse_time_zone(z).ok())
                .unwrap_or(chrono_tz::UTC);
            if let Err((needle, message)) = t.to_time_off(&tz) {
                err(&needle, message);
            }
        }
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
pub(crate) fn locate(text: &str, needle: &str) -> Option<usize> {
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

/// Like [`locate`], but only at or after line `from` (1-based); anywhere when `from` is `None`.
pub(crate) fn locate_from(text: &str, from: Option<usize>, needle: &str) -> Option<usize> {
    let Some(from) = from.filter(|f| *f > 1) else {
        return locate(text, needle);
    };
    let offset = text
        .split_inclusive('\n')
        .take(from - 1)
        .map(str::len)
        .sum::<usize>();
    let rest = text.get(offset..)?;
    locate(rest, needle).map(|l| l + from - 1)
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
        assert_eq!(c.integrations[0].default_priority(), Some(Priority::P2));
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
            "integrations:\n  - name: a\n    type: api\n    api_key: abcdefghij\n    priority: P7\n",
        )
        .unwrap_err();
        assert_eq!(errs[0].line, Some(5));
        assert!(
            errs[0].message.contains("priority: should be one of"),
            "{errs:?}"
        );
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

    #[test]
    fn integration_mappings_are_parsed_and_checked() {
        let text = r#"
integrations:
  - name: am
    type: alertmanager
    api_key: "0123456789"
    priority_label: level
    priority_map: {page: P1, warning: P4}
    tag_labels: [team]
  - {name: pd, type: pagerduty, api_key: "abcdefghij"}
"#;
        let c = Config::parse(text).unwrap();
        let all = c.alert_mappings();
        let am = all.get("am");
        assert_eq!(am.priority_label, "level");
        assert_eq!(am.priority_for("page"), Some(Priority::P1));
        assert_eq!(am.priority_for("warning"), Some(Priority::P4));
        assert_eq!(am.priority_for("critical"), Some(Priority::P1));
        assert_eq!(am.tag_labels, ["team"]);
        assert_eq!(all.get("pd"), &AlertMapping::default());

        let bad = text
            .replace("level", "1level")
            .replace("page: P1", "page: P9")
            .replace("[team]", "[team, bad-label]");
        let errs = Config::parse(&bad).unwrap_err();
        let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        let expect = [
            ("line 6:", "priority_label \"1level\" is not a label name"),
            ("line 7:", "priority_map \"page\": should be one of"),
            ("line 8:", "tag_labels: \"bad-label\""),
        ];
        for (line, what) in expect {
            assert!(
                all.iter().any(|e| e.starts_with(line) && e.contains(what)),
                "{line} {what}: {all:#?}"
            );
        }
        assert_eq!(errs.len(), expect.len(), "{all:#?}");
    }

    const SCHEDULES: &str = r#"
users:
  - {username: alice@example.com, time_zone: America/New_York}
  - username: bob@example.com
teams:
  - {name: sre, members: [alice@example.com]}
schedules:
  - name: primary
    time_zone: Europe/Berlin
    mode: layered
    team: sre
    rotations:
      - name: weekly
        type: weekly
        start: 2026-01-05 09:00
        participants: [alice@example.com, none, bob@example.com]
      - name: weekend
        type: daily
        length: 2
        start: 2026-01-09T17:00:00Z
        end: 2026-12-31
        participants: [bob@example.com]
        time_restriction:
          type: weekday-and-time-of-day
          windows: [{start_day: friday, start: "18:00", end_day: Mon, end: "09:00"}]
    overrides:
      - {user: bob@example.com, start: 2026-02-02 09:00, end: 2026-02-03 09:00, rotations: [weekly]}
  - name: nights
    rotations:
      - name: weekly
        type: hourly
        length: 12
        start: 2026-01-05T21:00:00+01:00
        participants: [bob@example.com]
        time_restriction: {type: time-of-day, start: "21:00", end: "09:00"}
time_off:
  - {user: alice@example.com, start: 2026-07-01, end: 2026-07-15, replacement: bob@example.com, reason: vacation}
"#;

    #[test]
    fn parses_schedules_with_local_times_in_their_zone() {
        let c = Config::parse(SCHEDULES).unwrap();
        assert_eq!(c.schedules.len(), 2);
        let s = c.schedules[0].to_schedule().unwrap();
        assert_eq!(s.mode(), ScheduleMode::Layered);
        assert_eq!(s.time_zone(), chrono_tz::Europe::Berlin);
        // 09:00 in Berlin in January is 08:00Z.
        assert_eq!(
            s.rotations()[0].start(),
            "2026-01-05T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(s.rotations()[0].participants()[1], Participant::None);
        assert_eq!(s.rotations()[1].length(), 2);
        assert!(matches!(
            s.rotations()[1].restriction(),
            Some(Restriction::WeekdayAndTimeOfDay(w)) if w[0].end_day == Weekday::Mon
        ));
        assert_eq!(
            s.overrides()[0].rotations(),
            Some(&["weekly".to_string()][..])
        );
        let nights = c.schedules[1].to_schedule().unwrap();
        assert_eq!(nights.time_zone(), chrono_tz::UTC);
        assert_eq!(
            nights.rotations()[0].start(),
            "2026-01-05T20:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        // Time off without an offset is read in the user's own zone (New York: UTC-4 in July).
        let off = c.time_off[0]
            .to_time_off(&chrono_tz::America::New_York)
            .unwrap();
        assert_eq!(
            off.start(),
            "2026-07-01T04:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(off.replacement(), Some("bob@example.com"));
    }

    #[test]
    fn schedule_errors_point_at_the_offending_line() {
        let text = r#"
users:
  - username: alice@example.com
schedules:
  - name: one
    time_zone: Europe/Atlantis
    rotations:
      - {name: weekly, type: weekly, start: 2026-01-05 09:00, participants: [alice@example.com]}
  - name: two
    rotations:
      - {name: weekly, type: weekly, start: 2026-01-05 09:00, participants: [alice@example.com]}
      - name: backwards
        type: daily
        start: 2026-02-01 09:00
        end: 2026-01-01 09:00
        participants: [alice@example.com]
  - name: three
    rotations:
      - name: weekly
        type: daily
        start: 2026-01-05 09:00
        participants: [alice@example.com]
        time_restriction: {type: time-of-day, start: "25:00", end: "09:00"}
  - name: four
    rotations:
      - {name: weekly, type: weekly, start: soon, participants: [alice@example.com]}
time_off:
  - {user: alice@example.com, start: 2026-07-01, end: 2026-07-15}
  - {user: alice@example.com, start: 2026-08-01, end: 2026-08-15, replacement: carol@example.com}
"#;
        let errs = Config::parse(text).unwrap_err();
        let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        let expect = [
            (
                "line 6:",
                "schedule \"one\": unknown time zone `Europe/Atlantis`",
            ),
            ("line 12:", "rotation `backwards` ends at"),
            ("line 23:", "hour 25 is outside 0–24"),
            ("line 26:", "`soon` is not a time"),
            ("line 29:", "replacement \"carol@example.com\""),
        ];
        for (line, what) in expect {
            assert!(
                all.iter().any(|e| e.starts_with(line) && e.contains(what)),
                "{line} {what}: {all:#?}"
            );
        }
        assert_eq!(errs.len(), expect.len(), "{all:#?}");
    }

    #[test]
    fn undeclared_names_and_empty_rotations_are_refused() {
        let text = r#"
users:
  - username: alice@example.com
schedules:
  - name: a
    team: ghosts
    rotations:
      - {name: r, type: daily, start: 2026-01-01, participants: [alice@example.com, dave@example.com]}
      - {name: e, type: daily, start: 2026-01-01, participants: []}
    overrides:
      - {user: erin@example.com, start: 2026-01-02, end: 2026-01-03}
      - {user: none, start: 2026-01-02, end: 2026-01-03, rotations: [zzz]}
  - name: a
"#;
        let errs = Config::parse(text).unwrap_err();
        let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        let expect = [
            ("line 6:", "ghosts"),
            ("line 8:", "dave@example.com"),
            ("line 11:", "erin@example.com"),
            ("line 9:", "has no participants"),
            ("line 13:", "is declared twice"),
        ];
        for (line, what) in expect {
            assert!(
                all.iter().any(|e| e.starts_with(line) && e.contains(what)),
                "{line} {what}: {all:#?}"
            );
        }
        assert_eq!(errs.len(), expect.len(), "{all:#?}");
        let errs =
            Config::parse(&text.replace("participants: []", "participants: [none]")).unwrap_err();
        assert!(errs.iter().any(|e| e.message.contains("zzz")), "{errs:#?}");
        let errs = Config::parse("schedules:\n  - {name: a, mode: fancy}\n").unwrap_err();
        assert_eq!(errs[0].line, Some(2));
        assert!(errs[0].message.contains("fancy"), "{errs:?}");
    }
}
