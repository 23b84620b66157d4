//! UTC calendar arithmetic: reading `'YYYY-MM-DD[ hh:mm:ss[.ffffff]]'` literals, formatting dates
//! and times, and the time-bucket functions (`toStartOfMinute`, `toStartOfHour`,
//! `toStartOfDay`, `toDate`, `toDateTime`, `toUnixTimestamp`). Everything is UTC: adstore has
//! no other time zone.

use adstore_storage::schema::civil_from_days;

/// Microseconds per second.
pub const MICROS_PER_SECOND: i64 = 1_000_000;
/// Seconds per day.
pub const SECONDS_PER_DAY: i64 = 86_400;

/// A time function of the query language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeFn {
    /// `toStartOfMinute`: a `DateTime`.
    StartOfMinute,
    /// `toStartOfHour`: a `DateTime`.
    StartOfHour,
    /// `toStartOfDay`: a `DateTime`.
    StartOfDay,
    /// `toDate`: a `Date`.
    ToDate,
    /// `toDateTime`: a `DateTime` (truncates sub-second digits).
    ToDateTime,
    /// `toUnixTimestamp`: seconds since the epoch as `UInt32`.
    ToUnixTimestamp,
}

impl TimeFn {
    /// Applies the function to a time in microseconds; the result is in the unit of the
    /// function's result type (days for `toDate`, seconds otherwise).
    pub fn apply_micros(self, micros: i64) -> i64 {
        let secs = micros.div_euclid(MICROS_PER_SECOND);
        match self {
            TimeFn::StartOfMinute => secs - secs.rem_euclid(60),
            TimeFn::StartOfHour => secs - secs.rem_euclid(3600),
            TimeFn::StartOfDay => secs - secs.rem_euclid(SECONDS_PER_DAY),
            TimeFn::ToDate => secs.div_euclid(SECONDS_PER_DAY),
            TimeFn::ToDateTime => secs,
            // UInt32 in ClickHouse: times before 1970 or after 2106 wrap.
            TimeFn::ToUnixTimestamp => secs & 0xFFFF_FFFF,
        }
    }

    /// The width of the bucket the function maps a time to, in microseconds.
    pub fn bucket_micros(self) -> i64 {
        match self {
            TimeFn::StartOfMinute => 60 * MICROS_PER_SECOND,
            TimeFn::StartOfHour => 3600 * MICROS_PER_SECOND,
            TimeFn::StartOfDay | TimeFn::ToDate => SECONDS_PER_DAY * MICROS_PER_SECOND,
            TimeFn::ToDateTime | TimeFn::ToUnixTimestamp => MICROS_PER_SECOND,
        }
    }

    /// The function's name in SQL.
    pub fn name(self) -> &'static str {
        match self {
            TimeFn::StartOfMinute => "toStartOfMinute",
            TimeFn::StartOfHour => "toStartOfHour",
            TimeFn::StartOfDay => "toStartOfDay",
            TimeFn::ToDate => "toDate",
            TimeFn::ToDateTime => "toDateTime",
            TimeFn::ToUnixTimestamp => "toUnixTimestamp",
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Reads `YYYY-MM-DD` as days since the epoch.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d) = (digits(y)?, digits(m)?, digits(d)?);
    let (m, d) = (u32::try_from(m).ok()?, u32::try_from(d).ok()?);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Reads `YYYY-MM-DD`, `YYYY-MM-DD hh:mm:ss` or `YYYY-MM-DD hh:mm:ss.f` (1 to 6 fraction
/// digits) as microseconds since the epoch, UTC.
pub fn parse_datetime_micros(s: &str) -> Option<i64> {
    let (date, time) = match s.split_once(' ') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let days = parse_date(date)?;
    let mut micros = days.checked_mul(SECONDS_PER_DAY * MICROS_PER_SECOND)?;
    if let Some(time) = time {
        let (hms, frac) = match time.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (time, None),
        };
        let mut parts = hms.split(':');
        let (h, mi, se) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || h.len() != 2 || mi.len() != 2 || se.len() != 2 {
            return None;
        }
        let (h, mi, se) = (digits(h)?, digits(mi)?, digits(se)?);
        if h > 23 || mi > 59 || se > 59 {
            return None;
        }
        micros += (h * 3600 + mi * 60 + se) * MICROS_PER_SECOND;
        if let Some(frac) = frac {
            if frac.len() > 6 {
                return None;
            }
            let f = digits(frac)?;
            micros += f * 10_i64.pow(6 - u32::try_from(frac.len()).ok()?);
        }
    }
    Some(micros)
}

/// Formats days since the epoch as `YYYY-MM-DD`.
pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Formats seconds since the epoch as `YYYY-MM-DD hh:mm:ss`.
pub fn format_datetime(secs: i64) -> String {
    let days = secs.div_euclid(SECONDS_PER_DAY);
    let s = secs.rem_euclid(SECONDS_PER_DAY);
    format!(
        "{} {:02}:{:02}:{:02}",
        format_date(days),
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// Formats microseconds since the epoch as `YYYY-MM-DD hh:mm:ss.ffffff`.
pub fn format_datetime_micros(micros: i64) -> String {
    let secs = micros.div_euclid(MICROS_PER_SECOND);
    format!(
        "{}.{:06}",
        format_datetime(secs),
        micros.rem_euclid(MICROS_PER_SECOND)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_round_trip() {
        let t = parse_datetime_micros("2025-11-22 13:45:07.25").unwrap_or_default();
        assert_eq!(format_datetime_micros(t), "2025-11-22 13:45:07.250000");
        assert_eq!(
            parse_datetime_micros("2025-11-22"),
            Some(20_414 * 86_400_000_000)
        );
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(format_date(-1), "1969-12-31");
        for bad in [
            "2025-13-01",
            "2025-02-30",
            "2025-11-22 24:00:00",
            "2025-11-22T00:00:00",
            "2025-11-22 00:00:00.1234567",
            "25-11-22",
            "",
        ] {
            assert_eq!(parse_datetime_micros(bad), None, "{bad}");
        }
        assert_eq!(
            parse_date("2024-02-29").map(format_date).as_deref(),
            Some("2024-02-29")
        );
    }

    #[test]
    fn buckets_floor_negative_times() {
        let t = parse_datetime_micros("2025-11-22 13:45:07.5").unwrap_or_default();
        assert_eq!(
            format_datetime(TimeFn::StartOfHour.apply_micros(t)),
            "2025-11-22 13:00:00"
        );
        assert_eq!(
            format_datetime(TimeFn::StartOfMinute.apply_micros(t)),
            "2025-11-22 13:45:00"
        );
        assert_eq!(format_date(TimeFn::ToDate.apply_micros(t)), "2025-11-22");
        assert_eq!(TimeFn::ToDate.apply_micros(-1), -1);
        assert_eq!(TimeFn::StartOfDay.apply_micros(-1), -86_400);
    }
}
