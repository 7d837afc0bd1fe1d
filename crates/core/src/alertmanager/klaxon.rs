//! The Alertmanager sections inside Klaxon's own config file: which receivers a route may
//! name (Klaxon teams, and the names under `receivers:`), the default tree when none is
//! written, `resolve_timeout`, and errors with the line they are on.

use super::config::{AlertmanagerConfig, Rules};
use super::duration::parse_duration;
use super::error::ConfigErrors;
use super::route::RouteSpec;
use super::yaml::Scalar;
use crate::config::{Config, ConfigError};
use crate::duration::Duration;
use serde::Deserialize;

/// The receiver of the tree Klaxon uses when the file has no `route:`: one group per
/// `alertname`, Klaxon alerts without responders.
pub const DEFAULT_RECEIVER: &str = "klaxon";

/// Alertmanager's default `resolve_timeout`.
pub const DEFAULT_RESOLVE_TIMEOUT_SECS: u64 = 300;

/// `alertmanager:` in Klaxon's config: how the Alertmanager API v2 surface behaves.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// Let clients on 127.0.0.1/::1 call `/api/v2/` without a key (Prometheus and amtool on
    /// the same host). Off by default: every request needs an integration key.
    #[serde(default)]
    pub allow_anonymous_loopback: bool,
    /// How long an alert posted without `endsAt` stays firing unless posted again (default
    /// 5m; also read from `global.resolve_timeout`).
    #[serde(default)]
    pub resolve_timeout: Option<Scalar>,
}

impl Config {
    /// The Alertmanager sections of this file, as an alertmanager.yml would hold them.
    pub fn alertmanager_config(&self) -> AlertmanagerConfig {
        AlertmanagerConfig {
            global: self.global.clone(),
            route: Some(self.route.clone().unwrap_or_else(|| RouteSpec {
                receiver: Some(DEFAULT_RECEIVER.to_string()),
                group_by: Some(vec!["alertname".to_string()]),
                ..RouteSpec::default()
            })),
            inhibit_rules: self.inhibit_rules.clone(),
            receivers: self.receivers.clone(),
            templates: self.templates.clone(),
            mute_time_intervals: self.mute_time_intervals.clone(),
            time_intervals: self.time_intervals.clone(),
        }
    }

    /// Names a route may use as receiver: Klaxon teams, the `receivers:` list and the default.
    pub fn alertmanager_receivers(&self) -> Vec<String> {
        let mut names: Vec<String> = self.teams.iter().map(|t| t.name.clone()).collect();
        names.extend(
            self.receivers
                .iter()
                .flatten()
                .map(|r| r.name.clone())
                .filter(|n| !n.is_empty()),
        );
        if self.route.is_none() {
            names.push(DEFAULT_RECEIVER.to_string());
        }
        names.sort();
        names.dedup();
        names
    }

    /// The checked routing tree, inhibit rules and time intervals.
    pub fn alertmanager_rules(&self) -> Result<Rules, ConfigErrors> {
        let names = self.alertmanager_receivers();
        self.alertmanager_config()
            .check(names.iter().map(String::as_str))
    }

    /// `alertmanager.resolve_timeout`, else `global.resolve_timeout`, else 5m.
    pub fn resolve_timeout(&self) -> Result<Duration, String> {
        let global = self
            .global
            .as_ref()
            .and_then(|g| g.get("resolve_timeout"))
            .and_then(|v| match v {
                serde_yaml::Value::String(s) => Some(s.clone()),
                serde_yaml::Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        let text = self
            .alertmanager
            .resolve_timeout
            .as_ref()
            .map(|s| s.0.clone())
            .or(global);
        match text {
            None => Ok(Duration::from_secs(DEFAULT_RESOLVE_TIMEOUT_SECS)),
            Some(t) => match parse_duration(&t) {
                Ok(d) if d == Duration::default() => Err(format!(
                    "resolve_timeout {t:?} cannot be zero; write e.g. 5m"
                )),
                Ok(d) => Ok(d),
                Err(e) => Err(format!("resolve_timeout: {e}")),
            },
        }
    }

    /// Every problem of the Alertmanager sections, each on its line in `text`.
    pub(crate) fn validate_alertmanager(&self, text: &str) -> Vec<ConfigError> {
        let mut out = Vec::new();
        if let Err(errors) = self.alertmanager_rules() {
            for e in errors.iter() {
                out.push(ConfigError {
                    line: line_of_path(text, &e.at),
                    message: e.to_string(),
                });
            }
        }
        if let Err(message) = self.resolve_timeout() {
            out.push(ConfigError {
                line: line_of_path(text, "alertmanager.resolve_timeout")
                    .or_else(|| line_of_path(text, "global.resolve_timeout")),
                message,
            });
        }
        out
    }
}

/// One step of a path such as `route.routes[1].matchers[0]`.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn steps(path: &str) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            out.push(Step::Key(key));
        }
        for idx in rest.split('[') {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Step::Index(i));
            }
        }
    }
    out
}

/// The 1-based line of the field at `path` in block-style YAML, following keys and list items
/// by indentation. Where the file switches to flow style (`{…}`, `[…]`) the line of the last
/// step found is the answer; `None` when not even the first key is found.
pub fn line_of_path(text: &str, path: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let is_content = |l: &str| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('#')
    };
    // The block being searched: lines (start, end) and the indentation its entries have at
    // least. An entry's key may follow a "- " on a list item line.
    let (mut start, mut end, mut min_indent) = (0usize, lines.len(), 0usize);
    let mut found: Option<usize> = None;
    for step in steps(path) {
        let hit = match step {
            Step::Key(key) => (start..end).find(|&i| {
                let l = lines[i];
                if !is_content(l) || indent(l) < min_indent {
                    return false;
                }
                let t = l.trim_start().trim_start_matches("- ").trim_start();
                let t = t.trim_start_matches(['"', '\'']);
                t.strip_prefix(key).is_some_and(|r| {
                    let r = r.trim_start_matches(['"', '\'']);
                    r.starts_with(':')
                })
            }),
            Step::Index(n) => {
                // The n-th "- " at the first list indentation inside the block.
                let items: Vec<usize> = (start..end)
                    .filter(|&i| is_content(lines[i]) && lines[i].trim_start().starts_with('-'))
                    .collect();
                let first_indent = items.first().map(|&i| indent(lines[i]));
                items
                    .into_iter()
                    .filter(|&i| Some(indent(lines[i])) == first_indent)
                    .nth(n)
            }
        };
        let Some(i) = hit else { break };
        found = Some(i);
        // The step's block: following lines indented deeper than the step's own line (for a
        // list item, deeper than its dash), up to the next line that is not.
        let own = match step {
            Step::Index(_) => indent(lines[i]),
            Step::Key(_) => {
                let l = lines[i];
                let t = l.trim_start();
                if t.starts_with("- ") {
                    indent(l) + 2
                } else {
                    indent(l)
                }
            }
        };
        // A key's list may sit at the key's own indentation ("routes:\n- receiver: x").
        let key_list = matches!(step, Step::Key(_));
        let stop = (i + 1..end)
            .find(|&j| {
                let l = lines[j];
                is_content(l)
                    && (indent(l) < own
                        || (indent(l) == own && !(key_list && l.trim_start().starts_with('-'))))
            })
            .unwrap_or(end);
        // A list item's own line holds its first key ("- name: x").
        start = if matches!(step, Step::Index(_)) {
            i
        } else {
            i + 1
        };
        end = stop;
        min_indent = own;
    }
    found.map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
teams:
  - name: sre
route:
  receiver: sre
  group_wait: 30s
  routes:
    - matchers: ['a=\"1\"']
      receiver: sre
    # a comment
    - receiver: nobody
      routes:
      - receiver: deep
        group_by: [x]
inhibit_rules:
- source_matchers: [a=1]
  target_matchers: ['b=~\"(\"']
";

    #[test]
    fn finds_lines_of_paths() {
        assert_eq!(line_of_path(TEXT, "route"), Some(3));
        assert_eq!(line_of_path(TEXT, "route.group_wait"), Some(5));
        assert_eq!(line_of_path(TEXT, "route.routes[0].matchers[0]"), Some(7));
        assert_eq!(line_of_path(TEXT, "route.routes[0].receiver"), Some(8));
        assert_eq!(line_of_path(TEXT, "route.routes[1].receiver"), Some(10));
        assert_eq!(
            line_of_path(TEXT, "route.routes[1].routes[0].group_by"),
            Some(13)
        );
        assert_eq!(
            line_of_path(TEXT, "inhibit_rules[0].target_matchers[0]"),
            Some(16)
        );
        assert_eq!(line_of_path(TEXT, "nothing.here"), None);
    }

    #[test]
    fn config_errors_carry_lines() {
        let text = "\
teams:
  - name: sre
route:
  receiver: sre
  routes:
    - receiver: nobody
      group_wait: 1.5h
";
        let errors = Config::parse(text).unwrap_err();
        let got: Vec<(Option<usize>, &str)> = errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert!(
            got.iter()
                .any(|(l, m)| *l == Some(6) && m.contains("undefined receiver \"nobody\"")),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|(l, m)| *l == Some(7) && m.contains("invalid duration \"1.5h\"")),
            "{got:?}"
        );
    }

    #[test]
    fn receivers_and_resolve_timeout() {
        let cfg = Config::parse(
            "teams: [{name: sre}]\nreceivers: [{name: pager}]\nroute: {receiver: pager}\nalertmanager: {resolve_timeout: 30s}\n",
        )
        .unwrap();
        assert_eq!(cfg.alertmanager_receivers(), ["pager", "sre"]);
        assert_eq!(cfg.resolve_timeout().unwrap(), Duration::from_secs(30));
        let cfg = Config::parse("global: {resolve_timeout: 1m}\n").unwrap();
        assert_eq!(cfg.resolve_timeout().unwrap(), Duration::from_secs(60));
        let rules = cfg.alertmanager_rules().unwrap();
        assert_eq!(rules.route().receiver(), DEFAULT_RECEIVER);
        let bad = Config::parse("alertmanager: {resolve_timeout: 5 minutes}\n").unwrap_err();
        assert_eq!(bad[0].line, Some(1), "{bad:?}");
    }
}
