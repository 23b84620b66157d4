//! [`Truth`]: what an ingest of the generated files must find, counted by the generator from
//! the values it chose (never by decoding what it wrote), written as `truth.json`.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

/// Sums of the money columns over accepted rows, in micros.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyTotals {
    /// Sum of cost_micros (impressions and won bid requests).
    pub cost_micros: i64,
    /// Sum of revenue_micros (conversions).
    pub revenue_micros: i64,
    /// Sum of bid_floor_micros (bid requests, CPM).
    pub bid_floor_micros: i64,
    /// Sum of bid_price_micros (bid requests, CPM).
    pub bid_price_micros: i64,
    /// Sum of clearing_price_micros (bid requests, CPM).
    pub clearing_price_micros: i64,
}

/// The expected outcome of ingesting a generated folder into an empty store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    /// The generator's seed.
    pub seed: u64,
    /// Impressions asked for (valid, distinct ones generated).
    pub impressions: u64,
    /// The files written, relative to the output folder.
    pub files: Vec<String>,
    /// Rows written in all files: distinct events, resent duplicates and malformed rows.
    pub rows_written: u64,
    /// Distinct valid events per event type (`impression`, `click`, `conversion`, `bid_request`).
    pub accepted_by_type: BTreeMap<String, u64>,
    /// Distinct valid events, all types.
    pub accepted_total: u64,
    /// Resent copies of valid events (the ingest drops them as duplicates).
    pub duplicates: u64,
    /// Malformed rows per reject reason name.
    pub rejected: BTreeMap<String, u64>,
    /// Malformed rows, all reasons.
    pub rejected_total: u64,
    /// Unknown JSON fields in rows that parse (resent rows included).
    pub unknown_fields: u64,
    /// Money sums over accepted events.
    pub money: MoneyTotals,
    /// Won auctions.
    pub won: u64,
    /// Distinct non-empty user ids over accepted events.
    pub distinct_users: u64,
    /// Accepted events per UTC day (`YYYY-MM-DD`).
    pub accepted_per_day: BTreeMap<String, u64>,
    /// Sum of accepted events' ts (µs), wrapping at 2^64.
    pub ts_sum_wrapping: u64,
}

/// Accumulates a [`Truth`] as rows are generated.
#[derive(Debug, Default)]
pub(crate) struct TruthBuilder {
    pub(crate) truth: Truth,
    users: HashSet<u64>,
}

/// One accepted event's figures.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Accepted {
    pub(crate) event_type: &'static str,
    pub(crate) ts: i64,
    pub(crate) user: Option<u64>,
    pub(crate) cost: i64,
    pub(crate) revenue: i64,
    pub(crate) bid_floor: i64,
    pub(crate) bid_price: i64,
    pub(crate) clearing: i64,
    pub(crate) won: bool,
}

impl TruthBuilder {
    pub(crate) fn accepted(&mut self, a: &Accepted) {
        let t = &mut self.truth;
        t.rows_written += 1;
        *t.accepted_by_type
            .entry(a.event_type.to_owned())
            .or_default() += 1;
        t.accepted_total += 1;
        t.money.cost_micros += a.cost;
        t.money.revenue_micros += a.revenue;
        t.money.bid_floor_micros += a.bid_floor;
        t.money.bid_price_micros += a.bid_price;
        t.money.clearing_price_micros += a.clearing;
        t.won += u64::from(a.won);
        let day = adstore_storage::schema::format_day(adstore_storage::schema::day_of(a.ts));
        *t.accepted_per_day.entry(day).or_default() += 1;
        #[expect(clippy::cast_sign_loss, reason = "a wrapping checksum of the bits")]
        {
            t.ts_sum_wrapping = t.ts_sum_wrapping.wrapping_add(a.ts as u64);
        }
        if let Some(u) = a.user {
            self.users.insert(u);
        }
    }

    pub(crate) fn duplicate(&mut self) {
        self.truth.rows_written += 1;
        self.truth.duplicates += 1;
    }

    pub(crate) fn rejected(&mut self, reason: crate::RejectReason) {
        self.truth.rows_written += 1;
        *self
            .truth
            .rejected
            .entry(reason.as_str().to_owned())
            .or_default() += 1;
        self.truth.rejected_total += 1;
    }

    pub(crate) fn finish(mut self) -> Truth {
        self.truth.distinct_users = self.users.len() as u64;
        self.truth
    }
}
