//! Unix time: the clock, RFC 3339 formatting, and parsing of `--since` values.

use std::time::{SystemTime, UNIX_EPOCH};

/// The system clock in unix seconds.
pub(crate) fn unix_now() -> i64 {
    unix_now_millis().div_euclid(1000)
}

/// The system clock in unix milliseconds.
pub(crate) fn unix_now_millis() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // day is 1..=31 and month 1..=12 by construction.
    (year, month as u32, day as u32)
}

/// (year, month, day) to days since 1970-01-01 (inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2024-05-01T12:00:00.123Z` for unix milliseconds.
pub(crate) fn rfc3339_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Parses a point in time for `--since`, as unix milliseconds: unix seconds (`1714564800`),
/// RFC 3339 (`2024-05-01T12:00:00Z`, `2024-05-01T14:00:00+02:00`, fractions allowed), a
/// date (`2024-05-01`, midnight UTC) or an age before `now_ms` (`90s`, `15m`, `2h`, `7d`).
pub(crate) fn parse_time(text: &str, now_ms: i64) -> Result<i64, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "`{text}` is not a time: use unix seconds, RFC 3339 (2024-05-01T12:00:00Z), a date \
             (2024-05-01) or an age (90s, 15m, 2h, 7d)"
        )
    };
    if let Ok(secs) = t.parse::<i64>() {
        return secs.checked_mul(1000).ok_or_else(bad);
    }
    if let Some(unit) = t.chars().last().filter(|c| "smhd".contains(*c)) {
        let n: i64 = t[..t.len() - 1].parse().map_err(|_| bad())?;
        let per = match unit {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            _ => 86_400_000,
        };
        return n
            .checked_mul(per)
            .and_then(|age| now_ms.checked_sub(age))
            .ok_or_else(bad);
    }
    parse_rfc3339(t).ok_or_else(bad)
}

fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_rfc3339(t: &str) -> Option<i64> {
    let (date, rest) = match t.find(['T', 't', ' ']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut parts = date.split('-');
    let year: i64 = num(parts.next()?)?;
    let month: u32 = num(parts.next()?)?;
    let day: u32 = num(parts.next()?)?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let Some(rest) = rest else {
        return days.checked_mul(86_400_000);
    };
    // Split the offset off: `Z`, `+hh:mm` or `-hh:mm`.
    let (clock, offset_secs) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let i = rest.rfind(['+', '-'])?;
        let (c, off) = (&rest[..i], &rest[i..]);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (hh, mm) = off[1..].split_once(':')?;
        let (hh, mm): (i64, i64) = (num(hh)?, num(mm)?);
        (c, sign * (hh * 3600 + mm * 60))
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((h, f)) => (h, Some(f)),
        None => (clock, None),
    };
    let mut hms = hms.split(':');
    let h: i64 = num(hms.next()?)?;
    let m: i64 = num(hms.next()?)?;
    let s: i64 = num(hms.next()?)?;
    if hms.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let millis = match frac {
        Some(f) => {
            let digits: String = f.chars().chain("000".chars()).take(3).collect();
            num::<i64>(f)?;
            num::<i64>(&digits)?
        }
        None => 0,
    };
    let secs = days * 86_400 + h * 3600 + m * 60 + s - offset_secs;
    secs.checked_mul(1000)?.checked_add(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(1_694_033_429_123),
            "2023-09-06T20:50:29.123Z"
        );
        assert_eq!(rfc3339_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_millis(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_every_form() {
        let now = 1_700_000_000_000;
        assert_eq!(parse_time("1694033429", now), Ok(1_694_033_429_000));
        assert_eq!(
            parse_time("2023-09-06T20:50:29Z", now),
            Ok(1_694_033_429_000)
        );
        assert_eq!(
            parse_time("2023-09-06T20:50:29.5Z", now),
            Ok(1_694_033_429_500)
        );
        assert_eq!(
            parse_time("2023-09-06T22:50:29+02:00", now),
            Ok(1_694_033_429_000)
        );
        assert_eq!(parse_time("2023-09-06", now), Ok(1_693_958_400_000));
        assert_eq!(parse_time("15m", now), Ok(now - 900_000));
        assert_eq!(parse_time("2d", now), Ok(now - 172_800_000));
        for bad in [
            "",
            "yesterday",
            "2023-13-01",
            "2023-09-06T25:00:00Z",
            "5x",
            "m",
            "1.5h",
        ] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn round_trips() {
        for ms in [
            0,
            1,
            86_399_999,
            1_694_033_429_123,
            4_102_444_800_000,
            -86_400_000,
        ] {
            assert_eq!(parse_time(&rfc3339_millis(ms), 0), Ok(ms));
        }
    }
}
