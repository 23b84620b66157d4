//! [`EventBatch`]: the columnar batch in which events are appended, logged and held in memory.
//!
//! Why our own column vectors rather than Arrow `RecordBatch`: the write path appends row by row
//! from decoders, filters rows out (duplicates), splits a batch by partition and re-sorts it for a
//! segment. Plain `Vec`s make each of those a tight loop with no builder indirection and no
//! `Arc`-wrapped immutable buffers to copy out of; strings are stored Arrow-style (one byte buffer
//! plus `u32` offsets) so a batch of N rows costs a handful of allocations, not N. The query crate
//! turns results into Arrow record batches at its edge.

use crate::schema::{ColumnId, EventType, TimestampMicros};

/// A column of strings: one byte buffer plus `len + 1` offsets into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringColumn {
    offsets: Vec<u32>,
    bytes: Vec<u8>,
}

impl Default for StringColumn {
    fn default() -> Self {
        StringColumn {
            offsets: vec![0],
            bytes: Vec::new(),
        }
    }
}

impl StringColumn {
    /// An empty column with room for `rows` strings of `bytes` bytes in all.
    pub fn with_capacity(rows: usize, bytes: usize) -> StringColumn {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        StringColumn {
            offsets,
            bytes: Vec::with_capacity(bytes),
        }
    }

    /// Builds a column from its parts; `None` when the offsets are not a valid partition of `bytes`
    /// into UTF-8 strings.
    pub fn from_parts(offsets: Vec<u32>, bytes: Vec<u8>) -> Option<StringColumn> {
        if offsets.first() != Some(&0) || offsets.last().map(|&o| o as usize) != Some(bytes.len()) {
            return None;
        }
        if offsets.windows(2).any(|w| w[0] > w[1]) {
            return None;
        }
        let text = std::str::from_utf8(&bytes).ok()?;
        if offsets.iter().any(|&o| !text.is_char_boundary(o as usize)) {
            return None;
        }
        Some(StringColumn { offsets, bytes })
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether the column holds no string.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a string.
    ///
    /// # Panics
    /// When the column's bytes would exceed 4 GiB, which batch size limits rule out.
    pub fn push(&mut self, value: &str) {
        self.bytes.extend_from_slice(value.as_bytes());
        let end = u32::try_from(self.bytes.len()).unwrap_or_else(|_| {
            panic!("a string column exceeds 4 GiB: batches must be split before that")
        });
        self.offsets.push(end);
    }

    /// The string at `row`.
    pub fn get(&self, row: usize) -> &str {
        let bytes = &self.bytes[self.offsets[row] as usize..self.offsets[row + 1] as usize];
        // SAFETY: every constructor (push of &str, from_parts with UTF-8 and char-boundary checks)
        // keeps `bytes` valid UTF-8 with every offset on a char boundary.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// Appends the strings of `other` at `rows`, in that order.
    pub fn extend_from_rows(&mut self, other: &StringColumn, rows: &[u32]) {
        let bytes: usize = rows
            .iter()
            .map(|&r| (other.offsets[r as usize + 1] - other.offsets[r as usize]) as usize)
            .sum();
        self.bytes.reserve(bytes);
        self.offsets.reserve(rows.len());
        for &r in rows {
            let (start, end) = (
                other.offsets[r as usize] as usize,
                other.offsets[r as usize + 1] as usize,
            );
            self.bytes.extend_from_slice(&other.bytes[start..end]);
            let end = u32::try_from(self.bytes.len()).unwrap_or_else(|_| {
                panic!("a string column exceeds 4 GiB: batches must be split before that")
            });
            self.offsets.push(end);
        }
    }

    /// Appends every string of `other`: its bytes in one copy, its offsets shifted.
    ///
    /// # Panics
    /// When the column's bytes would exceed 4 GiB, which batch size limits rule out.
    pub fn extend_from(&mut self, other: &StringColumn) {
        if u32::try_from(self.bytes.len() + other.bytes.len()).is_err() {
            panic!("a string column exceeds 4 GiB: batches must be split before that");
        }
        let base = u32::try_from(self.bytes.len()).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(&other.bytes);
        self.offsets
            .extend(other.offsets[1..].iter().map(|&o| o + base));
    }

    /// The sorted distinct values and, for each row, the index of its value among them.
    pub fn dictionary(&self) -> (StringColumn, Vec<u32>) {
        let mut seen: hashbrown::HashMap<&str, u32> = hashbrown::HashMap::new();
        for v in self.iter() {
            seen.entry(v).or_insert(0);
        }
        let mut distinct: Vec<&str> = seen.keys().copied().collect();
        distinct.sort_unstable();
        let mut dict =
            StringColumn::with_capacity(distinct.len(), distinct.iter().map(|s| s.len()).sum());
        for (code, v) in distinct.iter().enumerate() {
            dict.push(v);
            if let Some(slot) = seen.get_mut(v) {
                *slot = u32::try_from(code).unwrap_or(u32::MAX);
            }
        }
        let codes = self
            .iter()
            .map(|v| seen.get(v).copied().unwrap_or(0))
            .collect();
        (dict, codes)
    }

    /// Iterates over the strings.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The offsets (`len + 1` of them).
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// The concatenated UTF-8 bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Bytes held (payload plus offsets).
    pub fn heap_bytes(&self) -> usize {
        self.bytes.len() + self.offsets.len() * 4
    }

    fn clear(&mut self) {
        self.offsets.truncate(1);
        self.bytes.clear();
    }
}

/// One event, borrowed: what decoders produce and [`EventBatch::push`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// The dedup key.
    pub event_id: &'a str,
    /// The kind of event.
    pub event_type: EventType,
    /// Event time, µs since epoch, UTC.
    pub ts: TimestampMicros,
    /// Campaign.
    pub campaign_id: &'a str,
    /// Creative ('' when unknown).
    pub creative_id: &'a str,
    /// User ('' when unknown).
    pub user_id: &'a str,
    /// Publisher domain or app bundle ('' when unknown).
    pub site: &'a str,
    /// ISO alpha-2 country ('' when unknown).
    pub country: &'a str,
    /// Device word ('' when unknown).
    pub device: &'a str,
    /// Operating system ('' when unknown).
    pub os: &'a str,
    /// Conversion type ('' unless a conversion).
    pub conversion_type: &'a str,
    /// The impression a click or conversion follows ('' when unknown).
    pub impression_id: &'a str,
    /// What AdvertiseX paid, micros.
    pub cost_micros: i64,
    /// Conversion value, micros.
    pub revenue_micros: i64,
    /// Bid floor, CPM micros.
    pub bid_floor_micros: i64,
    /// AdvertiseX's bid, CPM micros.
    pub bid_price_micros: i64,
    /// Clearing price, CPM micros.
    pub clearing_price_micros: i64,
    /// Whether the auction was won.
    pub won: bool,
}

impl<'a> EventRef<'a> {
    /// An event with the required fields set and every optional one empty or zero.
    pub fn new(
        event_id: &'a str,
        event_type: EventType,
        ts: TimestampMicros,
        campaign_id: &'a str,
    ) -> EventRef<'a> {
        EventRef {
            event_id,
            event_type,
            ts,
            campaign_id,
            creative_id: "",
            user_id: "",
            site: "",
            country: "",
            device: "",
            os: "",
            conversion_type: "",
            impression_id: "",
            cost_micros: 0,
            revenue_micros: 0,
            bid_floor_micros: 0,
            bid_price_micros: 0,
            clearing_price_micros: 0,
            won: false,
        }
    }

    /// An owned copy.
    pub fn to_owned_event(&self) -> Event {
        Event {
            event_id: self.event_id.to_owned(),
            event_type: self.event_type,
            ts: self.ts,
            campaign_id: self.campaign_id.to_owned(),
            creative_id: self.creative_id.to_owned(),
            user_id: self.user_id.to_owned(),
            site: self.site.to_owned(),
            country: self.country.to_owned(),
            device: self.device.to_owned(),
            os: self.os.to_owned(),
            conversion_type: self.conversion_type.to_owned(),
            impression_id: self.impression_id.to_owned(),
            cost_micros: self.cost_micros,
            revenue_micros: self.revenue_micros,
            bid_floor_micros: self.bid_floor_micros,
            bid_price_micros: self.bid_price_micros,
            clearing_price_micros: self.clearing_price_micros,
            won: self.won,
        }
    }
}

/// One event, owned: for tests, generators and row-at-a-time reference code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[expect(missing_docs, reason = "fields mirror EventRef, documented there")]
pub struct Event {
    pub event_id: String,
    pub event_type: EventType,
    pub ts: TimestampMicros,
    pub campaign_id: String,
    pub creative_id: String,
    pub user_id: String,
    pub site: String,
    pub country: String,
    pub device: String,
    pub os: String,
    pub conversion_type: String,
    pub impression_id: String,
    pub cost_micros: i64,
    pub revenue_micros: i64,
    pub bid_floor_micros: i64,
    pub bid_price_micros: i64,
    pub clearing_price_micros: i64,
    pub won: bool,
}

impl Event {
    /// Borrows this event.
    pub fn as_ref(&self) -> EventRef<'_> {
        EventRef {
            event_id: &self.event_id,
            event_type: self.event_type,
            ts: self.ts,
            campaign_id: &self.campaign_id,
            creative_id: &self.creative_id,
            user_id: &self.user_id,
            site: &self.site,
            country: &self.country,
            device: &self.device,
            os: &self.os,
            conversion_type: &self.conversion_type,
            impression_id: &self.impression_id,
            cost_micros: self.cost_micros,
            revenue_micros: self.revenue_micros,
            bid_floor_micros: self.bid_floor_micros,
            bid_price_micros: self.bid_price_micros,
            clearing_price_micros: self.clearing_price_micros,
            won: self.won,
        }
    }
}

/// A batch of events, column by column. Every column has [`EventBatch::len`] values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[expect(
    missing_docs,
    reason = "one field per schema column, see schema::ColumnId"
)]
pub struct EventBatch {
    pub event_id: StringColumn,
    pub event_type: Vec<EventType>,
    pub ts: Vec<TimestampMicros>,
    pub campaign_id: StringColumn,
    pub creative_id: StringColumn,
    pub user_id: StringColumn,
    pub site: StringColumn,
    pub country: StringColumn,
    pub device: StringColumn,
    pub os: StringColumn,
    pub conversion_type: StringColumn,
    pub impression_id: StringColumn,
    pub cost_micros: Vec<i64>,
    pub revenue_micros: Vec<i64>,
    pub bid_floor_micros: Vec<i64>,
    pub bid_price_micros: Vec<i64>,
    pub clearing_price_micros: Vec<i64>,
    pub won: Vec<bool>,
}

impl EventBatch {
    /// An empty batch.
    pub fn new() -> EventBatch {
        EventBatch::default()
    }

    /// An empty batch with room for `rows` events.
    pub fn with_capacity(rows: usize) -> EventBatch {
        let s = |avg: usize| StringColumn::with_capacity(rows, rows * avg);
        EventBatch {
            event_id: s(24),
            event_type: Vec::with_capacity(rows),
            ts: Vec::with_capacity(rows),
            campaign_id: s(8),
            creative_id: s(8),
            user_id: s(12),
            site: s(16),
            country: s(2),
            device: s(6),
            os: s(6),
            conversion_type: s(2),
            impression_id: s(8),
            cost_micros: Vec::with_capacity(rows),
            revenue_micros: Vec::with_capacity(rows),
            bid_floor_micros: Vec::with_capacity(rows),
            bid_price_micros: Vec::with_capacity(rows),
            clearing_price_micros: Vec::with_capacity(rows),
            won: Vec::with_capacity(rows),
        }
    }

    /// Builds a batch from events.
    pub fn from_events<'a>(events: impl IntoIterator<Item = EventRef<'a>>) -> EventBatch {
        let mut batch = EventBatch::new();
        for e in events {
            batch.push(&e);
        }
        batch
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Whether the batch holds no event.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Appends one event.
    pub fn push(&mut self, e: &EventRef<'_>) {
        self.event_id.push(e.event_id);
        self.event_type.push(e.event_type);
        self.ts.push(e.ts);
        self.campaign_id.push(e.campaign_id);
        self.creative_id.push(e.creative_id);
        self.user_id.push(e.user_id);
        self.site.push(e.site);
        self.country.push(e.country);
        self.device.push(e.device);
        self.os.push(e.os);
        self.conversion_type.push(e.conversion_type);
        self.impression_id.push(e.impression_id);
        self.cost_micros.push(e.cost_micros);
        self.revenue_micros.push(e.revenue_micros);
        self.bid_floor_micros.push(e.bid_floor_micros);
        self.bid_price_micros.push(e.bid_price_micros);
        self.clearing_price_micros.push(e.clearing_price_micros);
        self.won.push(e.won);
    }

    /// The event at `row`, borrowed.
    pub fn row(&self, row: usize) -> EventRef<'_> {
        EventRef {
            event_id: self.event_id.get(row),
            event_type: self.event_type[row],
            ts: self.ts[row],
            campaign_id: self.campaign_id.get(row),
            creative_id: self.creative_id.get(row),
            user_id: self.user_id.get(row),
            site: self.site.get(row),
            country: self.country.get(row),
            device: self.device.get(row),
            os: self.os.get(row),
            conversion_type: self.conversion_type.get(row),
            impression_id: self.impression_id.get(row),
            cost_micros: self.cost_micros[row],
            revenue_micros: self.revenue_micros[row],
            bid_floor_micros: self.bid_floor_micros[row],
            bid_price_micros: self.bid_price_micros[row],
            clearing_price_micros: self.clearing_price_micros[row],
            won: self.won[row],
        }
    }

    /// Iterates over the events.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = EventRef<'_>> + '_ {
        (0..self.len()).map(|i| self.row(i))
    }

    /// Appends the rows of `other` at `rows` (in that order), column by column.
    pub fn extend_from_rows(&mut self, other: &EventBatch, rows: &[u32]) {
        fn gather<T: Copy>(dst: &mut Vec<T>, src: &[T], rows: &[u32]) {
            dst.extend(rows.iter().map(|&r| src[r as usize]));
        }
        self.event_id.extend_from_rows(&other.event_id, rows);
        gather(&mut self.event_type, &other.event_type, rows);
        gather(&mut self.ts, &other.ts, rows);
        self.campaign_id.extend_from_rows(&other.campaign_id, rows);
        self.creative_id.extend_from_rows(&other.creative_id, rows);
        self.user_id.extend_from_rows(&other.user_id, rows);
        self.site.extend_from_rows(&other.site, rows);
        self.country.extend_from_rows(&other.country, rows);
        self.device.extend_from_rows(&other.device, rows);
        self.os.extend_from_rows(&other.os, rows);
        self.conversion_type
            .extend_from_rows(&other.conversion_type, rows);
        self.impression_id
            .extend_from_rows(&other.impression_id, rows);
        gather(&mut self.cost_micros, &other.cost_micros, rows);
        gather(&mut self.revenue_micros, &other.revenue_micros, rows);
        gather(&mut self.bid_floor_micros, &other.bid_floor_micros, rows);
        gather(&mut self.bid_price_micros, &other.bid_price_micros, rows);
        gather(
            &mut self.clearing_price_micros,
            &other.clearing_price_micros,
            rows,
        );
        gather(&mut self.won, &other.won, rows);
    }

    /// Appends every row of `other`, column by column.
    pub fn extend_from(&mut self, other: &EventBatch) {
        self.event_id.extend_from(&other.event_id);
        self.event_type.extend_from_slice(&other.event_type);
        self.ts.extend_from_slice(&other.ts);
        self.campaign_id.extend_from(&other.campaign_id);
        self.creative_id.extend_from(&other.creative_id);
        self.user_id.extend_from(&other.user_id);
        self.site.extend_from(&other.site);
        self.country.extend_from(&other.country);
        self.device.extend_from(&other.device);
        self.os.extend_from(&other.os);
        self.conversion_type.extend_from(&other.conversion_type);
        self.impression_id.extend_from(&other.impression_id);
        self.cost_micros.extend_from_slice(&other.cost_micros);
        self.revenue_micros.extend_from_slice(&other.revenue_micros);
        self.bid_floor_micros
            .extend_from_slice(&other.bid_floor_micros);
        self.bid_price_micros
            .extend_from_slice(&other.bid_price_micros);
        self.clearing_price_micros
            .extend_from_slice(&other.clearing_price_micros);
        self.won.extend_from_slice(&other.won);
    }

    /// Removes every row, keeping the allocations.
    pub fn clear(&mut self) {
        for c in self.string_columns_mut() {
            c.clear();
        }
        self.event_type.clear();
        self.ts.clear();
        self.cost_micros.clear();
        self.revenue_micros.clear();
        self.bid_floor_micros.clear();
        self.bid_price_micros.clear();
        self.clearing_price_micros.clear();
        self.won.clear();
    }

    /// The string column with this id, or `None` when the column is not a string.
    pub fn string_column(&self, id: ColumnId) -> Option<&StringColumn> {
        Some(match id {
            ColumnId::EventId => &self.event_id,
            ColumnId::CampaignId => &self.campaign_id,
            ColumnId::CreativeId => &self.creative_id,
            ColumnId::UserId => &self.user_id,
            ColumnId::Site => &self.site,
            ColumnId::Country => &self.country,
            ColumnId::Device => &self.device,
            ColumnId::Os => &self.os,
            ColumnId::ConversionType => &self.conversion_type,
            ColumnId::ImpressionId => &self.impression_id,
            _ => return None,
        })
    }

    /// The integer column with this id, or `None` when the column is not an `i64`.
    pub fn i64_column(&self, id: ColumnId) -> Option<&[i64]> {
        Some(match id {
            ColumnId::Ts => &self.ts,
            ColumnId::CostMicros => &self.cost_micros,
            ColumnId::RevenueMicros => &self.revenue_micros,
            ColumnId::BidFloorMicros => &self.bid_floor_micros,
            ColumnId::BidPriceMicros => &self.bid_price_micros,
            ColumnId::ClearingPriceMicros => &self.clearing_price_micros,
            _ => return None,
        })
    }

    /// The ten string columns in schema order, mutably.
    pub(crate) fn string_columns_mut(&mut self) -> [&mut StringColumn; 10] {
        [
            &mut self.event_id,
            &mut self.campaign_id,
            &mut self.creative_id,
            &mut self.user_id,
            &mut self.site,
            &mut self.country,
            &mut self.device,
            &mut self.os,
            &mut self.conversion_type,
            &mut self.impression_id,
        ]
    }

    /// Approximate heap bytes held by the batch.
    pub fn heap_bytes(&self) -> usize {
        let strings: usize = [
            &self.event_id,
            &self.campaign_id,
            &self.creative_id,
            &self.user_id,
            &self.site,
            &self.country,
            &self.device,
            &self.os,
            &self.conversion_type,
            &self.impression_id,
        ]
        .iter()
        .map(|c| c.heap_bytes())
        .sum();
        strings + self.len() * (1 + 8 * 6 + 1)
    }

    /// Rows sorted by (event_type, campaign_id, ts, event_id): the order of rows in a segment
    /// (`docs/FORMAT.md`, "Segment file", says why event_type leads). Campaigns are ranked once
    /// through a sorted dictionary, so the sort compares integers, not strings, except for ties
    /// on (event_type, campaign_id, ts).
    pub fn sort_permutation(&self) -> Vec<u32> {
        let (_, ranks) = self.campaign_id.dictionary();
        self.sort_permutation_by_campaign_rank(&ranks)
    }

    /// [`EventBatch::sort_permutation`], given each row's campaign rank (its code in the sorted
    /// dictionary of `campaign_id`, as [`StringColumn::dictionary`] returns).
    pub fn sort_permutation_by_campaign_rank(&self, ranks: &[u32]) -> Vec<u32> {
        // The keys sit beside the row numbers, so comparisons read one array, not four: the
        // event-type code above the campaign rank in one integer, then ts.
        let mut keyed: Vec<(u64, i64, u32)> = ranks
            .iter()
            .zip(&self.ts)
            .zip(&self.event_type)
            .enumerate()
            .map(|(row, ((&rank, &ts), t))| {
                let lead = (u64::from(t.code()) << 32) | u64::from(rank);
                (lead, ts, u32::try_from(row).unwrap_or(u32::MAX))
            })
            .collect();
        keyed.sort_unstable_by(|a, b| {
            (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| {
                self.event_id
                    .get(a.2 as usize)
                    .cmp(self.event_id.get(b.2 as usize))
            })
        });
        keyed.into_iter().map(|(_, _, row)| row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_and_read_back() {
        let mut e = EventRef::new("e1", EventType::Click, 5, "c1");
        e.country = "US";
        e.cost_micros = 7;
        let mut b = EventBatch::new();
        b.push(&e);
        b.push(&EventRef::new("é2", EventType::Impression, 1, "c0"));
        assert_eq!(b.len(), 2);
        assert_eq!(b.row(0), e);
        assert_eq!(b.row(1).event_id, "é2");
        assert_eq!(b.sort_permutation(), vec![1, 0]);
        let mut twice = b.clone();
        twice.extend_from(&b);
        assert_eq!(twice.len(), 4);
        let rows: Vec<EventRef<'_>> = twice.rows().collect();
        assert_eq!(rows[2..], rows[..2]);
        assert_eq!(twice.row(3).event_id, "é2");
        assert_eq!(twice, EventBatch::from_events(b.rows().chain(b.rows())));
        b.clear();
        assert!(b.is_empty());
        assert!(b.event_id.is_empty());
    }

    #[test]
    fn from_parts_rejects_bad_offsets_and_split_chars() {
        assert!(StringColumn::from_parts(vec![0, 2], b"ab".to_vec()).is_some());
        assert!(StringColumn::from_parts(vec![0, 3], b"ab".to_vec()).is_none());
        assert!(StringColumn::from_parts(vec![0, 2, 1], b"ab".to_vec()).is_none());
        assert!(StringColumn::from_parts(vec![0, 1, 2], "é".as_bytes().to_vec()).is_none());
    }
}
