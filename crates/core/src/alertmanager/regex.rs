//! Regular expressions as Alertmanager (Go, RE2 syntax) reads them, compiled with the `regex`
//! crate.
//!
//! The two syntaxes are nearly the same; where they differ, a pattern written for Alertmanager
//! must mean the same here, so the pattern is rewritten before it is compiled:
//!
//! - `\d \w \s \b` and their negations are ASCII-only in Go (`\d` is `[0-9]`), Unicode in Rust.
//! - Inside a class Go reads `[`, `&&`, `--` and `~~` literally (`[[]` is valid); Rust reads
//!   nested classes and set operations. Every literal in a class is re-emitted as `\x{..}`.
//! - Go knows `\Q…\E`, octal escapes (`\101`), `\p{^Greek}`, and a `{` that does not start a
//!   valid repetition is a literal (`a{,3}`); Rust knows none of them.
//! - Go refuses what Rust accepts: stacked repetitions (`a**`, `a++`), counts above 1000,
//!   escapes it does not know (`\<`, `\u0041` is an error there, `\<` a literal), flags other
//!   than `imsU`.
//!
//! Matchers anchor the pattern by text, exactly as Go does (`^(?:` + pattern + `)$`), so even
//! odd inputs such as `a)|(b` behave the same.

use regex::Regex;

/// Go's limit on `{n,m}` counts.
const MAX_REPEAT: u32 = 1000;

/// Compiles `^(?:pattern)$`, the anchored form matchers use.
pub(crate) fn compile_anchored(pattern: &str) -> Result<Regex, String> {
    compile(&format!("^(?:{pattern})$"))
}

/// Compiles a Go-syntax pattern; the error says what is wrong with it.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    let translated = translate(pattern)?;
    Regex::new(&translated).map_err(|e| match e {
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or("invalid syntax")
            .to_string(),
        regex::Error::CompiledTooBig(_) => "pattern too large".to_string(),
        other => other.to_string(),
    })
}

/// What the last token was, for Go's ban on stacked repetition operators.
#[derive(Clone, Copy, PartialEq)]
enum Last {
    Other,
    Repeat,
    LazyRepeat,
}

/// Rewrites a Go RE2 pattern into Rust `regex` syntax with the same meaning.
fn translate(pattern: &str) -> Result<String, String> {
    let cs: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut last = Last::Other;
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        match c {
            '\\' => {
                i = escape(&cs, i, &mut out)?;
                last = Last::Other;
            }
            '[' => {
                i = class(&cs, i, &mut out)?;
                last = Last::Other;
            }
            '*' | '+' | '?' => {
                match last {
                    Last::Repeat if c == '?' => last = Last::LazyRepeat,
                    Last::Repeat | Last::LazyRepeat => {
                        return Err(format!("invalid nested repetition operator {c:?}"))
                    }
                    Last::Other => last = Last::Repeat,
                }
                out.push(c);
                i += 1;
            }
            '{' => match parse_braces(&cs, i) {
                Some((min, max, len)) => {
                    let text: String = cs[i..i + len].iter().collect();
                    if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT || m < min) {
                        return Err(format!(
                            "invalid repeat count {text} (at most {MAX_REPEAT}, min <= max)"
                        ));
                    }
                    if last != Last::Other {
                        return Err(format!("invalid nested repetition operator {text:?}"));
                    }
                    out.push_str(&text);
                    last = Last::Repeat;
                    i += len;
                }
                // Not a repetition: Go reads the brace as a literal.
                None => {
                    out.push_str("\\{");
                    last = Last::Other;
                    i += 1;
                }
            },
            '(' => {
                i = group_open(&cs, i, &mut out)?;
                last = Last::Other;
            }
            _ => {
                out.push(c);
                last = Last::Other;
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Parses the syntax of `{n}`, `{n,}`, `{n,m}` at `i`: (min, max, length).
fn parse_braces(cs: &[char], i: usize) -> Option<(u32, Option<u32>, usize)> {
    let mut j = i + 1;
    let number = |j: &mut usize| -> Option<u32> {
        let start = *j;
        while cs.get(*j).is_some_and(|c| c.is_ascii_digit()) {
            *j += 1;
        }
        if *j == start {
            return None;
        }
        // Anything longer than 9 digits is out of range anyway; saturate.
        let digits: String = cs[start..*j].iter().collect();
        Some(digits.parse::<u32>().unwrap_or(u32::MAX))
    };
    let min = number(&mut j)?;
    let max = if cs.get(j) == Some(&',') {
        j += 1;
        if cs.get(j) == Some(&'}') {
            None
        } else {
            Some(number(&mut j)?)
        }
    } else {
        Some(min)
    };
    (cs.get(j) == Some(&'}')).then_some((min, max, j + 1 - i))
}

/// `(`: plain groups pass through; a flag group may only use Go's flags `i m s U`.
fn group_open(cs: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    out.push('(');
    if cs.get(i + 1) != Some(&'?') {
        return Ok(i + 1);
    }
    match cs.get(i + 2) {
        Some(':') => {
            out.push_str("?:");
            return Ok(i + 3);
        }
        Some('P') | Some('<') => {
            out.push('?');
            return Ok(i + 2);
        }
        _ => {}
    }
    let mut j = i + 2;
    while let Some(&c) = cs.get(j) {
        match c {
            'i' | 'm' | 's' | 'U' | '-' => j += 1,
            ')' | ':' => break,
            other => return Err(format!("invalid or unsupported Perl syntax: (?{other}")),
        }
    }
    let flags: String = cs[i + 1..j].iter().collect();
    out.push_str(&flags);
    Ok(j)
}

/// A backslash escape outside a class, at `i`; returns the index after it.
fn escape(cs: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let Some(&c) = cs.get(i + 1) else {
        return Err("trailing backslash at end of expression".into());
    };
    let next = i + 2;
    match c {
        'Q' => {
            let rest = &cs[next..];
            let end = rest.windows(2).position(|w| w == ['\\', 'E']);
            let literal: String = rest[..end.unwrap_or(rest.len())].iter().collect();
            out.push_str(&regex::escape(&literal));
            Ok(match end {
                Some(e) => next + e + 2,
                None => cs.len(),
            })
        }
        'd' | 'D' | 'w' | 'W' | 's' | 'S' => {
            out.push('[');
            if c.is_ascii_uppercase() {
                out.push('^');
            }
            out.push_str(perl_class(c));
            out.push(']');
            Ok(next)
        }
        'b' | 'B' => {
            out.push_str(if c == 'b' { "(?-u:\\b)" } else { "(?-u:\\B)" });
            Ok(next)
        }
        'p' | 'P' => unicode_class(cs, i, out),
        'x' => hex_escape(cs, i, out),
        '0'..='7' => {
            let (ch, end) = octal(cs, i)?;
            out.push_str(&format!("\\x{{{:X}}}", ch as u32));
            Ok(end)
        }
        'A' | 'z' | 'a' | 'f' | 't' | 'n' | 'r' | 'v' => {
            out.push('\\');
            out.push(c);
            Ok(next)
        }
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => {
            out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
            Ok(next)
        }
        other => Err(format!("invalid escape sequence: \\{other}")),
    }
}

/// The ASCII members of Go's Perl classes, as class contents.
fn perl_class(c: char) -> &'static str {
    match c.to_ascii_lowercase() {
        'd' => "0-9",
        'w' => "0-9A-Za-z_",
        _ => "\\t\\n\\x0C\\r ",
    }
}

/// `\pL`, `\p{Greek}`, and Go's negated `\p{^Greek}` (= `\P{Greek}`).
fn unicode_class(cs: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let negated = cs[i + 1] == 'P';
    match cs.get(i + 2) {
        Some('{') => {
            let close = cs[i + 3..]
                .iter()
                .position(|&c| c == '}')
                .ok_or("invalid character class range: missing }")?;
            let mut name: String = cs[i + 3..i + 3 + close].iter().collect();
            let mut neg = negated;
            if let Some(stripped) = name.strip_prefix('^') {
                name = stripped.to_string();
                neg = !neg;
            }
            out.push_str(if neg { "\\P{" } else { "\\p{" });
            out.push_str(&name);
            out.push('}');
            Ok(i + 3 + close + 1)
        }
        Some(&c) => {
            out.push_str(if negated { "\\P" } else { "\\p" });
            out.push(c);
            Ok(i + 3)
        }
        None => Err("invalid character class range: missing name".into()),
    }
}

/// `\x41` or `\x{41}`, passed through whole so the braces are not read as a repetition.
fn hex_escape(cs: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let end = if cs.get(i + 2) == Some(&'{') {
        let close = cs[i + 3..]
            .iter()
            .position(|&c| c == '}')
            .ok_or("invalid escape sequence: \\x{ without }")?;
        i + 3 + close + 1
    } else {
        (i + 4).min(cs.len())
    };
    out.extend(&cs[i..end]);
    Ok(end)
}

/// Go's octal escapes: `\0`, `\07`, `\101`; a lone `\1`…`\7` is a back-reference, refused.
fn octal(cs: &[char], i: usize) -> Result<(char, usize), String> {
    let is_octal = |c: Option<&char>| c.is_some_and(|c| ('0'..='7').contains(c));
    let first = cs[i + 1];
    if first != '0' && !is_octal(cs.get(i + 2)) {
        return Err(format!(
            "invalid escape sequence: \\{first} (back-references are not supported)"
        ));
    }
    let mut value = first as u32 - '0' as u32;
    let mut j = i + 2;
    while j < i + 4 && is_octal(cs.get(j)) {
        value = value * 8 + (cs[j] as u32 - '0' as u32);
        j += 1;
    }
    Ok((char::from_u32(value).unwrap_or('\0'), j))
}

/// One member of a class: a single character or a set (`\d`, `\pL`, `[:alpha:]`).
enum Member {
    Char(char),
    Set(String),
}

/// A class `[...]` at `i`, re-emitted with every literal as `\x{..}`; returns the index after it.
fn class(cs: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let unclosed = || {
        let text: String = cs[i..].iter().collect();
        format!("missing closing ]: {text}")
    };
    let mut j = i + 1;
    out.push('[');
    if cs.get(j) == Some(&'^') {
        out.push('^');
        j += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = cs.get(j) else {
            return Err(unclosed());
        };
        if c == ']' && !first {
            out.push(']');
            return Ok(j + 1);
        }
        first = false;
        let (lo, after) = class_member(cs, j).ok_or_else(unclosed)??;
        j = after;
        let range_follows = cs.get(j) == Some(&'-') && cs.get(j + 1).is_some_and(|&c| c != ']');
        match lo {
            Member::Char(lo) if range_follows => {
                let (hi, after) = class_member(cs, j + 1).ok_or_else(unclosed)??;
                let Member::Char(hi) = hi else {
                    return Err("invalid character class range".into());
                };
                if hi < lo {
                    return Err(format!("invalid character class range: {lo}-{hi}"));
                }
                out.push_str(&format!("\\x{{{:X}}}-\\x{{{:X}}}", lo as u32, hi as u32));
                j = after;
            }
            Member::Char(c) => push_class_char(out, c),
            Member::Set(set) => out.push_str(&set),
        }
    }
}

fn push_class_char(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
    }
}

/// A parsed piece and the index after it.
type Parsed<T> = Result<(T, usize), String>;

/// Reads one class member at `j`: `None` at the end of the pattern.
fn class_member(cs: &[char], j: usize) -> Option<Parsed<Member>> {
    let c = *cs.get(j)?;
    if c == '[' && cs.get(j + 1) == Some(&':') {
        let close = cs[j + 2..].windows(2).position(|w| w == [':', ']']);
        if let Some(close) = close {
            let end = j + 2 + close + 2;
            return Some(Ok((Member::Set(cs[j..end].iter().collect()), end)));
        }
    }
    if c != '\\' {
        return Some(Ok((Member::Char(c), j + 1)));
    }
    let e = *cs.get(j + 1)?;
    let set = |s: String, end: usize| Some(Ok((Member::Set(s), end)));
    match e {
        'd' | 'D' | 'w' | 'W' | 's' | 'S' => {
            let neg = if e.is_ascii_uppercase() { "^" } else { "" };
            set(format!("[{neg}{}]", perl_class(e)), j + 2)
        }
        'p' | 'P' => {
            let mut s = String::new();
            Some(unicode_class(cs, j, &mut s).map(|end| (Member::Set(s), end)))
        }
        'x' => {
            let mut s = String::new();
            Some(hex_escape(cs, j, &mut s).and_then(|end| {
                let digits = s[2..].trim_matches(|c| c == '{' || c == '}');
                u32::from_str_radix(digits, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .map(|c| (Member::Char(c), end))
                    .ok_or_else(|| format!("invalid escape sequence: {s}"))
            }))
        }
        '0'..='7' => Some(octal(cs, j).map(|(c, end)| (Member::Char(c), end))),
        'a' => Some(Ok((Member::Char('\x07'), j + 2))),
        'f' => Some(Ok((Member::Char('\x0C'), j + 2))),
        't' => Some(Ok((Member::Char('\t'), j + 2))),
        'n' => Some(Ok((Member::Char('\n'), j + 2))),
        'r' => Some(Ok((Member::Char('\r'), j + 2))),
        'v' => Some(Ok((Member::Char('\x0B'), j + 2))),
        e if e.is_ascii() && !e.is_ascii_alphanumeric() => Some(Ok((Member::Char(e), j + 2))),
        other => Some(Err(format!("invalid escape sequence: \\{other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(pattern: &str, text: &str) -> bool {
        compile_anchored(pattern).unwrap().is_match(text)
    }

    #[test]
    fn perl_classes_are_ascii_like_go() {
        assert!(full(r"\d+", "123"));
        assert!(!full(r"\d", "٣"), "Arabic-Indic digit is not \\d in Go");
        assert!(!full(r"\w", "é"));
        assert!(full(r"\W", "é"));
        assert!(!full(r"\s", "\u{a0}"));
        assert!(!full(r"\s", "\x0B"), "Go's \\s has no vertical tab");
        assert!(full(r"[\d]x", "7x"));
        assert!(full(r"[^\d]", "a"));
        assert!(full(r"[\D]", "a"));
    }

    #[test]
    fn class_literals_go_reads_literally() {
        assert!(full(r"[[]", "["));
        assert!(full(r"[a&&b]", "&"));
        assert!(full(r"[a~~b]", "~"));
        assert!(full(r"[]a]", "]"));
        assert!(full(r"[a-]", "-"));
        assert!(full(r"[\]]", "]"));
        assert!(full(r"[[:alpha:]]+", "abc"));
        assert!(full(r"[[:^alpha:]]", "1"));
        assert!(full(r"(?i)[a-c]+", "ABC"));
        assert!(full(r"[\x41-\x{43}]+", "ABC"));
        assert!(full(r"[\pL]", "é"));
    }

    #[test]
    fn go_only_syntax() {
        assert!(full(r"\Qa.b\E+", "a.bb"));
        assert!(!full(r"\Qa.b\E", "axb"));
        assert!(full(r"\101", "A"));
        assert!(full(r"a{,3}", "a{,3}"));
        assert!(full(r"x{a}", "x{a}"));
        assert!(full(r"\p{^Greek}", "a"));
        assert!(!full(r"\p{^Greek}", "α"));
        assert!(full(r"\<a\>", "<a>"));
        assert!(full(r"a{2,3}", "aaa"));
        assert!(full(r"\x{41}{2}", "AA"));
    }

    #[test]
    fn go_refusals() {
        for bad in [
            r"a**", r"a++", r"a*??", r"a{2}{3}", r"a{1001}", r"a{2,1}", r"\1", r"\8", r"\e",
            r"\u0041", r"(?x)a", r"[a", r"a\", r"[z-a]", r"(a", r"*",
        ] {
            assert!(compile(bad).is_err(), "{bad} should be refused");
        }
        assert!(compile(r"a*?").is_ok());
        assert!(compile(r"(?i)a").is_ok());
        assert!(compile(r"(?U)a+").is_ok());
        assert!(compile(r"(?P<x>a)").is_ok());
    }

    #[test]
    fn anchoring_is_textual_like_go() {
        // `^(?:a)|(b)$`: each alternative is anchored at one end only, in Go as here.
        assert!(full(r"a)|(b", "ax"));
        assert!(full(r"a)|(b", "xb"));
        assert!(!full(r"a)|(b", "xax"));
        assert!(full(r"foo|bar", "bar"));
        assert!(!full(r"foo|bar", "foobar"));
        assert!(
            compile_anchored(r"\Qabc").is_err(),
            "\\Q swallows the closing paren"
        );
    }

    #[test]
    fn error_messages_are_short() {
        let e = compile("(a").unwrap_err();
        assert_eq!(e, "unclosed group");
    }
}
