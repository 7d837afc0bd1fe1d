//! Instants on the wire: ISO-8601 with milliseconds and `Z` out, offsets accepted in.

use crate::clock::Millis;
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// `2026-11-21T10:05:14.123Z`, as OpsGenie prints every timestamp.
pub fn format_iso(ms: Millis) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

/// Parses RFC 3339 (`Z` or an offset). A `+` that arrived as a space in a query string is
/// accepted too (`2026-01-01T00:00:00 01:00`).
pub fn parse_iso(s: &str) -> Result<Millis, String> {
    let s = s.trim();
    let fixed;
    let candidate = if s.len() > 19 && s.as_bytes().get(s.len().saturating_sub(6)) == Some(&b' ') {
        fixed = format!("{}+{}", &s[..s.len() - 6], &s[s.len() - 5..]);
        fixed.as_str()
    } else {
        s
    };
    DateTime::parse_from_rfc3339(candidate)
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            format!("invalid timestamp {s:?} ({e}); use ISO-8601 like 2026-01-02T03:04:05Z")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_millis_and_z() {
        assert_eq!(format_iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_iso(1_779_000_000_123), "2026-05-17T06:40:00.123Z");
    }

    #[test]
    fn parses_offsets_and_space_for_plus() {
        assert_eq!(parse_iso("1970-01-01T01:00:00+01:00").unwrap(), 0);
        assert_eq!(parse_iso("1970-01-01T01:00:00 01:00").unwrap(), 0);
        assert_eq!(parse_iso("1970-01-01T00:00:01.5Z").unwrap(), 1_500);
        assert!(parse_iso("yesterday").is_err());
    }
}
