//! The `notify:` section of the config: how Klaxon reaches people — SMTP, a Twilio-compatible
//! API for SMS and voice, an ntfy server for push — plus signing of webhooks and of the
//! ack/close links in every message, and the outbox's retry policy.
//!
//! ```yaml
//! notify:
//!   smtp: {host: 127.0.0.1, port: 25, from: klaxon@example.com, tls: none}
//!   twilio: {base_url: https://api.twilio.com, account_sid: AC…, auth_token: …, from: "+15550001111"}
//!   ntfy: {base_url: https://ntfy.sh}
//!   webhook_secret: s3cret          # HMAC-SHA256 key of X-Klaxon-Signature
//!   link_ttl: 24h                   # ack/close links expire after this long
//!   retry: {max_attempts: 10, max_backoff: 5m}
//! ```

use crate::duration::Duration;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    #[serde(default)]
    pub twilio: Option<TwilioConfig>,
    #[serde(default)]
    pub ntfy: Option<NtfyConfig>,
    /// Key of the `X-Klaxon-Signature` HMAC on webhook deliveries. Without it Klaxon signs
    /// with a secret it keeps in the database.
    #[serde(default)]
    pub webhook_secret: Option<String>,
    /// How long ack/close links stay valid (default 24h).
    #[serde(default)]
    pub link_ttl: Option<Duration>,
    #[serde(default)]
    pub retry: RetryConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on localhost).
    #[default]
    None,
    /// STARTTLS on the submission port.
    Starttls,
    /// TLS from the start (SMTPS, port 465).
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default)]
    pub port: Option<u16>,
    pub from: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub tls: SmtpTls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    /// Default `https://api.twilio.com`; any Twilio-compatible API.
    #[serde(default)]
    pub base_url: Option<String>,
    pub account_sid: String,
    pub auth_token: String,
    /// The number messages and calls come from (E.164).
    pub from: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NtfyConfig {
    /// Default `https://ntfy.sh`. A contact's `to` may also be a full topic URL.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Access token (sent as `Authorization: Bearer`).
    #[serde(default)]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts before a delivery is given up (default 10).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// The longest wait between two attempts (default 5m).
    #[serde(default = "default_backoff")]
    pub max_backoff: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: default_attempts(),
            max_backoff: default_backoff(),
        }
    }
}

fn default_attempts() -> u32 {
    10
}

fn default_backoff() -> Duration {
    Duration(std::time::Duration::from_secs(300))
}

impl NotifyConfig {
    pub fn link_ttl_ms(&self) -> i64 {
        self.link_ttl.map_or(24 * 3_600_000, |d| d.as_millis())
    }

    /// Problems with the section, as (text to locate, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(s) = &self.smtp {
            if s.host.trim().is_empty() {
                out.push(("smtp".into(), "notify.smtp.host must not be empty".into()));
            }
            if !s.from.contains('@') {
                out.push((
                    s.from.clone(),
                    format!("notify.smtp.from {:?} is not an e-mail address", s.from),
                ));
            }
        }
        if let Some(t) = &self.twilio {
            if let Some(u) = &t.base_url {
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    out.push((
                        u.clone(),
                        format!("notify.twilio.base_url {u:?} must be an http(s) URL"),
                    ));
                }
            }
            if !t.from.starts_with('+') {
                out.push((
                    t.from.clone(),
                    format!(
                        "notify.twilio.from {:?} must be an E.164 number like +15550001111",
                        t.from
                    ),
                ));
            }
        }
        if let Some(n) = &self.ntfy {
            if let Some(u) = &n.base_url {
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    out.push((
                        u.clone(),
                        format!("notify.ntfy.base_url {u:?} must be an http(s) URL"),
                    ));
                }
            }
        }
        if self.retry.max_attempts == 0 {
            out.push((
                "max_attempts".into(),
                "notify.retry.max_attempts must be at least 1".into(),
            ));
        }
        out
    }
}
