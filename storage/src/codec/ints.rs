//! The integer block codec: a column of `i64` (timestamps, money in micros), or of `u32`
//! (string lengths), as one encoding tag byte and a payload.
//!
//! Every block opens with an [`IntEncoding`] tag byte; widths are `u8` in 0..=64 and bit-packed
//! runs are [`super::bitpack`] streams. The encoder computes the size of each encoding and keeps
//! the smallest; of equal sizes, the first in this list (the cheapest to decode):
//!
//! - `Constant` (1): `Value(i64)`. Every row holds it.
//! - `FrameOfReference` (2): `Min(i64) | Width(u8) | Packed(rows x Width)`: row `i` is
//!   `Min + p[i]`.
//! - `FrameOfReferencePerBlock` (4): `Min(i64)`, then for each block of 64 rows (the last one
//!   shorter) `Width(u8) | Packed(n x Width)`.
//! - `DeltaZigzag` (3): `First(i64) | MinDelta(u64) | Width(u8) | Packed((rows - 1) x Width)`:
//!   row 0 is `First`, row `i + 1` is row `i` plus `unzigzag(MinDelta + p[i])`.
//! - `DeltaZigzagPerBlock` (5): `First(i64) | MinDelta(u64)`, then for each block of 64 deltas
//!   `Width(u8) | Packed(n x Width)`.
//! - `Plain` (0): `Value(i64)` for each row. Also the encoding of an empty block (tag only).
//!
//! `zigzag(d) = (d << 1) ^ (d >> 63)` maps 0, -1, 1, -2... to 0, 1, 2, 3....
//! All arithmetic wraps, so every `i64` from `MIN` to `MAX` round-trips. Bit packing is
//! [`super::bitpack`]'s; a block's row count is not stored, the caller passes it to the decoder.
//!
//! Why per-block widths: a segment block is sorted by (event type, campaign, ts), so its timestamps climb
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
/// the bytes consumed.
///
/// `out` grows by `rows` whatever the input (a constant block is 9 bytes for any row count),
/// so `rows` must come from the caller, not from the input.
///
/// # Errors
/// [`CodecError::Truncated`], [`CodecError::UnknownEncoding`] and
/// [`CodecError::InvalidBitWidth`]. On error `out` is left as it was.
pub fn decode_i64(input: &[u8], rows: usize, out: &mut Vec<i64>) -> Result<usize, CodecError> {
    decode(input, rows, out)
}

/// Appends `values` to `out` in the same format as [`encode_i64`] (each widened to `i64`).
pub fn encode_u32(values: &[u32], out: &mut Vec<u8>) {
    encode(values, out);
}

/// Decodes exactly `rows` values written by [`encode_u32`], appending them to `out`, as
/// [`decode_i64`] does. Returns the bytes consumed.
///
/// # Errors
/// Those of [`decode_i64`], and [`CodecError::ValueOutOfRange`] for a value outside `u32`.
/// On error `out` is left as it was.
pub fn decode_u32(input: &[u8], rows: usize, out: &mut Vec<u32>) -> Result<usize, CodecError> {
    decode_u32_below(input, rows, 1 << 32, out)
}

/// [`decode_u32`] for values that must be below `limit` (dictionary codes below their
/// dictionary's length), checked in the same pass that narrows them.
///
/// # Errors
/// Those of [`decode_u32`], [`CodecError::ValueOutOfRange`] also for a value not below `limit`.
pub fn decode_u32_below(
    input: &[u8],
    rows: usize,
    limit: u64,
    out: &mut Vec<u32>,
) -> Result<usize, CodecError> {
    decode(
        input,
        rows,
        &mut U32Below {
            out,
            limit: limit.min(1 << 32),
        },
    )
}

/// The first of `values` outside `0..limit` (`limit` at most 2^32), if any: one branch-free
/// pass of operations plain SSE2 vectorizes (it has no 64-bit compare and no unsigned max:
/// a `max` compiles to shuffles), then a search only when a value is out. `high` collects bits
/// at and above 2^32 (negative values included); below 2^32, `v - limit` is negative exactly
/// when `v < limit`, so `below` keeps its sign bit only if every value is below.
#[inline]
pub fn first_outside<T: Copy + Into<i64>>(values: &[T], limit: u64) -> Option<i64> {
    let limit = limit.min(1 << 32).cast_signed();
    let (mut high, mut below) = (0u64, -1i64);
    for &v in values {
        let v: i64 = v.into();
        high |= v.cast_unsigned() >> 32;
        below &= v.wrapping_sub(limit);
    }
    if high == 0 && below < 0 {
        return None;
    }
    values
        .iter()
        .map(|&v| v.into())
        .find(|&v| v < 0 || v >= limit)
}

/// Where decoded values go: a column of `i64`, or of `u32` checked for range.
trait IntSink {
    /// Values held.
    fn len(&self) -> usize;
    /// Makes room for `n` more values.
    fn reserve(&mut self, n: usize);
    /// Appends a block of at most [`BLOCK_LEN`] decoded values.
    fn put(&mut self, vals: &[i64]) -> Result<(), CodecError>;
    /// Appends `min + r` for each `r` of a block of at most [`BLOCK_LEN`] unpacked values
    /// (frame of reference): for `i64`, in one pass with no intermediate copy.
    fn put_offset(&mut self, min: i64, raw: &[u64]) -> Result<(), CodecError>;
    /// Drops the values after the first `len`.
    fn truncate(&mut self, len: usize);
}

impl IntSink for Vec<i64> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn reserve(&mut self, n: usize) {
        Vec::reserve(self, n);
    }
    #[inline]
    fn put(&mut self, vals: &[i64]) -> Result<(), CodecError> {
        self.extend_from_slice(vals);
        Ok(())
    }
    #[inline]
    fn put_offset(&mut self, min: i64, raw: &[u64]) -> Result<(), CodecError> {
        self.extend(raw.iter().map(|&r| min.wrapping_add_unsigned(r)));
        Ok(())
    }
    fn truncate(&mut self, len: usize) {
        Vec::truncate(self, len);
    }
}

/// A column of `u32` whose values must be below `limit` (at most 2^32).
struct U32Below<'a> {
    out: &'a mut Vec<u32>,
    limit: u64,
}

impl IntSink for U32Below<'_> {
    fn len(&self) -> usize {
        self.out.len()
    }
    fn reserve(&mut self, n: usize) {
        self.out.reserve(n);
    }
    #[inline]
    fn put_offset(&mut self, min: i64, raw: &[u64]) -> Result<(), CodecError> {
        let mut vals = [0i64; BLOCK_LEN];
        for (v, &r) in vals.iter_mut().zip(raw) {
            *v = min.wrapping_add_unsigned(r);
        }
        self.put(&vals[..raw.len().min(BLOCK_LEN)])
    }
    #[inline]
    fn put(&mut self, vals: &[i64]) -> Result<(), CodecError> {
        if let Some(bad) = first_outside(vals, self.limit) {
            return Err(CodecError::ValueOutOfRange(bad));
        }
        let mut narrow = [0u32; BLOCK_LEN];
        for (n, &v) in narrow.iter_mut().zip(vals) {
            #[expect(clippy::cast_possible_truncation, reason = "checked above")]
            let v32 = v as u32;
            *n = v32;
        }
        self.out
            .extend_from_slice(&narrow[..vals.len().min(BLOCK_LEN)]);
        Ok(())
    }
    fn truncate(&mut self, len: usize) {
        self.out.truncate(len);
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
fn decode(input: &[u8], rows: usize, out: &mut impl IntSink) -> Result<usize, CodecError> {
    let start = out.len();
    let result = decode_blocks(input, rows, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Decodes `rows` values from `input` into `out` a block (at most 64 values) at a time,
/// reserving room once the header has been read. Returns the bytes consumed.
fn decode_blocks(input: &[u8], rows: usize, out: &mut impl IntSink) -> Result<usize, CodecError> {
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
                out.put_offset(min, &raw[..n])?;
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
pub(super) fn read_single_width(
    cur: &mut Cursor<'_>,
    single: bool,
) -> Result<Option<u8>, CodecError> {
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
pub(super) fn unpack_next<L: bitpack::Lanes>(
    cur: &mut Cursor<'_>,
    width: Option<u8>,
    n: usize,
    raw: &mut L,
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded(values: &[i64]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_i64(values, &mut out);
        out
    }

    fn round_trip(values: &[i64]) -> Vec<u8> {
        let mut enc = vec![0xEE]; // encoders append after what is there
        encode_i64(values, &mut enc);
        let enc = enc.split_off(1);
        let mut out = vec![-5];
        let used = decode_i64(&enc, values.len(), &mut out).unwrap();
        assert_eq!(used, enc.len());
        assert_eq!(out[0], -5);
        assert_eq!(out[1..], *values);
        enc
    }

    fn encoding_of(values: &[i64]) -> IntEncoding {
        IntEncoding::from_u8(round_trip(values)[0]).unwrap()
    }

    /// Sorted runs that restart, like the timestamps of several campaigns in one block.
    fn campaign_timestamps(rows: usize, seed: u64) -> Vec<i64> {
        let mut s = seed | 1;
        let mut next = move |n: u64| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % n
        };
        let mut ts = Vec::with_capacity(rows);
        while ts.len() < rows {
            let mut t = 1_763_769_600_000_000 + next(3_600_000_000) as i64;
            for _ in 0..(1 + next(2000)).min((rows - ts.len()) as u64) {
                t += next(50_000) as i64;
                ts.push(t);
            }
        }
        ts
    }

    fn interesting_i64() -> impl Strategy<Value = i64> {
        prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            Just(0i64),
            Just(-1i64),
            -1000i64..1000,
            any::<i64>(),
        ]
    }

    fn column() -> impl Strategy<Value = Vec<i64>> {
        prop_oneof![
            prop::collection::vec(interesting_i64(), 0..300),
            prop::collection::vec(any::<i64>(), 0..300),
            // Sorted, with small steps.
            (any::<i64>(), prop::collection::vec(0i64..5000, 0..300)).prop_map(|(start, steps)| {
                steps
                    .iter()
                    .scan(start, |t, d| {
                        *t = t.wrapping_add(*d);
                        Some(*t)
                    })
                    .collect()
            }),
            // Money: mostly zeros and small amounts, the odd big one.
            prop::collection::vec(
                prop_oneof![8 => Just(0i64), 4 => 0i64..10_000, 1 => 0i64..1_000_000_000],
                0..300,
            ),
        ]
    }

    proptest! {
        #[test]
        fn i64_round_trips_small(values in column()) {
            round_trip(&values);
        }

        #[test]
        fn u32_round_trips(values in prop::collection::vec(prop_oneof![Just(0u32), Just(u32::MAX), 0u32..100, any::<u32>()], 0..300)) {
            let mut enc = Vec::new();
            encode_u32(&values, &mut enc);
            let mut out = vec![9];
            let used = decode_u32(&enc, values.len(), &mut out).unwrap();
            prop_assert_eq!(used, enc.len());
            prop_assert_eq!(&out[1..], &values[..]);
        }

        /// Every encoding accepts exactly the blocks whose values are all below the limit, and
        /// leaves `out` as it was otherwise.
        #[test]
        fn u32_below_accepts_exactly_the_values_below_the_limit(
            base in prop_oneof![Just(0u32), 0u32..10_000, any::<u32>()],
            offsets in prop::collection::vec(prop_oneof![Just(0u32), 0u32..64, 0u32..20_000], 0..200),
            limit in prop_oneof![Just(0u64), 0u64..30_000, Just(1u64 << 32), any::<u64>()],
        ) {
            let values: Vec<u32> = offsets.iter().map(|&o| base.saturating_add(o)).collect();
            let mut enc = Vec::new();
            encode_u32(&values, &mut enc);
            let mut out = vec![7];
            let got = decode_u32_below(&enc, values.len(), limit, &mut out);
            if values.iter().all(|&v| u64::from(v) < limit) {
                prop_assert_eq!(got.unwrap(), enc.len());
                prop_assert_eq!(&out[1..], &values[..]);
            } else {
                let bad = values.iter().copied().find(|&v| u64::from(v) >= limit);
                prop_assert!(matches!(got, Err(CodecError::ValueOutOfRange(v)) if Some(v) == bad.map(i64::from)));
                prop_assert_eq!(out, vec![7]);
            }
        }

        #[test]
        fn every_strict_prefix_is_an_error(values in prop::collection::vec(interesting_i64(), 1..200)) {
            let enc = encoded(&values);
            for cut in 0..enc.len() {
                let mut out = vec![3];
                let err = decode_i64(&enc[..cut], values.len(), &mut out).unwrap_err();
                let truncated = matches!(err, CodecError::Truncated { .. });
                prop_assert!(truncated, "{err:?}");
                prop_assert_eq!(&out, &[3]);
            }
        }

        #[test]
        fn decoders_never_panic_on_garbage(
            input in prop::collection::vec(any::<u8>(), 0..700),
            tag in 0u8..7,
            rows in prop_oneof![0usize..70, 0usize..3000],
        ) {
            // A valid tag in front more often than not, so the payload parsers get exercised.
            let mut bytes = input.clone();
            if let Some(first) = bytes.first_mut() { *first = tag; }
            for input in [&input, &bytes] {
                let mut out = Vec::new();
                if let Ok(used) = decode_i64(input, rows, &mut out) {
                    prop_assert!(used <= input.len());
                    prop_assert_eq!(out.len(), rows);
                } else {
                    prop_assert!(out.is_empty());
                }
                let mut out = Vec::new();
                if let Ok(used) = decode_u32(input, rows, &mut out) {
                    prop_assert!(used <= input.len());
                    prop_assert_eq!(out.len(), rows);
                } else {
                    prop_assert!(out.is_empty());
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(6))]

        #[test]
        fn i64_round_trips_64k(seed in any::<u64>(), rows in 60_000usize..=65_536, spread in 1u32..=64) {
            // Values of `spread` random bits, with extremes sprinkled in. (Built from a seed:
            // proptest's per-element value trees make 64k-element vectors slow.)
            let mut s = seed | 1;
            let values: Vec<i64> = (0..rows)
                .map(|i| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    match i % 1009 {
                        0 => i64::MIN,
                        1 => i64::MAX,
                        _ => (s >> (64 - spread)).cast_signed(),
                    }
                })
                .collect();
            round_trip(&values);
            round_trip(&values[2..]);
        }

        #[test]
        fn i64_round_trips_64k_sorted(seed in any::<u64>(), rows in 60_000usize..=65_536) {
            round_trip(&campaign_timestamps(rows, seed));
        }
    }

    #[test]
    fn extremes_round_trip_through_every_encoding() {
        round_trip(&[]);
        round_trip(&[i64::MIN]);
        round_trip(&[i64::MAX]);
        round_trip(&[i64::MIN, i64::MAX]);
        round_trip(&[i64::MAX, i64::MIN, i64::MAX, 0, -1, i64::MIN]);
        let mut many = vec![i64::MIN; 65_536];
        many[1000] = i64::MAX;
        round_trip(&many);
        let climbing: Vec<i64> = (0..65_536).map(|i| i64::MAX - 65_535 + i).collect();
        assert_eq!(encoding_of(&climbing), IntEncoding::DeltaZigzag);
        let wrapping: Vec<i64> = (0..300).map(|i| i64::MAX.wrapping_add(i * 7)).collect();
        round_trip(&wrapping);
    }

    #[test]
    fn chooses_the_compact_encoding() {
        assert_eq!(encoded(&[]), vec![IntEncoding::Plain.tag()]);
        let mut constant = vec![IntEncoding::Constant.tag()];
        constant.extend_from_slice(&(-7i64).to_le_bytes());
        assert_eq!(round_trip(&[-7; 1000]), constant);
        assert_eq!(round_trip(&[-7]), constant);

        // One campaign: deltas under 2^10 zigzag into 11 bits, one width for all.
        let ts: Vec<i64> = (0..10_000)
            .map(|i| 1_763_769_600_000_000 + i * 1000 + i % 7)
            .collect();
        assert_eq!(encoding_of(&ts), IntEncoding::DeltaZigzag);
        // Several campaigns: each restart widens only its own block of deltas.
        let ts = campaign_timestamps(65_536, 7);
        assert_eq!(encoding_of(&ts), IntEncoding::DeltaZigzagPerBlock);
        assert!(round_trip(&ts).len() < 65_536 * 24 / 8);

        // Money: zeros and small costs, one large conversion value.
        let mut money: Vec<i64> = (0..4096)
            .map(|i| if i % 3 == 0 { i % 1000 } else { 0 })
            .collect();
        money[17] = 250_000_000;
        assert_eq!(encoding_of(&money), IntEncoding::FrameOfReferencePerBlock);
        assert!(round_trip(&money).len() < 4096 * 11 / 8);
        // Uniform values in a narrow range: one width.
        let bids: Vec<i64> = (0..4096).map(|i| 1_000_000 + (i * 7919) % 65_536).collect();
        assert_eq!(encoding_of(&bids), IntEncoding::FrameOfReference);
        assert_eq!(round_trip(&bids).len(), 1 + 8 + 1 + 4096 * 2);

        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let random: Vec<i64> = (0..100)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s.cast_signed()
            })
            .collect();
        assert_eq!(round_trip(&random).len(), 1 + 800);
    }

    #[test]
    fn corrupt_headers_are_errors() {
        let err = decode_i64(&[9, 0, 0], 1, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, CodecError::UnknownEncoding(9)));
        let mut enc = encoded(&(0..100).collect::<Vec<i64>>());
        assert_eq!(enc[0], IntEncoding::DeltaZigzag.tag());
        enc[17] = 65; // the width byte, after the first value and the minimum delta
        let err = decode_i64(&enc, 100, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, CodecError::InvalidBitWidth(65)));
        // A row count the input cannot hold fails on length before allocating.
        let err = decode_i64(&[0], usize::MAX, &mut Vec::new()).unwrap_err();
        assert!(matches!(
            err,
            CodecError::Truncated {
                needed: usize::MAX,
                available: 1
            }
        ));
    }

    #[test]
    fn u32_decode_rejects_values_outside_u32() {
        for bad in [-1i64, i64::from(u32::MAX) + 1] {
            let enc = encoded(&[1, 2, bad]);
            let mut out = vec![4];
            let err = decode_u32(&enc, 3, &mut out).unwrap_err();
            assert!(matches!(err, CodecError::ValueOutOfRange(v) if v == bad));
            assert_eq!(out, vec![4]);
        }
    }

    #[test]
    fn zigzag_is_a_bijection_at_the_edges() {
        for d in [0, -1, 1, i64::MIN, i64::MAX, i64::MIN + 1] {
            assert_eq!(unzigzag(zigzag(d)), d);
        }
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(i64::MIN), u64::MAX);
    }
}
