//! The Alertmanager API v2 state: Prometheus alerts by fingerprint, the aggregation groups
//! they form (with the due time of each group's next flush) and silences.
//!
//! An ingest writes alerts, groups and memberships in one transaction. The flush worker claims
//! due groups the way the heartbeat worker claims heartbeats: the claim moves `flush_at` a
//! lease ahead, the finish writes the real next due time (or deletes the group once every
//! member resolved). A process that dies between the two leaves a due row that fires again
//! after the lease.

use crate::query_sql::Dialect;
use crate::{Db, Result, Store, StoreError};
use klaxon_core::alertmanager::{Labels, Matcher, Silence};
use std::collections::BTreeMap;

/// A Prometheus alert as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmAlert {
    pub fingerprint: String,
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub generator_url: String,
    pub updated_at: i64,
}

impl AmAlert {
    pub fn firing(&self, now: i64) -> bool {
        self.ends_at > now
    }
}

/// An aggregation group an ingested alert belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmGroupRef {
    pub group_key: String,
    pub route_id: String,
    pub receiver: String,
    pub group_labels: Labels,
    pub alias: String,
    /// When a group created by this ingest first flushes (now + group_wait).
    pub first_flush_at: i64,
}

/// One `POST /api/v2/alerts`: its valid alerts in the order posted, the group of each alert
/// (one entry per route it matched), and the instant it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmIngest {
    pub alerts: Vec<AmAlert>,
    pub groups: Vec<(AmGroupRef, String)>,
    pub now: i64,
}

/// A group as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmGroup {
    pub group_key: String,
    pub route_id: String,
    pub receiver: String,
    pub group_labels: Labels,
    pub alias: String,
    pub flush_at: i64,
    pub notified: Vec<String>,
    pub suppressed: String,
    pub last_notified_at: Option<i64>,
    pub created_at: i64,
}

/// What a flush decided for a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmFlushResult {
    /// `None`: every member resolved; the group is deleted.
    pub next_flush_at: Option<i64>,
    pub notified: Vec<String>,
    pub suppressed: String,
    pub last_notified_at: Option<i64>,
    /// Resolved members the Klaxon alert has been told about: they leave the group.
    pub remove: Vec<String>,
    /// The instant the flush looked at the members.
    pub flushed_at: i64,
    /// With `next_flush_at` `None`: members may join (or fire again) while the flush runs.
    /// The finish sees them and keeps the group instead of deleting it, due again at this
    /// instant, as a fresh notification (`notified` cleared: its Klaxon alert was closed).
    pub rejoin_flush_at: i64,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| corrupt(what, e))
}

/// How labels are written in the `labels` column: compact JSON of a sorted map, so that an
/// equality matcher can be narrowed down in SQL with a `LIKE` on `"name":"value"`.
pub fn label_pair_pattern(name: &str, value: &str) -> String {
    let pair = format!("{}:{}", to_json(&name), to_json(&value));
    let escaped: String = pair
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

/// Like [`label_pair_pattern`], for a label whose value starts with `prefix`.
pub fn label_prefix_pattern(name: &str, prefix: &str) -> String {
    let pair = label_pair_pattern(name, prefix);
    // `%"name":"prefix"%` without the value's closing quote.
    format!("{}%", &pair[..pair.len() - 2])
}

/// The 16 hex digits of a fingerprint as stored: the u64 offset by 2^63 as a signed integer,
/// so that the database's integer order is the order of the hex strings (migration 0015).
pub fn fingerprint_key(hex: &str) -> Result<i64> {
    if hex.len() != 16
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(StoreError::Invalid(format!(
            "fingerprint {hex:?} is not 16 lowercase hexadecimal digits"
        )));
    }
    let n = u64::from_str_radix(hex, 16).map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok((n ^ (1 << 63)) as i64)
}

/// The inverse of [`fingerprint_key`].
pub fn fingerprint_hex(key: i64) -> String {
    format!("{:016x}", (key as u64) ^ (1 << 63))
}

type AlertRow = (i64, String, String, i64, i64, String, i64);
const ALERT_COLS: &str =
    "a.fingerprint, a.labels, a.annotations, a.starts_at, a.ends_at, a.generator_url, a.updated_at";

fn alert_from_row(r: AlertRow) -> Result<AmAlert> {
    let (fingerprint, labels, annotations, starts_at, ends_at, generator_url, updated_at) = r;
    Ok(AmAlert {
        fingerprint: fingerprint_hex(fingerprint),
        labels: from_json("am_alerts.labels", &labels)?,
        annotations: from_json("am_alerts.annotations", &annotations)?,
        starts_at,
        ends_at,
        generator_url,
        updated_at,
    })
}

type GroupRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    Option<i64>,
    i64,
);
const GROUP_COLS: &str = "g.group_key, g.route_id, g.receiver, g.group_labels, g.alias, g.flush_at, g.notified, g.suppressed, g.last_notified_at, g.created_at";

fn group_from_row(r: GroupRow) -> Result<AmGroup> {
    let (group_key, route_id, receiver, labels, alias, flush_at, notified, suppressed, last, c) = r;
    Ok(AmGroup {
        group_key,
        route_id,
        receiver,
        group_labels: from_json("am_groups.group_labels", &labels)?,
        alias,
        flush_at,
        notified: from_json("am_groups.notified", &notified)?,
        suppressed,
        last_notified_at: last,
        created_at: c,
    })
}

type SilenceRow = (String, String, i64, i64, String, String, i64);

fn silence_from_row(r: SilenceRow) -> Result<(Silence, i64)> {
    let (id, matchers, starts_at, ends_at, created_by, comment, updated_at) = r;
    let matchers: Vec<Matcher> = from_json("am_silences.matchers", &matchers)?;
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt("am_silences time", ms))
    };
    Ok((
        Silence {
            id,
            matchers,
            starts_at: at(starts_at)?,
            ends_at: at(ends_at)?,
            created_by,
            comment,
        },
        updated_at,
    ))
}

/// Rows per multi-row statement (SQLite allows 32766 bound values; PostgreSQL 65535).
const CHUNK: usize = 500;

macro_rules! am_backend {
    ($modname:ident, $db:ty, $dialect:expr) => {
        mod $modname {
            use super::*;

            type DB = $db;
            type Pool = sqlx::Pool<DB>;
            type Tx = sqlx::Transaction<'static, DB>;
            const DIALECT: Dialect = $dialect;

            async fn begin_write(pool: &Pool) -> Result<Tx> {
                Ok(match DIALECT {
                    Dialect::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
                    Dialect::Postgres => pool.begin().await?,
                })
            }

            /// [`ingest`], again after a transient conflict (a PostgreSQL deadlock with a
            /// concurrent batch), up to four times.
            pub async fn ingest_retrying(pool: &Pool, batch: &[AmIngest]) -> Result<()> {
                let mut attempt = 0;
                loop {
                    match ingest(pool, batch).await {
                        Err(e) if attempt < 4 && crate::is_transient(&e) => {
                            attempt += 1;
                            tracing::debug!(error = %e, attempt, "alertmanager ingest: transient conflict, retrying");
                            tokio::time::sleep(std::time::Duration::from_millis(2 << attempt)).await;
                        }
                        other => return other,
                    }
                }
            }

            /// Writes the batch's requests in one transaction, as if one after the other.
            pub async fn ingest(pool: &Pool, batch: &[AmIngest]) -> Result<()> {
                let mut tx = begin_write(pool).await?;
                // Alerts, in rounds: the n-th posting of a fingerprint in the batch goes in
                // round n, so each statement touches a row once (PostgreSQL refuses twice) and
                // the merge below sees the postings of one fingerprint in arrival order.
                let mut rounds: Vec<Vec<(i64, &AmAlert)>> = Vec::new();
                let mut seen: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
                for a in batch.iter().flat_map(|r| &r.alerts) {
                    let key = fingerprint_key(&a.fingerprint)?;
                    let n = seen.entry(key).or_insert(0);
                    if rounds.len() == *n {
                        rounds.push(Vec::new());
                    }
                    rounds[*n].push((key, a));
                    *n += 1;
                }
                for mut round in rounds {
                    // One order for every writer, so concurrent PostgreSQL batches lock rows
                    // in the same order.
                    round.sort_unstable_by_key(|(key, _)| *key);
                    for chunk in round.chunks(CHUNK) {
                        let mut qb = sqlx::QueryBuilder::<DB>::new("INSERT INTO am_alerts (fingerprint, labels, annotations, starts_at, ends_at, generator_url, updated_at) ");
                        qb.push_values(chunk, |mut b, (key, a)| {
                            b.push_bind(*key).push_bind(to_json(&a.labels)).push_bind(to_json(&a.annotations))
                                .push_bind(a.starts_at).push_bind(a.ends_at).push_bind(&a.generator_url).push_bind(a.updated_at);
                        });
                        // Alertmanager's merge: an update of a still-firing alert keeps the
                        // earlier start; a new occurrence after it resolved starts afresh.
                        qb.push(" ON CONFLICT (fingerprint) DO UPDATE SET labels = excluded.labels, annotations = excluded.annotations, \
                            starts_at = CASE WHEN am_alerts.ends_at >= excluded.starts_at AND am_alerts.starts_at < excluded.starts_at THEN am_alerts.starts_at ELSE excluded.starts_at END, \
                            ends_at = excluded.ends_at, generator_url = excluded.generator_url, updated_at = excluded.updated_at");
                        qb.build().execute(&mut *tx).await?;
                    }
                }
                // Groups: the first request that names a group creates it (its group_wait, its
                // instant); later ones find it.
                let mut seen = std::collections::HashSet::new();
                let mut new_groups: Vec<(&AmGroupRef, i64)> = batch.iter()
                    .flat_map(|r| r.groups.iter().map(move |(g, _)| (g, r.now)))
                    .filter(|(g, _)| seen.insert(g.group_key.as_str()))
                    .collect();
                new_groups.sort_unstable_by(|a, b| a.0.group_key.cmp(&b.0.group_key));
                insert_groups(&mut tx, &new_groups).await?;
                // The groups' ids, for the memberships. PostgreSQL: hold the groups (KEY
                // SHARE, which flushes updating them do not wait for) until the memberships
                // commit, so that a flush finishing with the group's deletion sees them. A
                // group such a finish deleted between the insert above and the lock is
                // inserted again. (SQLite: BEGIN IMMEDIATE already serializes every writer.)
                let lock = match DIALECT { Dialect::Postgres => " FOR KEY SHARE", Dialect::Sqlite => "" };
                let mut ids: std::collections::HashMap<String, i64> = std::collections::HashMap::with_capacity(new_groups.len());
                let mut missing = new_groups;
                for attempt in 0.. {
                    for chunk in missing.chunks(CHUNK) {
                        let mut qb = sqlx::QueryBuilder::<DB>::new("SELECT group_key, id FROM am_groups WHERE group_key IN (");
                        let mut list = qb.separated(", ");
                        for (g, _) in chunk {
                            list.push_bind(&g.group_key);
                        }
                        qb.push(") ORDER BY group_key").push(lock);
                        let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(&mut *tx).await?;
                        ids.extend(rows);
                    }
                    missing.retain(|(g, _)| !ids.contains_key(&g.group_key));
                    if missing.is_empty() {
                        break;
                    }
                    if attempt == 5 {
                        return Err(StoreError::Invalid("alertmanager groups kept disappearing under the ingest; try again".into()));
                    }
                    insert_groups(&mut tx, &missing).await?;
                }
                let mut members: Vec<(i64, i64)> = Vec::new();
                for (g, fp) in batch.iter().flat_map(|r| &r.groups) {
                    members.push((ids[&g.group_key], fingerprint_key(fp)?));
                }
                members.sort_unstable();
                members.dedup();
                for chunk in members.chunks(CHUNK) {
                    let mut qb = sqlx::QueryBuilder::<DB>::new("INSERT INTO am_group_alerts (group_id, fingerprint) ");
                    qb.push_values(chunk, |mut b, (g, fp)| {
                        b.push_bind(*g).push_bind(*fp);
                    });
                    qb.push(" ON CONFLICT (group_id, fingerprint) DO NOTHING");
                    qb.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            /// Creates the groups that do not exist yet, each with its request's instant.
            async fn insert_groups(tx: &mut Tx, groups: &[(&AmGroupRef, i64)]) -> Result<()> {
                for chunk in groups.chunks(CHUNK) {
                    let mut qb = sqlx::QueryBuilder::<DB>::new("INSERT INTO am_groups (group_key, route_id, receiver, group_labels, alias, flush_at, created_at) ");
                    qb.push_values(chunk, |mut b, (g, now)| {
                        b.push_bind(&g.group_key).push_bind(&g.route_id).push_bind(&g.receiver).push_bind(to_json(&g.group_labels))
                            .push_bind(&g.alias).push_bind(g.first_flush_at).push_bind(*now);
                    });
                    qb.push(" ON CONFLICT (group_key) DO NOTHING");
                    qb.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            pub async fn alerts(pool: &Pool, firing_at: Option<i64>, equal: &[(String, String)], prefixes: &[(String, String)]) -> Result<Vec<AmAlert>> {
                let mut qb = sqlx::QueryBuilder::<DB>::new(format!("SELECT {ALERT_COLS} FROM am_alerts a WHERE 1 = 1"));
                if let Some(now) = firing_at {
                    qb.push(" AND a.ends_at > ").push_bind(now);
                }
                for (name, value) in equal {
                    qb.push(" AND a.labels LIKE ").push_bind(label_pair_pattern(name, value)).push(" ESCAPE '\\'");
                }
                for (name, prefix) in prefixes {
                    qb.push(" AND a.labels LIKE ").push_bind(label_prefix_pattern(name, prefix)).push(" ESCAPE '\\'");
                }
                qb.push(" ORDER BY a.fingerprint");
                let rows: Vec<AlertRow> = qb.build_query_as().fetch_all(pool).await?;
                rows.into_iter().map(alert_from_row).collect()
            }

            pub async fn groups(pool: &Pool) -> Result<Vec<(AmGroup, Vec<String>)>> {
                let rows: Vec<GroupRow> = sqlx::query_as(&format!("SELECT {GROUP_COLS} FROM am_groups g ORDER BY g.group_key")).fetch_all(pool).await?;
                let members: Vec<(String, i64)> = sqlx::query_as("SELECT g.group_key, m.fingerprint FROM am_group_alerts m JOIN am_groups g ON g.id = m.group_id ORDER BY m.group_id, m.fingerprint").fetch_all(pool).await?;
                let mut by_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for (g, fp) in members {
                    by_group.entry(g).or_default().push(fingerprint_hex(fp));
                }
                rows.into_iter().map(|r| {
                    let g = group_from_row(r)?;
                    let m = by_group.remove(&g.group_key).unwrap_or_default();
                    Ok((g, m))
                }).collect()
            }

            pub async fn members(pool: &Pool, group_key: &str) -> Result<Vec<AmAlert>> {
                let rows: Vec<AlertRow> = sqlx::query_as(&format!("SELECT {ALERT_COLS} FROM am_groups g JOIN am_group_alerts m ON m.group_id = g.id JOIN am_alerts a ON a.fingerprint = m.fingerprint WHERE g.group_key = $1 ORDER BY a.fingerprint"))
                    .bind(group_key).fetch_all(pool).await?;
                rows.into_iter().map(alert_from_row).collect()
            }

            pub async fn next_flush(pool: &Pool) -> Result<Option<i64>> {
                let row: (Option<i64>,) = sqlx::query_as("SELECT MIN(flush_at) FROM am_groups").fetch_one(pool).await?;
                Ok(row.0)
            }

            pub async fn claim(pool: &Pool, now: i64, lease_until: i64, limit: i64) -> Result<Vec<AmGroup>> {
                let skip = match DIALECT { Dialect::Postgres => " FOR UPDATE SKIP LOCKED", Dialect::Sqlite => "" };
                let sql = format!(
                    "UPDATE am_groups SET flush_at = $2 WHERE flush_at <= $1 AND group_key IN \
                     (SELECT group_key FROM am_groups WHERE flush_at <= $1 ORDER BY flush_at LIMIT $3{skip}) \
                     RETURNING group_key, route_id, receiver, group_labels, alias, flush_at, notified, suppressed, last_notified_at, created_at");
                let mut tx = begin_write(pool).await?;
                let rows: Vec<GroupRow> = sqlx::query_as(&sql).bind(now).bind(lease_until).bind(limit).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                rows.into_iter().map(group_from_row).collect()
            }

            /// Writes a flush's result unless the claim was lost (the lease ran out and another
            /// process claimed the group); `false` then.
            pub async fn finish(pool: &Pool, group_key: &str, lease_until: i64, r: &AmFlushResult) -> Result<bool> {
                let remove = r.remove.iter().map(|fp| fingerprint_key(fp)).collect::<Result<Vec<i64>>>()?;
                let mut tx = begin_write(pool).await?;
                let done = match r.next_flush_at {
                    Some(next) => sqlx::query("UPDATE am_groups SET flush_at = $3, notified = $4, suppressed = $5, last_notified_at = $6 WHERE group_key = $1 AND flush_at = $2")
                        .bind(group_key).bind(lease_until).bind(next).bind(to_json(&r.notified)).bind(&r.suppressed).bind(r.last_notified_at)
                        .execute(&mut *tx).await?,
                    None => {
                        // Every member the flush saw had resolved. Members that joined since
                        // (or fired again) are read under the group's lock, which an ingest
                        // holds (KEY SHARE) until it commits its memberships: deleting the
                        // group would drop them with it (the membership cascade).
                        let lock = match DIALECT { Dialect::Postgres => " FOR UPDATE", Dialect::Sqlite => "" };
                        let held: Option<(i64,)> = sqlx::query_as(&format!("SELECT id FROM am_groups WHERE group_key = $1 AND flush_at = $2{lock}"))
                            .bind(group_key).bind(lease_until).fetch_optional(&mut *tx).await?;
                        let Some((id,)) = held else {
                            return Ok(false);
                        };
                        let rows: Vec<(i64, Option<i64>)> = sqlx::query_as("SELECT m.fingerprint, a.ends_at FROM am_group_alerts m LEFT JOIN am_alerts a ON a.fingerprint = m.fingerprint WHERE m.group_id = $1")
                            .bind(id).fetch_all(&mut *tx).await?;
                        let seen = remove.iter().copied().collect::<std::collections::BTreeSet<i64>>();
                        let joined = rows.iter().any(|(fp, ends_at)| !seen.contains(fp) || ends_at.is_some_and(|e| e > r.flushed_at));
                        if joined {
                            sqlx::query("UPDATE am_groups SET flush_at = $2, notified = '[]', suppressed = '', last_notified_at = NULL WHERE group_key = $1")
                                .bind(group_key).bind(r.rejoin_flush_at).execute(&mut *tx).await?
                        } else {
                            sqlx::query("DELETE FROM am_groups WHERE group_key = $1")
                                .bind(group_key).execute(&mut *tx).await?
                        }
                    }
                };
                let ok = done.rows_affected() > 0;
                if !ok {
                    return Ok(false);
                }
                for fp in remove {
                    // Only if it is still resolved: a new occurrence may have come in since.
                    // (After a DELETE of the group, its memberships are gone already.)
                    sqlx::query("DELETE FROM am_group_alerts WHERE group_id = (SELECT id FROM am_groups WHERE group_key = $1) AND fingerprint = $2 AND NOT EXISTS (SELECT 1 FROM am_alerts a WHERE a.fingerprint = $2 AND a.ends_at > $3)")
                        .bind(group_key).bind(fp).bind(r.flushed_at).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            /// Forgets resolved alerts that ended before `before` and belong to no group.
            pub async fn gc(pool: &Pool, before: i64) -> Result<u64> {
                // No index on the members' fingerprints (it slowed every ingest): SQLite builds
                // the member set once per statement for NOT IN (only when some alert is due);
                // PostgreSQL plans NOT EXISTS as a hash anti-join.
                let sql = match DIALECT {
                    Dialect::Sqlite => "DELETE FROM am_alerts WHERE ends_at < $1 AND fingerprint NOT IN (SELECT fingerprint FROM am_group_alerts)",
                    Dialect::Postgres => "DELETE FROM am_alerts WHERE ends_at < $1 AND NOT EXISTS (SELECT 1 FROM am_group_alerts m WHERE m.fingerprint = am_alerts.fingerprint)",
                };
                let done = sqlx::query(sql)
                    .bind(before).execute(pool).await?;
                Ok(done.rows_affected())
            }

            pub async fn silences(pool: &Pool) -> Result<Vec<(Silence, i64)>> {
                let rows: Vec<SilenceRow> = sqlx::query_as("SELECT id, matchers, starts_at, ends_at, created_by, comment, updated_at FROM am_silences ORDER BY id")
                    .fetch_all(pool).await?;
                rows.into_iter().map(silence_from_row).collect()
            }

            pub async fn silence(pool: &Pool, id: &str) -> Result<Option<(Silence, i64)>> {
                let row: Option<SilenceRow> = sqlx::query_as("SELECT id, matchers, starts_at, ends_at, created_by, comment, updated_at FROM am_silences WHERE id = $1")
                    .bind(id).fetch_optional(pool).await?;
                row.map(silence_from_row).transpose()
            }

            pub async fn put_silence(pool: &Pool, s: &Silence, now: i64) -> Result<()> {
                sqlx::query("INSERT INTO am_silences (id, matchers, starts_at, ends_at, created_by, comment, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                    ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, starts_at = excluded.starts_at, ends_at = excluded.ends_at, \
                    created_by = excluded.created_by, comment = excluded.comment, updated_at = excluded.updated_at")
                    .bind(&s.id).bind(to_json(&s.matchers)).bind(s.starts_at.timestamp_millis()).bind(s.ends_at.timestamp_millis())
                    .bind(&s.created_by).bind(&s.comment).bind(now)
                    .execute(pool).await?;
                Ok(())
            }

            /// Ends a silence at `now` (a pending one never starts). `None` when there is no
            /// such silence, `Some(false)` when it had already expired.
            pub async fn expire_silence(pool: &Pool, id: &str, now: i64) -> Result<Option<bool>> {
                let mut tx = begin_write(pool).await?;
                let row: Option<(i64, i64)> = sqlx::query_as("SELECT starts_at, ends_at FROM am_silences WHERE id = $1")
                    .bind(id).fetch_optional(&mut *tx).await?;
                let Some((starts_at, ends_at)) = row else { return Ok(None) };
                if ends_at <= now {
                    return Ok(Some(false));
                }
                sqlx::query("UPDATE am_silences SET starts_at = $2, ends_at = $3, updated_at = $3 WHERE id = $1")
                    .bind(id).bind(starts_at.min(now)).bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(Some(true))
            }
        }
    };
}

am_backend!(sqlite, sqlx::Sqlite, Dialect::Sqlite);
am_backend!(postgres, sqlx::Postgres, Dialect::Postgres);

impl Store {
    /// Stores posted alerts (merged by fingerprint), creates the groups they open (due at
    /// their first flush) and their memberships, in one transaction.
    pub async fn am_ingest(
        &self,
        alerts: &[AmAlert],
        groups: &[(AmGroupRef, String)],
        now: i64,
    ) -> Result<()> {
        let one = AmIngest {
            alerts: alerts.to_vec(),
            groups: groups.to_vec(),
            now,
        };
        self.am_ingest_batch(std::slice::from_ref(&one))
            .await
            .remove(0)
    }

    /// Stores several ingests in one transaction (group commit), with the result each would
    /// have had alone: as if applied one after the other in the order given, so the postings
    /// of one fingerprint merge in arrival order and a group is created by the first ingest
    /// that names it. Transient conflicts are retried; if the batch still fails, each ingest
    /// is tried alone so that one bad request cannot sink the others.
    #[tracing::instrument(level = "debug", skip_all, fields(ingests = batch.len()))]
    pub async fn am_ingest_batch(&self, batch: &[AmIngest]) -> Vec<Result<()>> {
        on_writer!(self, m, pool => match m::ingest_retrying(pool, batch).await {
            Ok(()) => batch.iter().map(|_| Ok(())).collect(),
            Err(e) if batch.len() == 1 => vec![Err(e)],
            Err(_) => {
                let mut out = Vec::with_capacity(batch.len());
                for one in batch {
                    out.push(m::ingest_retrying(pool, std::slice::from_ref(one)).await);
                }
                out
            }
        })
    }

    /// Alerts firing at `firing_at` (all stored ones with `None`), narrowed to those whose
    /// labels contain each `(name, value)` pair; the caller applies the exact matchers.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn am_alerts(
        &self,
        firing_at: Option<i64>,
        equal: &[(String, String)],
    ) -> Result<Vec<AmAlert>> {
        on_backend!(self, m, pool => m::alerts(pool, firing_at, equal, &[]).await)
    }

    /// Like [`Store::am_alerts`], also narrowed to alerts whose label `name` starts with
    /// `prefix`, for each `(name, prefix)`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn am_alerts_narrowed(
        &self,
        firing_at: Option<i64>,
        equal: &[(String, String)],
        prefixes: &[(String, String)],
    ) -> Result<Vec<AmAlert>> {
        on_backend!(self, m, pool => m::alerts(pool, firing_at, equal, prefixes).await)
    }

    /// Every aggregation group with the fingerprints of its members.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn am_groups(&self) -> Result<Vec<(AmGroup, Vec<String>)>> {
        on_backend!(self, m, pool => m::groups(pool).await)
    }

    pub async fn am_group_members(&self, group_key: &str) -> Result<Vec<AmAlert>> {
        on_backend!(self, m, pool => m::members(pool, group_key).await)
    }

    /// The earliest group flush due, if any.
    pub async fn am_next_flush(&self) -> Result<Option<i64>> {
        on_backend!(self, m, pool => m::next_flush(pool).await)
    }

    /// Claims (at most `limit`) groups due at `now`, leasing them until `lease_until`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn am_claim_groups(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<AmGroup>> {
        on_writer!(self, m, pool => m::claim(pool, now, lease_until, limit).await)
    }

    /// Ends a claim with the flush's result; `false` when the claim was lost.
    pub async fn am_finish_group(
        &self,
        group_key: &str,
        lease_until: i64,
        result: &AmFlushResult,
    ) -> Result<bool> {
        on_writer!(self, m, pool => m::finish(pool, group_key, lease_until, result).await)
    }

    /// Deletes resolved alerts that ended before `before` and are in no group.
    pub async fn am_gc(&self, before: i64) -> Result<u64> {
        on_writer!(self, m, pool => m::gc(pool, before).await)
    }

    /// Every silence with its last update time.
    pub async fn am_silences(&self) -> Result<Vec<(Silence, i64)>> {
        on_backend!(self, m, pool => m::silences(pool).await)
    }

    pub async fn am_silence(&self, id: &str) -> Result<Option<(Silence, i64)>> {
        on_backend!(self, m, pool => m::silence(pool, id).await)
    }

    /// Creates or replaces the silence with `s.id`.
    pub async fn am_put_silence(&self, s: &Silence, now: i64) -> Result<()> {
        on_writer!(self, m, pool => m::put_silence(pool, s, now).await)
    }

    /// See the backend's `expire_silence`.
    pub async fn am_expire_silence(&self, id: &str, now: i64) -> Result<Option<bool>> {
        on_writer!(self, m, pool => m::expire_silence(pool, id, now).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(label_pair_pattern("job", "a_b%"), r#"%"job":"a\_b\%"%"#);
        assert_eq!(label_pair_pattern("x", "q\""), r#"%"x":"q\\""%"#);
        assert_eq!(
            label_prefix_pattern("instance", "host-1_"),
            r#"%"instance":"host-1\_%"#
        );
    }
}
