//! Streaming decoders: an integer block or a block of dictionary codes decoded
//! [`BLOCK_LEN`] values at a time into the caller's buffer, for a consumer that folds values as
//! they come (per-code totals of a scan) instead of materializing a column first.
//!
//! Only layouts whose values do not depend on each other stream: `Plain`, `Constant` and the
//! frames of reference of [`super::ints`], and the byte layout of [`super::codes`]. The delta
//! encodings (a running sum) do not: [`IntChunks::new`] returns `None` for them and the caller
//! decodes the block whole. [`IntChunks::finish`] / [`CodeChunks::finish`] check that the block
//! was consumed exactly. Codes are *not* checked against the dictionary's length here: the
//! consumer checks each as it uses it (the bounds check of its per-code table, which it makes
//! anyway), which costs less than a pass of its own over every chunk;
//! `SegmentReader::stream_codes_with_ints` holds its callers to that, so a streamed block is
//! held to the same checks as a decoded one.

use super::CodecError;
use super::bitpack::{BLOCK_LEN, Offset};
use super::codes::{CodeLayout, code_width};
use super::cursor::Cursor;
use super::ints::{self, IntEncoding};

/// An integer block ([`super::ints`]) read a chunk at a time.
#[derive(Debug)]
pub struct IntChunks<'a> {
    cur: Cursor<'a>,
    encoding: IntEncoding,
    /// The constant, or the frame of reference's minimum.
    base: i64,
    /// The width of a single-width frame of reference.
    single: Option<u8>,
    /// Values not yet decoded.
    left: usize,
}

impl<'a> IntChunks<'a> {
    /// A reader of the `rows` values of the block at the start of `input`; `None` when its
    /// encoding is a delta encoding, which does not stream.
    ///
    /// # Errors
    /// [`CodecError::Truncated`], [`CodecError::UnknownEncoding`] and
    /// [`CodecError::InvalidBitWidth`] for a bad header.
    pub fn new(input: &'a [u8], rows: usize) -> Result<Option<IntChunks<'a>>, CodecError> {
        let mut cur = Cursor::new(input);
        let encoding = IntEncoding::from_u8(cur.u8()?)?;
        let (base, single) = match encoding {
            IntEncoding::DeltaZigzag | IntEncoding::DeltaZigzagPerBlock => return Ok(None),
            IntEncoding::Plain => (0, None),
            IntEncoding::Constant => (cur.i64()?, None),
            IntEncoding::FrameOfReference | IntEncoding::FrameOfReferencePerBlock => {
                let min = cur.i64()?;
                let single = encoding == IntEncoding::FrameOfReference;
                (min, ints::read_single_width(&mut cur, single)?)
            }
        };
        Ok(Some(IntChunks {
            cur,
            encoding,
            base,
            single,
            left: rows,
        }))
    }

    /// Decodes the next chunk into the first slots of `out`: [`BLOCK_LEN`] values, fewer for
    /// the last chunk, 0 once every value has been read.
    ///
    /// # Errors
    /// [`CodecError::Truncated`] and [`CodecError::InvalidBitWidth`].
    #[inline]
    pub fn next_into(&mut self, out: &mut [i64; BLOCK_LEN]) -> Result<usize, CodecError> {
        let n = self.left.min(BLOCK_LEN);
        if n == 0 {
            return Ok(0);
        }
        match self.encoding {
            IntEncoding::Plain => {
                let bytes = self.cur.bytes(n * 8)?;
                for (v, w) in out.iter_mut().zip(bytes.as_chunks::<8>().0) {
                    *v = i64::from_le_bytes(*w);
                }
            }
            IntEncoding::Constant => out.fill(self.base),
            _ => {
                let mut lanes = Offset {
                    base: self.base,
                    out,
                };
                ints::unpack_next(&mut self.cur, self.single, n, &mut lanes)?;
            }
        }
        self.left -= n;
        Ok(n)
    }

    /// The bytes the block took, once every value has been read.
    ///
    /// # Errors
    /// [`CodecError::Truncated`] when values are left unread (a caller's bug, reported rather
    /// than ignored).
    pub fn finish(self) -> Result<usize, CodecError> {
        if self.left > 0 {
            return Err(CodecError::Truncated {
                needed: self.cur.pos() + self.left,
                available: self.cur.pos(),
            });
        }
        Ok(self.cur.pos())
    }
}

/// A block of dictionary codes ([`super::codes`]) read a chunk at a time (the codes unchecked
/// against the dictionary's length: see the module's documentation).
#[derive(Debug)]
pub struct CodeChunks<'a> {
    layout: Layout<'a>,
    /// Bytes before the codes (the layout tag).
    prefix: usize,
}

#[derive(Debug)]
enum Layout<'a> {
    /// Codes of `width` bytes each, `left` of them from `pos`.
    Bytes {
        input: &'a [u8],
        width: usize,
        pos: usize,
        left: usize,
    },
    Ints(IntChunks<'a>),
}

impl<'a> CodeChunks<'a> {
    /// A reader of the `rows` codes of a dictionary of `dict_len` entries at the start of
    /// `input`: a tagged block (segment format 3 on) when `tagged`, else untagged bytes. `None`
    /// when the block is an integer block in a delta encoding, which does not stream.
    ///
    /// # Errors
    /// [`CodecError::UnknownCodeLayout`], [`CodecError::Truncated`], and the header errors of
    /// [`IntChunks::new`].
    pub fn new(
        input: &'a [u8],
        rows: usize,
        dict_len: usize,
        tagged: bool,
    ) -> Result<Option<CodeChunks<'a>>, CodecError> {
        let (layout, body, prefix) = if tagged {
            let (&tag, body) = input.split_first().ok_or(CodecError::Truncated {
                needed: 1,
                available: 0,
            })?;
            (CodeLayout::from_u8(tag)?, body, 1)
        } else {
            (CodeLayout::Bytes, input, 0)
        };
        let layout = match layout {
            CodeLayout::Bytes => {
                let width = usize::from(code_width(dict_len));
                let len = rows.saturating_mul(width);
                if body.len() < len {
                    return Err(CodecError::Truncated {
                        needed: prefix + len,
                        available: input.len(),
                    });
                }
                Layout::Bytes {
                    input: body,
                    width,
                    pos: 0,
                    left: rows,
                }
            }
            CodeLayout::Ints => match IntChunks::new(body, rows)? {
                Some(c) => Layout::Ints(c),
                None => return Ok(None),
            },
        };
        Ok(Some(CodeChunks { layout, prefix }))
    }

    /// Decodes the next chunk of codes into the first slots of `out`, as
    /// [`IntChunks::next_into`] does. A code may be anything a corrupt block holds, negative
    /// or not below the dictionary's length: the caller checks each before using it.
    ///
    /// # Errors
    /// Those of [`IntChunks::next_into`], and [`CodecError::Truncated`].
    #[inline]
    pub fn next_into(&mut self, out: &mut [i64; BLOCK_LEN]) -> Result<usize, CodecError> {
        let n = match &mut self.layout {
            Layout::Bytes {
                input,
                width,
                pos,
                left,
            } => {
                let n = (*left).min(BLOCK_LEN);
                let bytes = input
                    .get(*pos..*pos + n * *width)
                    .ok_or(CodecError::Truncated {
                        needed: *pos + n * *width,
                        available: input.len(),
                    })?;
                match *width {
                    1 => widen(bytes.as_chunks::<1>().0, out, |[b]| i64::from(b)),
                    2 => widen(bytes.as_chunks::<2>().0, out, |c| {
                        i64::from(u16::from_le_bytes(c))
                    }),
                    _ => widen(bytes.as_chunks::<4>().0, out, |c| {
                        i64::from(u32::from_le_bytes(c))
                    }),
                }
                *pos += n * *width;
                *left -= n;
                n
            }
            Layout::Ints(c) => c.next_into(out)?,
        };
        Ok(n)
    }

    /// The bytes the block took, once every code has been read.
    ///
    /// # Errors
    /// [`CodecError::Truncated`] when codes are left unread.
    pub fn finish(self) -> Result<usize, CodecError> {
        let used = match self.layout {
            Layout::Bytes { pos, left: 0, .. } => pos,
            Layout::Bytes { pos, left, .. } => {
                return Err(CodecError::Truncated {
                    needed: pos + left,
                    available: pos,
                });
            }
            Layout::Ints(c) => c.finish()?,
        };
        Ok(self.prefix + used)
    }
}

#[inline(always)]
fn widen<const N: usize>(src: &[[u8; N]], dst: &mut [i64; BLOCK_LEN], f: impl Fn([u8; N]) -> i64) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f(s);
    }
}
