//! `adstore gen` → ingest → the store holds exactly what `truth.json` says (counts per type,
//! money, distinct users, days, rejects by reason, duplicates dropped); ingesting the same
//! folder again adds nothing, to the store or to the dead letters.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_sign_loss,
    reason = "test code: a failure is a test failure"
)]

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use adstore_ingest::deadletter::{DeadLetterWriter, read_all};
use adstore_ingest::generator::{GenOptions, Truth, generate};
use adstore_ingest::pipeline::{
    IngestOptions, IngestReport, Progress, collect_inputs, ingest_files,
};
use adstore_storage::segment::ColumnData;
use adstore_storage::{ColumnId, EventType, ReadContext, ScanFilter, Store, StoreOptions};

fn ingest(data: &std::path::Path, files: &[PathBuf]) -> IngestReport {
    let store = Store::open(data, StoreOptions::default()).unwrap();
    let mut dead = DeadLetterWriter::open(data).unwrap();
    let options = IngestOptions {
        chunk_rows: 5_000,
        ..IngestOptions::default()
    };
    let report = ingest_files(&store, &mut dead, files, &options, &Progress::default()).unwrap();
    drop(dead);
    store.close().unwrap();
    report
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Scanned {
    by_type: BTreeMap<String, u64>,
    per_day: BTreeMap<String, u64>,
    money: [i64; 5],
    won: u64,
    users: u64,
    ts_sum: u64,
    ids: u64,
}

fn scan(data: &std::path::Path) -> Scanned {
    let store = Store::open_read_only(data).unwrap();
    let snap = store.snapshot();
    let mut ctx = ReadContext::new().unwrap();
    let cols = [
        ColumnId::EventId,
        ColumnId::EventType,
        ColumnId::Ts,
        ColumnId::UserId,
        ColumnId::CostMicros,
        ColumnId::RevenueMicros,
        ColumnId::BidFloorMicros,
        ColumnId::BidPriceMicros,
        ColumnId::ClearingPriceMicros,
        ColumnId::Won,
    ];
    let mut s = Scanned::default();
    let mut users = HashSet::new();
    let mut ids = HashSet::new();
    for unit in snap.plan(&ScanFilter::all(), &mut ctx).unwrap() {
        let data = unit.read(&cols, &mut ctx).unwrap();
        let strings = |c: &ColumnData| -> Vec<String> {
            match c {
                ColumnData::Strings(s) => s.iter().map(str::to_owned).collect(),
                ColumnData::Dict { dictionary, codes } => codes
                    .iter()
                    .map(|&c| dictionary.get(c as usize).to_owned())
                    .collect(),
                other => panic!("{other:?}"),
            }
        };
        let ints = |c: &ColumnData| -> Vec<i64> {
            match c {
                ColumnData::I64(v) => v.clone(),
                other => panic!("{other:?}"),
            }
        };
        let (ColumnData::EventType(types), ColumnData::Bool(won)) = (&data[1], &data[9]) else {
            panic!()
        };
        let ts = ints(&data[2]);
        for id in strings(&data[0]) {
            assert!(ids.insert(id), "an event stored twice");
        }
        for u in strings(&data[3]) {
            if !u.is_empty() {
                users.insert(u);
            }
        }
        for (i, t) in types.iter().enumerate() {
            *s.by_type.entry(t.as_str().to_owned()).or_default() += 1;
            let day = adstore_storage::schema::format_day(adstore_storage::schema::day_of(ts[i]));
            *s.per_day.entry(day).or_default() += 1;
            s.ts_sum = s.ts_sum.wrapping_add(ts[i] as u64);
            s.won += u64::from(won[i]);
            assert!(*t != EventType::BidRequest || ints(&data[6]).len() == types.len());
        }
        for k in 0..5 {
            s.money[k] += ints(&data[4 + k]).iter().sum::<i64>();
        }
    }
    s.users = users.len() as u64;
    s.ids = ids.len() as u64;
    s
}

#[test]
fn generated_traffic_ingests_to_exactly_the_truth_and_twice_adds_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("traffic");
    let data = tmp.path().join("data");
    let truth = generate(
        &out,
        &GenOptions {
            impressions: 30_000,
            seed: 7,
            ..GenOptions::default()
        },
    )
    .unwrap();
    // truth.json is what generate returned, and the generator is deterministic.
    let written: Truth =
        serde_json::from_slice(&std::fs::read(out.join("truth.json")).unwrap()).unwrap();
    assert_eq!(written, truth);
    let again = generate(
        &tmp.path().join("again"),
        &GenOptions {
            impressions: 30_000,
            seed: 7,
            ..GenOptions::default()
        },
    )
    .unwrap();
    assert_eq!(again, truth);
    for f in &truth.files {
        let same = std::fs::read(out.join(f)).unwrap()
            == std::fs::read(tmp.path().join("again").join(f)).unwrap();
        assert!(same, "{f} differs between two runs with the same seed");
    }
    // Every reject reason appears, and the mix looks like the issue asks.
    assert_eq!(
        truth.rejected.len(),
        adstore_ingest::RejectReason::ALL.len()
    );
    let imps = truth.accepted_by_type["impression"];
    assert_eq!(imps, 30_000);
    let clicks = truth.accepted_by_type["click"] as f64 / imps as f64;
    assert!((0.008..0.025).contains(&clicks), "CTR {clicks}");
    let bids = truth.accepted_by_type["bid_request"] as f64 / imps as f64;
    assert!(
        (0.08..0.12).contains(&bids),
        "bid requests per impression {bids}"
    );
    assert!(truth.duplicates > 0 && truth.accepted_per_day.len() >= 7);

    let files = collect_inputs(std::slice::from_ref(&out), None).unwrap();
    assert_eq!(files.len(), truth.files.len(), "truth.json is not an input");
    let first = ingest(&data, &files);
    assert!(
        first.all_files_ok(),
        "{:?}",
        first.failures().collect::<Vec<_>>()
    );
    assert_eq!(first.rows_read, truth.rows_written);
    assert_eq!(first.accepted, truth.accepted_total);
    assert_eq!(first.duplicates, truth.duplicates);
    assert_eq!(first.late_unchecked, 0);
    let rejected: BTreeMap<String, u64> = first
        .rejected
        .iter()
        .map(|(r, n)| (r.as_str().to_owned(), *n))
        .collect();
    assert_eq!(rejected, truth.rejected);
    assert_eq!(first.unknown_fields, truth.unknown_fields);
    assert_eq!(first.dead_letters_written, truth.rejected_total);

    let expected = Scanned {
        by_type: truth.accepted_by_type.clone(),
        per_day: truth.accepted_per_day.clone(),
        money: [
            truth.money.cost_micros,
            truth.money.revenue_micros,
            truth.money.bid_floor_micros,
            truth.money.bid_price_micros,
            truth.money.clearing_price_micros,
        ],
        won: truth.won,
        users: truth.distinct_users,
        ts_sum: truth.ts_sum_wrapping,
        ids: truth.accepted_total,
    };
    assert_eq!(scan(&data), expected);

    let second = ingest(&data, &files);
    assert!(second.all_files_ok());
    assert_eq!(second.accepted, 0);
    assert_eq!(second.duplicates, truth.accepted_total + truth.duplicates);
    assert_eq!(second.rejected_total(), truth.rejected_total);
    assert_eq!(
        (second.dead_letters_written, second.dead_letters_known),
        (0, truth.rejected_total)
    );
    assert_eq!(scan(&data), expected);
    assert_eq!(read_all(&data).unwrap().len() as u64, truth.rejected_total);
}
