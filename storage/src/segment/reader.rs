//! [`SegmentReader`]: a segment file, memory-mapped, its footer parsed and checked.
//!
//! Opening verifies the trailer (magic, version) and the footer CRC; reading a block verifies
//! that block's CRC before decompressing it, and a bloom look-up the CRC of the filter block it
//! reads (the whole bloom area's CRC before format 4). Nothing is decoded until asked for, so a
//! scan that reads two columns touches two columns' bytes.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use memmap2::Mmap;

use super::SegmentId;
use super::footer::{BlockMeta, Footer, block_stats};
use super::format::{
    BLOCK_CRC_LEN, BLOCK_HEADER_LEN, HEADER_LEN, OLDEST_SEGMENT_FORMAT_VERSION,
    SEGMENT_FORMAT_VERSION, SEGMENT_MAGIC, TRAILER_LEN,
};
use super::rollup::{self, RollupMeta, SiteRollup};
use crate::batch::{EventBatch, StringColumn};
use crate::bloom::{BloomError, BloomFilter, BloomShape, Layout};
use crate::codec::bitpack::BLOCK_LEN;
use crate::codec::chunks::{CodeChunks, IntChunks};
use crate::codec::compress::{BlockDecompressor, Compression};
use crate::codec::{CodecError, bools, codes, ints, strings};
use crate::error::{Error, IoContext, Result};
use crate::partition::PartitionKey;
use crate::prefetch::Prefetch;
use crate::schema::{ColumnId, ColumnKind, EventType};

/// The decoded values of one column over one block (or one memtable chunk).
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Plain strings.
    Strings(StringColumn),
    /// Dictionary codes and their (sorted) dictionary.
    Dict {
        /// Sorted distinct values; `codes` index into it.
        dictionary: Arc<StringColumn>,
        /// One code per row.
        codes: Vec<u32>,
    },
    /// Integers.
    I64(Vec<i64>),
    /// Event types.
    EventType(Vec<EventType>),
    /// Booleans.
    Bool(Vec<bool>),
}

impl ColumnData {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Strings(s) => s.len(),
            ColumnData::Dict { codes, .. } => codes.len(),
            ColumnData::I64(v) => v.len(),
            ColumnData::EventType(v) => v.len(),
            ColumnData::Bool(v) => v.len(),
        }
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The string at `row`, for string columns.
    pub fn str_at(&self, row: usize) -> Option<&str> {
        match self {
            ColumnData::Strings(s) => Some(s.get(row)),
            ColumnData::Dict { dictionary, codes } => Some(dictionary.get(codes[row] as usize)),
            _ => None,
        }
    }
}

/// Per-thread scratch state for reading blocks: a reused zstd context and buffers.
#[derive(Debug)]
pub struct ReadContext {
    decompressor: BlockDecompressor,
    raw: Vec<u8>,
    /// Integer columns handed back by [`ReadContext::recycle`], reused by later reads.
    spare_i64: Vec<Vec<i64>>,
    /// Dictionary-code columns handed back by [`ReadContext::recycle`].
    spare_u32: Vec<Vec<u32>>,
    /// Decompressed payloads of the blocks [`SegmentReader::stream_codes_with_ints`] reads
    /// together, one buffer per column.
    streams: Vec<Vec<u8>>,
}

/// Most integer columns [`SegmentReader::stream_codes_with_ints`] streams beside the codes.
pub const MAX_STREAMED_INTS: usize = 4;

/// Most values [`SegmentReader::match_strings`] searches for in a block's bytes; past that it
/// compares each row with them.
const MAX_SEARCHED_NEEDLES: usize = 8;

/// Most buffers of each kind a [`ReadContext`] keeps for reuse: more than the columns of one
/// unit, so a scan that hands back each unit's columns allocates none after its first unit.
const MAX_SPARE: usize = 24;

impl ReadContext {
    /// A new context.
    pub fn new() -> Result<ReadContext> {
        let decompressor = BlockDecompressor::new().map_err(|e| Error::Codec {
            path: PathBuf::new(),
            what: "zstd context".into(),
            source: e,
        })?;
        Ok(ReadContext {
            decompressor,
            raw: Vec::new(),
            spare_i64: Vec::new(),
            spare_u32: Vec::new(),
            streams: Vec::new(),
        })
    }

    /// Takes back the buffers of a column read with this context (or any other), so that the
    /// next block reads reuse them instead of allocating: a scan decodes thousands of blocks
    /// of the same few columns.
    pub fn recycle(&mut self, data: ColumnData) {
        match data {
            ColumnData::I64(v) if self.spare_i64.len() < MAX_SPARE => self.spare_i64.push(v),
            ColumnData::Dict { codes, .. } if self.spare_u32.len() < MAX_SPARE => {
                self.spare_u32.push(codes);
            }
            _ => {}
        }
    }

    /// An empty buffer with room for `rows` integers.
    fn i64_buffer(&mut self, rows: usize) -> Vec<i64> {
        reuse(self.spare_i64.pop(), rows)
    }

    /// An empty buffer with room for `rows` codes.
    fn u32_buffer(&mut self, rows: usize) -> Vec<u32> {
        reuse(self.spare_u32.pop(), rows)
    }
}

/// `spare` emptied, with room for `rows` values; a new vector without one.
fn reuse<T>(spare: Option<Vec<T>>, rows: usize) -> Vec<T> {
    match spare {
        Some(mut v) => {
            v.clear();
            v.reserve(rows);
            v
        }
        None => Vec::with_capacity(rows),
    }
}

/// One block's bloom filter on one column of a segment ([`SegmentReader::bloom`]), whose
/// look-ups report a filter block that fails its CRC as the crate's error, naming the segment,
/// the column and the block.
#[derive(Debug, Clone, Copy)]
pub struct CheckedBloom<'a> {
    filter: BloomFilter<'a>,
    segment: &'a SegmentReader,
    col: ColumnId,
    block: u32,
    /// The filter's offset in the file.
    start: usize,
}

impl CheckedBloom<'_> {
    /// [`BloomFilter::check_hash`]: `false` if no row of the block has a value hashing to
    /// `hash`.
    #[inline]
    pub fn check_hash(&self, hash: u64) -> Result<bool> {
        self.filter.check_hash(hash).map_err(|e| {
            self.segment
                .bloom_error(self.col, self.block, self.start, e)
        })
    }

    /// [`BloomFilter::prefetch`]: starts loading what `check_hash(hash)` will read.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        self.filter.prefetch(hash);
    }

    /// Checks every block of the filter against its CRC (nothing before format 4).
    pub fn verify(&self) -> Result<()> {
        self.filter.verify().map_err(|e| {
            self.segment
                .bloom_error(self.col, self.block, self.start, e)
        })
    }
}

/// An open segment.
#[derive(Debug)]
pub struct SegmentReader {
    id: SegmentId,
    path: PathBuf,
    mmap: Mmap,
    footer: Footer,
    dictionaries: Vec<OnceLock<Arc<StringColumn>>>,
    sorted_keys: OnceLock<Arc<StringColumn>>,
    /// Per bloom column (in footer order), per block, its filter's header: set on the first
    /// look-up in that column ([`Self::bloom_shapes`]).
    bloom_shapes: Vec<OnceLock<Vec<BloomShape>>>,
    /// Set once the whole bloom area's CRC has been checked: before format 4, the first
    /// look-up's duty.
    bloom_area_checked: OnceLock<()>,
}

impl SegmentReader {
    /// Maps and checks the segment at `path`: header, trailer, footer and its CRC. Blooms are
    /// checked as they are used (`bloom_shapes`).
    pub fn open(path: &Path, id: SegmentId) -> Result<SegmentReader> {
        let file = File::open(path).io("open", path)?;
        // SAFETY: segment files are immutable once written: the writer fsyncs a segment before any
        // manifest lists it and never opens it for writing again; removal (compaction, retention)
        // unlinks the file, which leaves existing mappings valid. Nothing truncates a live segment,
        // so the mapped bytes cannot change or vanish under us.
        let mmap = unsafe { Mmap::map(&file) }.io("mmap", path)?;
        let corrupt = |offset: Option<u64>, reason: String| Error::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason,
        };
        let len = mmap.len();
        if len < HEADER_LEN + TRAILER_LEN {
            return Err(corrupt(
                None,
                format!("{len} bytes is too short for a segment"),
            ));
        }
        if mmap[..4] != SEGMENT_MAGIC || mmap[len - 4..] != SEGMENT_MAGIC {
            return Err(corrupt(
                Some(0),
                "not an adstore segment (bad magic)".into(),
            ));
        }
        let trailer = &mmap[len - TRAILER_LEN..];
        let version = u16::from_le_bytes([trailer[8], trailer[9]]);
        let head_version = u16::from_le_bytes([mmap[4], mmap[5]]);
        let readable = OLDEST_SEGMENT_FORMAT_VERSION..=SEGMENT_FORMAT_VERSION;
        if !readable.contains(&version) || head_version != version {
            return Err(Error::UnsupportedVersion {
                path: path.to_path_buf(),
                what: "segment",
                version: if readable.contains(&version) {
                    head_version
                } else {
                    version
                },
                supported: format!("{OLDEST_SEGMENT_FORMAT_VERSION} to {SEGMENT_FORMAT_VERSION}"),
            });
        }
        if mmap[8..HEADER_LEN].iter().any(|&b| b != 0) || trailer[10..12] != [0, 0] {
            return Err(corrupt(
                Some(8),
                "reserved header or trailer bytes are not zero".into(),
            ));
        }
        let schema = u16::from_le_bytes([mmap[6], mmap[7]]);
        if schema != crate::schema::SCHEMA_VERSION {
            return Err(Error::UnsupportedVersion {
                path: path.to_path_buf(),
                what: "event schema (segment)",
                version: schema,
                supported: crate::schema::SCHEMA_VERSION.to_string(),
            });
        }
        let footer_len =
            u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]) as usize;
        let footer_crc = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        let footer_end = len - TRAILER_LEN;
        if footer_len > footer_end - HEADER_LEN {
            return Err(corrupt(
                Some(footer_end as u64),
                format!("footer length {footer_len} exceeds the file"),
            ));
        }
        let footer_start = footer_end - footer_len;
        let footer_bytes = &mmap[footer_start..footer_end];
        let got = crc32fast::hash(footer_bytes);
        if got != footer_crc {
            return Err(Error::ChecksumMismatch {
                path: path.to_path_buf(),
                offset: footer_start as u64,
                what: "segment footer".into(),
                expected: footer_crc,
                got,
            });
        }
        let footer = Footer::decode(footer_bytes, footer_start as u64, version)
            .map_err(|reason| corrupt(Some(footer_start as u64), format!("footer: {reason}")))?;
        let dictionaries = (0..footer.columns.len()).map(|_| OnceLock::new()).collect();
        let bloom_shapes = (0..footer.blooms.len()).map(|_| OnceLock::new()).collect();
        Ok(SegmentReader {
            id,
            path: path.to_path_buf(),
            mmap,
            footer,
            dictionaries,
            sorted_keys: OnceLock::new(),
            bloom_shapes,
            bloom_area_checked: OnceLock::new(),
        })
    }

    /// The segment's id.
    pub fn id(&self) -> SegmentId {
        self.id
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The parsed footer.
    pub fn footer(&self) -> &Footer {
        &self.footer
    }

    /// The site rollups (`docs/FORMAT.md`, "Site rollups"): by ascending first block, each
    /// covering whole row blocks of one event type and one campaign; none before version 5.
    pub fn rollups(&self) -> &[RollupMeta] {
        &self.footer.rollups
    }

    /// The index in [`Self::rollups`] of the rollup covering row block `b`, if any.
    pub fn rollup_covering(&self, b: u32) -> Option<usize> {
        let rollups = &self.footer.rollups;
        let i = rollups.partition_point(|r| r.end_block <= b);
        rollups.get(i).filter(|r| r.covers(b)).map(|_| i)
    }

    /// Reads and checks the `i`-th site rollup: its block's CRC, its codes against the site
    /// dictionary, and its rows against the blocks it covers.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an `i` past the rollups; [`Error::Corrupt`] or
    /// [`Error::Codec`] naming the rollup when a check fails.
    pub fn rollup(&self, i: usize, ctx: &mut ReadContext) -> Result<SiteRollup> {
        let Some(meta) = self.footer.rollups.get(i).copied() else {
            return Err(Error::InvalidArgument(format!(
                "no rollup {i} in {}",
                self.path.display()
            )));
        };
        let dict_len = self.dictionary(ColumnId::Site, ctx)?.len();
        let what = Named::Rollup(i);
        let raw = self.block_bytes(meta.offset, meta.len, &what, ctx)?;
        let r = SiteRollup::decode(raw, meta.sites as usize, dict_len)
            .map_err(|e| self.codec(&what, e))?;
        let covered: u64 = (meta.first_block..meta.end_block)
            .map(|b| self.footer.rows_in_block(b) as u64)
            .sum();
        if r.total_rows() != covered {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                offset: Some(meta.offset),
                reason: format!(
                    "{what} holds {} rows, its blocks {}..{} hold {covered}",
                    r.total_rows(),
                    meta.first_block,
                    meta.end_block
                ),
            });
        }
        Ok(r)
    }

    /// Checks each site rollup against the row blocks it covers, recomputed from their decoded
    /// values (what `adstore inspect` runs): a query adds a rollup in place of its blocks, so a
    /// wrong rollup would be a wrong answer.
    fn verify_rollups(&self, ctx: &mut ReadContext) -> Result<()> {
        if self.footer.rollups.is_empty() {
            return Ok(());
        }
        let dict_len = self.dictionary(ColumnId::Site, ctx)?.len();
        let mut totals = rollup::Builder::new(dict_len);
        for (i, meta) in self.footer.rollups.iter().enumerate() {
            let stored = self.rollup(i, ctx)?;
            let corrupt = |reason: String| Error::Corrupt {
                path: self.path.clone(),
                offset: Some(meta.offset),
                reason,
            };
            // Every covered block holds the first one's event type and campaign alone.
            let key = |b: u32| {
                let (t, c) = (
                    self.block_meta(ColumnId::EventType, b),
                    self.block_meta(ColumnId::CampaignId, b),
                );
                (t.min == t.max && c.min == c.max).then_some((t.min, c.min))
            };
            let run_key = key(meta.first_block);
            for b in meta.first_block..meta.end_block {
                if run_key.is_none() || key(b) != run_key {
                    return Err(corrupt(format!(
                        "{} covers block {b}, which holds another event type or campaign",
                        Named::Rollup(i)
                    )));
                }
                let ColumnData::Dict { codes, .. } = self.read_block(ColumnId::Site, b, ctx)?
                else {
                    return Err(corrupt(format!("site block {b} holds no dictionary codes")));
                };
                let mut sums = Vec::with_capacity(rollup::SUM_COLUMNS.len());
                for col in rollup::SUM_COLUMNS {
                    match self.read_block(col, b, ctx)? {
                        ColumnData::I64(v) => sums.push(v),
                        _ => return Err(corrupt(format!("{col} block {b} holds no integers"))),
                    }
                }
                for (r, &code) in codes.iter().enumerate() {
                    let value = |k: usize| sums.get(k).and_then(|c| c.get(r)).copied().unwrap_or(0);
                    totals.add(code, std::array::from_fn(value));
                }
            }
            if totals.take() != stored {
                return Err(corrupt(format!(
                    "{} differs from the rows of blocks {}..{}",
                    Named::Rollup(i),
                    meta.first_block,
                    meta.end_block
                )));
            }
        }
        Ok(())
    }

    /// The partition.
    pub fn partition(&self) -> PartitionKey {
        self.footer.partition
    }

    /// Rows in the segment.
    pub fn rows(&self) -> u64 {
        self.footer.rows
    }

    /// Number of row blocks.
    pub fn block_count(&self) -> u32 {
        self.footer.block_count
    }

    /// File size.
    pub fn file_len(&self) -> u64 {
        self.mmap.len() as u64
    }

    /// Block `b`'s metadata for `col`.
    pub fn block_meta(&self, col: ColumnId, b: u32) -> &BlockMeta {
        &self.footer.columns[col.index()].blocks[b as usize]
    }

    /// The sorted dictionary of a dictionary column (decoded once, then shared).
    pub fn dictionary(&self, col: ColumnId, ctx: &mut ReadContext) -> Result<Arc<StringColumn>> {
        let cell = &self.dictionaries[col.index()];
        if let Some(d) = cell.get() {
            return Ok(Arc::clone(d));
        }
        let meta = &self.footer.columns[col.index()];
        if col.kind() != ColumnKind::DictString {
            return Err(Error::InvalidArgument(format!("{col} has no dictionary")));
        }
        let what = Named::Dictionary(col);
        let raw = self.block_bytes(meta.dict_block.0, meta.dict_block.1, &what, ctx)?;
        let mut dict = StringColumn::default();
        strings::decode_strings(raw, meta.dict_len as usize, &mut dict)
            .and_then(|n| check_len(n, raw.len()))
            .map_err(|e| self.codec(&what, e))?;
        if dict.iter().zip(dict.iter().skip(1)).any(|(a, b)| a >= b) {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                offset: Some(meta.dict_block.0),
                reason: format!("{what} is not sorted and distinct"),
            });
        }
        let dict = Arc::new(dict);
        let _ = cell.set(Arc::clone(&dict));
        Ok(dict)
    }

    /// Which rows of block `b` hold one of `needles` in the plain string column `col` (not
    /// `event_id`, whose blocks hold ranks), without decoding the strings: what a one-user
    /// query (`user_id = '...'`) needs of the blocks its bloom filters kept.
    pub fn match_strings(
        &self,
        col: ColumnId,
        b: u32,
        needles: &[&str],
        ctx: &mut ReadContext,
    ) -> Result<Vec<bool>> {
        let rows = self.footer.rows_in_block(b);
        let mut mask = Vec::with_capacity(rows);
        if needles.len() > MAX_SEARCHED_NEEDLES {
            self.for_each_string(col, b, ctx, |value| {
                mask.push(
                    needles
                        .iter()
                        .any(|n| n.len() == value.len() && n.as_bytes() == value),
                );
            })?;
            return Ok(mask);
        }
        Self::check_string_blocks(col)?;
        let meta = *self.block_meta(col, b);
        let what = Named::Block(col, b);
        let raw = self.block_bytes(meta.offset, meta.len, &what, ctx)?;
        let len = raw.len();
        let needles: Vec<&[u8]> = needles.iter().map(|n| n.as_bytes()).collect();
        strings::match_rows(raw, rows, &needles, &mut mask)
            .and_then(|used| check_len(used, len))
            .map_err(|e| self.codec(&what, e))?;
        Ok(mask)
    }

    /// Calls `f` with the bytes of each row's value in block `b` of the plain string column
    /// `col` (not `event_id`, whose blocks hold ranks), in row order, without decoding the block
    /// into strings: for comparing or hashing them in place (`uniqExact(user_id)` over a whole
    /// block). The bytes are not checked for UTF-8; the block's CRC is.
    pub fn for_each_string(
        &self,
        col: ColumnId,
        b: u32,
        ctx: &mut ReadContext,
        f: impl FnMut(&[u8]),
    ) -> Result<()> {
        Self::check_string_blocks(col)?;
        let rows = self.footer.rows_in_block(b);
        let meta = *self.block_meta(col, b);
        let what = Named::Block(col, b);
        let raw = self.block_bytes(meta.offset, meta.len, &what, ctx)?;
        let len = raw.len();
        strings::for_each_string(raw, rows, f)
            .and_then(|used| check_len(used, len))
            .map_err(|e| self.codec(&what, e))
    }

    /// An error unless `col`'s blocks hold strings (a plain string column other than
    /// `event_id`, whose blocks hold ranks).
    fn check_string_blocks(col: ColumnId) -> Result<()> {
        if col.kind() != ColumnKind::PlainString || col == ColumnId::EventId {
            return Err(Error::InvalidArgument(format!(
                "{col} is not a plain string column with string blocks"
            )));
        }
        Ok(())
    }

    /// Decodes column `col` of block `b`.
    pub fn read_block(&self, col: ColumnId, b: u32, ctx: &mut ReadContext) -> Result<ColumnData> {
        let rows = self.footer.rows_in_block(b);
        let meta = *self.block_meta(col, b);
        let dictionary = match col.kind() {
            ColumnKind::DictString => Some(self.dictionary(col, ctx)?),
            _ => None,
        };
        let sorted_keys = match col {
            ColumnId::EventId => Some(self.sorted_keys(ctx)?),
            _ => None,
        };
        let what = Named::Block(col, b);
        let tagged_codes = self.footer.format_version >= 3;
        // Taken before the block's bytes borrow the context.
        let (mut ints_out, mut codes_out) = match col.kind() {
            ColumnKind::I64 => (ctx.i64_buffer(rows), Vec::new()),
            ColumnKind::DictString => (Vec::new(), ctx.u32_buffer(rows)),
            _ => (Vec::new(), Vec::new()),
        };
        let raw = self.block_bytes(meta.offset, meta.len, &what, ctx)?;
        // Format 3 tags each block of codes with its layout; older blocks are untagged bytes.
        let decode_codes = if tagged_codes {
            codes::decode_code_block
        } else {
            codes::decode_codes
        };
        let decoded = match col.kind() {
            ColumnKind::PlainString if col == ColumnId::EventId => {
                let keys = sorted_keys.unwrap_or_default();
                let mut ranks = Vec::with_capacity(rows);
                ints::decode_u32(raw, rows, &mut ranks)
                    .and_then(|n| check_len(n, raw.len()))
                    .and_then(|()| {
                        let mut s = StringColumn::with_capacity(rows, rows * 36);
                        for &rank in &ranks {
                            if rank as usize >= keys.len() {
                                return Err(CodecError::CodeOutOfRange {
                                    code: rank,
                                    dict_len: keys.len(),
                                });
                            }
                            s.push(keys.get(rank as usize));
                        }
                        Ok(ColumnData::Strings(s))
                    })
            }
            ColumnKind::PlainString => {
                let mut s = StringColumn::with_capacity(rows, raw.len());
                strings::decode_strings(raw, rows, &mut s)
                    .and_then(|n| check_len(n, raw.len()))
                    .map(|()| ColumnData::Strings(s))
            }
            ColumnKind::DictString => {
                let dictionary = dictionary.unwrap_or_default();
                decode_codes(raw, rows, dictionary.len(), &mut codes_out)
                    .and_then(|n| check_len(n, raw.len()))
                    .map(|()| ColumnData::Dict {
                        dictionary,
                        codes: codes_out,
                    })
            }
            ColumnKind::I64 => ints::decode_i64(raw, rows, &mut ints_out)
                .and_then(|n| check_len(n, raw.len()))
                .map(|()| ColumnData::I64(ints_out)),
            ColumnKind::EventType => {
                let mut c = Vec::with_capacity(rows);
                decode_codes(raw, rows, EventType::ALL.len(), &mut c)
                    .and_then(|n| check_len(n, raw.len()))
                    .map(|()| {
                        // The decoder checked every code < 4: a table look-up per row.
                        ColumnData::EventType(
                            c.into_iter()
                                .map(|c| EventType::ALL[(c & 3) as usize])
                                .collect(),
                        )
                    })
            }
            ColumnKind::Bool => {
                let mut v = Vec::with_capacity(rows);
                bools::decode_bools(raw, rows, &mut v)
                    .and_then(|n| check_len(n, raw.len()))
                    .map(|()| ColumnData::Bool(v))
            }
        };
        decoded.map_err(|e| self.codec(&what, e))
    }

    /// Streams block `b` of the dictionary column `key` and of the integer columns `ints`
    /// together, [`BLOCK_LEN`] rows at a time, without materializing a column: `f(n, codes,
    /// values)` gets the chunk's codes and, for each of `ints` in order, its values; the first
    /// `n` slots of each hold the chunk. Every block's CRC is checked before the first call,
    /// and each block must be consumed exactly, as [`Self::read_block`] requires; a block found
    /// malformed after some chunks were handed over is still an error, so whatever `f` folded
    /// must be dropped with the query.
    ///
    /// The codes are **not** checked against the dictionary here (a separate pass over every
    /// chunk would cost more than the bounds check `f` makes anyway when it indexes a per-code
    /// table): `f` must check each code below the length of `key`'s dictionary before using
    /// it, and return `Some(code)` for the first that is not, which fails the block as
    /// corrupt ([`crate::codec::CodecError::CodeOutOfRange`]); `None` when every code held.
    ///
    /// `Ok(false)`, without calling `f`, when the blocks do not stream (an integer block in a
    /// delta encoding, a column of another kind, more than [`MAX_STREAMED_INTS`] columns): the
    /// caller reads them with [`Self::read_block`] instead.
    pub fn stream_codes_with_ints(
        &self,
        b: u32,
        key: ColumnId,
        ints: &[ColumnId],
        ctx: &mut ReadContext,
        mut f: impl FnMut(usize, &[i64; BLOCK_LEN], &[[i64; BLOCK_LEN]]) -> Option<i64>,
    ) -> Result<bool> {
        if key.kind() != ColumnKind::DictString
            || ints.len() > MAX_STREAMED_INTS
            || ints.iter().any(|c| c.kind() != ColumnKind::I64)
        {
            return Ok(false);
        }
        let rows = self.footer.rows_in_block(b);
        let dict_len = self.dictionary(key, ctx)?.len();
        let tagged = self.footer.format_version >= 3;
        let ReadContext {
            decompressor,
            streams,
            ..
        } = ctx;
        if streams.len() <= ints.len() {
            streams.resize_with(ints.len() + 1, Vec::new);
        }
        let (key_buf, int_bufs) = streams.split_at_mut(1);
        let key_meta = *self.block_meta(key, b);
        let key_what = Named::Block(key, b);
        let key_bytes = self.payload(
            key_meta.offset,
            key_meta.len,
            &key_what,
            decompressor,
            &mut key_buf[0],
        )?;
        let Some(mut key_chunks) = CodeChunks::new(key_bytes, rows, dict_len, tagged)
            .map_err(|e| self.codec(&key_what, e))?
        else {
            return Ok(false);
        };
        let mut readers: [Option<(IntChunks<'_>, usize, ColumnId)>; MAX_STREAMED_INTS] =
            std::array::from_fn(|_| None);
        for ((&col, buf), slot) in ints.iter().zip(int_bufs).zip(&mut readers) {
            let meta = *self.block_meta(col, b);
            let what = Named::Block(col, b);
            let bytes = self.payload(meta.offset, meta.len, &what, decompressor, buf)?;
            match IntChunks::new(bytes, rows).map_err(|e| self.codec(&what, e))? {
                Some(c) => *slot = Some((c, bytes.len(), col)),
                None => return Ok(false),
            }
        }
        let readers = &mut readers[..ints.len()];
        let chunks = rows.div_ceil(BLOCK_LEN);
        let mut next =
            self.prefetch_next(b, chunks, std::iter::once(key).chain(ints.iter().copied()));
        let mut codes = [0i64; BLOCK_LEN];
        let mut values = [[0i64; BLOCK_LEN]; MAX_STREAMED_INTS];
        loop {
            let n = key_chunks
                .next_into(&mut codes)
                .map_err(|e| self.codec(&key_what, e))?;
            if n == 0 {
                break;
            }
            next.step();
            for (reader, out) in readers.iter_mut().zip(&mut values) {
                if let Some((c, _, col)) = reader {
                    c.next_into(out)
                        .map_err(|e| self.codec(&Named::Block(*col, b), e))?;
                }
            }
            if let Some(code) = f(n, &codes, &values[..ints.len()]) {
                let bad = CodecError::CodeOutOfRange {
                    code: u32::try_from(code).unwrap_or(u32::MAX),
                    dict_len,
                };
                return Err(self.codec(&key_what, bad));
            }
        }
        key_chunks
            .finish()
            .and_then(|used| check_len(used, key_bytes.len()))
            .map_err(|e| self.codec(&key_what, e))?;
        for reader in readers {
            if let Some((c, len, col)) = reader.take() {
                c.finish()
                    .and_then(|used| check_len(used, len))
                    .map_err(|e| self.codec(&Named::Block(col, b), e))?;
            }
        }
        Ok(true)
    }

    /// The event ids of the rows `sel` (ascending) of block `b`, in a column of the block's full
    /// length whose other rows are empty strings. Only the sorted-key blocks holding those ids
    /// are decoded (unless the whole sorted key set is already decoded): for a selective query
    /// (one user's events) that is a few key blocks instead of every id of the segment. A
    /// selection of at least as many rows as there are key blocks would touch most of them
    /// (ranks are spread over the whole key set), and for every row block again: it decodes the
    /// whole key set once instead, kept for the segment's later blocks ([`Self::sorted_keys`]).
    pub fn read_event_ids_of_rows(
        &self,
        b: u32,
        sel: &[u32],
        ctx: &mut ReadContext,
    ) -> Result<ColumnData> {
        let rows = self.footer.rows_in_block(b);
        let meta = *self.block_meta(ColumnId::EventId, b);
        let what = Named::Block(ColumnId::EventId, b);
        let raw = self.block_bytes(meta.offset, meta.len, &what, ctx)?;
        let mut ranks = Vec::with_capacity(rows);
        ints::decode_u32(raw, rows, &mut ranks)
            .and_then(|n| check_len(n, raw.len()))
            .map_err(|e| self.codec(&what, e))?;
        let cached = if sel.len() >= self.footer.key_blocks.len() {
            Some(self.sorted_keys(ctx)?)
        } else {
            self.sorted_keys.get().cloned()
        };
        // First rank of each key block, to find the block holding a rank.
        let mut starts = Vec::with_capacity(self.footer.key_blocks.len());
        let mut total = 0u64;
        for kb in &self.footer.key_blocks {
            starts.push(total);
            total += u64::from(kb.keys);
        }
        let mut decoded: Vec<(usize, StringColumn)> = Vec::new();
        let mut out = StringColumn::with_capacity(rows, sel.len() * 36);
        let mut next = sel.iter().peekable();
        for (row, &rank) in ranks.iter().enumerate() {
            if next.next_if(|&&r| r as usize == row).is_none() {
                out.push("");
                continue;
            }
            if u64::from(rank) >= total {
                return Err(self.codec(
                    &what,
                    CodecError::CodeOutOfRange {
                        code: rank,
                        dict_len: usize::try_from(total).unwrap_or(usize::MAX),
                    },
                ));
            }
            if let Some(keys) = &cached {
                out.push(keys.get(rank as usize));
                continue;
            }
            let kb = starts.partition_point(|&s| s <= u64::from(rank)) - 1;
            let at = match decoded.iter().position(|(i, _)| *i == kb) {
                Some(at) => at,
                None => {
                    decoded.push((kb, self.key_block(kb, ctx)?));
                    decoded.len() - 1
                }
            };
            let keys = &decoded[at].1;
            let offset = usize::try_from(u64::from(rank) - starts[kb]).unwrap_or(usize::MAX);
            if offset >= keys.len() {
                return Err(Error::Corrupt {
                    path: self.path.clone(),
                    offset: None,
                    reason: format!("event-id key block {kb} holds {} keys", keys.len()),
                });
            }
            out.push(keys.get(offset));
        }
        Ok(ColumnData::Strings(out))
    }

    /// Decodes sorted-key block `i`.
    fn key_block(&self, i: usize, ctx: &mut ReadContext) -> Result<StringColumn> {
        let kb = &self.footer.key_blocks[i];
        let what = Named::KeyBlock(i);
        let raw = self.block_bytes(kb.offset, kb.len, &what, ctx)?;
        let mut keys = StringColumn::with_capacity(kb.keys as usize, raw.len());
        strings::decode_strings(raw, kb.keys as usize, &mut keys)
            .and_then(|n| check_len(n, raw.len()))
            .map_err(|e| self.codec(&what, e))?;
        Ok(keys)
    }

    /// Reads the header of every filter of bloom column `i` (in footer order), once per reader,
    /// on the first look-up in that column rather than at open, so a process that never
    /// consults a bloom (a query without `user_id` or `event_id` filters) does not read the
    /// area, ~15 % of a generated segment's bytes, and a one-user query reads no `event_id`
    /// filter. The headers kept (per block) spare a look-up the read of its filter's first
    /// cache line.
    ///
    /// From format 4 on each filter block carries its own CRC, checked by the look-up that
    /// reads it ([`BloomFilter::check_hash`]): a one-user query reads one block per filter, a
    /// few hundred KB of a 50M-event store's 170 MB of filters, and checks just those. Before
    /// format 4 the whole area's CRC is checked here first (a crash or bit rot that damaged a
    /// filter makes the look-up an error, never a wrong "absent"). [`Self::verify`] checks
    /// every byte either way.
    fn bloom_shapes(&self, i: usize) -> Result<&[BloomShape]> {
        let Some(cell) = self.bloom_shapes.get(i) else {
            return Ok(&[]);
        };
        if let Some(shapes) = cell.get() {
            return Ok(shapes);
        }
        let (offset, layout) = (self.footer.bloom_offset, self.bloom_layout());
        if layout == Layout::Plain && self.bloom_area_checked.get().is_none() {
            self.check_bloom_area_crc()?;
            let _ = self.bloom_area_checked.set(());
        }
        let (col, blocks) = &self.footer.blooms[i];
        let mut shapes = Vec::with_capacity(blocks.len());
        for (b, &(rel, len)) in blocks.iter().enumerate() {
            let start = (offset + u64::from(rel)) as usize;
            let bytes = &self.mmap[start..start + len as usize];
            let shape = BloomFilter::shape(bytes, layout)
                .map_err(|e| self.bloom_error(*col, b as u32, start, e))?;
            // The writer gives each filter exactly its length: a header announcing fewer
            // blocks is damaged, even though the blocks it announces are there.
            let filter_len = BloomFilter::with_shape(bytes, shape)
                .map_err(|e| self.bloom_error(*col, b as u32, start, e))?
                .serialized_len();
            if filter_len != bytes.len() {
                return Err(Error::Corrupt {
                    path: self.path.clone(),
                    offset: Some(start as u64),
                    reason: format!(
                        "{col} bloom of block {b}: a filter of {filter_len} bytes where the footer has {}",
                        bytes.len()
                    ),
                });
            }
            shapes.push(shape);
        }
        Ok(cell.get_or_init(|| shapes))
    }

    /// How this segment's filters are laid out: with a CRC per filter block from format 4 on.
    fn bloom_layout(&self) -> Layout {
        if self.footer.format_version >= 4 {
            Layout::Checked
        } else {
            Layout::Plain
        }
    }

    /// Checks the CRC over the whole bloom area (every format writes it).
    fn check_bloom_area_crc(&self) -> Result<()> {
        let (offset, len) = (self.footer.bloom_offset, self.footer.bloom_len);
        let bloom = &self.mmap[offset as usize..(offset + len) as usize];
        let got = crc32fast::hash(bloom);
        if got != self.footer.bloom_crc {
            return Err(Error::ChecksumMismatch {
                path: self.path.clone(),
                offset,
                what: "bloom filters".into(),
                expected: self.footer.bloom_crc,
                got,
            });
        }
        Ok(())
    }

    /// A damaged filter, as the crate's error: the segment, the filter's offset, its column
    /// and block.
    fn bloom_error(&self, col: ColumnId, b: u32, start: usize, e: BloomError) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            offset: Some(start as u64),
            reason: format!("{col} bloom of block {b}: {e}"),
        }
    }

    /// Whether block `b` may hold a row whose `col` (a bloom column) hashes to `hash`. `true` for
    /// columns without blooms. A filter block that fails its CRC is an error.
    pub fn bloom_may_contain(&self, col: ColumnId, b: u32, hash: u64) -> Result<bool> {
        match self.bloom(col, b)? {
            Some(bloom) => bloom.check_hash(hash),
            None => Ok(true),
        }
    }

    /// The bloom filter of block `b` on `col`, `None` for columns without blooms: a
    /// [`CheckedBloom`], whose look-ups check the filter block they read (format 4 on).
    pub fn bloom(&self, col: ColumnId, b: u32) -> Result<Option<CheckedBloom<'_>>> {
        let Some(i) = self.footer.blooms.iter().position(|(c, _)| *c == col) else {
            return Ok(None);
        };
        let shape = self.bloom_shapes(i)?[b as usize];
        let (rel, len) = self.footer.blooms[i].1[b as usize];
        let start = (self.footer.bloom_offset + u64::from(rel)) as usize;
        let filter = BloomFilter::with_shape(&self.mmap[start..start + len as usize], shape)
            .map_err(|e| self.bloom_error(col, b, start, e))?;
        Ok(Some(CheckedBloom {
            filter,
            segment: self,
            col,
            block: b,
            start,
        }))
    }

    /// Whether the segment holds `event_id`: exact. Blooms answer most "no"s without decoding
    /// anything; a "maybe" is settled by binary search in the sorted key blocks.
    pub fn contains_event_id(
        &self,
        event_id: &str,
        hash: u64,
        ctx: &mut ReadContext,
    ) -> Result<bool> {
        let mut maybe = false;
        for b in 0..self.footer.block_count {
            if self.bloom_may_contain(ColumnId::EventId, b, hash)? {
                maybe = true;
                break;
            }
        }
        if !maybe {
            return Ok(false);
        }
        let blocks = &self.footer.key_blocks;
        let idx = blocks.partition_point(|k| k.first_key.as_str() <= event_id);
        if idx == 0 {
            return Ok(false);
        }
        let keys = self.key_block(idx - 1, ctx)?;
        let (mut lo, mut hi) = (0usize, keys.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match keys.get(mid).cmp(event_id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(true),
            }
        }
        Ok(false)
    }

    /// All event ids of the segment in sorted order, decoded once and then shared: what the
    /// event_id column's ranks point into. Only queries that read event_id values pay for it.
    pub fn sorted_keys(&self, ctx: &mut ReadContext) -> Result<Arc<StringColumn>> {
        if let Some(k) = self.sorted_keys.get() {
            return Ok(Arc::clone(k));
        }
        let rows = usize::try_from(self.footer.rows).unwrap_or(usize::MAX);
        let mut keys = StringColumn::with_capacity(rows, rows * 36);
        self.for_each_event_id(ctx, |id| keys.push(id))?;
        if keys.len() != rows {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                offset: None,
                reason: format!("{} sorted event ids for {rows} rows", keys.len()),
            });
        }
        let keys = Arc::new(keys);
        let _ = self.sorted_keys.set(Arc::clone(&keys));
        Ok(keys)
    }

    /// Every sorted event id (for rebuilding the dedup index on open).
    pub fn for_each_event_id(&self, ctx: &mut ReadContext, mut f: impl FnMut(&str)) -> Result<()> {
        for i in 0..self.footer.key_blocks.len() {
            self.key_block(i, ctx)?.iter().for_each(&mut f);
        }
        Ok(())
    }

    /// Every row of the segment, in segment order, decoded into a batch (for compaction).
    pub fn read_all(&self, ctx: &mut ReadContext) -> Result<EventBatch> {
        let mut out = EventBatch::with_capacity(usize::try_from(self.footer.rows).unwrap_or(0));
        for b in 0..self.footer.block_count {
            let cols = ColumnId::ALL
                .iter()
                .map(|&c| self.read_block(c, b, ctx))
                .collect::<Result<Vec<_>>>()?;
            let rows = self.footer.rows_in_block(b);
            let str_at = |c: ColumnId, r: usize| cols[c.index()].str_at(r).unwrap_or("");
            let int_at = |c: ColumnId, r: usize| match &cols[c.index()] {
                ColumnData::I64(v) => v[r],
                _ => 0,
            };
            let (ColumnData::EventType(types), ColumnData::Bool(won)) = (
                &cols[ColumnId::EventType.index()],
                &cols[ColumnId::Won.index()],
            ) else {
                return Err(Error::Corrupt {
                    path: self.path.clone(),
                    offset: None,
                    reason: format!("block {b}: event_type or won decoded to the wrong type"),
                });
            };
            for r in 0..rows {
                out.push(&crate::batch::EventRef {
                    event_id: str_at(ColumnId::EventId, r),
                    event_type: types[r],
                    ts: int_at(ColumnId::Ts, r),
                    campaign_id: str_at(ColumnId::CampaignId, r),
                    creative_id: str_at(ColumnId::CreativeId, r),
                    user_id: str_at(ColumnId::UserId, r),
                    site: str_at(ColumnId::Site, r),
                    country: str_at(ColumnId::Country, r),
                    device: str_at(ColumnId::Device, r),
                    os: str_at(ColumnId::Os, r),
                    conversion_type: str_at(ColumnId::ConversionType, r),
                    impression_id: str_at(ColumnId::ImpressionId, r),
                    cost_micros: int_at(ColumnId::CostMicros, r),
                    revenue_micros: int_at(ColumnId::RevenueMicros, r),
                    bid_floor_micros: int_at(ColumnId::BidFloorMicros, r),
                    bid_price_micros: int_at(ColumnId::BidPriceMicros, r),
                    clearing_price_micros: int_at(ColumnId::ClearingPriceMicros, r),
                    won: won[r],
                });
            }
        }
        Ok(out)
    }

    /// Checks the CRC of every block, dictionary and key block, and decodes each once: what
    /// `adstore inspect` runs. Returns (stored bytes, raw bytes) per column.
    pub fn verify(&self, ctx: &mut ReadContext) -> Result<Vec<(ColumnId, u64, u64)>> {
        // Each filter block's CRC first (format 4 on), for an error naming the filter; then
        // the area's, over every byte of it.
        for (col, blocks) in &self.footer.blooms {
            for b in 0..blocks.len() as u32 {
                if let Some(bloom) = self.bloom(*col, b)? {
                    bloom.verify()?;
                }
            }
        }
        self.check_bloom_area_crc()?;
        let mut sizes = Vec::new();
        for col in ColumnId::ALL {
            let (mut stored, mut raw) = (0u64, 0u64);
            for b in 0..self.footer.block_count {
                let meta = self.block_meta(col, b);
                stored += u64::from(meta.len);
                raw += self
                    .block_bytes(meta.offset, meta.len, &Named::Block(col, b), ctx)?
                    .len() as u64;
                let data = self.read_block(col, b, ctx)?;
                self.check_block_stats(col, b, meta, &data)?;
            }
            sizes.push((col, stored, raw));
        }
        for kb in &self.footer.key_blocks {
            self.block_bytes(kb.offset, kb.len, &"event-id key block", ctx)?;
        }
        self.verify_rollups(ctx)?;
        let mut count = 0u64;
        self.for_each_event_id(ctx, |_| count += 1)?;
        if count != self.footer.rows {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                offset: None,
                reason: format!("{count} sorted event ids for {} rows", self.footer.rows),
            });
        }
        Ok(sizes)
    }

    /// Checks a numeric or code block's stored min, max and sum against its decoded values:
    /// queries prune and answer from them without decoding, so a wrong statistic would be a
    /// wrong answer.
    fn check_block_stats(
        &self,
        col: ColumnId,
        b: u32,
        meta: &BlockMeta,
        data: &ColumnData,
    ) -> Result<()> {
        let (min, max, sum) = match data {
            ColumnData::I64(v) => block_stats(v.iter().copied()),
            ColumnData::Bool(v) => block_stats(v.iter().map(|&w| i64::from(w))),
            // Codes have a min and max (pruning `=`, `IN` and ranges on strings), no sum.
            ColumnData::Dict { codes, .. } => block_stats(codes.iter().map(|&c| i64::from(c))),
            ColumnData::EventType(v) => block_stats(v.iter().map(|t| i64::from(t.code()))),
            ColumnData::Strings(_) => return Ok(()),
        };
        if (min, max) != (meta.min, meta.max) || meta.sum.is_some_and(|s| s != sum) {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                offset: Some(meta.offset),
                reason: format!(
                    "{col} block {b}: footer says min {} max {} sum {:?}, the values give {min} {max} {sum}",
                    meta.min, meta.max, meta.sum
                ),
            });
        }
        Ok(())
    }

    /// A [`Prefetch`] of block `b + 1` of `cols` over `steps` steps (nothing past the last
    /// block).
    fn prefetch_next(
        &self,
        b: u32,
        steps: usize,
        cols: impl Iterator<Item = ColumnId>,
    ) -> Prefetch<'_> {
        let mut ranges = Vec::new();
        if b + 1 < self.footer.block_count {
            for col in cols {
                let meta = self.block_meta(col, b + 1);
                let start = meta.offset as usize;
                if let Some(bytes) = self
                    .mmap
                    .get(start..start.saturating_add(meta.len as usize))
                {
                    ranges.push(bytes);
                }
            }
        }
        Prefetch::new(ranges, steps)
    }

    /// The checked, decompressed payload of the framed block at `offset`.
    fn block_bytes<'c>(
        &'c self,
        offset: u64,
        len: u32,
        what: &dyn std::fmt::Display,
        ctx: &'c mut ReadContext,
    ) -> Result<&'c [u8]>
    where
        Self: 'c,
    {
        self.payload(offset, len, what, &mut ctx.decompressor, &mut ctx.raw)
    }

    /// [`Self::block_bytes`] with the decompressor and the buffer a compressed payload is
    /// decompressed into given separately, so that several blocks can be held at once.
    fn payload<'c>(
        &'c self,
        offset: u64,
        len: u32,
        what: &dyn std::fmt::Display,
        decompressor: &mut BlockDecompressor,
        buf: &'c mut Vec<u8>,
    ) -> Result<&'c [u8]> {
        let corrupt = |reason: String| Error::Corrupt {
            path: self.path.clone(),
            offset: Some(offset),
            reason,
        };
        let start = offset as usize;
        let end = start + len as usize;
        if (len as usize) < BLOCK_HEADER_LEN + BLOCK_CRC_LEN || end > self.mmap.len() {
            return Err(corrupt(format!("{what}: framed length {len} out of range")));
        }
        let framed = &self.mmap[start..end];
        let body = &framed[..framed.len() - BLOCK_CRC_LEN];
        let stored_crc = u32::from_le_bytes([
            framed[body.len()],
            framed[body.len() + 1],
            framed[body.len() + 2],
            framed[body.len() + 3],
        ]);
        let got = crc32fast::hash(body);
        if got != stored_crc {
            return Err(Error::ChecksumMismatch {
                path: self.path.clone(),
                offset,
                what: what.to_string(),
                expected: stored_crc,
                got,
            });
        }
        let compression = Compression::from_u8(body[0])
            .map_err(|_| corrupt(format!("{what}: compression {}", body[0])))?;
        let raw_len = u32::from_le_bytes([body[4], body[5], body[6], body[7]]) as usize;
        let stored_len = u32::from_le_bytes([body[8], body[9], body[10], body[11]]) as usize;
        let payload = &body[BLOCK_HEADER_LEN..];
        if payload.len() != stored_len {
            return Err(corrupt(format!(
                "{what}: payload is {} bytes, header says {stored_len}",
                payload.len()
            )));
        }
        if compression == Compression::None {
            // Read in place: the mapping outlives the context's borrow.
            if payload.len() != raw_len {
                return Err(corrupt(format!(
                    "{what}: raw block of {} bytes, header says {raw_len}",
                    payload.len()
                )));
            }
            return Ok(payload);
        }
        decompressor
            .decompress(compression, payload, raw_len, buf)
            .map_err(|e| self.codec(what, e))?;
        Ok(buf)
    }

    fn codec(&self, what: &dyn std::fmt::Display, source: CodecError) -> Error {
        Error::Codec {
            path: self.path.clone(),
            what: what.to_string(),
            source,
        }
    }
}

/// Which part of a segment a read is of, for error messages: formatted only when an error is
/// raised, not on every block read.
#[derive(Debug, Clone, Copy)]
enum Named {
    /// A row block of a column.
    Block(ColumnId, u32),
    /// A column's dictionary block.
    Dictionary(ColumnId),
    /// A sorted event-id key block.
    KeyBlock(usize),
    /// A site rollup.
    Rollup(usize),
}

impl std::fmt::Display for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Named::Block(col, b) => write!(f, "{col} block {b}"),
            Named::Dictionary(col) => write!(f, "{col} dictionary"),
            Named::KeyBlock(i) => write!(f, "event-id key block {i}"),
            Named::Rollup(i) => write!(f, "site rollup {i}"),
        }
    }
}

/// A block must decode from exactly its raw bytes: leftovers mean the row count or the encoding
/// header is wrong.
fn check_len(consumed: usize, raw_len: usize) -> Result<(), CodecError> {
    if consumed == raw_len {
        Ok(())
    } else {
        Err(CodecError::LengthMismatch {
            expected: raw_len,
            got: consumed,
        })
    }
}
