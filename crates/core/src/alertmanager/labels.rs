//! Label sets, their Alertmanager fingerprint and their Go string form.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// An alert's labels, kept sorted by name (the order fingerprints and keys need).
pub type Labels = BTreeMap<String, String>;

/// The 64-bit identity Alertmanager gives a label set: FNV-1a over the labels sorted by name,
/// each written `name 0xFF value 0xFF`. Displayed as 16 lowercase hex digits (`%016x`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fingerprint(pub u64);

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
/// Cannot occur in UTF-8, so `a=bc` and `ab=c` hash differently.
const SEPARATOR: u8 = 0xFF;

impl Fingerprint {
    /// The fingerprint of `labels`; the empty set gives `cbf29ce484222325`.
    pub fn of(labels: &Labels) -> Self {
        let mut hash = FNV_OFFSET;
        let mut add = |bytes: &[u8]| {
            for &b in bytes {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(FNV_PRIME);
            }
        };
        // BTreeMap iterates by name in byte order, as Go's sort.Strings does.
        for (name, value) in labels {
            add(name.as_bytes());
            add(&[SEPARATOR]);
            add(value.as_bytes());
            add(&[SEPARATOR]);
        }
        Fingerprint(hash)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for Fingerprint {
    type Err = String;

    /// Accepts what Alertmanager prints: up to 16 hex digits.
    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() || s.len() > 16 {
            return Err(format!(
                "invalid fingerprint {s:?}: expected up to 16 hex digits like 3f1b2c4d5e6f7a8b"
            ));
        }
        u64::from_str_radix(s, 16)
            .map(Fingerprint)
            .map_err(|_| format!("invalid fingerprint {s:?}: expected hex digits 0-9a-f"))
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Whether `name` is a valid Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A label set as Go prints it (`model.LabelSet.String`), the form group keys use:
/// `{a="x", b="y\n"}`: each pair as `name=%q`, sorted as strings, joined by `", "`.
pub fn label_set_string(labels: &Labels) -> String {
    let mut pairs: Vec<String> = labels
        .iter()
        .map(|(name, value)| format!("{name}={}", go_quote(value)))
        .collect();
    // Go sorts the formatted pairs, not the names: `a0="…"` comes before `a="…"`.
    pairs.sort();
    format!("{{{}}}", pairs.join(", "))
}

/// Go's `strconv.Quote`: double quotes, `\"` and `\\`, C escapes for control characters, `\x`,
/// `\u` or `\U` for other characters Go does not consider printable.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0C' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0B' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7F' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
/// Without Unicode category tables this refuses controls, non-ASCII spaces, format characters,
/// private use and noncharacters; unassigned code points are treated as printable.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    const FORMAT: &[(u32, u32)] = &[
        (0x00AD, 0x00AD),
        (0x0600, 0x0605),
        (0x061C, 0x061C),
        (0x06DD, 0x06DD),
        (0x070F, 0x070F),
        (0x0890, 0x0891),
        (0x08E2, 0x08E2),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x206F),
        (0xFEFF, 0xFEFF),
        (0xFFF9, 0xFFFB),
        (0x110BD, 0x110BD),
        (0x110CD, 0x110CD),
        (0x13430, 0x1343F),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
        // Private use.
        (0xE000, 0xF8FF),
        (0xF0000, 0x10FFFF),
        // Noncharacters.
        (0xFDD0, 0xFDEF),
    ];
    let nonchar = u & 0xFFFE == 0xFFFE;
    !nonchar && !FORMAT.iter().any(|&(lo, hi)| (lo..=hi).contains(&u))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fingerprints_match_prometheus_common() {
        // Known values from prometheus/common model/signature_test.go.
        let cases: &[(&[(&str, &str)], u64)] = &[
            (&[], 14695981039346656037),
            (
                &[("name", "garland, briggs"), ("fear", "love is not enough")],
                5799056148416392346,
            ),
            (&[("empty", "")], 7187873163539638612),
        ];
        for (pairs, want) in cases {
            assert_eq!(Fingerprint::of(&labels(pairs)).0, *want, "{pairs:?}");
        }
        assert_eq!(
            Fingerprint::of(&Labels::new()).to_string(),
            "cbf29ce484222325"
        );
    }

    #[test]
    fn fingerprint_prints_16_hex_digits_and_parses_back() {
        let fp = Fingerprint(0xab);
        assert_eq!(fp.to_string(), "00000000000000ab");
        assert_eq!("00000000000000ab".parse::<Fingerprint>().unwrap(), fp);
        assert_eq!("ab".parse::<Fingerprint>().unwrap(), fp);
        assert!("xyz".parse::<Fingerprint>().is_err());
        assert!("".parse::<Fingerprint>().is_err());
        assert!("00000000000000000".parse::<Fingerprint>().is_err());
        let json = serde_json::to_string(&fp).unwrap();
        assert_eq!(json, "\"00000000000000ab\"");
        assert_eq!(serde_json::from_str::<Fingerprint>(&json).unwrap(), fp);
    }

    #[test]
    fn separator_keeps_name_and_value_apart() {
        let a = Fingerprint::of(&labels(&[("a", "bc")]));
        let b = Fingerprint::of(&labels(&[("ab", "c")]));
        assert_ne!(a, b);
    }

    #[test]
    fn label_names() {
        for ok in ["a", "_", "alertname", "A_1", "__name__"] {
            assert!(is_valid_label_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a:b", "é", "a b"] {
            assert!(!is_valid_label_name(bad), "{bad}");
        }
    }

    #[test]
    fn label_set_string_is_gos() {
        assert_eq!(label_set_string(&Labels::new()), "{}");
        assert_eq!(
            label_set_string(&labels(&[("alertname", "DiskFull")])),
            r#"{alertname="DiskFull"}"#
        );
        assert_eq!(
            label_set_string(&labels(&[("b", "2"), ("a", "1")])),
            r#"{a="1", b="2"}"#
        );
        // Sorted as formatted strings: '0' < '='.
        assert_eq!(
            label_set_string(&labels(&[("a", "x"), ("a0", "y")])),
            r#"{a0="y", a="x"}"#
        );
    }

    #[test]
    fn go_quote_escapes_like_strconv_quote() {
        assert_eq!(go_quote(r#"say "hi"\"#), r#""say \"hi\"\\""#);
        assert_eq!(go_quote("a\nb\tc\u{7}"), r#""a\nb\tc\a""#);
        assert_eq!(go_quote("\u{1}\u{7f}"), r#""\x01\x7f""#);
        assert_eq!(go_quote("é日本🚀"), "\"é日本🚀\"");
        assert_eq!(go_quote("\u{a0}\u{200b}"), r#""\u00a0\u200b""#);
        assert_eq!(go_quote("\u{e0001}"), r#""\U000e0001""#);
    }
}
