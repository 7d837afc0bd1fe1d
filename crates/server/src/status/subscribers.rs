//! Status-page subscribers: what each one is sent when an incident is created or updated, and
//! the e-mail that confirms a subscription. Everything leaves through the engine's outbox
//! (durable, retried with backoff, one delivery per idempotency key): the store enqueues
//! incident deliveries inside the transaction that adds the update, so an update and its
//! notifications commit together.
//!
//! - webhook subscribers get Statuspage's incident webhook body: `{meta, page, incident}`;
//! - e-mail subscribers (once confirmed) get a text and HTML message with the update, the
//!   affected components, a link to the incident and an unsubscribe link.
//!
//! Idempotency key: `status-update:{update}:{subscriber}`, so each update reaches each
//! subscriber once however often the outbox retries.

use crate::http::statuspage::{confirm_link, render, shortlink};
use klaxon_core::status::{ComponentStatus, Impact, IncidentStatus, PageIndicator};
use klaxon_store::{
    IncidentNotice, NewDelivery, StatusNotifier, StatusPage, StatusSubscriber, Store,
};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::Notify;

/// The notifier the store calls: renders with `base` (the public URL) and wakes the outbox.
pub fn notifier(base: String, outbox_wake: Arc<Notify>) -> StatusNotifier {
    StatusNotifier {
        render: Box::new(move |n| deliveries(&base, n)),
        enqueued: Box::new(move || outbox_wake.notify_one()),
    }
}

/// The idempotency key of one update to one subscriber.
pub fn delivery_key(update: &str, subscriber: &str) -> String {
    format!("status-update:{update}:{subscriber}")
}

/// Where a subscriber cancels (the same secret token as the confirmation).
pub fn unsubscribe_link(base: &str, page: &str, token: &str) -> String {
    format!("{base}/status/{page}/subscriptions/unsubscribe/{token}")
}

/// One delivery per subscriber for the update in `n`.
pub fn deliveries(base: &str, n: &IncidentNotice<'_>) -> Vec<NewDelivery> {
    n.subscribers
        .iter()
        .filter_map(|s| {
            let (channel, target, payload) = match s.mode.as_str() {
                "webhook" => ("webhook", s.endpoint.clone()?, webhook_body(base, n, s)),
                "email" => ("email", s.email.clone()?, email_body(base, n, s)),
                _ => return None,
            };
            Some(NewDelivery {
                key: delivery_key(&n.update.id, &s.id),
                alert_id: None,
                user_id: None,
                username: String::new(),
                contact: s.id.clone(),
                channel: channel.into(),
                target,
                payload: payload.to_string(),
                due_at: n.now,
            })
        })
        .collect()
}

/// The page's indicator as the notice knows it: its components, and this incident while it
/// is open.
fn indicator(n: &IncidentNotice<'_>) -> PageIndicator {
    let open = !n
        .incident
        .status
        .parse::<IncidentStatus>()
        .is_ok_and(IncidentStatus::is_closed);
    PageIndicator::roll_up(
        n.components
            .iter()
            .filter(|c| !c.is_group)
            .filter_map(|c| c.status.parse::<ComponentStatus>().ok()),
        n.incident
            .impact
            .parse::<Impact>()
            .ok()
            .filter(|_| open && !n.incident.is_maintenance()),
    )
}

/// Statuspage's incident webhook: `{meta{unsubscribe, documentation}, page{id,
/// status_indicator, status_description}, incident{…}}`.
fn webhook_body(base: &str, n: &IncidentNotice<'_>, s: &StatusSubscriber) -> Value {
    let ind = indicator(n);
    json!({
        "meta": {
            "unsubscribe": unsubscribe_link(base, &n.page.id, &s.confirm_token),
            "documentation": "https://support.atlassian.com/statuspage/docs/enable-webhook-notifications/",
            "generated_at": klaxon_core::time::format_iso(n.now),
        },
        "page": {
            "id": n.page.id,
            "status_indicator": ind.indicator(),
            "status_description": ind.description(),
        },
        "incident": render::public_incident(
            n.incident,
            n.components,
            &shortlink(base, &n.page.id, &n.incident.id),
        ),
    })
}

fn label(status: &str) -> &'static str {
    status
        .parse::<IncidentStatus>()
        .map_or("Update", IncidentStatus::label)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `{subject, text, html}`, the shape the e-mail channel sends.
fn email_body(base: &str, n: &IncidentNotice<'_>, s: &StatusSubscriber) -> Value {
    let i = n.incident;
    let u = n.update;
    let subject = if n.created {
        format!("[{}] New incident: {}", n.page.name, i.name)
    } else {
        format!("[{}] {}: {}", n.page.name, label(&u.status), i.name)
    };
    let link = shortlink(base, &n.page.id, &i.id);
    let unsubscribe = unsubscribe_link(base, &n.page.id, &s.confirm_token);
    let affected: Vec<String> = u
        .affected_components
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let name = a.get("name")?.as_str()?;
            let new = a.get("new_status")?.as_str()?;
            let label = match new.parse::<ComponentStatus>() {
                Ok(st) => st.label().to_string(),
                Err(_) => new.to_string(),
            };
            Some(format!("{name}: {label}"))
        })
        .collect();
    let mut text = format!("{} — {}\n\n{}\n", label(&u.status), i.name, u.body);
    if !affected.is_empty() {
        text.push_str(&format!(
            "\nAffected components:\n- {}\n",
            affected.join("\n- ")
        ));
    }
    text.push_str(&format!(
        "\nFollow this incident: {link}\n\nYou are receiving this because you subscribed to {} updates. Unsubscribe: {unsubscribe}\n",
        n.page.name
    ));
    let html = format!(
        "<h2>{label} — {name}</h2><p>{body}</p>{affected}<p><a href=\"{link}\">Follow this incident</a></p>\
         <p style=\"color:#757575\">You are receiving this because you subscribed to {page} updates. \
         <a href=\"{unsub}\">Unsubscribe</a></p>",
        label = label(&u.status),
        name = html_escape(&i.name),
        body = html_escape(&u.body),
        affected = if affected.is_empty() {
            String::new()
        } else {
            format!(
                "<ul>{}</ul>",
                affected
                    .iter()
                    .map(|a| format!("<li>{}</li>", html_escape(a)))
                    .collect::<String>()
            )
        },
        link = html_escape(&link),
        page = html_escape(&n.page.name),
        unsub = html_escape(&unsubscribe),
    );
    json!({"subject": subject, "text": text, "html": html})
}

/// Puts the confirmation e-mail for `sub` in the outbox. `attempt` makes a resend a new
/// message (a distinct idempotency key) rather than a duplicate of the first.
pub async fn enqueue_confirmation(
    store: &Store,
    outbox_wake: &Notify,
    base: &str,
    page: &StatusPage,
    sub: &StatusSubscriber,
    now: i64,
) -> klaxon_store::Result<()> {
    let Some(email) = sub.email.clone() else {
        return Ok(());
    };
    let link = confirm_link(base, &page.id, &sub.confirm_token);
    let text = format!(
        "Confirm your subscription to {name} status updates by opening this link:\n\n{link}\n\n\
         If you did not ask for this, ignore this message: you will not be subscribed.\n",
        name = page.name
    );
    let html = format!(
        "<p>Confirm your subscription to {name} status updates:</p>\
         <p><a href=\"{href}\">Confirm subscription</a></p>\
         <p style=\"color:#757575\">If you did not ask for this, ignore this message: you will not be subscribed.</p>",
        name = html_escape(&page.name),
        href = html_escape(&link),
    );
    let d = NewDelivery {
        key: format!("status-confirm:{}:{now}", sub.id),
        alert_id: None,
        user_id: None,
        username: String::new(),
        contact: sub.id.clone(),
        channel: "email".into(),
        target: email,
        payload: json!({
            "subject": format!("[{}] Confirm your subscription", page.name),
            "text": text,
            "html": html,
        })
        .to_string(),
        due_at: now,
    };
    store.enqueue_deliveries(&[d], now).await?;
    outbox_wake.notify_one();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use klaxon_store::{IncidentUpdate, StatusComponent, StatusIncident};

    fn sub(id: &str, mode: &str, email: Option<&str>, endpoint: Option<&str>) -> StatusSubscriber {
        StatusSubscriber {
            id: id.into(),
            page_id: "acme".into(),
            mode: mode.into(),
            email: email.map(Into::into),
            endpoint: endpoint.map(Into::into),
            confirm_token: format!("tok-{id}"),
            confirmed_at: Some(1),
            unsubscribed_at: None,
            created_at: 1,
        }
    }

    #[test]
    fn one_delivery_per_subscriber_with_a_key_per_update() {
        let page = StatusPage {
            id: "acme".into(),
            name: "Acme".into(),
            host: None,
            branding: "{}".into(),
            managed: true,
            created_at: 0,
            updated_at: 0,
        };
        let comp = StatusComponent {
            id: "c1".into(),
            page_id: "acme".into(),
            is_group: false,
            group_id: None,
            name: "API".into(),
            description: String::new(),
            position: 0,
            status: "partial_outage".into(),
            showcase: true,
            only_show_if_degraded: false,
            managed: false,
            created_at: 0,
            updated_at: 0,
        };
        let update = IncidentUpdate {
            id: "u1".into(),
            incident_id: "i1".into(),
            status: "identified".into(),
            body: "Bad <deploy>".into(),
            affected_components: json!([{"code": "c1", "name": "API", "old_status": "operational", "new_status": "partial_outage"}]),
            deliver_notifications: true,
            display_at: 5,
            created_at: 5,
            updated_at: 5,
        };
        let incident = StatusIncident {
            id: "i1".into(),
            page_id: "acme".into(),
            name: "Errors".into(),
            status: "identified".into(),
            impact: "minor".into(),
            impact_override: None,
            scheduled_for: None,
            scheduled_until: None,
            auto_in_progress: false,
            auto_completed: false,
            auto_maintenance_state: false,
            auto_operational_state: false,
            next_transition_at: None,
            postmortem_body: None,
            postmortem_updated_at: None,
            postmortem_published_at: None,
            metadata: json!({}),
            health_check: None,
            monitoring_at: None,
            resolved_at: None,
            created_at: 1,
            updated_at: 5,
            component_ids: vec!["c1".into()],
            updates: vec![update.clone()],
        };
        let subs = [
            sub("s1", "webhook", None, Some("http://hook.test/x")),
            sub("s2", "email", Some("a@example.com"), None),
            sub("s3", "sms", None, None),
        ];
        let comps = [comp];
        let n = IncidentNotice {
            page: &page,
            incident: &incident,
            components: &comps,
            update: &update,
            created: false,
            subscribers: &subs,
            now: 5,
        };
        let ds = deliveries("http://k.test", &n);
        assert_eq!(
            ds.len(),
            2,
            "the sms subscriber is not a channel Klaxon sends"
        );
        assert_eq!(ds[0].key, "status-update:u1:s1");
        assert_eq!(
            (ds[0].channel.as_str(), ds[0].target.as_str()),
            ("webhook", "http://hook.test/x")
        );
        let hook: Value = serde_json::from_str(&ds[0].payload).unwrap();
        // A component in partial outage makes the page's indicator major.
        assert_eq!(hook["page"]["status_indicator"], "major");
        assert_eq!(hook["incident"]["id"], "i1");
        assert_eq!(
            hook["incident"]["incident_updates"][0]["body"],
            "Bad <deploy>"
        );
        assert_eq!(
            hook["meta"]["unsubscribe"],
            "http://k.test/status/acme/subscriptions/unsubscribe/tok-s1"
        );
        assert_eq!(ds[1].key, "status-update:u1:s2");
        let mail: Value = serde_json::from_str(&ds[1].payload).unwrap();
        assert_eq!(mail["subject"], "[Acme] Identified: Errors");
        let text = mail["text"].as_str().unwrap();
        assert!(
            text.contains("Bad <deploy>") && text.contains("API: Partial Outage"),
            "{text}"
        );
        assert!(
            text.contains("http://k.test/status/acme/incidents/i1"),
            "{text}"
        );
        let html = mail["html"].as_str().unwrap();
        assert!(
            html.contains("Bad &lt;deploy&gt;") && !html.contains("<deploy>"),
            "{html}"
        );
    }
}
