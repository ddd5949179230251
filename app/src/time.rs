//! Timestamps as the protocol writes them, on the server and in the browser
//! alike (no `js_sys::Date` in code that also renders on the server).

/// Milliseconds since the Unix epoch of `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
pub fn parse_rfc3339_ms(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !s.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Whole milliseconds from the fraction, read as digits: `f64::from_str`
    // would add kilobytes to the WebAssembly for this one call.
    let frac_ms = match s.get(19..s.len() - 1)? {
        "" => 0,
        f => {
            let digits = f.strip_prefix('.')?;
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let padded = digits.bytes().chain(std::iter::repeat(b'0')).take(3);
            padded.fold(0, |ms, c| ms * 10 + i64::from(c - b'0'))
        }
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    Some((secs * 1000 + frac_ms) as f64)
}

/// "14:05" for an instant: in the browser's time zone, UTC where there is
/// no browser.
pub fn clock_time(rfc3339: &str) -> String {
    #[cfg(feature = "hydrate")]
    if let Some(ms) = parse_rfc3339_ms(rfc3339) {
        let date = js_sys::Date::new(&ms.into());
        return format!("{:02}:{:02}", date.get_hours(), date.get_minutes());
    }
    rfc3339.get(11..16).unwrap_or_default().to_owned()
}

/// "4:05" for a remaining time; "0:00" once it has passed.
pub fn countdown(remaining_ms: f64) -> String {
    let secs = (remaining_ms / 1000.0).ceil().max(0.0) as u64;
    format!("{}:{:02}", secs / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_protocol_timestamps() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            parse_rfc3339_ms("2026-02-16T12:05:00Z"),
            Some(1_771_243_500_000.0)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-02-16T12:05:00.250Z"),
            Some(1_771_243_500_250.0)
        );
        assert_eq!(
            parse_rfc3339_ms("2000-03-01T00:00:00Z"),
            Some(951_868_800_000.0)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-02-16T12:05:00.5Z"),
            Some(1_771_243_500_500.0)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-02-16T12:05:00.123456Z"),
            Some(1_771_243_500_123.0)
        );
        assert_eq!(parse_rfc3339_ms("2026-02-16T12:05:00.Z"), None);
        assert_eq!(parse_rfc3339_ms("2026-02-16T12:05:00.2x5Z"), None);
        assert_eq!(parse_rfc3339_ms("yesterday"), None);
        assert_eq!(parse_rfc3339_ms("2026-02-16 12:05:00Z"), None);
    }

    #[test]
    fn counts_down_in_minutes_and_seconds() {
        assert_eq!(countdown(300_000.0), "5:00");
        assert_eq!(countdown(61_001.0), "1:02");
        assert_eq!(countdown(999.0), "0:01");
        assert_eq!(countdown(-5.0), "0:00");
    }
}
