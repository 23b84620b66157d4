//! The serialized layout of a bloom filter, and how a hash addresses its bits.
//!
//! Implements `docs/FORMAT.md`, section "Bloom filter". Integers are little-endian.
//!
//! ```text
//! BloomFilter: | NumBlocks(u32) | NumProbes(u8) | Reserved(3B, zero) | Block × NumBlocks | [BlockCrc(u32) × NumBlocks] |
//! Block:       | 64 bytes = 512 bits; bit p is bit (p % 8) of byte (p / 8) |
//! BlockCrc:    | CRC32 of the header's 8 bytes followed by the block's 64 |
//! ```
//!
//! The `BlockCrc` array is there in a *checked* filter ([`Layout::Checked`], segment format 4
//! on) and not in a *plain* one ([`Layout::Plain`], whose bytes a CRC over many filters covers
//! instead). A look-up reads one block, so one block's CRC is all it needs to check.
//!
//! Both the [builder](super::BloomBuilder) and the [reader](super::BloomFilter) address bits
//! only through [`block_index`] and [`probes`], so the two cannot drift apart.

use super::BloomError;

/// Offset of `NumBlocks(u32)`: how many 64-byte blocks follow the header, at least one.
const NUM_BLOCKS_OFFSET: usize = 0;
/// Offset of `NumProbes(u8)`: bits set per key inside its block, `1..=MAX_PROBES`.
const NUM_PROBES_OFFSET: usize = NUM_BLOCKS_OFFSET + 4;
/// Offset of the three reserved bytes, written as zero and rejected otherwise.
const RESERVED_OFFSET: usize = NUM_PROBES_OFFSET + 1;
/// Length of the reserved field.
const RESERVED_LEN: usize = 3;

/// Length of the header in bytes; the first block starts here.
pub const HEADER_LEN: usize = RESERVED_OFFSET + RESERVED_LEN;
/// Length of one block in bytes: one cache line.
pub const BLOCK_LEN: usize = 64;
/// Length of one block's CRC in a checked filter.
pub const BLOCK_CRC_LEN: usize = 4;
/// Bits in one block.
pub(super) const BLOCK_BITS: usize = BLOCK_LEN * 8;
/// The largest probe count a filter may declare.
pub const MAX_PROBES: u8 = 16;

/// Multiplier that turns one probe's 32-bit state into the next's: 2^32 divided by the golden
/// ratio, odd, so the map is a bijection and every bit of the state reaches the top bits.
const PROBE_MULTIPLIER: u32 = 0x9E37_79B9;
/// A probe takes the top `32 - PROBE_SHIFT` = 9 bits of its state: a bit index in `0..512`.
const PROBE_SHIFT: u32 = 32 - BLOCK_BITS.trailing_zeros();

/// Whether a filter's blocks carry CRCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Header and blocks only: something else checks the bytes (segment formats 1 to 3: one
    /// CRC over every filter of the segment).
    Plain,
    /// Header, blocks, then one CRC32 per block over the header and that block, checked by
    /// each look-up.
    Checked,
}

/// The decoded, validated header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    /// Number of blocks, at least one.
    pub(super) num_blocks: u32,
    /// Bits set per key, `1..=MAX_PROBES`.
    pub(super) num_probes: u8,
}

impl Header {
    /// The header's [`HEADER_LEN`] bytes.
    pub(super) fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        out[NUM_BLOCKS_OFFSET..NUM_PROBES_OFFSET].copy_from_slice(&self.num_blocks.to_le_bytes());
        out[NUM_PROBES_OFFSET] = self.num_probes;
        out
    }

    /// Appends the header's [`HEADER_LEN`] bytes to `out`.
    pub(super) fn encode(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }

    /// Reads and validates the header at the start of `bytes`; the blocks are not looked at.
    pub(super) fn decode(bytes: &[u8]) -> Result<Self, BloomError> {
        let header: &[u8; HEADER_LEN] = bytes.first_chunk().ok_or(BloomError::Truncated {
            needed: HEADER_LEN,
            available: bytes.len(),
        })?;
        let num_blocks = u32::from_le_bytes([
            header[NUM_BLOCKS_OFFSET],
            header[NUM_BLOCKS_OFFSET + 1],
            header[NUM_BLOCKS_OFFSET + 2],
            header[NUM_BLOCKS_OFFSET + 3],
        ]);
        let num_probes = header[NUM_PROBES_OFFSET];
        let reserved = &header[RESERVED_OFFSET..RESERVED_OFFSET + RESERVED_LEN];
        if num_blocks == 0 {
            return Err(BloomError::InvalidHeader("zero blocks".to_owned()));
        }
        if num_probes == 0 || num_probes > MAX_PROBES {
            return Err(BloomError::InvalidHeader(format!(
                "{num_probes} probes per key, expected 1..={MAX_PROBES}"
            )));
        }
        if reserved.iter().any(|&b| b != 0) {
            return Err(BloomError::InvalidHeader(format!(
                "reserved bytes {reserved:02x?} are not zero"
            )));
        }
        Ok(Self {
            num_blocks,
            num_probes,
        })
    }

    /// Total serialized length in `layout`, header included, or `None` if it overflows
    /// `usize`.
    pub(super) fn serialized_len(self, layout: Layout) -> Option<usize> {
        let per_block = match layout {
            Layout::Plain => BLOCK_LEN,
            Layout::Checked => BLOCK_LEN + BLOCK_CRC_LEN,
        };
        usize::try_from(self.num_blocks)
            .ok()?
            .checked_mul(per_block)?
            .checked_add(HEADER_LEN)
    }
}

/// A checked filter's CRC of `block`: CRC32 of the header's bytes, then the block's. The
/// header is included so that a damaged probe count fails the check of every block.
#[inline]
pub(super) fn block_crc(header: Header, block: &[u8; BLOCK_LEN]) -> u32 {
    let mut bytes = [0u8; HEADER_LEN + BLOCK_LEN];
    bytes[..HEADER_LEN].copy_from_slice(&header.to_bytes());
    bytes[HEADER_LEN..].copy_from_slice(block);
    crc32fast::hash(&bytes)
}

/// The block a hash lives in: the upper 32 bits of the hash scaled onto `0..num_blocks`
/// (Lemire's fast range reduction, a multiply and a shift instead of a modulo).
#[inline]
pub(super) fn block_index(hash: u64, num_blocks: u32) -> usize {
    let index = ((hash >> 32) * u64::from(num_blocks)) >> 32;
    // Below `num_blocks`, a `u32`, so the cast is lossless on every platform with a u32 usize.
    index as usize
}

/// The `num_probes` bits a hash sets inside its block, as `(byte index, bit mask)` pairs.
///
/// The state starts as the lower 32 bits of the hash (independent of the upper bits that chose
/// the block); each probe takes the top 9 bits of the state as the bit index `p` in `0..512`,
/// then multiplies the state by [`PROBE_MULTIPLIER`]. Bit `p` is bit `p % 8` of byte `p / 8`.
#[inline]
pub(super) fn probes(hash: u64, num_probes: u8) -> impl Iterator<Item = (usize, u8)> {
    // Truncation is the point: the probes use the low half of the hash.
    let mut state = hash as u32;
    (0..num_probes).map(move |_| {
        let bit = state >> PROBE_SHIFT;
        state = state.wrapping_mul(PROBE_MULTIPLIER);
        ((bit >> 3) as usize, 1u8 << (bit & 7))
    })
}
