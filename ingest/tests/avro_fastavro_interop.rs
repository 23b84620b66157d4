//! Avro written by another implementation (Python's fastavro; fixtures and the script that made
//! them in `tests/fixtures/avro/`) loads with the right values: every codec, and an evolved
//! writer schema (a field added with a default, optional fields removed, a promoted float).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::Path;
use std::sync::Arc;

use adstore_ingest::decode::decode_all;
use adstore_ingest::{DecodeOptions, Format, open_decoder};
use adstore_storage::{Event, EventType};

const T0: i64 = 1_763_769_600_123_000;

fn load(name: &str) -> Vec<Event> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/avro")
        .join(name);
    let mut d = open_decoder(&path, None, &DecodeOptions::default(), Arc::default()).unwrap();
    let (chunk, r) = decode_all(d.as_mut());
    r.unwrap();
    assert!(chunk.rejects.is_empty(), "{name}: {:?}", chunk.rejects);
    chunk.batch.rows().map(|e| e.to_owned_event()).collect()
}

fn check(name: &str, events: &[Event], second_site: &str) {
    assert_eq!(events.len(), 3, "{name}");
    let e = &events[0];
    assert_eq!(
        (e.event_id.as_str(), e.event_type, e.ts),
        ("py-1", EventType::BidRequest, T0),
        "{name}"
    );
    assert_eq!(
        (
            e.site.as_str(),
            e.device.as_str(),
            e.os.as_str(),
            e.country.as_str(),
            e.user_id.as_str()
        ),
        ("news.example.com", "mobile", "ios", "US", "u-1"),
        "{name}"
    );
    assert_eq!(e.campaign_id, "cmp-17");
    assert_eq!(
        (
            e.bid_floor_micros,
            e.bid_price_micros,
            e.clearing_price_micros,
            e.won,
            e.cost_micros
        ),
        (1_250_000, 2_500_000, 2_001_500, true, 2_002),
        "{name}"
    );
    let e = &events[1];
    assert_eq!(
        (
            e.site.as_str(),
            e.device.as_str(),
            e.os.as_str(),
            e.country.as_str(),
            e.user_id.as_str()
        ),
        (second_site, "desktop", "", "DE", ""),
        "{name}"
    );
    assert_eq!(
        (
            e.campaign_id.as_str(),
            e.bid_floor_micros,
            e.bid_price_micros,
            e.won,
            e.cost_micros
        ),
        ("", 500_000, 0, false, 0),
        "{name}"
    );
    let e = &events[2];
    assert_eq!(
        (
            e.site.as_str(),
            e.device.as_str(),
            e.country.as_str(),
            e.user_id.as_str()
        ),
        ("", "", "", ""),
        "{name}"
    );
    assert_eq!(
        (
            e.campaign_id.as_str(),
            e.bid_floor_micros,
            e.bid_price_micros
        ),
        ("cmp-3", 0, 100_000),
        "{name}"
    );
}

#[test]
fn fastavro_files_load_with_every_codec() {
    for codec in ["null", "deflate", "snappy", "zstandard"] {
        let name = format!("bid_requests_{codec}.avro");
        let events = load(&name);
        // The app bundle stands in for the site when there is no site.
        check(&name, &events, "com.example.game");
    }
}

#[test]
fn fastavro_evolved_writer_schema_resolves() {
    let events = load("bid_requests_evolved.avro");
    // `app` was removed from the writer schema: its default (null) applies, so no site.
    check("bid_requests_evolved.avro", &events, "");
    // Written as float: 1.25 and 0.5 are exact in binary, so the promotion keeps them exact.
    assert_eq!(
        (events[0].bid_floor_micros, events[1].bid_floor_micros),
        (1_250_000, 500_000)
    );
    assert_eq!(
        Format::from_path(Path::new("bid_requests_evolved.avro")),
        Some(Format::Avro)
    );
}
