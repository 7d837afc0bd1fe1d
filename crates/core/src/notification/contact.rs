//! A user's contact methods: where a page can reach them, parsed so a bad address is refused
//! when it is saved rather than when someone needs waking.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::error::NotificationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactKind {
    /// `to`: an e-mail address.
    Email,
    /// `to`: a phone number in E.164 (`+491701234567`; spaces, dashes, dots and brackets are
    /// dropped).
    Sms,
    /// `to`: a phone number, as for SMS.
    Voice,
    /// Push through ntfy. `to`: a topic name, or a topic URL on a given server.
    Mobile,
    /// `to`: a Slack incoming-webhook URL (https).
    Slack,
    /// `to`: an http(s) URL.
    Webhook,
}

impl ContactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Sms => "sms",
            ContactKind::Voice => "voice",
            ContactKind::Mobile => "mobile",
            ContactKind::Slack => "slack",
            ContactKind::Webhook => "webhook",
        }
    }

    /// SMS and voice cost money and wake people: they are throttled per contact.
    pub fn is_throttled(self) -> bool {
        matches!(self, ContactKind::Sms | ContactKind::Voice)
    }

    /// Parses `to` for this kind into its canonical form.
    pub fn parse_address(self, to: &str) -> Result<String, NotificationError> {
        let to = to.trim();
        let bad = |why: &'static str| NotificationError::BadAddress {
            kind: self.as_str(),
            to: to.to_string(),
            why,
        };
        match self {
            ContactKind::Email => {
                if is_email(to) {
                    Ok(to.to_string())
                } else {
                    Err(bad("write an e-mail address such as alice@example.com"))
                }
            }
            ContactKind::Sms | ContactKind::Voice => {
                let number: String = to
                    .chars()
                    .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
                    .collect();
                if E164.is_match(&number) {
                    Ok(number)
                } else {
                    Err(bad(
                        "write the number in international E.164 form, e.g. +491701234567",
                    ))
                }
            }
            ContactKind::Mobile => {
                if NTFY_TOPIC.is_match(to) || is_url(to, false) {
                    Ok(to.to_string())
                } else {
                    Err(bad("write an ntfy topic (letters, digits, - and _, up to 64) or a topic URL like https://ntfy.example.com/alice"))
                }
            }
            ContactKind::Slack => {
                if is_url(to, true) {
                    Ok(to.to_string())
                } else {
                    Err(bad(
                        "write the Slack incoming-webhook URL, https://hooks.slack.com/services/…",
                    ))
                }
            }
            ContactKind::Webhook => {
                if is_url(to, false) {
                    Ok(to.to_string())
                } else {
                    Err(bad("write an http:// or https:// URL"))
                }
            }
        }
    }
}

static E164: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\+[1-9][0-9]{6,14}$").expect("valid regex"));
static NTFY_TOPIC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_-]{1,64}$").expect("valid regex"));
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(https?)://([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?(?:[/?#]\S*)?$")
        .expect("valid regex")
});
static EMAIL_LOCAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
        .expect("valid regex")
});
static EMAIL_DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
        .expect("valid regex")
});

/// `local@domain` with a dotted domain name (what a mail server will accept; no quoted local
/// parts or address literals).
fn is_email(s: &str) -> bool {
    match s.rsplit_once('@') {
        Some((local, domain)) => {
            s.len() <= 254
                && local.len() <= 64
                && EMAIL_LOCAL.is_match(local)
                && EMAIL_DOMAIN.is_match(domain)
        }
        None => false,
    }
}

fn is_url(s: &str, https_only: bool) -> bool {
    let Some(caps) = URL.captures(s) else {
        return false;
    };
    let port_ok = caps
        .get(3)
        .is_none_or(|p| p.as_str().parse::<u16>().is_ok_and(|p| p > 0));
    port_ok && (!https_only || &caps[1] == "https")
}

impl FromStr for ContactKind {
    type Err = NotificationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "email" => ContactKind::Email,
            "sms" => ContactKind::Sms,
            "voice" => ContactKind::Voice,
            "mobile" => ContactKind::Mobile,
            "slack" => ContactKind::Slack,
            "webhook" => ContactKind::Webhook,
            other => return Err(NotificationError::UnknownContactKind(other.to_string())),
        })
    }
}

impl fmt::Display for ContactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The wire and config form, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactSpec {
    pub id: String,
    #[serde(rename = "method")]
    pub kind: ContactKind,
    pub to: String,
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

/// A checked contact method: a non-empty id and an address that fits its kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "ContactSpec", into = "ContactSpec")]
pub struct ContactMethod {
    id: String,
    kind: ContactKind,
    to: String,
    enabled: bool,
}

impl ContactMethod {
    pub fn new(spec: ContactSpec) -> Result<Self, NotificationError> {
        if spec.id.trim().is_empty() {
            return Err(NotificationError::EmptyContactId);
        }
        Ok(ContactMethod {
            to: spec.kind.parse_address(&spec.to)?,
            id: spec.id,
            kind: spec.kind,
            enabled: spec.enabled,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn kind(&self) -> ContactKind {
        self.kind
    }
    pub fn to(&self) -> &str {
        &self.to
    }
    pub fn enabled(&self) -> bool {
        self.enabled
    }
}

impl TryFrom<ContactSpec> for ContactMethod {
    type Error = NotificationError;
    fn try_from(spec: ContactSpec) -> Result<Self, Self::Error> {
        ContactMethod::new(spec)
    }
}

impl From<ContactMethod> for ContactSpec {
    fn from(c: ContactMethod) -> Self {
        ContactSpec {
            id: c.id,
            kind: c.kind,
            to: c.to,
            enabled: c.enabled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(kind: ContactKind, to: &str) -> Result<String, NotificationError> {
        kind.parse_address(to)
    }

    #[test]
    fn email_addresses() {
        for ok in [
            "alice@example.com",
            "a.b+tag@sub.example.co.uk",
            "x_y@ex-ample.org",
        ] {
            assert_eq!(parse(ContactKind::Email, ok).as_deref(), Ok(ok));
        }
        for bad in [
            "alice",
            "alice@",
            "@example.com",
            "a..b@example.com",
            ".a@example.com",
            "a@example",
            "a@-x.com",
            "a b@example.com",
        ] {
            assert!(parse(ContactKind::Email, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phone_numbers_are_normalised_to_e164() {
        assert_eq!(
            parse(ContactKind::Sms, "+49 170 123-4567").as_deref(),
            Ok("+491701234567")
        );
        assert_eq!(
            parse(ContactKind::Voice, "+1 (415) 555.0100").as_deref(),
            Ok("+14155550100")
        );
        for bad in [
            "01701234567",
            "+0123456789",
            "+12",
            "+1234567890123456",
            "+49 170 abc",
        ] {
            let err = parse(ContactKind::Sms, bad).unwrap_err().to_string();
            assert!(err.contains("E.164"), "{bad}: {err}");
        }
    }

    #[test]
    fn urls_topics_and_slack() {
        assert!(parse(ContactKind::Webhook, "http://localhost:8080/hook?x=1").is_ok());
        assert!(parse(ContactKind::Webhook, "https://[::1]:9000/").is_ok());
        for bad in [
            "ftp://x",
            "http://",
            "https://exa mple.com",
            "https://x:99999/",
            "example.com/hook",
        ] {
            assert!(parse(ContactKind::Webhook, bad).is_err(), "{bad}");
        }
        assert!(parse(ContactKind::Slack, "https://hooks.slack.com/services/T/B/X").is_ok());
        assert!(parse(ContactKind::Slack, "http://hooks.slack.com/services/T/B/X").is_err());
        assert!(parse(ContactKind::Mobile, "alice-pager_1").is_ok());
        assert!(parse(ContactKind::Mobile, "https://ntfy.example.com/alice").is_ok());
        assert!(parse(ContactKind::Mobile, "alice pager").is_err());
    }

    #[test]
    fn contact_methods_deserialize_checked() {
        let c: ContactMethod =
            serde_yaml::from_str("{id: phone, method: sms, to: '+49 170 1234567'}").unwrap();
        assert_eq!(
            (c.kind(), c.to(), c.enabled()),
            (ContactKind::Sms, "+491701234567", true)
        );
        assert!(serde_yaml::from_str::<ContactMethod>("{id: m, method: email, to: nope}").is_err());
        assert!(serde_yaml::from_str::<ContactMethod>("{id: m, method: fax, to: x}").is_err());
        assert!(ContactKind::Voice.is_throttled() && !ContactKind::Email.is_throttled());
    }
}
