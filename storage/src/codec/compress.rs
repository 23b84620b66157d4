//! Block compression: zstd, or the raw bytes when zstd does not shrink them by 1/8 at least.
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

/// zstd is kept only when it saves at least 1/`MIN_SAVING_DIVISOR` of a block (12.5 %): a block
/// it barely shrinks (delta-coded timestamps and money, bit-packed event-id ranks: 1-9 %) is
/// stored raw, read in place with no decompression, for a few percent more bytes.
pub const MIN_SAVING_DIVISOR: usize = 8;

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
    /// says which. The frame records `raw.len()`, which [`BlockDecompressor::decompress`]
    /// checks.
    ///
    /// # Errors
    /// [`CodecError::Zstd`] if zstd fails (it does not on valid input); `out` is then left as
    /// it was.
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
        if written < raw.len() - raw.len() / MIN_SAVING_DIVISOR {
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
    /// # Errors
    /// [`CodecError::LengthMismatch`] when the block does not hold `raw_len` bytes (a frame
    /// announcing another size is caught before anything is allocated), and
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
                if let Ok(Some(size)) = zstd::zstd_safe::get_frame_content_size(stored)
                    && size != raw_len as u64
                {
                    return Err(CodecError::LengthMismatch {
                        expected: raw_len,
                        got: usize::try_from(size).unwrap_or(usize::MAX),
                    });
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn compressible(len: usize) -> Vec<u8> {
        (0..len).map(|i| b"adstore event "[i % 14]).collect()
    }

    fn round_trip(c: &mut BlockCompressor, d: &mut BlockDecompressor, raw: &[u8]) -> Compression {
        let mut stored = vec![9, 9]; // compress appends after what is there
        let compression = c.compress(raw, &mut stored).unwrap();
        assert_eq!(stored[..2], [9, 9]);
        let stored = &stored[2..];
        if compression == Compression::None {
            assert_eq!(stored, raw);
        } else {
            assert!(stored.len() < raw.len());
        }
        let mut out = vec![1, 2, 3]; // decompress clears it first
        d.decompress(compression, stored, raw.len(), &mut out)
            .unwrap();
        assert_eq!(out, raw);
        compression
    }

    proptest! {
        #[test]
        fn round_trips(raw in prop::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 0..3000)) {
            let mut c = BlockCompressor::new(DEFAULT_ZSTD_LEVEL).unwrap();
            let mut d = BlockDecompressor::new().unwrap();
            round_trip(&mut c, &mut d, &raw);
        }

        #[test]
        fn decompress_never_panics_on_garbage(
            stored in prop::collection::vec(any::<u8>(), 0..300),
            raw_len in 0usize..5000,
            frame in any::<bool>(),
        ) {
            let mut d = BlockDecompressor::new().unwrap();
            // Half the time, a real frame with its tail replaced by garbage.
            let mut input = stored.clone();
            if frame {
                let mut c = BlockCompressor::new(1).unwrap();
                let mut good = Vec::new();
                c.compress(&compressible(raw_len), &mut good).unwrap();
                good.truncate(good.len().min(12));
                good.extend_from_slice(&stored);
                input = good;
            }
            for compression in [Compression::None, Compression::Zstd] {
                let mut out = vec![1];
                match d.decompress(compression, &input, raw_len, &mut out) {
                    Ok(()) => prop_assert_eq!(out.len(), raw_len),
                    Err(_) => prop_assert!(out.is_empty()),
                }
            }
        }
    }

    #[test]
    fn contexts_are_reused_across_blocks_of_any_size() {
        let mut c = BlockCompressor::new(DEFAULT_ZSTD_LEVEL).unwrap();
        let mut d = BlockDecompressor::new().unwrap();
        assert_eq!(round_trip(&mut c, &mut d, &[]), Compression::None);
        assert_eq!(round_trip(&mut c, &mut d, &[42]), Compression::None);
        assert_eq!(
            round_trip(&mut c, &mut d, &compressible(1 << 20)),
            Compression::Zstd
        );
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let noise: Vec<u8> = (0..65_536)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s.to_le_bytes()[0]
            })
            .collect();
        assert_eq!(round_trip(&mut c, &mut d, &noise), Compression::None);
        assert_eq!(
            round_trip(&mut c, &mut d, &compressible(100)),
            Compression::Zstd
        );
        assert_eq!(c.level(), 3);
        assert!(format!("{c:?} {d:?}").contains("level: 3"));
    }

    #[test]
    fn wrong_lengths_and_corrupt_frames_are_errors() {
        let mut c = BlockCompressor::new(19).unwrap();
        let mut d = BlockDecompressor::new().unwrap();
        let raw = compressible(10_000);
        let mut stored = Vec::new();
        assert_eq!(c.compress(&raw, &mut stored).unwrap(), Compression::Zstd);
        let mut out = Vec::new();
        // A raw length the frame disagrees with, however large, is refused before allocating.
        for raw_len in [0, 9_999, 10_001, usize::MAX] {
            let err = d
                .decompress(Compression::Zstd, &stored, raw_len, &mut out)
                .unwrap_err();
            assert!(
                matches!(err, CodecError::LengthMismatch { got: 10_000, .. }),
                "{err:?}"
            );
            assert!(out.is_empty());
        }
        let err = d.decompress(
            Compression::Zstd,
            &stored[..stored.len() - 1],
            10_000,
            &mut out,
        );
        assert!(matches!(err, Err(CodecError::Zstd(_))));
        let mut flipped = stored.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x55;
        // zstd frames carry no checksum here (the block's CRC covers them): a flipped byte is
        // either refused or decodes to other bytes, never to a wrong length.
        match d.decompress(Compression::Zstd, &flipped, 10_000, &mut out) {
            Ok(()) => assert_eq!(out.len(), 10_000),
            Err(_) => assert!(out.is_empty()),
        }
        let err = d
            .decompress(Compression::None, &raw, 9_999, &mut out)
            .unwrap_err();
        assert!(matches!(
            err,
            CodecError::LengthMismatch {
                expected: 9_999,
                got: 10_000
            }
        ));
        // The context survives errors.
        d.decompress(Compression::Zstd, &stored, 10_000, &mut out)
            .unwrap();
        assert_eq!(out, raw);
    }

    #[test]
    fn zstd_is_kept_only_when_it_saves_an_eighth() {
        let mut c = BlockCompressor::new(1).unwrap();
        let mut d = BlockDecompressor::new().unwrap();
        // Pseudo-random bytes (incompressible) with a run of zeros: zstd saves about the run.
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut noisy = |zeros: usize| -> Vec<u8> {
            let mut v: Vec<u8> = (0..4000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            v.extend(std::iter::repeat_n(0u8, zeros));
            v
        };
        assert_eq!(
            round_trip(&mut c, &mut d, &noisy(200)),
            Compression::None,
            "~5 % saved"
        );
        assert_eq!(
            round_trip(&mut c, &mut d, &noisy(2000)),
            Compression::Zstd,
            "~33 % saved"
        );
    }

    #[test]
    fn tags() {
        for c in [Compression::None, Compression::Zstd] {
            assert_eq!(Compression::from_u8(c.tag()).unwrap(), c);
        }
        assert!(matches!(
            Compression::from_u8(2),
            Err(CodecError::UnknownCompression(2))
        ));
    }
}
