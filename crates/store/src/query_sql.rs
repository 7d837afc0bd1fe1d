//! Translates a parsed alert search into a SQL boolean expression over `alerts AS a`.
//!
//! User text never reaches the SQL string: every value, detail key and LIKE pattern is a bind
//! parameter, so the generated text depends only on the shape of the query.
//!
//! Text matches are case-insensitive on both sides (`lower(col) = lower($n)`), so SQLite and
//! PostgreSQL agree with each other even where their `lower()` differ. A `*` in a value makes a
//! `LIKE` pattern; `message` and `description` match when they *contain* the value, as in
//! OpsGenie. A column that is NULL never matches, and `!=` / `NOT` then do match: negations are
//! written `NOT COALESCE(…, FALSE)` so SQL's unknown does not leak into the result.

use klaxon_core::query::{normalize_time, Field, Op, Query, Term};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A value to bind, in placeholder order.
#[derive(Clone, Debug, PartialEq)]
pub enum Bind {
    Text(String),
    Int(i64),
    Bool(bool),
}

const TRUE: &str = "1=1";
const FALSE: &str = "1=0";

/// Returns a SQL boolean expression over table alias `a` using placeholders `$N` starting at
/// `first_placeholder`, and the values to bind in order: `binds[i]` is `$(first_placeholder + i)`.
/// A placeholder may appear more than once in the expression.
pub fn where_clause(q: &Query, dialect: Dialect, first_placeholder: usize) -> (String, Vec<Bind>) {
    let mut w = Writer {
        dialect,
        first: first_placeholder,
        binds: Vec::new(),
    };
    let sql = w.query(q);
    (sql, w.binds)
}

struct Writer {
    dialect: Dialect,
    first: usize,
    binds: Vec<Bind>,
}

/// How a text value is compared.
#[derive(Clone, Copy, PartialEq)]
enum Match {
    /// Whole value (a `*` makes it a pattern).
    Exact,
    /// Anywhere in the column.
    Contains,
}

/// A comparison whose value is already bound, ready to apply to a column expression.
enum Cond {
    Equal(String),
    Like(String),
    Order(&'static str, String),
}

impl Cond {
    fn on(&self, expr: &str) -> String {
        match self {
            Cond::Equal(p) => format!("lower({expr}) = lower({p})"),
            Cond::Like(p) => format!("lower({expr}) LIKE lower({p}) ESCAPE '\\'"),
            Cond::Order(op, p) => format!("lower({expr}) {op} lower({p})"),
        }
    }
}

impl Writer {
    fn bind(&mut self, value: Bind) -> String {
        let n = self.first + self.binds.len();
        self.binds.push(value);
        format!("${n}")
    }

    fn query(&mut self, q: &Query) -> String {
        match q {
            Query::All => TRUE.to_string(),
            Query::And(items) => self.join(items, " AND ", TRUE),
            Query::Or(items) => self.join(items, " OR ", FALSE),
            Query::Not(inner) => {
                let inner = self.query(inner);
                negate(&inner)
            }
            Query::Term(term) => self.term(term),
        }
    }

    fn join(&mut self, items: &[Query], sep: &str, empty: &str) -> String {
        match items {
            [] => empty.to_string(),
            [one] => self.query(one),
            _ => {
                let parts: Vec<String> = items.iter().map(|q| self.query(q)).collect();
                format!("({})", parts.join(sep))
            }
        }
    }

    fn term(&mut self, t: &Term) -> String {
        let (op, v) = (t.op, t.value.as_str());
        match &t.field {
            // Stored canonical, so compared directly (and an index on them stays usable).
            Field::Status => self.scalar("a.status", op, Bind::Text(v.to_ascii_lowercase())),
            // 'P1' < 'P2' as text: "priority<P3" means P1 or P2.
            Field::Priority => self.scalar("a.priority", op, Bind::Text(v.to_ascii_uppercase())),
            Field::Acknowledged => self.boolean("a.acknowledged", op, v),
            Field::Snoozed => self.boolean("a.snoozed", op, v),
            Field::IsSeen => self.boolean("a.is_seen", op, v),
            Field::Count => self.integer("a.count", op, v.parse().ok()),
            Field::TinyId => self.integer("a.tiny_id", op, v.parse().ok()),
            Field::CreatedAt => self.integer("a.created_at", op, time_ms(v)),
            Field::UpdatedAt => self.integer("a.updated_at", op, time_ms(v)),
            Field::LastOccurredAt => self.integer("a.last_occurred_at", op, time_ms(v)),
            Field::Alias => self.text("a.alias", op, v, Match::Exact),
            Field::Message => self.text("a.message", op, v, Match::Contains),
            Field::Description => self.text("a.description", op, v, Match::Contains),
            Field::Owner => self.text("a.owner", op, v, Match::Exact),
            Field::Source => self.text("a.source", op, v, Match::Exact),
            Field::Entity => self.text("a.entity", op, v, Match::Exact),
            Field::Id => self.text("a.id", op, v, Match::Exact),
            Field::Integration => self.text("a.integration_name", op, v, Match::Exact),
            Field::Tag => self.tag(op, v),
            Field::Team => self.team(op, v),
            Field::Detail(key) => self.detail(key, op, v),
            Field::Text => self.free_text(op, v),
        }
    }

    fn scalar(&mut self, col: &str, op: Op, value: Bind) -> String {
        let p = self.bind(value);
        format!("{col} {} {p}", sql_op(op))
    }

    fn boolean(&mut self, col: &str, op: Op, v: &str) -> String {
        match v.to_ascii_lowercase().as_str() {
            "true" => self.scalar(col, op, Bind::Bool(true)),
            "false" => self.scalar(col, op, Bind::Bool(false)),
            _ => impossible(op),
        }
    }

    fn integer(&mut self, col: &str, op: Op, n: Option<i64>) -> String {
        match n {
            Some(n) => self.scalar(col, op, Bind::Int(n)),
            None => impossible(op),
        }
    }

    /// Binds the value for a text comparison. `!=` binds like `=`; the caller negates.
    fn cond(&mut self, op: Op, v: &str, how: Match) -> Cond {
        match op {
            Op::Eq | Op::Ne if how == Match::Contains || v.contains('*') => {
                Cond::Like(self.bind(Bind::Text(like_pattern(v, how == Match::Contains))))
            }
            Op::Eq | Op::Ne => Cond::Equal(self.bind(Bind::Text(v.to_string()))),
            _ => Cond::Order(sql_op(op), self.bind(Bind::Text(v.to_string()))),
        }
    }

    fn text(&mut self, col: &str, op: Op, v: &str, how: Match) -> String {
        let matched = self.cond(op, v, how).on(col);
        negate_if_ne(op, matched)
    }

    /// Some element of the `tags` JSON array matches.
    fn tag(&mut self, op: Op, v: &str) -> String {
        let c = self.cond(op, v, Match::Exact);
        let exists = match self.dialect {
            Dialect::Sqlite => format!(
                "EXISTS (SELECT 1 FROM json_each(a.tags) AS t WHERE {})",
                c.on("t.value")
            ),
            Dialect::Postgres => format!(
                "EXISTS (SELECT 1 FROM jsonb_array_elements_text(a.tags::jsonb) AS t(v) WHERE {})",
                c.on("t.v")
            ),
        };
        not_exists_if_ne(op, exists)
    }

    /// One of the alert's teams matches by name, or by id.
    fn team(&mut self, op: Op, v: &str) -> String {
        let c = self.cond(op, v, Match::Exact);
        let exists = match self.dialect {
            Dialect::Sqlite => format!(
                "EXISTS (SELECT 1 FROM json_each(a.team_ids) AS ti \
                 LEFT JOIN teams AS tm ON tm.id = ti.value WHERE {} OR {})",
                c.on("ti.value"),
                c.on("tm.name")
            ),
            Dialect::Postgres => format!(
                "EXISTS (SELECT 1 FROM jsonb_array_elements_text(a.team_ids::jsonb) AS ti(v) \
                 LEFT JOIN teams AS tm ON tm.id = ti.v WHERE {} OR {})",
                c.on("ti.v"),
                c.on("tm.name")
            ),
        };
        not_exists_if_ne(op, exists)
    }

    /// `details.<key>`: the key is bound (exact, case-sensitive), never written into the SQL.
    fn detail(&mut self, key: &str, op: Op, v: &str) -> String {
        let k = self.bind(Bind::Text(key.to_string()));
        let c = self.cond(op, v, Match::Exact);
        match self.dialect {
            // json_each rather than json_extract: a path would need the key quoted inside it.
            Dialect::Sqlite => not_exists_if_ne(
                op,
                format!(
                    "EXISTS (SELECT 1 FROM json_each(a.details) AS d WHERE d.key = {k} AND {})",
                    c.on("d.value")
                ),
            ),
            Dialect::Postgres => negate_if_ne(op, c.on(&format!("a.details::jsonb ->> {k}"))),
        }
    }

    /// A bare word: message, description or alias contains it, or a tag equals it.
    fn free_text(&mut self, op: Op, v: &str) -> String {
        let c = self.cond(Op::Eq, v, Match::Contains);
        let tag = self.tag(Op::Eq, v);
        let any = format!(
            "({} OR {} OR {} OR {tag})",
            c.on("a.message"),
            c.on("a.description"),
            c.on("a.alias")
        );
        negate_if_ne(op, any)
    }
}

fn sql_op(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "<>",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
    }
}

/// NOT that treats NULL ("unknown") as no match, so the negation matches.
fn negate(expr: &str) -> String {
    format!("NOT COALESCE({expr}, FALSE)")
}

fn negate_if_ne(op: Op, expr: String) -> String {
    if op == Op::Ne {
        negate(&expr)
    } else {
        expr
    }
}

/// EXISTS is never NULL, so a plain NOT is enough.
fn not_exists_if_ne(op: Op, exists: String) -> String {
    if op == Op::Ne {
        format!("NOT {exists}")
    } else {
        exists
    }
}

/// A term whose value cannot match (only reachable with a hand-built, unparsed [`Query`]).
fn impossible(op: Op) -> String {
    if op == Op::Ne { TRUE } else { FALSE }.to_string()
}

/// Time values are epoch milliseconds after parsing; anything else gets one more chance.
fn time_ms(v: &str) -> Option<i64> {
    v.parse().ok().or_else(|| normalize_time(v).ok())
}

/// `*` becomes `%`; `%`, `_` and `\` are escaped for `ESCAPE '\'`.
fn like_pattern(v: &str, contains: bool) -> String {
    // One `%` stands for any run of `*`; an escaped `\%` is a literal and does not count.
    fn push_wild(out: &mut String) {
        if !out.ends_with('%') || out.ends_with("\\%") {
            out.push('%');
        }
    }
    let mut out = String::with_capacity(v.len() + 2);
    if contains {
        push_wild(&mut out);
    }
    for c in v.chars() {
        match c {
            '*' => push_wild(&mut out),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    if contains {
        push_wild(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use klaxon_core::query::parse;

    fn sql(dialect: Dialect, input: &str) -> (String, Vec<Bind>) {
        match parse(input) {
            Ok(q) => where_clause(&q, dialect, 1),
            Err(e) => panic!("{input:?} should parse: {e}"),
        }
    }

    fn text(v: &str) -> Bind {
        Bind::Text(v.to_string())
    }

    #[test]
    fn empty_query_is_true() {
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            assert_eq!(sql(d, ""), ("1=1".to_string(), vec![]));
        }
        assert_eq!(
            where_clause(&Query::Or(vec![]), Dialect::Sqlite, 1),
            ("1=0".to_string(), vec![])
        );
    }

    #[test]
    fn the_docs_example_in_both_dialects() {
        let expected = (
            "(a.status = $1 AND a.priority = $2 AND \
             EXISTS (SELECT 1 FROM json_each(a.tags) AS t WHERE lower(t.value) = lower($3)))"
                .to_string(),
            vec![text("open"), text("P1"), text("db")],
        );
        assert_eq!(
            sql(Dialect::Sqlite, "status:open AND priority:p1 AND tag:db"),
            expected
        );
        assert_eq!(
            sql(Dialect::Postgres, "status:open AND priority:P1 AND tag:db"),
            (
                "(a.status = $1 AND a.priority = $2 AND \
                 EXISTS (SELECT 1 FROM jsonb_array_elements_text(a.tags::jsonb) AS t(v) \
                 WHERE lower(t.v) = lower($3)))"
                    .to_string(),
                vec![text("open"), text("P1"), text("db")],
            )
        );
    }

    #[test]
    fn placeholders_start_where_asked() {
        let q = parse("count>2 OR NOT acknowledged:true").unwrap();
        assert_eq!(
            where_clause(&q, Dialect::Postgres, 4),
            (
                "(a.count > $4 OR NOT COALESCE(a.acknowledged = $5, FALSE))".to_string(),
                vec![Bind::Int(2), Bind::Bool(true)]
            )
        );
    }

    #[test]
    fn text_fields_wildcards_and_contains() {
        assert_eq!(
            sql(Dialect::Sqlite, "alias:Db-1"),
            ("lower(a.alias) = lower($1)".to_string(), vec![text("Db-1")])
        );
        assert_eq!(
            sql(Dialect::Postgres, r"alias:db_*%\x"),
            (
                r"lower(a.alias) LIKE lower($1) ESCAPE '\'".to_string(),
                vec![text(r"db\_%\%\\x")]
            )
        );
        assert_eq!(
            sql(Dialect::Sqlite, r#"message:"disk full""#),
            (
                r"lower(a.message) LIKE lower($1) ESCAPE '\'".to_string(),
                vec![text("%disk full%")]
            )
        );
        assert_eq!(
            sql(Dialect::Postgres, "description!=*oom*"),
            (
                r"NOT COALESCE(lower(a.description) LIKE lower($1) ESCAPE '\', FALSE)".to_string(),
                vec![text("%oom%")]
            )
        );
        assert_eq!(
            sql(Dialect::Sqlite, "owner!=alice integration.name:prometheus"),
            (
                "(NOT COALESCE(lower(a.owner) = lower($1), FALSE) AND \
                 lower(a.integration_name) = lower($2))"
                    .to_string(),
                vec![text("alice"), text("prometheus")]
            )
        );
    }

    #[test]
    fn numbers_booleans_and_times() {
        assert_eq!(
            sql(
                Dialect::Postgres,
                "tinyId:42 isSeen:false snoozed!=true createdAt>=2026-01-02 updatedAt<1767323045 lastOccurredAt<=0"
            ),
            (
                "(a.tiny_id = $1 AND a.is_seen = $2 AND a.snoozed <> $3 AND a.created_at >= $4 \
                 AND a.updated_at < $5 AND a.last_occurred_at <= $6)"
                    .to_string(),
                vec![
                    Bind::Int(42),
                    Bind::Bool(false),
                    Bind::Bool(true),
                    Bind::Int(1_767_312_000_000),
                    Bind::Int(1_767_323_045_000),
                    Bind::Int(0),
                ]
            )
        );
        assert_eq!(
            sql(Dialect::Sqlite, "priority<P3 status!=closed"),
            (
                "(a.priority < $1 AND a.status <> $2)".to_string(),
                vec![text("P3"), text("closed")]
            )
        );
    }

    #[test]
    fn teams_match_by_name_or_id() {
        assert_eq!(
            sql(Dialect::Sqlite, "team:SRE"),
            (
                "EXISTS (SELECT 1 FROM json_each(a.team_ids) AS ti LEFT JOIN teams AS tm \
                 ON tm.id = ti.value WHERE lower(ti.value) = lower($1) OR lower(tm.name) = lower($1))"
                    .to_string(),
                vec![text("SRE")]
            )
        );
        assert_eq!(
            sql(Dialect::Postgres, "teams!=sre*"),
            (
                "NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(a.team_ids::jsonb) AS ti(v) \
                 LEFT JOIN teams AS tm ON tm.id = ti.v WHERE lower(ti.v) LIKE lower($1) ESCAPE '\\' \
                 OR lower(tm.name) LIKE lower($1) ESCAPE '\\')"
                    .to_string(),
                vec![text("sre%")]
            )
        );
    }

    #[test]
    fn detail_keys_are_bound_not_written() {
        let (clause, binds) = sql(Dialect::Sqlite, "details.x';DROP--:v");
        assert!(!clause.contains("DROP"), "{clause}");
        assert_eq!(binds, vec![text("x';DROP--"), text("v")]);
        assert_eq!(
            sql(Dialect::Sqlite, r#"details.env:"prod db""#),
            (
                "EXISTS (SELECT 1 FROM json_each(a.details) AS d WHERE d.key = $1 \
                 AND lower(d.value) = lower($2))"
                    .to_string(),
                vec![text("env"), text("prod db")]
            )
        );
        assert_eq!(
            sql(Dialect::Postgres, "details.Env!=prod*"),
            (
                r"NOT COALESCE(lower(a.details::jsonb ->> $1) LIKE lower($2) ESCAPE '\', FALSE)"
                    .to_string(),
                vec![text("Env"), text("prod%")]
            )
        );
    }

    #[test]
    fn free_text_searches_message_description_alias_and_tags() {
        assert_eq!(
            sql(Dialect::Sqlite, "NOT disk"),
            (
                "NOT COALESCE((lower(a.message) LIKE lower($1) ESCAPE '\\' \
                 OR lower(a.description) LIKE lower($1) ESCAPE '\\' \
                 OR lower(a.alias) LIKE lower($1) ESCAPE '\\' \
                 OR EXISTS (SELECT 1 FROM json_each(a.tags) AS t WHERE lower(t.value) = lower($2))), FALSE)"
                    .to_string(),
                vec![text("%disk%"), text("disk")]
            )
        );
    }

    #[test]
    fn nesting_keeps_its_parentheses() {
        assert_eq!(
            sql(
                Dialect::Postgres,
                "(status:open OR acknowledged:true) AND NOT (count>1 AND count<5)"
            ),
            (
                "((a.status = $1 OR a.acknowledged = $2) AND \
                 NOT COALESCE((a.count > $3 AND a.count < $4), FALSE))"
                    .to_string(),
                vec![text("open"), Bind::Bool(true), Bind::Int(1), Bind::Int(5)]
            )
        );
    }

    #[test]
    fn like_patterns() {
        assert_eq!(like_pattern("a*b", false), "a%b");
        assert_eq!(like_pattern("**a**", false), "%a%");
        assert_eq!(like_pattern("", true), "%");
        assert_eq!(like_pattern("*x*", true), "%x%");
        assert_eq!(like_pattern("50%", true), r"%50\%%");
        assert_eq!(like_pattern(r"a_b\", false), r"a\_b\\");
    }

    #[test]
    fn hand_built_values_that_cannot_match() {
        let q = Query::Term(Term {
            field: Field::Count,
            op: Op::Eq,
            value: "many".into(),
        });
        assert_eq!(where_clause(&q, Dialect::Sqlite, 1), ("1=0".into(), vec![]));
        let q = Query::Term(Term {
            field: Field::CreatedAt,
            op: Op::Gt,
            value: "2026-01-02".into(),
        });
        assert_eq!(
            where_clause(&q, Dialect::Sqlite, 1),
            (
                "a.created_at > $1".into(),
                vec![Bind::Int(1_767_312_000_000)]
            )
        );
    }

    /// The generated SQL run against real databases, to check what it *means*.
    mod run {
        use super::*;
        use sqlx::Connection;

        const ALERTS: &[&str] = &[
            // id, tiny, alias, message, description, status, ack, seen, snoozed, count, priority,
            // source, owner, entity, tags, details, team_ids, integration, created_at
            "('a1', 1, 'db-1', 'Disk full on DB1', 'the /var volume is 99% full', 'open', FALSE, FALSE, FALSE, 3, 'P1', 'prometheus', 'alice', 'db1', '[\"db\",\"Prod\"]', '{\"env\":\"prod\",\"region\":\"eu\"}', '[\"t-sre\"]', 'Prometheus', 1000)",
            "('a2', 2, 'web_1', 'HTTP 500s', NULL, 'open', TRUE, TRUE, FALSE, 1, 'P3', 'grafana', NULL, NULL, '[\"web\"]', '{\"env\":\"staging\"}', '[\"t-web\"]', 'Grafana', 2000)",
            "('a3', 3, 'db-2', 'Replication lag', 'lag > 10s', 'closed', TRUE, TRUE, FALSE, 7, 'P2', 'prometheus', 'bob', 'db2', '[\"db\"]', '{}', '[\"t-sre\",\"t-web\"]', 'Prometheus', 3000)",
            "('a4', 4, 'heartbeat', 'cron is expired', 'no ping', 'open', FALSE, FALSE, TRUE, 1, 'P5', 'klaxon', NULL, NULL, '[]', '{\"env\":\"PROD\"}', '[]', NULL, 4000)",
        ];

        /// (query, ids it must return)
        const CASES: &[(&str, &[&str])] = &[
            ("", &["a1", "a2", "a3", "a4"]),
            ("status:open", &["a1", "a2", "a4"]),
            ("status:open AND priority:P1 AND tag:db", &["a1"]),
            ("priority<P3", &["a1", "a3"]),
            ("priority>=P3", &["a2", "a4"]),
            ("tag:prod", &["a1"]),
            ("tag:d*", &["a1", "a3"]),
            ("tag!=db", &["a2", "a4"]),
            ("message:disk", &["a1"]),
            ("message:\"full on\"", &["a1"]),
            ("description:99%", &["a1"]),
            ("description!=lag", &["a1", "a2", "a4"]),
            ("alias:db-*", &["a1", "a3"]),
            ("alias:web_1", &["a2"]),
            ("alias:web*1", &["a2"]),
            ("alias:DB-1", &["a1"]),
            ("owner:alice", &["a1"]),
            ("owner!=alice", &["a2", "a3", "a4"]),
            ("NOT owner:alice", &["a2", "a3", "a4"]),
            ("acknowledged:true", &["a2", "a3"]),
            ("isSeen:false snoozed:false", &["a1"]),
            ("snoozed:true", &["a4"]),
            ("count>=3", &["a1", "a3"]),
            ("tinyId:2", &["a2"]),
            ("createdAt>1970-01-01T00:00:02Z", &["a3", "a4"]),
            ("createdAt<=1970-01-01T00:00:02Z", &["a1", "a2"]),
            // Ten digits or fewer are epoch seconds.
            ("createdAt>1", &["a2", "a3", "a4"]),
            ("team:sre", &["a1", "a3"]),
            ("team:t-web", &["a2", "a3"]),
            ("team!=SRE", &["a2", "a4"]),
            ("teams:s*", &["a1", "a3"]),
            ("details.env:prod", &["a1", "a4"]),
            ("details.env!=prod", &["a2", "a3"]),
            ("details.region:*", &["a1"]),
            ("integration.name:prometheus", &["a1", "a3"]),
            ("integration!=prometheus", &["a2", "a4"]),
            ("source:klaxon OR entity:db2", &["a3", "a4"]),
            ("id:a2", &["a2"]),
            ("web", &["a2"]),
            ("prod", &["a1"]),
            ("PROD", &["a1"]),
            ("full", &["a1"]),
            ("db", &["a1", "a3"]),
            ("expired OR lag", &["a3", "a4"]),
            ("NOT (status:closed OR tag:db)", &["a2", "a4"]),
            ("status:open NOT acknowledged:true", &["a1", "a4"]),
            ("message:\"it's\"", &[]),
        ];

        /// Runs one search and returns the ids it finds, in order.
        macro_rules! ids {
            ($db:expr, $dialect:expr, $input:expr) => {{
                let input: &str = $input;
                let q = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
                let (clause, binds) = where_clause(&q, $dialect, 1);
                let sql = format!("SELECT a.id FROM alerts AS a WHERE {clause} ORDER BY a.id");
                let mut query = sqlx::query_scalar::<_, String>(&sql);
                for b in binds {
                    query = match b {
                        Bind::Text(s) => query.bind(s),
                        Bind::Int(n) => query.bind(n),
                        Bind::Bool(v) => query.bind(v),
                    };
                }
                match query.fetch_all(&mut *$db).await {
                    Ok(ids) => ids,
                    Err(e) => panic!("{input:?} -> {sql}: {e}"),
                }
            }};
        }

        const SCHEMA: &str = "
            CREATE TEMPORARY TABLE teams (id TEXT PRIMARY KEY, name TEXT NOT NULL);
            CREATE TEMPORARY TABLE alerts (
                id TEXT PRIMARY KEY, tiny_id BIGINT, alias TEXT, message TEXT, description TEXT,
                status TEXT, acknowledged BOOLEAN, is_seen BOOLEAN, snoozed BOOLEAN, count BIGINT,
                priority TEXT, source TEXT, owner TEXT, entity TEXT, tags TEXT, details TEXT,
                team_ids TEXT, integration_name TEXT, created_at BIGINT,
                updated_at BIGINT, last_occurred_at BIGINT);
            INSERT INTO teams VALUES ('t-sre', 'SRE'), ('t-web', 'Web');";

        fn insert_alerts() -> String {
            format!(
                "INSERT INTO alerts (id, tiny_id, alias, message, description, status, \
                 acknowledged, is_seen, snoozed, count, priority, source, owner, entity, tags, \
                 details, team_ids, integration_name, created_at) VALUES {}",
                ALERTS.join(", ")
            )
        }

        #[tokio::test]
        async fn sqlite_returns_the_expected_alerts() {
            let mut db = sqlx::SqliteConnection::connect("sqlite::memory:")
                .await
                .expect("in-memory sqlite");
            sqlx::raw_sql(SCHEMA)
                .execute(&mut db)
                .await
                .expect("schema");
            sqlx::raw_sql(&insert_alerts())
                .execute(&mut db)
                .await
                .expect("rows");
            for (input, want) in CASES {
                assert_eq!(ids!(&mut db, Dialect::Sqlite, input), *want, "{input}");
            }
        }

        /// Runs when `KLAXON_TEST_POSTGRES` points at a server (see TESTING.md).
        #[tokio::test]
        async fn postgres_returns_the_expected_alerts() {
            let Ok(url) = std::env::var("KLAXON_TEST_POSTGRES") else {
                eprintln!("KLAXON_TEST_POSTGRES not set; skipping");
                return;
            };
            let mut db = sqlx::PgConnection::connect(&url).await.expect("postgres");
            sqlx::raw_sql(SCHEMA)
                .execute(&mut db)
                .await
                .expect("schema");
            sqlx::raw_sql(&insert_alerts())
                .execute(&mut db)
                .await
                .expect("rows");
            for (input, want) in CASES {
                assert_eq!(ids!(&mut db, Dialect::Postgres, input), *want, "{input}");
            }
        }
    }
}
