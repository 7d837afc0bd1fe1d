//! Statuspage's JSON shapes, for the v1 API and the public v2 JSON. The official client
//! deserialises strictly: every field its models name is present (null when unknown), enums
//! use only the words it allows, times are ISO-8601 with `Z`.

use klaxon_core::time::format_iso;
use klaxon_store::{IncidentUpdate, StatusComponent, StatusIncident, StatusPage, StatusSubscriber};
use serde_json::{json, Value};

fn iso(t: i64) -> Value {
    json!(format_iso(t))
}

fn iso_opt(t: Option<i64>) -> Value {
    t.map_or(Value::Null, iso)
}

fn date(t: i64) -> String {
    format_iso(t)[..10].to_string()
}

/// The page's branding JSON as stored (`{title, logo_url, colors{…}}`).
pub fn branding(p: &StatusPage) -> klaxon_core::status::config::Branding {
    serde_json::from_str(&p.branding).unwrap_or_default()
}

pub fn page(p: &StatusPage, url: &str) -> Value {
    let b = branding(p);
    let c = &b.colors;
    let mut v = json!({
        "id": p.id,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
        "name": p.name,
        "page_description": b.title.clone().unwrap_or_default(),
        "headline": b.title.clone().unwrap_or_default(),
        "branding": "basic",
        "subdomain": p.id,
        "domain": p.host,
        "url": url,
        "support_url": null,
        "hidden_from_search": false,
        "allow_page_subscribers": true,
        "allow_incident_subscribers": false,
        "allow_email_subscribers": true,
        "allow_sms_subscribers": false,
        "allow_rss_atom_feeds": true,
        "allow_webhook_subscribers": true,
    });
    let more = json!({
        "notifications_from_email": null,
        "notifications_email_footer": null,
        "activity_score": 0,
        "twitter_username": null,
        "viewers_must_be_team_members": false,
        "ip_restrictions": null,
        "city": null,
        "state": null,
        "country": null,
        "time_zone": "Etc/UTC",
        "css_body_background_color": c.background.clone().unwrap_or_else(|| "#ffffff".into()),
        "css_font_color": c.text.clone().unwrap_or_else(|| "#333333".into()),
        "css_light_font_color": "#757575",
        "css_greens": "#2fcc66",
        "css_yellows": "#f1c40f",
        "css_oranges": "#e67e22",
        "css_blues": c.accent.clone().unwrap_or_else(|| "#3498db".into()),
        "css_reds": "#e74c3c",
        "css_border_color": "#ecf1fb",
        "css_graph_color": "#3498db",
        "css_link_color": c.accent.clone().unwrap_or_else(|| "#3498db".into()),
        "css_no_data": "#b3bac5",
        "favicon_logo": null,
        "transactional_logo": b.logo_url,
        "hero_cover": null,
        "email_logo": null,
        "twitter_logo": null,
    });
    if let (Some(a), Value::Object(b)) = (v.as_object_mut(), more) {
        a.extend(b);
    }
    v
}

/// A component (or a group, with its member ids) as in `GET /components`.
pub fn component(c: &StatusComponent, all: &[StatusComponent]) -> Value {
    let mut v = json!({
        "id": c.id,
        "page_id": c.page_id,
        "group_id": c.group_id,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "group": c.is_group,
        "name": c.name,
        "description": if c.description.is_empty() { Value::Null } else { json!(c.description) },
        "position": c.position + 1,
        "status": c.status,
        "showcase": c.showcase,
        "only_show_if_degraded": c.only_show_if_degraded,
        "automation_email": format!("component+{}@klaxon.invalid", c.id),
        "start_date": date(c.created_at),
    });
    if c.is_group {
        v["components"] = json!(members(c, all));
        v["status"] = json!(group_status(c, all));
    }
    v
}

pub fn members<'a>(g: &StatusComponent, all: &'a [StatusComponent]) -> Vec<&'a str> {
    all.iter()
        .filter(|m| !m.is_group && m.group_id.as_deref() == Some(&g.id))
        .map(|m| m.id.as_str())
        .collect()
}

pub fn group_status(g: &StatusComponent, all: &[StatusComponent]) -> &'static str {
    klaxon_core::status::group_status(
        all.iter()
            .filter(|m| !m.is_group && m.group_id.as_deref() == Some(&g.id))
            .filter_map(|m| m.status.parse().ok()),
    )
    .as_str()
}

/// A component group as in `GET /component-groups`.
pub fn group(g: &StatusComponent, all: &[StatusComponent]) -> Value {
    json!({
        "id": g.id,
        "page_id": g.page_id,
        "name": g.name,
        "description": if g.description.is_empty() { Value::Null } else { json!(g.description) },
        "components": members(g, all),
        "position": g.position + 1,
        "created_at": iso(g.created_at),
        "updated_at": iso(g.updated_at),
    })
}

pub fn incident_update(u: &IncidentUpdate) -> Value {
    json!({
        "id": u.id,
        "incident_id": u.incident_id,
        "affected_components": u.affected_components,
        "body": u.body,
        "created_at": iso(u.created_at),
        "custom_tweet": null,
        "deliver_notifications": u.deliver_notifications,
        "display_at": iso(u.display_at),
        "status": u.status,
        "tweet_id": null,
        "twitter_updated_at": null,
        "updated_at": iso(u.updated_at),
        "wants_twitter_update": false,
    })
}

pub fn incident(i: &StatusIncident, all: &[StatusComponent], shortlink: &str) -> Value {
    let components: Vec<Value> = i
        .component_ids
        .iter()
        .filter_map(|id| all.iter().find(|c| &c.id == id))
        .map(|c| component(c, all))
        .collect();
    json!({
        "id": i.id,
        "components": components,
        "created_at": iso(i.created_at),
        "impact": i.impact,
        "impact_override": i.impact_override,
        "incident_updates": i.updates.iter().map(incident_update).collect::<Vec<_>>(),
        "metadata": i.metadata,
        "monitoring_at": iso_opt(i.monitoring_at),
        "name": i.name,
        "page_id": i.page_id,
        "postmortem_body": i.postmortem_body,
        "postmortem_body_last_updated_at": iso_opt(i.postmortem_updated_at),
        "postmortem_ignored": false,
        "postmortem_notified_subscribers": false,
        "postmortem_notified_twitter": false,
        "postmortem_published_at": iso_opt(i.postmortem_published_at),
        "resolved_at": iso_opt(i.resolved_at),
        "scheduled_auto_completed": i.auto_completed,
        "scheduled_auto_in_progress": i.auto_in_progress,
        "scheduled_for": iso_opt(i.scheduled_for),
        "auto_transition_deliver_notifications_at_end": false,
        "auto_transition_deliver_notifications_at_start": false,
        "auto_transition_to_maintenance_state": i.auto_maintenance_state,
        "auto_transition_to_operational_state": i.auto_operational_state,
        "scheduled_remind_prior": false,
        "scheduled_reminded_at": null,
        "scheduled_until": iso_opt(i.scheduled_until),
        "shortlink": shortlink,
        "started_at": iso(i.created_at),
        "status": i.status,
        "updated_at": iso(i.updated_at),
    })
}

/// An incident as the public `/api/v2/*.json` shows it (no internal fields).
pub fn public_incident(i: &StatusIncident, all: &[StatusComponent], shortlink: &str) -> Value {
    let mut v = incident(i, all, shortlink);
    let o = v.as_object_mut().expect("object");
    for k in [
        "metadata",
        "impact_override",
        "postmortem_ignored",
        "postmortem_notified_subscribers",
        "postmortem_notified_twitter",
        "auto_transition_deliver_notifications_at_end",
        "auto_transition_deliver_notifications_at_start",
        "auto_transition_to_maintenance_state",
        "auto_transition_to_operational_state",
        "scheduled_remind_prior",
        "scheduled_reminded_at",
        "postmortem_body_last_updated_at",
    ] {
        o.remove(k);
    }
    if i.scheduled_for.is_none() {
        for k in [
            "scheduled_for",
            "scheduled_until",
            "scheduled_auto_completed",
            "scheduled_auto_in_progress",
        ] {
            o.remove(k);
        }
    }
    if i.postmortem_published_at.is_none() {
        o.insert("postmortem_body".into(), Value::Null);
    }
    v
}

pub fn subscriber(s: &StatusSubscriber) -> Value {
    json!({
        "id": s.id,
        "skip_confirmation_notification": s.confirmed_at.is_some(),
        "mode": s.mode,
        "email": s.email,
        "endpoint": s.endpoint,
        "phone_number": null,
        "phone_country": null,
        "display_phone_number": null,
        "obfuscated_channel_name": null,
        "workspace_name": null,
        "quarantined_at": null,
        "purge_at": null,
        "components": [],
        "page_access_user_id": null,
        "created_at": iso(s.created_at),
        "confirmed": s.confirmed_at.is_some(),
    })
}
