//! Signed, expiring action links ("acknowledge", "close") put in every message, so a
//! responder acts from an e-mail, SMS, chat or push notification without signing in.
//!
//! A token is `base64url(alert_id|action|user_id|expires_ms)` `.` `base64url(HMAC-SHA256)`,
//! keyed by a secret every process sharing the database reads from it. Following a link
//! shows a confirmation page (mail scanners fetch links; only a POST acts).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    Ack,
    Close,
}

impl LinkAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkAction::Ack => "ack",
            LinkAction::Close => "close",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ack" => Some(LinkAction::Ack),
            "close" => Some(LinkAction::Close),
            _ => None,
        }
    }
    pub fn verb(self) -> &'static str {
        match self {
            LinkAction::Ack => "Acknowledge",
            LinkAction::Close => "Close",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaim {
    pub alert_id: String,
    pub action: LinkAction,
    /// The username the link was sent to: the action is theirs.
    pub user: String,
    pub expires_at: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    #[error("this link is not valid")]
    Invalid,
    #[error("this link has expired; open the alert in Klaxon instead")]
    Expired,
}

#[derive(Clone)]
pub struct LinkSigner {
    secret: Vec<u8>,
    /// `https://klaxon.example.com` — no trailing slash.
    base_url: String,
    ttl_ms: i64,
}

impl LinkSigner {
    pub fn new(secret: &str, base_url: &str, ttl_ms: i64) -> Self {
        LinkSigner {
            secret: secret.as_bytes().to_vec(),
            base_url: base_url.trim_end_matches('/').to_string(),
            ttl_ms,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        let mut m = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }

    pub fn token(&self, alert_id: &str, action: LinkAction, user: &str, now: i64) -> String {
        let payload = format!(
            "{alert_id}|{}|{user}|{}",
            action.as_str(),
            now.saturating_add(self.ttl_ms)
        );
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload.as_bytes()),
            URL_SAFE_NO_PAD.encode(self.mac(payload.as_bytes()))
        )
    }

    pub fn url(&self, alert_id: &str, action: LinkAction, user: &str, now: i64) -> String {
        format!(
            "{}/act/{}",
            self.base_url,
            self.token(alert_id, action, user, now)
        )
    }

    pub fn verify(&self, token: &str, now: i64) -> Result<LinkClaim, LinkError> {
        let (p, sig) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| LinkError::Invalid)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| LinkError::Invalid)?;
        let mut m = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        m.update(&payload);
        m.verify_slice(&sig).map_err(|_| LinkError::Invalid)?;
        let text = String::from_utf8(payload).map_err(|_| LinkError::Invalid)?;
        let mut parts = text.split('|');
        let (Some(alert_id), Some(action), Some(user), Some(exp), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(LinkError::Invalid);
        };
        let action = LinkAction::parse(action).ok_or(LinkError::Invalid)?;
        let expires_at: i64 = exp.parse().map_err(|_| LinkError::Invalid)?;
        if now >= expires_at {
            return Err(LinkError::Expired);
        }
        Ok(LinkClaim {
            alert_id: alert_id.to_string(),
            action,
            user: user.to_string(),
            expires_at,
        })
    }
}

/// `sha256=<hex>` of HMAC-SHA256(secret, body): the `X-Klaxon-Signature` of a webhook.
pub fn webhook_signature(secret: &str, body: &[u8]) -> String {
    let mut m = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_tampering_and_expiry() {
        let s = LinkSigner::new("k", "http://x/", 1_000);
        let t = s.token("a1", LinkAction::Ack, "alice@example.com", 10);
        let c = s.verify(&t, 500).unwrap();
        assert_eq!(c.alert_id, "a1");
        assert_eq!(c.action, LinkAction::Ack);
        assert_eq!(c.user, "alice@example.com");
        assert_eq!(s.verify(&t, 1_010), Err(LinkError::Expired));
        let (p, sig) = t.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(b"a1|close|alice@example.com|99999");
        assert_eq!(
            s.verify(&format!("{forged}.{sig}"), 0),
            Err(LinkError::Invalid)
        );
        assert_eq!(s.verify(p, 0), Err(LinkError::Invalid));
        let other = LinkSigner::new("other", "http://x", 1_000);
        assert_eq!(other.verify(&t, 0), Err(LinkError::Invalid));
        assert!(s
            .url("a1", LinkAction::Close, "u", 0)
            .starts_with("http://x/act/"));
    }

    #[test]
    fn signs_webhook_bodies_like_github() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog")
        assert_eq!(
            webhook_signature("key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
