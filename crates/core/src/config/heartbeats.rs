//! `heartbeats:` — OpsGenie heartbeats declared in the config file. They are applied at start
//! (created, or rewritten to match, and removed once no longer declared), show through the
//! Heartbeat API like any other, and cannot be edited or deleted through it.

use super::{locate, locate_from, Config, ConfigError, DurationText};
use crate::alert::{limits, Priority};
use serde::Deserialize;
use std::collections::HashSet;

fn yes() -> bool {
    true
}

/// One heartbeat, with the fields of OpsGenie's heartbeat.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    pub name: String,
    /// `30s`, `5m`, `1h`, `1d`, or a bare number of seconds.
    pub interval: DurationText,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The team that owns it (and the alert its expiry opens).
    #[serde(default)]
    pub owner_team: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The message of the expiry alert (default "NAME is expired").
    #[serde(default)]
    pub alert_message: Option<String>,
    /// P1 … P5 (default P3).
    #[serde(default)]
    pub alert_priority: Option<String>,
    #[serde(default)]
    pub alert_tags: Vec<String>,
}

/// Longest interval the Heartbeat API accepts: 100,000 days.
const MAX_INTERVAL_MS: i64 = 100_000 * 86_400_000;

impl HeartbeatConfig {
    /// The interval in milliseconds, or the offending value and what is wrong with it.
    pub fn interval_ms(&self) -> Result<i64, (String, String)> {
        let d = self.interval.parse()?;
        let ms = d.as_millis();
        let text = match &self.interval {
            DurationText::Seconds(s) => s.to_string(),
            DurationText::Text(t) => t.clone(),
        };
        if ms < 1_000 {
            return Err((text, "interval must be at least 1s".into()));
        }
        if ms > MAX_INTERVAL_MS {
            return Err((text, "interval must be at most 100000 days".into()));
        }
        Ok(ms)
    }

    /// The priority as stored (P3 when not given), or the error.
    pub fn priority(&self) -> Result<Priority, String> {
        match &self.alert_priority {
            None => Ok(Priority::P3),
            Some(p) => p.parse::<Priority>().map_err(|e| e.to_string()),
        }
    }
}

impl Config {
    pub(super) fn validate_heartbeats(
        &self,
        text: &str,
        teams: &HashSet<String>,
        errs: &mut Vec<ConfigError>,
    ) {
        let mut cursor = locate(text, "heartbeats:");
        let mut names = HashSet::new();
        for h in &self.heartbeats {
            let at = locate_from(text, cursor, &h.name);
            cursor = at.map(|l| l + 1).or(cursor);
            let mut err = |needle: &str, message: String| {
                errs.push(ConfigError {
                    line: locate_from(text, at, needle).or(at),
                    message: format!("heartbeat {:?}: {message}", h.name),
                })
            };
            let name = h.name.trim();
            if name.is_empty() {
                err("name:", "a heartbeat has an empty name".into());
            } else if name.contains('/') {
                err(&h.name, "the name must not contain '/'".into());
            } else if name.chars().count() > 200 {
                err(&h.name, "the name is longer than 200 characters".into());
            }
            if !names.insert(name.to_lowercase()) {
                err(&h.name, "is declared twice".into());
            }
            if let Err((needle, message)) = h.interval_ms() {
                err(&needle, message);
            }
            if let Err(e) = h.priority() {
                let p = h.alert_priority.clone().unwrap_or_default();
                err(&p, format!("alert_priority {p:?}: {e}"));
            }
            if let Some(team) = &h.owner_team {
                if !teams.contains(&team.trim().to_lowercase()) {
                    err(
                        team,
                        format!("owner_team {team:?} is not declared under teams:"),
                    );
                }
            }
            if h.alert_tags.len() > limits::TAGS {
                err(
                    "alert_tags:",
                    format!("alert_tags: at most {} tags", limits::TAGS),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn heartbeats_parse_and_errors_point_at_their_lines() {
        let ok = Config::parse(
            "teams: [{name: sre}]\nheartbeats:\n  - name: backup\n    interval: 30s\n    owner_team: sre\n    alert_priority: P2\n    alert_tags: [db]\n  - {name: cron, interval: 90, enabled: false}\n",
        )
        .unwrap();
        assert_eq!(ok.heartbeats[0].interval_ms().unwrap(), 30_000);
        assert_eq!(ok.heartbeats[1].interval_ms().unwrap(), 90_000);
        assert!(!ok.heartbeats[1].enabled);

        let text = "teams: [{name: sre}]\nheartbeats:\n  - name: a\n    interval: 30x\n  - name: b\n    interval: 5m\n    owner_team: web\n    alert_priority: P9\n  - name: a\n    interval: 500ms\n";
        let errs = Config::parse(text).unwrap_err();
        let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("line 4: heartbeat \"a\"") && l.contains("30x")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("line 7: heartbeat \"b\"")
                    && l.contains("owner_team \"web\"")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("line 8: heartbeat \"b\"")
                    && l.contains("alert_priority \"P9\"")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("line 9: heartbeat \"a\": is declared twice")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("line 10: heartbeat \"a\"") && l.contains("at least 1s")),
            "{lines:?}"
        );
        let unknown =
            Config::parse("heartbeats:\n  - {name: a, interval: 1m, colour: red}\n").unwrap_err();
        assert_eq!(unknown[0].line, Some(2), "{unknown:?}");
    }
}
