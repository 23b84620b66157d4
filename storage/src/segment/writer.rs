//! [`write_segment`]: sorts a partition's rows and writes them as one immutable, durable file.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;

use super::footer::{BlockMeta, ColumnMeta, Footer, KeyBlockMeta, block_stats};
use super::format::{
    DEFAULT_BLOCK_ROWS, DEFAULT_BLOOM_BITS_PER_KEY, DEFAULT_USER_BLOOM_BITS_PER_KEY,
    KEYS_PER_KEY_BLOCK, SEGMENT_FORMAT_VERSION, SEGMENT_MAGIC, file_header, frame_block,
};
use super::rollup::{self, RollupMeta};
use crate::batch::{EventBatch, StringColumn};
use crate::bloom::{BloomBuilder, Layout};
use crate::codec::codes::CodeLayout;
use crate::codec::compress::BlockCompressor;
use crate::codec::{bools, codes, ints, strings};
use crate::error::{Error, IoContext, Result};
use crate::hooks::{CrashHook, CrashPoint, crash_point};
use crate::partition::PartitionKey;
use crate::schema::{ColumnId, ColumnKind};

/// How segments are written.
#[derive(Debug, Clone)]
pub struct SegmentOptions {
    /// Rows per block.
    pub block_rows: u32,
    /// Bloom filter bits per key of the per-block `event_id` filters.
    pub bloom_bits_per_key: f64,
    /// Bloom filter bits per key of the per-block `user_id` filters.
    pub user_bloom_bits_per_key: f64,
    /// zstd level for blocks.
    pub zstd_level: i32,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        SegmentOptions {
            block_rows: DEFAULT_BLOCK_ROWS,
            bloom_bits_per_key: DEFAULT_BLOOM_BITS_PER_KEY,
            user_bloom_bits_per_key: DEFAULT_USER_BLOOM_BITS_PER_KEY,
            zstd_level: 1,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenSegment {
    /// Rows in the file.
    pub rows: u64,
    /// File size.
    pub bytes: u64,
    /// Smallest event time.
    pub min_ts: i64,
    /// Largest event time.
    pub max_ts: i64,
}

/// Writes `batch` (any order; it is sorted here) as a segment at `path` and fsyncs it. The file is
/// not live until a manifest lists it: a crash before that leaves an orphan that the next writer
/// open deletes, while the rows are still in the WAL.
pub fn write_segment(
    path: &Path,
    partition: PartitionKey,
    batch: &EventBatch,
    options: &SegmentOptions,
    hook: Option<&CrashHook>,
) -> Result<WrittenSegment> {
    if batch.is_empty() {
        return Err(Error::InvalidArgument(
            "a segment needs at least one row".into(),
        ));
    }
    let bytes = encode_segment(partition, batch, options).map_err(|e| Error::Codec {
        path: path.to_path_buf(),
        what: "encoding".into(),
        source: e,
    })?;
    let mut file = File::create(path).io("create", path)?;
    let half = bytes.len() / 2;
    file.write_all(&bytes[..half]).io("write", path)?;
    crash_point(hook, CrashPoint::SegmentMidWrite);
    file.write_all(&bytes[half..]).io("write", path)?;
    file.sync_all().io("fsync", path)?;
    let min_ts = batch.ts.iter().copied().min().unwrap_or(0);
    let max_ts = batch.ts.iter().copied().max().unwrap_or(0);
    Ok(WrittenSegment {
        rows: batch.len() as u64,
        bytes: bytes.len() as u64,
        min_ts,
        max_ts,
    })
}

/// Compresses and frames blocks onto the segment's bytes, with one reused zstd context and
/// reused buffers.
struct BlockSink {
    compressor: BlockCompressor,
    stored: Vec<u8>,
    /// The second candidate of [`BlockSink::put_codes`], raw and stored.
    alt_raw: Vec<u8>,
    alt_stored: Vec<u8>,
    /// The first candidate's raw bytes.
    codes_raw: Vec<u8>,
}

/// A block of codes takes the integer layout unless the byte layout stores smaller by more
/// than 1/`INTS_PREFERRED_WITHIN`: bit-packed codes, mostly stored raw, decode several times
/// faster than zstd-compressed bytes, and zstd must save as much to be kept at all
/// (`codec::compress::MIN_SAVING_DIVISOR`). At 50M generated impressions a segment's `site`
/// dictionary passes 8,192 entries: 14-bit codes, 6 % larger than zstd's bytes, decoded
/// without zstd (the top campaign's Q5 decodes 7.2M of them).
const INTS_PREFERRED_WITHIN: usize = crate::codec::compress::MIN_SAVING_DIVISOR;

impl BlockSink {
    fn new(zstd_level: i32) -> Result<BlockSink, crate::codec::CodecError> {
        Ok(BlockSink {
            compressor: BlockCompressor::new(zstd_level)?,
            stored: Vec::new(),
            alt_raw: Vec::new(),
            alt_stored: Vec::new(),
            codes_raw: Vec::new(),
        })
    }

    /// Appends the framed block of `raw` to `out`; returns its offset and framed length.
    fn put(
        &mut self,
        out: &mut Vec<u8>,
        raw: &[u8],
    ) -> Result<(u64, u32), crate::codec::CodecError> {
        self.stored.clear();
        let compression = self.compressor.compress(raw, &mut self.stored)?;
        Ok(frame(out, compression.tag(), raw.len(), &self.stored))
    }

    /// Appends a block of dictionary codes in the layout that stores smaller after compression
    /// (`codes::CodeLayout`; the integer layout within [`INTS_PREFERRED_WITHIN`]).
    fn put_codes(
        &mut self,
        out: &mut Vec<u8>,
        block: &[u32],
        dict_len: usize,
    ) -> Result<(u64, u32), crate::codec::CodecError> {
        self.codes_raw.clear();
        codes::encode_code_block(block, dict_len, CodeLayout::Ints, &mut self.codes_raw);
        self.stored.clear();
        let ints = self
            .compressor
            .compress(&self.codes_raw, &mut self.stored)?;
        self.alt_raw.clear();
        codes::encode_code_block(block, dict_len, CodeLayout::Bytes, &mut self.alt_raw);
        self.alt_stored.clear();
        let bytes = self
            .compressor
            .compress(&self.alt_raw, &mut self.alt_stored)?;
        let (ints_len, bytes_len) = (self.stored.len(), self.alt_stored.len());
        Ok(
            if ints_len <= bytes_len + bytes_len / INTS_PREFERRED_WITHIN {
                frame(out, ints.tag(), self.codes_raw.len(), &self.stored)
            } else {
                frame(out, bytes.tag(), self.alt_raw.len(), &self.alt_stored)
            },
        )
    }
}

/// Frames `stored` (of `raw_len` bytes before compression) onto `out`; returns its offset and
/// framed length.
fn frame(out: &mut Vec<u8>, compression: u8, raw_len: usize, stored: &[u8]) -> (u64, u32) {
    let offset = out.len() as u64;
    frame_block(
        compression,
        u32::try_from(raw_len).unwrap_or(u32::MAX),
        stored,
        out,
    );
    (
        offset,
        u32::try_from(out.len() as u64 - offset).unwrap_or(u32::MAX),
    )
}

/// Encodes a whole segment in memory (pure: no I/O).
pub fn encode_segment(
    partition: PartitionKey,
    batch: &EventBatch,
    options: &SegmentOptions,
) -> Result<Vec<u8>, crate::codec::CodecError> {
    let rows = batch.len();
    let block_rows = options.block_rows.max(1) as usize;
    let block_count = rows.div_ceil(block_rows);

    let mut out = Vec::with_capacity(batch.heap_bytes() / 3 + 4096);
    out.extend_from_slice(&file_header());
    let mut sink = BlockSink::new(options.zstd_level)?;
    let mut raw = Vec::new();

    // Dictionaries: sorted distinct values, so code order is string order and min/max of codes
    // prune `<`/`>` predicates on strings too.
    let mut dictionaries: HashMap<ColumnId, (StringColumn, Vec<u32>)> = HashMap::new();
    for col in ColumnId::ALL
        .into_iter()
        .filter(|c| c.kind() == ColumnKind::DictString)
    {
        if let Some(values) = batch.string_column(col) {
            dictionaries.insert(col, values.dictionary());
        }
    }

    // Rows are never copied into sorted order: each block gathers its values through the
    // permutation as it is encoded. The campaign dictionary's codes are the campaign ranks the
    // sort needs.
    let perm = match dictionaries.get(&ColumnId::CampaignId) {
        Some((_, ranks)) => batch.sort_permutation_by_campaign_rank(ranks),
        None => batch.sort_permutation(),
    };

    let mut columns: Vec<ColumnMeta> = ColumnId::ALL
        .iter()
        .map(|&id| ColumnMeta {
            id,
            dict_len: 0,
            dict_block: (0, 0),
            blocks: Vec::with_capacity(block_count),
        })
        .collect();
    // Sorted event ids, for exact dedup confirmation and event_id look-ups; `key_ranks[row]` is
    // the row's position among them.
    let key_order = sorted_rows(&batch.event_id);
    let mut key_ranks = vec![0u32; rows];
    for (rank, &row) in key_order.iter().enumerate() {
        key_ranks[row as usize] = u32::try_from(rank).unwrap_or(u32::MAX);
    }
    let mut block_codes: Vec<u32> = Vec::with_capacity(block_rows);
    let mut block_ints: Vec<i64> = Vec::with_capacity(block_rows);
    let mut block_bools: Vec<bool> = Vec::with_capacity(block_rows);
    for b in 0..block_count {
        let block_perm = &perm[b * block_rows..((b + 1) * block_rows).min(rows)];
        for col in ColumnId::ALL {
            raw.clear();
            let ((offset, len), min, max, sum) = match col.kind() {
                ColumnKind::PlainString if col == ColumnId::EventId => {
                    // event_id is stored once, in the sorted key blocks; its row blocks hold
                    // each row's rank among the sorted keys (a few bits per row).
                    block_codes.clear();
                    block_codes.extend(block_perm.iter().map(|&r| key_ranks[r as usize]));
                    ints::encode_u32(&block_codes, &mut raw);
                    (sink.put(&mut out, &raw)?, 0, 0, None)
                }
                ColumnKind::PlainString => {
                    let values = batch
                        .string_column(col)
                        .map(|c| block_perm.iter().map(|&r| c.get(r as usize)));
                    if let Some(v) = values {
                        strings::encode_row_strings(v, &mut raw);
                    }
                    (sink.put(&mut out, &raw)?, 0, 0, None)
                }
                ColumnKind::DictString => {
                    let (dict, all_codes) = &dictionaries[&col];
                    block_codes.clear();
                    block_codes.extend(block_perm.iter().map(|&r| all_codes[r as usize]));
                    let (min, max, _) = block_stats(block_codes.iter().map(|&c| i64::from(c)));
                    let placed = sink.put_codes(&mut out, &block_codes, dict.len())?;
                    (placed, min, max, None)
                }
                ColumnKind::I64 => {
                    let values = batch.i64_column(col).unwrap_or(&[]);
                    block_ints.clear();
                    block_ints.extend(block_perm.iter().map(|&r| values[r as usize]));
                    ints::encode_i64(&block_ints, &mut raw);
                    let (min, max, sum) = block_stats(block_ints.iter().copied());
                    (sink.put(&mut out, &raw)?, min, max, Some(sum))
                }
                ColumnKind::EventType => {
                    block_codes.clear();
                    block_codes.extend(
                        block_perm
                            .iter()
                            .map(|&r| u32::from(batch.event_type[r as usize].code())),
                    );
                    let (min, max, _) = block_stats(block_codes.iter().map(|&c| i64::from(c)));
                    let dict_len = crate::schema::EventType::ALL.len();
                    let placed = sink.put_codes(&mut out, &block_codes, dict_len)?;
                    (placed, min, max, None)
                }
                ColumnKind::Bool => {
                    block_bools.clear();
                    block_bools.extend(block_perm.iter().map(|&r| batch.won[r as usize]));
                    bools::encode_bools(&block_bools, &mut raw);
                    let (min, max, trues) = block_stats(block_bools.iter().map(|&w| i64::from(w)));
                    (sink.put(&mut out, &raw)?, min, max, Some(trues))
                }
            };
            columns[col.index()].blocks.push(BlockMeta {
                offset,
                len,
                min,
                max,
                sum,
            });
        }
    }
    for (col, (dict, _)) in &dictionaries {
        raw.clear();
        strings::encode_strings(dict.iter(), &mut raw);
        let block = sink.put(&mut out, &raw)?;
        let meta = &mut columns[col.index()];
        meta.dict_len = u32::try_from(dict.len()).unwrap_or(u32::MAX);
        meta.dict_block = block;
    }

    let keys: Vec<&str> = key_order
        .iter()
        .map(|&r| batch.event_id.get(r as usize))
        .collect();
    let mut key_blocks = Vec::new();
    for chunk in keys.chunks(KEYS_PER_KEY_BLOCK) {
        raw.clear();
        strings::encode_strings(chunk.iter().copied(), &mut raw);
        let (offset, len) = sink.put(&mut out, &raw)?;
        key_blocks.push(KeyBlockMeta {
            offset,
            len,
            keys: u32::try_from(chunk.len()).unwrap_or(u32::MAX),
            first_key: chunk.first().map(|k| (*k).to_owned()).unwrap_or_default(),
        });
    }

    let rollups = write_rollups(
        &mut out,
        &mut sink,
        &columns,
        batch,
        &perm,
        block_rows,
        dictionaries.get(&ColumnId::Site),
    )?;

    // Bloom filters, one per block and bloom column, raw (read in place from the mmap).
    let bloom_offset = out.len() as u64;
    let mut blooms = Vec::new();
    for col in ColumnId::ALL.into_iter().filter(|c| c.has_bloom()) {
        let Some(values) = batch.string_column(col) else {
            continue;
        };
        let bits_per_key = if col == ColumnId::UserId {
            options.user_bloom_bits_per_key
        } else {
            options.bloom_bits_per_key
        };
        let mut per_block = Vec::with_capacity(block_count);
        for b in 0..block_count {
            let block_perm = &perm[b * block_rows..((b + 1) * block_rows).min(rows)];
            let mut builder = BloomBuilder::new(block_perm.len(), bits_per_key);
            for &r in block_perm {
                builder.insert(values.get(r as usize).as_bytes());
            }
            let start = out.len();
            builder.finish(Layout::Checked, &mut out);
            let rel = u32::try_from(start as u64 - bloom_offset).unwrap_or(u32::MAX);
            per_block.push((rel, u32::try_from(out.len() - start).unwrap_or(u32::MAX)));
        }
        blooms.push((col, per_block));
    }
    let bloom_len = out.len() as u64 - bloom_offset;
    let bloom_crc = crc32fast::hash(&out[bloom_offset as usize..]);

    let footer = Footer {
        format_version: SEGMENT_FORMAT_VERSION,
        rows: rows as u64,
        block_rows: u32::try_from(block_rows).unwrap_or(u32::MAX),
        block_count: u32::try_from(block_count).unwrap_or(u32::MAX),
        partition,
        min_ts: batch.ts.iter().copied().min().unwrap_or(0),
        max_ts: batch.ts.iter().copied().max().unwrap_or(0),
        columns,
        bloom_offset,
        bloom_len,
        bloom_crc,
        blooms,
        key_blocks,
        rollups,
    };
    let footer_start = out.len();
    footer.encode(&mut out);
    let footer_len = u32::try_from(out.len() - footer_start).unwrap_or(u32::MAX);
    let footer_crc = crc32fast::hash(&out[footer_start..]);
    out.extend_from_slice(&footer_len.to_le_bytes());
    out.extend_from_slice(&footer_crc.to_le_bytes());
    out.extend_from_slice(&SEGMENT_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&SEGMENT_MAGIC);
    Ok(out)
}

/// Writes a site rollup for each run of whole blocks of one event type and one campaign that
/// pays for one ([`rollup::pays`]); returns their footer entries. `site` is the site
/// dictionary with each row's code.
fn write_rollups(
    out: &mut Vec<u8>,
    sink: &mut BlockSink,
    columns: &[ColumnMeta],
    batch: &EventBatch,
    perm: &[u32],
    block_rows: usize,
    site: Option<&(StringColumn, Vec<u32>)>,
) -> Result<Vec<RollupMeta>, crate::codec::CodecError> {
    let Some((dict, codes)) = site else {
        return Ok(Vec::new());
    };
    let min_max = |col: ColumnId| columns[col.index()].blocks.iter().map(|m| (m.min, m.max));
    let sums: Vec<&[i64]> = rollup::SUM_COLUMNS
        .iter()
        .map(|&c| batch.i64_column(c).unwrap_or(&[]))
        .collect();
    let mut totals = rollup::Builder::new(dict.len());
    let mut raw = Vec::new();
    let mut metas = Vec::new();
    for run in rollup::runs(min_max(ColumnId::EventType), min_max(ColumnId::CampaignId)) {
        if run.len() < rollup::MIN_BLOCKS as usize {
            continue;
        }
        let rows =
            &perm[run.start as usize * block_rows..(run.end as usize * block_rows).min(perm.len())];
        for &r in rows {
            let r = r as usize;
            let value = |k: usize| sums.get(k).and_then(|c| c.get(r)).copied().unwrap_or(0);
            totals.add(codes[r], std::array::from_fn(value));
        }
        let summary = totals.take();
        if !rollup::pays(run.end - run.start, rows.len() as u64, summary.codes.len()) {
            continue;
        }
        raw.clear();
        summary.encode(&mut raw);
        let (offset, len) = sink.put(out, &raw)?;
        metas.push(RollupMeta {
            first_block: run.start,
            end_block: run.end,
            sites: u32::try_from(summary.codes.len()).unwrap_or(u32::MAX),
            offset,
            len,
        });
    }
    Ok(metas)
}

/// The rows of `column` ordered by their string (byte order). Sorts on a 16-byte big-endian
/// prefix first (an integer compare), falling back to the whole string only on equal prefixes:
/// ids of up to 16 bytes (`imp-006382577`) never tie and random ids (UUIDs) almost never, so this
/// runs several times faster than comparing strings (an 8-byte prefix tied on every pair of
/// sequential ids such as `imp-0063…`).
fn sorted_rows(column: &StringColumn) -> Vec<u32> {
    #[expect(
        clippy::big_endian_bytes,
        reason = "an in-memory sort key whose integer order is byte order; never stored"
    )]
    fn prefix(s: &str) -> u128 {
        let mut b = [0u8; 16];
        let n = s.len().min(16);
        b[..n].copy_from_slice(&s.as_bytes()[..n]);
        u128::from_be_bytes(b)
    }
    let mut keyed: Vec<(u128, u32)> = column
        .iter()
        .enumerate()
        .map(|(row, s)| (prefix(s), u32::try_from(row).unwrap_or(u32::MAX)))
        .collect();
    keyed.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| column.get(a.1 as usize).cmp(column.get(b.1 as usize)))
    });
    keyed.into_iter().map(|(_, row)| row).collect()
}
