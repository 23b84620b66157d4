//! Dictionary codes: the rows of a dictionary-encoded string column, as indexes into the
//! segment's sorted dictionary.
//!
//! Each code takes 1, 2 or 4 little-endian bytes, the fewest that can index the dictionary
//! ([`code_width`]); the width is not stored, since the reader knows the dictionary's length.
//! Byte-aligned on purpose rather than bit-packed: zstd finds the repeats in byte-aligned data
//! far better, and decoding is a plain widening copy. The decoder checks every code against the
//! dictionary's length, so a corrupt code is an error here, never an out-of-bounds look-up
//! later.

use super::CodecError;

/// Bytes per code for a dictionary of `dict_len` entries: 1 up to 256 entries, 2 up to 65,536,
/// 4 beyond.
pub fn code_width(dict_len: usize) -> u8 {
    if dict_len <= 1 << 8 {
        1
    } else if dict_len <= 1 << 16 {
        2
    } else {
        4
    }
}

/// Appends `codes` to `out`, each in [`code_width`]`(dict_len)` little-endian bytes.
///
/// # Panics
/// When a code is not below `dict_len`: the encoder built the dictionary, so that is a bug.
pub fn encode_codes(codes: &[u32], dict_len: usize, out: &mut Vec<u8>) {
    if let Some(code) = first_out_of_range(codes, dict_len) {
        panic!("dictionary code {code} out of range for {dict_len} entries");
    }
    let width = usize::from(code_width(dict_len));
    out.reserve(codes.len() * width);
    // Every code is below `dict_len`, so the bytes dropped here are zeros.
    match width {
        1 => out.extend(codes.iter().map(|c| c.to_le_bytes()[0])),
        2 => {
            for c in codes {
                let [a, b, _, _] = c.to_le_bytes();
                out.extend_from_slice(&[a, b]);
            }
        }
        _ => {
            for c in codes {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
    }
}

/// Decodes `rows` codes of a dictionary of `dict_len` entries from the start of `input`,
/// appending them to `out`. Returns the bytes consumed, `rows * code_width(dict_len)`.
///
/// Errors: [`CodecError::Truncated`], and [`CodecError::CodeOutOfRange`] for a code not below
/// `dict_len`. On error `out` is left as it was.
pub fn decode_codes(
    input: &[u8],
    rows: usize,
    dict_len: usize,
    out: &mut Vec<u32>,
) -> Result<usize, CodecError> {
    let width = usize::from(code_width(dict_len));
    let len = rows.saturating_mul(width);
    let bytes = input.get(..len).ok_or(CodecError::Truncated {
        needed: len,
        available: input.len(),
    })?;
    let start = out.len();
    out.reserve(rows);
    // Widen first, then check the largest code: two tight loops the compiler vectorizes.
    match width {
        1 => out.extend(bytes.iter().map(|&b| u32::from(b))),
        2 => out.extend(
            bytes
                .as_chunks::<2>()
                .0
                .iter()
                .map(|&c| u32::from(u16::from_le_bytes(c))),
        ),
        _ => out.extend(bytes.as_chunks::<4>().0.iter().map(|&c| u32::from_le_bytes(c))),
    }
    if let Some(code) = first_out_of_range(&out[start..], dict_len) {
        out.truncate(start);
        return Err(CodecError::CodeOutOfRange { code, dict_len });
    }
    Ok(len)
}

/// The first code not below `dict_len`, if any.
fn first_out_of_range(codes: &[u32], dict_len: usize) -> Option<u32> {
    // A maximum is a branch-free (vectorized) pass; only a bad block pays for the search.
    let max = codes.iter().fold(0u32, |m, &c| m.max(c));
    if codes.is_empty() || (max as usize) < dict_len {
        return None;
    }
    codes.iter().copied().find(|&c| c as usize >= dict_len)
}
