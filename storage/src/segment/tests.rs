//! Segment round trips and pruning, by property: write → read returns exactly the batch, sorted;
//! block min/max and bloom pruning never skip a block holding a matching row.

use std::sync::Arc;

use proptest::prelude::*;

use super::writer::encode_segment;
use super::{ColumnData, ReadContext, SegmentId, SegmentOptions, SegmentReader};
use crate::batch::{Event, EventBatch, EventRef};
use crate::partition::PartitionKey;
use crate::schema::{ColumnId, EventType};
use crate::snapshot::{ScanFilter, Snapshot};

fn arb_event() -> impl Strategy<Value = Event> {
    (
        "[a-f0-9]{1,10}",
        0u8..4,
        0i64..10_000,
        "cmp-[0-9]{1,2}",
        "u-[0-9]{1,3}",
        prop::sample::select(vec!["", "US", "DE", "FR", "JP"]),
        any::<i64>(),
        0i64..10_000,
        any::<bool>(),
        "[a-zé]{0,4}",
    )
        .prop_map(|(id, t, ts, cmp, user, country, cost, rev, won, site)| {
            let mut e = EventRef::new(
                &id,
                EventType::from_code(t).unwrap_or(EventType::Click),
                ts,
                &cmp,
            );
            e.user_id = &user;
            e.country = country;
            e.site = &site;
            e.cost_micros = cost;
            e.revenue_micros = rev;
            e.won = won;
            e.to_owned_event()
        })
}

fn write(events: &[Event], block_rows: u32) -> (tempfile::TempDir, Arc<SegmentReader>) {
    let dir = tempfile::tempdir().unwrap();
    let batch = EventBatch::from_events(events.iter().map(Event::as_ref));
    let options = SegmentOptions {
        block_rows,
        ..SegmentOptions::default()
    };
    let bytes = encode_segment(PartitionKey { day: 0, bucket: 0 }, &batch, &options).unwrap();
    let path = dir.path().join(SegmentId(1).file_name());
    std::fs::write(&path, bytes).unwrap();
    let reader = Arc::new(SegmentReader::open(&path, SegmentId(1)).unwrap());
    (dir, reader)
}

/// Every row of the segment, decoded column by column, as owned events.
fn read_all(reader: &SegmentReader) -> Vec<Event> {
    let mut ctx = ReadContext::new().unwrap();
    let mut out = Vec::new();
    for b in 0..reader.block_count() {
        let cols: Vec<ColumnData> = ColumnId::ALL
            .iter()
            .map(|&c| reader.read_block(c, b, &mut ctx).unwrap())
            .collect();
        for r in 0..cols[0].len() {
            let s = |c: ColumnId| cols[c.index()].str_at(r).unwrap().to_owned();
            let i = |c: ColumnId| match &cols[c.index()] {
                ColumnData::I64(v) => v[r],
                other => panic!("{c} decoded as {other:?}"),
            };
            let (ColumnData::EventType(t), ColumnData::Bool(w)) = (&cols[1], &cols[17]) else {
                panic!("types")
            };
            out.push(Event {
                event_id: s(ColumnId::EventId),
                event_type: t[r],
                ts: i(ColumnId::Ts),
                campaign_id: s(ColumnId::CampaignId),
                creative_id: s(ColumnId::CreativeId),
                user_id: s(ColumnId::UserId),
                site: s(ColumnId::Site),
                country: s(ColumnId::Country),
                device: s(ColumnId::Device),
                os: s(ColumnId::Os),
                conversion_type: s(ColumnId::ConversionType),
                impression_id: s(ColumnId::ImpressionId),
                cost_micros: i(ColumnId::CostMicros),
                revenue_micros: i(ColumnId::RevenueMicros),
                bid_floor_micros: i(ColumnId::BidFloorMicros),
                bid_price_micros: i(ColumnId::BidPriceMicros),
                clearing_price_micros: i(ColumnId::ClearingPriceMicros),
                won: w[r],
            });
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn write_then_read_returns_the_batch_sorted(
        events in prop::collection::vec(arb_event(), 1..400),
        block_rows in 1u32..100,
    ) {
        let (_dir, reader) = write(&events, block_rows);
        let mut expected = events.clone();
        let key = |e: &Event| (e.event_type.code(), e.campaign_id.clone(), e.ts, e.event_id.clone());
        let got = read_all(&reader);
        // The segment order: (event_type, campaign_id, ts, event_id).
        prop_assert!(got.windows(2).all(|w| key(&w[0]) <= key(&w[1])));
        let mut got_sorted = got;
        got_sorted.sort();
        expected.sort();
        prop_assert_eq!(got_sorted, expected);
        let mut ctx = ReadContext::new().unwrap();
        for e in &events {
            prop_assert!(reader.contains_event_id(&e.event_id, crate::memtable::event_id_hash(&e.event_id), &mut ctx).unwrap());
        }
        prop_assert!(!reader.contains_event_id("zz-absent", crate::memtable::event_id_hash("zz-absent"), &mut ctx).unwrap());
        reader.verify(&mut ctx).unwrap();
    }

    #[test]
    fn pruning_never_skips_a_block_with_a_matching_row(
        events in prop::collection::vec(arb_event(), 1..300),
        block_rows in 1u32..50,
        probe in arb_event(),
        lo in -1_000i64..11_000,
        width in 0i64..3_000,
    ) {
        let (_dir, reader) = write(&events, block_rows);
        let snapshot = Snapshot::new(vec![Arc::clone(&reader)], Vec::new(), 1);
        let hi = lo + width;
        let mut ctx = ReadContext::new().unwrap();
        // Pick values that exist (from a real row) and values that may not (from `probe`).
        let real = &events[events.len() / 2];
        for (campaign, user, country) in [
            (&real.campaign_id, &real.user_id, &real.country),
            (&probe.campaign_id, &probe.user_id, &probe.country),
        ] {
            let filter = ScanFilter::all()
                .ts_between(lo, hi)
                .string_in(ColumnId::CampaignId, [campaign.clone()])
                .string_in(ColumnId::UserId, [user.clone()])
                .string_in(ColumnId::Country, [country.clone()])
                .int_between(ColumnId::RevenueMicros, 0, 5_000);
            let units = snapshot.plan(&filter, &mut ctx).unwrap();
            let kept: Vec<u32> = units.iter().map(|u| match u {
                crate::snapshot::ScanUnit::Block { block, .. } => *block,
                crate::snapshot::ScanUnit::Memtable { .. } => unreachable!(),
            }).collect();
            let rows = read_all(&reader);
            for (i, e) in rows.iter().enumerate() {
                let matches = e.ts >= lo && e.ts <= hi && &e.campaign_id == campaign && &e.user_id == user
                    && &e.country == country && (0..=5_000).contains(&e.revenue_micros);
                if matches {
                    let block = (i / block_rows as usize) as u32;
                    prop_assert!(kept.contains(&block), "block {} holds matching row {:?} but was pruned", block, e);
                }
            }
        }
    }
}

#[test]
fn a_one_campaign_filter_prunes_most_blocks() {
    let events: Vec<Event> = (0..4_000)
        .map(|i| {
            let id = format!("e{i}");
            let cmp = format!("cmp-{:02}", i % 40);
            let user = format!("u-{i}");
            let mut e = EventRef::new(&id, EventType::Impression, i, &cmp);
            e.user_id = &user;
            e.to_owned_event()
        })
        .collect();
    let (_dir, reader) = write(&events, 100);
    let snapshot = Snapshot::new(vec![reader], Vec::new(), 1);
    let mut ctx = ReadContext::new().unwrap();
    let one = snapshot
        .plan(
            &ScanFilter::all().string_in(ColumnId::CampaignId, ["cmp-07"]),
            &mut ctx,
        )
        .unwrap();
    assert!(
        one.len() <= 2,
        "one campaign of 40 spans at most 2 blocks of 100 rows, kept {}",
        one.len()
    );
    let user = snapshot
        .plan(
            &ScanFilter::all().string_in(ColumnId::UserId, ["u-1234"]),
            &mut ctx,
        )
        .unwrap();
    assert!(
        user.len() <= 3,
        "bloom pruning on user_id kept {} of 40 blocks",
        user.len()
    );
    let none = snapshot
        .plan(
            &ScanFilter::all().string_in(ColumnId::CampaignId, ["cmp-absent"]),
            &mut ctx,
        )
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn every_flipped_byte_of_a_segment_is_detected() {
    let events: Vec<Event> = (0..300)
        .map(|i| {
            let id = format!("id-{i:03}");
            let cmp = format!("cmp-{}", i % 3);
            let mut e = EventRef::new(&id, EventType::ALL[i % 4], i as i64, &cmp);
            e.user_id = "u-1";
            e.cost_micros = i as i64;
            e.to_owned_event()
        })
        .collect();
    let (dir, reader) = write(&events, 100);
    let path = reader.path().to_path_buf();
    drop(reader);
    let bytes = std::fs::read(&path).unwrap();
    let damaged = dir.path().join("damaged.seg");
    for at in 0..bytes.len() {
        let mut b = bytes.clone();
        b[at] ^= 0x04;
        std::fs::write(&damaged, &b).unwrap();
        let result = SegmentReader::open(&damaged, SegmentId(2))
            .and_then(|r| r.verify(&mut ReadContext::new().unwrap()).map(|_| ()));
        assert!(
            result.is_err(),
            "a flip at offset {at} of {} went unnoticed",
            bytes.len()
        );
    }
}

#[test]
fn event_ids_of_selected_rows_match_the_whole_block_with_and_without_the_key_cache() {
    // 3,000 ids: two sorted-key blocks of 1,024 and a shorter one; row blocks of 700.
    let events: Vec<Event> = (0..3000)
        .map(|i| {
            let id = format!(
                "{:08x}",
                (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32
            );
            EventRef::new(&id, EventType::Impression, i, "cmp-1").to_owned_event()
        })
        .collect();
    let (_dir, expected) = write(&events, 700);
    let (_dir2, reader) = write(&events, 700);
    assert!(reader.footer().key_blocks.len() > 2);
    let mut ctx = ReadContext::new().unwrap();
    let strings = |d: ColumnData| match d {
        ColumnData::Strings(s) => s,
        other => panic!("event_id decodes as plain strings, not {other:?}"),
    };
    // First sparse selections (fewer rows than key blocks: only the needed key blocks are
    // decoded), then dense ones, which decode and keep the whole key set.
    for dense in [false, true] {
        for b in 0..reader.block_count() {
            let full = strings(expected.read_block(ColumnId::EventId, b, &mut ctx).unwrap());
            let rows = full.len() as u32;
            let selections: Vec<Vec<u32>> = if dense {
                vec![
                    (0..rows).step_by(97).collect(),
                    (0..rows).collect(),
                    vec![0],
                ]
            } else {
                vec![vec![], vec![0], vec![rows - 1], vec![1, rows / 2]]
            };
            for sel in selections {
                let got = strings(reader.read_event_ids_of_rows(b, &sel, &mut ctx).unwrap());
                assert_eq!(got.len(), full.len());
                for r in 0..rows {
                    let want = if sel.contains(&r) {
                        full.get(r as usize)
                    } else {
                        ""
                    };
                    assert_eq!(got.get(r as usize), want, "dense {dense} block {b} row {r}");
                }
            }
        }
    }
}

#[test]
fn each_block_of_codes_takes_the_layout_that_stores_smaller() {
    // `site`: 4,000 values spread evenly, which bit-pack to 12 bits a row (against the 2 bytes
    // of the byte layout, which zstd barely shrinks). `country`: one value in 97 % of the rows,
    // in a pattern repeating every 64 rows, which zstd compresses from the byte layout to far
    // below the 2 bits a row of bit packing.
    let sites: Vec<String> = (0..4_000).map(|i| format!("s{i:04}.example")).collect();
    let events: Vec<Event> = (0..8_192u32)
        .map(|i| {
            let id = format!("e{i}");
            let mut e = EventRef::new(&id, EventType::Impression, i64::from(i), "cmp-1");
            e.site = &sites[(i.wrapping_mul(2_654_435_761) % 4_000) as usize];
            e.country = match i % 64 {
                7 => "DE",
                41 => "FR",
                _ => "US",
            };
            e.to_owned_event()
        })
        .collect();
    let (_dir, reader) = write(&events, 8_192);
    let mut ctx = ReadContext::new().unwrap();
    assert_eq!(reader.footer().format_version, 6);
    let sizes = reader.verify(&mut ctx).unwrap();
    let raw_of = |col| sizes.iter().find(|s| s.0 == col).map(|s| s.2).unwrap();
    // Tag byte + integer block: frame of reference at 12 bits.
    let site_raw = raw_of(ColumnId::Site);
    assert!(
        site_raw < 8_192 * 13 / 8,
        "site codes stored in the integer layout ({site_raw} raw bytes)"
    );
    // Tag byte + one byte a row.
    assert_eq!(
        raw_of(ColumnId::Country),
        8_193,
        "country in the byte layout"
    );
    assert_eq!(read_all(&reader).len(), 8_192);
    let ColumnData::Dict { dictionary, codes } =
        reader.read_block(ColumnId::Site, 0, &mut ctx).unwrap()
    else {
        panic!("site is a dictionary column");
    };
    let mut by_ts: Vec<&Event> = events.iter().collect();
    by_ts.sort_by_key(|e| e.ts);
    for (e, &c) in by_ts.iter().zip(&codes) {
        assert_eq!(dictionary.get(c as usize), e.site);
    }
}

/// Segment format 4: each bloom filter block has its own CRC. Damage to the filter blocks a
/// look-up reads fails that look-up (every time), damage elsewhere in the bloom area fails
/// only the look-ups that read it, a damaged header fails the look-ups of its column, and
/// `verify` finds all three; opening the segment and reading its rows never touch the area.
#[test]
fn damaged_blooms_fail_the_look_ups_that_read_them_and_verify_not_the_open() {
    let events: Vec<Event> = (0..300)
        .map(|i| {
            let id = format!("id-{i:03}");
            let mut e = EventRef::new(&id, EventType::Impression, i, "cmp-1");
            e.user_id = "u-1";
            e.to_owned_event()
        })
        .collect();
    let (dir, reader) = write(&events, 100);
    let footer = reader.footer().clone();
    let filter_of = |col: ColumnId, b: usize| {
        let (_, blocks) = footer.blooms.iter().find(|(c, _)| *c == col).unwrap();
        let (rel, len) = blocks[b];
        let start = footer.bloom_offset as usize + rel as usize;
        start..start + len as usize
    };
    let user_filter = filter_of(ColumnId::UserId, 0);
    let event_filter = filter_of(ColumnId::EventId, 1);
    let bytes = std::fs::read(reader.path()).unwrap();
    let hash = xxhash_rust::xxh3::xxh3_64(b"u-1");
    assert!(reader.bloom_may_contain(ColumnId::UserId, 0, hash).unwrap());
    reader.verify(&mut ReadContext::new().unwrap()).unwrap();
    drop(reader);

    let damaged = |name: &str, at: &[usize]| {
        let mut copy = bytes.clone();
        for &i in at {
            copy[i] ^= 0x10;
        }
        let path = dir.path().join(name);
        std::fs::write(&path, &copy).unwrap();
        let reader = SegmentReader::open(&path, SegmentId(2)).unwrap();
        assert_eq!(read_all(&reader).len(), 300);
        reader
    };
    let verify_fails = |reader: &SegmentReader| {
        assert!(reader.verify(&mut ReadContext::new().unwrap()).is_err());
    };

    // The first byte of every 64-byte block of block 0's user_id filter: any hash reads one.
    let blocks = (user_filter.len() - 8) / 68;
    let at: Vec<usize> = (0..blocks)
        .map(|k| user_filter.start + 8 + 64 * k)
        .collect();
    let reader = damaged("user-blocks.seg", &at);
    for _ in 0..2 {
        let err = reader
            .bloom_may_contain(ColumnId::UserId, 0, hash)
            .unwrap_err();
        assert!(
            err.to_string().contains("user_id bloom of block 0"),
            "{err}"
        );
        assert!(err.to_string().contains("CRC mismatch"), "{err}");
    }
    assert!(reader.bloom_may_contain(ColumnId::UserId, 1, hash).unwrap());
    verify_fails(&reader);

    // A CRC of block 1's event_id filter: the user_id look-ups do not read it.
    let reader = damaged("event-crc.seg", &[event_filter.end - 1]);
    for b in 0..3 {
        assert!(reader.bloom_may_contain(ColumnId::UserId, b, hash).unwrap());
    }
    verify_fails(&reader);

    // The block count in the header of block 0's event_id filter (the first in the area):
    // the first look-up in the event_id column reads every header of the column, the user_id
    // look-ups none of them.
    let reader = damaged("header.seg", &[footer.bloom_offset as usize + 3]);
    let id_hash = xxhash_rust::xxh3::xxh3_64(b"id-250");
    let err = reader
        .bloom_may_contain(ColumnId::EventId, 2, id_hash)
        .unwrap_err();
    assert!(
        err.to_string().contains("event_id bloom of block 0"),
        "{err}"
    );
    assert!(reader.bloom_may_contain(ColumnId::UserId, 2, hash).unwrap());
    verify_fails(&reader);
}

/// A streamed block: its codes, and each streamed column's values.
type Streamed = (Vec<u32>, Vec<Vec<i64>>);

/// Streams block `b` of `key` with `ints`: the codes and each column's values, row by row,
/// or `None` when the blocks do not stream.
fn streamed(
    reader: &SegmentReader,
    b: u32,
    key: ColumnId,
    ints: &[ColumnId],
    ctx: &mut ReadContext,
) -> crate::Result<Option<Streamed>> {
    let mut codes = Vec::new();
    let mut values = vec![Vec::new(); ints.len()];
    // (A column of another kind does not stream: nothing to check then.)
    let dict_len = match key.kind() {
        crate::schema::ColumnKind::DictString => reader.dictionary(key, ctx)?.len(),
        _ => 0,
    };
    let streams = reader.stream_codes_with_ints(b, key, ints, ctx, |n, c, v| {
        // The reader leaves the dictionary check to its callers.
        if let Some(&bad) = c[..n].iter().find(|&&c| !(0..dict_len as i64).contains(&c)) {
            return Some(bad);
        }
        codes.extend(c[..n].iter().map(|&c| u32::try_from(c).unwrap()));
        for (out, chunk) in values.iter_mut().zip(v) {
            out.extend_from_slice(&chunk[..n]);
        }
        None
    })?;
    Ok(streams.then_some((codes, values)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Streaming a block's codes and integer columns yields exactly what decoding them does
    /// (or declines),
    /// for both layouts of codes (few and many distinct values), chunks of 64 with a short
    /// last one, and any number of columns up to the most streamed.
    #[test]
    fn streamed_blocks_equal_decoded_blocks(
        events in prop::collection::vec(arb_event(), 1..400),
        block_rows in 1u32..300,
    ) {
        let (_dir, reader) = write(&events, block_rows);
        let mut ctx = ReadContext::new().unwrap();
        let int_sets: [&[ColumnId]; 3] = [
            &[],
            &[ColumnId::CostMicros],
            &[ColumnId::RevenueMicros, ColumnId::CostMicros, ColumnId::BidPriceMicros, ColumnId::CostMicros],
        ];
        for b in 0..reader.block_count() {
            for key in [ColumnId::Site, ColumnId::Country, ColumnId::CampaignId] {
                for ints in int_sets {
                    // Declining (a block the encoder stored as deltas) is allowed; the
                    // test below checks that blocks stored otherwise do stream.
                    let Some((codes, values)) = streamed(&reader, b, key, ints, &mut ctx).unwrap()
                    else {
                        continue;
                    };
                    let ColumnData::Dict { codes: want, .. } = reader.read_block(key, b, &mut ctx).unwrap() else {
                        panic!("{key} is a dictionary column");
                    };
                    prop_assert_eq!(&codes, &want);
                    for (&col, got) in ints.iter().zip(&values) {
                        let ColumnData::I64(want) = reader.read_block(col, b, &mut ctx).unwrap() else {
                            panic!("{col} is an integer column");
                        };
                        prop_assert_eq!(got, &want);
                    }
                }
            }
        }
    }
}

#[test]
fn blocks_that_do_not_stream_say_so_and_damaged_ones_are_errors() {
    let events: Vec<Event> = (0..500)
        .map(|i| {
            let id = format!("id-{i:03}");
            let site = format!("site-{}", i % 37);
            let mut e = EventRef::new(
                &id,
                EventType::Impression,
                1_000_000 + i as i64 * 7,
                "cmp-1",
            );
            e.site = &site;
            // Scattered amounts (a frame of reference, not a delta encoding, stores them).
            e.cost_micros = ((i as u64)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .rotate_left(17)
                % 20_000) as i64;
            e.to_owned_event()
        })
        .collect();
    let (dir, reader) = write(&events, 500);
    let mut ctx = ReadContext::new().unwrap();
    // Climbing timestamps are delta-encoded: a running sum does not stream.
    assert!(
        streamed(&reader, 0, ColumnId::Site, &[ColumnId::Ts], &mut ctx)
            .unwrap()
            .is_none()
    );
    // Columns of other kinds, or too many, do not stream either.
    assert!(
        streamed(&reader, 0, ColumnId::UserId, &[], &mut ctx)
            .unwrap()
            .is_none()
    );
    assert!(
        streamed(&reader, 0, ColumnId::Site, &[ColumnId::Site], &mut ctx)
            .unwrap()
            .is_none()
    );
    let five = [ColumnId::CostMicros; super::MAX_STREAMED_INTS + 1];
    assert!(
        streamed(&reader, 0, ColumnId::Site, &five, &mut ctx)
            .unwrap()
            .is_none()
    );
    let (codes, values) = streamed(
        &reader,
        0,
        ColumnId::Site,
        &[ColumnId::CostMicros],
        &mut ctx,
    )
    .unwrap()
    .unwrap();
    assert_eq!((codes.len(), values[0].len()), (500, 500));

    // A code the callback finds without a place (the reader leaves that check to it) fails
    // the block, naming the code, and no chunk is handed over after it.
    let mut calls = 0;
    let got = reader.stream_codes_with_ints(0, ColumnId::Site, &[], &mut ctx, |_, c, _| {
        calls += 1;
        Some(c[0] + 1000)
    });
    assert!(
        matches!(
            got,
            Err(crate::Error::Codec {
                source: crate::codec::CodecError::CodeOutOfRange { code, dict_len: 37 },
                ..
            }) if code >= 1000
        ),
        "{got:?}"
    );
    assert_eq!(calls, 1);

    // A flipped byte in either streamed block is a checksum error, before any chunk is handed
    // over.
    let path = reader.path().to_path_buf();
    let blocks = [ColumnId::Site, ColumnId::CostMicros].map(|c| *reader.block_meta(c, 0));
    drop(reader);
    let bytes = std::fs::read(&path).unwrap();
    for meta in blocks {
        let mut b = bytes.clone();
        b[meta.offset as usize + meta.len as usize / 2] ^= 0x10;
        let damaged = dir.path().join("damaged.seg");
        std::fs::write(&damaged, &b).unwrap();
        let reader = SegmentReader::open(&damaged, SegmentId(2)).unwrap();
        let mut calls = 0;
        let got = reader.stream_codes_with_ints(
            0,
            ColumnId::Site,
            &[ColumnId::CostMicros],
            &mut ctx,
            |_, _, _| {
                calls += 1;
                None
            },
        );
        assert!(
            matches!(got, Err(crate::Error::ChecksumMismatch { .. })),
            "{got:?}"
        );
        assert_eq!(calls, 0);
    }
}

/// 1,230 impressions of `cmp-1` over 11 sites, unevenly (a run of whole blocks that pays for a
/// site rollup), then 600 clicks of `cmp-2` over 500 sites (one that does not), blocks of 100
/// rows.
/// Money columns are scattered over the whole i64 range, so the rollup's sums do not compress
/// and its block is stored raw.
fn rollup_events() -> Vec<Event> {
    (0..1_830)
        .map(|i| {
            let id = format!("id-{i:04}");
            let (t, cmp, site) = if i < 1_230 {
                (
                    EventType::Impression,
                    "cmp-1",
                    format!("s{:02}", i % 7 + i % 5),
                )
            } else {
                (EventType::Click, "cmp-2", format!("c{:03}", i % 500))
            };
            let mut e = EventRef::new(&id, t, i as i64, cmp);
            e.site = &site;
            let scattered = |k: i64| (i as i64 + k).wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as i64);
            e.cost_micros = scattered(0);
            e.revenue_micros = scattered(1);
            e.bid_floor_micros = scattered(2);
            e.bid_price_micros = scattered(3);
            e.clearing_price_micros = scattered(4);
            e.to_owned_event()
        })
        .collect()
}

#[test]
fn a_long_run_of_one_campaign_gets_a_site_rollup_equal_to_its_rows() {
    let (_dir, reader) = write(&rollup_events(), 100);
    let mut ctx = ReadContext::new().unwrap();
    // Impressions sort first (event type code 0): blocks 0..12 hold only cmp-1's impressions,
    // block 12 both types; cmp-2's clicks have too many sites for their rows.
    assert_eq!(
        reader
            .rollups()
            .iter()
            .map(|r| (r.first_block, r.end_block, r.sites))
            .collect::<Vec<_>>(),
        vec![(0, 12, 11)]
    );
    assert_eq!(reader.rollup_covering(11), Some(0));
    assert_eq!(reader.rollup_covering(12), None);
    let rollup = reader.rollup(0, &mut ctx).unwrap();
    let dict = reader.dictionary(ColumnId::Site, &mut ctx).unwrap();
    let rows = read_all(&reader);
    let mut expected: std::collections::BTreeMap<String, (i64, [i64; 5])> = Default::default();
    for e in &rows[..1_200] {
        let t = expected.entry(e.site.clone()).or_default();
        t.0 += 1;
        let values = [
            e.cost_micros,
            e.revenue_micros,
            e.bid_floor_micros,
            e.bid_price_micros,
            e.clearing_price_micros,
        ];
        for (s, v) in t.1.iter_mut().zip(values) {
            *s = s.wrapping_add(v);
        }
    }
    let got: std::collections::BTreeMap<String, (i64, [i64; 5])> = rollup
        .codes
        .iter()
        .enumerate()
        .map(|(k, &c)| {
            let sums = std::array::from_fn(|j| rollup.sums[j][k]);
            (dict.get(c as usize).to_owned(), (rollup.rows[k], sums))
        })
        .collect();
    assert_eq!(got, expected);
    reader.verify(&mut ctx).unwrap();
}

#[test]
fn a_damaged_or_wrong_site_rollup_is_an_error() {
    let (dir, reader) = write(&rollup_events(), 100);
    let meta = reader.rollups()[0];
    let path = reader.path().to_path_buf();
    let mut ctx = ReadContext::new().unwrap();
    let good = reader.rollup(0, &mut ctx).unwrap();
    drop(reader);
    let bytes = std::fs::read(&path).unwrap();
    let damaged = dir.path().join("damaged.seg");
    let open = |b: &[u8]| {
        std::fs::write(&damaged, b).unwrap();
        SegmentReader::open(&damaged, SegmentId(2)).unwrap()
    };
    // Every flipped byte of the rollup's block: its CRC (or frame) fails the read.
    let block = meta.offset as usize..(meta.offset + u64::from(meta.len)) as usize;
    for at in block.clone() {
        let mut b = bytes.clone();
        b[at] ^= 0x10;
        let r = open(&b);
        assert!(r.rollup(0, &mut ctx).is_err(), "flip at {at} unnoticed");
        assert!(r.verify(&mut ctx).is_err());
    }
    // A rollup framed with a valid CRC but wrong sums: the read cannot tell (its rows still
    // add up), the recomputation of `verify` (`adstore inspect`) does.
    let mut wrong = good.clone();
    wrong.sums[0][0] += 1;
    let mut payload = Vec::new();
    wrong.encode(&mut payload);
    let mut framed = Vec::new();
    super::format::frame_block(0, payload.len() as u32, &payload, &mut framed);
    assert_eq!(framed.len(), block.len(), "the rollup is stored raw");
    let mut b = bytes.clone();
    b[block.clone()].copy_from_slice(&framed);
    let r = open(&b);
    assert_eq!(r.rollup(0, &mut ctx).unwrap(), wrong);
    let err = r.verify(&mut ctx).unwrap_err().to_string();
    assert!(err.contains("site rollup 0 differs"), "{err}");
    // Rows that do not add up to the covered blocks' are refused on read.
    let mut short = good;
    short.rows[0] += 1;
    let mut payload = Vec::new();
    short.encode(&mut payload);
    let mut framed = Vec::new();
    super::format::frame_block(0, payload.len() as u32, &payload, &mut framed);
    assert_eq!(framed.len(), block.len());
    let mut b = bytes;
    b[block].copy_from_slice(&framed);
    let err = open(&b).rollup(0, &mut ctx).unwrap_err().to_string();
    assert!(err.contains("holds 1201 rows"), "{err}");
}
