//! OpsGenie alert search syntax.
//!
//! [`parse`] turns a search such as `status:open AND priority<P3 AND tag:db` into a [`Query`]
//! tree. Values are checked and normalised while parsing (parse, don't validate), so storage only
//! translates a tree that is known to be well formed, and a client learns what is wrong with its
//! search, and where, before anything runs.
//!
//! ```text
//! query   := <empty> | or
//! or      := and ("OR" and)*
//! and     := unary ("AND"? unary)*          juxtaposition means AND
//! unary   := "NOT"* primary
//! primary := "(" or ")"
//!          | field op value                 status:open  count>=3  message:"disk full"
//!          | field op "(" or-of-values ")"  tag:(db OR cache)  =  tag:db OR tag:cache
//!          | value                          a bare word or "quoted phrase": free text
//! op      := ":" | "=" | "!=" | "<" | "<=" | ">" | ">="
//! ```
//!
//! Keywords (`AND`, `OR`, `NOT`) and field names are case-insensitive. Values may be double-quoted
//! (`\"` and `\\` are the escapes inside quotes); outside quotes a backslash escapes a character
//! that would otherwise end the value or the word (`\ `, `\(`, `\)`, `\:` …). `*` is a wildcard
//! everywhere. Error positions count characters from 1.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use std::fmt;
use thiserror::Error;

/// A parsed search. `All` is the empty search and matches every alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    All,
    And(Vec<Query>),
    Or(Vec<Query>),
    Not(Box<Query>),
    Term(Term),
}

/// One comparison. After [`parse`] the value is canonical for its field: `open`/`closed`,
/// `true`/`false`, `P1`..`P5`, a decimal integer, or epoch milliseconds for the time fields.
/// Text values are kept as written, `*` meaning "any characters".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub field: Field,
    pub op: Op,
    pub value: String,
}

/// The alert attribute a term looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    Status,
    Priority,
    Tag,
    Alias,
    Message,
    Description,
    Acknowledged,
    Snoozed,
    Owner,
    Source,
    Entity,
    Team,
    CreatedAt,
    UpdatedAt,
    LastOccurredAt,
    TinyId,
    Id,
    Count,
    IsSeen,
    Integration,
    /// `details.<key>`; the key keeps its case.
    Detail(String),
    /// A bare word or quoted phrase: message, description or alias contains it, or a tag equals it.
    Text,
}

/// Comparison operator. `:` and `=` both mean [`Op::Eq`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Field names listed in error messages.
const VALID_FIELDS: &str = "status, priority, tag, alias, message, description, acknowledged, \
     snoozed, isSeen, owner, source, entity, team, integration.name, id, tinyId, count, createdAt, \
     updatedAt, lastOccurredAt, details.<key>";

const TIME_FORMATS: &str = "epoch milliseconds, epoch seconds, RFC 3339 (2026-01-02T03:04:05Z), \
     yyyy-MM-dd, dd-MM-yyyy or dd-MM-yyyy'T'HH:mm:ss";

/// Deep enough for any hand-written search, shallow enough that recursion stays cheap.
pub const MAX_DEPTH: usize = 32;

/// Plain integers below this are epoch seconds (ten digits reach the year 2286); larger ones are
/// epoch milliseconds (twelve digits start in 1973).
const SECONDS_LIMIT: i64 = 100_000_000_000;

/// What is wrong with a search. Positions count characters from 1.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QueryError {
    #[error("unexpected {found} at position {position}, expected {expected}")]
    Unexpected {
        found: String,
        position: usize,
        expected: &'static str,
    },
    #[error("missing ')' for the '(' at position {position}")]
    UnclosedParen { position: usize },
    #[error("unterminated quoted string starting at position {position}")]
    UnterminatedQuote { position: usize },
    #[error("unknown field '{field}' at position {position}; valid fields are {valid}", valid = VALID_FIELDS)]
    UnknownField { field: String, position: usize },
    #[error("missing field name before '{op}' at position {position}")]
    MissingField { op: Op, position: usize },
    #[error("missing value after '{field}{op}' at position {position}")]
    MissingValue {
        field: String,
        op: Op,
        position: usize,
    },
    #[error("operator '{op}' cannot be used with {field} at position {position}; use ':' or '!='")]
    UnsupportedOperator {
        field: Field,
        op: Op,
        position: usize,
    },
    #[error("invalid value '{value}' for {field} at position {position}: expected {expected}")]
    InvalidValue {
        field: Field,
        value: String,
        position: usize,
        expected: &'static str,
    },
    #[error("parentheses nested deeper than {max} at position {position}", max = MAX_DEPTH)]
    TooDeep { position: usize },
    #[error("invalid time '{value}': expected {formats}", formats = TIME_FORMATS)]
    InvalidTime { value: String },
}

impl QueryError {
    /// Where in the search the problem is (characters from 1), when it comes from [`parse`].
    pub fn position(&self) -> Option<usize> {
        match self {
            QueryError::Unexpected { position, .. }
            | QueryError::UnclosedParen { position }
            | QueryError::UnterminatedQuote { position }
            | QueryError::UnknownField { position, .. }
            | QueryError::MissingField { position, .. }
            | QueryError::MissingValue { position, .. }
            | QueryError::UnsupportedOperator { position, .. }
            | QueryError::InvalidValue { position, .. }
            | QueryError::TooDeep { position } => Some(*position),
            QueryError::InvalidTime { .. } => None,
        }
    }
}

/// Parses an OpsGenie search. Empty or blank input is [`Query::All`].
pub fn parse(input: &str) -> Result<Query, QueryError> {
    let mut p = Parser {
        chars: input.chars().collect(),
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    if p.peek().is_none() {
        return Ok(Query::All);
    }
    let query = p.parse_or(&Ctx::Top)?;
    p.skip_ws();
    match p.peek() {
        None => Ok(query),
        Some(c) => Err(QueryError::Unexpected {
            found: format!("'{c}'"),
            position: p.pos + 1,
            expected: "end of query",
        }),
    }
}

/// Reads a time value as epoch milliseconds (UTC when the value has no offset).
///
/// Accepts epoch milliseconds, epoch seconds (integers below 10^11), RFC 3339
/// (`2026-01-02T03:04:05Z`, `2026-01-02T05:04:05+02:00`, also without an offset), `yyyy-MM-dd`,
/// and OpsGenie's `dd-MM-yyyy` and `dd-MM-yyyy'T'HH:mm:ss`.
pub fn normalize_time(value: &str) -> Result<i64, QueryError> {
    let invalid = || QueryError::InvalidTime {
        value: value.to_string(),
    };
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = v.parse().map_err(|_| invalid())?;
        return Ok(if n < SECONDS_LIMIT { n * 1000 } else { n });
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.timestamp_millis());
    }
    // chrono's %Y takes any number of digits, so check the shape first: "02-01-26" must not
    // become the year 2.
    let b = v.as_bytes();
    let shaped = |dashes: [usize; 2]| {
        b.len() >= 10
            && b[..10].iter().enumerate().all(|(i, c)| {
                if dashes.contains(&i) {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            })
    };
    let (date_fmt, datetime_fmt) = if shaped([4, 7]) {
        ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%.f")
    } else if shaped([2, 5]) {
        ("%d-%m-%Y", "%d-%m-%YT%H:%M:%S%.f")
    } else {
        return Err(invalid());
    };
    let at = if b.len() == 10 {
        NaiveDate::parse_from_str(v, date_fmt)
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    } else {
        NaiveDateTime::parse_from_str(v, datetime_fmt).ok()
    };
    at.map(|t| t.and_utc().timestamp_millis())
        .ok_or_else(invalid)
}

impl Field {
    /// Resolves a field name as written in a search (case-insensitive, with OpsGenie's aliases).
    pub fn from_name(name: &str) -> Option<Field> {
        const DETAILS: &str = "details.";
        if name
            .get(..DETAILS.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(DETAILS))
        {
            return match name.get(DETAILS.len()..) {
                Some(key) if !key.is_empty() => Some(Field::Detail(key.to_string())),
                _ => None,
            };
        }
        Some(match name.to_ascii_lowercase().as_str() {
            "status" => Field::Status,
            "priority" => Field::Priority,
            "tag" | "tags" => Field::Tag,
            "alias" => Field::Alias,
            "message" => Field::Message,
            "description" => Field::Description,
            "acknowledged" => Field::Acknowledged,
            "snoozed" => Field::Snoozed,
            "owner" => Field::Owner,
            "source" => Field::Source,
            "entity" => Field::Entity,
            // Klaxon's responders that searches can see are teams.
            "team" | "teams" | "responders" => Field::Team,
            "createdat" => Field::CreatedAt,
            "updatedat" => Field::UpdatedAt,
            "lastoccurredat" => Field::LastOccurredAt,
            "tinyid" => Field::TinyId,
            "id" => Field::Id,
            "count" => Field::Count,
            "isseen" => Field::IsSeen,
            "integration" | "integration.name" => Field::Integration,
            _ => return None,
        })
    }

    fn kind(&self) -> Kind {
        match self {
            Field::Status => Kind::Status,
            Field::Priority => Kind::Priority,
            Field::Acknowledged | Field::Snoozed | Field::IsSeen => Kind::Bool,
            Field::Count | Field::TinyId => Kind::Integer,
            Field::CreatedAt | Field::UpdatedAt | Field::LastOccurredAt => Kind::Time,
            Field::Tag
            | Field::Alias
            | Field::Message
            | Field::Description
            | Field::Owner
            | Field::Source
            | Field::Entity
            | Field::Team
            | Field::Id
            | Field::Integration
            | Field::Detail(_)
            | Field::Text => Kind::Text,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Field::Status => "status",
            Field::Priority => "priority",
            Field::Tag => "tag",
            Field::Alias => "alias",
            Field::Message => "message",
            Field::Description => "description",
            Field::Acknowledged => "acknowledged",
            Field::Snoozed => "snoozed",
            Field::Owner => "owner",
            Field::Source => "source",
            Field::Entity => "entity",
            Field::Team => "team",
            Field::CreatedAt => "createdAt",
            Field::UpdatedAt => "updatedAt",
            Field::LastOccurredAt => "lastOccurredAt",
            Field::TinyId => "tinyId",
            Field::Id => "id",
            Field::Count => "count",
            Field::IsSeen => "isSeen",
            Field::Integration => "integration.name",
            Field::Detail(key) => return write!(f, "details.{key}"),
            Field::Text => "free text",
        };
        f.write_str(name)
    }
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => ":",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Writes the search back in a form [`parse`] reads to the same tree (for logs and saved
/// searches). `All` is the empty string.
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Query::All => Ok(()),
            Query::And(items) => write_joined(f, items, " AND "),
            Query::Or(items) => write_joined(f, items, " OR "),
            Query::Not(inner) => write!(f, "NOT {inner}"),
            Query::Term(term) => write!(f, "{term}"),
        }
    }
}

fn write_joined(f: &mut fmt::Formatter<'_>, items: &[Query], sep: &str) -> fmt::Result {
    f.write_str("(")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{item}")?;
    }
    f.write_str(")")
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.field, self.op) {
            (Field::Text, Op::Ne) => write!(f, "NOT {}", Quoted(&self.value)),
            (Field::Text, _) => write!(f, "{}", Quoted(&self.value)),
            (field, op) => write!(f, "{field}{op}{}", Quoted(&self.value)),
        }
    }
}

/// A value, in double quotes unless it is a plain word.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        let plain = !v.is_empty()
            && keyword(v).is_none()
            && v.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '*' | '@' | '/'));
        if plain {
            return f.write_str(v);
        }
        f.write_str("\"")?;
        for c in v.chars() {
            if matches!(c, '"' | '\\') {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        f.write_str("\"")
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Status,
    Priority,
    Bool,
    Integer,
    Time,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Keyword {
    And,
    Or,
    Not,
}

fn keyword(word: &str) -> Option<Keyword> {
    if word.eq_ignore_ascii_case("and") {
        Some(Keyword::And)
    } else if word.eq_ignore_ascii_case("or") {
        Some(Keyword::Or)
    } else if word.eq_ignore_ascii_case("not") {
        Some(Keyword::Not)
    } else {
        None
    }
}

/// What a bare word means where it stands.
enum Ctx {
    /// At the top level or in a plain group: `field:value` or free text.
    Top,
    /// Inside `field op ( … )`: every word is a value for that field and operator.
    Values { field: Field, op: Op, op_pos: usize },
}

/// Scannerless recursive descent over the characters; `pos` is a character index from 0.
struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// `AND`, `OR` or `NOT` standing alone at the cursor, with its length.
    fn peek_keyword(&self) -> Option<(Keyword, usize)> {
        let len = self.chars[self.pos..]
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        if !(2..=3).contains(&len) {
            return None;
        }
        let ends = match self.peek_at(len) {
            None => true,
            Some(c) => c.is_whitespace() || matches!(c, '(' | ')' | '"'),
        };
        if !ends {
            return None;
        }
        let word: String = self.chars[self.pos..self.pos + len].iter().collect();
        keyword(&word).map(|k| (k, len))
    }

    /// The comparison operator at the cursor, with its length.
    fn peek_op(&self) -> Option<(Op, usize)> {
        match (self.peek()?, self.peek_at(1)) {
            (':', _) | ('=', _) => Some((Op::Eq, 1)),
            ('!', Some('=')) => Some((Op::Ne, 2)),
            ('<', Some('=')) => Some((Op::Le, 2)),
            ('<', _) => Some((Op::Lt, 1)),
            ('>', Some('=')) => Some((Op::Ge, 2)),
            ('>', _) => Some((Op::Gt, 1)),
            _ => None,
        }
    }

    fn parse_or(&mut self, ctx: &Ctx) -> Result<Query, QueryError> {
        let mut items = vec![self.parse_and(ctx)?];
        loop {
            self.skip_ws();
            match self.peek_keyword() {
                Some((Keyword::Or, len)) => {
                    self.pos += len;
                    items.push(self.parse_and(ctx)?);
                }
                _ => return Ok(combine(items, Query::Or)),
            }
        }
    }

    fn parse_and(&mut self, ctx: &Ctx) -> Result<Query, QueryError> {
        let mut items = vec![self.parse_unary(ctx)?];
        loop {
            self.skip_ws();
            if matches!(self.peek(), None | Some(')')) {
                break;
            }
            match self.peek_keyword() {
                Some((Keyword::Or, _)) => break,
                Some((Keyword::And, len)) => self.pos += len,
                _ => {}
            }
            items.push(self.parse_unary(ctx)?);
        }
        Ok(combine(items, Query::And))
    }

    fn parse_unary(&mut self, ctx: &Ctx) -> Result<Query, QueryError> {
        let mut negate = false;
        loop {
            self.skip_ws();
            match self.peek_keyword() {
                Some((Keyword::Not, len)) => {
                    self.pos += len;
                    negate = !negate;
                }
                _ => break,
            }
        }
        let query = self.parse_primary(ctx)?;
        Ok(if negate {
            Query::Not(Box::new(query))
        } else {
            query
        })
    }

    fn parse_primary(&mut self, ctx: &Ctx) -> Result<Query, QueryError> {
        self.skip_ws();
        let start = self.pos;
        let expected = "a search term";
        match self.peek() {
            None => {
                return Err(QueryError::Unexpected {
                    found: "end of query".into(),
                    position: start + 1,
                    expected,
                })
            }
            Some(')') => {
                return Err(QueryError::Unexpected {
                    found: "')'".into(),
                    position: start + 1,
                    expected,
                })
            }
            Some('(') => return self.parse_group(ctx),
            Some(_) => {}
        }
        if let Some((Keyword::And | Keyword::Or, len)) = self.peek_keyword() {
            let word: String = self.chars[start..start + len].iter().collect();
            return Err(QueryError::Unexpected {
                found: format!("'{word}'"),
                position: start + 1,
                expected,
            });
        }
        match ctx {
            Ctx::Top => self.parse_term(),
            Ctx::Values { field, op, op_pos } => {
                let (value, value_pos) = self.parse_value(field, *op)?;
                make_term(field.clone(), *op, *op_pos, value, value_pos)
            }
        }
    }

    /// `( … )` at the cursor, in the given context.
    fn parse_group(&mut self, ctx: &Ctx) -> Result<Query, QueryError> {
        let open = self.pos;
        if self.depth >= MAX_DEPTH {
            return Err(QueryError::TooDeep { position: open + 1 });
        }
        self.pos += 1;
        self.depth += 1;
        let query = self.parse_or(ctx)?;
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(QueryError::UnclosedParen { position: open + 1 });
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(query)
    }

    /// `field op value`, `field op ( … )`, a bare word or a quoted phrase.
    fn parse_term(&mut self) -> Result<Query, QueryError> {
        let start = self.pos;
        if self.peek() == Some('"') {
            let value = self.parse_quoted()?;
            return Ok(text(value));
        }
        let name = self.read_unquoted(true);
        let Some((op, len)) = self.peek_op() else {
            return Ok(text(name));
        };
        let op_pos = self.pos;
        if name.is_empty() {
            return Err(QueryError::MissingField {
                op,
                position: op_pos + 1,
            });
        }
        let field = Field::from_name(&name).ok_or(QueryError::UnknownField {
            field: name,
            position: start + 1,
        })?;
        self.pos += len;
        self.skip_ws();
        if self.peek() == Some('(') {
            return self.parse_group(&Ctx::Values { field, op, op_pos });
        }
        let (value, value_pos) = self.parse_value(&field, op)?;
        make_term(field, op, op_pos, value, value_pos)
    }

    /// A value after an operator: quoted, or up to whitespace or ')'.
    fn parse_value(&mut self, field: &Field, op: Op) -> Result<(String, usize), QueryError> {
        let start = self.pos;
        match self.peek() {
            Some('"') => Ok((self.parse_quoted()?, start)),
            None | Some(')') => Err(QueryError::MissingValue {
                field: field.to_string(),
                op,
                position: start + 1,
            }),
            Some(_) => Ok((self.read_unquoted(false), start)),
        }
    }

    /// A double-quoted string at the cursor; `\"` and `\\` are escapes, other backslashes stay.
    fn parse_quoted(&mut self) -> Result<String, QueryError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = self
                .peek()
                .ok_or(QueryError::UnterminatedQuote { position: open + 1 })?;
            self.pos += 1;
            match c {
                '"' => return Ok(out),
                '\\' => match self.peek() {
                    Some(e @ ('"' | '\\')) => {
                        out.push(e);
                        self.pos += 1;
                    }
                    _ => out.push('\\'),
                },
                c => out.push(c),
            }
        }
    }

    /// An unquoted word. A field name (`name == true`) also ends at an operator or a quote; a value
    /// ends only at whitespace or ')'. A backslash keeps the next character when that character
    /// would otherwise be special.
    fn read_unquoted(&mut self, name: bool) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ')' || (name && (c == '(' || c == '"')) {
                break;
            }
            if name && self.peek_op().is_some() {
                break;
            }
            if c == '\\' {
                if let Some(next) = self.peek_at(1).filter(|n| is_escapable(*n)) {
                    out.push(next);
                    self.pos += 2;
                    continue;
                }
            }
            out.push(c);
            self.pos += 1;
        }
        out
    }
}

fn is_escapable(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"' | '\\' | ':' | '=' | '!' | '<' | '>')
}

fn text(value: String) -> Query {
    Query::Term(Term {
        field: Field::Text,
        op: Op::Eq,
        value,
    })
}

fn combine(mut items: Vec<Query>, make: fn(Vec<Query>) -> Query) -> Query {
    if items.len() == 1 {
        items.pop().unwrap_or(Query::All)
    } else {
        make(items)
    }
}

/// Checks a value against its field and writes it in canonical form.
fn make_term(
    field: Field,
    op: Op,
    op_pos: usize,
    value: String,
    value_pos: usize,
) -> Result<Query, QueryError> {
    let kind = field.kind();
    let ordered = matches!(kind, Kind::Priority | Kind::Integer | Kind::Time);
    if !ordered && !matches!(op, Op::Eq | Op::Ne) {
        return Err(QueryError::UnsupportedOperator {
            field,
            op,
            position: op_pos + 1,
        });
    }
    let canonical = match kind {
        Kind::Text => Ok(value.clone()),
        Kind::Status => match value.to_ascii_lowercase().as_str() {
            v @ ("open" | "closed") => Ok(v.to_string()),
            _ => Err("open or closed"),
        },
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            v @ ("true" | "false") => Ok(v.to_string()),
            _ => Err("true or false"),
        },
        Kind::Priority => match value.to_ascii_uppercase().as_str() {
            v @ ("P1" | "P2" | "P3" | "P4" | "P5") => Ok(v.to_string()),
            _ => Err("one of P1, P2, P3, P4, P5"),
        },
        Kind::Integer => value
            .parse::<i64>()
            .map(|n| n.to_string())
            .map_err(|_| "an integer"),
        Kind::Time => normalize_time(&value)
            .map(|ms| ms.to_string())
            .map_err(|_| TIME_FORMATS),
    };
    match canonical {
        Ok(value) => Ok(Query::Term(Term { field, op, value })),
        Err(expected) => Err(QueryError::InvalidValue {
            field,
            value,
            position: value_pos + 1,
            expected,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(field: Field, op: Op, value: &str) -> Query {
        Query::Term(Term {
            field,
            op,
            value: value.to_string(),
        })
    }

    fn t(value: &str) -> Query {
        term(Field::Text, Op::Eq, value)
    }

    fn not(q: Query) -> Query {
        Query::Not(Box::new(q))
    }

    fn ok(input: &str) -> Query {
        match parse(input) {
            Ok(q) => q,
            Err(e) => panic!("{input:?} should parse: {e}"),
        }
    }

    fn err(input: &str) -> QueryError {
        match parse(input) {
            Ok(q) => panic!("{input:?} should fail, parsed as {q:?}"),
            Err(e) => e,
        }
    }

    fn err_text(input: &str) -> String {
        err(input).to_string()
    }

    #[test]
    fn empty_and_blank_match_everything() {
        assert_eq!(ok(""), Query::All);
        assert_eq!(ok("  \t\n "), Query::All);
    }

    #[test]
    fn field_terms_with_every_operator() {
        assert_eq!(ok("status:open"), term(Field::Status, Op::Eq, "open"));
        assert_eq!(ok("status=closed"), term(Field::Status, Op::Eq, "closed"));
        assert_eq!(ok("status!=open"), term(Field::Status, Op::Ne, "open"));
        assert_eq!(ok("count<3"), term(Field::Count, Op::Lt, "3"));
        assert_eq!(ok("count<=3"), term(Field::Count, Op::Le, "3"));
        assert_eq!(ok("count>3"), term(Field::Count, Op::Gt, "3"));
        assert_eq!(ok("count>=3"), term(Field::Count, Op::Ge, "3"));
        assert_eq!(ok("status: open"), term(Field::Status, Op::Eq, "open"));
    }

    #[test]
    fn every_field_name_and_alias() {
        let cases: &[(&str, Field)] = &[
            ("status", Field::Status),
            ("priority", Field::Priority),
            ("tag", Field::Tag),
            ("tags", Field::Tag),
            ("alias", Field::Alias),
            ("message", Field::Message),
            ("description", Field::Description),
            ("acknowledged", Field::Acknowledged),
            ("snoozed", Field::Snoozed),
            ("owner", Field::Owner),
            ("source", Field::Source),
            ("entity", Field::Entity),
            ("team", Field::Team),
            ("teams", Field::Team),
            ("responders", Field::Team),
            ("createdAt", Field::CreatedAt),
            ("updatedAt", Field::UpdatedAt),
            ("lastOccurredAt", Field::LastOccurredAt),
            ("tinyId", Field::TinyId),
            ("id", Field::Id),
            ("count", Field::Count),
            ("isSeen", Field::IsSeen),
            ("integration", Field::Integration),
            ("integration.name", Field::Integration),
            ("details.env", Field::Detail("env".into())),
            ("DETAILS.Env", Field::Detail("Env".into())),
            ("details.a.b-c", Field::Detail("a.b-c".into())),
            ("STATUS", Field::Status),
            ("CreatedAT", Field::CreatedAt),
            ("IsSeen", Field::IsSeen),
            ("Integration.Name", Field::Integration),
        ];
        for (name, field) in cases {
            assert_eq!(Field::from_name(name).as_ref(), Some(field), "{name}");
        }
        assert_eq!(Field::from_name("details."), None);
        assert_eq!(Field::from_name("details"), None);
        assert_eq!(Field::from_name("nope"), None);
        // Canonical names resolve back to themselves.
        for (_, field) in cases {
            assert_eq!(Field::from_name(&field.to_string()).as_ref(), Some(field));
        }
    }

    #[test]
    fn values_are_checked_and_made_canonical() {
        assert_eq!(ok("status:OPEN"), term(Field::Status, Op::Eq, "open"));
        assert_eq!(ok("priority:p1"), term(Field::Priority, Op::Eq, "P1"));
        assert_eq!(ok("priority<P3"), term(Field::Priority, Op::Lt, "P3"));
        assert_eq!(
            ok("acknowledged:TRUE"),
            term(Field::Acknowledged, Op::Eq, "true")
        );
        assert_eq!(ok("snoozed:false"), term(Field::Snoozed, Op::Eq, "false"));
        assert_eq!(ok("isSeen!=true"), term(Field::IsSeen, Op::Ne, "true"));
        assert_eq!(ok("tinyId:0042"), term(Field::TinyId, Op::Eq, "42"));
        assert_eq!(ok("count>=-1"), term(Field::Count, Op::Ge, "-1"));
        assert_eq!(
            ok("createdAt>2026-01-02T03:04:05Z"),
            term(Field::CreatedAt, Op::Gt, "1767323045000")
        );
        assert_eq!(
            ok("updatedAt<=1767323045"),
            term(Field::UpdatedAt, Op::Le, "1767323045000")
        );
        assert_eq!(
            ok("lastOccurredAt:\"02-01-2026\""),
            term(Field::LastOccurredAt, Op::Eq, "1767312000000")
        );
        // Text keeps its case.
        assert_eq!(ok("owner:Alice"), term(Field::Owner, Op::Eq, "Alice"));
        assert_eq!(
            ok("details.Env:Prod"),
            term(Field::Detail("Env".into()), Op::Eq, "Prod")
        );
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(
            ok(r#"message:"disk full on db1""#),
            term(Field::Message, Op::Eq, "disk full on db1")
        );
        assert_eq!(
            ok(r#"message:"say \"hi\" \\ now""#),
            term(Field::Message, Op::Eq, r#"say "hi" \ now"#)
        );
        // Other backslashes are kept, so Windows paths survive.
        assert_eq!(
            ok(r#"source:"C:\temp""#),
            term(Field::Source, Op::Eq, r"C:\temp")
        );
        assert_eq!(
            ok(r"source:C:\temp"),
            term(Field::Source, Op::Eq, r"C:\temp")
        );
        assert_eq!(ok(r#"alias:"""#), term(Field::Alias, Op::Eq, ""));
        assert_eq!(ok(r"alias:a\ b\)"), term(Field::Alias, Op::Eq, "a b)"));
        assert_eq!(ok(r"disk\:full"), t("disk:full"));
        // Operators inside a value are part of it.
        assert_eq!(ok("alias:a:b=c<d"), term(Field::Alias, Op::Eq, "a:b=c<d"));
        assert_eq!(ok(r#""AND""#), t("AND"));
        assert_eq!(ok(r#"message:"(x)""#), term(Field::Message, Op::Eq, "(x)"));
    }

    #[test]
    fn wildcards_are_kept() {
        assert_eq!(ok("alias:db-*"), term(Field::Alias, Op::Eq, "db-*"));
        assert_eq!(ok("tag:*prod*"), term(Field::Tag, Op::Eq, "*prod*"));
        assert_eq!(ok("disk*"), t("disk*"));
        assert_eq!(
            ok(r#"message:"disk * full""#),
            term(Field::Message, Op::Eq, "disk * full")
        );
    }

    #[test]
    fn bare_words_and_phrases_are_free_text() {
        assert_eq!(ok("disk"), t("disk"));
        assert_eq!(ok(r#""disk full""#), t("disk full"));
        assert_eq!(
            ok(r#"disk "is full""#),
            Query::And(vec![t("disk"), t("is full")])
        );
        assert_eq!(ok("ANDROID"), t("ANDROID"));
        assert_eq!(ok("notify"), t("notify"));
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let (a, b, c) = (t("a"), t("b"), t("c"));
        assert_eq!(
            ok("a OR b AND c"),
            Query::Or(vec![a.clone(), Query::And(vec![b.clone(), c.clone()])])
        );
        assert_eq!(
            ok("a AND b OR c"),
            Query::Or(vec![Query::And(vec![a.clone(), b.clone()]), c.clone()])
        );
        assert_eq!(
            ok("a b OR c"),
            Query::Or(vec![Query::And(vec![a.clone(), b.clone()]), c.clone()])
        );
        assert_eq!(
            ok("NOT a AND b"),
            Query::And(vec![not(a.clone()), b.clone()])
        );
        assert_eq!(ok("NOT a OR b"), Query::Or(vec![not(a.clone()), b.clone()]));
        assert_eq!(
            ok("a OR b OR c"),
            Query::Or(vec![a.clone(), b.clone(), c.clone()])
        );
        assert_eq!(
            ok("a AND b c"),
            Query::And(vec![a.clone(), b.clone(), c.clone()])
        );
    }

    #[test]
    fn parentheses_group() {
        let (a, b, c) = (t("a"), t("b"), t("c"));
        assert_eq!(
            ok("(a OR b) AND c"),
            Query::And(vec![Query::Or(vec![a.clone(), b.clone()]), c.clone()])
        );
        assert_eq!(
            ok("NOT (a OR b)"),
            not(Query::Or(vec![a.clone(), b.clone()]))
        );
        assert_eq!(ok("NOT(a)"), not(a.clone()));
        assert_eq!(ok("((a))"), a.clone());
        assert_eq!(
            ok("status:open AND (priority:P1 OR priority:P2)"),
            Query::And(vec![
                term(Field::Status, Op::Eq, "open"),
                Query::Or(vec![
                    term(Field::Priority, Op::Eq, "P1"),
                    term(Field::Priority, Op::Eq, "P2"),
                ]),
            ])
        );
        assert_eq!(
            ok("(status:open)(tag:db)"),
            Query::And(vec![
                term(Field::Status, Op::Eq, "open"),
                term(Field::Tag, Op::Eq, "db"),
            ])
        );
    }

    #[test]
    fn keywords_are_case_insensitive_and_not_collapses() {
        assert_eq!(
            ok("a and b or not c"),
            Query::Or(vec![Query::And(vec![t("a"), t("b")]), not(t("c"))])
        );
        assert_eq!(ok("NOT NOT a"), t("a"));
        assert_eq!(ok("not Not NOT a"), not(t("a")));
    }

    #[test]
    fn field_value_groups_expand() {
        assert_eq!(
            ok("tag:(db OR cache)"),
            Query::Or(vec![
                term(Field::Tag, Op::Eq, "db"),
                term(Field::Tag, Op::Eq, "cache"),
            ])
        );
        assert_eq!(
            ok(r#"priority<=(P2 AND NOT "p1")"#),
            Query::And(vec![
                term(Field::Priority, Op::Le, "P2"),
                not(term(Field::Priority, Op::Le, "P1")),
            ])
        );
        // Inside a value group, words are values even when they look like fields.
        assert_eq!(ok("alias:(a:b)"), term(Field::Alias, Op::Eq, "a:b"));
        assert_eq!(
            err_text("status:(open OR maybe)"),
            "invalid value 'maybe' for status at position 17: expected open or closed"
        );
    }

    #[test]
    fn the_example_from_the_api_docs() {
        assert_eq!(
            ok("status:open AND priority:P1 AND tag:db"),
            Query::And(vec![
                term(Field::Status, Op::Eq, "open"),
                term(Field::Priority, Op::Eq, "P1"),
                term(Field::Tag, Op::Eq, "db"),
            ])
        );
    }

    #[test]
    fn syntax_errors_say_what_and_where() {
        assert_eq!(
            err_text("status:open ) x"),
            "unexpected ')' at position 13, expected end of query"
        );
        assert_eq!(
            err_text("(status:open OR ) x"),
            "unexpected ')' at position 17, expected a search term"
        );
        assert_eq!(
            err_text("a AND (b OR c"),
            "missing ')' for the '(' at position 7"
        );
        assert_eq!(
            err_text(r#"message:"disk full"#),
            "unterminated quoted string starting at position 9"
        );
        assert_eq!(
            err_text(r#"message:"disk\""#),
            "unterminated quoted string starting at position 9"
        );
        assert_eq!(
            err_text("status:open AND"),
            "unexpected end of query at position 16, expected a search term"
        );
        assert_eq!(
            err_text("OR a"),
            "unexpected 'OR' at position 1, expected a search term"
        );
        assert_eq!(
            err_text("a and or b"),
            "unexpected 'or' at position 7, expected a search term"
        );
        assert_eq!(
            err_text("NOT"),
            "unexpected end of query at position 4, expected a search term"
        );
        assert_eq!(
            err_text("()"),
            "unexpected ')' at position 2, expected a search term"
        );
        assert_eq!(
            err_text("a :b"),
            "missing field name before ':' at position 3"
        );
        assert_eq!(
            err_text("status:"),
            "missing value after 'status:' at position 8"
        );
        assert_eq!(
            err_text("(count>= )"),
            "missing value after 'count>=' at position 10"
        );
        assert_eq!(err("(count>= )").position(), Some(10));
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(
            err_text("message:\"ééé\" )"),
            "unexpected ')' at position 15, expected end of query"
        );
    }

    #[test]
    fn unknown_fields_are_named_with_the_valid_ones() {
        let e = err_text("status:open AND colour:red");
        assert!(
            e.starts_with(
                "unknown field 'colour' at position 17; valid fields are status, priority,"
            ),
            "{e}"
        );
        assert!(e.ends_with("lastOccurredAt, details.<key>"), "{e}");
        assert!(err_text("details.:x").starts_with("unknown field 'details.' at position 1"));
    }

    #[test]
    fn invalid_values_are_rejected() {
        assert_eq!(
            err_text("status:pending"),
            "invalid value 'pending' for status at position 8: expected open or closed"
        );
        assert_eq!(
            err_text("acknowledged:yes"),
            "invalid value 'yes' for acknowledged at position 14: expected true or false"
        );
        assert_eq!(
            err_text("snoozed:1"),
            "invalid value '1' for snoozed at position 9: expected true or false"
        );
        assert_eq!(
            err_text("isSeen:maybe"),
            "invalid value 'maybe' for isSeen at position 8: expected true or false"
        );
        assert_eq!(
            err_text("priority:P6"),
            "invalid value 'P6' for priority at position 10: expected one of P1, P2, P3, P4, P5"
        );
        assert_eq!(
            err_text("priority:P*"),
            "invalid value 'P*' for priority at position 10: expected one of P1, P2, P3, P4, P5"
        );
        assert_eq!(
            err_text("count>many"),
            "invalid value 'many' for count at position 7: expected an integer"
        );
        assert_eq!(
            err_text("tinyId:12a"),
            "invalid value '12a' for tinyId at position 8: expected an integer"
        );
        assert_eq!(
            err_text("createdAt>yesterday"),
            format!(
                "invalid value 'yesterday' for createdAt at position 11: expected {TIME_FORMATS}"
            )
        );
        assert_eq!(
            err_text("updatedAt<2026-13-01"),
            format!(
                "invalid value '2026-13-01' for updatedAt at position 11: expected {TIME_FORMATS}"
            )
        );
    }

    #[test]
    fn ordering_is_only_for_ordered_fields() {
        assert_eq!(
            err_text("status>open"),
            "operator '>' cannot be used with status at position 7; use ':' or '!='"
        );
        assert_eq!(
            err_text("message<=x"),
            "operator '<=' cannot be used with message at position 8; use ':' or '!='"
        );
        assert_eq!(
            err_text("details.env>1"),
            "operator '>' cannot be used with details.env at position 12; use ':' or '!='"
        );
        assert!(parse("priority>=P2 count<5 createdAt>0").is_ok());
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(ok(&deep), t("a"));
        let too_deep = format!(
            "{}a{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(
            err(&too_deep),
            QueryError::TooDeep {
                position: MAX_DEPTH + 1
            }
        );
        // A long chain of NOTs is not recursion.
        let nots = format!("{}a", "NOT ".repeat(10_001));
        assert_eq!(ok(&nots), not(t("a")));
    }

    #[test]
    fn times_in_every_accepted_form() {
        let ms = 1_767_323_045_000; // 2026-01-02T03:04:05Z
        assert_eq!(normalize_time("1767323045000"), Ok(ms));
        assert_eq!(normalize_time("1767323045"), Ok(ms));
        assert_eq!(normalize_time("0"), Ok(0));
        assert_eq!(normalize_time("2026-01-02T03:04:05Z"), Ok(ms));
        assert_eq!(normalize_time("2026-01-02T03:04:05.250Z"), Ok(ms + 250));
        assert_eq!(normalize_time("2026-01-02T05:04:05+02:00"), Ok(ms));
        assert_eq!(normalize_time("2026-01-01T22:04:05-05:00"), Ok(ms));
        assert_eq!(normalize_time("2026-01-02T03:04:05"), Ok(ms));
        assert_eq!(normalize_time("2026-01-02"), Ok(1_767_312_000_000));
        assert_eq!(normalize_time("02-01-2026"), Ok(1_767_312_000_000));
        assert_eq!(normalize_time("02-01-2026T03:04:05"), Ok(ms));
        assert_eq!(normalize_time(" 2026-01-02 "), Ok(1_767_312_000_000));
    }

    #[test]
    fn bad_times_are_rejected() {
        for bad in [
            "",
            "yesterday",
            "02-01-26",
            "2026-1-2",
            "2026-02-30",
            "31-02-2026",
            "2026-01-02T25:00:00Z",
            "-5",
            "99999999999999999999",
            "2026-01-02X",
        ] {
            assert_eq!(
                normalize_time(bad),
                Err(QueryError::InvalidTime { value: bad.into() }),
                "{bad:?}"
            );
        }
        assert_eq!(
            QueryError::InvalidTime { value: "x".into() }.to_string(),
            format!("invalid time 'x': expected {TIME_FORMATS}")
        );
    }

    #[test]
    fn display_writes_a_query_that_parses_back() {
        for input in [
            "status:open AND priority<P3 AND tag:db",
            r#"message:"disk \"full\"" OR NOT (owner:alice team:"sre team")"#,
            "details.env!=prod OR alias:db-* OR disk",
            r#""AND" OR "" OR createdAt>=2026-01-02"#,
        ] {
            let q = ok(input);
            let shown = q.to_string();
            assert_eq!(ok(&shown), q, "{input} -> {shown}");
        }
        assert_eq!(
            ok("status:open priority<p3").to_string(),
            "(status:open AND priority<P3)"
        );
        assert_eq!(Query::All.to_string(), "");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn any_term() -> impl Strategy<Value = Query> {
            let text_field = prop_oneof![
                Just(Field::Tag),
                Just(Field::Alias),
                Just(Field::Message),
                Just(Field::Description),
                Just(Field::Owner),
                Just(Field::Source),
                Just(Field::Entity),
                Just(Field::Team),
                Just(Field::Id),
                Just(Field::Integration),
                "[a-zA-Z0-9_-]{1,8}".prop_map(Field::Detail),
            ];
            let eq_ne = prop_oneof![Just(Op::Eq), Just(Op::Ne)];
            let any_op = prop_oneof![
                Just(Op::Eq),
                Just(Op::Ne),
                Just(Op::Lt),
                Just(Op::Le),
                Just(Op::Gt),
                Just(Op::Ge),
            ];
            let mk =
                |(field, op, value): (Field, Op, String)| Query::Term(Term { field, op, value });
            prop_oneof![
                (text_field, eq_ne.clone(), any::<String>()).prop_map(mk),
                any::<String>().prop_map(|v| Query::Term(Term {
                    field: Field::Text,
                    op: Op::Eq,
                    value: v,
                })),
                (eq_ne.clone(), prop_oneof![Just("open"), Just("closed")])
                    .prop_map(move |(op, v)| mk((Field::Status, op, v.into()))),
                (
                    prop_oneof![
                        Just(Field::Acknowledged),
                        Just(Field::Snoozed),
                        Just(Field::IsSeen)
                    ],
                    eq_ne,
                    any::<bool>()
                )
                    .prop_map(move |(f, op, v)| mk((f, op, v.to_string()))),
                (any_op.clone(), 1u8..=5).prop_map(move |(op, n)| mk((
                    Field::Priority,
                    op,
                    format!("P{n}")
                ))),
                (
                    prop_oneof![Just(Field::Count), Just(Field::TinyId)],
                    any_op.clone(),
                    any::<i64>()
                )
                    .prop_map(move |(f, op, n)| mk((f, op, n.to_string()))),
                (
                    prop_oneof![
                        Just(Field::CreatedAt),
                        Just(Field::UpdatedAt),
                        Just(Field::LastOccurredAt)
                    ],
                    any_op,
                    SECONDS_LIMIT..i64::MAX
                )
                    .prop_map(move |(f, op, n)| mk((f, op, n.to_string()))),
            ]
        }

        fn any_query() -> impl Strategy<Value = Query> {
            any_term().prop_recursive(4, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 2..4).prop_map(Query::And),
                    prop::collection::vec(inner.clone(), 2..4).prop_map(Query::Or),
                    inner
                        .prop_filter("NOT NOT collapses", |q| !matches!(q, Query::Not(_)))
                        .prop_map(|q| Query::Not(Box::new(q))),
                ]
            })
        }

        proptest! {
            #[test]
            fn display_round_trips(q in any_query()) {
                let shown = q.to_string();
                prop_assert_eq!(parse(&shown), Ok(q), "{}", shown);
            }

            #[test]
            fn never_panics(input in any::<String>()) {
                let _ = parse(&input);
            }

            #[test]
            fn never_panics_on_query_like_text(
                input in r#"[a-zA-Z:=!<>()" \\*.]{0,40}"#
            ) {
                if let Err(e) = parse(&input) {
                    let len = input.chars().count();
                    prop_assert!(e.position().is_some_and(|p| p >= 1 && p <= len + 1), "{}", e);
                }
            }
        }
    }
}
