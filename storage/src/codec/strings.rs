//! The plain string codec: a block of a [`StringColumn`] as its lengths, then its bytes.
//!
//! Used for the high-cardinality columns (event and user ids), where a dictionary would be as
//! large as the data. The lengths are an integer block ([`super::ints`], so ids of one length
//! cost 9 bytes in all), and the strings follow back to back with no separator. The decoder
//! checks the bytes are UTF-8 once for the whole run, and that every boundary the lengths put
//! falls between characters.

use super::CodecError;
use super::ints;
use crate::batch::StringColumn;

/// Appends the strings to `out`: their lengths ([`ints::encode_u32`]), then their bytes.
///
/// # Panics
/// When a string is 4 GiB or longer, which a [`StringColumn`] cannot hold.
pub fn encode_strings<'a>(values: impl ExactSizeIterator<Item = &'a str>, out: &mut Vec<u8>) {
    let values: Vec<&str> = values.collect();
    let lengths: Vec<u32> = values
        .iter()
        .map(|s| {
            u32::try_from(s.len())
                .unwrap_or_else(|_| panic!("a string of {} bytes exceeds 4 GiB", s.len()))
        })
        .collect();
    ints::encode_u32(&lengths, out);
    out.reserve(values.iter().map(|s| s.len()).sum());
    for s in values {
        out.extend_from_slice(s.as_bytes());
    }
}

/// Decodes `rows` strings from the start of `input`, appending them to `out`. Returns the bytes
/// consumed: the lengths block plus the sum of the lengths, which must all be in `input`.
///
/// Errors: those of [`ints::decode_u32`] for the lengths, [`CodecError::Truncated`] when the
/// bytes they add up to are not there, [`CodecError::InvalidUtf8`], and
/// [`CodecError::OffsetOverflow`] when `out` would pass 4 GiB. On error `out` is unchanged.
pub fn decode_strings(
    input: &[u8],
    rows: usize,
    out: &mut StringColumn,
) -> Result<usize, CodecError> {
    let mut lengths = Vec::new();
    let header = ints::decode_u32(input, rows, &mut lengths)?;
    let total = lengths
        .iter()
        .fold(0u64, |sum, &l| sum.saturating_add(u64::from(l)));
    let end = u64::try_from(header).unwrap_or(u64::MAX).saturating_add(total);
    let bytes = usize::try_from(end)
        .ok()
        .and_then(|end| input.get(header..end))
        .ok_or(CodecError::Truncated {
            needed: usize::try_from(end).unwrap_or(usize::MAX),
            available: input.len(),
        })?;
    let total = bytes.len();
    let text = std::str::from_utf8(bytes).map_err(|_| CodecError::InvalidUtf8)?;

    let held = out.bytes().len();
    if u32::try_from(held + total).is_err() {
        return Err(CodecError::OffsetOverflow {
            bytes: u64::try_from(held + total).unwrap_or(u64::MAX),
        });
    }
    // Check every boundary before appending anything, so that an error leaves `out` unchanged.
    let mut pos = 0usize;
    for &len in &lengths {
        pos += len as usize;
        if !text.is_char_boundary(pos) {
            return Err(CodecError::InvalidUtf8);
        }
    }
    if out.is_empty() {
        *out = StringColumn::with_capacity(rows, total);
    }
    let mut pos = 0usize;
    for &len in &lengths {
        let end = pos + len as usize;
        // Cannot miss: every boundary was checked above.
        out.push(text.get(pos..end).unwrap_or_default());
        pos = end;
    }
    Ok(header + total)
}
