//! The engine's hot statements on PostgreSQL, each one statement (one round trip, its own
//! transaction) whose text does not depend on the batch: rows travel as arrays (`unnest`), so
//! the statement is parsed and planned once per connection, and the planner sees a join on a
//! primary key it answers from the index whatever the table's statistics say.
//!
//! A round's writes used to be a transaction of seven or eight statements (release the claims,
//! insert escalations, pages, deliveries, timeline lines, recipient states), each with a text
//! of its own per batch size. Here they are data-modifying CTEs that feed each other: an
//! escalation is inserted only if the row that started it is still claimed, a page only if its
//! escalation was released or inserted, a delivery only if its page was inserted, a line or a
//! state only if what it belongs to was written. The rules are the same as in
//! `engine.rs`'s multi-statement version, which SQLite keeps (there every statement is
//! in-process and costs no round trip).

use crate::engine::{
    ClaimedDelivery, DeliveryOutcome, DeliveryResult, EngineLog, EscalationDone, Handoff,
    NewDelivery, PageDone, RecipientState,
};
use crate::Result;
use klaxon_core::escalation::AlertEvent;
use klaxon_core::lifecycle::Alert;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, PgPool};
use std::collections::HashMap;

/// Bound parameters, numbered as they are added.
#[derive(Default)]
struct Params {
    args: PgArguments,
    n: usize,
}

impl Params {
    /// Binds `v` and returns its placeholder, cast to `ty` (an array type for vectors).
    fn bind<'q, T>(&mut self, v: T, ty: &str) -> String
    where
        T: 'q + sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
    {
        self.args
            .add(v)
            .expect("encoding strings and integers cannot fail");
        self.n += 1;
        format!("${}::{ty}", self.n)
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Timeline lines, each written only if its owner (a row id) is among `owners` (a query).
fn logs_cte(p: &mut Params, logs: &[(&EngineLog, &str)], now: &str, owners: &str) -> String {
    let alert = p.bind(
        logs.iter()
            .map(|l| l.0.alert_id.as_str())
            .collect::<Vec<_>>(),
        "text[]",
    );
    let text = p.bind(
        logs.iter().map(|l| l.0.text.as_str()).collect::<Vec<_>>(),
        "text[]",
    );
    let owner = p.bind(logs.iter().map(|l| l.1).collect::<Vec<_>>(), "text[]");
    format!(
        "lg AS (INSERT INTO alert_logs (alert_id, kind, log, owner, created_at) \
         SELECT l.alert_id, 'system', l.text, 'System', {now} \
         FROM unnest({alert}, {text}, {owner}) WITH ORDINALITY AS l(alert_id, text, owner_id, ord) \
         WHERE l.owner_id IN ({owners}) ORDER BY l.ord)"
    )
}

/// Recipient states, each written only if its owner is among `owners`; of several for the
/// same recipient, the last written wins.
fn recipients_cte(
    p: &mut Params,
    rs: &[(&RecipientState, &str)],
    now: &str,
    owners: &str,
) -> String {
    let col = |p: &mut Params, f: fn(&RecipientState) -> &str| {
        p.bind(rs.iter().map(|r| f(r.0)).collect::<Vec<_>>(), "text[]")
    };
    let alert = col(p, |r| &r.alert_id);
    let user = col(p, |r| &r.user_id);
    let username = col(p, |r| &r.username);
    let state = col(p, |r| &r.state);
    let method = col(p, |r| &r.method);
    let owner = p.bind(rs.iter().map(|r| r.1).collect::<Vec<_>>(), "text[]");
    format!(
        "rc AS (INSERT INTO alert_recipients (alert_id, user_id, username, state, method, created_at, updated_at) \
         SELECT DISTINCT ON (r.alert_id, r.user_id) r.alert_id, r.user_id, r.username, r.state, r.method, {now}, {now} \
         FROM unnest({alert}, {user}, {username}, {state}, {method}, {owner}) WITH ORDINALITY \
           AS r(alert_id, user_id, username, state, method, owner_id, ord) \
         WHERE r.owner_id IN ({owners}) ORDER BY r.alert_id, r.user_id, r.ord DESC \
         ON CONFLICT (alert_id, user_id) DO UPDATE SET state = excluded.state, method = excluded.method, updated_at = excluded.updated_at)"
    )
}

/// New deliveries, each inserted only if its owner (a page) is among `owners` and its key is
/// new; with a handoff, those due at `now` are written claimed by it.
struct DeliveriesCte<'d> {
    sql: String,
    /// id → the delivery, for those written claimed.
    claimable: HashMap<String, &'d NewDelivery>,
}

fn deliveries_cte<'d>(
    p: &mut Params,
    ds: &[(&'d NewDelivery, &str)],
    now_ms: i64,
    now: &str,
    handoff: Option<Handoff<'_>>,
    owners: &str,
) -> DeliveriesCte<'d> {
    let ids: Vec<String> = ds.iter().map(|_| new_id()).collect();
    let mut claimable = HashMap::new();
    let (mut state, mut attempts, mut next, mut deadline, mut lease) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((d, _), id) in ds.iter().zip(&ids) {
        match handoff.filter(|_| d.due_at <= now_ms) {
            Some(h) => {
                claimable.insert(id.clone(), *d);
                state.push("sending");
                attempts.push(1i64);
                next.push(h.deadline);
                deadline.push(Some(h.deadline));
                lease.push(Some(h.token));
            }
            None => {
                state.push("pending");
                attempts.push(0);
                next.push(d.due_at);
                deadline.push(None);
                lease.push(None);
            }
        }
    }
    let text = |p: &mut Params, f: fn(&NewDelivery) -> &str| {
        p.bind(ds.iter().map(|d| f(d.0)).collect::<Vec<_>>(), "text[]")
    };
    let id = p.bind(ids, "text[]");
    let key = text(p, |d| &d.key);
    let alert = p.bind(
        ds.iter()
            .map(|d| d.0.alert_id.as_deref())
            .collect::<Vec<_>>(),
        "text[]",
    );
    let user = p.bind(
        ds.iter()
            .map(|d| d.0.user_id.as_deref())
            .collect::<Vec<_>>(),
        "text[]",
    );
    let username = text(p, |d| &d.username);
    let contact = text(p, |d| &d.contact);
    let channel = text(p, |d| &d.channel);
    let target = text(p, |d| &d.target);
    let payload = text(p, |d| &d.payload);
    let state = p.bind(state, "text[]");
    let attempts = p.bind(attempts, "int8[]");
    let next = p.bind(next, "int8[]");
    let deadline = p.bind(deadline, "int8[]");
    let lease = p.bind(lease, "text[]");
    let owner = p.bind(ds.iter().map(|d| d.1).collect::<Vec<_>>(), "text[]");
    let sql = format!(
        "dl AS (INSERT INTO deliveries (id, key, alert_id, user_id, username, contact, channel, target, payload, state, attempts, next_attempt_at, deadline, lease_owner, created_at, updated_at) \
         SELECT d.id, d.key, d.alert_id, d.user_id, d.username, d.contact, d.channel, d.target, d.payload, d.state, d.attempts, d.next, d.deadline, d.lease, {now}, {now} \
         FROM unnest({id}, {key}, {alert}, {user}, {username}, {contact}, {channel}, {target}, {payload}, {state}, {attempts}, {next}, {deadline}, {lease}, {owner}) WITH ORDINALITY \
           AS d(id, key, alert_id, user_id, username, contact, channel, target, payload, state, attempts, next, deadline, lease, owner_id, ord) \
         WHERE d.owner_id IN ({owners}) ORDER BY d.ord \
         ON CONFLICT (key) DO NOTHING RETURNING id, state)"
    );
    DeliveriesCte { sql, claimable }
}

/// The start every finish statement shares: the parameters with `now` bound first, and the
/// release of the claimed rows of `table` (the `rel` CTE).
fn start<'a>(
    now: i64,
    table: &str,
    rows: impl Iterator<Item = (&'a str, &'a str, i64, Option<i64>)>,
) -> (Params, String, String) {
    let mut p = Params::default();
    let now_p = p.bind(now, "int8");
    let rows: Vec<_> = rows.collect();
    let rel = release_cte(&mut p, table, &rows);
    (p, now_p, rel)
}

/// Runs a statement that ends in `SELECT id, state FROM dl` and returns what it wrote claimed.
async fn run_handing_off(
    pool: &PgPool,
    sql: &str,
    p: Params,
    dl: &DeliveriesCte<'_>,
    now: i64,
    handoff: Option<Handoff<'_>>,
) -> Result<Vec<ClaimedDelivery>> {
    let returned: Vec<(String, String)> = sqlx::query_as_with(sql, p.args).fetch_all(pool).await?;
    Ok(handed_off(returned, &dl.claimable, now, handoff))
}

/// Releases claimed rows of `table` (`alert_escalations` or `alert_pages`) with their new
/// plan where still held by their token.
fn release_cte(p: &mut Params, table: &str, rows: &[(&str, &str, i64, Option<i64>)]) -> String {
    let id = p.bind(rows.iter().map(|r| r.0).collect::<Vec<_>>(), "text[]");
    let token = p.bind(rows.iter().map(|r| r.1).collect::<Vec<_>>(), "text[]");
    let planned = p.bind(rows.iter().map(|r| r.2).collect::<Vec<_>>(), "int8[]");
    let due = p.bind(rows.iter().map(|r| r.3).collect::<Vec<_>>(), "int8[]");
    format!(
        "rel AS (UPDATE {table} t SET planned_to = v.planned, due_at = v.due, lease_until = NULL, lease_owner = NULL \
         FROM unnest({id}, {token}, {planned}, {due}) AS v(id, token, planned, due) \
         WHERE t.id = v.id AND t.lease_owner = v.token RETURNING t.id)"
    )
}

/// The deliveries a statement wrote claimed, ready to send.
fn handed_off(
    returned: Vec<(String, String)>,
    claimable: &HashMap<String, &NewDelivery>,
    now: i64,
    handoff: Option<Handoff<'_>>,
) -> Vec<ClaimedDelivery> {
    let Some(h) = handoff else { return vec![] };
    returned
        .into_iter()
        .filter(|(_, state)| state == "sending")
        .filter_map(|(id, _)| {
            let d = claimable.get(&id)?;
            Some(ClaimedDelivery {
                id,
                key: d.key.clone(),
                alert_id: d.alert_id.clone(),
                user_id: d.user_id.clone(),
                username: d.username.clone(),
                contact: d.contact.clone(),
                channel: d.channel.clone(),
                target: d.target.clone(),
                payload: d.payload.clone(),
                attempts: 1,
                interrupted: false,
                created_at: now,
                token: h.token.to_string(),
                deadline: h.deadline,
            })
        })
        .collect()
}

/// See `Store::finish_escalations`: one statement.
pub async fn finish_escalations(
    pool: &PgPool,
    done: &[EscalationDone],
    now: i64,
    handoff: Option<Handoff<'_>>,
) -> Result<Vec<ClaimedDelivery>> {
    if done.is_empty() {
        return Ok(vec![]);
    }
    let (mut p, now_p, rel) = start(
        now,
        "alert_escalations",
        done.iter()
            .map(|d| (d.id.as_str(), d.token.as_str(), d.planned_to, d.due_at)),
    );

    // Escalations started, each owned by the row that started it.
    let new: Vec<_> = done
        .iter()
        .flat_map(|d| d.new_escalations.iter().map(move |e| (e, d.id.as_str())))
        .collect();
    let text = |p: &mut Params, f: fn(&crate::engine::NewEscalation) -> &str| {
        p.bind(new.iter().map(|e| f(e.0)).collect::<Vec<_>>(), "text[]")
    };
    let (e_id, e_alert, e_origin) = (
        text(&mut p, |e| &e.id),
        text(&mut p, |e| &e.alert_id),
        text(&mut p, |e| &e.origin),
    );
    let (e_pid, e_pname, e_policy) = (
        text(&mut p, |e| &e.policy_id),
        text(&mut p, |e| &e.policy_name),
        text(&mut p, |e| &e.policy),
    );
    let e_started = p.bind(
        new.iter().map(|e| e.0.started_at).collect::<Vec<_>>(),
        "int8[]",
    );
    let e_planned = p.bind(
        new.iter().map(|e| e.0.planned_to).collect::<Vec<_>>(),
        "int8[]",
    );
    // An escalation left unplanned is due at once.
    let e_due = p.bind(
        new.iter()
            .map(|(e, _)| match e.planned_to {
                None => e.due_at.or(Some(now)),
                Some(_) => e.due_at,
            })
            .collect::<Vec<_>>(),
        "int8[]",
    );
    let e_owner = p.bind(new.iter().map(|e| e.1).collect::<Vec<_>>(), "text[]");
    let esc = format!(
        "esc AS (INSERT INTO alert_escalations (id, alert_id, origin, policy_id, policy_name, policy, started_at, planned_to, due_at, created_at) \
         SELECT n.id, n.alert_id, n.origin, n.policy_id, n.policy_name, n.policy, n.started_at, n.planned, n.due, {now_p} \
         FROM unnest({e_id}, {e_alert}, {e_origin}, {e_pid}, {e_pname}, {e_policy}, {e_started}, {e_planned}, {e_due}, {e_owner}) WITH ORDINALITY \
           AS n(id, alert_id, origin, policy_id, policy_name, policy, started_at, planned, due, owner_id, ord) \
         WHERE n.owner_id IN (SELECT id FROM rel) ORDER BY n.ord \
         ON CONFLICT (alert_id, origin) DO NOTHING RETURNING id)"
    );

    // Pages of the rows released and of the escalations inserted.
    let pages: Vec<_> = done.iter().flat_map(|d| &d.pages).collect();
    let text = |p: &mut Params, f: fn(&crate::engine::NewPage) -> &str| {
        p.bind(pages.iter().map(|pg| f(pg)).collect::<Vec<_>>(), "text[]")
    };
    let (p_id, p_alert, p_esc) = (
        text(&mut p, |x| &x.id),
        text(&mut p, |x| &x.alert_id),
        text(&mut p, |x| &x.escalation_id),
    );
    let (p_step, p_user, p_username) = (
        text(&mut p, |x| &x.step_key),
        text(&mut p, |x| &x.user_id),
        text(&mut p, |x| &x.username),
    );
    let p_paged = p.bind(
        pages.iter().map(|x| x.paged_at).collect::<Vec<_>>(),
        "int8[]",
    );
    let p_planned = p.bind(
        pages.iter().map(|x| x.planned_to).collect::<Vec<_>>(),
        "int8[]",
    );
    // A page left unplanned is due when it was paged.
    let p_due = p.bind(
        pages
            .iter()
            .map(|x| match x.planned_to {
                None => Some(x.paged_at),
                Some(_) => x.due_at,
            })
            .collect::<Vec<_>>(),
        "int8[]",
    );
    let pg = format!(
        "pg AS (INSERT INTO alert_pages (id, alert_id, escalation_id, step_key, user_id, username, paged_at, planned_to, due_at, created_at) \
         SELECT x.id, x.alert_id, x.esc, x.step, x.user_id, x.username, x.paged, x.planned, x.due, {now_p} \
         FROM unnest({p_id}, {p_alert}, {p_esc}, {p_step}, {p_user}, {p_username}, {p_paged}, {p_planned}, {p_due}) WITH ORDINALITY \
           AS x(id, alert_id, esc, step, user_id, username, paged, planned, due, ord) \
         WHERE x.esc IN (SELECT id FROM rel UNION ALL SELECT id FROM esc) ORDER BY x.ord \
         ON CONFLICT (escalation_id, step_key, user_id) DO NOTHING RETURNING id)"
    );

    let ds: Vec<_> = pages
        .iter()
        .flat_map(|x| x.deliveries.iter().map(|d| (d, x.id.as_str())))
        .collect();
    let dl = deliveries_cte(&mut p, &ds, now, &now_p, handoff, "SELECT id FROM pg");

    // Lines and states only for what was written: a duplicate escalation or page (another
    // round got there first) leaves no second line on the timeline.
    let logs: Vec<(&EngineLog, &str)> = done
        .iter()
        .flat_map(|d| d.logs.iter().map(move |l| (l, d.id.as_str())))
        .chain(
            new.iter()
                .flat_map(|(e, _)| e.logs.iter().map(|l| (l, e.id.as_str()))),
        )
        .chain(
            pages
                .iter()
                .flat_map(|x| x.logs.iter().map(|l| (l, x.id.as_str()))),
        )
        .collect();
    let lg = logs_cte(
        &mut p,
        &logs,
        &now_p,
        "SELECT id FROM rel UNION ALL SELECT id FROM esc UNION ALL SELECT id FROM pg",
    );
    let rs: Vec<(&RecipientState, &str)> = done
        .iter()
        .flat_map(|d| d.recipients.iter().map(move |r| (r, d.id.as_str())))
        .chain(
            new.iter()
                .flat_map(|(e, _)| e.recipients.iter().map(|r| (r, e.id.as_str()))),
        )
        .collect();
    let rc = recipients_cte(
        &mut p,
        &rs,
        &now_p,
        "SELECT id FROM rel UNION ALL SELECT id FROM esc",
    );
    let sql = format!(
        "WITH {rel}, {esc}, {pg}, {}, {lg}, {rc} SELECT id, state FROM dl",
        dl.sql
    );
    run_handing_off(pool, &sql, p, &dl, now, handoff).await
}

/// See `Store::finish_pages`: one statement.
pub async fn finish_pages(
    pool: &PgPool,
    done: &[PageDone],
    now: i64,
    handoff: Option<Handoff<'_>>,
) -> Result<Vec<ClaimedDelivery>> {
    if done.is_empty() {
        return Ok(vec![]);
    }
    let (mut p, now_p, rel) = start(
        now,
        "alert_pages",
        done.iter()
            .map(|d| (d.id.as_str(), d.token.as_str(), d.planned_to, d.due_at)),
    );
    let ds: Vec<_> = done
        .iter()
        .flat_map(|d| d.deliveries.iter().map(move |x| (x, d.id.as_str())))
        .collect();
    let dl = deliveries_cte(&mut p, &ds, now, &now_p, handoff, "SELECT id FROM rel");
    let logs: Vec<_> = done
        .iter()
        .flat_map(|d| d.logs.iter().map(move |l| (l, d.id.as_str())))
        .collect();
    let lg = logs_cte(&mut p, &logs, &now_p, "SELECT id FROM rel");
    let rs: Vec<_> = done
        .iter()
        .flat_map(|d| d.recipients.iter().map(move |r| (r, d.id.as_str())))
        .collect();
    let rc = recipients_cte(&mut p, &rs, &now_p, "SELECT id FROM rel");
    let sql = format!(
        "WITH {rel}, {}, {lg}, {rc} SELECT id, state FROM dl",
        dl.sql
    );
    run_handing_off(pool, &sql, p, &dl, now, handoff).await
}

/// See `Store::finish_deliveries`: one statement.
pub async fn finish_deliveries(pool: &PgPool, rs: &[DeliveryResult], now: i64) -> Result<usize> {
    if rs.is_empty() {
        return Ok(0);
    }
    let mut p = Params::default();
    let now_p = p.bind(now, "int8");
    let mut state = Vec::with_capacity(rs.len());
    let mut next = Vec::with_capacity(rs.len());
    let mut error = Vec::with_capacity(rs.len());
    let mut sent = Vec::with_capacity(rs.len());
    for r in rs {
        let (s, n, e, t): (&str, Option<i64>, &str, Option<i64>) = match &r.outcome {
            DeliveryOutcome::Sent => ("sent", None, "", Some(now)),
            DeliveryOutcome::Retry { at, error } => ("pending", Some(*at), error.as_str(), None),
            DeliveryOutcome::Failed { error } => ("failed", None, error.as_str(), None),
        };
        state.push(s);
        next.push(n);
        error.push(e);
        sent.push(t);
    }
    let id = p.bind(
        rs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        "text[]",
    );
    let token = p.bind(
        rs.iter().map(|r| r.token.as_str()).collect::<Vec<_>>(),
        "text[]",
    );
    let (state, next) = (p.bind(state, "text[]"), p.bind(next, "int8[]"));
    let (error, sent) = (p.bind(error, "text[]"), p.bind(sent, "int8[]"));
    let upd = format!(
        "upd AS (UPDATE deliveries t SET state = v.state, next_attempt_at = v.next, last_error = v.error, sent_at = v.sent, \
           deadline = NULL, lease_owner = NULL, updated_at = {now_p} \
         FROM unnest({id}, {token}, {state}, {next}, {error}, {sent}) AS v(id, token, state, next, error, sent) \
         WHERE t.id = v.id AND t.lease_owner = v.token RETURNING t.id)"
    );
    let logs: Vec<_> = rs
        .iter()
        .filter_map(|r| r.log.as_ref().map(|l| (l, r.id.as_str())))
        .collect();
    let lg = logs_cte(&mut p, &logs, &now_p, "SELECT id FROM upd");
    let recipients: Vec<_> = rs
        .iter()
        .filter_map(|r| r.recipient.as_ref().map(|x| (x, r.id.as_str())))
        .collect();
    let rc = recipients_cte(&mut p, &recipients, &now_p, "SELECT id FROM upd");
    let sql = format!("WITH {upd}, {lg}, {rc} SELECT COUNT(*) FROM upd");
    let (n,): (i64,) = sqlx::query_as_with(&sql, p.args).fetch_one(pool).await?;
    Ok(n as usize)
}

/// An alert event as read: alert id, kind, at, until.
type EventRow = (String, String, i64, Option<i64>);

/// See `Store::alert_contexts`: two statements whatever the number of alerts, run at once.
pub async fn alert_contexts(
    pool: &PgPool,
    ids: &[String],
) -> Result<Vec<(Alert, Vec<AlertEvent>)>> {
    let alerts_sql = format!(
        "SELECT {} FROM alerts a WHERE a.id = ANY($1::text[])",
        crate::sql::ALERT_COLS
    );
    // At once, on two connections.
    let (rows, events): (Vec<crate::sql::AlertRow>, Vec<EventRow>) =
        tokio::try_join!(
            sqlx::query_as(&alerts_sql).bind(ids).fetch_all(pool),
            sqlx::query_as(
                "SELECT alert_id, kind, at, until_at FROM alert_events WHERE alert_id = ANY($1::text[]) ORDER BY seq",
            )
            .bind(ids)
            .fetch_all(pool)
        )?;
    let mut by_alert: HashMap<String, Vec<AlertEvent>> = HashMap::new();
    for (alert_id, kind, at, until) in events {
        if let Some(e) = crate::engine::event_from_row(&kind, at, until) {
            by_alert.entry(alert_id).or_default().push(e);
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let alert = r.into_alert()?;
        let events = by_alert.remove(&alert.id).unwrap_or_default();
        out.push((alert, events));
    }
    Ok(out)
}
