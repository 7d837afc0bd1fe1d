//! Loading the config file: reading it (and key files), environment overrides, and turning the
//! declared objects into what the store applies.

use klaxon_core::config::{Config, ConfigError};
use klaxon_core::schedule::parse_time_zone;
use klaxon_store::{
    DirectoryDecl, DirectorySpec, EscalationFields, IntegrationSpec, OverrideFields, ProfileDecl,
    RotationFields, RoutingDecl, RoutingRuleFields, ScheduleDecl, ScheduleDirectory,
    ScheduleFields, TeamSpec, TimeOffFields, UserSpec,
};
use std::path::{Path, PathBuf};

/// Everything `serve` needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub path: Option<PathBuf>,
    pub config: Config,
    pub listen: String,
    pub database: String,
    pub public_url: Option<String>,
    pub opsgenie_prefix: String,
    pub directory: DirectorySpec,
    /// Schedules and time off declared in the file (`schedules:`, `time_off:`).
    pub schedules: ScheduleDirectory,
    /// Web UI passwords declared on users (`password_hash`, `password_file`).
    pub passwords: Vec<crate::http::ui::accounts::UserPassword>,
    /// `KLAXON_ADMIN_PASSWORD`: the first password of the `admin` user.
    pub admin_password: Option<String>,
    /// The file as written (the Alertmanager API serves its Alertmanager sections).
    pub config_text: String,
    /// Status pages declared in the file (`status_pages:`).
    pub status_pages: Vec<klaxon_store::PageDecl>,
    /// Contacts, notification rules, escalations and team routing rules declared in the file.
    pub directory_decl: DirectoryDecl,
}

/// Problems found in a config file, each with its line when known.
#[derive(Debug)]
pub struct LoadError {
    pub path: Option<PathBuf>,
    pub errors: Vec<ConfigError>,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "<config>".into());
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match e.line {
                Some(l) => write!(f, "{name}:{l}: {}", e.message)?,
                None => write!(f, "{name}: {}", e.message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

impl Settings {
    /// Loads `path` (or built-in defaults when `None`), then applies `KLAXON_LISTEN` and
    /// `KLAXON_DATABASE_URL`.
    pub fn load(path: Option<&Path>) -> Result<Settings, LoadError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut s = Self::load_with(path, env("KLAXON_LISTEN"), env("KLAXON_DATABASE_URL"))?;
        s.admin_password = env("KLAXON_ADMIN_PASSWORD");
        Ok(s)
    }

    pub fn load_with(
        path: Option<&Path>,
        listen: Option<String>,
        database: Option<String>,
    ) -> Result<Settings, LoadError> {
        let fail = |errors| LoadError {
            path: path.map(Path::to_path_buf),
            errors,
        };
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|e| {
                fail(vec![ConfigError {
                    line: None,
                    message: format!("cannot read config file: {e}"),
                }])
            })?,
            None => String::new(),
        };
        let config = Config::parse(&text).map_err(fail)?;
        let base_dir = path.and_then(Path::parent).unwrap_or(Path::new("."));
        let directory = directory(&config, &text, base_dir).map_err(fail)?;
        let schedules = schedule_directory(&config).map_err(fail)?;
        let passwords =
            crate::http::ui::accounts::from_config(&config, &text, base_dir).map_err(fail)?;
        let directory_decl = directory_decl(&config).map_err(fail)?;
        Ok(Settings {
            passwords,
            admin_password: None,
            path: path.map(Path::to_path_buf),
            listen: listen.unwrap_or_else(|| config.listen().to_string()),
            database: database.unwrap_or_else(|| config.database().to_string()),
            public_url: config
                .public_url
                .clone()
                .map(|u| u.trim_end_matches('/').to_string()),
            opsgenie_prefix: config.opsgenie_prefix(),
            directory,
            schedules,
            status_pages: crate::status::page_decls(&config),
            directory_decl,
            config,
            config_text: text,
        })
    }
}

fn directory(c: &Config, text: &str, base_dir: &Path) -> Result<DirectorySpec, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut integrations = Vec::new();
    for i in &c.integrations {
        let key = match (&i.api_key, &i.api_key_file) {
            (Some(k), _) => Some(k.trim().to_string()),
            (None, Some(f)) => {
                let p = base_dir.join(f);
                match std::fs::read_to_string(&p) {
                    Ok(k) if k.trim().len() >= 8 => Some(k.trim().to_string()),
                    Ok(_) => {
                        errors.push(err_at(
                            text,
                            f,
                            format!(
                                "integration {:?}: key file {} holds fewer than 8 characters",
                                i.name,
                                p.display()
                            ),
                        ));
                        None
                    }
                    Err(e) => {
                        errors.push(err_at(
                            text,
                            f,
                            format!(
                                "integration {:?}: cannot read api_key_file {}: {e}",
                                i.name,
                                p.display()
                            ),
                        ));
                        None
                    }
                }
            }
            (None, None) => None,
        };
        if let Some(key) = key {
            integrations.push(IntegrationSpec {
                name: i.name.clone(),
                kind: i.kind.as_str().to_string(),
                key_hash: crate::keys::hash_key(&key),
                team: i.team.clone(),
                default_priority: i.default_priority(),
                default_tags: i.tags.clone(),
                enabled: i.enabled,
            });
        }
    }
    let mut hashes = std::collections::HashSet::new();
    for i in &integrations {
        if !hashes.insert(i.key_hash.clone()) {
            errors.push(err_at(
                text,
                &i.name,
                format!(
                    "integration {:?} uses the same key as another integration",
                    i.name
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(DirectorySpec {
        users: c
            .users
            .iter()
            .map(|u| UserSpec {
                username: u.username.clone(),
                full_name: u.full_name.clone().unwrap_or_default(),
                role: u.role.as_str().to_string(),
                time_zone: u.time_zone.clone().unwrap_or_else(|| "UTC".into()),
            })
            .collect(),
        teams: c
            .teams
            .iter()
            .map(|t| TeamSpec {
                name: t.name.clone(),
                description: t.description.clone().unwrap_or_default(),
                members: t
                    .members
                    .iter()
                    .map(|m| (m.username().to_string(), m.role().to_string()))
                    .collect(),
            })
            .collect(),
        integrations,
    })
}

/// The config's schedules and time off as the store applies them. `Config::parse` has checked
/// every value already; a value refused here anyway is reported, never unwrapped.
fn schedule_directory(c: &Config) -> Result<ScheduleDirectory, Vec<ConfigError>> {
    let refused = |(value, message): (String, String)| ConfigError {
        line: None,
        message: format!("{value}: {message}"),
    };
    let ms = |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis();
    let mut errors = Vec::new();
    let mut schedules = Vec::with_capacity(c.schedules.len());
    for s in &c.schedules {
        let tz = match parse_time_zone(&s.time_zone) {
            Ok(tz) => tz,
            Err(e) => {
                errors.push(refused((s.time_zone.clone(), e.to_string())));
                continue;
            }
        };
        let mut rotations = Vec::with_capacity(s.rotations.len());
        for r in &s.rotations {
            match r.to_spec(&tz) {
                Ok(spec) => rotations.push(RotationFields {
                    name: spec.name,
                    kind: spec.kind,
                    length: spec.length,
                    start: ms(spec.start),
                    end: spec.end.map(ms),
                    participants: spec
                        .participants
                        .iter()
                        .map(|p| p.name().map(str::to_string))
                        .collect(),
                    restriction: spec.restriction,
                }),
                Err(e) => errors.push(refused(e)),
            }
        }
        let mut overrides = Vec::with_capacity(s.overrides.len());
        for (i, o) in s.overrides.iter().enumerate() {
            match o.to_override(&tz) {
                Ok(checked) => overrides.push(OverrideFields {
                    // Config overrides are replaced wholesale on every start, so a positional
                    // alias is stable enough.
                    alias: o
                        .alias
                        .clone()
                        .unwrap_or_else(|| format!("config-{}", i + 1)),
                    user: checked.user().name().map(str::to_string),
                    start: ms(checked.start()),
                    end: ms(checked.end()),
                    rotations: o.rotations.clone(),
                }),
                Err(e) => errors.push(refused(e)),
            }
        }
        schedules.push(ScheduleDecl {
            fields: ScheduleFields {
                name: s.name.clone(),
                description: s.description.clone().unwrap_or_default(),
                time_zone: s.time_zone.trim().to_string(),
                mode: s.mode,
                enabled: s.enabled,
                team: s.team.clone(),
            },
            rotations,
            overrides,
        });
    }
    let mut time_off = Vec::with_capacity(c.time_off.len());
    for t in &c.time_off {
        // Times without an offset are in the user's own zone.
        let zone = c
            .users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(t.user.trim()))
            .and_then(|u| u.time_zone.as_deref())
            .unwrap_or("UTC");
        let tz = match parse_time_zone(zone) {
            Ok(tz) => tz,
            Err(e) => {
                errors.push(refused((zone.to_string(), e.to_string())));
                continue;
            }
        };
        match t.to_time_off(&tz) {
            Ok(checked) => time_off.push(TimeOffFields {
                user: checked.user().to_string(),
                replacement: checked.replacement().map(str::to_string),
                start: ms(checked.start()),
                end: ms(checked.end()),
                reason: t.reason.clone().unwrap_or_default(),
            }),
            Err(e) => errors.push(refused(e)),
        }
    }
    if errors.is_empty() {
        Ok(ScheduleDirectory {
            schedules,
            time_off,
        })
    } else {
        Err(errors)
    }
}

/// The config's contacts, notification rules, escalations and routing rules as the store
/// applies them. `Config::parse` has checked every value already; a value refused here anyway
/// is reported, never unwrapped.
fn directory_decl(c: &Config) -> Result<DirectoryDecl, Vec<ConfigError>> {
    let refused = |(value, message): (String, String)| ConfigError {
        line: None,
        message: format!("{value}: {message}"),
    };
    let mut errors = Vec::new();
    let mut decl = DirectoryDecl::default();
    for u in &c.users {
        match u.profile() {
            Ok(profile) => decl.profiles.push(ProfileDecl {
                username: u.username.clone(),
                profile,
            }),
            Err(e) => errors.push(refused(e)),
        }
    }
    for e in &c.escalations {
        match e.to_policy() {
            Ok(policy) => decl.escalations.push(EscalationFields {
                name: e.name.trim().to_string(),
                description: e.description.clone().unwrap_or_default(),
                team: e.team.clone(),
                policy,
            }),
            Err(e) => errors.push(refused(e)),
        }
    }
    for t in &c.teams {
        decl.routing.push(RoutingDecl {
            team: t.name.clone(),
            rules: c
                .team_routing(t)
                .into_iter()
                .map(|r| RoutingRuleFields {
                    name: r.name,
                    is_default: r.is_default,
                    criteria: r.criteria,
                    time_restriction: r.time_restriction,
                    time_zone: r.time_zone,
                    notify: r.notify,
                })
                .collect(),
        });
    }
    if errors.is_empty() {
        Ok(decl)
    } else {
        Err(errors)
    }
}

pub(crate) fn err_at(text: &str, needle: &str, message: String) -> ConfigError {
    ConfigError {
        line: text.lines().position(|l| l.contains(needle)).map(|i| i + 1),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_win_and_key_files_are_read() {
        let dir = std::env::temp_dir().join(format!("klaxon-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("key.txt"), "secret-key-123\n").unwrap();
        let cfg = dir.join("k.yaml");
        std::fs::write(
            &cfg,
            "integrations:\n  - {name: a, type: api, api_key_file: key.txt}\n",
        )
        .unwrap();
        let s = Settings::load_with(
            Some(&cfg),
            Some("127.0.0.1:1".into()),
            Some("sqlite://o.db".into()),
        )
        .unwrap();
        assert_eq!(s.listen, "127.0.0.1:1");
        assert_eq!(s.database, "sqlite://o.db");
        assert_eq!(
            s.directory.integrations[0].key_hash,
            crate::keys::hash_key("secret-key-123")
        );
    }

    #[test]
    fn missing_key_file_is_reported_with_its_line() {
        let dir = std::env::temp_dir().join(format!("klaxon-settings2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("k.yaml");
        std::fs::write(&cfg, "listen: 127.0.0.1:9\nintegrations:\n  - {name: a, type: api, api_key_file: nope.txt}\n").unwrap();
        let e = Settings::load_with(Some(&cfg), None, None).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("k.yaml:3:") && msg.contains("nope.txt"),
            "{msg}"
        );
    }

    #[test]
    fn declared_schedules_and_time_off_become_what_the_store_applies() {
        let text = r#"
users:
  - {username: alice@example.com, time_zone: America/New_York}
  - username: bob@example.com
schedules:
  - name: primary
    time_zone: Europe/Berlin
    rotations:
      - {name: weekly, type: weekly, start: 2026-01-05 09:00, participants: [alice@example.com, none]}
    overrides:
      - {user: bob@example.com, start: 2026-01-06 09:00, end: 2026-01-06 17:00, rotations: [weekly]}
      - {alias: quiet, user: none, start: 2026-01-07T00:00:00Z, end: 2026-01-07T06:00:00Z}
time_off:
  - {user: alice@example.com, start: 2026-07-01, end: 2026-07-15, replacement: bob@example.com}
"#;
        let config = Config::parse(text).unwrap();
        let d = schedule_directory(&config).unwrap();
        let s = &d.schedules[0];
        assert_eq!(s.fields.time_zone, "Europe/Berlin");
        // Local times are read in the schedule's zone: 09:00 in Berlin in January is 08:00Z.
        assert_eq!(s.rotations[0].start, 1_767_600_000_000);
        assert_eq!(
            s.rotations[0].participants,
            [Some("alice@example.com".to_string()), None]
        );
        assert_eq!(s.overrides[0].alias, "config-1");
        assert_eq!(s.overrides[0].rotations, ["weekly"]);
        assert_eq!(
            (s.overrides[1].alias.as_str(), &s.overrides[1].user),
            ("quiet", &None)
        );
        // Time off without an offset is in the user's own zone: midnight in New York.
        assert_eq!(d.time_off[0].start, 1_782_878_400_000);
        assert_eq!(
            d.time_off[0].replacement.as_deref(),
            Some("bob@example.com")
        );
    }
}
