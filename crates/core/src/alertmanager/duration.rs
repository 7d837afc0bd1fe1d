//! Durations as Prometheus writes them (`model.Duration`): `30s`, `5m`, `1h30m`, `1d`, `2w`,
//! `1y`, `500ms`, or a bare `0`. Units appear at most once each, largest first, with whole
//! numbers; `1.5h`, `30m1h` and `1h 30m` are refused, as `amtool check-config` refuses them.

use crate::duration::Duration;

const UNITS: [(&str, u128); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Go's `time.Duration` limit: about 292 years in nanoseconds.
const MAX_MILLIS: u128 = (i64::MAX as u128) / 1_000_000;

/// Parses a Prometheus duration.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    match s {
        "0" => return Ok(Duration::default()),
        "" => return Err("empty duration; write e.g. 30s, 5m or 4h".into()),
        _ => {}
    }
    let invalid = || {
        format!(
            "not a valid duration string: {s:?}; write whole numbers with units \
             y, w, d, h, m, s, ms, largest first (e.g. 1h30m)"
        )
    };
    let mut total: u128 = 0;
    let mut next_unit = 0; // units must come in the order of UNITS, each at most once
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let n: u128 = rest[..digits]
            .parse()
            .map_err(|_| "duration out of range")?;
        rest = &rest[digits..];
        // "ms" before "m", so that 5ms is not read as 5m followed by "s".
        let unit = UNITS[next_unit..]
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| rest.starts_with(name))
            .max_by_key(|(_, (name, _))| name.len());
        let Some((offset, (name, millis))) = unit else {
            return Err(invalid());
        };
        rest = &rest[name.len()..];
        next_unit += offset + 1;
        total = n
            .checked_mul(*millis)
            .and_then(|v| v.checked_add(total))
            .filter(|&v| v <= MAX_MILLIS)
            .ok_or_else(|| format!("duration out of range: {s:?}"))?;
    }
    let ms = u64::try_from(total).map_err(|_| format!("duration out of range: {s:?}"))?;
    Ok(Duration(std::time::Duration::from_millis(ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        parse_duration(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .as_millis()
    }

    #[test]
    fn accepts_prometheus_forms() {
        assert_eq!(ms("0"), 0);
        assert_eq!(ms("0s"), 0);
        assert_eq!(ms("30s"), 30_000);
        assert_eq!(ms("5m"), 300_000);
        assert_eq!(ms("4h"), 14_400_000);
        assert_eq!(ms("1h30m"), 5_400_000);
        assert_eq!(ms("5ms"), 5);
        assert_eq!(ms("5m5ms"), 300_005);
        assert_eq!(ms("1d"), 86_400_000);
        assert_eq!(ms("2w"), 1_209_600_000);
        assert_eq!(ms("1y"), 31_536_000_000);
        assert_eq!(ms("1y2w3d4h5m6s7ms"), 33_019_506_007);
    }

    #[test]
    fn refuses_what_prometheus_refuses() {
        for bad in [
            "", "5", "1.5h", "30m1h", "1h 30m", "1h1h", "-5m", "5x", "h", " 5m", "5M", "1000y",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse_duration("30m1h")
            .unwrap_err()
            .contains("largest first"));
    }
}
