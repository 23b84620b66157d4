//! The segment footer: block index, min/max, dictionaries, bloom filter and sorted-key locations.
//!
//! `docs/FORMAT.md`, "Segment footer". Parsed once when a segment is opened; every offset in it is
//! checked against the file size here, so a reader never indexes past the mapped bytes.
//!
//! ```text
//! | RowCount(u64) | BlockRows(u32) | BlockCount(u32) | Day(i32) | Bucket(u16) | ColumnCount(u16) | MinTs(i64) | MaxTs(i64) |
//! ColumnCount × | ColumnId(u8) | Kind(u8) | Reserved(u16) | DictLen(u32) | DictOffset(u64) | DictBlockLen(u32) |
//!               BlockCount × | Offset(u64) | Len(u32) | Min(i64) | Max(i64) | Sum(i64) (version 2) |
//! | BloomOffset(u64) | BloomLen(u64) | BloomCrc(u32) | BloomColumnCount(u8) |
//! BloomColumnCount × | ColumnId(u8) | BlockCount × | RelOffset(u32) | Len(u32) | |
//! | KeyBlockCount(u32) | KeyBlockCount × | Offset(u64) | Len(u32) | KeyCount(u32) | FirstKeyLen(u16) | FirstKey | |
//! | RollupCount(u32) | RollupCount × | FirstBlock(u32) | EndBlock(u32) | Sites(u32) | Offset(u64) | Len(u32) | | (version 5)
//! ```

use super::rollup::RollupMeta;
use crate::partition::PartitionKey;
use crate::schema::{COLUMN_COUNT, ColumnId, ColumnKind};

/// Where one column block is, and the range of its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockMeta {
    /// Offset of the framed block in the file.
    pub offset: u64,
    /// Length of the framed block (header, payload and CRC).
    pub len: u32,
    /// Smallest value: the integer, the dictionary code (dictionaries are sorted, so code order is
    /// string order), the event type code or the bool; 0 for plain strings.
    pub min: i64,
    /// Largest value, as `min`.
    pub max: i64,
    /// The values' sum, wrapping at 64 bits (for a bool column, its count of `true`), so a
    /// query can fold `sum` and `countIf(bool)` over a block without decoding it; `None` for
    /// other column kinds and in version 1 segments, which do not store it.
    pub sum: Option<i64>,
}

/// The `min`, `max` and `sum` of a block's values as [`BlockMeta`] stores them: (`i64::MAX`,
/// `i64::MIN`, 0) for no value; the sum wraps at 64 bits.
pub(crate) fn block_stats(values: impl Iterator<Item = i64>) -> (i64, i64, i64) {
    values.fold((i64::MAX, i64::MIN, 0i64), |(lo, hi, sum), v| {
        (lo.min(v), hi.max(v), sum.wrapping_add(v))
    })
}

/// One column's entry in the footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMeta {
    /// The column.
    pub id: ColumnId,
    /// Number of dictionary entries (dictionary columns only).
    pub dict_len: u32,
    /// The dictionary block (offset, framed length); (0, 0) when the column has none.
    pub dict_block: (u64, u32),
    /// One entry per row block.
    pub blocks: Vec<BlockMeta>,
}

/// Location of one block of sorted event ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBlockMeta {
    /// Offset of the framed block.
    pub offset: u64,
    /// Framed length.
    pub len: u32,
    /// Number of keys in it.
    pub keys: u32,
    /// Its smallest key.
    pub first_key: String,
}

/// The parsed footer.
#[derive(Debug, Clone, PartialEq)]
pub struct Footer {
    /// The segment format version the footer was read in (what [`Footer::encode`] writes is
    /// always the current one). From version 2 on, rows are in (event_type, campaign_id, ts,
    /// event_id) order, so within a block where the first columns are constant the next one is
    /// ascending.
    pub format_version: u16,
    /// Rows in the segment.
    pub rows: u64,
    /// Rows per block (the last block may hold fewer).
    pub block_rows: u32,
    /// Number of row blocks.
    pub block_count: u32,
    /// The partition the rows belong to.
    pub partition: PartitionKey,
    /// Smallest event time.
    pub min_ts: i64,
    /// Largest event time.
    pub max_ts: i64,
    /// One entry per schema column, in schema order.
    pub columns: Vec<ColumnMeta>,
    /// Offset of the bloom area.
    pub bloom_offset: u64,
    /// Length of the bloom area.
    pub bloom_len: u64,
    /// CRC32 of the bloom area.
    pub bloom_crc: u32,
    /// For each bloom column: (column, per block (offset relative to the bloom area, length)).
    pub blooms: Vec<(ColumnId, Vec<(u32, u32)>)>,
    /// The sorted event-id key blocks.
    pub key_blocks: Vec<KeyBlockMeta>,
    /// The site rollups (version 5 on; none before), by ascending first block, disjoint.
    pub rollups: Vec<RollupMeta>,
}

impl Footer {
    /// Serializes the footer, in the current format version
    /// ([`SEGMENT_FORMAT_VERSION`](super::format::SEGMENT_FORMAT_VERSION)).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.rows.to_le_bytes());
        out.extend_from_slice(&self.block_rows.to_le_bytes());
        out.extend_from_slice(&self.block_count.to_le_bytes());
        out.extend_from_slice(&self.partition.day.to_le_bytes());
        out.extend_from_slice(&self.partition.bucket.to_le_bytes());
        out.extend_from_slice(
            &u16::try_from(self.columns.len())
                .unwrap_or(u16::MAX)
                .to_le_bytes(),
        );
        out.extend_from_slice(&self.min_ts.to_le_bytes());
        out.extend_from_slice(&self.max_ts.to_le_bytes());
        for c in &self.columns {
            out.push(c.id as u8);
            out.push(kind_code(c.id.kind()));
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&c.dict_len.to_le_bytes());
            out.extend_from_slice(&c.dict_block.0.to_le_bytes());
            out.extend_from_slice(&c.dict_block.1.to_le_bytes());
            for b in &c.blocks {
                out.extend_from_slice(&b.offset.to_le_bytes());
                out.extend_from_slice(&b.len.to_le_bytes());
                out.extend_from_slice(&b.min.to_le_bytes());
                out.extend_from_slice(&b.max.to_le_bytes());
                out.extend_from_slice(&b.sum.unwrap_or(0).to_le_bytes());
            }
        }
        out.extend_from_slice(&self.bloom_offset.to_le_bytes());
        out.extend_from_slice(&self.bloom_len.to_le_bytes());
        out.extend_from_slice(&self.bloom_crc.to_le_bytes());
        out.push(u8::try_from(self.blooms.len()).unwrap_or(u8::MAX));
        for (col, blocks) in &self.blooms {
            out.push(*col as u8);
            for (off, len) in blocks {
                out.extend_from_slice(&off.to_le_bytes());
                out.extend_from_slice(&len.to_le_bytes());
            }
        }
        out.extend_from_slice(
            &u32::try_from(self.key_blocks.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        for k in &self.key_blocks {
            out.extend_from_slice(&k.offset.to_le_bytes());
            out.extend_from_slice(&k.len.to_le_bytes());
            out.extend_from_slice(&k.keys.to_le_bytes());
            let key = &k.first_key.as_bytes()[..k.first_key.len().min(u16::MAX as usize)];
            out.extend_from_slice(&u16::try_from(key.len()).unwrap_or(u16::MAX).to_le_bytes());
            out.extend_from_slice(key);
        }
        out.extend_from_slice(
            &u32::try_from(self.rollups.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        for r in &self.rollups {
            out.extend_from_slice(&r.first_block.to_le_bytes());
            out.extend_from_slice(&r.end_block.to_le_bytes());
            out.extend_from_slice(&r.sites.to_le_bytes());
            out.extend_from_slice(&r.offset.to_le_bytes());
            out.extend_from_slice(&r.len.to_le_bytes());
        }
    }

    /// Parses a footer of segment format `version` (1 to 5); `data_end` is where the footer
    /// starts (every block must end before it).
    pub fn decode(bytes: &[u8], data_end: u64, version: u16) -> Result<Footer, String> {
        let with_sums = version >= 2;
        let mut r = Cursor { bytes, at: 0 };
        let rows = r.u64()?;
        let block_rows = r.u32()?;
        let block_count = r.u32()?;
        let partition = PartitionKey {
            day: r.i32()?,
            bucket: r.u16()?,
        };
        let column_count = usize::from(r.u16()?);
        let min_ts = r.i64()?;
        let max_ts = r.i64()?;
        if column_count != COLUMN_COUNT {
            return Err(format!("{column_count} columns, schema has {COLUMN_COUNT}"));
        }
        if block_rows == 0 || u64::from(block_count) != rows.div_ceil(u64::from(block_rows)) {
            return Err(format!(
                "{block_count} blocks of {block_rows} rows cannot hold {rows} rows"
            ));
        }
        // `what` names the range only for the error: it is not formatted otherwise (a footer
        // holds a range per column and block, and a read-only query process decodes every
        // segment's footer).
        let check_range = |offset: u64, len: u64, what: &dyn std::fmt::Display| {
            if offset.checked_add(len).is_none_or(|end| end > data_end)
                || offset < super::format::HEADER_LEN as u64
            {
                Err(format!(
                    "{what} at {offset}+{len} lies outside the data area (ends at {data_end})"
                ))
            } else {
                Ok(())
            }
        };
        let mut columns = Vec::with_capacity(column_count);
        for expected in ColumnId::ALL {
            let id = r.u8()?;
            let kind = r.u8()?;
            r.u16()?;
            if usize::from(id) != expected.index() || kind != kind_code(expected.kind()) {
                return Err(format!(
                    "column entry {id} (kind {kind}) where {expected} was expected"
                ));
            }
            let dict_len = r.u32()?;
            let dict_block = (r.u64()?, r.u32()?);
            if expected.kind() == ColumnKind::DictString {
                check_range(dict_block.0, u64::from(dict_block.1), &"dictionary block")?;
            }
            let has_sum =
                with_sums && matches!(expected.kind(), ColumnKind::I64 | ColumnKind::Bool);
            r.need(block_count as usize * if with_sums { 36 } else { 28 })?;
            let mut blocks = Vec::with_capacity(block_count as usize);
            for b in 0..block_count {
                let mut meta = BlockMeta {
                    offset: r.u64()?,
                    len: r.u32()?,
                    min: r.i64()?,
                    max: r.i64()?,
                    sum: None,
                };
                if with_sums {
                    let sum = r.i64()?;
                    meta.sum = has_sum.then_some(sum);
                }
                check_range(
                    meta.offset,
                    u64::from(meta.len),
                    &format_args!("{expected} block {b}"),
                )?;
                blocks.push(meta);
            }
            columns.push(ColumnMeta {
                id: expected,
                dict_len,
                dict_block,
                blocks,
            });
        }
        let bloom_offset = r.u64()?;
        let bloom_len = r.u64()?;
        let bloom_crc = r.u32()?;
        check_range(bloom_offset, bloom_len, &"bloom area")?;
        let bloom_columns = r.u8()?;
        let mut blooms = Vec::new();
        for _ in 0..bloom_columns {
            let col = ColumnId::from_index(usize::from(r.u8()?)).ok_or("unknown bloom column")?;
            r.need(block_count as usize * 8)?;
            let mut per_block = Vec::with_capacity(block_count as usize);
            for _ in 0..block_count {
                let (off, len) = (r.u32()?, r.u32()?);
                if u64::from(off) + u64::from(len) > bloom_len {
                    return Err(format!(
                        "{col} bloom at {off}+{len} outside the bloom area ({bloom_len} bytes)"
                    ));
                }
                per_block.push((off, len));
            }
            blooms.push((col, per_block));
        }
        let key_block_count = r.u32()? as usize;
        r.need(key_block_count * 18)?;
        let mut key_blocks = Vec::with_capacity(key_block_count);
        for i in 0..key_block_count {
            let offset = r.u64()?;
            let len = r.u32()?;
            check_range(offset, u64::from(len), &format_args!("key block {i}"))?;
            let keys = r.u32()?;
            let key_len = usize::from(r.u16()?);
            let first_key = std::str::from_utf8(r.take(key_len)?)
                .map_err(|_| format!("key block {i}: first key is not UTF-8"))?
                .to_owned();
            key_blocks.push(KeyBlockMeta {
                offset,
                len,
                keys,
                first_key,
            });
        }
        let mut rollups: Vec<RollupMeta> = Vec::new();
        if version >= 5 {
            let count = r.u32()? as usize;
            r.need(count * 24)?;
            for i in 0..count {
                let meta = RollupMeta {
                    first_block: r.u32()?,
                    end_block: r.u32()?,
                    sites: r.u32()?,
                    offset: r.u64()?,
                    len: r.u32()?,
                };
                check_range(
                    meta.offset,
                    u64::from(meta.len),
                    &format_args!("rollup {i}"),
                )?;
                let after_previous = rollups
                    .last()
                    .is_none_or(|p: &RollupMeta| p.end_block <= meta.first_block);
                if meta.first_block >= meta.end_block
                    || meta.end_block > block_count
                    || !after_previous
                    || meta.sites == 0
                {
                    return Err(format!(
                        "rollup {i} covers blocks {}..{} with {} sites (of {block_count} \
                         blocks, after the previous rollup's)",
                        meta.first_block, meta.end_block, meta.sites
                    ));
                }
                rollups.push(meta);
            }
        }
        if r.at != bytes.len() {
            return Err(format!("{} trailing bytes in footer", bytes.len() - r.at));
        }
        Ok(Footer {
            format_version: version,
            rows,
            block_rows,
            block_count,
            partition,
            min_ts,
            max_ts,
            columns,
            bloom_offset,
            bloom_len,
            bloom_crc,
            blooms,
            key_blocks,
            rollups,
        })
    }

    /// Rows in block `b`.
    pub fn rows_in_block(&self, b: u32) -> usize {
        let start = u64::from(b) * u64::from(self.block_rows);
        #[expect(clippy::cast_possible_truncation, reason = "at most block_rows, a u32")]
        let n = self
            .rows
            .saturating_sub(start)
            .min(u64::from(self.block_rows)) as usize;
        n
    }
}

fn kind_code(kind: ColumnKind) -> u8 {
    match kind {
        ColumnKind::PlainString => 1,
        ColumnKind::DictString => 2,
        ColumnKind::I64 => 3,
        ColumnKind::EventType => 4,
        ColumnKind::Bool => 5,
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn need(&self, n: usize) -> Result<(), String> {
        if self.bytes.len() - self.at < n {
            Err(format!(
                "footer truncated at {}: need {n} more bytes",
                self.at
            ))
        } else {
            Ok(())
        }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        self.need(n)?;
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.arr::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        self.arr().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Result<u32, String> {
        self.arr().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64, String> {
        self.arr().map(u64::from_le_bytes)
    }
    fn i32(&mut self) -> Result<i32, String> {
        self.arr().map(i32::from_le_bytes)
    }
    fn i64(&mut self) -> Result<i64, String> {
        self.arr().map(i64::from_le_bytes)
    }
}
