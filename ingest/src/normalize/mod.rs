//! Normalization rules shared by the decoders, each exactly as the input contract says
//! (`docs/FORMAT.md`, "Input formats"):
//! - [`ts`]: epoch ms and RFC 3339 (any offset) to UTC µs; the accepted range [`TsRange`].
//! - [`money`]: decimals and integer micros to micros with no float; Avro doubles by a stated
//!   rounding rule; a won auction's impression cost.
//! - [`country`]: ISO 3166-1 alpha-3 to alpha-2.
//! - [`device`]: OpenRTB devicetype to device words; device words as sent in JSON.
//! - [`bounded`]: no string field longer than [`MAX_FIELD_BYTES`].

pub mod country;
pub mod device;
pub mod money;
pub mod ts;

pub use country::country_alpha2;
pub use device::{device_from_word, device_word};
pub use money::{
    cpm_to_impression_cost_micros, double_to_micros, parse_decimal_micros, parse_integer_micros,
};
pub use ts::{TsRange, parse_ts_text};

use adstore_storage::EventRef;

use crate::reject::{RejectReason, Rejection};

/// Longest string field accepted, in bytes. Ids, domains and os names are far shorter; the bound
/// keeps one hostile row from bloating a segment's dictionaries and key blocks (a segment stores
/// the first event id of each key block with a u16 length, see FORMAT.md "Segment footer").
pub const MAX_FIELD_BYTES: usize = 1024;

/// The event unchanged when every string field fits [`MAX_FIELD_BYTES`]; `FieldTooLong` naming
/// the first field that does not, otherwise. Run by every decoder on every event it accepts.
pub fn bounded(e: EventRef<'_>) -> Result<EventRef<'_>, Rejection> {
    let fields = [
        ("event_id", e.event_id),
        ("campaign_id", e.campaign_id),
        ("creative_id", e.creative_id),
        ("user_id", e.user_id),
        ("site", e.site),
        ("country", e.country),
        ("device", e.device),
        ("os", e.os),
        ("conversion_type", e.conversion_type),
        ("impression_id", e.impression_id),
    ];
    match fields.iter().find(|(_, v)| v.len() > MAX_FIELD_BYTES) {
        Some((name, v)) => Err((
            RejectReason::FieldTooLong,
            format!("{name} is {} bytes, longer than {MAX_FIELD_BYTES}", v.len()),
        )),
        None => Ok(e),
    }
}

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
