//! Helpers shared by the end-to-end tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]
#![allow(dead_code)]

use std::collections::BTreeMap;

use adstore_storage::{
    ColumnData, ColumnId, EventBatch, EventRef, EventType, ReadContext, ScanFilter, Snapshot, Store,
};

/// 2025-11-22T00:00:00Z in µs.
pub const DAY0: i64 = 20_414 * 86_400 * 1_000_000;

/// Every event id in the snapshot with how many times it is stored.
pub fn id_counts(snapshot: &Snapshot) -> BTreeMap<String, usize> {
    let mut ctx = ReadContext::new().unwrap();
    let mut counts = BTreeMap::new();
    for unit in snapshot.plan(&ScanFilter::all(), &mut ctx).unwrap() {
        let cols = unit.read(&[ColumnId::EventId], &mut ctx).unwrap();
        for i in 0..cols[0].len() {
            *counts
                .entry(cols[0].str_at(i).unwrap().to_owned())
                .or_insert(0) += 1;
        }
    }
    counts
}

/// Every stored row as (event_id, ts, campaign_id, cost), sorted.
pub fn rows(store: &Store) -> Vec<(String, i64, String, i64)> {
    let snapshot = store.snapshot();
    let mut ctx = ReadContext::new().unwrap();
    let mut out = Vec::new();
    let cols = [
        ColumnId::EventId,
        ColumnId::Ts,
        ColumnId::CampaignId,
        ColumnId::CostMicros,
    ];
    for unit in snapshot.plan(&ScanFilter::all(), &mut ctx).unwrap() {
        let c = unit.read(&cols, &mut ctx).unwrap();
        let (ColumnData::I64(ts), ColumnData::I64(cost)) = (&c[1], &c[3]) else {
            panic!("types")
        };
        for i in 0..c[0].len() {
            out.push((
                c[0].str_at(i).unwrap().to_owned(),
                ts[i],
                c[2].str_at(i).unwrap().to_owned(),
                cost[i],
            ));
        }
    }
    out.sort();
    out
}

/// A batch of impressions with the given ids, all at `ts`, in campaign `cmp-<id len % 5>`.
pub fn impressions(ids: &[String], ts: i64) -> EventBatch {
    let campaigns: Vec<String> = ids
        .iter()
        .map(|id| format!("cmp-{}", id.len() % 5))
        .collect();
    EventBatch::from_events(ids.iter().zip(&campaigns).map(|(id, c)| {
        let mut e = EventRef::new(id, EventType::Impression, ts, c);
        e.user_id = "u-1";
        e.cost_micros = 1000;
        e
    }))
}

/// `n` ids `<prefix>-<i>`.
pub fn ids(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i}")).collect()
}
