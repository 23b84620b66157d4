//! Block compression: zstd, or the raw bytes when zstd does not shrink them.
//!
//! A block stores which of the two it holds ([`Compression`], one byte) and its raw length, so
//! the reader allocates exactly once and can tell a short or overlong frame from a good one.
//! [`BlockCompressor`] and [`BlockDecompressor`] keep one zstd context each and reuse it for
//! every block: creating a context costs more than compressing a small block.

use std::fmt;
use std::io;

use super::CodecError;

/// The zstd level used unless configured otherwise: zstd's own default, a good ratio at a few
/// hundred MB/s.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// How a block's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Compression {
    /// The raw bytes, as they are.
    None = 0,
    /// One zstd frame that decompresses to the raw bytes.
    Zstd = 1,
}

impl Compression {
    /// The compression with this tag, or [`CodecError::UnknownCompression`].
    pub fn from_u8(tag: u8) -> Result<Compression, CodecError> {
        match tag {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Zstd),
            _ => Err(CodecError::UnknownCompression(tag)),
        }
    }

    /// The tag byte.
    pub fn tag(self) -> u8 {
        self as u8
    }
}

/// Compresses blocks with zstd, reusing one context.
pub struct BlockCompressor {
    zstd: zstd::bulk::Compressor<'static>,
    level: i32,
}

impl fmt::Debug for BlockCompressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockCompressor")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl BlockCompressor {
    /// A compressor at zstd `level` ([`DEFAULT_ZSTD_LEVEL`] unless tuned); zstd clamps levels
    /// outside its range. Fails only when zstd cannot allocate its context.
    pub fn new(level: i32) -> Result<BlockCompressor, CodecError> {
        let zstd = zstd::bulk::Compressor::new(level).map_err(CodecError::Zstd)?;
        Ok(BlockCompressor { zstd, level })
    }

    /// The zstd level.
    pub fn level(&self) -> i32 {
        self.level
    }

    /// Appends `raw` to `out` compressed, or as it is when zstd would not make it smaller, and
    /// says which.
    pub fn compress(&mut self, raw: &[u8], out: &mut Vec<u8>) -> Result<Compression, CodecError> {
        let start = out.len();
        out.reserve(zstd::zstd_safe::compress_bound(raw.len()));
        // Write the frame after what `out` already holds.
        let mut dst = io::Cursor::new(&mut *out);
        dst.set_position(start as u64);
        let written = self.zstd.compress_to_buffer(raw, &mut dst);
        let written = match written {
            Ok(n) => n,
            Err(e) => {
                out.truncate(start);
                return Err(CodecError::Zstd(e));
            }
        };
        if written < raw.len() {
            return Ok(Compression::Zstd);
        }
        out.truncate(start);
        out.extend_from_slice(raw);
        Ok(Compression::None)
    }
}

/// Decompresses blocks, reusing one zstd context.
pub struct BlockDecompressor {
    zstd: zstd::bulk::Decompressor<'static>,
}

impl fmt::Debug for BlockDecompressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockDecompressor").finish_non_exhaustive()
    }
}

impl BlockDecompressor {
    /// A decompressor. Fails only when zstd cannot allocate its context.
    pub fn new() -> Result<BlockDecompressor, CodecError> {
        let zstd = zstd::bulk::Decompressor::new().map_err(CodecError::Zstd)?;
        Ok(BlockDecompressor { zstd })
    }

    /// Clears `out` and fills it with the `raw_len` bytes a block `stored` with `compression`
    /// holds.
    ///
    /// Errors: [`CodecError::LengthMismatch`] when the block does not hold `raw_len` bytes (a
    /// frame announcing another size is caught before anything is allocated), and
    /// [`CodecError::Zstd`] for a corrupt frame. On error `out` is left empty.
    pub fn decompress(
        &mut self,
        compression: Compression,
        stored: &[u8],
        raw_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        out.clear();
        match compression {
            Compression::None => {
                if stored.len() != raw_len {
                    return Err(CodecError::LengthMismatch {
                        expected: raw_len,
                        got: stored.len(),
                    });
                }
                out.extend_from_slice(stored);
                Ok(())
            }
            Compression::Zstd => {
                // Our frames carry their size; a mismatch means a corrupt header or frame, and
                // is caught before `raw_len` bytes are allocated on its word.
                if let Ok(Some(size)) = zstd::zstd_safe::get_frame_content_size(stored) {
                    if size != raw_len as u64 {
                        return Err(CodecError::LengthMismatch {
                            expected: raw_len,
                            got: usize::try_from(size).unwrap_or(usize::MAX),
                        });
                    }
                }
                out.reserve_exact(raw_len);
                let result = self.zstd.decompress_to_buffer(stored, out);
                match result {
                    Ok(n) if n == raw_len => Ok(()),
                    Ok(n) => {
                        out.clear();
                        Err(CodecError::LengthMismatch {
                            expected: raw_len,
                            got: n,
                        })
                    }
                    Err(e) => {
                        out.clear();
                        Err(CodecError::Zstd(e))
                    }
                }
            }
        }
    }
}
