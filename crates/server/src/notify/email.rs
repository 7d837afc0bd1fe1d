//! E-mail over SMTP with lettre: a text and an HTML part, the delivery's idempotency key as
//! the Message-ID (so a retried message is recognisably the same one).

use super::SendError;
use klaxon_core::notify_config::{SmtpConfig, SmtpTls};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(c: &SmtpConfig) -> anyhow::Result<Mailer> {
        let mut b = match c.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host)
                .port(c.port.unwrap_or(25)),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host)?
                .port(c.port.unwrap_or(587)),
            SmtpTls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&c.host)?.port(c.port.unwrap_or(465))
            }
        };
        if let (Some(u), Some(p)) = (&c.username, &c.password) {
            b = b.credentials(Credentials::new(u.clone(), p.clone()));
        }
        b = b.timeout(Some(super::SEND_TIMEOUT));
        Ok(Mailer {
            transport: b.build(),
            from: c.from.parse()?,
        })
    }

    pub async fn send(&self, to: &str, payload: &Value, key: &str) -> Result<String, SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::Permanent(format!("bad address {to:?}: {e}")))?;
        let part = |k: &str| {
            payload
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let id_part: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '.'
                }
            })
            .collect();
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(part("subject"))
            .message_id(Some(format!("<{id_part}@klaxon>")))
            .multipart(MultiPart::alternative_plain_html(
                part("text"),
                part("html"),
            ))
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
        match self.transport.send(msg).await {
            Ok(r) => Ok(format!("SMTP {}", r.code())),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(format!("SMTP: {e}"))),
            Err(e) => Err(SendError::Temporary(format!("SMTP: {e}"))),
        }
    }
}
