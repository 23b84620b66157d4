//! Timestamps: epoch milliseconds and RFC 3339 (any offset) to UTC microseconds, and the
//! accepted range.
//!
//! - Epoch milliseconds: an optionally negative integer (a JSON number, or digits in a string or
//!   a CSV cell), times 1000.
//! - RFC 3339: `YYYY-MM-DD` `T` (or `t` or a space) `HH:MM:SS`, an optional fraction of 1 to 9
//!   digits, then `Z` (or `z`) or `±HH:MM`. Fractions beyond microseconds are truncated toward
//!   the earlier instant (floor); the offset is subtracted to get UTC. Leap seconds (`:60`) are
//!   not accepted: nothing AdvertiseX sends carries one.

use crate::reject::{RejectReason, Rejection};
use adstore_storage::TimestampMicros;
use adstore_storage::schema::MICROS_PER_DAY;

/// 2000-01-01T00:00:00Z in µs: the default lower bound of accepted event times.
pub const DEFAULT_MIN_TS: TimestampMicros = 946_684_800_000_000;

/// The accepted event-time range, both ends included, in µs since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsRange {
    /// Earliest accepted time.
    pub min: TimestampMicros,
    /// Latest accepted time.
    pub max: TimestampMicros,
}

impl TsRange {
    /// 2000-01-01T00:00:00Z to now + 1 day (the contract's default).
    pub fn default_from_now() -> TsRange {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        TsRange {
            min: DEFAULT_MIN_TS,
            max: now.saturating_add(MICROS_PER_DAY),
        }
    }

    /// Whether `ts` is accepted.
    pub fn contains(&self, ts: TimestampMicros) -> bool {
        (self.min..=self.max).contains(&ts)
    }

    /// `Ok(ts)` when in range, the `TsOutOfRange` rejection otherwise.
    pub fn check(&self, ts: TimestampMicros) -> Result<TimestampMicros, Rejection> {
        if self.contains(ts) {
            Ok(ts)
        } else {
            Err((
                RejectReason::TsOutOfRange,
                format!(
                    "ts {} outside [{}, {}]",
                    format_rfc3339(ts),
                    format_rfc3339(self.min),
                    format_rfc3339(self.max)
                ),
            ))
        }
    }
}

/// Epoch milliseconds to µs; `None` on overflow.
pub fn epoch_millis_to_micros(ms: i64) -> Option<TimestampMicros> {
    ms.checked_mul(1000)
}

/// Parses the text of a `ts`: epoch milliseconds when it is an integer, RFC 3339 otherwise.
pub fn parse_ts_text(text: &str) -> Result<TimestampMicros, Rejection> {
    let b = text.as_bytes();
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    let parsed = if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        text.parse::<i64>().ok().and_then(epoch_millis_to_micros)
    } else {
        parse_rfc3339(b)
    };
    parsed.ok_or_else(|| {
        (
            RejectReason::BadTimestamp,
            format!(
                "ts {:?} is neither epoch milliseconds nor RFC 3339 with an offset",
                truncate(text)
            ),
        )
    })
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn num(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        b.iter()
            .fold(0i64, |acc, &d| acc * 10 + i64::from(d - b'0')),
    )
}

/// Parses an RFC 3339 date-time with an offset to UTC µs; `None` when it is not one.
pub fn parse_rfc3339(b: &[u8]) -> Option<TimestampMicros> {
    // YYYY-MM-DDTHH:MM:SS is 19 bytes; the offset needs at least one more.
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = num(&b[0..4])?;
    let month = num(&b[5..7])?;
    let day = num(&b[8..10])?;
    let hour = num(&b[11..13])?;
    let minute = num(&b[14..16])?;
    let second = num(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut micros = 0i64;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        for i in 0..6 {
            micros = micros * 10
                + frac
                    .get(i)
                    .filter(|_| i < n)
                    .map_or(0, |&d| i64::from(d - b'0'));
        }
        rest = &frac[n..];
    }
    let offset_secs = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = num(&[*h1, *h2])?;
            let om = num(&[*m1, *m2])?;
            if oh > 23 || om > 59 {
                return None;
            }
            let s = (oh * 60 + om) * 60;
            if *sign == b'-' { -s } else { s }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(secs * 1_000_000 + micros)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats µs since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn format_rfc3339(ts: TimestampMicros) -> String {
    let days = ts.div_euclid(MICROS_PER_DAY);
    let in_day = ts.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = adstore_storage::schema::civil_from_days(days);
    let secs = in_day / 1_000_000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        in_day % 1_000_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_763_769_600_123_000; // 2025-11-22T00:00:00.123Z

    #[test]
    fn epoch_millis_become_micros() {
        assert_eq!(parse_ts_text("1763769600123"), Ok(T));
        assert_eq!(parse_ts_text("0"), Ok(0));
        assert_eq!(parse_ts_text("-1"), Ok(-1000));
        assert_eq!(
            parse_ts_text("99999999999999999").map_err(|e| e.0),
            Err(RejectReason::BadTimestamp)
        );
    }

    #[test]
    fn rfc3339_any_offset_becomes_utc_micros() {
        assert_eq!(parse_ts_text("2025-11-22T00:00:00.123Z"), Ok(T));
        assert_eq!(parse_ts_text("2025-11-22t00:00:00.123z"), Ok(T));
        assert_eq!(parse_ts_text("2025-11-22 00:00:00.123Z"), Ok(T));
        assert_eq!(parse_ts_text("2025-11-22T05:30:00.123+05:30"), Ok(T));
        assert_eq!(parse_ts_text("2025-11-21T16:00:00.123-08:00"), Ok(T));
        assert_eq!(parse_ts_text("2025-11-22T00:00:00.123-00:00"), Ok(T));
        // Microseconds kept, nanoseconds truncated.
        assert_eq!(parse_ts_text("2025-11-22T00:00:00.123456Z"), Ok(T + 456));
        assert_eq!(parse_ts_text("2025-11-22T00:00:00.123456789Z"), Ok(T + 456));
        assert_eq!(parse_ts_text("2025-11-22T00:00:00.1Z"), Ok(T - 23_000));
        assert_eq!(parse_ts_text("2025-11-22T00:00:00Z"), Ok(T - 123_000));
        assert_eq!(
            parse_ts_text("2024-02-29T00:00:00Z"),
            Ok(1_709_164_800_000_000)
        );
        assert_eq!(parse_ts_text("1969-12-31T23:59:59.999999Z"), Ok(-1));
    }

    #[test]
    fn malformed_timestamps_are_rejected() {
        for bad in [
            "",
            "-",
            "yesterday",
            "2025-11-22",
            "2025-11-22T00:00:00",
            "2025-11-22T00:00:00+0530",
            "2025-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2025-11-31T00:00:00Z",
            "2025-11-22T24:00:00Z",
            "2025-11-22T23:59:60Z",
            "2025-11-22T00:00:00.Z",
            "2025-11-22T00:00:00.1234567890Z",
            "2025-11-22T00:00:00Z ",
            "1.5",
            "1e3",
        ] {
            assert_eq!(
                parse_ts_text(bad).map_err(|e| e.0),
                Err(RejectReason::BadTimestamp),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn range_is_inclusive() {
        let r = TsRange {
            min: DEFAULT_MIN_TS,
            max: T,
        };
        assert_eq!(r.check(DEFAULT_MIN_TS), Ok(DEFAULT_MIN_TS));
        assert_eq!(r.check(T), Ok(T));
        assert_eq!(
            r.check(T + 1).map_err(|e| e.0),
            Err(RejectReason::TsOutOfRange)
        );
        assert_eq!(
            r.check(DEFAULT_MIN_TS - 1).map_err(|e| e.0),
            Err(RejectReason::TsOutOfRange)
        );
        assert_eq!(parse_ts_text("2000-01-01T00:00:00Z"), Ok(DEFAULT_MIN_TS));
        assert!(TsRange::default_from_now().contains(T));
    }

    #[test]
    fn format_round_trips() {
        for ts in [0, -1, T, T + 456, DEFAULT_MIN_TS] {
            assert_eq!(parse_ts_text(&format_rfc3339(ts)), Ok(ts));
        }
    }
}
