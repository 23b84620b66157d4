//! Fixed-width bit packing of `u64` values: the payload of the integer encodings in
//! [`super::ints`].
//!
//! `count` values of `width` bits (0..=64) are laid out as one little-endian bit stream, value
//! `i` in bits `i * width .. (i + 1) * width`, least significant bit first, and the stream is
//! padded with zero bits to a whole byte: [`packed_len`] bytes in all. Width 0 stores nothing
//! and decodes to zeros.
//!
//! Since 64 values of `width` bits fill exactly `width` 64-bit words, the stream is cut into
//! blocks of [`BLOCK_LEN`] values that start on a word boundary. Each block is unpacked by a
//! routine specialized for its width, with every shift and mask a constant and no branch per
//! value, so the compiler turns it into straight-line (and vectorizable) code; that is what
//! makes decoding run at several values per nanosecond.

use super::CodecError;

/// Values in one block: 64 values of `w` bits are exactly `w` 64-bit words.
pub const BLOCK_LEN: usize = 64;

/// The largest bit width.
pub const MAX_WIDTH: u8 = 64;

/// The number of bits needed to store `max` (0 for 0, 64 for values of 2^63 and above).
pub fn bits_needed(max: u64) -> u8 {
    let bits = u64::BITS - max.leading_zeros();
    u8::try_from(bits).unwrap_or(MAX_WIDTH)
}

/// Bytes taken by `count` values packed at `width` bits: `ceil(width * count / 8)`, saturating
/// at `usize::MAX` for impossible sizes (which then fail the length check of any decoder).
pub fn packed_len(width: u8, count: usize) -> usize {
    let w = usize::from(width);
    // Split so that `count * w` cannot overflow before the division.
    (count / 8)
        .saturating_mul(w)
        .saturating_add(((count % 8) * w).div_ceil(8))
}

/// Appends `values` packed at `width` bits to `out`: [`packed_len`]`(width, values.len())`
/// bytes. Bits of a value above `width` are dropped, so callers choose `width` with
/// [`bits_needed`] of the largest value.
///
/// # Panics
/// When `width` is above 64: the width is the caller's choice, never read from input.
pub fn pack(values: &[u64], width: u8, out: &mut Vec<u8>) {
    assert!(width <= MAX_WIDTH, "bit width {width} above 64");
    out.reserve(packed_len(width, values.len()));
    for chunk in values.chunks(BLOCK_LEN) {
        pack_chunk(chunk, width, out);
    }
}

/// Appends up to [`BLOCK_LEN`] values (any further ones are ignored) packed at `width` bits:
/// [`packed_len`]`(width, n)` bytes. Full blocks are whole words, so packing a slice block by
/// block writes the same bytes as [`pack`] does for all of it.
pub(crate) fn pack_chunk(values: &[u64], width: u8, out: &mut Vec<u8>) {
    let n = values.len().min(BLOCK_LEN);
    let len = packed_len(width, n);
    if len == 0 {
        return;
    }
    let mut words = [0u64; BLOCK_LEN];
    if let Some(block) = values.first_chunk::<BLOCK_LEN>() {
        pack_block(block, width, &mut words);
    } else {
        let mut padded = [0u64; BLOCK_LEN];
        padded[..n].copy_from_slice(&values[..n]);
        pack_block(&padded, width, &mut words);
    }
    let mut bytes = [[0u8; 8]; BLOCK_LEN];
    for (b, w) in bytes.iter_mut().zip(&words) {
        *b = w.to_le_bytes();
    }
    out.extend_from_slice(&bytes.as_flattened()[..len]);
}

/// Unpacks `count` values of `width` bits from the start of `input`, appending them to `out`.
/// Returns the bytes consumed, [`packed_len`]`(width, count)`.
///
/// `out` grows by `count` values even at width 0, where nothing is read, so `count` must come
/// from the caller (a row count), not from the input.
///
/// # Errors
/// [`CodecError::InvalidBitWidth`] for a width above 64, [`CodecError::Truncated`] when `input`
/// is shorter than the packed values. On error `out` is left unchanged.
pub fn unpack(
    input: &[u8],
    width: u8,
    count: usize,
    out: &mut Vec<u64>,
) -> Result<usize, CodecError> {
    check_width(width)?;
    let len = packed_len(width, count);
    let packed = input.get(..len).ok_or(CodecError::Truncated {
        needed: len,
        available: input.len(),
    })?;
    let start = out.len();
    let full = count / BLOCK_LEN;
    let w = usize::from(width);
    if w == 0 {
        out.resize(start + count, 0);
        return Ok(0);
    }
    out.resize(start + full * BLOCK_LEN, 0);
    let (body, tail) = packed.split_at(full * w * 8);
    let (words, _) = body.as_chunks::<8>();
    let (dst, _) = out[start..].as_chunks_mut::<BLOCK_LEN>();
    for (dst, src) in dst.iter_mut().zip(words.chunks_exact(w)) {
        unpack_block(src, width, dst);
    }
    let rem = count % BLOCK_LEN;
    if rem > 0 {
        let mut buf = [0u64; BLOCK_LEN];
        unpack_chunk(tail, width, rem, &mut buf)?;
        out.extend_from_slice(&buf[..rem]);
    }
    Ok(len)
}

/// Where a block's unpacked values go: lane `i` of 0..[`BLOCK_LEN`] receives value `v`.
/// Unpacking is specialized for each implementation, so that whatever `put` does to a value
/// (adding a frame of reference's minimum) happens in the same pass as the unpacking.
pub(crate) trait Lanes {
    /// Stores lane `i`'s value.
    fn put(&mut self, i: usize, v: u64);
}

impl Lanes for [u64; BLOCK_LEN] {
    #[inline(always)]
    fn put(&mut self, i: usize, v: u64) {
        self[i] = v;
    }
}

/// Lanes that store `base + v`: the values of a frame of reference.
pub(crate) struct Offset<'a> {
    /// The frame's minimum.
    pub base: i64,
    /// The values.
    pub out: &'a mut [i64; BLOCK_LEN],
}

impl Lanes for Offset<'_> {
    #[inline(always)]
    fn put(&mut self, i: usize, v: u64) {
        self.out[i] = self.base.wrapping_add_unsigned(v);
    }
}

/// Unpacks `n` (at most [`BLOCK_LEN`]) values of `width` bits from the start of `input` into
/// the first `n` lanes of `out` (the others get zeros or garbage). Returns the bytes consumed,
/// [`packed_len`]`(width, n)`.
pub(crate) fn unpack_chunk<L: Lanes>(
    input: &[u8],
    width: u8,
    n: usize,
    out: &mut L,
) -> Result<usize, CodecError> {
    check_width(width)?;
    let n = n.min(BLOCK_LEN);
    let len = packed_len(width, n);
    let packed = input.get(..len).ok_or(CodecError::Truncated {
        needed: len,
        available: input.len(),
    })?;
    if n == BLOCK_LEN {
        unpack_block(packed.as_chunks::<8>().0, width, out);
    } else {
        // A short block: pad it to whole words with zeros and unpack it like a full one.
        let mut padded = [[0u8; 8]; BLOCK_LEN];
        padded.as_flattened_mut()[..len].copy_from_slice(packed);
        unpack_block(&padded, width, out);
    }
    Ok(len)
}

fn check_width(width: u8) -> Result<(), CodecError> {
    if width > MAX_WIDTH {
        return Err(CodecError::InvalidBitWidth(width));
    }
    Ok(())
}

/// Calls `$m!(i)` for every lane `i` of a block, as 64 statements: written out rather than
/// looped so that each lane's word index, shift and spill test are constants.
#[rustfmt::skip]
macro_rules! each_lane {
    ($m:ident) => {
        $m!(0); $m!(1); $m!(2); $m!(3); $m!(4); $m!(5); $m!(6); $m!(7);
        $m!(8); $m!(9); $m!(10); $m!(11); $m!(12); $m!(13); $m!(14); $m!(15);
        $m!(16); $m!(17); $m!(18); $m!(19); $m!(20); $m!(21); $m!(22); $m!(23);
        $m!(24); $m!(25); $m!(26); $m!(27); $m!(28); $m!(29); $m!(30); $m!(31);
        $m!(32); $m!(33); $m!(34); $m!(35); $m!(36); $m!(37); $m!(38); $m!(39);
        $m!(40); $m!(41); $m!(42); $m!(43); $m!(44); $m!(45); $m!(46); $m!(47);
        $m!(48); $m!(49); $m!(50); $m!(51); $m!(52); $m!(53); $m!(54); $m!(55);
        $m!(56); $m!(57); $m!(58); $m!(59); $m!(60); $m!(61); $m!(62); $m!(63);
    };
}

/// Calls `$f::<W>($args)` for the runtime `$width` in 1..=64, `$zero` for 0 and above 64.
macro_rules! by_width {
    ($width:expr, $f:ident $args:tt, $zero:expr) => {
        by_width!(@arms $width, $f $args, $zero;
            1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
            33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61
            62 63 64)
    };
    (@arms $width:expr, $f:ident $args:tt, $zero:expr; $($w:literal)*) => {
        match $width {
            $($w => $f::<$w> $args,)*
            // Width 0, and widths above 64, which every caller rejects before getting here.
            _ => $zero,
        }
    };
}

/// Packs one full block at `width` bits into the first `width` words of `words`.
fn pack_block(values: &[u64; BLOCK_LEN], width: u8, words: &mut [u64; BLOCK_LEN]) {
    by_width!(width, pack_block_w(values, words), ())
}

/// Unpacks one full block of `width` bits from the first `width` words of `words`.
fn unpack_block<L: Lanes>(words: &[[u8; 8]], width: u8, out: &mut L) {
    by_width!(width, unpack_block_w(words, out), zero_lanes(out))
}

/// Width 0: every value is 0.
fn zero_lanes<L: Lanes>(out: &mut L) {
    for i in 0..BLOCK_LEN {
        out.put(i, 0);
    }
}

#[inline(always)]
fn pack_block_w<const W: usize>(values: &[u64; BLOCK_LEN], words: &mut [u64; BLOCK_LEN]) {
    let mask = u64::MAX >> (64 - W);
    // Each word is first written either by the value that starts on its boundary or by the
    // spill of the value straddling into it; both assign, so `words` needs no clearing.
    macro_rules! lane {
        ($i:literal) => {{
            let bit = $i * W;
            let (w, off) = (bit / 64, bit % 64);
            let v = values[$i] & mask;
            if off == 0 {
                words[w] = v;
            } else {
                words[w] |= v << off;
            }
            if off + W > 64 {
                // `v >> (64 - off)`, written so that no shift amount can reach 64.
                words[w + 1] = (v >> 1) >> (63 - off);
            }
        }};
    }
    each_lane!(lane);
}

#[inline(always)]
fn unpack_block_w<const W: usize>(words: &[[u8; 8]], out: &mut impl Lanes) {
    let Some(words) = words.get(..W) else {
        // Unreachable: callers hand over at least `W` words.
        zero_lanes(out);
        return;
    };
    let word = |k: usize| u64::from_le_bytes(words[k]);
    let mask = u64::MAX >> (64 - W);
    macro_rules! lane {
        ($i:literal) => {{
            let bit = $i * W;
            let (w, off) = (bit / 64, bit % 64);
            let mut v = word(w) >> off;
            if off + W > 64 {
                // `word << (64 - off)`, written so that no shift amount can reach 64.
                v |= (word(w + 1) << 1) << (63 - off);
            }
            out.put($i, v & mask);
        }};
    }
    each_lane!(lane);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mask(width: u8) -> u64 {
        if width == 0 {
            0
        } else {
            u64::MAX >> (64 - u32::from(width))
        }
    }

    /// The layout, one bit at a time: value `i`'s bit `b` is stream bit `i * width + b`.
    fn pack_reference(values: &[u64], width: u8) -> Vec<u8> {
        let w = usize::from(width);
        let mut out = vec![0u8; packed_len(width, values.len())];
        for (i, &v) in values.iter().enumerate() {
            for b in 0..w {
                if (v >> b) & 1 == 1 {
                    let bit = i * w + b;
                    out[bit / 8] |= 1 << (bit % 8);
                }
            }
        }
        out
    }

    fn round_trip(values: &[u64], width: u8) {
        let mut packed = vec![0xAA]; // pack appends after what is there
        pack(values, width, &mut packed);
        assert_eq!(packed[0], 0xAA);
        assert_eq!(packed[1..], pack_reference(values, width), "width {width}");
        let mut out = vec![7];
        let used = unpack(&packed[1..], width, values.len(), &mut out).unwrap();
        assert_eq!(used, packed.len() - 1);
        assert_eq!(out[0], 7);
        assert_eq!(out[1..], *values, "width {width}");
    }

    fn values_of(width: u8) -> impl Strategy<Value = (u8, Vec<u64>)> {
        let m = mask(width);
        prop::collection::vec(
            prop_oneof![Just(0u64), Just(m), any::<u64>().prop_map(move |v| v & m)],
            0..300,
        )
        .prop_map(move |v| (width, v))
    }

    proptest! {
        #[test]
        fn round_trips_small((width, values) in (0u8..=64).prop_flat_map(values_of)) {
            round_trip(&values, width);
        }

        #[test]
        fn high_bits_above_the_width_are_dropped(width in 0u8..64, values in prop::collection::vec(any::<u64>(), 0..200)) {
            let mut packed = Vec::new();
            pack(&values, width, &mut packed);
            let mut out = Vec::new();
            unpack(&packed, width, values.len(), &mut out).unwrap();
            let expected: Vec<u64> = values.iter().map(|v| v & mask(width)).collect();
            prop_assert_eq!(out, expected);
        }

        #[test]
        fn unpack_never_panics_on_garbage(
            input in prop::collection::vec(any::<u8>(), 0..600),
            width in any::<u8>(),
            count in 0usize..5000,
        ) {
            let mut out = vec![1, 2];
            match unpack(&input, width, count, &mut out) {
                Ok(used) => {
                    prop_assert!(used <= input.len());
                    prop_assert_eq!(out.len(), 2 + count);
                }
                Err(e) => {
                    let expected = matches!(e, CodecError::Truncated { .. } | CodecError::InvalidBitWidth(_));
                    prop_assert!(expected, "{e:?}");
                    prop_assert_eq!(out, vec![1, 2]);
                }
            }
        }
    }

    #[test]
    fn round_trips_every_width_at_64k_rows() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for width in 0..=64u8 {
            let values: Vec<u64> = (0..65_536)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed & mask(width)
                })
                .collect();
            round_trip(&values, width);
            round_trip(&values[..65_536 - 37], width);
        }
    }

    #[test]
    fn round_trips_zero_and_one_value_and_extremes() {
        for width in 0..=64u8 {
            round_trip(&[], width);
            round_trip(&[mask(width)], width);
            round_trip(&[mask(width); 65], width);
        }
        round_trip(&[0, u64::MAX, 1, u64::MAX - 1], 64);
    }

    #[test]
    fn sizes() {
        assert_eq!(bits_needed(0), 0);
        assert_eq!(bits_needed(1), 1);
        assert_eq!(bits_needed(255), 8);
        assert_eq!(bits_needed(256), 9);
        assert_eq!(bits_needed(u64::MAX), 64);
        assert_eq!(packed_len(0, 1000), 0);
        assert_eq!(packed_len(1, 9), 2);
        assert_eq!(packed_len(3, 3), 2);
        assert_eq!(packed_len(64, 3), 24);
        assert_eq!(packed_len(64, usize::MAX), usize::MAX);
    }

    #[test]
    fn short_input_and_bad_width_are_errors() {
        let mut packed = Vec::new();
        pack(&[5; 100], 3, &mut packed);
        for cut in 0..packed.len() {
            let mut out = Vec::new();
            let err = unpack(&packed[..cut], 3, 100, &mut out).unwrap_err();
            assert!(
                matches!(err, CodecError::Truncated { needed: 38, available } if available == cut)
            );
            assert!(out.is_empty());
        }
        let err = unpack(&packed, 65, 1, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, CodecError::InvalidBitWidth(65)));
        // A huge count is a length error, not an allocation.
        let err = unpack(&packed, 1, usize::MAX, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, CodecError::Truncated { .. }));
    }

    #[test]
    #[should_panic(expected = "bit width 65")]
    fn pack_rejects_widths_above_64() {
        pack(&[1], 65, &mut Vec::new());
    }
}
