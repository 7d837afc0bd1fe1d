//! Durations as people write them in config: `30s`, `5m`, `4h`, `1h30m`, `2d`, `1w`, `250ms`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub fn from_secs(s: u64) -> Self {
        Duration(std::time::Duration::from_secs(s))
    }
    pub fn as_millis(&self) -> i64 {
        self.0.as_millis() as i64
    }
}

impl FromStr for Duration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty duration; write e.g. 30s, 5m, 4h".into());
        }
        if s == "0" {
            return Ok(Duration::default());
        }
        let mut total_ms: u128 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(format!(
                    "invalid duration {s:?}: expected a number at {rest:?}"
                ));
            }
            let n: u128 = rest[..digits]
                .parse()
                .map_err(|_| format!("invalid duration {s:?}: number too large"))?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let ms_per = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "w" => 7 * 86_400_000,
                "y" => 365 * 86_400_000,
                "" => {
                    return Err(format!(
                        "invalid duration {s:?}: missing unit (ms, s, m, h, d, w, y)"
                    ))
                }
                other => {
                    return Err(format!(
                        "invalid duration {s:?}: unknown unit {other:?} (use ms, s, m, h, d, w, y)"
                    ))
                }
            };
            total_ms = total_ms
                .checked_add(n.saturating_mul(ms_per))
                .ok_or_else(|| format!("invalid duration {s:?}: too large"))?;
        }
        let ms =
            u64::try_from(total_ms).map_err(|_| format!("invalid duration {s:?}: too large"))?;
        Ok(Duration(std::time::Duration::from_millis(ms)))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [
            ("w", 604_800_000u128),
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
            ("ms", 1),
        ] {
            if ms >= size {
                write!(f, "{}{}", ms / size, unit)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let ms = |s: &str| s.parse::<Duration>().unwrap().as_millis();
        assert_eq!(ms("30s"), 30_000);
        assert_eq!(ms("5m"), 300_000);
        assert_eq!(ms("1h30m"), 5_400_000);
        assert_eq!(ms("250ms"), 250);
        assert_eq!(ms("2d"), 172_800_000);
        assert_eq!(ms("0"), 0);
    }

    #[test]
    fn rejects_nonsense_with_a_reason() {
        assert!("".parse::<Duration>().unwrap_err().contains("empty"));
        assert!("5"
            .parse::<Duration>()
            .unwrap_err()
            .contains("missing unit"));
        assert!("5x"
            .parse::<Duration>()
            .unwrap_err()
            .contains("unknown unit"));
        assert!("m5"
            .parse::<Duration>()
            .unwrap_err()
            .contains("expected a number"));
    }

    #[test]
    fn displays_round_trip() {
        for s in ["30s", "5m", "1h30m", "250ms", "2d"] {
            let d: Duration = s.parse().unwrap();
            assert_eq!(d.to_string().parse::<Duration>().unwrap(), d);
        }
    }
}
