//! The public side of a status page, readable without an account and without JavaScript:
//! `/status/{page}` (HTML: banner, components with 90-day uptime bars, active incidents with
//! their updates, maintenance, history), `/status/{page}/incidents/{id}`, the Atom feed, an SVG
//! badge per component, Statuspage's public JSON under `/status/{page}/api/v2/`, and the
//! subscribe form with its confirmation link.

use super::error::{SpError, SpResult};
use super::{base_url, render, shortlink, PageId};
use crate::app::AppState;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use klaxon_core::status::uptime::{self, Day, DAY_MS};
use klaxon_core::status::{ComponentStatus, Impact, IncidentStatus, PageIndicator};
use klaxon_core::time::format_iso;
use klaxon_store::{IncidentFilter, StatusComponent, StatusIncident, StatusPage};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Days shown in the uptime bars.
pub const UPTIME_DAYS: usize = 90;
/// Resolved incidents shown in the history.
const HISTORY_DAYS: i64 = 14;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status/{page}", get(page_html))
        .route("/status/{page}/incidents/{id}", get(incident_html))
        .route("/status/{page}/feed.atom", get(feed))
        .route("/status/{page}/history.atom", get(feed))
        .route("/status/{page}/badge/{component}", get(badge))
        .route("/status/{page}/api/v2/summary.json", get(summary_json))
        .route("/status/{page}/api/v2/status.json", get(status_json))
        .route(
            "/status/{page}/api/v2/components.json",
            get(components_json),
        )
        .route("/status/{page}/api/v2/incidents.json", get(incidents_json))
        .route(
            "/status/{page}/api/v2/incidents/unresolved.json",
            get(unresolved_json),
        )
        .route(
            "/status/{page}/api/v2/scheduled-maintenances.json",
            get(maintenances_json),
        )
        .route(
            "/status/{page}/subscribe",
            axum::routing::post(subscribe_form),
        )
        .route("/status/{page}/subscriptions/confirm/{token}", get(confirm))
        .route(
            "/status/{page}/subscriptions/unsubscribe/{token}",
            get(unsubscribe),
        )
}

/// Everything the page shows, read once per request.
pub struct View {
    pub page: StatusPage,
    pub components: Vec<StatusComponent>,
    pub unresolved: Vec<StatusIncident>,
    pub maintenances: Vec<StatusIncident>,
    /// Incidents and maintenances of the last 90 days (for the bars and the history).
    pub recent: Vec<StatusIncident>,
    pub now: i64,
    pub base: String,
}

impl View {
    pub async fn load(state: &AppState, page: &str, base: String) -> SpResult<View> {
        let p = state
            .store
            .status_page(page)
            .await?
            .ok_or_else(|| SpError::not_found(format!("page {page:?} not found")))?;
        let now = state.clock.now_ms();
        let window = uptime::day_start(now) - (UPTIME_DAYS as i64 - 1) * DAY_MS;
        let (components, unresolved, maintenances, recent) = tokio::try_join!(
            state.store.status_components(&p.id),
            state
                .store
                .status_incidents(&p.id, IncidentFilter::Unresolved, 100),
            state
                .store
                .status_incidents(&p.id, IncidentFilter::OpenMaintenance, 100),
            state
                .store
                .status_incidents(&p.id, IncidentFilter::Since(window), 500),
        )?;
        Ok(View {
            page: p,
            components,
            unresolved,
            maintenances,
            recent,
            now,
            base,
        })
    }

    pub fn indicator(&self) -> PageIndicator {
        PageIndicator::roll_up(
            self.components
                .iter()
                .filter(|c| !c.is_group)
                .filter_map(|c| c.status.parse().ok()),
            self.unresolved
                .iter()
                .filter_map(|i| i.impact.parse::<Impact>().ok())
                .chain(
                    self.maintenances
                        .iter()
                        .filter(|m| m.status == "in_progress" || m.status == "verifying")
                        .map(|_| Impact::Maintenance),
                ),
        )
    }

    fn link(&self, i: &StatusIncident) -> String {
        shortlink(&self.base, &self.page.id, &i.id)
    }

    fn summary(&self) -> Value {
        let ind = self.indicator();
        json!({
            "page": self.page_json(),
            "components": self.components.iter().map(|c| public_component(c, &self.components)).collect::<Vec<_>>(),
            "incidents": self.unresolved.iter().map(|i| render::public_incident(i, &self.components, &self.link(i))).collect::<Vec<_>>(),
            "scheduled_maintenances": self.maintenances.iter().map(|i| render::public_incident(i, &self.components, &self.link(i))).collect::<Vec<_>>(),
            "status": {"indicator": ind.indicator(), "description": ind.description()},
        })
    }

    fn page_json(&self) -> Value {
        let updated = self
            .components
            .iter()
            .map(|c| c.updated_at)
            .chain(self.recent.iter().map(|i| i.updated_at))
            .chain([self.page.updated_at])
            .max()
            .unwrap_or(self.page.updated_at);
        json!({
            "id": self.page.id,
            "name": self.page.name,
            "url": format!("{}/status/{}", self.base, self.page.id),
            "time_zone": "Etc/UTC",
            "updated_at": format_iso(updated),
        })
    }
}

fn public_component(c: &StatusComponent, all: &[StatusComponent]) -> Value {
    let mut v = render::component(c, all);
    if let Some(o) = v.as_object_mut() {
        o.remove("automation_email");
    }
    v
}

async fn view(state: &AppState, headers: &HeaderMap, page: &PageId) -> SpResult<View> {
    View::load(state, &page.0, base_url(state, headers)).await
}

fn json_response(v: Value) -> Response {
    (
        [
            (header::CACHE_CONTROL, "public, max-age=10"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        Json(v),
    )
        .into_response()
}

async fn summary_json(State(s): State<AppState>, h: HeaderMap, page: PageId) -> SpResult<Response> {
    Ok(json_response(view(&s, &h, &page).await?.summary()))
}

async fn status_json(State(s): State<AppState>, h: HeaderMap, page: PageId) -> SpResult<Response> {
    let v = view(&s, &h, &page).await?;
    let ind = v.indicator();
    Ok(json_response(json!({
        "page": v.page_json(),
        "status": {"indicator": ind.indicator(), "description": ind.description()},
    })))
}

async fn components_json(
    State(s): State<AppState>,
    h: HeaderMap,
    page: PageId,
) -> SpResult<Response> {
    let v = view(&s, &h, &page).await?;
    Ok(json_response(json!({
        "page": v.page_json(),
        "components": v.components.iter().map(|c| public_component(c, &v.components)).collect::<Vec<_>>(),
    })))
}

async fn incidents_json(
    State(s): State<AppState>,
    h: HeaderMap,
    page: PageId,
) -> SpResult<Response> {
    let v = view(&s, &h, &page).await?;
    let list: Vec<Value> = v
        .recent
        .iter()
        .filter(|i| !i.is_maintenance())
        .map(|i| render::public_incident(i, &v.components, &v.link(i)))
        .collect();
    Ok(json_response(
        json!({"page": v.page_json(), "incidents": list}),
    ))
}

async fn unresolved_json(
    State(s): State<AppState>,
    h: HeaderMap,
    page: PageId,
) -> SpResult<Response> {
    let v = view(&s, &h, &page).await?;
    let list: Vec<Value> = v
        .unresolved
        .iter()
        .map(|i| render::public_incident(i, &v.components, &v.link(i)))
        .collect();
    Ok(json_response(
        json!({"page": v.page_json(), "incidents": list}),
    ))
}

async fn maintenances_json(
    State(s): State<AppState>,
    h: HeaderMap,
    page: PageId,
) -> SpResult<Response> {
    let v = view(&s, &h, &page).await?;
    let list: Vec<Value> = v
        .maintenances
        .iter()
        .map(|i| render::public_incident(i, &v.components, &v.link(i)))
        .collect();
    Ok(json_response(
        json!({"page": v.page_json(), "scheduled_maintenances": list}),
    ))
}

// ---- HTML ---------------------------------------------------------------------------------

fn status_colour(s: &str) -> &'static str {
    match s {
        "operational" | "none" | "resolved" | "completed" | "postmortem" => "#2fcc66",
        "degraded_performance" | "minor" => "#f1c40f",
        "partial_outage" | "major" => "#e67e22",
        "major_outage" | "critical" => "#e74c3c",
        "under_maintenance" | "maintenance" | "scheduled" | "in_progress" | "verifying" => {
            "#3498db"
        }
        _ => "#b3bac5",
    }
}

/// The uptime bar's class for a day's worst status (colours in [`css`]).
fn bar_class(s: Option<&str>) -> &'static str {
    match s {
        Some("operational") => "bar ok",
        Some("degraded_performance") => "bar dg",
        Some("partial_outage") => "bar po",
        Some("major_outage") => "bar mo",
        Some("under_maintenance") => "bar mt",
        _ => "bar nd",
    }
}

fn component_label(s: &str) -> &'static str {
    s.parse::<ComponentStatus>()
        .map_or("Unknown", ComponentStatus::label)
}

fn incident_label(s: &str) -> &'static str {
    s.parse::<IncidentStatus>()
        .map_or("Update", IncidentStatus::label)
}

fn when(t: i64) -> String {
    chrono::DateTime::from_timestamp_millis(t)
        .map(|d| d.format("%b %-d, %Y %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn day_name(t: i64) -> String {
    chrono::DateTime::from_timestamp_millis(t)
        .map(|d| d.format("%b %-d, %Y").to_string())
        .unwrap_or_default()
}

fn css(view: &View) -> String {
    let b = render::branding(&view.page);
    let accent = b.colors.accent.unwrap_or_else(|| "#0b5fff".into());
    let bg = b.colors.background.unwrap_or_else(|| "#ffffff".into());
    let text = b.colors.text.unwrap_or_else(|| "#1f2933".into());
    format!(
        ":root{{--accent:{accent};--bg:{bg};--text:{text}}}\
*{{box-sizing:border-box}}body{{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:var(--bg);color:var(--text)}}\
main{{max-width:860px;margin:0 auto;padding:16px}}a{{color:var(--accent)}}\
header{{display:flex;align-items:center;gap:12px;padding:12px 0 20px}}header img{{max-height:40px;max-width:160px}}header h1{{font-size:1.5rem;margin:0}}\
.banner{{color:#fff;border-radius:6px;padding:16px 20px;font-size:1.2rem;font-weight:600;margin-bottom:24px}}\
section{{margin-bottom:28px}}h2{{font-size:1.1rem;border-bottom:1px solid #e3e8ee;padding-bottom:6px}}\
.incident{{border:1px solid #e3e8ee;border-left:6px solid;border-radius:6px;padding:12px 16px;margin-bottom:12px}}\
.incident h3{{margin:0 0 8px;font-size:1.05rem}}.update{{margin:8px 0;padding-left:12px;border-left:2px solid #e3e8ee}}\
.update strong{{margin-right:6px}}.update p{{margin:2px 0;white-space:pre-wrap}}.update time,.muted{{color:#6b7785;font-size:.85rem}}\
.component{{border:1px solid #e3e8ee;border-radius:6px;padding:12px 16px;margin-bottom:10px}}\
.crow{{display:flex;justify-content:space-between;gap:8px;flex-wrap:wrap}}.cname{{font-weight:600}}\
.group>.cname{{font-size:1.05rem}}.members{{margin-top:10px}}.members .component{{margin-bottom:8px}}\
.bars{{display:flex;gap:1px;height:34px;margin:10px 0 4px}}.bar{{flex:1;min-width:1px;border-radius:1px;background:#b3bac5}}\
.ok{{background:#2fcc66}}.dg{{background:#f1c40f}}.po{{background:#e67e22}}.mo{{background:#e74c3c}}.mt{{background:#3498db}}\
.legend{{display:flex;justify-content:space-between;color:#6b7785;font-size:.8rem}}\
form{{display:flex;gap:8px;flex-wrap:wrap}}input[type=email],input[type=url]{{flex:1;min-width:200px;padding:8px;border:1px solid #c7d0d9;border-radius:4px}}\
button{{background:var(--accent);color:#fff;border:0;border-radius:4px;padding:8px 14px}}footer{{color:#6b7785;font-size:.85rem;padding:20px 0}}\
@media (max-width:520px){{main{{padding:10px}}.bars{{height:28px}}.banner{{font-size:1.05rem}}}}"
    )
}

fn layout(view: &View, title: &str, body: Markup) -> Markup {
    let b = render::branding(&view.page);
    let heading = b.title.clone().unwrap_or_else(|| view.page.name.clone());
    let feed = format!("{}/status/{}/feed.atom", view.base, view.page.id);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="alternate" type="application/atom+xml" title=(format!("{heading} incidents")) href=(feed);
                style { (PreEscaped(css(view))) }
            }
            body {
                main {
                    header {
                        @if let Some(logo) = &b.logo_url { img src=(logo) alt=(format!("{} logo", view.page.name)); }
                        h1 { a href=(format!("{}/status/{}", view.base, view.page.id)) style="color:inherit;text-decoration:none" { (heading) } }
                    }
                    (body)
                    footer {
                        a href=(feed) { "Atom feed" } " · "
                        a href=(format!("{}/status/{}/api/v2/summary.json", view.base, view.page.id)) { "JSON" }
                        " · Powered by Klaxon"
                    }
                }
            }
        }
    }
}

fn updates(i: &StatusIncident) -> Markup {
    html! {
        @for u in &i.updates {
            div.update {
                strong { (incident_label(&u.status)) }
                time datetime=(format_iso(u.display_at)) { (when(u.display_at)) }
                @if !u.body.is_empty() { p { (u.body) } }
            }
        }
    }
}

fn incident_card(view: &View, i: &StatusIncident) -> Markup {
    let names: Vec<&str> = i
        .component_ids
        .iter()
        .filter_map(|id| view.components.iter().find(|c| &c.id == id))
        .map(|c| c.name.as_str())
        .collect();
    html! {
        article.incident style=(format!("border-left-color:{}", status_colour(&i.impact))) data-incident=(i.id) {
            h3 { a href=(view.link(i)) { (i.name) } }
            @if let (Some(f), Some(u)) = (i.scheduled_for, i.scheduled_until) {
                p.muted { "Scheduled for " (when(f)) " – " (when(u)) }
            }
            @if !names.is_empty() { p.muted { "Affects: " (names.join(", ")) } }
            (updates(i))
        }
    }
}

/// The day's incidents touching a component (for the bar's title).
fn day_incidents<'a>(view: &'a View, component: &str, d: &Day) -> Vec<&'a str> {
    let end = d.start + DAY_MS;
    view.recent
        .iter()
        .filter(|i| !i.is_maintenance() && i.component_ids.iter().any(|c| c == component))
        .filter(|i| i.created_at < end && i.resolved_at.unwrap_or(view.now) >= d.start)
        .map(|i| i.name.as_str())
        .collect()
}

fn bar_title(d: &Day, incidents: &[&str]) -> String {
    let mut t = day_name(d.start);
    match d.uptime_percent() {
        None => t.push_str(": no data"),
        Some(p) => t.push_str(&format!(": {p:.2}% uptime")),
    }
    if d.major_ms > 0 {
        t.push_str(&format!(", major outage {} min", d.major_ms / 60_000));
    }
    if d.partial_ms > 0 {
        t.push_str(&format!(", partial outage {} min", d.partial_ms / 60_000));
    }
    if incidents.is_empty() {
        if d.known_ms > 0 {
            t.push_str(" — no incidents");
        }
    } else {
        t.push_str(&format!(" — incidents: {}", incidents.join("; ")));
    }
    t
}

fn component_block(view: &View, c: &StatusComponent, days: &HashMap<&str, Vec<Day>>) -> Markup {
    let bars = days.get(c.id.as_str());
    let overall = bars.and_then(|d| uptime::overall_percent(d));
    html! {
        div.component data-component=(c.id) data-status=(c.status) {
            div.crow {
                span.cname { (c.name) }
                span style=(format!("color:{}", status_colour(&c.status))) { (component_label(&c.status)) }
            }
            @if !c.description.is_empty() { div.muted { (c.description) } }
            @if let Some(days) = bars {
                div.bars role="img" aria-label=(format!("{} uptime over the last {UPTIME_DAYS} days", c.name)) {
                    @for d in days {
                        @let inc = day_incidents(view, &c.id, d);
                        i class=(bar_class(d.worst().map(|w| w.as_str()))) data-day=(&format_iso(d.start)[..10])
                            title=(bar_title(d, &inc)) {}
                    }
                }
                div.legend {
                    span { (UPTIME_DAYS) " days ago" }
                    span.uptime { @if let Some(p) = overall { (format!("{p:.2}")) " % uptime" } @else { "no data" } }
                    span { "Today" }
                }
            }
        }
    }
}

/// Uptime days per component id.
async fn uptime_days(state: &AppState, view: &View) -> SpResult<HashMap<String, Vec<Day>>> {
    let window = uptime::day_start(view.now) - (UPTIME_DAYS as i64 - 1) * DAY_MS;
    let history = state
        .store
        .status_history_since(&view.page.id, window)
        .await?;
    let mut by: HashMap<String, Vec<(i64, ComponentStatus)>> = HashMap::new();
    for (c, at, s) in history {
        if let Ok(s) = s.parse() {
            by.entry(c).or_default().push((at, s));
        }
    }
    Ok(by
        .into_iter()
        .map(|(c, h)| {
            let d = uptime::daily(&h, view.now, UPTIME_DAYS);
            (c, d)
        })
        .collect())
}

fn html_response(m: Markup) -> Response {
    html_body(m.into_string().into())
}

async fn page_html(State(s): State<AppState>, h: HeaderMap, page: PageId) -> Response {
    let base = base_url(&s, &h);
    let cached = |s: &AppState| {
        s.status_pages.get(
            &page.0,
            &base,
            s.store.status_generation(),
            s.clock.now_ms(),
        )
    };
    if let Some(body) = cached(&s) {
        return html_body(body);
    }
    let _one = s.status_pages.render.lock().await;
    if let Some(body) = cached(&s) {
        return html_body(body);
    }
    // Read the counter before the data: a write during the render leaves the entry stale.
    let generation = s.store.status_generation();
    match render_page(&s, &h, &page).await {
        Ok(m) => {
            let body = axum::body::Bytes::from(m.into_string());
            s.status_pages
                .put(&page.0, &base, generation, s.clock.now_ms(), body.clone());
            html_body(body)
        }
        Err(e) => error_html(e),
    }
}

fn html_body(body: axum::body::Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=10"),
        ],
        body,
    )
        .into_response()
}

fn error_html(e: SpError) -> Response {
    let m = html! {
        (DOCTYPE) html lang="en" { head { meta charset="utf-8"; meta name="viewport" content="width=device-width, initial-scale=1"; title { "Status page" } }
        body { main style="max-width:600px;margin:40px auto;font-family:system-ui" { h1 { (e.status.canonical_reason().unwrap_or("Error")) } p { (e.message) } } } }
    };
    (
        e.status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        m.into_string(),
    )
        .into_response()
}

async fn render_page(s: &AppState, h: &HeaderMap, page: &PageId) -> SpResult<Markup> {
    let v = view(s, h, page).await?;
    let days_owned = uptime_days(s, &v).await?;
    let days: HashMap<&str, Vec<Day>> = days_owned
        .iter()
        .map(|(k, d)| (k.as_str(), d.clone()))
        .collect();
    let ind = v.indicator();
    let visible = |c: &&StatusComponent| !c.only_show_if_degraded || c.status != "operational";
    let groups: Vec<&StatusComponent> = v.components.iter().filter(|c| c.is_group).collect();
    let loose: Vec<&StatusComponent> = v
        .components
        .iter()
        .filter(|c| !c.is_group && c.group_id.is_none())
        .filter(visible)
        .collect();
    let history_since = v.now - HISTORY_DAYS * DAY_MS;
    let history: Vec<&StatusIncident> = v
        .recent
        .iter()
        .filter(|i| {
            i.status
                .parse::<IncidentStatus>()
                .is_ok_and(IncidentStatus::is_closed)
        })
        .filter(|i| i.resolved_at.unwrap_or(i.updated_at) >= history_since)
        .collect();
    let title = render::branding(&v.page)
        .title
        .unwrap_or_else(|| v.page.name.clone());
    let body = html! {
        div.banner #status-banner data-indicator=(ind.indicator()) style=(format!("background:{}", status_colour(ind.indicator()))) {
            (ind.description())
        }
        @if !v.unresolved.is_empty() {
            section #active-incidents {
                h2 { "Active incidents" }
                @for i in &v.unresolved { (incident_card(&v, i)) }
            }
        }
        @if !v.maintenances.is_empty() {
            section #maintenance {
                h2 { "Scheduled maintenance" }
                @for i in &v.maintenances { (incident_card(&v, i)) }
            }
        }
        section #components {
            h2 { "Components" }
            @for g in &groups {
                @let members: Vec<&StatusComponent> = v.components.iter().filter(|c| !c.is_group && c.group_id.as_deref() == Some(&g.id)).filter(visible).collect();
                @if !members.is_empty() {
                    div.component.group data-group=(g.id) {
                        div.crow {
                            span.cname { (g.name) }
                            @let gs = render::group_status(g, &v.components);
                            span style=(format!("color:{}", status_colour(gs))) { (component_label(gs)) }
                        }
                        div.members { @for c in members { (component_block(&v, c, &days)) } }
                    }
                }
            }
            @for c in loose { (component_block(&v, c, &days)) }
        }
        section #history {
            h2 { "Past incidents" }
            @if history.is_empty() { p.muted { "No incidents in the last " (HISTORY_DAYS) " days." } }
            @for i in history {
                article.incident style=(format!("border-left-color:{}", status_colour(&i.impact))) {
                    h3 { a href=(v.link(i)) { (i.name) } }
                    p.muted { (incident_label(&i.status)) " · " (when(i.resolved_at.unwrap_or(i.updated_at))) }
                    @if let (Some(pm), Some(_)) = (&i.postmortem_body, i.postmortem_published_at) {
                        details { summary { "Postmortem" } p style="white-space:pre-wrap" { (pm) } }
                    }
                }
            }
        }
        section #subscribe {
            h2 { "Get updates" }
            form method="post" action=(format!("{}/status/{}/subscribe", v.base, v.page.id)) {
                input type="email" name="email" placeholder="you@example.com" aria-label="E-mail address";
                button type="submit" { "Subscribe by e-mail" }
            }
            p.muted { "Or follow the " a href=(format!("{}/status/{}/feed.atom", v.base, v.page.id)) { "Atom feed" } "." }
        }
    };
    Ok(layout(&v, &title, body))
}

async fn incident_html(
    State(s): State<AppState>,
    h: HeaderMap,
    Path((page, id)): Path<(String, String)>,
) -> Response {
    let run = async {
        let v = View::load(&s, &page, base_url(&s, &h)).await?;
        let i = s
            .store
            .status_incident(&v.page.id, &id)
            .await?
            .ok_or_else(|| SpError::not_found("no such incident"))?;
        let body = html! {
            (incident_card(&v, &i))
            @if let (Some(pm), Some(_)) = (&i.postmortem_body, i.postmortem_published_at) {
                section { h2 { "Postmortem" } p style="white-space:pre-wrap" { (pm) } }
            }
        };
        Ok::<_, SpError>(html_response(layout(&v, &i.name, body)))
    };
    run.await.unwrap_or_else(error_html)
}

// ---- Atom feed ------------------------------------------------------------------------------

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn feed(State(s): State<AppState>, h: HeaderMap, page: PageId) -> SpResult<Response> {
    let v = view(&s, &h, &page).await?;
    let url = format!("{}/status/{}", v.base, v.page.id);
    let updated = v
        .recent
        .iter()
        .map(|i| i.updated_at)
        .max()
        .unwrap_or(v.page.updated_at);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"en\">\n");
    out.push_str(&format!(
        "<id>tag:klaxon,2026:{}</id>\n<title>{} status - incident history</title>\n<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n<link rel=\"self\" type=\"application/atom+xml\" href=\"{}/feed.atom\"/>\n<updated>{}</updated>\n<author><name>{}</name></author>\n",
        xml_escape(&v.page.id), xml_escape(&v.page.name), xml_escape(&url), xml_escape(&url), format_iso(updated), xml_escape(&v.page.name)
    ));
    for i in v.recent.iter().take(50) {
        let content: String = i
            .updates
            .iter()
            .map(|u| {
                format!(
                    "<p><small>{}</small><br/><strong>{}</strong> - {}</p>",
                    when(u.display_at),
                    incident_label(&u.status),
                    u.body
                )
            })
            .collect();
        out.push_str(&format!(
            "<entry>\n<id>tag:klaxon,2026:incident/{}</id>\n<published>{}</published>\n<updated>{}</updated>\n<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n<title>{}</title>\n<content type=\"html\">{}</content>\n</entry>\n",
            xml_escape(&i.id), format_iso(i.created_at), format_iso(i.updated_at), xml_escape(&v.link(i)), xml_escape(&i.name), xml_escape(&content)
        ));
    }
    out.push_str("</feed>\n");
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        out,
    )
        .into_response())
}

// ---- badge ----------------------------------------------------------------------------------

/// A shields-style SVG: the component's name and its status.
pub fn badge_svg(label: &str, status: &str) -> String {
    let text = component_label(status).to_lowercase();
    // Roughly 6.5 px per character at 11 px Verdana, as shields.io sizes its badges.
    let w = |s: &str| 10 + (s.chars().count() as f64 * 6.5).ceil() as u32;
    let (lw, rw) = (w(label), w(&text));
    let total = lw + rw;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total}\" height=\"20\" role=\"img\" aria-label=\"{l}: {t}\">\
<title>{l}: {t}</title><rect width=\"{lw}\" height=\"20\" fill=\"#555\"/><rect x=\"{lw}\" width=\"{rw}\" height=\"20\" fill=\"{c}\"/>\
<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,DejaVu Sans,sans-serif\" font-size=\"11\">\
<text x=\"{lx}\" y=\"14\">{l}</text><text x=\"{rx}\" y=\"14\">{t}</text></g></svg>",
        l = xml_escape(label),
        t = xml_escape(&text),
        c = status_colour(status),
        lx = lw / 2,
        rx = lw + rw / 2,
    )
}

async fn badge(
    State(s): State<AppState>,
    Path((page, component)): Path<(String, String)>,
) -> SpResult<Response> {
    let key = component.strip_suffix(".svg").unwrap_or(&component);
    let p = s
        .store
        .status_page(&page)
        .await?
        .ok_or_else(|| SpError::not_found(format!("page {page:?} not found")))?;
    let all = s.store.status_components(&p.id).await?;
    let c = all
        .iter()
        .find(|c| c.id == key)
        .or_else(|| all.iter().find(|c| c.name.eq_ignore_ascii_case(key)))
        .ok_or_else(|| SpError::not_found(format!("component {key:?} not found")))?;
    let status = if c.is_group {
        render::group_status(c, &all)
    } else {
        c.status.as_str()
    };
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=30"),
        ],
        badge_svg(&c.name, status),
    )
        .into_response())
}

// ---- subscribe ------------------------------------------------------------------------------

#[derive(serde::Deserialize)]
struct SubscribeForm {
    email: Option<String>,
    endpoint: Option<String>,
}

async fn subscribe_form(
    State(s): State<AppState>,
    h: HeaderMap,
    page: PageId,
    Form(f): Form<SubscribeForm>,
) -> Response {
    let run = async {
        let base = base_url(&s, &h);
        let v = View::load(&s, &page.0, base.clone()).await?;
        let sub = super::subscribe(&s, &base, &v.page, f.email, f.endpoint, false).await?;
        let msg = if sub.mode == "email" {
            "Check your inbox: we sent a link to confirm the subscription."
        } else {
            "The webhook is subscribed."
        };
        Ok::<_, SpError>(
            (
                StatusCode::CREATED,
                html_response(layout(&v, "Subscribed", html! { p #subscribed { (msg) } })),
            )
                .into_response(),
        )
    };
    run.await.unwrap_or_else(error_html)
}

async fn confirm(
    State(s): State<AppState>,
    h: HeaderMap,
    Path((page, token)): Path<(String, String)>,
) -> Response {
    let run = async {
        let v = View::load(&s, &page, base_url(&s, &h)).await?;
        s.store
            .confirm_status_subscriber(&v.page.id, &token, s.clock.now_ms())
            .await?
            .ok_or_else(|| {
                SpError::not_found(
                    "this confirmation link is not valid (or the subscription was cancelled)",
                )
            })?;
        Ok::<_, SpError>(html_response(layout(
            &v,
            "Subscription confirmed",
            html! { p #confirmed { "Your subscription is confirmed." } },
        )))
    };
    run.await.unwrap_or_else(error_html)
}

/// The link at the foot of every subscriber message: cancels the subscription.
async fn unsubscribe(
    State(s): State<AppState>,
    h: HeaderMap,
    Path((page, token)): Path<(String, String)>,
) -> Response {
    let run = async {
        let v = View::load(&s, &page, base_url(&s, &h)).await?;
        s.store
            .unsubscribe_status_subscriber_by_token(&v.page.id, &token, s.clock.now_ms())
            .await?
            .ok_or_else(|| SpError::not_found("this unsubscribe link is not valid"))?;
        Ok::<_, SpError>(html_response(layout(
            &v,
            "Unsubscribed",
            html! { p #unsubscribed { "You will get no more updates from this page." } },
        )))
    };
    run.await.unwrap_or_else(error_html)
}
