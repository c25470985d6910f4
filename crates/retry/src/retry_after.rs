//! `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A server's `Retry-After` hint, already turned into a delay from the moment the response
/// was received (see [`parse_retry_after`]). Serialized as whole milliseconds.
///
/// The policy decides how much of it to honour: see [`RetryAfterRule`](crate::RetryAfterRule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RetryAfter(#[serde(with = "crate::ms")] Duration);

impl RetryAfter {
    /// A hint of exactly `delay`.
    pub const fn from_duration(delay: Duration) -> Self {
        Self(delay)
    }

    /// Parses a header value received at `now` (see [`parse_retry_after`]).
    pub fn parse(value: &str, now: SystemTime) -> Option<Self> {
        parse_retry_after(value, now).map(Self)
    }

    /// The delay the server asked for.
    pub const fn delay(self) -> Duration {
        self.0
    }
}

impl From<Duration> for RetryAfter {
    fn from(delay: Duration) -> Self {
        Self(delay)
    }
}

/// Parses a `Retry-After` header value received at `now` into a delay.
///
/// Accepts delay-seconds (`"120"`, ASCII digits only) and the three HTTP-date forms of
/// RFC 9110 §5.6.7: IMF-fixdate (`"Sun, 06 Nov 1994 08:49:37 GMT"`), the obsolete RFC 850
/// form (`"Sunday, 06-Nov-94 08:49:37 GMT"`) and asctime (`"Sun Nov  6 08:49:37 1994"`).
/// A date in the past gives [`Duration::ZERO`]. Anything else (negative or fractional
/// seconds, a number too large for `u64`, a malformed date) gives `None`; it never panics.
/// The result is not clamped here: the policy clamps it (see
/// [`RetryAfterRule`](crate::RetryAfterRule)).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use hookwire_retry::parse_retry_after;
///
/// let now = UNIX_EPOCH + Duration::from_secs(784_111_757); // 1994-11-06 08:49:17 UTC
/// assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
/// assert_eq!(
///     parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
///     Some(Duration::from_secs(20))
/// );
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let date = parse_http_date(value)?;
    // Seconds since the epoch, possibly negative for a `now` before 1970.
    let (now_secs, now_nanos) = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => (i128::from(d.as_secs()), d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            (-i128::from(d.as_secs()), 0)
        }
    };
    let date = i128::from(date);
    if date <= now_secs {
        return Some(Duration::ZERO);
    }
    let whole = u64::try_from(date - now_secs).ok()?;
    Some(Duration::from_secs(whole).saturating_sub(Duration::from_nanos(u64::from(now_nanos))))
}

/// Unix seconds of an HTTP-date, or `None` when malformed.
fn parse_http_date(s: &str) -> Option<i64> {
    if let Some((wday, rest)) = s.split_once(',') {
        let rest = rest.strip_prefix(' ')?;
        if is_short_weekday(wday) {
            // IMF-fixdate: "06 Nov 1994 08:49:37 GMT"
            let mut it = rest.split(' ');
            let day = two_digits(it.next()?)?;
            let month = month(it.next()?)?;
            let year = four_digits(it.next()?)?;
            let (h, m, sec) = time(it.next()?)?;
            if it.next()? != "GMT" || it.next().is_some() {
                return None;
            }
            to_unix(year, month, day, h, m, sec)
        } else if is_long_weekday(wday) {
            // RFC 850: "06-Nov-94 08:49:37 GMT"
            let mut it = rest.split(' ');
            let mut date = it.next()?.split('-');
            let day = two_digits(date.next()?)?;
            let month = month(date.next()?)?;
            let yy = two_digits(date.next()?)?;
            if date.next().is_some() {
                return None;
            }
            // Two-digit years: 70..=99 are 19xx, the rest 20xx (RFC 9110 asks to read a
            // year more than 50 years ahead as the past century; this is the usual reading).
            let year = if yy >= 70 { 1900 + yy } else { 2000 + yy };
            let (h, m, sec) = time(it.next()?)?;
            if it.next()? != "GMT" || it.next().is_some() {
                return None;
            }
            to_unix(year, month, day, h, m, sec)
        } else {
            None
        }
    } else {
        // asctime: "Sun Nov  6 08:49:37 1994" (day padded with a space when < 10)
        let mut it = s.split_whitespace();
        if !is_short_weekday(it.next()?) {
            return None;
        }
        let month = month(it.next()?)?;
        let day_str = it.next()?;
        if day_str.is_empty() || day_str.len() > 2 || !day_str.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let day: u32 = day_str.parse().ok()?;
        let (h, m, sec) = time(it.next()?)?;
        let year = four_digits(it.next()?)?;
        if it.next().is_some() {
            return None;
        }
        to_unix(year, month, day, h, m, sec)
    }
}

const SHORT_DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn is_short_weekday(s: &str) -> bool {
    SHORT_DAYS.contains(&s)
}

fn is_long_weekday(s: &str) -> bool {
    LONG_DAYS.contains(&s)
}

fn month(s: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| *m == s)
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn digits(s: &str, n: usize) -> Option<u32> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn two_digits(s: &str) -> Option<u32> {
    digits(s, 2)
}

fn four_digits(s: &str) -> Option<u32> {
    digits(s, 4)
}

fn time(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.split(':');
    let h = two_digits(it.next()?)?;
    let m = two_digits(it.next()?)?;
    let sec = two_digits(it.next()?)?;
    if it.next().is_some() || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some((h, m, sec))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        _ => 28,
    }
}

fn to_unix(year: u32, month: u32, day: u32, h: u32, m: u32, s: u32) -> Option<i64> {
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT

    #[test]
    fn three_date_forms_agree() {
        let now = UNIX_EPOCH + Duration::from_secs(T - 60);
        for v in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                parse_retry_after(v, now),
                Some(Duration::from_secs(60)),
                "{v}"
            );
        }
    }

    #[test]
    fn known_epochs() {
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Sat, 29 Feb 2000 00:00:00 GMT"),
            Some(951_782_400)
        );
        assert_eq!(parse_http_date("Tue, 29 Feb 2100 00:00:00 GMT"), None);
        assert_eq!(
            parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(253_402_300_799)
        );
    }

    #[test]
    fn past_dates_are_zero_and_subsecond_now_is_honoured() {
        let now = UNIX_EPOCH + Duration::from_secs(T + 5);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        let now = UNIX_EPOCH + Duration::from_millis((T - 1) * 1000 + 250);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_millis(750))
        );
    }

    #[test]
    fn rejects_malformed() {
        let now = UNIX_EPOCH;
        for v in [
            "",
            " ",
            "-1",
            "1.5",
            "+3",
            "1e3",
            "99999999999999999999999",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sun,  06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT x",
            "Sun Nov 6 08:49:37",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(v, now), None, "{v:?}");
        }
    }

    #[test]
    fn seconds_with_whitespace() {
        assert_eq!(
            parse_retry_after(" 7\t", UNIX_EPOCH),
            Some(Duration::from_secs(7))
        );
        assert_eq!(parse_retry_after("0", UNIX_EPOCH), Some(Duration::ZERO));
    }
}
