//! The one thing a health check needs from a server's TLS certificate: when it expires. Reads
//! `tbsCertificate.validity.notAfter` from the DER encoding (RFC 5280 §4.1) — a few nested
//! SEQUENCEs and a UTCTime or GeneralizedTime — so no X.509 library is needed.

/// One DER element: (tag, content, rest after it).
fn element(b: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let (&tag, b) = b.split_first().ok_or("truncated certificate")?;
    let (&first, mut b) = b.split_first().ok_or("truncated certificate")?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || b.len() < n {
            return Err("bad length in certificate".into());
        }
        let len = b[..n].iter().fold(0usize, |a, &x| (a << 8) | x as usize);
        b = &b[n..];
        len
    };
    if b.len() < len {
        return Err("truncated certificate".into());
    }
    Ok((tag, &b[..len], &b[len..]))
}

const SEQUENCE: u8 = 0x30;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The certificate's `notAfter` in unix milliseconds.
pub fn not_after(der: &[u8]) -> Result<i64, String> {
    let (tag, cert, _) = element(der)?;
    if tag != SEQUENCE {
        return Err("not a DER certificate".into());
    }
    let (tag, tbs, _) = element(cert)?;
    if tag != SEQUENCE {
        return Err("not a DER certificate".into());
    }
    let mut rest = tbs;
    // [0] EXPLICIT version, when present.
    if rest.first() == Some(&0xa0) {
        rest = element(rest)?.2;
    }
    // serialNumber, signature, issuer.
    for _ in 0..3 {
        rest = element(rest)?.2;
    }
    let (tag, validity, _) = element(rest)?;
    if tag != SEQUENCE {
        return Err("certificate validity not found".into());
    }
    let (_, _, after_not_before) = element(validity)?;
    let (tag, t, _) = element(after_not_before)?;
    let text = std::str::from_utf8(t).map_err(|_| "bad certificate time")?;
    parse_time(tag, text)
}

fn parse_time(tag: u8, s: &str) -> Result<i64, String> {
    let s = s.strip_suffix('Z').ok_or("certificate time not in UTC")?;
    let full = match (tag, s.len()) {
        // RFC 5280: YY >= 50 is 19YY, otherwise 20YY.
        (UTC_TIME, 12) => {
            let yy: u32 = s[..2].parse().map_err(|_| "bad certificate time")?;
            format!("{}{s}", if yy >= 50 { "19" } else { "20" })
        }
        (GENERALIZED_TIME, 14) => s.to_string(),
        _ => return Err(format!("unsupported certificate time {s:?}")),
    };
    chrono::NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S")
        .map(|t| t.and_utc().timestamp_millis())
        .map_err(|e| format!("bad certificate time {full:?}: {e}"))
}

/// Whole days from `now` until `not_after` (negative once expired), rounded down.
pub fn days_left(not_after: i64, now: i64) -> i64 {
    (not_after - now).div_euclid(86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real self-signed certificate (`openssl req -x509 -newkey ec -days 1 -subj /CN=localhost`,
    /// made 2026-11-21 16:17:37 UTC), DER in hex: notAfter = 2026-11-22 16:17:37 UTC.
    const CERT_HEX: &str =
        "3082017c30820123a00302010202146e9524a6fe03645688b178c35351ca526b86c36a300a06082a8648ce3d\
         04030230143112301006035504030c096c6f63616c686f7374301e170d3236313132313136313733375a170d\
         3236313132323136313733375a30143112301006035504030c096c6f63616c686f73743059301306072a8648\
         ce3d020106082a8648ce3d0301070342000434baad64c395f6de5600d8d659ebae9c45f54c67936c5a692534\
         4af82ac6edfe79293068dbd37fbc5afee52b3b2eba5f51534fcff80e7b7883a061f0a15c90c7a3533051301d\
         0603551d0e041604142811ecfe6b13ffac2e9e0624453d5ce9fda4b91d301f0603551d230418301680142811\
         ecfe6b13ffac2e9e0624453d5ce9fda4b91d300f0603551d130101ff040530030101ff300a06082a8648ce3d\
         040302034700304402202539fa1dad2463ad8e96bba87928b001adf0156152465cbeb163dc7e42d3b8350220\
         2210aaccfc5aad3a253d32e72c700775f5138923b4468130dc6d815f595ad1bd";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn reads_not_after_from_a_real_certificate() {
        let t = not_after(&unhex(CERT_HEX)).unwrap();
        assert_eq!(crate::time::format_iso(t), "2026-11-22T16:17:37.000Z");
        assert_eq!(days_left(t, t - 3 * 86_400_000 - 1), 3);
        assert_eq!(days_left(t, t + 1), -1);
    }

    #[test]
    fn utc_time_centuries_and_generalized_time() {
        assert_eq!(
            crate::time::format_iso(parse_time(UTC_TIME, "491231235959Z").unwrap()),
            "2049-12-31T23:59:59.000Z"
        );
        assert_eq!(
            crate::time::format_iso(parse_time(UTC_TIME, "500101000000Z").unwrap()),
            "1950-01-01T00:00:00.000Z"
        );
        assert_eq!(
            crate::time::format_iso(parse_time(GENERALIZED_TIME, "20610101000000Z").unwrap()),
            "2061-01-01T00:00:00.000Z"
        );
        assert!(parse_time(UTC_TIME, "2601010000Z").is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for b in [
            &b""[..],
            &[0x30],
            &[0x30, 0x85, 1, 2, 3, 4, 5],
            &[0x30, 0x03, 0x30, 0x01],
        ] {
            assert!(not_after(b).is_err(), "{b:?}");
        }
    }
}
