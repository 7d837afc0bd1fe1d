//! Configuration errors, each with the path of the offending field
//! (`route.routes[1].matchers[0]`) and what to do about it.

use super::matcher::MatcherError;
use std::fmt;

/// One problem in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {kind}")]
pub struct ConfigError {
    /// Where: a path such as `route.routes[0].group_wait`, or `yaml` for a parse error (whose
    /// message carries the line and column).
    pub at: String,
    pub kind: ConfigErrorKind,
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigErrorKind {
    #[error("{0}")]
    Yaml(String),
    #[error("invalid regular expression {pattern:?}: {reason}")]
    BadRegex { pattern: String, reason: String },
    #[error("{0}")]
    BadMatcher(String),
    #[error("invalid duration {value:?}: {reason}")]
    BadDuration { value: String, reason: String },
    #[error("invalid label name {0:?}: use letters, digits and _ and do not start with a digit")]
    BadLabelName(String),
    #[error("undefined receiver {name:?} used in route; known receivers: {known}")]
    UnknownReceiver { name: String, known: String },
    #[error(
        "undefined time interval {0:?} used in route; define it under time_intervals (or mute_time_intervals)"
    )]
    UnknownTimeInterval(String),
    #[error("{0}")]
    Invalid(String),
}

impl From<MatcherError> for ConfigErrorKind {
    fn from(e: MatcherError) -> Self {
        match e {
            MatcherError::BadRegex { pattern, reason } => {
                ConfigErrorKind::BadRegex { pattern, reason }
            }
            other => ConfigErrorKind::BadMatcher(other.to_string()),
        }
    }
}

/// Every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn push(&mut self, at: impl Into<String>, kind: ConfigErrorKind) {
        self.0.push(ConfigError {
            at: at.into(),
            kind,
        });
    }

    pub(crate) fn invalid(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.push(at, ConfigErrorKind::Invalid(message.into()));
    }

    /// `Ok(value)` when nothing was reported.
    pub(crate) fn into_result<T>(self, value: T) -> Result<T, ConfigErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
