//! The plain string codec: a block of a [`StringColumn`] as its lengths, then its bytes.
//!
//! Used for the high-cardinality columns (event and user ids), where a dictionary would be as
//! large as the data. The lengths are an integer block ([`super::ints`], so ids of one length
//! cost 9 bytes in all), and the strings follow back to back with no separator. The decoder
//! checks the bytes are UTF-8 once for the whole run, and that every boundary the lengths put
//! falls between characters.

use super::CodecError;
use super::ints;
use super::numbered::{self, Numbered};
use crate::batch::StringColumn;

/// Appends the strings of a segment row block (segment format 6 on): [`numbered`] when every
/// one is a common prefix and a decimal number, [`encode_strings`] otherwise. The decoders
/// below read either.
pub fn encode_row_strings<'a>(values: impl ExactSizeIterator<Item = &'a str>, out: &mut Vec<u8>) {
    let values: Vec<&str> = values.collect();
    if !numbered::encode(&values, out) {
        encode_strings(values.into_iter(), out);
    }
}

/// The numbered block at the start of `input`, if it is one.
fn numbered_block(input: &[u8], rows: usize) -> Result<Option<(Numbered<'_>, usize)>, CodecError> {
    if input.first() == Some(&numbered::TAG) {
        Numbered::decode(input, rows).map(Some)
    } else {
        Ok(None)
    }
}

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

/// The lengths of `rows` encoded strings at the start of `input`, the size of their header,
/// and the bytes they add up to (all of which must be in `input`).
fn lengths_and_bytes(input: &[u8], rows: usize) -> Result<(Vec<u32>, usize, &[u8]), CodecError> {
    let mut lengths = Vec::new();
    let header = ints::decode_u32(input, rows, &mut lengths)?;
    let total = lengths
        .iter()
        .fold(0u64, |sum, &l| sum.saturating_add(u64::from(l)));
    let end = u64::try_from(header)
        .unwrap_or(u64::MAX)
        .saturating_add(total);
    let bytes = usize::try_from(end)
        .ok()
        .and_then(|end| input.get(header..end))
        .ok_or(CodecError::Truncated {
            needed: usize::try_from(end).unwrap_or(usize::MAX),
            available: input.len(),
        })?;
    Ok((lengths, header, bytes))
}

/// Decodes `rows` strings from the start of `input`, appending them to `out`. Returns the bytes
/// consumed: the lengths block plus the sum of the lengths, which must all be in `input`.
///
/// # Errors
/// Those of [`ints::decode_u32`] for the lengths, [`CodecError::Truncated`] when the bytes they
/// add up to are not there, [`CodecError::InvalidUtf8`], and [`CodecError::OffsetOverflow`]
/// when `out` would pass 4 GiB. On error `out` is left as it was.
pub fn decode_strings(
    input: &[u8],
    rows: usize,
    out: &mut StringColumn,
) -> Result<usize, CodecError> {
    if let Some((block, used)) = numbered_block(input, rows)? {
        let mut bytes = Vec::with_capacity(rows * (block.prefix.len() + 8));
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0u32);
        let mut overflow = false;
        block.for_each(|s| {
            bytes.extend_from_slice(s);
            let end = u32::try_from(bytes.len());
            overflow |= end.is_err();
            offsets.push(end.unwrap_or(u32::MAX));
        });
        let held = out.bytes().len();
        if overflow || u32::try_from(held + bytes.len()).is_err() {
            return Err(CodecError::OffsetOverflow {
                bytes: u64::try_from(held + bytes.len()).unwrap_or(u64::MAX),
            });
        }
        // The prefix was checked UTF-8 and the rest is ASCII digits: this check passes.
        let decoded = StringColumn::from_parts(offsets, bytes).ok_or(CodecError::InvalidUtf8)?;
        if out.is_empty() {
            *out = decoded;
        } else {
            out.extend_from(&decoded);
        }
        return Ok(used);
    }
    let (lengths, header, bytes) = lengths_and_bytes(input, rows)?;
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

/// Calls `f` with the bytes of each of `rows` encoded strings at the start of `input`, in
/// order, without building a [`StringColumn`]; returns the bytes consumed, as
/// [`decode_strings`] would. The bytes are not checked for UTF-8: callers compare or hash
/// them, and the block's CRC covers them.
///
/// # Errors
/// Those of [`ints::decode_u32`] for the lengths, and [`CodecError::Truncated`] when the bytes
/// they add up to are not there (then `f` is not called).
pub fn for_each_string(
    input: &[u8],
    rows: usize,
    mut f: impl FnMut(&[u8]),
) -> Result<usize, CodecError> {
    if let Some((block, used)) = numbered_block(input, rows)? {
        block.for_each(f);
        return Ok(used);
    }
    let (lengths, header, bytes) = lengths_and_bytes(input, rows)?;
    let mut pos = 0usize;
    for &len in &lengths {
        let len = len as usize;
        f(&bytes[pos..pos + len]);
        pos += len;
    }
    Ok(bytes.len() + header)
}

/// Appends to `mask` one flag per row of the `rows` strings at the start of `input`: whether the
/// row's value is one of `needles`. Each needle is searched for in the block's bytes (memchr's
/// `memmem`, vectorized) and a hit counts only when it is exactly a row's value, so a block
/// that holds a value rarely (one user's rows) is not compared row by row. Returns the bytes
/// consumed, as [`decode_strings`] does; on error `mask` is left as it was.
///
/// # Errors
/// Those of [`for_each_string`].
pub fn match_rows(
    input: &[u8],
    rows: usize,
    needles: &[&[u8]],
    mask: &mut Vec<bool>,
) -> Result<usize, CodecError> {
    if let Some((block, used)) = numbered_block(input, rows)? {
        // Numbers compared, not bytes searched.
        let wanted: Vec<i64> = needles.iter().filter_map(|n| block.number_of(n)).collect();
        mask.extend(block.numbers.iter().map(|n| wanted.contains(n)));
        return Ok(used);
    }
    let (lengths, header, bytes) = lengths_and_bytes(input, rows)?;
    let first = mask.len();
    mask.resize(first + lengths.len(), false);
    let rows_mask = &mut mask[first..];
    // Where each row's value starts, computed at the first hit.
    let mut starts: Vec<usize> = Vec::new();
    for needle in needles {
        if needle.is_empty() {
            for (m, &len) in rows_mask.iter_mut().zip(&lengths) {
                *m |= len == 0;
            }
            continue;
        }
        let finder = memchr::memmem::Finder::new(needle);
        let mut from = 0;
        // Occurrences may overlap (a hit that spans two values can hide one that starts a
        // value), so the search resumes at the next value's start, not after the hit.
        while let Some(found) = bytes.get(from..).and_then(|rest| finder.find(rest)) {
            let at = from + found;
            if starts.is_empty() {
                let mut pos = 0usize;
                starts.extend(lengths.iter().map(|&len| {
                    let start = pos;
                    pos += len as usize;
                    start
                }));
            }
            // Rows starting at or before `at`; the last of them is the one `at` may start
            // (empty rows before it start there too).
            let next = starts.partition_point(|&s| s <= at);
            if let Some(r) = next.checked_sub(1)
                && starts[r] == at
                && lengths[r] as usize == needle.len()
            {
                rows_mask[r] = true;
            }
            match starts.get(next) {
                Some(&start) => from = start,
                None => break,
            }
        }
    }
    Ok(bytes.len() + header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded(values: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_strings(values.iter().copied(), &mut out);
        out
    }

    /// `match_rows` against a comparison of every row.
    fn check_match(values: &[&str], needles: &[&str]) {
        let enc = encoded(values);
        let needle_bytes: Vec<&[u8]> = needles.iter().map(|n| n.as_bytes()).collect();
        let mut mask = vec![true]; // appended after what is there
        let used = match_rows(&enc, values.len(), &needle_bytes, &mut mask).unwrap();
        assert_eq!(used, enc.len());
        let expected: Vec<bool> = std::iter::once(true)
            .chain(values.iter().map(|v| needles.contains(v)))
            .collect();
        assert_eq!(mask, expected, "values {values:?}, needles {needles:?}");
    }

    #[test]
    fn matches_whole_values_only() {
        // Hits across a boundary, inside, as a prefix or a suffix of a value are not rows.
        let values = ["ab", "c", "", "abc", "bc", "", "", "abc", "x", "ab"];
        check_match(&values, &["bc"]);
        check_match(&values, &["abc"]);
        check_match(&values, &["ab", "x"]);
        check_match(&values, &["b"]);
        check_match(&values, &[""]);
        check_match(&values, &["nope", "c"]);
        check_match(&values, &[]);
        check_match(&[], &["a"]);
        // Overlapping occurrences of a repetitive needle.
        check_match(&["aa", "aaa", "a", "aa"], &["aa"]);
        // Damaged input is an error and leaves the mask as it was.
        let enc = encoded(&["abc", "d"]);
        let mut mask = vec![false];
        assert!(match_rows(&enc[..enc.len() - 1], 2, &[b"d"], &mut mask).is_err());
        assert_eq!(mask, [false]);
    }

    fn round_trip(values: &[String]) {
        let mut enc = vec![1, 2, 3]; // the encoder appends after what is there
        encode_strings(values.iter().map(String::as_str), &mut enc);
        let enc = enc.split_off(3);
        let mut col = StringColumn::default();
        let used = decode_strings(&enc, values.len(), &mut col).unwrap();
        assert_eq!(used, enc.len());
        assert!(col.iter().eq(values.iter().map(String::as_str)));
        // Appending to a column that already holds rows.
        let mut col = StringColumn::default();
        col.push("before");
        decode_strings(&enc, values.len(), &mut col).unwrap();
        assert_eq!(col.len(), values.len() + 1);
        assert_eq!(col.get(0), "before");
        assert!(col.iter().skip(1).eq(values.iter().map(String::as_str)));
    }

    /// A row block's strings in whichever layout [`encode_row_strings`] picks, read back by
    /// each decoder: decoded, in place and matched against `needles`.
    fn check_row_layout(values: &[String], needles: &[&str]) -> bool {
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let mut enc = Vec::new();
        encode_row_strings(values.iter().copied(), &mut enc);
        let mut col = StringColumn::default();
        assert_eq!(
            decode_strings(&enc, values.len(), &mut col).unwrap(),
            enc.len()
        );
        assert!(col.iter().eq(values.iter().copied()), "{values:?}");
        let mut seen: Vec<Vec<u8>> = Vec::new();
        assert_eq!(
            for_each_string(&enc, values.len(), |v| seen.push(v.to_vec())).unwrap(),
            enc.len()
        );
        assert!(
            seen.iter()
                .map(Vec::as_slice)
                .eq(values.iter().map(|v| v.as_bytes()))
        );
        let needle_bytes: Vec<&[u8]> = needles.iter().map(|n| n.as_bytes()).collect();
        let mut mask = vec![true];
        assert_eq!(
            match_rows(&enc, values.len(), &needle_bytes, &mut mask).unwrap(),
            enc.len()
        );
        let expected: Vec<bool> = std::iter::once(true)
            .chain(values.iter().map(|v| needles.contains(v)))
            .collect();
        assert_eq!(mask, expected, "values {values:?}, needles {needles:?}");
        enc.first() == Some(&numbered::TAG)
    }

    #[test]
    fn numbered_row_blocks_read_back_through_every_decoder() {
        let ids = |xs: &[&str]| xs.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        let needles = [
            "u-7",
            "u-07",
            "u-0",
            "u-",
            "v-7",
            "7",
            "imp-000007",
            "imp-7",
            "",
        ];
        assert!(check_row_layout(
            &ids(&["u-7", "u-0", "u-123", "u-7"]),
            &needles
        ));
        assert!(check_row_layout(
            &ids(&["imp-000007", "imp-123456"]),
            &needles
        ));
        assert!(!check_row_layout(&ids(&["u-7", "v-7", "u-07"]), &needles));
        assert!(!check_row_layout(&ids(&["u-7", ""]), &needles));
    }

    proptest! {
        #[test]
        fn row_blocks_of_ids_match_as_a_comparison_of_every_row_does(
            values in prop::collection::vec(
                prop_oneof!["u-[1-9][0-9]{0,6}", "u-0", "u-0[0-9]", "x-[0-9]{1,2}"], 1..80),
            needles in prop::collection::vec(
                prop_oneof!["u-[1-9][0-9]{0,2}", "u-0[0-9]?", "x-[0-9]"], 0..4),
        ) {
            let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
            check_row_layout(&values, &needles);
        }

        #[test]
        fn matches_as_a_comparison_of_every_row_does(
            values in prop::collection::vec("[ab]{0,3}", 0..60),
            needles in prop::collection::vec("[ab]{0,3}", 0..4),
        ) {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
            check_match(&values, &needles);
        }

        #[test]
        fn round_trips_small(values in prop::collection::vec(".{0,12}", 0..200)) {
            round_trip(&values);
        }

        #[test]
        fn each_string_in_place_agrees_with_decoding(values in prop::collection::vec(".{0,12}", 0..200)) {
            let enc = encoded(&values.iter().map(String::as_str).collect::<Vec<_>>());
            let mut seen: Vec<Vec<u8>> = Vec::new();
            let used = for_each_string(&enc, values.len(), |v| seen.push(v.to_vec())).unwrap();
            prop_assert_eq!(used, enc.len());
            let expected: Vec<Vec<u8>> = values.iter().map(|v| v.as_bytes().to_vec()).collect();
            prop_assert_eq!(seen, expected);
        }

        #[test]
        fn in_place_reading_never_panics_on_garbage(input in prop::collection::vec(any::<u8>(), 0..400), rows in 0usize..100) {
            let mut calls = 0usize;
            match for_each_string(&input, rows, |_| calls += 1) {
                Ok(used) => {
                    prop_assert!(used <= input.len());
                    prop_assert_eq!(calls, rows);
                }
                // An error is raised before any string is handed out.
                Err(_) => prop_assert_eq!(calls, 0),
            }
        }

        #[test]
        fn decoder_never_panics_on_garbage(input in prop::collection::vec(any::<u8>(), 0..400), rows in 0usize..100) {
            let mut col = StringColumn::default();
            col.push("x");
            match decode_strings(&input, rows, &mut col) {
                Ok(used) => {
                    prop_assert!(used <= input.len());
                    prop_assert_eq!(col.len(), rows + 1);
                }
                Err(_) => {
                    prop_assert_eq!(col.len(), 1);
                    prop_assert_eq!(col.bytes(), b"x");
                }
            }
        }

        #[test]
        fn every_strict_prefix_is_an_error(values in prop::collection::vec("[a-zé]{1,8}", 1..50)) {
            let enc = encoded(&values.iter().map(String::as_str).collect::<Vec<_>>());
            for cut in 0..enc.len() {
                let mut col = StringColumn::default();
                let err = decode_strings(&enc[..cut], values.len(), &mut col).unwrap_err();
                let truncated = matches!(err, CodecError::Truncated { .. });
                prop_assert!(truncated, "{err:?}");
                prop_assert!(col.is_empty());
            }
        }
    }

    #[test]
    fn round_trips_0_1_and_64k_rows() {
        round_trip(&[]);
        round_trip(&[String::new()]);
        round_trip(&["ünïcödé 🚀".to_owned()]);
        let ids: Vec<String> = (0..65_536u64)
            .map(|i| format!("{:016x}-{:08}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15), i))
            .collect();
        round_trip(&ids);
        // Equal lengths cost one constant block: 9 bytes plus the bytes themselves.
        let enc = encoded(&ids.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(enc.len(), 9 + 65_536 * 25);
        let mixed: Vec<String> = (0..65_536).map(|i| "é".repeat(i % 5)).collect();
        round_trip(&mixed);
    }

    #[test]
    fn bad_utf8_and_split_characters_are_errors() {
        // Lengths [1, 1] over "é" split the character in two.
        let mut enc = Vec::new();
        ints::encode_u32(&[1, 1], &mut enc);
        enc.extend_from_slice("é".as_bytes());
        let mut col = StringColumn::default();
        let err = decode_strings(&enc, 2, &mut col).unwrap_err();
        assert!(matches!(err, CodecError::InvalidUtf8));
        assert!(col.is_empty());

        let mut enc = Vec::new();
        ints::encode_u32(&[2], &mut enc);
        enc.extend_from_slice(&[0xC3, 0x28]);
        let err = decode_strings(&enc, 1, &mut col).unwrap_err();
        assert!(matches!(err, CodecError::InvalidUtf8));
    }

    #[test]
    fn lengths_past_the_input_are_truncation_not_allocation() {
        let mut enc = Vec::new();
        ints::encode_u32(&[u32::MAX; 3], &mut enc);
        let err = decode_strings(&enc, 3, &mut StringColumn::default()).unwrap_err();
        assert!(matches!(err, CodecError::Truncated { available: 9, .. }));
        // Negative lengths never become sizes.
        let mut enc = Vec::new();
        ints::encode_i64(&[-1], &mut enc);
        let err = decode_strings(&enc, 1, &mut StringColumn::default()).unwrap_err();
        assert!(matches!(err, CodecError::ValueOutOfRange(-1)));
    }
}
