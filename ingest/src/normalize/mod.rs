//! Normalization rules shared by the decoders, each exactly as the input contract says
//! (`docs/FORMAT.md`, "Input formats"):
//! - [`ts`]: epoch ms and RFC 3339 (any offset) to UTC µs; the accepted range [`TsRange`].
//! - [`money`]: decimals and integer micros to micros with no float; Avro doubles by a stated
//!   rounding rule; a won auction's impression cost.
//! - [`country`]: ISO 3166-1 alpha-3 to alpha-2.
//! - [`device`]: OpenRTB devicetype to device words.

pub mod country;
pub mod device;
pub mod money;
pub mod ts;

pub use country::country_alpha2;
pub use device::device_word;
pub use money::{
    cpm_to_impression_cost_micros, double_to_micros, parse_decimal_micros, parse_integer_micros,
};
pub use ts::{TsRange, parse_ts_text};

use crate::reject::{RejectReason, Rejection};

/// Money given either as integer micros or as a decimal in units (both given is a reject).
pub fn money_micros(
    micros_field: &str,
    micros: Option<&str>,
    decimal_field: &str,
    decimal: Option<&str>,
) -> Result<i64, Rejection> {
    match (micros, decimal) {
        (Some(_), Some(_)) => Err((
            RejectReason::ConflictingMoney,
            format!("both {micros_field} and {decimal_field} given"),
        )),
        (Some(m), None) => parse_integer_micros(micros_field, m),
        (None, Some(d)) => parse_decimal_micros(decimal_field, d),
        (None, None) => Ok(0),
    }
}

/// A required string: `Ok` when present and not empty, `MissingField` otherwise.
pub fn required<'a>(field: &str, value: Option<&'a str>) -> Result<&'a str, Rejection> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => Err((RejectReason::MissingField, format!("{field} is empty"))),
        None => Err((RejectReason::MissingField, format!("{field} is missing"))),
    }
}
