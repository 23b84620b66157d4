//! Why a row is rejected: [`RejectReason`], one enum for the three formats, and [`Rejected`],
//! the rejected row as a decoder hands it over (raw bytes, position, reason, detail).
//!
//! A rejected row is never an error and never silently dropped: the ingest pipeline writes it to
//! the dead-letter store (see [`crate::deadletter`]) and counts it per reason. The codes are part
//! of the dead-letter format and never change meaning; new reasons take new codes.
//!
//! Checks run in this order, and a row gets the reason of the first check it fails: encoding
//! (UTF-8, JSON syntax, CSV column count), field types, required fields, `ts` (parse, then range),
//! `event_type`, `conversion_type`, money (both forms given, decimal syntax, sign), `country`
//! and `device` vocabularies, then the length of every string field.

use std::fmt;

/// Why a row was rejected. `#[repr(u8)]`: the discriminant is the code stored in dead letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
#[non_exhaustive]
pub enum RejectReason {
    /// A JSON line that is not one well-formed JSON object (syntax error, truncated line,
    /// trailing bytes, an array or a scalar instead of an object, a line over the length limit).
    MalformedJson = 1,
    /// A row whose bytes are not valid UTF-8.
    InvalidUtf8 = 2,
    /// A CSV record with more or fewer fields than the header.
    CsvColumnCount = 3,
    /// A field of the wrong JSON type (a number where a string is expected, an object for money).
    WrongType = 4,
    /// A required field absent, null or empty.
    MissingField = 5,
    /// A `ts` that is neither epoch milliseconds nor an RFC 3339 timestamp with an offset.
    BadTimestamp = 6,
    /// A `ts` outside the accepted range (default 2000-01-01T00:00:00Z to now + 1 day).
    TsOutOfRange = 7,
    /// An `event_type` other than `click` or `conversion` (CSV).
    UnknownEventType = 8,
    /// A conversion without `conversion_type`.
    ConversionWithoutType = 9,
    /// The same amount given twice (`cost` and `cost_micros`, or `revenue` and `revenue_micros`).
    ConflictingMoney = 10,
    /// Money that is not a decimal (or integer micros) we can convert exactly: not a number,
    /// more than 6 decimals, out of the i64 micros range, a non-finite Avro double.
    BadDecimal = 11,
    /// Negative money (cost, revenue, bid floor, bid price, clearing price).
    NegativeMoney = 12,
    /// A string field longer than [`crate::normalize::MAX_FIELD_BYTES`] (ids, site, os...).
    FieldTooLong = 13,
    /// A value outside its field's vocabulary: a `country` that is not an ISO 3166-1 code, a
    /// `device` that is not one of `mobile`, `desktop`, `tablet`, `ctv`, `other` (JSON).
    InvalidValue = 14,
}

impl RejectReason {
    /// Every reason, in code order.
    pub const ALL: [RejectReason; 14] = [
        RejectReason::MalformedJson,
        RejectReason::InvalidUtf8,
        RejectReason::CsvColumnCount,
        RejectReason::WrongType,
        RejectReason::MissingField,
        RejectReason::BadTimestamp,
        RejectReason::TsOutOfRange,
        RejectReason::UnknownEventType,
        RejectReason::ConversionWithoutType,
        RejectReason::ConflictingMoney,
        RejectReason::BadDecimal,
        RejectReason::NegativeMoney,
        RejectReason::FieldTooLong,
        RejectReason::InvalidValue,
    ];

    /// The code stored in dead-letter records.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The reason of a stored code, `None` for a code this build does not know.
    pub fn from_code(code: u8) -> Option<RejectReason> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The snake_case name printed in summaries and accepted by `adstore deadletter --reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::MalformedJson => "malformed_json",
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::CsvColumnCount => "csv_column_count",
            RejectReason::WrongType => "wrong_type",
            RejectReason::MissingField => "missing_field",
            RejectReason::BadTimestamp => "bad_timestamp",
            RejectReason::TsOutOfRange => "ts_out_of_range",
            RejectReason::UnknownEventType => "unknown_event_type",
            RejectReason::ConversionWithoutType => "conversion_without_type",
            RejectReason::ConflictingMoney => "conflicting_money",
            RejectReason::BadDecimal => "bad_decimal",
            RejectReason::NegativeMoney => "negative_money",
            RejectReason::FieldTooLong => "field_too_long",
            RejectReason::InvalidValue => "invalid_value",
        }
    }

    /// Parses a name as printed by [`RejectReason::as_str`].
    pub fn parse(name: &str) -> Option<RejectReason> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reason and a one-line detail (which field, what value): what a validation step returns.
pub type Rejection = (RejectReason, String);

/// A rejected row, as a decoder delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// 1-based line number (JSON Lines), line of the record's start (CSV) or record number
    /// (Avro) in the file.
    pub position: u64,
    /// Why.
    pub reason: RejectReason,
    /// Which field and value, for people.
    pub detail: String,
    /// The row's bytes: the line (JSON Lines), the record re-encoded as one CSV line (CSV), the
    /// record as JSON under the reader schema (Avro). At most [`MAX_RAW_BYTES`].
    pub raw: Vec<u8>,
}

/// Longest raw row kept in a dead letter; longer rows keep their first bytes (the detail says so).
pub const MAX_RAW_BYTES: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip_and_are_unique() {
        for (i, r) in RejectReason::ALL.iter().enumerate() {
            assert_eq!(usize::from(r.code()), i + 1);
            assert_eq!(RejectReason::from_code(r.code()), Some(*r));
            assert_eq!(RejectReason::parse(r.as_str()), Some(*r));
        }
        assert_eq!(RejectReason::from_code(0), None);
        assert_eq!(RejectReason::from_code(15), None);
        assert_eq!(RejectReason::parse("nope"), None);
    }
}
