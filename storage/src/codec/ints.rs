//! The integer block codec: a column of `i64` (timestamps, money in micros), or of `u32`
//! (string lengths), as one encoding tag byte and a payload.
//!
//! The encoder tries every encoding and keeps the smallest; on a tie, the first in this list:
//!
//! | tag | encoding                    | payload                                                  |
//! |-----|-----------------------------|----------------------------------------------------------|
//! | 1   | [`IntEncoding::Constant`]   | the value (i64)                                          |
//! | 2   | [`IntEncoding::FrameOfReference`] | min (i64), width (u8), bit-packed `v - min`        |
//! | 4   | [`IntEncoding::FrameOfReferencePerBlock`] | min (i64), then per block of 64: width (u8), bit-packed `v - min` |
//! | 3   | [`IntEncoding::DeltaZigzag`] | first (i64), min zigzag delta (u64), width (u8), bit-packed `zigzag(delta) - min` |
//! | 5   | [`IntEncoding::DeltaZigzagPerBlock`] | first (i64), min zigzag delta (u64), then per block of 64 deltas: width (u8), bit-packed `zigzag(delta) - min` |
//! | 0   | [`IntEncoding::Plain`]      | every value (i64)                                        |
//!
//! All arithmetic wraps, so every `i64` from `MIN` to `MAX` round-trips. Bit packing is
//! [`super::bitpack`]'s; a block's row count is not stored, the caller passes it to the decoder.
//!
//! Why per-block widths: a segment block is sorted by (campaign, ts), so its timestamps climb
//! in small steps within a campaign and jump back at each campaign change; one jump would set
//! the width of every delta, but with a width per 64 deltas it only widens its own block.
//! Likewise a money column of small amounts and zeros keeps narrow blocks around a rare large
//! conversion value. A per-block width costs one byte per 64 values, so when the data is
//! uniform the single-width encodings win and are chosen.

use super::CodecError;
use super::bitpack::{self, BLOCK_LEN, bits_needed, packed_len};
use super::cursor::Cursor;

/// How an integer block is encoded: the tag byte that opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum IntEncoding {
    /// Every value as 8 little-endian bytes.
    Plain = 0,
    /// Every value equal: the value, 8 bytes.
    Constant = 1,
    /// The minimum, then every value minus the minimum, bit-packed at one width.
    FrameOfReference = 2,
    /// The first value, then the differences between neighbours, zigzag-encoded, minus their
    /// minimum, bit-packed at one width.
    DeltaZigzag = 3,
    /// As [`IntEncoding::FrameOfReference`], with a width for each block of 64 values.
    FrameOfReferencePerBlock = 4,
    /// As [`IntEncoding::DeltaZigzag`], with a width for each block of 64 deltas.
    DeltaZigzagPerBlock = 5,
}

impl IntEncoding {
    /// The encoding with this tag, or [`CodecError::UnknownEncoding`].
    pub fn from_u8(tag: u8) -> Result<IntEncoding, CodecError> {
        Ok(match tag {
            0 => IntEncoding::Plain,
            1 => IntEncoding::Constant,
            2 => IntEncoding::FrameOfReference,
            3 => IntEncoding::DeltaZigzag,
            4 => IntEncoding::FrameOfReferencePerBlock,
            5 => IntEncoding::DeltaZigzagPerBlock,
            _ => return Err(CodecError::UnknownEncoding(tag)),
        })
    }

    /// The tag byte.
    pub fn tag(self) -> u8 {
        self as u8
    }
}

/// Appends `values` to `out` in the smallest integer encoding (see the module doc).
pub fn encode_i64(values: &[i64], out: &mut Vec<u8>) {
    encode(values, out);
}

/// Decodes exactly `rows` values from the start of `input`, appending them to `out`. Returns
/// the bytes consumed. On error `out` is left as it was.
pub fn decode_i64(input: &[u8], rows: usize, out: &mut Vec<i64>) -> Result<usize, CodecError> {
    decode(input, rows, out)
}

/// Appends `values` to `out` in the same format as [`encode_i64`] (each widened to `i64`).
pub fn encode_u32(values: &[u32], out: &mut Vec<u8>) {
    encode(values, out);
}

/// Decodes exactly `rows` values written by [`encode_u32`], appending them to `out`. Returns
/// the bytes consumed. A value outside `u32` is [`CodecError::ValueOutOfRange`]. On error
/// `out` is left as it was.
pub fn decode_u32(input: &[u8], rows: usize, out: &mut Vec<u32>) -> Result<usize, CodecError> {
    decode(input, rows, out)
}

/// Where decoded values go: a column of `i64`, or of `u32` checked for range.
trait IntSink {
    /// Appends a block of decoded values.
    fn put(&mut self, vals: &[i64]) -> Result<(), CodecError>;
}

impl IntSink for Vec<i64> {
    #[inline]
    fn put(&mut self, vals: &[i64]) -> Result<(), CodecError> {
        self.extend_from_slice(vals);
        Ok(())
    }
}

impl IntSink for Vec<u32> {
    #[inline]
    fn put(&mut self, vals: &[i64]) -> Result<(), CodecError> {
        if let Some(&bad) = vals.iter().find(|&&v| u32::try_from(v).is_err()) {
            return Err(CodecError::ValueOutOfRange(bad));
        }
        self.extend(vals.iter().map(|&v| u32::try_from(v).unwrap_or_default()));
        Ok(())
    }
}

/// `d` mapped to an unsigned value that is small when `|d|` is: 0, -1, 1, -2... -> 0, 1, 2, 3...
fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)).cast_unsigned()
}

/// The inverse of [`zigzag`].
fn unzigzag(z: u64) -> i64 {
    (z >> 1).cast_signed() ^ (z & 1).cast_signed().wrapping_neg()
}

/// The encoded size of values (or deltas) whose offsets from their minimum have the block
/// maxima `block_max`: (one width for all, a width per block).
fn packed_sizes(count: usize, block_max: &[u64]) -> (usize, usize) {
    let all_max = block_max.iter().copied().max().unwrap_or(0);
    let single = 1 + packed_len(bits_needed(all_max), count);
    let per_block = block_max
        .iter()
        .enumerate()
        .map(|(i, &m)| {
            let n = (count - i * BLOCK_LEN).min(BLOCK_LEN);
            1 + packed_len(bits_needed(m), n)
        })
        .sum();
    (single, per_block)
}

fn encode<T: Copy + Into<i64>>(values: &[T], out: &mut Vec<u8>) {
    let n = values.len();
    let Some(&first) = values.first() else {
        out.push(IntEncoding::Plain.tag());
        return;
    };
    let first: i64 = first.into();
    let (min, max) = values.iter().fold((first, first), |(lo, hi), &v| {
        let v = v.into();
        (lo.min(v), hi.max(v))
    });
    if min == max {
        out.push(IntEncoding::Constant.tag());
        out.extend_from_slice(&min.to_le_bytes());
        return;
    }

    // Frame of reference: offsets from the minimum.
    let for_block_max: Vec<u64> = values
        .chunks(BLOCK_LEN)
        .map(|c| {
            let hi = c.iter().fold(i64::MIN, |hi, &v| hi.max(v.into()));
            hi.wrapping_sub(min).cast_unsigned()
        })
        .collect();
    let (for_single, for_per_block) = packed_sizes(n, &for_block_max);

    // Delta: zigzagged differences between neighbours, as offsets from their minimum.
    let mut deltas: Vec<u64> = values
        .windows(2)
        .map(|w| zigzag(w[1].into().wrapping_sub(w[0].into())))
        .collect();
    let min_delta = deltas.iter().copied().min().unwrap_or(0);
    for d in &mut deltas {
        *d -= min_delta;
    }
    let delta_block_max: Vec<u64> = deltas
        .chunks(BLOCK_LEN)
        .map(|c| c.iter().copied().max().unwrap_or(0))
        .collect();
    let (delta_single, delta_per_block) = packed_sizes(deltas.len(), &delta_block_max);

    let candidates = [
        (IntEncoding::FrameOfReference, 8 + for_single),
        (IntEncoding::FrameOfReferencePerBlock, 8 + for_per_block),
        (IntEncoding::DeltaZigzag, 16 + delta_single),
        (IntEncoding::DeltaZigzagPerBlock, 16 + delta_per_block),
        (IntEncoding::Plain, 8 * n),
    ];
    // `min_by_key` keeps the first of equal sizes: the cheaper to decode.
    let (encoding, size) = candidates
        .into_iter()
        .min_by_key(|&(_, size)| size)
        .unwrap_or((IntEncoding::Plain, 8 * n));
    out.reserve(1 + size);
    out.push(encoding.tag());
    let mut buf = [0u64; BLOCK_LEN];
    match encoding {
        IntEncoding::Plain => {
            for &v in values {
                out.extend_from_slice(&v.into().to_le_bytes());
            }
        }
        IntEncoding::FrameOfReference | IntEncoding::FrameOfReferencePerBlock => {
            out.extend_from_slice(&min.to_le_bytes());
            let per_block = encoding == IntEncoding::FrameOfReferencePerBlock;
            let single = bits_needed(for_block_max.iter().copied().max().unwrap_or(0));
            if !per_block {
                out.push(single);
            }
            for (chunk, &block_max) in values.chunks(BLOCK_LEN).zip(&for_block_max) {
                for (b, &v) in buf.iter_mut().zip(chunk) {
                    *b = v.into().wrapping_sub(min).cast_unsigned();
                }
                let width = if per_block {
                    let width = bits_needed(block_max);
                    out.push(width);
                    width
                } else {
                    single
                };
                bitpack::pack_chunk(&buf[..chunk.len()], width, out);
            }
        }
        IntEncoding::DeltaZigzag | IntEncoding::DeltaZigzagPerBlock => {
            out.extend_from_slice(&first.to_le_bytes());
            out.extend_from_slice(&min_delta.to_le_bytes());
            if encoding == IntEncoding::DeltaZigzag {
                let width = bits_needed(delta_block_max.iter().copied().max().unwrap_or(0));
                out.push(width);
                bitpack::pack(&deltas, width, out);
            } else {
                for (chunk, &block_max) in deltas.chunks(BLOCK_LEN).zip(&delta_block_max) {
                    let width = bits_needed(block_max);
                    out.push(width);
                    bitpack::pack_chunk(chunk, width, out);
                }
            }
        }
        IntEncoding::Constant => {
            // Chosen above, before the candidates.
            out.extend_from_slice(&min.to_le_bytes());
        }
    }
}

/// Decodes `rows` values from `input` and appends them to `out`. Returns the bytes consumed;
/// on error, truncates `out` back to its length on entry.
fn decode<T>(input: &[u8], rows: usize, out: &mut Vec<T>) -> Result<usize, CodecError>
where
    Vec<T>: IntSink,
{
    let start = out.len();
    let result = decode_blocks(input, rows, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Decodes `rows` values from `input` into `out` a block (at most 64 values) at a time,
/// reserving room once the header has been read. Returns the bytes consumed.
fn decode_blocks<T>(input: &[u8], rows: usize, out: &mut Vec<T>) -> Result<usize, CodecError>
where
    Vec<T>: IntSink,
{
    let mut cur = Cursor::new(input);
    let encoding = IntEncoding::from_u8(cur.u8()?)?;
    let mut vals = [0i64; BLOCK_LEN];
    let mut raw = [0u64; BLOCK_LEN];
    match encoding {
        IntEncoding::Plain => {
            let bytes = cur.bytes(rows.saturating_mul(8))?;
            out.reserve(rows);
            for chunk in bytes.chunks(BLOCK_LEN * 8) {
                let (words, _) = chunk.as_chunks::<8>();
                for (v, w) in vals.iter_mut().zip(words) {
                    *v = i64::from_le_bytes(*w);
                }
                out.put(&vals[..words.len()])?;
            }
        }
        IntEncoding::Constant => {
            let value = cur.i64()?;
            out.reserve(rows);
            vals.fill(value);
            let mut left = rows;
            while left > 0 {
                let n = left.min(BLOCK_LEN);
                out.put(&vals[..n])?;
                left -= n;
            }
        }
        IntEncoding::FrameOfReference | IntEncoding::FrameOfReferencePerBlock => {
            let min = cur.i64()?;
            let single = read_single_width(&mut cur, encoding == IntEncoding::FrameOfReference)?;
            out.reserve(rows);
            let mut left = rows;
            while left > 0 {
                let n = left.min(BLOCK_LEN);
                unpack_next(&mut cur, single, n, &mut raw)?;
                for (v, &r) in vals.iter_mut().zip(&raw) {
                    *v = min.wrapping_add_unsigned(r);
                }
                out.put(&vals[..n])?;
                left -= n;
            }
        }
        IntEncoding::DeltaZigzag | IntEncoding::DeltaZigzagPerBlock => {
            let first = cur.i64()?;
            let min_delta = cur.u64()?;
            let single = read_single_width(&mut cur, encoding == IntEncoding::DeltaZigzag)?;
            if rows == 0 {
                return Ok(cur.pos());
            }
            out.reserve(rows);
            out.put(&[first])?;
            let mut acc = first;
            let mut left = rows - 1;
            while left > 0 {
                let n = left.min(BLOCK_LEN);
                unpack_next(&mut cur, single, n, &mut raw)?;
                // Two loops: the first vectorizes, the second is the running sum.
                for (v, &r) in vals.iter_mut().zip(&raw) {
                    *v = unzigzag(r.wrapping_add(min_delta));
                }
                for v in &mut vals {
                    acc = acc.wrapping_add(*v);
                    *v = acc;
                }
                out.put(&vals[..n])?;
                left -= n;
            }
        }
    }
    Ok(cur.pos())
}

/// Reads the one width of a single-width encoding; `None` for a per-block one.
fn read_single_width(cur: &mut Cursor<'_>, single: bool) -> Result<Option<u8>, CodecError> {
    if !single {
        return Ok(None);
    }
    let width = cur.u8()?;
    if width > bitpack::MAX_WIDTH {
        return Err(CodecError::InvalidBitWidth(width));
    }
    Ok(Some(width))
}

/// Unpacks the next block of `n` values, at `width` or at the width byte that opens the block.
fn unpack_next(
    cur: &mut Cursor<'_>,
    width: Option<u8>,
    n: usize,
    raw: &mut [u64; BLOCK_LEN],
) -> Result<(), CodecError> {
    let width = match width {
        Some(w) => w,
        None => cur.u8()?,
    };
    if width > bitpack::MAX_WIDTH {
        return Err(CodecError::InvalidBitWidth(width));
    }
    let bytes = cur.bytes(packed_len(width, n))?;
    bitpack::unpack_chunk(bytes, width, n, raw)?;
    Ok(())
}
