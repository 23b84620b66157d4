//! Booleans, bit-packed: row `i` is bit `i % 8` (least significant first) of byte `i / 8`,
//! `ceil(rows / 8)` bytes in all, the unused high bits of the last byte zero.

use super::CodecError;

/// Appends `values` to `out`, eight to a byte, least significant bit first.
pub fn encode_bools(values: &[bool], out: &mut Vec<u8>) {
    out.reserve(values.len().div_ceil(8));
    out.extend(values.chunks(8).map(|chunk| {
        chunk
            .iter()
            .enumerate()
            .fold(0u8, |byte, (i, &b)| byte | (u8::from(b) << i))
    }));
}

/// Decodes `rows` booleans from the start of `input`, appending them to `out`. Returns the
/// bytes consumed, `ceil(rows / 8)`. The unused bits of the last byte are ignored.
///
/// Errors: [`CodecError::Truncated`]; then `out` is left as it was.
pub fn decode_bools(input: &[u8], rows: usize, out: &mut Vec<bool>) -> Result<usize, CodecError> {
    let len = rows.div_ceil(8);
    let bytes = input.get(..len).ok_or(CodecError::Truncated {
        needed: len,
        available: input.len(),
    })?;
    out.reserve(rows);
    let (full, last) = match rows % 8 {
        0 => (bytes, None),
        _ => match bytes.split_last() {
            Some((last, full)) => (full, Some(*last)),
            None => (bytes, None),
        },
    };
    for &byte in full {
        out.extend_from_slice(&BITS[usize::from(byte)]);
    }
    if let Some(byte) = last {
        out.extend_from_slice(&BITS[usize::from(byte)][..rows % 8]);
    }
    Ok(len)
}

/// The eight booleans of every byte value.
static BITS: [[bool; 8]; 256] = {
    let mut table = [[false; 8]; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut bit = 0;
        while bit < 8 {
            table[byte][bit] = (byte >> bit) & 1 == 1;
            bit += 1;
        }
        byte += 1;
    }
    table
};
