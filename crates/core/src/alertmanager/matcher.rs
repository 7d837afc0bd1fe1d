//! Label matchers `=`, `!=`, `=~`, `!~` and the text syntax Alertmanager and amtool accept
//! (`{a="b",c=~"d.*"}`, `a=b`, `a = "b" ,`).

use super::labels::Labels;
use super::regex::compile_anchored;
use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// How a matcher compares a label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchType {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`, anchored regular expression
    Regexp,
    /// `!~`
    NotRegexp,
}

impl MatchType {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regexp => "=~",
            MatchType::NotRegexp => "!~",
        }
    }

    pub fn is_regex(self) -> bool {
        matches!(self, MatchType::Regexp | MatchType::NotRegexp)
    }

    /// `=` and `=~` (what the API calls `isEqual`).
    pub fn is_equal(self) -> bool {
        matches!(self, MatchType::Equal | MatchType::Regexp)
    }

    /// The type for the API's `{isRegex, isEqual}` pair.
    pub fn from_flags(is_regex: bool, is_equal: bool) -> Self {
        match (is_regex, is_equal) {
            (false, true) => MatchType::Equal,
            (false, false) => MatchType::NotEqual,
            (true, true) => MatchType::Regexp,
            (true, false) => MatchType::NotRegexp,
        }
    }
}

impl fmt::Display for MatchType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a matcher could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    #[error(
        "bad matcher format: {0:?}; write name=value, name!=value, name=~regex or name!~regex"
    )]
    BadFormat(String),
    #[error(
        "matcher value contains unescaped double quote: {0}; write \\\" inside a quoted value"
    )]
    UnescapedQuote(String),
    #[error("invalid regular expression {pattern:?}: {reason}")]
    BadRegex { pattern: String, reason: String },
}

/// One condition on one label. A missing label reads as the empty string, so `env=""` matches
/// alerts without `env` and `env!~"prod"` matches them too. Regular expressions are anchored
/// at both ends (`^(?:re)$`).
#[derive(Clone)]
pub struct Matcher {
    name: String,
    op: MatchType,
    value: String,
    re: Option<Regex>,
}

impl Matcher {
    /// Builds a matcher; fails only for an invalid regular expression. The name is not checked
    /// (Alertmanager accepts any name here; see [`super::is_valid_label_name`]).
    pub fn new(
        op: MatchType,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let value = value.into();
        let re = if op.is_regex() {
            Some(
                compile_anchored(&value).map_err(|reason| MatcherError::BadRegex {
                    pattern: value.clone(),
                    reason,
                })?,
            )
        } else {
            None
        };
        Ok(Matcher {
            name: name.into(),
            op,
            value,
            re,
        })
    }

    /// `name="value"`, which cannot fail.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            name: name.into(),
            op: MatchType::Equal,
            value: value.into(),
            re: None,
        }
    }

    /// Parses one matcher (`name op value`), exactly as Alertmanager's `ParseMatcher`: the name
    /// is `[a-zA-Z_:][a-zA-Z0-9_:]*`; whitespace around each part is dropped; the value may be
    /// quoted and then uses `\"`, `\\` and `\n` escapes (a lone `\` stays a backslash).
    pub fn parse(s: &str) -> Result<Self, MatcherError> {
        let bad = || MatcherError::BadFormat(s.to_string());
        let rest = s.trim_start_matches(is_go_space);
        let name_len = rest
            .char_indices()
            .find(|&(i, c)| {
                !(c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()))
            })
            .map_or(rest.len(), |(i, _)| i);
        if name_len == 0 {
            return Err(bad());
        }
        let (name, rest) = rest.split_at(name_len);
        let rest = rest.trim_start_matches(is_go_space);
        let (op, rest) = [
            ("=~", MatchType::Regexp),
            ("=", MatchType::Equal),
            ("!=", MatchType::NotEqual),
            ("!~", MatchType::NotRegexp),
        ]
        .iter()
        .find_map(|(text, op)| rest.strip_prefix(text).map(|r| (*op, r)))
        .ok_or_else(bad)?;
        let raw = rest.trim_matches(is_go_space);
        Matcher::new(op, name, unquote(raw)?)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn op(&self) -> MatchType {
        self.op
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether a label value (`""` for a missing label) satisfies the matcher.
    pub fn matches_value(&self, value: &str) -> bool {
        match (self.op, &self.re) {
            (MatchType::Equal, _) => value == self.value,
            (MatchType::NotEqual, _) => value != self.value,
            (MatchType::Regexp, Some(re)) => re.is_match(value),
            (MatchType::NotRegexp, Some(re)) => !re.is_match(value),
            // Unreachable: regex types always carry a compiled regex.
            (_, None) => false,
        }
    }

    /// Whether the label set satisfies the matcher; a missing label is `""`.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }
}

/// Go's `\s` in the matcher grammar: `[\t\n\f\r ]`.
fn is_go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0C' | '\r' | ' ')
}

/// The value part of a matcher: optional surrounding quotes, OpenMetrics escapes.
fn unquote(raw: &str) -> Result<String, MatcherError> {
    let quoted = raw.strip_prefix('"');
    let body = quoted.unwrap_or(raw);
    let mut expect_closing_quote = quoted.is_some();
    let mut value = String::with_capacity(body.len());
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        let last = i + c.len_utf8() == body.len();
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                // A spurious escape: the backslash is literal.
                other => {
                    value.push('\\');
                    value.push(other);
                }
            }
            continue;
        }
        match c {
            '\\' if !last => escaped = true,
            '\\' => value.push('\\'),
            '"' if expect_closing_quote && last => expect_closing_quote = false,
            '"' => return Err(MatcherError::UnescapedQuote(raw.to_string())),
            other => value.push(other),
        }
    }
    if expect_closing_quote {
        return Err(MatcherError::UnescapedQuote(raw.to_string()));
    }
    Ok(value)
}

/// Escapes a value for display: `\` → `\\`, newline → `\n`, `"` → `\"` (OpenMetrics).
fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

impl fmt::Display for Matcher {
    /// `name="value"`, `name=~"re"`: the form Alertmanager prints and parses back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}\"{}\"",
            self.name,
            self.op,
            escape_value(&self.value)
        )
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Matcher({self})")
    }
}

impl FromStr for Matcher {
    type Err = MatcherError;

    fn from_str(s: &str) -> Result<Self, MatcherError> {
        Matcher::parse(s)
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Matcher {}

impl Hash for Matcher {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (&self.name, &self.value, self.op).hash(state);
    }
}

impl PartialOrd for Matcher {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Matcher {
    /// Alertmanager's order: by name, then value, then type (`=`, `!=`, `=~`, `!~`).
    fn cmp(&self, other: &Self) -> Ordering {
        (&self.name, &self.value, self.op).cmp(&(&other.name, &other.value, other.op))
    }
}

/// The API form, `{"name","value","isRegex","isEqual"}`; `isEqual` defaults to true.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiMatcher {
    name: String,
    value: String,
    #[serde(default)]
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

impl Serialize for Matcher {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ApiMatcher {
            name: self.name.clone(),
            value: self.value.clone(),
            is_regex: self.op.is_regex(),
            is_equal: self.op.is_equal(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = ApiMatcher::deserialize(d)?;
        Matcher::new(
            MatchType::from_flags(m.is_regex, m.is_equal),
            m.name,
            m.value,
        )
        .map_err(serde::de::Error::custom)
    }
}

/// A list of matchers that must all hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Matchers(Vec<Matcher>);

impl Matchers {
    pub fn new(matchers: Vec<Matcher>) -> Self {
        Matchers(matchers)
    }

    /// Parses a comma-separated list, exactly as Alertmanager's `ParseMatchers`: one leading
    /// `{` and one trailing `}` are optional, commas inside quotes do not split, a trailing
    /// comma is allowed, an empty list (`{}`) is valid.
    pub fn parse(s: &str) -> Result<Self, MatcherError> {
        let s = s.strip_prefix('{').unwrap_or(s);
        let s = s.strip_suffix('}').unwrap_or(s);
        let mut tokens = Vec::new();
        let mut token = String::new();
        let (mut inside_quotes, mut escaped) = (false, false);
        for c in s.chars() {
            match c {
                ',' if !inside_quotes => {
                    tokens.push(std::mem::take(&mut token));
                    continue;
                }
                // A comma inside quotes keeps the escape state, as Alertmanager does.
                ',' => {}
                '"' if !escaped => inside_quotes = !inside_quotes,
                '"' => escaped = false,
                '\\' => escaped = !escaped,
                _ => escaped = false,
            }
            token.push(c);
        }
        let last = token.trim();
        if !last.is_empty() {
            tokens.push(last.to_string());
        }
        tokens
            .iter()
            .map(|t| Matcher::parse(t))
            .collect::<Result<_, _>>()
            .map(Matchers)
    }

    /// True when every matcher holds (an empty list always holds).
    pub fn matches(&self, labels: &Labels) -> bool {
        self.0.iter().all(|m| m.matches(labels))
    }

    /// Sorts into Alertmanager's canonical order (routes keys depend on it).
    pub fn sort(&mut self) {
        self.0.sort();
    }

    pub fn push(&mut self, m: Matcher) {
        self.0.push(m);
    }

    pub fn as_slice(&self) -> &[Matcher] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<Matcher> {
        self.0
    }
}

impl std::ops::Deref for Matchers {
    type Target = [Matcher];

    fn deref(&self) -> &[Matcher] {
        &self.0
    }
}

impl From<Vec<Matcher>> for Matchers {
    fn from(v: Vec<Matcher>) -> Self {
        Matchers(v)
    }
}

impl FromIterator<Matcher> for Matchers {
    fn from_iter<I: IntoIterator<Item = Matcher>>(iter: I) -> Self {
        Matchers(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Matchers {
    type Item = &'a Matcher;
    type IntoIter = std::slice::Iter<'a, Matcher>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Matchers {
    /// `{a="b",c=~"d"}`, as in route keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{m}")?;
        }
        f.write_str("}")
    }
}

impl FromStr for Matchers {
    type Err = MatcherError;

    fn from_str(s: &str) -> Result<Self, MatcherError> {
        Matchers::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn m(op: MatchType, name: &str, value: &str) -> Matcher {
        Matcher::new(op, name, value).unwrap()
    }

    #[test]
    fn match_types_on_present_and_missing_labels() {
        use MatchType::*;
        let alert = labels(&[("env", "prod"), ("team", "db")]);
        let cases = [
            (m(Equal, "env", "prod"), true),
            (m(Equal, "env", "pro"), false),
            (m(NotEqual, "env", "dev"), true),
            (m(Regexp, "env", "pr.*"), true),
            (m(Regexp, "env", "pr"), false), // anchored: no partial match
            (m(Regexp, "env", "rod"), false),
            (m(Regexp, "env", "dev|prod"), true),
            (m(NotRegexp, "env", "dev|staging"), true),
            (m(NotRegexp, "env", "prod"), false),
            // Missing label reads as "".
            (m(Equal, "region", ""), true),
            (m(NotEqual, "region", ""), false),
            (m(Regexp, "region", ".*"), true),
            (m(Regexp, "region", ".+"), false),
            (m(NotRegexp, "region", "eu.*"), true),
            (m(NotEqual, "region", "eu"), true),
            (m(Equal, "region", "eu"), false),
        ];
        for (matcher, want) in cases {
            assert_eq!(matcher.matches(&alert), want, "{matcher}");
        }
    }

    #[test]
    fn parses_the_syntaxes_amtool_accepts() {
        use MatchType::*;
        let cases: &[(&str, MatchType, &str, &str)] = &[
            (r#"a="b""#, Equal, "a", "b"),
            ("a=b", Equal, "a", "b"),
            ("  a  !=  b c  ", NotEqual, "a", "b c"),
            (r#"a=~"d.*""#, Regexp, "a", "d.*"),
            ("a!~d.*", NotRegexp, "a", "d.*"),
            ("a=", Equal, "a", ""),
            (r#"a="""#, Equal, "a", ""),
            (r#"a=" spaced ""#, Equal, "a", " spaced "),
            (r#"a="say \"hi\"""#, Equal, "a", r#"say "hi""#),
            (r#"a="x\ny""#, Equal, "a", "x\ny"),
            (r#"a="back\\slash""#, Equal, "a", r"back\slash"),
            (r#"a="\d+""#, Equal, "a", r"\d+"), // spurious escape stays literal
            (r"a=trailing\", Equal, "a", r"trailing\"),
            ("job:rate=1", Equal, "job:rate", "1"),
            ("a==b", Equal, "a", "=b"),
            ("a=!b", Equal, "a", "!b"),
            ("a=~=~", Regexp, "a", "=~"),
        ];
        for (text, op, name, value) in cases {
            let parsed = Matcher::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (parsed.op(), parsed.name(), parsed.value()),
                (*op, *name, *value),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_bad_matchers_with_reasons() {
        assert!(matches!(
            Matcher::parse("=b"),
            Err(MatcherError::BadFormat(_))
        ));
        assert!(matches!(
            Matcher::parse("1a=b"),
            Err(MatcherError::BadFormat(_))
        ));
        assert!(matches!(
            Matcher::parse("a.b=c"),
            Err(MatcherError::BadFormat(_))
        ));
        assert!(matches!(
            Matcher::parse("a~b"),
            Err(MatcherError::BadFormat(_))
        ));
        assert!(matches!(
            Matcher::parse(r#"a="b"#),
            Err(MatcherError::UnescapedQuote(_))
        ));
        assert!(matches!(
            Matcher::parse(r#"a=b"c"#),
            Err(MatcherError::UnescapedQuote(_))
        ));
        assert!(matches!(
            Matcher::parse(r#"a="b"c""#),
            Err(MatcherError::UnescapedQuote(_))
        ));
        let err = Matcher::parse("a=~(").unwrap_err();
        assert!(matches!(err, MatcherError::BadRegex { .. }));
        assert!(err.to_string().contains("invalid regular expression"));
    }

    #[test]
    fn parses_lists() {
        let cases: &[(&str, &[&str])] = &[
            ("{}", &[]),
            ("", &[]),
            (
                r#"{foo = "bar", dings != "bums", }"#,
                &[r#"foo="bar""#, r#"dings!="bums""#],
            ),
            ("foo=bar,dings!=bums", &[r#"foo="bar""#, r#"dings!="bums""#]),
            (
                r#"{quote="She said: \"Hi, ladies! That's gender-neutral…\""}"#,
                &[r#"quote="She said: \"Hi, ladies! That's gender-neutral…\"""#],
            ),
            (r#"statuscode=~"5..""#, &[r#"statuscode=~"5..""#]),
            (r#"{a="b,c"}"#, &[r#"a="b,c""#]),
            (r#"a=~"x|y",b!~"z""#, &[r#"a=~"x|y""#, r#"b!~"z""#]),
        ];
        for (text, want) in cases {
            let got: Vec<String> = Matchers::parse(text)
                .unwrap_or_else(|e| panic!("{text}: {e}"))
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(&got, want, "{text}");
        }
        assert!(Matchers::parse("a=b,,c=d").is_err(), "empty token");
        assert!(
            Matchers::parse(r#" {a="b"}"#).is_err(),
            "space before {{ is not trimmed"
        );
    }

    #[test]
    fn displays_lists_in_route_key_form() {
        let ms = Matchers::parse(r#"{b=~"x|y", a="1"}"#).unwrap();
        assert_eq!(ms.to_string(), r#"{b=~"x|y",a="1"}"#);
        let mut sorted = ms.clone();
        sorted.sort();
        assert_eq!(sorted.to_string(), r#"{a="1",b=~"x|y"}"#);
        assert_eq!(Matchers::default().to_string(), "{}");
    }

    #[test]
    fn orders_by_name_value_then_type() {
        use MatchType::*;
        let mut v = [
            m(NotRegexp, "a", "x"),
            m(Equal, "b", "a"),
            m(Equal, "a", "y"),
            m(Equal, "a", "x"),
            m(Regexp, "a", "x"),
        ];
        v.sort();
        let got: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [r#"a="x""#, r#"a=~"x""#, r#"a!~"x""#, r#"a="y""#, r#"b="a""#]
        );
    }

    #[test]
    fn api_json_form() {
        let json = r#"{"name":"env","value":"prod|dev","isRegex":true,"isEqual":false}"#;
        let matcher: Matcher = serde_json::from_str(json).unwrap();
        assert_eq!(matcher.op(), MatchType::NotRegexp);
        assert_eq!(serde_json::to_string(&matcher).unwrap(), json);
        // isEqual defaults to true, as in Alertmanager's API.
        let eq: Matcher =
            serde_json::from_str(r#"{"name":"a","value":"b","isRegex":false}"#).unwrap();
        assert_eq!(eq.op(), MatchType::Equal);
        let bad = serde_json::from_str::<Matcher>(r#"{"name":"a","value":"(","isRegex":true}"#);
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("invalid regular expression"));
    }

    fn any_op() -> impl Strategy<Value = MatchType> {
        prop_oneof![
            Just(MatchType::Equal),
            Just(MatchType::NotEqual),
            Just(MatchType::Regexp),
            Just(MatchType::NotRegexp),
        ]
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(
            name in "[a-zA-Z_:][a-zA-Z0-9_:]{0,8}",
            op in any_op(),
            value in "(\\PC|[\\\\\"\n,{}])*",
        ) {
            let Ok(matcher) = Matcher::new(op, name, value) else {
                return Ok(()); // not a valid regex; nothing to round-trip
            };
            let text = matcher.to_string();
            let back = Matcher::parse(&text).unwrap();
            prop_assert_eq!(&back, &matcher);
            let list = Matchers::new(vec![matcher.clone(), matcher.clone()]);
            let back = Matchers::parse(&list.to_string()).unwrap();
            prop_assert_eq!(back, list);
        }

        #[test]
        fn equal_matches_exactly_its_value(value in "\\PC*", other in "\\PC*") {
            let eq = Matcher::equal("l", value.clone());
            let labels: Labels = [("l".to_string(), other.clone())].into();
            prop_assert_eq!(eq.matches(&labels), value == other);
            let re = Matcher::new(MatchType::Regexp, "l", regex::escape(&value)).unwrap();
            prop_assert_eq!(re.matches(&labels), value == other);
        }
    }
}
