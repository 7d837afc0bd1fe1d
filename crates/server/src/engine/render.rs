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
    if a.tiny_id == 0 {
        // A test page's stand-in alert has no number.
        return format!("[{}] {}", a.priority.as_str(), a.message);
    }
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
    out.push('\n');
    if !m.ack_url.is_empty() {
        out.push_str(&format!(
            "Acknowledge: {}\nClose: {}\n",
            m.ack_url, m.close_url
        ));
    }
    out.push_str(&format!("Open in Klaxon: {}\n", m.alert_url));
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
    let buttons = if m.ack_url.is_empty() {
        String::new()
    } else {
        format!(
            "<a href=\"{ack}\" style=\"padding:8px 14px;background:#b00020;color:#fff;text-decoration:none\">Acknowledge</a> \
             <a href=\"{close}\" style=\"padding:8px 14px;background:#333;color:#fff;text-decoration:none\">Close</a> ",
            ack = html_escape(m.ack_url),
            close = html_escape(m.close_url),
        )
    };
    format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\">\
         <h2>{title}</h2><p>{desc}</p>{runbook}<table>{rows}</table>\
         <p>{buttons}<a href=\"{open}\">Open in Klaxon</a></p></body></html>",
        title = html_escape(&title(a)),
        desc = html_escape(&a.description),
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

/// What a test page needs: who asked, and where their profile is.
pub struct TestPage<'a> {
    pub username: &'a str,
    /// When it was asked for (unix ms).
    pub at: i64,
    /// The person's profile in the web UI: the only link a test page carries.
    pub profile_url: &'a str,
    /// Idempotency key of the delivery.
    pub key: &'a str,
}

/// A stand-in alert for a test page: the channel's usual layout with a message that says it is
/// a test, and nothing to acknowledge.
fn test_alert(t: &TestPage<'_>) -> Alert {
    Alert {
        id: String::new(),
        tiny_id: 0,
        alias: String::new(),
        message: "Test page from Klaxon".into(),
        description: format!(
            "{} asked for this test page from the Klaxon web UI at {}. No alert is open and nothing needs doing.",
            t.username,
            klaxon_core::time::format_iso(t.at)
        ),
        status: klaxon_core::lifecycle::Status::Open,
        acknowledged: false,
        is_seen: false,
        snoozed: false,
        snoozed_until: None,
        count: 1,
        priority: klaxon_core::alert::Priority::P3,
        source: "Klaxon".into(),
        owner: String::new(),
        entity: String::new(),
        tags: vec!["test".into()],
        details: Default::default(),
        actions: vec![],
        responders: vec![],
        visible_to: vec![],
        integration_id: String::new(),
        integration_name: String::new(),
        integration_type: String::new(),
        created_at: t.at,
        updated_at: t.at,
        last_occurred_at: t.at,
        ack_time: None,
        close_time: None,
        acknowledged_by: None,
        closed_by: None,
    }
}

/// The outbox channel and payload of a test page to a contact of kind `kind` at `target`
/// ("send me a test page" in the profile). The same shapes as a real page, built from
/// [`payload`] and [`teams_payload`], without acknowledge/close links (there is no alert):
/// a webhook says `"action": "test"`, a call reads its text from inline TwiML.
pub fn test_payload(kind: ContactKind, target: &str, t: &TestPage<'_>) -> (&'static str, Value) {
    let alert = test_alert(t);
    let m = MessageContext {
        alert: &alert,
        username: t.username,
        ack_url: "",
        close_url: "",
        alert_url: t.profile_url,
        voice_url: "",
        key: t.key,
    };
    if kind == ContactKind::Webhook && is_teams_url(target) {
        let mut v = teams_payload(&m);
        v["potentialAction"] = json!([
            {"@type": "OpenUri", "name": "Open in Klaxon", "targets": [{"os": "default", "uri": t.profile_url}]},
        ]);
        return ("teams", v);
    }
    let mut v = payload(kind, &m);
    match kind {
        ContactKind::Webhook => {
            v["action"] = json!("test");
            v["links"] = json!({"profile": t.profile_url});
        }
        ContactKind::Slack => {
            v["blocks"][2]["elements"] = json!([
                {"type": "button", "text": {"type": "plain_text", "text": "Open in Klaxon"}, "url": t.profile_url, "action_id": "open"},
            ]);
        }
        ContactKind::Sms => {
            v["body"] = json!(format!(
                "{}: {} asked for it in the Klaxon web UI. Nothing needs doing.",
                title(&alert),
                t.username
            ));
        }
        ContactKind::Voice => {
            let say = format!(
                "This is a test page from Klaxon for {}. No alert is open. Goodbye.",
                t.username
            );
            v = json!({
                "twiml": format!("<Response><Say>{}</Say></Response>", html_escape(&say)),
                "say": say,
            });
        }
        ContactKind::Mobile => {
            v["actions"] = json!([{"action": "view", "label": "Open", "url": t.profile_url}]);
        }
        ContactKind::Email => {}
    }
    (kind.as_str(), v)
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
    fn test_pages_keep_each_channel_shape_without_alert_links() {
        let t = TestPage {
            username: "alice@example.com",
            at: 1_767_225_600_000,
            profile_url: "http://k/ui/profile",
            key: "test/u/c/1",
        };
        let (ch, hook) = test_payload(ContactKind::Webhook, "http://127.0.0.1:9/h", &t);
        assert_eq!(ch, "webhook");
        assert_eq!(hook["action"], "test");
        assert_eq!(hook["idempotencyKey"], "test/u/c/1");
        assert_eq!(hook["alert"]["message"], "Test page from Klaxon");
        assert_eq!(hook["links"], json!({"profile": "http://k/ui/profile"}));
        let (_, mail) = test_payload(ContactKind::Email, "a@example.com", &t);
        assert_eq!(mail["subject"], "[P3] Test page from Klaxon");
        let text = mail["text"].as_str().unwrap();
        assert!(
            text.contains("alice@example.com asked for this test page"),
            "{text}"
        );
        assert!(!text.contains("Acknowledge"), "{text}");
        assert!(!mail["html"].as_str().unwrap().contains("Acknowledge"));
        let (_, call) = test_payload(ContactKind::Voice, "+491701234567", &t);
        assert!(call["twiml"]
            .as_str()
            .unwrap()
            .starts_with("<Response><Say>This is a test page"));
        assert!(call.get("url").is_none());
        let (_, slack) = test_payload(ContactKind::Slack, "https://hooks.slack.com/services/x", &t);
        assert_eq!(slack["blocks"][2]["elements"].as_array().unwrap().len(), 1);
        let (ch, _) = test_payload(ContactKind::Webhook, "https://x.webhook.office.com/w", &t);
        assert_eq!(ch, "teams");
        let (_, sms) = test_payload(ContactKind::Sms, "+491701234567", &t);
        assert!(sms["body"]
            .as_str()
            .unwrap()
            .starts_with("[P3] Test page from Klaxon: alice"));
    }

    #[test]
    fn truncates_on_characters() {
        assert_eq!(truncate("héllo", 3), "hé…");
        assert_eq!(truncate("ok", 3), "ok");
    }
}
