//! The event table: the one definition of adstore's columns, shared by every crate.
//!
//! Every input format is normalized into this table (see `docs/FORMAT.md`, "Event schema"). The
//! column order is part of the on-disk format: a [`ColumnId`] is the column's position, written into
//! WAL records and segment footers, and [`SCHEMA_VERSION`] changes whenever a column is added,
//! removed or re-typed.

use std::fmt;

/// Version of the event schema. Stored in every WAL file header and segment footer.
pub const SCHEMA_VERSION: u16 = 1;

/// Microseconds since the Unix epoch, UTC: the unit of every timestamp in adstore.
pub type TimestampMicros = i64;

/// Microseconds in one UTC day.
pub const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;

/// Longest event_id a store accepts, in bytes (`u16::MAX`): segment footers keep each key block's
/// first id with a u16 length (`docs/FORMAT.md`, "Segment footer"). Ingest rejects far shorter.
pub const MAX_EVENT_ID_BYTES: usize = 65_535;

/// The kind of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum EventType {
    /// An ad was displayed.
    Impression = 0,
    /// A displayed ad was clicked.
    Click = 1,
    /// A click (or view) led to a conversion: signup, purchase, install...
    Conversion = 2,
    /// A real-time-bidding auction AdvertiseX took part in.
    BidRequest = 3,
}

impl EventType {
    /// All event types, in code order.
    pub const ALL: [EventType; 4] = [
        EventType::Impression,
        EventType::Click,
        EventType::Conversion,
        EventType::BidRequest,
    ];

    /// The on-disk code of this type.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The type of an on-disk code, or `None` for an unknown code.
    pub fn from_code(code: u8) -> Option<EventType> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// The lowercase name used by the input formats and the query language.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Impression => "impression",
            EventType::Click => "click",
            EventType::Conversion => "conversion",
            EventType::BidRequest => "bid_request",
        }
    }

    /// Parses the lowercase name (`impression`, `click`, `conversion`, `bid_request`).
    pub fn parse(name: &str) -> Option<EventType> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a column is typed and encoded on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// High-cardinality string: stored plain (offsets + bytes), then zstd.
    PlainString,
    /// Low-cardinality string: a per-segment sorted dictionary plus integer codes.
    DictString,
    /// Signed 64-bit integer (timestamps, money in micros): delta/zigzag/bit-packed, then zstd.
    I64,
    /// The event type as its one-byte code.
    EventType,
    /// A boolean, bit-packed.
    Bool,
}

/// A column of the event table; its discriminant is its position in the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ColumnId {
    /// The dedup key.
    EventId = 0,
    /// impression, click, conversion or bid_request.
    EventType = 1,
    /// Event time, µs since epoch, UTC.
    Ts = 2,
    /// The campaign; part of the sort key and the partition key.
    CampaignId = 3,
    /// The creative shown.
    CreativeId = 4,
    /// The user; bloom-indexed for point look-ups.
    UserId = 5,
    /// Publisher domain or app bundle.
    Site = 6,
    /// ISO 3166-1 alpha-2 country.
    Country = 7,
    /// mobile, desktop, tablet, ctv, other.
    Device = 8,
    /// Operating system, free text.
    Os = 9,
    /// signup, purchase, install, ... (conversions only).
    ConversionType = 10,
    /// For clicks and conversions: the impression they follow.
    ImpressionId = 11,
    /// What AdvertiseX paid, micros.
    CostMicros = 12,
    /// Conversion value, micros.
    RevenueMicros = 13,
    /// Bid floor of the first imp, CPM micros.
    BidFloorMicros = 14,
    /// AdvertiseX's bid, CPM micros.
    BidPriceMicros = 15,
    /// Price paid when won, CPM micros.
    ClearingPriceMicros = 16,
    /// Whether AdvertiseX won the auction.
    Won = 17,
}

/// Number of columns in the schema.
pub const COLUMN_COUNT: usize = 18;

impl ColumnId {
    /// All columns in schema order.
    pub const ALL: [ColumnId; COLUMN_COUNT] = [
        ColumnId::EventId,
        ColumnId::EventType,
        ColumnId::Ts,
        ColumnId::CampaignId,
        ColumnId::CreativeId,
        ColumnId::UserId,
        ColumnId::Site,
        ColumnId::Country,
        ColumnId::Device,
        ColumnId::Os,
        ColumnId::ConversionType,
        ColumnId::ImpressionId,
        ColumnId::CostMicros,
        ColumnId::RevenueMicros,
        ColumnId::BidFloorMicros,
        ColumnId::BidPriceMicros,
        ColumnId::ClearingPriceMicros,
        ColumnId::Won,
    ];

    /// The column's position in the schema.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The column at a schema position.
    pub fn from_index(index: usize) -> Option<ColumnId> {
        Self::ALL.get(index).copied()
    }

    /// The column's name in the query language.
    pub fn name(self) -> &'static str {
        match self {
            ColumnId::EventId => "event_id",
            ColumnId::EventType => "event_type",
            ColumnId::Ts => "ts",
            ColumnId::CampaignId => "campaign_id",
            ColumnId::CreativeId => "creative_id",
            ColumnId::UserId => "user_id",
            ColumnId::Site => "site",
            ColumnId::Country => "country",
            ColumnId::Device => "device",
            ColumnId::Os => "os",
            ColumnId::ConversionType => "conversion_type",
            ColumnId::ImpressionId => "impression_id",
            ColumnId::CostMicros => "cost_micros",
            ColumnId::RevenueMicros => "revenue_micros",
            ColumnId::BidFloorMicros => "bid_floor_micros",
            ColumnId::BidPriceMicros => "bid_price_micros",
            ColumnId::ClearingPriceMicros => "clearing_price_micros",
            ColumnId::Won => "won",
        }
    }

    /// The column with this name.
    pub fn by_name(name: &str) -> Option<ColumnId> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// How the column is typed and encoded.
    pub fn kind(self) -> ColumnKind {
        match self {
            ColumnId::EventId | ColumnId::UserId | ColumnId::ImpressionId => {
                ColumnKind::PlainString
            }
            ColumnId::CampaignId
            | ColumnId::CreativeId
            | ColumnId::Site
            | ColumnId::Country
            | ColumnId::Device
            | ColumnId::Os
            | ColumnId::ConversionType => ColumnKind::DictString,
            ColumnId::Ts
            | ColumnId::CostMicros
            | ColumnId::RevenueMicros
            | ColumnId::BidFloorMicros
            | ColumnId::BidPriceMicros
            | ColumnId::ClearingPriceMicros => ColumnKind::I64,
            ColumnId::EventType => ColumnKind::EventType,
            ColumnId::Won => ColumnKind::Bool,
        }
    }

    /// Whether segments keep a bloom filter per block for equality look-ups on this column.
    pub fn has_bloom(self) -> bool {
        matches!(self, ColumnId::EventId | ColumnId::UserId)
    }
}

impl fmt::Display for ColumnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The UTC day (days since 1970-01-01) of a timestamp.
pub fn day_of(ts: TimestampMicros) -> i32 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "i64 µs / µs-per-day fits i32 for ±5.8 million years"
    )]
    let day = ts.div_euclid(MICROS_PER_DAY) as i32;
    day
}

/// Formats a day number as `YYYY-MM-DD` (proleptic Gregorian, UTC).
pub fn format_day(day: i32) -> String {
    let (y, m, d) = civil_from_days(i64::from(day));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Converts days since the epoch to a (year, month, day) civil date (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "1..=31 and 1..=12"
    )]
    let (m, d) = (m as u32, d as u32);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_in_index_order_and_named_uniquely() {
        for (i, c) in ColumnId::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
            assert_eq!(ColumnId::from_index(i), Some(*c));
            assert_eq!(ColumnId::by_name(c.name()), Some(*c));
        }
        assert_eq!(ColumnId::from_index(COLUMN_COUNT), None);
    }

    #[test]
    fn event_type_codes_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::from_code(t.code()), Some(t));
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::from_code(4), None);
    }

    #[test]
    fn days_are_utc_and_floor_negative_times() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(-1), -1);
        assert_eq!(format_day(day_of(1_763_769_600_123_000)), "2025-11-22");
        assert_eq!(format_day(0), "1970-01-01");
        assert_eq!(format_day(-1), "1969-12-31");
    }
}
