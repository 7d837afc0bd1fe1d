//! What a page says on each channel. Rendered once, when the page's step falls due, and kept
//! in the outbox row, so a retry sends exactly the same message.

use klaxon_core::lifecycle::Alert;
use klaxon_core::notification::ContactKind;
use serde_json::{json, Value};

/// Everything a message needs besides the alert.
pub struct MessageContext<'a> {
    pub alert: &'a Alert,
    pub username: &'a str,
    pub ack_url: &'a str,
    pub close_url: &'a str,
    /// The alert in Klaxon's web UI.
    pub alert_url: &'a str,
    /// TwiML for a voice call.
    pub voice_url: &'a str,
    /// Idempotency key of the delivery.
    pub key: &'a str,
}

fn title(a: &Alert) -> String {
    format!("[{}] #{} {}", a.priority.as_str(), a.tiny_id, a.message)
}

fn runbook(a: &Alert) -> Option<&str> {
    a.details
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("runbook_url") || k.eq_ignore_ascii_case("runbook"))
        .map(|(_, v)| v.as_str())
}

fn text_body(m: &MessageContext<'_>) -> String {
    let a = m.alert;
    let mut out = format!("{}\n", title(a));
    if !a.description.is_empty() {
        out.push_str(&format!("\n{}\n", a.description));
    }
    if !a.tags.is_empty() {
        out.push_str(&format!("\nTags: {}\n", a.tags.join(", ")));
    }
    if let Some(r) = runbook(a) {
        out.push_str(&format!("Runbook: {r}\n"));
    }
    for (k, v) in &a.details {
        out.push_str(&format!("{k}: {v}\n"));
    }
    out.push_str(&format!(
        "\nAcknowledge: {}\nClose: {}\nOpen in Klaxon: {}\n",
        m.ack_url, m.close_url, m.alert_url
    ));
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html_body(m: &MessageContext<'_>) -> String {
    let a = m.alert;
    let mut rows = String::new();
    for (k, v) in &a.details {
        rows.push_str(&format!(
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
            html_escape(k),
            html_escape(v)
        ));
    }
    let runbook = runbook(a)
        .map(|r| format!("<p><a href=\"{0}\">Runbook</a></p>", html_escape(r)))
        .unwrap_or_default();
    format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\">\
         <h2>{title}</h2><p>{desc}</p>{runbook}<table>{rows}</table>\
         <p><a href=\"{ack}\" style=\"padding:8px 14px;background:#b00020;color:#fff;text-decoration:none\">Acknowledge</a> \
         <a href=\"{close}\" style=\"padding:8px 14px;background:#333;color:#fff;text-decoration:none\">Close</a> \
         <a href=\"{open}\">Open in Klaxon</a></p></body></html>",
        title = html_escape(&title(a)),
        desc = html_escape(&a.description),
        ack = html_escape(m.ack_url),
        close = html_escape(m.close_url),
        open = html_escape(m.alert_url),
    )
}

fn alert_json(a: &Alert) -> Value {
    json!({
        "id": a.id,
        "tinyId": a.tiny_id.to_string(),
        "alias": a.alias,
        "message": a.message,
        "description": a.description,
        "priority": a.priority.as_str(),
        "tags": a.tags,
        "details": a.details,
        "source": a.source,
        "entity": a.entity,
        "status": a.status.as_str(),
        "acknowledged": a.acknowledged,
        "createdAt": klaxon_core::time::format_iso(a.created_at),
    })
}

/// The outbox payload for one message on `kind`.
pub fn payload(kind: ContactKind, m: &MessageContext<'_>) -> Value {
    let a = m.alert;
    match kind {
        ContactKind::Webhook => json!({
            "action": "notify",
            "idempotencyKey": m.key,
            "user": m.username,
            "alert": alert_json(a),
            "links": {"acknowledge": m.ack_url, "close": m.close_url, "alert": m.alert_url},
        }),
        ContactKind::Slack => json!({
            "text": title(a),
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": truncate(&title(a), 150)}},
                {"type": "section", "text": {"type": "mrkdwn", "text": if a.description.is_empty() { "_no description_".to_string() } else { truncate(&a.description, 2900) }}},
                {"type": "actions", "elements": [
                    {"type": "button", "style": "danger", "text": {"type": "plain_text", "text": "Acknowledge"}, "url": m.ack_url, "action_id": "ack"},
                    {"type": "button", "text": {"type": "plain_text", "text": "Close"}, "url": m.close_url, "action_id": "close"},
                    {"type": "button", "text": {"type": "plain_text", "text": "Open in Klaxon"}, "url": m.alert_url, "action_id": "open"},
                ]},
            ],
        }),
        ContactKind::Email => json!({
            "subject": title(a),
            "text": text_body(m),
            "html": html_body(m),
        }),
        ContactKind::Sms => json!({
            "body": truncate(&format!(
                "{}\nAck: {}\nReply \"ack {}\" or \"close {}\".",
                title(a), m.ack_url, a.tiny_id, a.tiny_id
            ), 1_500),
        }),
        ContactKind::Voice => json!({
            "url": m.voice_url,
            "say": format!("Klaxon alert, priority {}. {}. Press 1 to acknowledge, 2 to close.",
                a.priority.as_str().trim_start_matches('P'), a.message),
        }),
        ContactKind::Mobile => json!({
            "title": title(a),
            "message": if a.description.is_empty() { a.message.clone() } else { truncate(&a.description, 3_000) },
            "priority": match a.priority.as_str() { "P1" => 5, "P2" => 4, "P3" => 3, "P4" => 2, _ => 1 },
            "tags": a.tags,
            "click": m.alert_url,
            "actions": [
                {"action": "http", "label": "Acknowledge", "url": m.ack_url, "method": "POST", "clear": true},
                {"action": "view", "label": "Open", "url": m.alert_url},
            ],
        }),
    }
}

/// A Microsoft Teams incoming-webhook message (MessageCard). Teams contacts are webhooks
/// whose URL is a Teams connector (`*.webhook.office.com`); see [`is_teams_url`].
pub fn teams_payload(m: &MessageContext<'_>) -> Value {
    let a = m.alert;
    json!({
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": title(a),
        "themeColor": if a.priority.as_str() <= "P2" { "B00020" } else { "F0A000" },
        "title": title(a),
        "text": if a.description.is_empty() { a.message.clone() } else { a.description.clone() },
        "potentialAction": [
            {"@type": "OpenUri", "name": "Acknowledge", "targets": [{"os": "default", "uri": m.ack_url}]},
            {"@type": "OpenUri", "name": "Close", "targets": [{"os": "default", "uri": m.close_url}]},
            {"@type": "OpenUri", "name": "Open in Klaxon", "targets": [{"os": "default", "uri": m.alert_url}]},
        ],
    })
}

pub fn is_teams_url(url: &str) -> bool {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|r| r.split(['/', ':', '?']).next())
        .unwrap_or("");
    host.ends_with(".webhook.office.com") || host.ends_with(".logic.azure.com")
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_teams_connectors() {
        assert!(is_teams_url(
            "https://contoso.webhook.office.com/webhookb2/x"
        ));
        assert!(!is_teams_url("https://hooks.slack.com/services/x"));
        assert!(!is_teams_url("http://127.0.0.1:9000/hook"));
    }

    #[test]
    fn truncates_on_characters() {
        assert_eq!(truncate("héllo", 3), "hé…");
        assert_eq!(truncate("ok", 3), "ok");
    }
}
