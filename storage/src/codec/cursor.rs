//! [`Cursor`]: bounds-checked little-endian reads over a decoder's input.
//!
//! Every header field a decoder reads goes through here, so a short input becomes
//! [`CodecError::Truncated`] rather than an out-of-bounds panic.

use super::CodecError;

/// A read position in a decoder's input.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `input`.
    pub(crate) fn new(input: &'a [u8]) -> Cursor<'a> {
        Cursor { input, pos: 0 }
    }

    /// Bytes consumed so far.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The next `n` bytes, or `Truncated` (counting from the start of the input).
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self.pos.saturating_add(n);
        let taken = self.input.get(self.pos..end).ok_or(CodecError::Truncated {
            needed: end,
            available: self.input.len(),
        })?;
        self.pos = end;
        Ok(taken)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let end = self.pos.saturating_add(N);
        let taken = self
            .input
            .get(self.pos..)
            .and_then(|rest| rest.first_chunk::<N>())
            .ok_or(CodecError::Truncated {
                needed: end,
                available: self.input.len(),
            })?;
        self.pos = end;
        Ok(*taken)
    }

    /// The next byte.
    pub(crate) fn u8(&mut self) -> Result<u8, CodecError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    /// The next 8 bytes as a little-endian `u64`.
    pub(crate) fn u64(&mut self) -> Result<u64, CodecError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// The next 8 bytes as a little-endian `i64`.
    pub(crate) fn i64(&mut self) -> Result<i64, CodecError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
}
