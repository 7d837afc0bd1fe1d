//! Plain data that crosses the storage boundary.

use klaxon_core::alert::{Priority, ResponderRef};
use klaxon_core::lifecycle::{Action, Actor};
use klaxon_core::query::Query;
use std::collections::BTreeMap;

pub use klaxon_core::lifecycle::Alert as StoredAlert;

/// The users, teams and integrations declared in the config file.
#[derive(Debug, Clone, Default)]
pub struct DirectorySpec {
    pub users: Vec<UserSpec>,
    pub teams: Vec<TeamSpec>,
    pub integrations: Vec<IntegrationSpec>,
}

#[derive(Debug, Clone)]
pub struct UserSpec {
    pub username: String,
    pub full_name: String,
    pub role: String,
    pub time_zone: String,
}

#[derive(Debug, Clone)]
pub struct TeamSpec {
    pub name: String,
    pub description: String,
    /// (username, role)
    pub members: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct IntegrationSpec {
    pub name: String,
    pub kind: String,
    pub key_hash: String,
    pub team: Option<String>,
    pub default_priority: Option<Priority>,
    pub default_tags: Vec<String>,
    pub enabled: bool,
}

pub type NewIntegration = IntegrationSpec;

#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub team_id: Option<String>,
    pub team_name: Option<String>,
    pub default_priority: Option<Priority>,
    pub default_tags: Vec<String>,
    pub enabled: bool,
    pub managed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub description: String,
}

/// What a caller may see: everything, or the alerts of one team.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope {
    pub team_id: Option<String>,
}

impl Scope {
    pub fn global() -> Self {
        Scope { team_id: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Id(String),
    Alias(String),
    Tiny(i64),
}

/// A create-alert request, validated and truncated by the API layer.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub alias: String,
    pub message: String,
    pub description: String,
    pub priority: Priority,
    pub source: String,
    pub entity: String,
    pub tags: Vec<String>,
    pub details: BTreeMap<String, String>,
    pub actions: Vec<String>,
    pub responders: Vec<ResponderRef>,
    pub visible_to: Vec<ResponderRef>,
    pub note: Option<String>,
}

/// An action whose responder (if any) is still a reference to resolve inside the transaction.
#[derive(Debug, Clone)]
pub enum ActionRequest {
    Ready(Action),
    Escalate(ResponderRef),
    AddResponder(ResponderRef),
    AddTeam(ResponderRef),
}

#[derive(Debug, Clone)]
pub enum WriteKind {
    Create(Box<NewAlert>),
    Act {
        target: Identifier,
        action: ActionRequest,
        note: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct WriteOp {
    pub request_id: String,
    pub integration_id: String,
    pub integration_name: String,
    pub integration_type: String,
    /// The integration's own team: responder on created alerts, and the visibility scope.
    pub team_id: Option<String>,
    pub actor: Actor,
    pub now: i64,
    pub kind: WriteKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub success: bool,
    pub status: String,
    pub action: String,
    pub alert_id: String,
    pub alias: String,
    /// A create that only counted up an open alert.
    pub deduplicated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub request_id: String,
    pub action: String,
    pub success: bool,
    pub status: String,
    pub alert_id: String,
    pub alias: String,
    pub integration_id: String,
    pub processed_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    CreatedAt,
    UpdatedAt,
    TinyId,
    Alias,
    Message,
    Status,
    Acknowledged,
    IsSeen,
    Snoozed,
    SnoozedUntil,
    Count,
    LastOccurredAt,
    Source,
    Owner,
    Priority,
    IntegrationName,
    IntegrationType,
    AckTime,
    CloseTime,
    AcknowledgedBy,
    ClosedBy,
}

impl SortField {
    /// OpsGenie's sort names.
    pub fn parse(s: &str) -> Option<SortField> {
        Some(match s {
            "createdAt" => SortField::CreatedAt,
            "updatedAt" => SortField::UpdatedAt,
            "tinyId" => SortField::TinyId,
            "alias" => SortField::Alias,
            "message" => SortField::Message,
            "status" => SortField::Status,
            "acknowledged" => SortField::Acknowledged,
            "isSeen" => SortField::IsSeen,
            "snoozed" => SortField::Snoozed,
            "snoozedUntil" => SortField::SnoozedUntil,
            "count" => SortField::Count,
            "lastOccurredAt" => SortField::LastOccurredAt,
            "source" => SortField::Source,
            "owner" => SortField::Owner,
            "priority" => SortField::Priority,
            "integration.name" => SortField::IntegrationName,
            "integration.type" => SortField::IntegrationType,
            "report.ackTime" => SortField::AckTime,
            "report.closeTime" => SortField::CloseTime,
            "report.acknowledgedBy" => SortField::AcknowledgedBy,
            "report.closedBy" => SortField::ClosedBy,
            _ => return None,
        })
    }

    pub(crate) fn column(self) -> &'static str {
        match self {
            SortField::CreatedAt => "a.created_at",
            SortField::UpdatedAt => "a.updated_at",
            SortField::TinyId => "a.tiny_id",
            SortField::Alias => "a.alias",
            SortField::Message => "a.message",
            SortField::Status => "a.status",
            SortField::Acknowledged => "a.acknowledged",
            SortField::IsSeen => "a.is_seen",
            SortField::Snoozed => "a.snoozed",
            SortField::SnoozedUntil => "a.snoozed_until",
            SortField::Count => "a.count",
            SortField::LastOccurredAt => "a.last_occurred_at",
            SortField::Source => "a.source",
            SortField::Owner => "a.owner",
            SortField::Priority => "a.priority",
            SortField::IntegrationName => "a.integration_name",
            SortField::IntegrationType => "a.integration_type",
            SortField::AckTime => "a.ack_time",
            SortField::CloseTime => "a.close_time",
            SortField::AcknowledgedBy => "a.acknowledged_by",
            SortField::ClosedBy => "a.closed_by",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub query: Query,
    pub scope: Scope,
    pub sort: SortField,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

/// Paging of notes and logs as OpsGenie does it: a cursor (`offset`), a direction and an order.
#[derive(Debug, Clone, Default)]
pub struct LogPage {
    /// Sequence number to continue from (exclusive).
    pub after: Option<i64>,
    /// `next` walks in `order`; `prev` walks against it.
    pub backwards: bool,
    pub descending: bool,
    pub limit: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteRecord {
    pub seq: i64,
    pub note: String,
    pub owner: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub seq: i64,
    pub kind: String,
    pub log: String,
    pub owner: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientRecord {
    pub user_id: String,
    pub username: String,
    pub state: String,
    pub method: String,
    pub created_at: i64,
    pub updated_at: i64,
}
