//! Notification channels: how an outbox delivery leaves Klaxon. Each channel takes the payload
//! rendered into the outbox row (engine/render.rs) and reports success, a temporary failure
//! (retried with backoff) or a permanent one (given up; the escalation goes on).
//!
//! | channel   | target                         | how                                               |
//! |-----------|--------------------------------|---------------------------------------------------|
//! | `webhook` | URL                            | JSON POST, `X-Klaxon-Signature`, `Idempotency-Key` |
//! | `slack`   | incoming-webhook URL           | Block Kit message with Acknowledge/Close buttons   |
//! | `teams`   | Teams connector URL            | MessageCard with OpenUri actions                   |
//! | `email`   | address                        | SMTP (lettre), text + HTML                         |
//! | `sms`     | E.164 number                   | Twilio-compatible `Messages.json`                  |
//! | `voice`   | E.164 number                   | Twilio-compatible `Calls.json`, TwiML from Klaxon  |
//! | `mobile`  | ntfy topic or topic URL        | ntfy JSON publish with an Acknowledge action       |

mod email;

use crate::engine::links::webhook_signature;
use klaxon_core::notify_config::NotifyConfig;
use klaxon_store::ClaimedDelivery;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Longest a single attempt may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth another try later: the peer was down, overloaded or slow.
    Temporary(String),
    /// Will not get better by retrying: bad address, refused, misconfigured.
    Permanent(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Temporary(m) | SendError::Permanent(m) => f.write_str(m),
        }
    }
}

#[derive(Clone)]
pub struct Channels {
    http: reqwest::Client,
    cfg: Arc<NotifyConfig>,
    webhook_secret: String,
    email: Option<email::Mailer>,
}

impl Channels {
    /// The `notify:` section these channels were made from.
    pub fn config(&self) -> &NotifyConfig {
        &self.cfg
    }

    pub fn new(cfg: Arc<NotifyConfig>, webhook_secret: String) -> anyhow::Result<Channels> {
        let http = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .user_agent(concat!("Klaxon/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()?;
        let email = cfg.smtp.as_ref().map(email::Mailer::new).transpose()?;
        Ok(Channels {
            http,
            cfg,
            webhook_secret,
            email,
        })
    }

    /// Sends one delivery. `Ok` carries a short description for the timeline.
    pub async fn send(&self, d: &ClaimedDelivery) -> Result<String, SendError> {
        let payload: Value = serde_json::from_str(&d.payload)
            .map_err(|e| SendError::Permanent(format!("unreadable payload: {e}")))?;
        match d.channel.as_str() {
            "webhook" => self.webhook(d, &payload).await,
            "slack" | "teams" => self.post_json(&d.target, &payload, &[]).await,
            "email" => match &self.email {
                Some(m) => m.send(&d.target, &payload, &d.key).await,
                None => Err(SendError::Permanent(
                    "e-mail is not configured (notify.smtp)".into(),
                )),
            },
            "sms" => self.twilio(d, "Messages.json", &payload).await,
            "voice" => self.twilio(d, "Calls.json", &payload).await,
            "mobile" => self.ntfy(d, &payload).await,
            other => Err(SendError::Permanent(format!("unknown channel {other:?}"))),
        }
    }

    async fn webhook(&self, d: &ClaimedDelivery, payload: &Value) -> Result<String, SendError> {
        let body = serde_json::to_vec(payload).unwrap_or_default();
        let sig = webhook_signature(&self.webhook_secret, &body);
        let resp = self
            .http
            .post(&d.target)
            .header("content-type", "application/json")
            .header("idempotency-key", &d.key)
            .header("x-klaxon-delivery", &d.key)
            .header("x-klaxon-attempt", d.attempts.to_string())
            .header("x-klaxon-signature", sig)
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        check(resp).await
    }

    async fn post_json(
        &self,
        url: &str,
        payload: &Value,
        headers: &[(&str, String)],
    ) -> Result<String, SendError> {
        let mut req = self.http.post(url).json(payload);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        check(req.send().await.map_err(transport)?).await
    }

    async fn twilio(
        &self,
        d: &ClaimedDelivery,
        resource: &str,
        payload: &Value,
    ) -> Result<String, SendError> {
        let Some(t) = &self.cfg.twilio else {
            return Err(SendError::Permanent(
                "SMS and voice are not configured (notify.twilio)".into(),
            ));
        };
        let base = t
            .base_url
            .as_deref()
            .unwrap_or("https://api.twilio.com")
            .trim_end_matches('/');
        let url = format!("{base}/2010-04-01/Accounts/{}/{resource}", t.account_sid);
        let mut form = vec![("To", d.target.clone()), ("From", t.from.clone())];
        if resource == "Calls.json" {
            // A test call carries its words inline (Twilio's `Twiml` parameter): there is no
            // alert for Klaxon's TwiML URL to read out.
            match payload.get("twiml").and_then(Value::as_str) {
                Some(twiml) => form.push(("Twiml", twiml.to_string())),
                None => form.push(("Url", str_of(payload, "url"))),
            }
        } else {
            form.push(("Body", str_of(payload, "body")));
        }
        let resp = self
            .http
            .post(url)
            .basic_auth(&t.account_sid, Some(&t.auth_token))
            .form(&form)
            .send()
            .await
            .map_err(transport)?;
        check(resp).await
    }

    async fn ntfy(&self, d: &ClaimedDelivery, payload: &Value) -> Result<String, SendError> {
        let (base, topic) = if d.target.starts_with("http://") || d.target.starts_with("https://") {
            match d.target.trim_end_matches('/').rsplit_once('/') {
                Some((base, topic))
                    if base.contains("://")
                        && base.split("://").nth(1).is_some_and(|h| !h.is_empty()) =>
                {
                    (base.to_string(), topic.to_string())
                }
                _ => {
                    return Err(SendError::Permanent(format!(
                        "bad ntfy topic URL {:?}",
                        d.target
                    )))
                }
            }
        } else {
            let base = self
                .cfg
                .ntfy
                .as_ref()
                .and_then(|n| n.base_url.clone())
                .unwrap_or_else(|| "https://ntfy.sh".into());
            (base.trim_end_matches('/').to_string(), d.target.clone())
        };
        let mut body = payload.clone();
        body["topic"] = Value::String(topic);
        let mut headers = vec![];
        if let Some(tok) = self.cfg.ntfy.as_ref().and_then(|n| n.token.clone()) {
            headers.push(("authorization", format!("Bearer {tok}")));
        }
        self.post_json(&base, &body, &headers).await
    }
}

fn str_of(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn transport(e: reqwest::Error) -> SendError {
    if e.is_builder() {
        SendError::Permanent(format!("bad request: {e}"))
    } else if e.is_timeout() {
        SendError::Temporary("timed out".into())
    } else if e.is_connect() {
        SendError::Temporary("connection failed".into())
    } else {
        SendError::Temporary(e.to_string())
    }
}

/// 2xx is sent; 408, 425, 429 and 5xx are worth retrying; any other answer is final.
async fn check(resp: reqwest::Response) -> Result<String, SendError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(format!("HTTP {}", status.as_u16()));
    }
    let body: String = resp
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    let msg = format!("HTTP {} {}", status.as_u16(), body.trim());
    if status.is_server_error() || matches!(status.as_u16(), 408 | 425 | 429) {
        Err(SendError::Temporary(msg))
    } else {
        Err(SendError::Permanent(msg))
    }
}
