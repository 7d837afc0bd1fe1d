//! The Statuspage REST API v1 under `/v1/pages/{page}/…`, authorised by any global integration
//! key as `Authorization: OAuth <key>` (or `?api_key=`). Paths also answer with Statuspage's
//! optional `.json` suffix (`/v1/pages/acme.json`, `/incidents.json`).

use super::error::{SpError, SpResult};
use super::input::{self as inp};
use super::{base_url, render, PageId};
use crate::app::AppState;
use crate::http::auth;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use klaxon_core::status::IncidentStatus;
use klaxon_store::{ComponentFields, IncidentFilter, IncidentWrite, StatusComponent, StatusPage};
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    let mut r = Router::new();
    // Each collection also answers as `<path>.json`.
    for (path, json_path) in [
        ("/v1/pages", "/v1/pages.json"),
        (
            "/v1/pages/{page}/components",
            "/v1/pages/{page}/components.json",
        ),
        (
            "/v1/pages/{page}/component-groups",
            "/v1/pages/{page}/component-groups.json",
        ),
        (
            "/v1/pages/{page}/incidents",
            "/v1/pages/{page}/incidents.json",
        ),
        (
            "/v1/pages/{page}/subscribers",
            "/v1/pages/{page}/subscribers.json",
        ),
    ] {
        let h = match path {
            "/v1/pages" => get(list_pages),
            p if p.ends_with("/components") => get(list_components).post(create_component),
            p if p.ends_with("/component-groups") => get(list_groups).post(create_group),
            p if p.ends_with("/incidents") => get(list_incidents).post(create_incident),
            _ => get(list_subscribers).post(create_subscriber),
        };
        r = r.route(path, h.clone()).route(json_path, h);
    }
    r.route(
        "/v1/pages/{page}",
        get(get_page).patch(patch_page).put(patch_page),
    )
    .route(
        "/v1/pages/{page}/components/{id}",
        get(get_component)
            .patch(patch_component)
            .put(patch_component)
            .delete(delete_component),
    )
    .route(
        "/v1/pages/{page}/component-groups/{id}",
        get(get_group)
            .patch(patch_group)
            .put(patch_group)
            .delete(delete_group),
    )
    .route("/v1/pages/{page}/incidents/unresolved", get(unresolved))
    .route("/v1/pages/{page}/incidents/scheduled", get(scheduled))
    .route("/v1/pages/{page}/incidents/upcoming", get(upcoming))
    .route(
        "/v1/pages/{page}/incidents/active_maintenance",
        get(active_maintenance),
    )
    .route(
        "/v1/pages/{page}/incidents/{id}",
        get(get_incident)
            .patch(patch_incident)
            .put(patch_incident)
            .delete(delete_incident),
    )
    .route(
        "/v1/pages/{page}/incidents/{id}/incident_updates/{update}",
        axum::routing::patch(patch_update).put(patch_update),
    )
    .route(
        "/v1/pages/{page}/incidents/{id}/postmortem",
        get(get_postmortem)
            .put(put_postmortem)
            .delete(delete_postmortem),
    )
    .route(
        "/v1/pages/{page}/incidents/{id}/postmortem/publish",
        put(publish_postmortem),
    )
    .route(
        "/v1/pages/{page}/incidents/{id}/postmortem/revert",
        put(revert_postmortem),
    )
    .route(
        "/v1/pages/{page}/subscribers/{id}",
        get(get_subscriber).delete(delete_subscriber),
    )
    .route(
        "/v1/pages/{page}/subscribers/{id}/resend_confirmation",
        post(resend_confirmation),
    )
}

/// A caller holding a global integration key.
pub struct Authorized;

impl FromRequestParts<AppState> for Authorized {
    type Rejection = SpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> SpResult<Self> {
        let key = auth::key_from_request(parts).or_else(|| {
            let q = parts.uri.query()?;
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "api_key")
                .map(|(_, v)| v.into_owned())
        });
        let Some(key) = key else {
            return Err(SpError::unauthorized());
        };
        match auth::authenticate(state, &key).await? {
            Some(i) if i.team_id.is_none() => Ok(Authorized),
            Some(_) => Err(SpError::new(
                StatusCode::FORBIDDEN,
                "this integration belongs to a team; the Statuspage API takes a global key",
            )),
            None => Err(SpError::unauthorized()),
        }
    }
}

fn strip(s: &str) -> String {
    s.strip_suffix(".json").unwrap_or(s).to_string()
}

async fn load_page(state: &AppState, page: &PageId) -> SpResult<StatusPage> {
    state
        .store
        .status_page(&page.0)
        .await?
        .ok_or_else(|| SpError::not_found(format!("page {:?} not found", page.0)))
}

fn ok(v: Value) -> Response {
    Json(v).into_response()
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

// ---- pages --------------------------------------------------------------------------------

async fn list_pages(_: Authorized, State(s): State<AppState>, h: HeaderMap) -> SpResult<Response> {
    let base = base_url(&s, &h);
    let pages = s.store.status_pages().await?;
    Ok(ok(json!(pages
        .iter()
        .map(|p| render::page(p, &format!("{base}/status/{}", p.id)))
        .collect::<Vec<_>>())))
}

async fn get_page(
    _: Authorized,
    State(s): State<AppState>,
    h: HeaderMap,
    page: PageId,
) -> SpResult<Response> {
    let p = load_page(&s, &page).await?;
    Ok(ok(render::page(
        &p,
        &format!("{}/status/{}", base_url(&s, &h), p.id),
    )))
}

async fn patch_page(
    _: Authorized,
    State(s): State<AppState>,
    h: HeaderMap,
    page: PageId,
    body: Bytes,
) -> SpResult<Response> {
    let p = load_page(&s, &page).await?;
    let o = inp::wrapped(&body, "page")?;
    let name = inp::name(&o, "name", false)?;
    let mut b = render::branding(&p);
    if let Some(t) = inp::string(&o, "headline")?.or(inp::string(&o, "page_description")?) {
        b.title = Some(t);
    }
    let branding = serde_json::to_string(&b).unwrap_or_default();
    s.store
        .update_status_page(&p.id, name.as_deref(), Some(&branding), s.clock.now_ms())
        .await?;
    let p = load_page(&s, &page).await?;
    Ok(ok(render::page(
        &p,
        &format!("{}/status/{}", base_url(&s, &h), p.id),
    )))
}

// ---- components ---------------------------------------------------------------------------

fn component_fields(o: &serde_json::Map<String, Value>, create: bool) -> SpResult<ComponentFields> {
    Ok(ComponentFields {
        name: inp::name(o, "name", create)?,
        description: inp::string(o, "description")?,
        group_id: if o.contains_key("group_id") {
            Some(inp::string(o, "group_id")?.filter(|g| !g.is_empty()))
        } else {
            None
        },
        status: inp::string(o, "status")?
            .map(|st| inp::component_status(&st, "status"))
            .transpose()?,
        showcase: inp::boolean(o, "showcase")?,
        only_show_if_degraded: inp::boolean(o, "only_show_if_degraded")?,
        position: inp::integer(o, "position")?.map(|p| (p - 1).max(0)),
        members: inp::string_list(o, "components")?,
    })
}

async fn list_components(
    _: Authorized,
    State(s): State<AppState>,
    page: PageId,
) -> SpResult<Response> {
    let p = load_page(&s, &page).await?;
    let all = s.store.status_components(&p.id).await?;
    Ok(ok(json!(all
        .iter()
        .map(|c| render::component(c, &all))
        .collect::<Vec<_>>())))
}

async fn find(all: &[StatusComponent], id: &str, group: bool) -> SpResult<StatusComponent> {
    all.iter()
        .find(|c| c.id == id && c.is_group == group)
        .cloned()
        .ok_or_else(|| {
            SpError::not_found(format!(
                "{} {id:?} not found",
                if group {
                    "component group"
                } else {
                    "component"
                }
            ))
        })
}

async fn get_component(
    _: Authorized,
    State(s): State<AppState>,
    Path((page, id)): Path<(String, String)>,
) -> SpResult<Response> {
    let p = load_page(&s, &PageId(strip(&page))).await?;
    let all = s.store.status_components(&p.id).await?;
    let c = find(&all, &strip(&id), false).await?;
    Ok(ok(render::component(&c, &all)))
}

async fn create_component(
    _: Authorized,
    State(s): State<AppState>,
    page: PageId,
    body: Bytes,
) -> SpResult<Response> {
    let p = load_page(&s, &page).await?;
    let o = inp::wrapped(&body, "component")?;
    let f = component_fields(&o, true)?;
    let c = s
        .store
        .create_status_component(&p.id, false, &f, s.clock.now_ms())
        .await?;
    let all = s.store.status_components(&p.id).await?;
    Ok(created(render::component(&c, &all)))
}

async fn patch_component(
    _: Authorized,
    State(s): State<AppState>,
    Path((page, id)): Path<(String, String)>,
    body: Bytes,
) -> SpResult<Response> {
    let p = load_page(&s, &PageId(strip(&page))).await?;
    let o = inp::wrapped(&body, "component")?;
    let f = component_fields(&o, false)?;
    let c = s
        .store
        .update_status_component(&p.id, &strip(&id), false, &f, s.clock.now_ms())
        .await?
        .ok_or_else(|| SpError::not_found(format!("component {id:?} not found")))?;
    let all = s.store.status_components(&p.id).await?;
    Ok(ok(render::component(&c, &all)))
}

async fn delete_component(
    _: Authorized,
    State(s): State<AppState>,
    Path((page, id)): Path<(String, String)>,
) -> SpResult<Response> {
    let p = load_page(&s, &PageId(strip(&page))).await?;
    if !s
        .store
        .delete_status_component(&p.id, &strip(&id), false)
        .await?
    {
        return Err(SpError::not_found(format!("component {id:?} not found")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- component groups -----------------------------------------------------------------------

async fn list_groups(_: Authorized, State(s): State<AppState>, page: PageId) -> SpResult<Response> {
    let p = load_page(&s, &page).await?;
    let all = s.store.status_components(&p.id).await?;
    Ok(ok(json!(all
        .iter()
        .filter(|c| c.is_group)
        .map(|c| render::group(c, &all))
        .collect::<Vec<_>>())))
}

fn group_fields(body: &[u8], create: bool) -> SpResult<ComponentFields> {
    let outer: serde_json::Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Default::default()
    } else {
        match serde_json::from_slice(body) {
            Ok(Value::Object(o)) => o,
            _ => {
                return Err(SpError::bad_request(
                    "the body must be a JSON object like {\"component_group\": {…}}",
                ))
            }
        }
    };
    let inner = inp::wrapped(body, "component_group")?;
    let mut f = component_fields(&inner, create)?;
    f.status = None;
    // The client sends `description` beside `component_group`.
    if f.description.is_none() {
        f.description = inp::string(&outer, "description")?;
    }
    if create && f.members.as_ref().is_none_or(|m| m.is_empty()) {
        return Err(SpError::invalid(
            "components can't be blank: a group needs at least one component",
        ));
    }
    Ok(f)
}

async fn get_group(
    _: Authorized,
    State(s): State<AppState>,
    Path((page, id)): Path<(String, String)>,
) -> SpResult<Response> {
    let p = load_page(&s, &PageId(strip(&page))).await?;
    let all = s.store.status_components(&p.id).await?;
    let g = find(&all, &strip(&id), true).await?;
    Ok(ok(render::group(&g, &all)))
}

async fn create_group(
    _: Authorized,
    State(s): State<AppState>,
    page: PageId,
    body: Bytes,
) -> SpResult<Response> {
    let p = load_page(&s, &page).await?;
    let f = group_fields(&body, true)?;
    let g = s
        .store
        .create_status_component(&p.id, true, &f, s.clock.now_ms())
        .await?;
    let all = s.store.status_components(&p.id).await?;
    Ok(created(render::group(&g, &all)))
}

async fn patch_group(
    _: Authorized,
    State(s): State<AppState>,
    Path((page, id)): Path<(String, String)>,
    body: Bytes,
) -> SpResult<Response> {
    let p = load_page(&s, &PageId(strip(&page))).await?;
    let f = group_fields(&body, false)?;
    let g = s
        .store
        .update_status_component(&p.id, &strip(&id), true, &f, s.clock.now_ms())
        .await?
        .ok_or_else(|| SpError::not_found(format!("component group {id:?} not found")))?;
    let all = s.store.status_components(&p.id).await?;
    Ok(ok(render::group(&g, &all)))
}

async fn delete_group(
    _: Authorized,
    State(s): State<AppState>,
    Path((page, id)): Path<(String, String)>,
) -> SpResult<Response> {
    let p = load_page(&s, &PageId(strip(&page))).await?;
    if !s
        .store
        .delete_status_component(&p.id, &strip(&id), true)
        .await?
    {
        return Err(SpError::not_found(format!(
            "component group {id:?} not found"
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- incidents ------------------------------------------------------------------------------

/// Reads an incident create or change. Maintenance (with `scheduled_for`) and incident statuses
/// are kept apart; every value is checked before anything is written.
fn incident_write(
    o: &serde_json::Map<String, Value>,
    cur: Option<&klaxon_store::StatusIncident>,
) -> SpResult<IncidentWrite> {
    let create = cur.is_none();
    let mut w = IncidentWrite {
        name: inp::name(o, "name", create)?,
        body: inp::string(o, "body")?,
        component_statuses: inp::component_statuses(o)?,
        component_ids: inp::string_list(o, "component_ids")?,
        scheduled_for: inp::time(o, "scheduled_for")?,
        scheduled_until: inp::time(o, "scheduled_until")?,
        auto_in_progress: inp::boolean(o, "scheduled_auto_in_progress")?,
        auto_completed: inp::boolean(o, "scheduled_auto_completed")?,
        auto_maintenance_state: inp::boolean(o, "auto_transition_to_maintenance_state")?,
        auto_operational_state: inp::boolean(o, "auto_transition_to_operational_state")?,
        deliver_notifications: inp::boolean(o, "deliver_notifications")?,
        postmortem_body: inp::string(o, "postmortem_body")?,
        metadata: o.get("metadata").filter(|m| !m.is_null()).cloned(),
        created_at: if create {
            inp::time(o, "backfill_date")?.or(inp::time(o, "created_at")?)
        } else {
            None
        },
        ..Default::default()
    };
    if let Some(b) = inp::boolean(o, "scheduled_auto_transition")? {
        w.auto_in_progress.get_or_insert(b);
        w.auto_completed.get_or_insert(b);
    }
    if let Some(m) = &w.metadata {
        if !m.is_object() {
            return Err(SpError::invalid("metadata must be an object"));
        }
    }
    // `impact` is not in Statuspage's request model, but scripts send it (seed 001 does);
    // it is read as the override it means.
    let over = match inp::string(o, "impact_override")? {
        Some(s) => Some(s),
        None => inp::string(o, "impact")?,
    };
    if let Some(i) = over {
        w.impact_override = Some(Some(inp::impact(&i, "impact_override")?));
    }
    let maintenance = w.scheduled_for.is_some() || cur.is_some_and(|c| c.is_maintenance());
    if let Some(st) = inp::string(o, "status")? {
        let st = inp::incident_status(&st)?;
        if maintenance != st.is_maintenance() && st != IncidentStatus::Postmortem {
            return Err(SpError::invalid(if maintenance {
                format!("status {:?} is not a maintenance status: use scheduled, in_progress, verifying or completed", st.as_str())
            } else {
                format!("status {:?} is a maintenance status: an incident is investigating, identified, monitoring or resolved (give scheduled_for for a maintenance)", st.as_str())
            }));
        }
        w.status = Some(st.as_str().to_string());
    }
    if let (Some(f), Some(u)) = (
        w.scheduled_for.or(cur.and_then(|c| c.scheduled_for)),
        w.scheduled_until.or(cur.and_then(|c| c.scheduled_until)),
    ) {
        if u < f {
            return Err(SpError::invalid(
                "scheduled_until must be after scheduled_for",
            ));
        }
    } else if w.scheduled_until.is_some() {
        return Err(SpError::invalid("scheduled_until needs scheduled_for"));
    }
    crate::status::complete_write(&mut w, cur);
    Ok(w)
}

#[derive(serde::Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    limit: Option<i64>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn render_incidents(
    s: &AppState,
    h: &HeaderMap,
    p: &StatusPage,
    list: Vec<klaxon_store::StatusIncident>,
) -> SpResult<Response> {
    let all = s.store.status_components(&p.id).await?;
    let base = base_url(s, h);
    Ok(ok(json!(list
        .iter()
        .map(|i| render::incident(i, &all, &super::shortlink(&base, &p.id, &i.id)))
        .collect::<Vec<_>>())))
}

async fn list_incidents(
    _: Authorized,
    State(s): State<AppState>,
    h: HeaderMap,
    page: PageId,
    Query(q): Query<ListQuery>,
) -> SpResult<Response> {
    let p = load_page(&s, &page).await?;
    let per_page = q.per_page.or(q.limit).unwrap_or(100).clamp(1, 100);
    let skip = (q.page.unwrap_or(1).max(1) - 1) * per_page;
    let mut list = s
        .store
        .status_incidents(&p.id, IncidentFilter::All, skip + per_page)
        .await?;
    if let Some(needle) =
        q.q.as_deref()
            .map(str::to_lowercase)
            .filter(|n| !n.is_empty())
    {
        list.retain(|i| {
            i.name.to_lowercase().contains(&needle)
                || i.updates
                    .iter()
                    .any(|u| u.body.to_lowercase().contains(&needle))
        });
    }
    let list = list.into_iter().skip(skip as usize).collect();
    render_incidents(&s, &h, &p, list).await
}

async fn filtered(
    s: &AppState,
    h: &HeaderMap,
    page: &PageId,
    keep: impl Fn(&klaxon_store::StatusIncident, i64) -> bool,
    filter: IncidentFilter,
) -> SpResult<Response> {
    let p = load_page(s, page).await?;
    let now = s.clock.now_ms();
    let mut list = s.store.status_incidents(&p.id, filter, 1_000).await?;
    list.retain(|i| keep(i, now));
    render_incidents(s, h, &p, list).await
}

async fn unresolved(
    _: Authorized,
    State(s): State<AppState>,
    h: HeaderMap,
    page: PageId,
) -> SpResult<Response> {
    filtered(&s, &h, &page, |_, _| true, IncidentFilter::Unresolved).await
}

async fn scheduled(
    _: Authorized,
    State(s): State<AppState>,
    h: HeaderMap,
    page: PageId,
) -> SpResult<Response> {
    filtered(&s, &h, &page, |_, _| true, IncidentFilter::OpenMaintenance).await
}

async fn upcoming(
    _: Authorized,
    State(s): State<AppState>,
    h: HeaderMap,
    page: PageId,
) -> SpResult<Response> {
    filtered(
        &s,
        &h,
        &page,
        |i, _| i.status == "scheduled",
        IncidentFilter::OpenMaintenance,
    )
    .await
}

async fn active_maintenance(
    _: Authorized,
    State(s): State<AppState>,
    h: HeaderMap,
    page: PageId,
) -> SpResult<Response> {
    filtered(
        &s,
        &h,
        &page,
        |i, _| i.status == "in_progress" || i.status == "verifying",
        IncidentFilter::OpenMaintenance,
    )
    .await
}

async fn one_incident(
    s: &AppState,
    h: &HeaderMap,
    p: &StatusPage,
    id: &str,
    status: StatusCode,
) -> SpResult<Response> {
    let i = s
        .store
        .status_incident(&p.id, id)
        .await?
        .ok_or_else(|| SpError::not_found(format!("incident {id:?} not found")))?;
    let all = s.store.status_components(&p.id).await?;
    let v = render::incident(&i, &all, &super::shortlink(&base_url(s, h), &p.id, &i.id));
    Ok((status, Json(v)).into_response())
}

async fn get_incident(
    _: Authorized,
    State(s): State<AppState>,
    h: HeaderMap,
    Path((page, id)): Path<(String, String)>,
) -> SpResult<Response> {
    let p = load_page(&s, &PageId(strip(&page))).await?;
    one_incident(&s, &h, &p, &strip(&id), StatusCode::OK).await
}

async fn create_incident(
    _: Authorized,
    State(s): State<AppState>,
    h: HeaderMap,
    page: PageId,
    body: Bytes,
) -> SpResult<Response> {
    let p = load_page(&s, &page).await?;
    let o = inp::wrapped(&body, "incident")?;
    let w = incident_write(&o, None)?;
    let id = s
        .store
        .create_status_incident(&p.id, &w, s.clock.now_ms())
        .await?;
    s.maintenance_wake.notify_one();
    one_incident(&s, &h, &p, &id, StatusCode::CREATED).await
}

async fn patch_incident(
    _: Authorized,
    State(s): State<AppState>,
    h: HeaderMap,
    Path((page, id)): Path<(String, String)>,
    body: Bytes,
) -> SpResult<Response> {
    let p = load_page(&s, &PageId(strip(&page))).await?;
    let id = strip(&id);
    let cur = s
        .store
        .status_incident(&p.id, &id)
        .await?
        .ok_or_else(|| SpError::not_found(format!("incident {id:?} not found")))?;
    let o = inp::wrapped(&body, "incident")?;
    let w = incident_write(&o, Some(&cur))?;
    s.store
        .update_status_incident(&p.id, &id, &w, s.clock.now_ms())
        .await?;
    s.maintenance_wake.notify_one();
    one_incident(&s, &h, &p, &id, StatusCode::OK).await
}

async fn delete_incident(
    _: Authorized,
    State(s): State<AppState>,
    h: HeaderMap,
    Path((page, id)): Path<(String, String)>,
) -> SpResult<Response> {
    let p = load_page(&s, &PageId(strip(&page))).await?;
    let id = strip(&id);
    // Statuspage answers a delete with the deleted incident.
    let resp = one_incident(&s, &h, &p, &id, StatusCode::OK).await?;
    s.store.delete_status_incident(&p.id, &id).await?;
    Ok(resp)
}

async fn patch_update(
    _: Authorized,
    State(s): State<AppState>,
    Path((page, id, update)): Path<(String, String, String)>,
    body: Bytes,
) -> SpResult<Response> {
    let p = load_page(&s, &PageId(strip(&page))).await?;
    let (id, update) = (strip(&id), strip(&update));
    let o = inp::wrapped(&body, "incident_update")?;
    let body_text = inp::string(&o, "body")?;
    let display_at = inp::time(&o, "display_at")?;
    let deliver = inp::boolean(&o, "deliver_notifications")?;
    if !s
        .store
        .edit_status_incident_update(
            &p.id,
            &id,
            &update,
            body_text.as_deref(),
            display_at,
            deliver,
            s.clock.now_ms(),
        )
        .await?
    {
        return Err(SpError::not_found(format!(
            "incident update {update:?} not found"
        )));
    }
    let i = s
        .store
        .status_incident(&p.id, &id)
        .await?
        .ok_or_else(|| SpError::not_found(format!("incident {id:?} not found")))?;
    let u = i
        .updates
        .iter()
        .find(|u| u.id == update)
        .ok_or_else(|| SpError::not_found(format!("incident update {update:?} not found")))?;
    Ok(ok(render::incident_update(u)))
}

// ---- postmortem ---------------------------------------------------------------------------

fn postmortem(i: &klaxon_store::StatusIncident) -> Value {
    let iso = |t: Option<i64>| t.map(klaxon_core::time::format_iso);
    json!({
        "preview_key": i.id,
        "body": i.postmortem_published_at.and(i.postmortem_body.clone()),
        "body_updated_at": iso(i.postmortem_updated_at),
        "body_draft": i.postmortem_body,
        "body_draft_updated_at": iso(i.postmortem_updated_at),
        "published_at": iso(i.postmortem_published_at),
        "notify_subscribers": false,
        "notify_twitter": false,
        "custom_tweet": null,
        "created_at": iso(i.postmortem_updated_at),
        "updated_at": iso(i.postmortem_updated_at),
    })
}

async fn incident_for(
    s: &AppState,
    page: &str,
    id: &str,
) -> SpResult<(StatusPage, klaxon_store::StatusIncident)> {
    let p = load_page(s, &PageId(strip(page))).await?;
    let i = s
        .store
        .status_incident(&p.id, &strip(id))
        .await?
        .ok_or_else(|| SpError::not_found(format!("incident {id:?} not found")))?;
    Ok((p, i))
}

async fn get_postmortem(
    _: Authorized,
    State(s): State<AppState>,
    Path((page, id)): Path<(String, String)>,
) -> SpResult<Response> {
    let (_, i) = incident_for(&s, &page, &id).await?;
    if i.postmortem_body.is_none() {
        return Err(SpError::not_found("this incident has no postmortem"));
    }
    Ok(ok(postmortem(&i)))
}

async fn write_postmortem(
    s: &AppState,
    page: &str,
    id: &str,
    w: IncidentWrite,
) -> SpResult<Response> {
    let (p, i) = incident_for(s, page, id).await?;
    if !i
        .status
        .parse::<IncidentStatus>()
        .is_ok_and(IncidentStatus::is_closed)
    {
        return Err(SpError::invalid(
            "a postmortem can only be written for a resolved incident",
        ));
    }
    s.store
        .update_status_incident(&p.id, &i.id, &w, s.clock.now_ms())
        .await?;
    let (_, i) = incident_for(s, page, id).await?;
    Ok(ok(postmortem(&i)))
}

async fn put_postmortem(
    _: Authorized,
    State(s): State<AppState>,
    Path((page, id)): Path<(String, String)>,
    body: Bytes,
) -> SpResult<Response> {
    let o = inp::wrapped(&body, "postmortem")?;
    let text = inp::string(&o, "body_draft")?
        .or(inp::string(&o, "body")?)
        .ok_or_else(|| SpError::invalid("body_draft can't be blank"))?;
    write_postmortem(
        &s,
        &page,
        &id,
        IncidentWrite {
            postmortem_body: Some(text),
            ..Default::default()
        },
    )
    .await
}

async fn publish_postmortem(
    _: Authorized,
    State(s): State<AppState>,
    Path((page, id)): Path<(String, String)>,
) -> SpResult<Response> {
    let (_, i) = incident_for(&s, &page, &id).await?;
    if i.postmortem_body.is_none() {
        return Err(SpError::invalid(
            "write the postmortem (PUT …/postmortem) before publishing it",
        ));
    }
    write_postmortem(
        &s,
        &page,
        &id,
        IncidentWrite {
            postmortem_published: Some(true),
            ..Default::default()
        },
    )
    .await
}

async fn revert_postmortem(
    _: Authorized,
    State(s): State<AppState>,
    Path((page, id)): Path<(String, String)>,
) -> SpResult<Response> {
    write_postmortem(
        &s,
        &page,
        &id,
        IncidentWrite {
            postmortem_published: Some(false),
            ..Default::default()
        },
    )
    .await
}

async fn delete_postmortem(
    _: Authorized,
    State(s): State<AppState>,
    Path((page, id)): Path<(String, String)>,
) -> SpResult<Response> {
    write_postmortem(
        &s,
        &page,
        &id,
        IncidentWrite {
            postmortem_body: Some(String::new()),
            postmortem_published: Some(false),
            ..Default::default()
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- subscribers --------------------------------------------------------------------------

async fn list_subscribers(
    _: Authorized,
    State(s): State<AppState>,
    page: PageId,
    Query(q): Query<HashMap<String, String>>,
) -> SpResult<Response> {
    let p = load_page(&s, &page).await?;
    let mut subs = s.store.status_subscribers(&p.id).await?;
    if let Some(t) = q.get("type") {
        subs.retain(|x| &x.mode == t);
    }
    Ok(ok(json!(subs
        .iter()
        .map(render::subscriber)
        .collect::<Vec<_>>())))
}

async fn get_subscriber(
    _: Authorized,
    State(s): State<AppState>,
    Path((page, id)): Path<(String, String)>,
) -> SpResult<Response> {
    let p = load_page(&s, &PageId(strip(&page))).await?;
    let sub = s
        .store
        .status_subscriber(&p.id, &strip(&id))
        .await?
        .ok_or_else(|| SpError::not_found(format!("subscriber {id:?} not found")))?;
    Ok(ok(render::subscriber(&sub)))
}

async fn create_subscriber(
    _: Authorized,
    State(s): State<AppState>,
    h: HeaderMap,
    page: PageId,
    body: Bytes,
) -> SpResult<Response> {
    let p = load_page(&s, &page).await?;
    let o = inp::wrapped(&body, "subscriber")?;
    let skip = inp::boolean(&o, "skip_confirmation_notification")?.unwrap_or(false);
    let sub = super::subscribe(
        &s,
        &base_url(&s, &h),
        &p,
        inp::string(&o, "email")?,
        inp::string(&o, "endpoint")?,
        skip,
    )
    .await?;
    Ok(created(render::subscriber(&sub)))
}

async fn delete_subscriber(
    _: Authorized,
    State(s): State<AppState>,
    Path((page, id)): Path<(String, String)>,
) -> SpResult<Response> {
    let p = load_page(&s, &PageId(strip(&page))).await?;
    let id = strip(&id);
    let sub = s
        .store
        .status_subscriber(&p.id, &id)
        .await?
        .ok_or_else(|| SpError::not_found(format!("subscriber {id:?} not found")))?;
    s.store
        .unsubscribe_status_subscriber(&p.id, &id, s.clock.now_ms())
        .await?;
    Ok(ok(render::subscriber(&sub)))
}

async fn resend_confirmation(
    _: Authorized,
    State(s): State<AppState>,
    h: HeaderMap,
    Path((page, id)): Path<(String, String)>,
) -> SpResult<Response> {
    let p = load_page(&s, &PageId(strip(&page))).await?;
    let sub = s
        .store
        .status_subscriber(&p.id, &strip(&id))
        .await?
        .ok_or_else(|| SpError::not_found(format!("subscriber {id:?} not found")))?;
    if sub.confirmed_at.is_some() {
        return Err(SpError::invalid("this subscriber is already confirmed"));
    }
    super::send_confirmation(&s, &base_url(&s, &h), &p, &sub).await?;
    Ok(StatusCode::CREATED.into_response())
}
