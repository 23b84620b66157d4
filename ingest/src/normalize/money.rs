//! Money to integer micros, exactly: no float ever sits between the input text and the integer.
//!
//! - Integer micros (`cost_micros`, `revenue_micros`): `-?[0-9]+`, must fit an i64.
//! - Decimal currency units (`cost`, `revenue`): `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?`, the
//!   JSON number grammar (an exponent is applied exactly). At most 6 decimal places after the
//!   exponent is applied (`2.1500001` and `1e-7` are rejects, `2.150000` is fine), so
//!   `0.1` is exactly 100000 micros.
//! - Avro doubles (bid floor, bid price, clearing price, CPM): the double's shortest round-trip
//!   decimal text (what `{}` prints, e.g. `2.5`, `0.1`, `1.2345675`), rounded at the 6th decimal
//!   half away from zero. A double that came from a decimal with at most 6 places (all real
//!   prices) prints back as that decimal, so it converts exactly; only a 7th significant decimal
//!   rounds. NaN and infinities are `BadDecimal`.
//!
//! A negative amount is `NegativeMoney` (after the syntax check, so `-abc` is `BadDecimal`);
//! `-0` is zero.

use crate::reject::{RejectReason, Rejection};

/// Micros per currency unit.
pub const MICROS_PER_UNIT: i64 = 1_000_000;
/// Decimal places a money value may carry.
pub const MAX_DECIMALS: i64 = 6;

fn bad(field: &str, text: &str, why: &str) -> Rejection {
    let shown: String = text.chars().take(64).collect();
    (
        RejectReason::BadDecimal,
        format!("{field} {shown:?}: {why}"),
    )
}

fn negative(field: &str, text: &str) -> Rejection {
    (
        RejectReason::NegativeMoney,
        format!("{field} {text} is negative"),
    )
}

/// Parses integer micros (`cost_micros`).
pub fn parse_integer_micros(field: &str, text: &str) -> Result<i64, Rejection> {
    let b = text.as_bytes();
    let (neg, digits) = match b.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, b),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad(field, text, "not an integer number of micros"));
    }
    let v = text
        .parse::<i64>()
        .map_err(|_| bad(field, text, "out of range"))?;
    if neg && v != 0 {
        return Err(negative(field, text));
    }
    Ok(v.max(0))
}

/// Parses a decimal amount in currency units (`cost`, `revenue`) to micros.
pub fn parse_decimal_micros(field: &str, text: &str) -> Result<i64, Rejection> {
    let b = text.as_bytes();
    let (neg, b) = match b.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, b),
    };
    let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if int_len == 0 {
        return Err(bad(field, text, "not a decimal number"));
    }
    let mut rest = &b[int_len..];
    let mut frac: &[u8] = &[];
    if let Some(r) = rest.strip_prefix(b".") {
        let n = r.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(bad(field, text, "not a decimal number"));
        }
        frac = &r[..n];
        rest = &r[n..];
    }
    let mut exp: i64 = 0;
    if let [b'e' | b'E', tail @ ..] = rest {
        let (eneg, edigits) = match tail {
            [b'-', d @ ..] => (true, d),
            [b'+', d @ ..] => (false, d),
            d => (false, d),
        };
        if edigits.is_empty() || edigits.len() > 4 || !edigits.iter().all(u8::is_ascii_digit) {
            return Err(bad(field, text, "not a decimal number"));
        }
        exp = edigits.iter().fold(0, |a, &d| a * 10 + i64::from(d - b'0'));
        if eneg {
            exp = -exp;
        }
        rest = &[];
    }
    if !rest.is_empty() {
        return Err(bad(field, text, "not a decimal number"));
    }
    let frac_len = i64::try_from(frac.len()).unwrap_or(i64::MAX);
    let decimals = frac_len - exp;
    if decimals > MAX_DECIMALS {
        return Err(bad(field, text, "more than 6 decimal places"));
    }
    let mut mantissa: i128 = 0;
    for &d in b[..int_len].iter().chain(frac) {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(d - b'0')))
            .ok_or_else(|| bad(field, text, "out of range"))?;
    }
    let micros = if mantissa == 0 {
        0
    } else {
        let scale =
            u32::try_from(MAX_DECIMALS - decimals).map_err(|_| bad(field, text, "out of range"))?;
        10i128
            .checked_pow(scale)
            .and_then(|p| mantissa.checked_mul(p))
            .and_then(|m| i64::try_from(m).ok())
            .ok_or_else(|| bad(field, text, "out of range"))?
    };
    if neg && micros != 0 {
        return Err(negative(field, text));
    }
    Ok(micros)
}

/// Converts an Avro double in currency units (a CPM price) to micros: shortest round-trip
/// decimal text, rounded at the 6th decimal half away from zero.
pub fn double_to_micros(field: &str, value: f64) -> Result<i64, Rejection> {
    if !value.is_finite() {
        return Err(bad(field, &value.to_string(), "not a finite number"));
    }
    // `{}` on f64 prints the shortest text that parses back to the same double, never with an
    // exponent; the magnitude check keeps that text short.
    if value.abs() >= 9.0e12 {
        return Err(bad(field, &value.to_string(), "out of range"));
    }
    let text = format!("{}", value.abs());
    let (int_part, frac_part) = text.split_once('.').unwrap_or((text.as_str(), ""));
    let mut micros: i64 = 0;
    for d in int_part
        .bytes()
        .chain(frac_part.bytes().chain(std::iter::repeat(b'0')).take(6))
    {
        micros = micros * 10 + i64::from(d - b'0');
    }
    if frac_part.as_bytes().get(6).is_some_and(|&d| d >= b'5') {
        micros += 1;
    }
    if value < 0.0 && micros != 0 {
        return Err(negative(field, &value.to_string()));
    }
    Ok(micros)
}

/// A won auction's cost for its one impression: the clearing price (CPM micros) / 1000,
/// rounded half away from zero (prices are never negative here).
pub fn cpm_to_impression_cost_micros(clearing_cpm_micros: i64) -> i64 {
    (clearing_cpm_micros + 500) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(t: &str) -> Result<i64, RejectReason> {
        parse_decimal_micros("cost", t).map_err(|e| e.0)
    }

    #[test]
    fn decimals_convert_exactly() {
        assert_eq!(dec("0.1"), Ok(100_000));
        assert_eq!(dec("2.15"), Ok(2_150_000));
        assert_eq!(dec("12.50"), Ok(12_500_000));
        assert_eq!(dec("0.000001"), Ok(1));
        assert_eq!(dec("2.150000"), Ok(2_150_000));
        assert_eq!(dec("7"), Ok(7_000_000));
        assert_eq!(dec("-0"), Ok(0));
        assert_eq!(dec("-0.000"), Ok(0));
        assert_eq!(dec("2.15e2"), Ok(215_000_000));
        assert_eq!(dec("215E-2"), Ok(2_150_000));
        assert_eq!(dec("1e-6"), Ok(1));
        assert_eq!(dec("0e-99"), Err(RejectReason::BadDecimal));
        assert_eq!(dec("9223372036854.775807"), Ok(i64::MAX));
    }

    #[test]
    fn bad_decimals_and_negatives_are_rejected() {
        for t in [
            "", "-", "abc", "1.", ".5", "1.2.3", "1,5", "+1", "1e", "1e+", " 1", "1 ", "0x10",
            "NaN",
        ] {
            assert_eq!(dec(t), Err(RejectReason::BadDecimal), "{t:?}");
        }
        assert_eq!(dec("2.1500001"), Err(RejectReason::BadDecimal));
        assert_eq!(dec("1e-7"), Err(RejectReason::BadDecimal));
        assert_eq!(dec("9223372036854.775808"), Err(RejectReason::BadDecimal));
        assert_eq!(dec("1e9999"), Err(RejectReason::BadDecimal));
        assert_eq!(dec("-2.15"), Err(RejectReason::NegativeMoney));
        assert_eq!(dec("-abc"), Err(RejectReason::BadDecimal));
    }

    #[test]
    fn integer_micros() {
        let p = |t| parse_integer_micros("cost_micros", t).map_err(|e| e.0);
        assert_eq!(p("2150"), Ok(2150));
        assert_eq!(p("0"), Ok(0));
        assert_eq!(p("-0"), Ok(0));
        assert_eq!(p("-5"), Err(RejectReason::NegativeMoney));
        assert_eq!(p("2150.0"), Err(RejectReason::BadDecimal));
        assert_eq!(p("1e3"), Err(RejectReason::BadDecimal));
        assert_eq!(p("99999999999999999999"), Err(RejectReason::BadDecimal));
        assert_eq!(p(""), Err(RejectReason::BadDecimal));
    }

    #[test]
    fn doubles_round_half_away_from_zero_at_the_sixth_decimal() {
        let d = |v| double_to_micros("bid_price", v).map_err(|e| e.0);
        assert_eq!(d(2.5), Ok(2_500_000));
        assert_eq!(d(0.1), Ok(100_000));
        assert_eq!(d(0.3), Ok(300_000)); // 0.1 + 0.2 style values print as written
        assert_eq!(d(1.234567), Ok(1_234_567));
        assert_eq!(d(1.2345675), Ok(1_234_568));
        assert_eq!(d(1.2345674999), Ok(1_234_567));
        assert_eq!(d(0.0000005), Ok(1));
        assert_eq!(d(0.0000004), Ok(0));
        assert_eq!(d(0.0), Ok(0));
        assert_eq!(d(-0.0), Ok(0));
        assert_eq!(d(-0.0000004), Ok(0));
        assert_eq!(d(123456.789), Ok(123_456_789_000));
        assert_eq!(d(-1.5), Err(RejectReason::NegativeMoney));
        assert_eq!(d(f64::NAN), Err(RejectReason::BadDecimal));
        assert_eq!(d(f64::INFINITY), Err(RejectReason::BadDecimal));
        assert_eq!(d(1e300), Err(RejectReason::BadDecimal));
        // Every price with at most 6 decimals converts exactly.
        for micros in (0..2_000_000_000i64).step_by(999_983) {
            #[expect(clippy::cast_precision_loss, reason = "below 2^53")]
            let v = micros as f64 / 1e6;
            assert_eq!(d(v), Ok(micros), "{v}");
        }
    }

    #[test]
    fn impression_cost_is_cpm_over_1000_rounded() {
        assert_eq!(cpm_to_impression_cost_micros(2_500_000), 2_500);
        assert_eq!(cpm_to_impression_cost_micros(2_500_499), 2_500);
        assert_eq!(cpm_to_impression_cost_micros(2_500_500), 2_501);
        assert_eq!(cpm_to_impression_cost_micros(0), 0);
    }
}
