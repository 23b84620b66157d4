//! Numbered strings: a block of plain strings that are all one prefix followed by a decimal
//! number (`u-4332064`, `imp-000001`) stored as the prefix once and the numbers as an integer
//! block (`docs/FORMAT.md`, "Strings").
//!
//! Identifiers minted by a counter are the common case of the high-cardinality columns
//! (`user_id` in the input contract's own examples). Stored as text they cost their bytes and
//! a zstd pass on every read; as numbers they bit-pack to their entropy (23 bits for seven
//! digits of a 5M-user range, against ~34 bits as zstd-compressed text) and decode without
//! zstd, and a look-up of one value compares integers instead of searching bytes.
//!
//! The layout keeps each string exactly: `width` 0 means every number is written without
//! leading zeros (`0` itself allowed), `width` w > 0 that every one is zero-padded to exactly w
//! digits. A block that fits neither, whose prefix differs between rows, or whose numbers do
//! not fit an `i64`, keeps the plain layout ([`super::strings`]).

use super::CodecError;
use super::ints;

/// The first byte of a numbered block. A plain block starts with its lengths' integer
/// encoding tag (0 to 5), so the two never meet.
pub const TAG: u8 = 0x80;

/// Most digits a number may have (`i64::MAX` has 19).
const MAX_DIGITS: usize = 19;

/// A decoded numbered block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbered<'a> {
    /// The prefix of every string.
    pub prefix: &'a [u8],
    /// 0: numbers without leading zeros; w: numbers zero-padded to w digits.
    pub width: u8,
    /// Each row's number.
    pub numbers: Vec<i64>,
}

/// `s` split before its trailing run of ASCII digits, when that run is not empty.
fn split(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let digits = s.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    (digits > 0).then(|| s.split_at(s.len() - digits))
}

/// The value of a run of ASCII digits, `None` past `i64::MAX`.
fn parse(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || digits.len() > MAX_DIGITS {
        return None;
    }
    digits.iter().try_fold(0i64, |n, &d| {
        n.checked_mul(10)?.checked_add(i64::from(d - b'0'))
    })
}

/// Two ASCII digits for each of 0 to 99.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes `n` in decimal at the start of `out`, zero-padded to `width` digits; returns the
/// digits written.
fn write_digits(mut n: u64, width: u8, out: &mut [u8; MAX_DIGITS]) -> usize {
    let count = (n.checked_ilog10().unwrap_or(0) as usize + 1)
        .max(usize::from(width))
        .min(MAX_DIGITS);
    let mut i = count;
    while n >= 100 && i >= 2 {
        let d = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        out[i] = PAIRS[d];
        out[i + 1] = PAIRS[d + 1];
    }
    if n >= 10 && i >= 2 {
        let d = n as usize * 2;
        i -= 2;
        out[i] = PAIRS[d];
        out[i + 1] = PAIRS[d + 1];
    } else if i >= 1 {
        i -= 1;
        out[i] = b'0' + n as u8;
    }
    out[..i].fill(b'0');
    count
}

/// Whether a run of digits is a number written without leading zeros.
fn canonical(digits: &[u8]) -> bool {
    digits.len() == 1 || digits.first() != Some(&b'0')
}

/// Appends the numbered block of `values` to `out` and returns true, or returns false (and
/// appends nothing) when they do not all fit one prefix and one width.
pub fn encode(values: &[&str], out: &mut Vec<u8>) -> bool {
    let Some((prefix, first_digits)) = values.first().and_then(|v| split(v.as_bytes())) else {
        return false;
    };
    let Ok(prefix_len) = u8::try_from(prefix.len()) else {
        return false;
    };
    let mut numbers = Vec::with_capacity(values.len());
    let (mut all_canonical, mut one_width) = (true, true);
    for v in values {
        let Some((p, digits)) = split(v.as_bytes()) else {
            return false;
        };
        let Some(n) = parse(digits).filter(|_| p == prefix) else {
            return false;
        };
        all_canonical &= canonical(digits);
        one_width &= digits.len() == first_digits.len();
        numbers.push(n);
    }
    let width = if all_canonical {
        0
    } else if one_width {
        first_digits.len() as u8
    } else {
        return false;
    };
    out.push(TAG);
    out.push(prefix_len);
    out.extend_from_slice(prefix);
    out.push(width);
    ints::encode_i64(&numbers, out);
    true
}

impl<'a> Numbered<'a> {
    /// Decodes the numbered block of `rows` strings at the start of `input` (which starts with
    /// [`TAG`]); returns it with the bytes consumed.
    ///
    /// # Errors
    /// [`CodecError::Truncated`] for a short input, [`CodecError::InvalidUtf8`] for a prefix
    /// that is not UTF-8, [`CodecError::DigitEndsPrefix`], [`CodecError::ValueOutOfRange`] for
    /// a width over 19 digits or a number that cannot be written in the block's width, and
    /// those of the integer block.
    pub fn decode(input: &'a [u8], rows: usize) -> Result<(Numbered<'a>, usize), CodecError> {
        let truncated = |needed: usize| CodecError::Truncated {
            needed,
            available: input.len(),
        };
        let prefix_len = usize::from(*input.get(1).ok_or(truncated(2))?);
        let prefix = input
            .get(2..2 + prefix_len)
            .ok_or(truncated(2 + prefix_len))?;
        std::str::from_utf8(prefix).map_err(|_| CodecError::InvalidUtf8)?;
        if prefix.last().is_some_and(u8::is_ascii_digit) {
            // It would read as part of the number: no encoder writes it.
            return Err(CodecError::DigitEndsPrefix);
        }
        let width = *input.get(2 + prefix_len).ok_or(truncated(3 + prefix_len))?;
        if usize::from(width) > MAX_DIGITS {
            return Err(CodecError::ValueOutOfRange(i64::from(width)));
        }
        let header = 3 + prefix_len;
        let mut numbers = Vec::with_capacity(rows);
        let used = ints::decode_i64(input.get(header..).unwrap_or_default(), rows, &mut numbers)?;
        let limit = if width == 0 {
            i64::MAX
        } else {
            10i64.checked_pow(u32::from(width)).unwrap_or(i64::MAX)
        };
        if let Some(&bad) = numbers
            .iter()
            .find(|&&n| n < 0 || (width > 0 && width < 19 && n >= limit))
        {
            return Err(CodecError::ValueOutOfRange(bad));
        }
        Ok((
            Numbered {
                prefix,
                width,
                numbers,
            },
            header + used,
        ))
    }

    /// Calls `f` with each row's string, in order. The prefix is written once into a buffer
    /// and each number's digits after it: no copy or allocation per row.
    pub fn for_each(&self, mut f: impl FnMut(&[u8])) {
        let p = self.prefix.len();
        let mut buf = [0u8; u8::MAX as usize + MAX_DIGITS];
        buf[..p].copy_from_slice(self.prefix);
        for &n in &self.numbers {
            let Some(digits) = buf[p..].first_chunk_mut() else {
                return;
            };
            let len = write_digits(n.cast_unsigned(), self.width, digits);
            f(&buf[..p + len]);
        }
    }

    /// The number a row holding `value` has, `None` when no row can hold it (another prefix,
    /// another way of writing the number).
    pub fn number_of(&self, value: &[u8]) -> Option<i64> {
        let (prefix, digits) = split(value)?;
        let fits = if self.width == 0 {
            canonical(digits)
        } else {
            digits.len() == usize::from(self.width)
        };
        parse(digits).filter(|_| prefix == self.prefix && fits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[&str]) -> Option<usize> {
        let mut out = vec![9];
        if !encode(values, &mut out) {
            assert_eq!(out, [9]);
            return None;
        }
        let (block, used) = Numbered::decode(&out[1..], values.len()).unwrap();
        assert_eq!(used, out.len() - 1);
        let mut written: Vec<Vec<u8>> = Vec::new();
        block.for_each(|s| written.push(s.to_vec()));
        assert!(
            written
                .iter()
                .map(Vec::as_slice)
                .eq(values.iter().map(|v| v.as_bytes()))
        );
        for (r, v) in values.iter().enumerate() {
            assert_eq!(block.number_of(v.as_bytes()), Some(block.numbers[r]));
        }
        Some(used)
    }

    #[test]
    fn counters_with_one_prefix_round_trip_and_others_stay_plain() {
        assert!(round_trip(&["u-4332064", "u-7", "u-0", "u-9223372036854775807"]).is_some());
        assert!(round_trip(&["a0000000000000000007", "a9223372036854775807"]).is_some());
        assert!(round_trip(&["a0000000000000000007", "a1000000000000000000"]).is_some());
        assert!(round_trip(&["10", "99", "100", "1000", "5"]).is_some());
        assert!(round_trip(&["imp-000001", "imp-120000", "imp-000000"]).is_some());
        assert!(round_trip(&["12", "7"]).is_some());
        assert!(round_trip(&["é-1", "é-22"]).is_some());
        // Mixed prefixes, leading zeros of mixed widths, no digits, too large, empty.
        assert_eq!(round_trip(&["u-1", "v-1"]), None);
        assert_eq!(round_trip(&["u-01", "u-1"]), None);
        assert_eq!(round_trip(&["u-1", "u-"]), None);
        assert_eq!(round_trip(&["u-9223372036854775808"]), None);
        assert_eq!(round_trip(&["u-1", ""]), None);
        assert_eq!(round_trip(&[]), None);
        // Random ids of a 5M range: ~3 bytes a row, where the text takes 9.
        let ids: Vec<String> = (0..8_192u64)
            .map(|i| format!("u-{}", i.wrapping_mul(0x9E37_79B9) % 5_000_000))
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let used = round_trip(&ids).unwrap();
        assert!(used < 8_192 * 3 + 64, "{used} bytes");
    }

    #[test]
    fn values_no_row_can_hold_have_no_number() {
        let mut out = Vec::new();
        assert!(encode(&["u-10", "u-2"], &mut out));
        let (block, _) = Numbered::decode(&out, 2).unwrap();
        assert_eq!(block.number_of(b"u-02"), None);
        assert_eq!(block.number_of(b"x-2"), None);
        assert_eq!(block.number_of(b"u-"), None);
        assert_eq!(block.number_of(b"u-99999999999999999999"), None);
        assert_eq!(block.number_of(b"u-3"), Some(3));
        let mut out = Vec::new();
        assert!(encode(&["a007", "a100"], &mut out));
        let (block, _) = Numbered::decode(&out, 2).unwrap();
        assert_eq!(block.number_of(b"a7"), None);
        assert_eq!(block.number_of(b"a007"), Some(7));
    }

    #[test]
    fn damaged_blocks_are_errors() {
        let mut out = Vec::new();
        assert!(encode(&["imp-000001", "imp-000002"], &mut out));
        for cut in 0..out.len() {
            assert!(Numbered::decode(&out[..cut], 2).is_err(), "cut at {cut}");
        }
        // A number too wide for the block's width, a width past 19 digits.
        let mut wide = vec![TAG, 1, b'a', 2];
        ints::encode_i64(&[100], &mut wide);
        assert!(Numbered::decode(&wide, 1).is_err());
        let mut bad_width = vec![TAG, 1, b'a', 20];
        ints::encode_i64(&[1], &mut bad_width);
        assert!(Numbered::decode(&bad_width, 1).is_err());
        let mut negative = vec![TAG, 1, b'a', 0];
        ints::encode_i64(&[-1], &mut negative);
        assert!(Numbered::decode(&negative, 1).is_err());
        let mut digit_prefix = vec![TAG, 1, b'1', 0];
        ints::encode_i64(&[1], &mut digit_prefix);
        assert!(Numbered::decode(&digit_prefix, 1).is_err());
    }
}
