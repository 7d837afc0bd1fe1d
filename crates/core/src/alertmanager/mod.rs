//! Prometheus Alertmanager's rules, re-implemented with Alertmanager 0.25's semantics so that
//! an alertmanager.yml, amtool and Prometheus behave the same against Klaxon. Pure: no I/O.
//!
//! - [`labels`]: label sets, the fingerprint (`%016x` of FNV-1a), Go's label set string.
//! - [`matcher`]: `= != =~ !~` matchers and their text syntax (`{a="b",c=~"d.*"}`).
//! - [`route`]: the routing tree: matching, inheritance, route and group keys.
//! - [`time_interval`]: `time_intervals` and whether an instant falls inside.
//! - [`inhibit`]: which firing alerts inhibit which.
//! - [`silence`]: silence states and which silences mute an alert.
//! - [`config`]: the sections of the file together, checked like `amtool check-config`.
//!
//! Regular expressions use Go's RE2 syntax and meaning (`\d` is ASCII, `[[]` is valid, …),
//! translated for the `regex` crate; durations use Prometheus' syntax (`1h30m`, not `1.5h`).

pub mod config;
pub mod duration;
pub mod error;
pub mod inhibit;
pub mod klaxon;
pub mod labels;
pub mod matcher;
mod regex;
pub mod route;
pub mod silence;
pub mod time_interval;
pub mod yaml;

#[cfg(test)]
mod table_tests;

pub use config::{AlertmanagerConfig, ReceiverSpec, Rules, TimeMute};
pub use duration::parse_duration;
pub use error::{ConfigError, ConfigErrorKind, ConfigErrors};
pub use inhibit::{inhibited_by, inhibitions, InhibitRule, InhibitRuleSpec};
pub use klaxon::{line_of_path, ApiSettings, DEFAULT_RECEIVER};
pub use labels::{is_valid_label_name, label_set_string, Fingerprint, Labels};
pub use matcher::{MatchType, Matcher, MatcherError, Matchers};
pub use route::{GroupBy, Route, RouteSpec};
pub use silence::{silences_matching, sort_silences, Silence, SilenceError, SilenceState};
pub use time_interval::{NamedTimeIntervalSpec, TimeInterval, TimeIntervalSpec};
