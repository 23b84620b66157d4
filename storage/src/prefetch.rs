//! Software prefetch: reads known ahead start early, so that their cache misses overlap.
//!
//! A scan reads a column block in two passes: its CRC over the framed bytes, then the decoding.
//! The first pass over a block not in L1/L2 waits on memory (DRAM, or a far L3) at every
//! line, while during the decoding of the block before the memory bus sat idle. [`Prefetch`]
//! spreads the loads of the next block over the decoding of this one (a few cache lines per
//! chunk of rows), so that its CRC pass finds the bytes in cache: the same bytes are still
//! checked before use, only fetched earlier. A prefetch is a hint: it never faults and has
//! no other effect.
//!
//! [`prefetch_line`] alone serves look-ups known in a batch (the blooms of a one-user query,
//! `crate::snapshot`): prefetch every line first, then read them.

/// Cache lines of the next block's bytes, issued a few at a time.
#[derive(Debug)]
pub(crate) struct Prefetch<'a> {
    /// The byte ranges still to prefetch, in order.
    ranges: Vec<&'a [u8]>,
    /// The next range of `ranges`.
    range: usize,
    /// Offset of the next line in that range.
    offset: usize,
    /// Lines per [`Self::step`].
    per_step: usize,
}

/// A cache line.
const LINE: usize = 64;

impl<'a> Prefetch<'a> {
    /// Prefetches `ranges`, in order, over `steps` calls of [`Self::step`].
    pub(crate) fn new(ranges: Vec<&'a [u8]>, steps: usize) -> Prefetch<'a> {
        let lines: usize = ranges.iter().map(|r| r.len().div_ceil(LINE)).sum();
        Prefetch {
            ranges,
            range: 0,
            offset: 0,
            per_step: lines.div_ceil(steps.max(1)),
        }
    }

    /// Issues the prefetch of the next few cache lines.
    #[inline]
    pub(crate) fn step(&mut self) {
        for _ in 0..self.per_step {
            match self.next_line() {
                Some(line) => prefetch_line(line),
                None => return,
            }
        }
    }

    /// The bytes from the next line to prefetch on, `None` once every range is done.
    fn next_line(&mut self) -> Option<&'a [u8]> {
        loop {
            let bytes = *self.ranges.get(self.range)?;
            let line = bytes.get(self.offset..).filter(|rest| !rest.is_empty());
            self.offset += LINE;
            if self.offset >= bytes.len() {
                self.range += 1;
                self.offset = 0;
            }
            if line.is_some() {
                return line;
            }
        }
    }
}

/// Asks the CPU to load the cache line holding `bytes[0]` into cache, without waiting.
#[inline(always)]
pub(crate) fn prefetch_line(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: prefetch is a hint with no architectural effect; it never faults, and the
        // pointer is in bounds of a live slice anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(bytes.as_ptr().cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_every_range_is_visited_once_in_order() {
        let bytes: Vec<u8> = (0..=255).cycle().take(1000).collect();
        let ranges = vec![
            &bytes[0..130],
            &bytes[130..130],
            &bytes[200..264],
            &bytes[300..301],
        ];
        let mut p = Prefetch::new(ranges, 3);
        // 3 + 0 + 1 + 1 lines over 3 steps: 2 a step.
        assert_eq!(p.per_step, 2);
        let starts: Vec<*const u8> = std::iter::from_fn(|| p.next_line())
            .map(<[u8]>::as_ptr)
            .collect();
        let expected: Vec<*const u8> = [0, 64, 128, 200, 300]
            .iter()
            .map(|&i| bytes[i..].as_ptr())
            .collect();
        assert_eq!(starts, expected);
        assert!(p.next_line().is_none());
        p.step();
    }

    #[test]
    fn no_ranges_or_no_steps_prefetch_nothing() {
        let mut p = Prefetch::new(Vec::new(), 0);
        assert_eq!(p.per_step, 0);
        p.step();
        assert!(p.next_line().is_none());
        let bytes = [0u8; 10];
        let mut p = Prefetch::new(vec![&bytes[..]], 0);
        assert_eq!(p.per_step, 1);
        assert!(p.next_line().is_some());
        assert!(p.next_line().is_none());
    }
}
