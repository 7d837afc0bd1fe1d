//! The Alertmanager webhook receiver (`POST /api/integrations/alertmanager`): keep your
//! Alertmanager and add Klaxon as a `webhook_configs` receiver. Each Alertmanager group is one
//! Klaxon alert: a firing notification opens it (or, while it is open, counts it up and brings
//! its message, description, priority, details and tags up to date); a resolved one closes it.
//!
//! The key comes the way Alertmanager's `http_config` sends it (`Authorization: Bearer <key>`),
//! or as `GenieKey`, Basic (key as password) or `?apiKey=`. Answers are small JSON objects:
//! 200 once the change is committed (also when a resolved group names no open alert), 400 for a
//! body that is not a notification (Alertmanager does not retry it), 401 without a valid key,
//! 5xx when the write failed (Alertmanager retries).

mod payload;

pub use payload::{GroupAlert, GroupStatus, Notification};

use crate::app::AppState;
use crate::http::hook::{self, HookError};
use crate::http::ingest::{self, RequestIds};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use klaxon_core::lifecycle::{Action, Actor};
use klaxon_store::{
    ActionRequest, Identifier, Integration, NewAlert, Outcome, Scope, WriteKind, WriteOp,
};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering::Relaxed;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/integrations/alertmanager", post(receive))
}

/// Receive one notification: open, update or close the group's alert.
pub async fn receive(
    State(state): State<AppState>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HookError> {
    let started = std::time::Instant::now();
    let (integration, bytes) = hook::authenticated_body(&state, &parts, body).await?;
    let n = Notification::parse(&bytes).map_err(HookError::Malformed)?;
    let source = match n.external_url.trim() {
        "" => ingest::client_ip(&parts),
        url => url.to_string(),
    };
    let mut w = Writes {
        state: &state,
        integration: &integration,
        actor: ingest::actor(&integration, "Alertmanager", &source),
        ids: RequestIds::new(),
    };
    let alias = n.alias();

    let (action, outcome) = match n.status {
        GroupStatus::Resolved => {
            let o = w
                .act(Identifier::Alias(alias.clone()), Action::Close)
                .await?;
            state.metrics.alert_actions.fetch_add(1, Relaxed);
            ("close", o)
        }
        GroupStatus::Firing => {
            let mappings = state.mappings.get();
            let mapping = mappings.get(&integration.name);
            let fallback = integration.default_priority.unwrap_or_default();
            let group = n.to_alert(mapping, fallback, &integration.default_tags);
            let new = NewAlert {
                alias: alias.clone(),
                message: group.message.clone(),
                description: group.description.clone(),
                priority: group.priority,
                source: klaxon_core::alert::truncate_chars(
                    &source,
                    klaxon_core::alert::limits::SOURCE,
                ),
                entity: String::new(),
                tags: group.tags.clone(),
                details: group.details.clone(),
                actions: vec![],
                responders: vec![],
                visible_to: vec![],
                note: None,
            };
            let o = w.write(WriteKind::Create(Box::new(new))).await?;
            if o.deduplicated {
                state.metrics.alerts_deduplicated.fetch_add(1, Relaxed);
                let label_names = n.alerts.iter().flat_map(|a| a.labels.keys()).collect();
                w.bring_up_to_date(&o.alert_id, &group, &label_names)
                    .await?;
                ("update", o)
            } else {
                state.metrics.alerts_created.fetch_add(1, Relaxed);
                ("create", o)
            }
        }
    };
    state.metrics.ingest_latency(started.elapsed());
    Ok((
        StatusCode::OK,
        axum::Json(json!({
            "status": "success",
            "action": action,
            "alias": alias,
            "alertId": outcome.alert_id,
            "result": outcome.status,
        })),
    )
        .into_response())
}

/// The writes of one notification, in order, each committed before the next.
struct Writes<'a> {
    state: &'a AppState,
    integration: &'a Integration,
    actor: Actor,
    ids: RequestIds,
}

impl Writes<'_> {
    fn op(&mut self, kind: WriteKind) -> WriteOp {
        ingest::write_op(
            self.state,
            self.integration,
            self.ids.take(),
            self.actor.clone(),
            kind,
        )
    }

    async fn write(&mut self, kind: WriteKind) -> Result<Outcome, HookError> {
        let op = self.op(kind);
        Ok(self.state.writer.write(op).await?)
    }

    async fn act(&mut self, target: Identifier, action: Action) -> Result<Outcome, HookError> {
        self.write(WriteKind::Act {
            target,
            action: ActionRequest::Ready(action),
            note: None,
        })
        .await
    }

    /// A repeated notification for an open alert: the group may have gained or lost members, so
    /// change what differs. A detail named like a member's label that is no longer common is
    /// removed (it would mislead: `instance=db1` while two instances fire); other details and
    /// tags are only added, so that what people added by hand stays. The message changes last:
    /// it is what a reader (and the tests) watch, so once it says "(2 firing)" the rest is
    /// already up to date.
    async fn bring_up_to_date(
        &mut self,
        alert_id: &str,
        group: &GroupAlert,
        label_names: &BTreeSet<&String>,
    ) -> Result<(), HookError> {
        let Some(current) = self
            .state
            .store
            .get_alert(&Identifier::Id(alert_id.to_string()), &Scope::global())
            .await?
        else {
            return Ok(());
        };
        let id = || Identifier::Id(alert_id.to_string());
        if current.description != group.description {
            self.act(
                id(),
                Action::UpdateDescription {
                    description: group.description.clone(),
                },
            )
            .await?;
        }
        if current.priority != group.priority {
            self.act(
                id(),
                Action::UpdatePriority {
                    priority: group.priority,
                },
            )
            .await?;
        }
        let changed: std::collections::BTreeMap<String, String> = group
            .details
            .iter()
            .filter(|(k, v)| current.details.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !changed.is_empty() {
            self.act(id(), Action::AddDetails { details: changed })
                .await?;
        }
        let stale: Vec<String> = current
            .details
            .keys()
            .filter(|k| label_names.contains(k) && !group.details.contains_key(*k))
            .cloned()
            .collect();
        if !stale.is_empty() {
            self.act(id(), Action::RemoveDetails { keys: stale })
                .await?;
        }
        let new_tags: Vec<String> = group
            .tags
            .iter()
            .filter(|t| !current.tags.contains(t))
            .cloned()
            .collect();
        if !new_tags.is_empty() {
            self.act(id(), Action::AddTags { tags: new_tags }).await?;
        }
        if current.message != group.message {
            self.act(
                id(),
                Action::UpdateMessage {
                    message: group.message.clone(),
                },
            )
            .await?;
        }
        Ok(())
    }
}
