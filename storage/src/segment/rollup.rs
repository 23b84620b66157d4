//! Site rollups: for a long run of row blocks holding one event type of one campaign, its rows
//! and money sums per `site`, stored beside the blocks (`docs/FORMAT.md`, "Site rollups").
//!
//! "Top sites of a campaign" is the dashboard question whose cost grows with the campaign: the
//! largest campaign at 50M generated impressions has 7.2M impressions, and reading their site
//! codes and costs is ~14 ms of CPU however tight the loop. A rollup answers it from one entry
//! per (run, site) instead: 5,001 entries for a day's ~1M impressions of that campaign. Like
//! Pinot's star-tree index (which splits a node only past `maxLeafRecords` records), a rollup is
//! written only where it pays: a run of at least [`MIN_ROWS`] rows in whole blocks, with at
//! least [`MIN_ROWS_PER_SITE`] rows per distinct site. Small campaigns, cheap to scan anyway,
//! get none, so the rollups of a 50M-event store take ~0.2 % of its bytes.
//!
//! A rollup covers whole row blocks only (`first_block..end_block`, each holding nothing but
//! that event type and campaign, by its statistics), so a query adds a rollup in place of
//! exactly those blocks. The writer builds them ([`build`]); the reader decodes one
//! ([`SiteRollup::decode`]) from a CRC-checked block and checks it against the footer; `adstore
//! inspect` recomputes each from the row blocks.

use crate::codec::CodecError;
use crate::codec::ints;
use crate::schema::ColumnId;

/// The columns a rollup sums per site, in this order: the i64 columns but `ts`.
pub const SUM_COLUMNS: [ColumnId; 5] = [
    ColumnId::CostMicros,
    ColumnId::RevenueMicros,
    ColumnId::BidFloorMicros,
    ColumnId::BidPriceMicros,
    ColumnId::ClearingPriceMicros,
];

/// Fewest row blocks a run needs for a rollup (32,768 rows at the default block size).
pub const MIN_BLOCKS: u32 = 4;

/// Fewest rows per distinct site a run needs for a rollup: at 16, a rollup entry (~6 bytes
/// after zstd) stands for at least 16 rows (~15 bytes each in the row blocks).
pub const MIN_ROWS_PER_SITE: u64 = 16;

/// Where a rollup is and what it covers, from the footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollupMeta {
    /// First row block covered.
    pub first_block: u32,
    /// One past the last row block covered.
    pub end_block: u32,
    /// Entries (distinct sites) in it.
    pub sites: u32,
    /// File offset of its framed block.
    pub offset: u64,
    /// Framed length.
    pub len: u32,
}

impl RollupMeta {
    /// Whether row block `b` is one of those it covers.
    pub fn covers(&self, b: u32) -> bool {
        (self.first_block..self.end_block).contains(&b)
    }
}

/// A decoded rollup: per site code (ascending), the rows and the wrapping sum of each of
/// [`SUM_COLUMNS`] over them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteRollup {
    /// Site codes of the segment's dictionary, strictly ascending.
    pub codes: Vec<u32>,
    /// Rows per code, each at least 1.
    pub rows: Vec<i64>,
    /// Per column of [`SUM_COLUMNS`], the wrapping sum per code.
    pub sums: [Vec<i64>; SUM_COLUMNS.len()],
}

impl SiteRollup {
    /// The position of `col` in [`SUM_COLUMNS`], `None` for a column not summed.
    pub fn sum_index(col: ColumnId) -> Option<usize> {
        SUM_COLUMNS.iter().position(|&c| c == col)
    }

    /// Total rows.
    pub fn total_rows(&self) -> u64 {
        self.rows.iter().map(|&r| r.cast_unsigned()).sum()
    }

    /// Appends the payload: codes, then rows, then each sum column, each an integer block of
    /// `codes.len()` values (`docs/FORMAT.md`, "Integer blocks").
    pub fn encode(&self, out: &mut Vec<u8>) {
        ints::encode_u32(&self.codes, out);
        ints::encode_i64(&self.rows, out);
        for sums in &self.sums {
            ints::encode_i64(sums, out);
        }
    }

    /// Decodes a payload of `sites` entries whose codes must be below `dict_len`, consuming it
    /// exactly; codes must ascend strictly and every row count be at least 1.
    ///
    /// # Errors
    /// Those of the integer blocks; [`CodecError::ValueOutOfRange`] for a code at or past
    /// `dict_len`, codes out of order or a row count below 1, [`CodecError::LengthMismatch`]
    /// for bytes left over.
    pub fn decode(bytes: &[u8], sites: usize, dict_len: usize) -> Result<SiteRollup, CodecError> {
        let mut r = SiteRollup::default();
        let limit = u64::try_from(dict_len).unwrap_or(u64::MAX);
        let mut at = ints::decode_u32_below(bytes, sites, limit, &mut r.codes)?;
        if let Some(w) = r.codes.windows(2).find(|w| w[0] >= w[1]) {
            return Err(CodecError::ValueOutOfRange(i64::from(w[1])));
        }
        at += ints::decode_i64(bytes.get(at..).unwrap_or_default(), sites, &mut r.rows)?;
        if let Some(&bad) = r.rows.iter().find(|&&n| n < 1) {
            return Err(CodecError::ValueOutOfRange(bad));
        }
        for sums in &mut r.sums {
            at += ints::decode_i64(bytes.get(at..).unwrap_or_default(), sites, sums)?;
        }
        if at != bytes.len() {
            return Err(CodecError::LengthMismatch {
                expected: bytes.len(),
                got: at,
            });
        }
        Ok(r)
    }
}

/// The runs of row blocks a rollup may cover: maximal runs of consecutive blocks each holding
/// one event type and one campaign (min = max in both), the same in all; `event_type` and
/// `campaign` give each block's (min, max).
pub fn runs(
    event_type: impl Iterator<Item = (i64, i64)>,
    campaign: impl Iterator<Item = (i64, i64)>,
) -> Vec<std::ops::Range<u32>> {
    let mut out: Vec<std::ops::Range<u32>> = Vec::new();
    let mut current: Option<(i64, i64)> = None;
    for (b, (t, c)) in (0u32..).zip(event_type.zip(campaign)) {
        let pure = (t.0 == t.1 && c.0 == c.1).then_some((t.0, c.0));
        match (pure, out.last_mut()) {
            (Some(key), Some(run)) if current == Some(key) && run.end == b => run.end = b + 1,
            (Some(key), _) => {
                out.push(b..b + 1);
                current = Some(key);
            }
            (None, _) => current = None,
        }
    }
    out
}

/// Per-site totals of one run, accumulated row by row by the writer (or by `adstore inspect`
/// from the decoded blocks), one dense slot per code of the site dictionary.
#[derive(Debug)]
pub struct Builder {
    rows: Vec<i64>,
    sums: Vec<[i64; SUM_COLUMNS.len()]>,
}

impl Builder {
    /// Totals for a site dictionary of `dict_len` codes, all zero.
    pub fn new(dict_len: usize) -> Builder {
        Builder {
            rows: vec![0; dict_len],
            sums: vec![[0; SUM_COLUMNS.len()]; dict_len],
        }
    }

    /// Adds a row of site `code` with the values of [`SUM_COLUMNS`]; a code past the
    /// dictionary is ignored (the caller's codes come from that dictionary).
    pub fn add(&mut self, code: u32, values: [i64; SUM_COLUMNS.len()]) {
        let c = code as usize;
        if let (Some(n), Some(s)) = (self.rows.get_mut(c), self.sums.get_mut(c)) {
            *n += 1;
            for (s, v) in s.iter_mut().zip(values) {
                *s = s.wrapping_add(v);
            }
        }
    }

    /// The rollup of what was added, resetting the totals to zero.
    pub fn take(&mut self) -> SiteRollup {
        let mut r = SiteRollup::default();
        for (code, (n, s)) in (0u32..).zip(self.rows.iter_mut().zip(&mut self.sums)) {
            if *n > 0 {
                r.codes.push(code);
                r.rows.push(*n);
                for (col, v) in r.sums.iter_mut().zip(s.iter()) {
                    col.push(*v);
                }
                *n = 0;
                *s = [0; SUM_COLUMNS.len()];
            }
        }
        r
    }
}

/// Whether a run of `blocks` row blocks holding `rows` rows of `sites` distinct sites gets a
/// rollup.
pub fn pays(blocks: u32, rows: u64, sites: usize) -> bool {
    blocks >= MIN_BLOCKS && rows >= MIN_ROWS_PER_SITE.saturating_mul(sites as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_the_maximal_stretches_of_pure_blocks_of_one_key() {
        // Blocks: (t0,c1) (t0,c1) mixed (t0,c2) (t0,c2) (t1,c2) (t0,c2)
        let t = [(0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (1, 1), (0, 0)];
        let c = [(1, 1), (1, 1), (1, 2), (2, 2), (2, 2), (2, 2), (2, 2)];
        assert_eq!(
            runs(t.into_iter(), c.into_iter()),
            vec![0..2, 3..5, 5..6, 6..7]
        );
        assert!(runs(std::iter::empty(), std::iter::empty()).is_empty());
    }

    #[test]
    fn a_rollup_round_trips_and_bad_payloads_are_refused() {
        let mut b = Builder::new(10);
        for (code, cost) in [(7, 5), (2, 1), (7, -3), (0, i64::MAX), (0, 1)] {
            b.add(code, [cost, 0, 1, 2, 3]);
        }
        b.add(99, [1; 5]); // outside the dictionary: ignored
        let r = b.take();
        assert_eq!(r.codes, vec![0, 2, 7]);
        assert_eq!(r.rows, vec![2, 1, 2]);
        assert_eq!(r.sums[0], vec![i64::MIN, 1, 2]);
        assert_eq!(r.sums[4], vec![6, 3, 6]);
        assert_eq!(r.total_rows(), 5);
        assert_eq!(b.take(), SiteRollup::default());
        let mut bytes = Vec::new();
        r.encode(&mut bytes);
        assert_eq!(SiteRollup::decode(&bytes, 3, 10).unwrap(), r);
        assert!(SiteRollup::decode(&bytes, 3, 7).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            SiteRollup::decode(&longer, 3, 10),
            Err(CodecError::LengthMismatch { .. })
        ));
        assert!(SiteRollup::decode(&bytes[..bytes.len() - 1], 3, 10).is_err());
        let mut unordered = r.clone();
        unordered.codes = vec![0, 7, 2];
        let mut bytes = Vec::new();
        unordered.encode(&mut bytes);
        assert!(SiteRollup::decode(&bytes, 3, 10).is_err());
        let mut empty_row = r;
        empty_row.rows[1] = 0;
        let mut bytes = Vec::new();
        empty_row.encode(&mut bytes);
        assert!(SiteRollup::decode(&bytes, 3, 10).is_err());
    }

    #[test]
    fn a_rollup_pays_for_long_runs_of_few_sites() {
        assert!(pays(MIN_BLOCKS, 32_768, 2_048));
        assert!(!pays(MIN_BLOCKS, 32_768, 2_049));
        assert!(!pays(MIN_BLOCKS - 1, 32_768, 1));
    }
}
