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
/// # Errors
/// [`CodecError::Truncated`]; then `out` is left as it was.
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(values: &[bool]) {
        let mut enc = vec![0xAB];
        encode_bools(values, &mut enc);
        let enc = enc.split_off(1);
        assert_eq!(enc.len(), values.len().div_ceil(8));
        let mut out = vec![true];
        let used = decode_bools(&enc, values.len(), &mut out).unwrap();
        assert_eq!(used, enc.len());
        assert_eq!(out[1..], *values);
    }

    proptest! {
        #[test]
        fn round_trips_small(values in prop::collection::vec(any::<bool>(), 0..300)) {
            round_trip(&values);
        }

        #[test]
        fn decoder_never_panics_on_garbage(input in prop::collection::vec(any::<u8>(), 0..100), rows in 0usize..1000) {
            let mut out = Vec::new();
            match decode_bools(&input, rows, &mut out) {
                Ok(used) => {
                    prop_assert_eq!(used, rows.div_ceil(8));
                    prop_assert_eq!(out.len(), rows);
                }
                Err(e) => {
                    let truncated = matches!(e, CodecError::Truncated { .. });
                    prop_assert!(truncated);
                    prop_assert!(out.is_empty());
                }
            }
        }
    }

    #[test]
    fn layout_is_lsb_first() {
        let mut enc = Vec::new();
        encode_bools(
            &[
                true, false, false, false, false, false, false, false, false, true,
            ],
            &mut enc,
        );
        assert_eq!(enc, vec![0b0000_0001, 0b0000_0010]);
    }

    #[test]
    fn round_trips_0_1_and_64k_rows() {
        round_trip(&[]);
        round_trip(&[true]);
        round_trip(&[false]);
        let many: Vec<bool> = (0..65_536u32).map(|i| i.count_ones() % 3 == 0).collect();
        round_trip(&many);
        round_trip(&many[..65_531]);
    }

    #[test]
    fn short_input_is_an_error() {
        let err = decode_bools(&[0xFF], 9, &mut Vec::new()).unwrap_err();
        assert!(matches!(
            err,
            CodecError::Truncated {
                needed: 2,
                available: 1
            }
        ));
        let err = decode_bools(&[], usize::MAX, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, CodecError::Truncated { available: 0, .. }));
    }
}
