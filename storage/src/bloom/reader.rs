//! [`BloomFilter`]: a zero-copy reader over a serialized bloom filter.
//!
//! The bytes usually sit in a memory-mapped segment footer, so the reader borrows them, makes
//! no assumption about their alignment, and never panics on what it is given: a bad header or
//! a short slice is a [`BloomError`].

use std::fmt;

use super::BloomError;
use super::format::{BLOCK_LEN, HEADER_LEN, Header, block_index, probes};
use super::hash_key;

/// A serialized bloom filter, borrowed; answers "definitely absent" or "maybe present".
///
/// Copying it copies a slice reference and two integers.
#[derive(Clone, Copy)]
pub struct BloomFilter<'a> {
    blocks: &'a [[u8; BLOCK_LEN]],
    /// `blocks.len()`, as the `u32` the block index is computed from.
    num_blocks: u32,
    num_probes: u8,
}

impl<'a> BloomFilter<'a> {
    /// Reads the filter at the start of `bytes`, as written by
    /// [`BloomBuilder::finish`](super::BloomBuilder::finish).
    ///
    /// `bytes` may run on past the filter (the rest of a footer, say); the filter is its first
    /// [`serialized_len`](Self::serialized_len) bytes. Errors if the header is invalid or the
    /// slice ends before the last block.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<BloomFilter<'a>, BloomError> {
        Self::with_shape(bytes, BloomShape(Header::decode(bytes)?))
    }

    /// The validated header of the filter at the start of `bytes`, for
    /// [`with_shape`](Self::with_shape): the same checks as [`from_bytes`](Self::from_bytes).
    pub fn shape(bytes: &[u8]) -> Result<BloomShape, BloomError> {
        let shape = BloomShape(Header::decode(bytes)?);
        BloomFilter::with_shape(bytes, shape)?;
        Ok(shape)
    }

    /// The filter at the start of `bytes`, whose header [`shape`](Self::shape) read before: the
    /// header's bytes are not read again (a reader probing the same filters often keeps their
    /// shapes, and a look-up then touches one cache line, not two). Errors if the slice ends
    /// before the last block.
    pub fn with_shape(bytes: &'a [u8], shape: BloomShape) -> Result<BloomFilter<'a>, BloomError> {
        let header = shape.0;
        let needed = header.serialized_len().ok_or_else(|| {
            BloomError::InvalidHeader(format!(
                "{} blocks overflow the address space",
                header.num_blocks
            ))
        })?;
        let body = bytes.get(HEADER_LEN..needed).ok_or(BloomError::Truncated {
            needed,
            available: bytes.len(),
        })?;
        let (blocks, rest) = body.as_chunks::<BLOCK_LEN>();
        debug_assert!(rest.is_empty(), "body length is a multiple of BLOCK_LEN");
        Ok(BloomFilter {
            blocks,
            num_blocks: header.num_blocks,
            num_probes: header.num_probes,
        })
    }

    /// `false` if no key with this [`hash_key`] hash was inserted; `true` if one may have been.
    #[inline]
    pub fn may_contain_hash(&self, hash: u64) -> bool {
        let block = &self.blocks[block_index(hash, self.num_blocks)];
        // Test every probe, without stopping at the first clear bit: for an absent key that
        // branch is a coin flip, and mispredicting it costs more than the remaining loads from
        // a cache line already fetched (6.4 against 11 ns per look-up, measured by hand).
        probes(hash, self.num_probes).fold(true, |all_set, (byte, mask)| {
            all_set & (block[byte] & mask != 0)
        })
    }

    /// Asks the CPU to start loading the 64 bytes [`Self::may_contain_hash`] will test for
    /// `hash` (they may straddle two cache lines), without waiting: a caller probing many
    /// filters prefetches them all first, so that their misses overlap.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        let block = &self.blocks[block_index(hash, self.num_blocks)];
        crate::prefetch::prefetch_line(&block[..]);
        crate::prefetch::prefetch_line(&block[BLOCK_LEN - 1..]);
    }

    /// `false` if `key` was not inserted; `true` if it may have been.
    #[inline]
    pub fn may_contain(&self, key: &[u8]) -> bool {
        self.may_contain_hash(hash_key(key))
    }

    /// Length in bytes of the filter, header included: where the next structure starts.
    pub fn serialized_len(&self) -> usize {
        HEADER_LEN + self.blocks.len() * BLOCK_LEN
    }

    /// Number of 64-byte blocks.
    pub fn num_blocks(&self) -> u32 {
        self.num_blocks
    }

    /// Number of bits tested per key, `1..=16`.
    pub fn num_probes(&self) -> u8 {
        self.num_probes
    }
}

/// A filter's validated header ([`BloomFilter::shape`]): its block and probe counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BloomShape(Header);

impl fmt::Debug for BloomFilter<'_> {
    /// Shows the shape, not the bits: a filter can be megabytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BloomFilter")
            .field("num_blocks", &self.num_blocks)
            .field("num_probes", &self.num_probes)
            .finish_non_exhaustive()
    }
}
