//! Decoder tests on hand-written fixtures: every normalization rule, every reject reason,
//! damaged inputs (the rows before the damage are kept).

use std::io::{Cursor, Write};
use std::path::Path;
use std::sync::Arc;

use adstore_storage::{Event, EventType};
use apache_avro::types::Value;
use apache_avro::{Codec, DeflateSettings, Schema, Writer, ZstandardSettings};

use super::*;
use crate::normalize::TsRange;
use crate::reject::RejectReason;

const T0: i64 = 1_763_769_600_123_000; // 2025-11-22T00:00:00.123Z

fn options() -> DecodeOptions {
    DecodeOptions {
        ts_range: TsRange {
            min: crate::normalize::ts::DEFAULT_MIN_TS,
            max: 1_800_000_000_000_000, // 2027-01-15
        },
        ..DecodeOptions::default()
    }
}

fn decode_bytes(name: &str, bytes: &[u8], format: Format) -> (Chunk, Result<()>) {
    let input = Input::from_reader(
        Path::new(name),
        Box::new(Cursor::new(bytes.to_vec())),
        bytes.len() as u64,
        Arc::default(),
    )
    .unwrap();
    match decoder_for(input, format, &options()) {
        Ok(mut d) => decode_all(d.as_mut()),
        Err(e) => (Chunk::default(), Err(e)),
    }
}

fn events(chunk: &Chunk) -> Vec<Event> {
    chunk.batch.rows().map(|e| e.to_owned_event()).collect()
}

fn reasons(chunk: &Chunk) -> Vec<(u64, RejectReason)> {
    chunk
        .rejects
        .iter()
        .map(|r| (r.position, r.reason))
        .collect()
}

// ---------------------------------------------------------------- JSON Lines

#[test]
fn json_normalizes_every_field_and_encoding() {
    let input = concat!(
        r#"{"event_id":"imp-1","ts":1763769600123,"creative_id":"cr-1042","campaign_id":"cmp-17","user_id":"u-99812","site":"news.example.com","country":"US","device":"mobile","os":"android","cost_micros":2150}"#,
        "\n",
        r#"{"event_id":"imp-2","ts":"2025-11-22T05:30:00.123456+05:30","creative_id":"c","campaign_id":"k","user_id":"u","cost":2.15}"#,
        "\r\n",
        "\n   \n",
        r#"{"cost":"0.1","user_id":"u","campaign_id":"k","creative_id":"c","ts":"2025-11-21T16:00:00.123-08:00","event_id":"imp-3","extra":{"a":[1,2]},"ua":"x"}"#,
        "\n",
        r#"{"event_id":"imp\u002d4","ts":"1763769600123","creative_id":"c","campaign_id":"k","user_id":"u","site":null,"cost":1e-6}"#,
    );
    let (chunk, r) = decode_bytes("i.jsonl", input.as_bytes(), Format::Json);
    r.unwrap();
    assert!(chunk.rejects.is_empty(), "{:?}", chunk.rejects);
    assert_eq!(chunk.rows_read, 4);
    assert_eq!(chunk.unknown_fields, 2);
    let ev = events(&chunk);
    let first = &ev[0];
    assert_eq!(
        (
            first.event_id.as_str(),
            first.event_type,
            first.ts,
            first.campaign_id.as_str()
        ),
        ("imp-1", EventType::Impression, T0, "cmp-17")
    );
    assert_eq!(
        (
            first.creative_id.as_str(),
            first.user_id.as_str(),
            first.site.as_str()
        ),
        ("cr-1042", "u-99812", "news.example.com")
    );
    assert_eq!(
        (
            first.country.as_str(),
            first.device.as_str(),
            first.os.as_str(),
            first.cost_micros
        ),
        ("US", "mobile", "android", 2150)
    );
    // RFC 3339 with an offset, µs kept; decimal number cost exact.
    assert_eq!((ev[1].ts, ev[1].cost_micros), (T0 + 456, 2_150_000));
    // Absent optional strings are '', money 0.1 is exactly 100000 micros.
    assert_eq!(
        (ev[2].ts, ev[2].cost_micros, ev[2].site.as_str()),
        (T0, 100_000, "")
    );
    assert_eq!(
        (
            ev[2].country.as_str(),
            ev[2].device.as_str(),
            ev[2].os.as_str()
        ),
        ("", "", "")
    );
    // Escapes are unescaped; ms in a string; null optional; exponent decimal.
    assert_eq!(
        (
            ev[3].event_id.as_str(),
            ev[3].ts,
            ev[3].site.as_str(),
            ev[3].cost_micros
        ),
        ("imp-4", T0, "", 1)
    );
    assert_eq!(
        ev[0].revenue_micros + ev[0].bid_floor_micros + ev[0].bid_price_micros,
        0
    );
}

#[test]
fn json_rejects_every_reason_with_line_and_raw_bytes() {
    let ok = r#""creative_id":"c","campaign_id":"k""#;
    let lines: Vec<(Vec<u8>, RejectReason)> = vec![
        (format!(r#"{{"event_id":"a","ts":1763769600123,{ok},"user_id":"u""#).into_bytes(), RejectReason::MalformedJson),
        (b"[1,2,3]".to_vec(), RejectReason::MalformedJson),
        (b"not json".to_vec(), RejectReason::MalformedJson),
        (format!(r#"{{"event_id":"a","ts":1,{ok},"user_id":"u"}} trailing"#).into_bytes(), RejectReason::MalformedJson),
        (b"{\"event_id\":\"a\xff\"}".to_vec(), RejectReason::InvalidUtf8),
        (format!(r#"{{"event_id":"a","ts":1763769600123,{ok},"user_id":12345}}"#).into_bytes(), RejectReason::WrongType),
        (format!(r#"{{"event_id":"a","ts":true,{ok},"user_id":"u"}}"#).into_bytes(), RejectReason::WrongType),
        (format!(r#"{{"event_id":"a","ts":1763769600123,{ok},"user_id":"u","cost":{{}}}}"#).into_bytes(), RejectReason::WrongType),
        (format!(r#"{{"event_id":"a","ts":1763769600123,{ok}}}"#).into_bytes(), RejectReason::MissingField),
        (format!(r#"{{"event_id":"","ts":1763769600123,{ok},"user_id":"u"}}"#).into_bytes(), RejectReason::MissingField),
        (format!(r#"{{"event_id":"a","ts":null,{ok},"user_id":"u"}}"#).into_bytes(), RejectReason::MissingField),
        (format!(r#"{{"event_id":"a","ts":"2025-11-31T10:00:00Z",{ok},"user_id":"u"}}"#).into_bytes(), RejectReason::BadTimestamp),
        (format!(r#"{{"event_id":"a","ts":1763769600123.5,{ok},"user_id":"u"}}"#).into_bytes(), RejectReason::BadTimestamp),
        (format!(r#"{{"event_id":"a","ts":946684799999,{ok},"user_id":"u"}}"#).into_bytes(), RejectReason::TsOutOfRange),
        (format!(r#"{{"event_id":"a","ts":"2999-01-01T00:00:00Z",{ok},"user_id":"u"}}"#).into_bytes(), RejectReason::TsOutOfRange),
        (format!(r#"{{"event_id":"a","ts":1763769600123,{ok},"user_id":"u","cost":"2.1500001"}}"#).into_bytes(), RejectReason::BadDecimal),
        (format!(r#"{{"event_id":"a","ts":1763769600123,{ok},"user_id":"u","cost":"abc"}}"#).into_bytes(), RejectReason::BadDecimal),
        (format!(r#"{{"event_id":"a","ts":1763769600123,{ok},"user_id":"u","cost_micros":2150.5}}"#).into_bytes(), RejectReason::BadDecimal),
        (format!(r#"{{"event_id":"a","ts":1763769600123,{ok},"user_id":"u","cost_micros":-5}}"#).into_bytes(), RejectReason::NegativeMoney),
        (format!(r#"{{"event_id":"a","ts":1763769600123,{ok},"user_id":"u","cost":-0.5}}"#).into_bytes(), RejectReason::NegativeMoney),
        (format!(r#"{{"event_id":"a","ts":1763769600123,{ok},"user_id":"u","cost":0.5,"cost_micros":500000}}"#).into_bytes(), RejectReason::ConflictingMoney),
        (format!(r#"{{"event_id":"{}","ts":1763769600123,{ok},"user_id":"u"}}"#, "e".repeat(1025)).into_bytes(), RejectReason::FieldTooLong),
        (format!(r#"{{"event_id":"a","ts":1763769600123,{ok},"user_id":"u","os":"{}"}}"#, "o".repeat(1025)).into_bytes(), RejectReason::FieldTooLong),
        (format!(r#"{{"event_id":"a","ts":1763769600123,{ok},"user_id":"u","device":"phone"}}"#).into_bytes(), RejectReason::InvalidValue),
        (format!(r#"{{"event_id":"a","ts":1763769600123,{ok},"user_id":"u","country":"Atlantis"}}"#).into_bytes(), RejectReason::InvalidValue),
        (format!(r#"{{"event_id":"a","ts":1763769600123,{ok},"user_id":"u","country":"XX"}}"#).into_bytes(), RejectReason::InvalidValue),
    ];
    let mut input = Vec::new();
    for (l, _) in &lines {
        input.extend_from_slice(l);
        input.push(b'\n');
    }
    let (chunk, r) = decode_bytes("bad.jsonl", &input, Format::Json);
    r.unwrap();
    assert!(chunk.batch.is_empty());
    let expected: Vec<(u64, RejectReason)> = lines
        .iter()
        .enumerate()
        .map(|(i, (_, r))| (i as u64 + 1, *r))
        .collect();
    assert_eq!(reasons(&chunk), expected);
    for (rej, (line, _)) in chunk.rejects.iter().zip(&lines) {
        assert_eq!(&rej.raw, line);
        assert!(!rej.detail.is_empty());
    }
    // Every reason a JSON line can get is covered.
    for r in RejectReason::ALL {
        let json_reason = !matches!(
            r,
            RejectReason::CsvColumnCount
                | RejectReason::UnknownEventType
                | RejectReason::ConversionWithoutType
        );
        assert_eq!(json_reason, expected.iter().any(|e| e.1 == r), "{r}");
    }
}

#[test]
fn json_overlong_line_is_rejected_and_skipped() {
    let mut o = options();
    o.max_line_bytes = 100;
    let long = format!("{{\"event_id\":\"{}\"}}\n", "x".repeat(500));
    let good =
        r#"{"event_id":"a","ts":1763769600123,"creative_id":"c","campaign_id":"k","user_id":"u"}"#;
    let input = format!("{long}{good}\n");
    let inp = Input::from_reader(
        Path::new("l.jsonl"),
        Box::new(Cursor::new(input.into_bytes())),
        0,
        Arc::default(),
    )
    .unwrap();
    let mut d = decoder_for(inp, Format::Json, &o).unwrap();
    let (chunk, r) = decode_all(d.as_mut());
    r.unwrap();
    assert_eq!(reasons(&chunk), vec![(1, RejectReason::MalformedJson)]);
    assert_eq!(chunk.batch.len(), 1);
}

#[test]
fn json_chunks_respect_the_row_limit() {
    let good =
        r#"{"event_id":"a","ts":1763769600123,"creative_id":"c","campaign_id":"k","user_id":"u"}"#;
    let input = format!("{good}\n").repeat(10);
    let inp = Input::from_reader(
        Path::new("l.jsonl"),
        Box::new(Cursor::new(input.into_bytes())),
        0,
        Arc::default(),
    )
    .unwrap();
    let mut d = decoder_for(inp, Format::Json, &options()).unwrap();
    let mut c = Chunk::default();
    assert!(d.decode(&mut c, 4).unwrap());
    assert_eq!(c.batch.len(), 4);
    c.clear();
    assert!(d.decode(&mut c, 4).unwrap());
    c.clear();
    assert!(!d.decode(&mut c, 4).unwrap());
    assert_eq!(c.batch.len(), 2);
}

// ---------------------------------------------------------------- compression

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn jsonl(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| format!("{{\"event_id\":\"imp-{i}\",\"ts\":1763769600123,\"creative_id\":\"c\",\"campaign_id\":\"k\",\"user_id\":\"u{i}\",\"site\":\"s{}\"}}\n", i * 7919 % 10007))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn gzip_and_zstd_are_read_by_extension_or_magic() {
    let plain = jsonl(100);
    let gz = gzip(&plain);
    let zst = zstd::encode_all(&plain[..], 3).unwrap();
    for (name, bytes) in [
        ("a.jsonl.gz", &gz),
        ("a.jsonl", &gz),
        ("a.jsonl.zst", &zst),
        ("noext", &zst),
    ] {
        let (chunk, r) = decode_bytes(name, bytes, Format::Json);
        r.unwrap();
        assert_eq!(chunk.batch.len(), 100, "{name}");
    }
    // A .gz name on bytes that are not gzip is a damaged file, not text to parse.
    let (_, r) = decode_bytes("a.jsonl.gz", &plain, Format::Json);
    assert!(matches!(r, Err(crate::Error::Damaged { .. })), "{r:?}");
    assert_eq!(
        Compression::from_name(Path::new("x.csv.gz")),
        Compression::Gzip
    );
    assert_eq!(
        Compression::from_name(Path::new("x.csv.zst")),
        Compression::Zstd
    );
}

#[test]
fn damaged_gzip_is_an_error_naming_file_and_offset_after_the_rows_before_it() {
    let plain = jsonl(20_000);
    let mut gz = gzip(&plain);
    let mid = gz.len() / 2;
    for b in &mut gz[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let (chunk, r) = decode_bytes("broken.jsonl.gz", &gz, Format::Json);
    let err = r.unwrap_err();
    assert!(matches!(err, crate::Error::Damaged { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("broken.jsonl.gz") && msg.contains("offset"),
        "{msg}"
    );
    assert!(
        chunk.batch.len() > 1000,
        "rows before the damage are kept: {}",
        chunk.batch.len()
    );
    assert!(chunk.batch.len() < 20_000);
    // The rows delivered are the file's first rows, intact (a last partial line may be a reject).
    for (i, e) in chunk.batch.rows().enumerate() {
        assert_eq!(e.event_id, format!("imp-{i}"));
    }
    // Truncated gzip and a non-gzip body after the magic bytes are damage too.
    let gz = gzip(&plain);
    let (_, r) = decode_bytes("cut.jsonl.gz", &gz[..gz.len() - 100], Format::Json);
    assert!(matches!(r, Err(crate::Error::Damaged { .. })), "{r:?}");
    let (_, r) = decode_bytes("junk.jsonl.gz", b"\x1f\x8bnot gzip at all", Format::Json);
    assert!(matches!(r, Err(crate::Error::Damaged { .. })), "{r:?}");
}

#[test]
fn formats_come_from_file_names() {
    for (name, f) in [
        ("a.jsonl", Some(Format::Json)),
        ("a.ndjson.gz", Some(Format::Json)),
        ("A.CSV", Some(Format::Csv)),
        ("x/b.csv.zst", Some(Format::Csv)),
        ("c.avro", Some(Format::Avro)),
        ("truth.json", None),
        ("a.gz", None),
        ("README", None),
    ] {
        assert_eq!(Format::from_path(Path::new(name)), f, "{name}");
    }
    assert_eq!(Format::parse("csv"), Some(Format::Csv));
}

// ---------------------------------------------------------------- CSV

#[test]
fn csv_header_in_any_order_normalizes_clicks_and_conversions() {
    let a = "event_id,ts,event_type,user_id,campaign_id,creative_id,impression_id,conversion_type,revenue\n\
             clk-1,2025-11-22T00:00:00.123Z,click,u-1,cmp-17,cr-1,imp-1,,\n\
             cnv-1,1763769600123,conversion,u-1,cmp-17,cr-1,imp-1,purchase,12.50\n\
             cnv-2,2025-11-21T19:00:00.123456-05:00,conversion,u-2,cmp-3,,,signup,\n\
             clk-2,1763769600123,click,u-3,cmp-3,,,purchase,\n";
    let b = "revenue_micros,impression_id,bogus,conversion_type,campaign_id,user_id,event_type,ts,event_id\n\
             12500000,imp-1,zzz,install,cmp-17,u-1,conversion,1763769600123,cnv-9\n\
             \"7\",\"imp,2\",,\"\",cmp-1,u-1,click,1763769600123,\"clk-\"\"9\"\n";
    let (ca, r) = decode_bytes("a.csv", a.as_bytes(), Format::Csv);
    r.unwrap();
    let (cb, r) = decode_bytes("b.csv", b.as_bytes(), Format::Csv);
    r.unwrap();
    assert!(
        ca.rejects.is_empty() && cb.rejects.is_empty(),
        "{:?} {:?}",
        ca.rejects,
        cb.rejects
    );
    assert_eq!(cb.unknown_fields, 2);
    let ea = events(&ca);
    assert_eq!(
        (ea[0].event_type, ea[0].ts, ea[0].impression_id.as_str()),
        (EventType::Click, T0, "imp-1")
    );
    assert_eq!(
        (ea[0].creative_id.as_str(), ea[0].revenue_micros),
        ("cr-1", 0)
    );
    assert_eq!(
        (
            ea[1].event_type,
            ea[1].conversion_type.as_str(),
            ea[1].revenue_micros
        ),
        (EventType::Conversion, "purchase", 12_500_000)
    );
    assert_eq!(
        (
            ea[2].ts,
            ea[2].creative_id.as_str(),
            ea[2].impression_id.as_str()
        ),
        (T0 + 456, "", "")
    );
    // A click's conversion_type is not kept.
    assert_eq!(ea[3].conversion_type, "");
    let eb = events(&cb);
    assert_eq!(
        (
            eb[0].event_id.as_str(),
            eb[0].conversion_type.as_str(),
            eb[0].revenue_micros
        ),
        ("cnv-9", "install", 12_500_000)
    );
    assert_eq!(
        (
            eb[1].event_id.as_str(),
            eb[1].impression_id.as_str(),
            eb[1].revenue_micros
        ),
        ("clk-\"9", "imp,2", 7)
    );
}

#[test]
fn csv_rejects_every_reason_with_line_and_reencoded_row() {
    let input: &[u8] =
        b"event_id,ts,event_type,user_id,campaign_id,conversion_type,revenue,revenue_micros\n\
        e1,1763769600123,click,u,k\n\
        e2,1763769600123,click,u-\xff,k,,,\n\
        e3,1763769600123,click,,k,,,\n\
        e4,yesterday,click,u,k,,,\n\
        e5,2999-01-01T00:00:00Z,click,u,k,,,\n\
        e6,1763769600123,view,u,k,,,\n\
        e7,1763769600123,impression,u,k,,,\n\
        e8,1763769600123,conversion,u,k,,1.50,\n\
        e9,1763769600123,conversion,u,k,purchase,12.5.0,\n\
        e10,1763769600123,conversion,u,k,purchase,1.0000001,\n\
        e11,1763769600123,conversion,u,k,purchase,-3.50,\n\
        e12,1763769600123,conversion,u,k,purchase,,-1\n\
        e13,1763769600123,conversion,u,k,purchase,1.50,1500000\n\
        \"e,14\",1763769600123,click,u,k,,,,extra\n";
    let (chunk, r) = decode_bytes("bad.csv", input, Format::Csv);
    r.unwrap();
    assert!(chunk.batch.is_empty(), "{:?}", events(&chunk));
    use RejectReason::*;
    let expected = vec![
        (2, CsvColumnCount),
        (3, InvalidUtf8),
        (4, MissingField),
        (5, BadTimestamp),
        (6, TsOutOfRange),
        (7, UnknownEventType),
        (8, UnknownEventType),
        (9, ConversionWithoutType),
        (10, BadDecimal),
        (11, BadDecimal),
        (12, NegativeMoney),
        (13, NegativeMoney),
        (14, ConflictingMoney),
        (15, CsvColumnCount),
    ];
    assert_eq!(reasons(&chunk), expected);
    assert_eq!(chunk.rejects[0].raw, b"e1,1763769600123,click,u,k");
    assert_eq!(chunk.rejects[1].raw, b"e2,1763769600123,click,u-\xff,k,,,");
    assert_eq!(
        chunk.rejects[13].raw,
        b"\"e,14\",1763769600123,click,u,k,,,,extra"
    );
}

#[test]
fn csv_header_without_a_required_column_or_with_a_repeat_is_unreadable() {
    for header in [
        "event_id,ts,event_type,user_id\n",
        "event_id,ts,event_type,user_id,campaign_id,ts\n",
        ",,\n",
    ] {
        let (_, r) = decode_bytes("h.csv", header.as_bytes(), Format::Csv);
        assert!(
            matches!(r, Err(crate::Error::Unreadable { .. })),
            "{header:?}: {r:?}"
        );
    }
    // An empty file, or a header alone, is a file of no rows, not an error.
    let (c, r) = decode_bytes("h.csv", b"", Format::Csv);
    r.unwrap();
    assert_eq!(c.rows_read, 0);
    let (c, r) = decode_bytes(
        "h.csv",
        b"event_id,ts,event_type,user_id,campaign_id\n",
        Format::Csv,
    );
    r.unwrap();
    assert_eq!(c.rows_read, 0);
}

// ---------------------------------------------------------------- Avro

fn opt(v: Option<Value>) -> Value {
    match v {
        Some(v) => Value::Union(1, Box::new(v)),
        None => Value::Union(0, Box::new(Value::Null)),
    }
}

fn imp(floor: f64) -> Value {
    Value::Record(vec![
        ("id".into(), Value::String("1".into())),
        ("tagid".into(), opt(None)),
        ("bidfloor".into(), Value::Double(floor)),
        ("bidfloorcur".into(), Value::String("USD".into())),
    ])
}

#[derive(Clone)]
struct Bid {
    id: &'static str,
    ts_ms: i64,
    imps: Vec<f64>,
    site: Option<&'static str>,
    app: Option<&'static str>,
    device: Option<(Option<i32>, Option<&'static str>, Option<&'static str>)>,
    user: Option<&'static str>,
    campaign: Option<&'static str>,
    bid: Option<f64>,
    won: bool,
    clearing: Option<f64>,
}

impl Default for Bid {
    fn default() -> Self {
        Bid {
            id: "bid-1",
            ts_ms: 1_763_769_600_123,
            imps: vec![1.25, 9.0],
            site: Some("news.example.com"),
            app: None,
            device: Some((Some(4), Some("ios"), Some("USA"))),
            user: Some("u-1"),
            campaign: Some("cmp-17"),
            bid: Some(2.5),
            won: true,
            clearing: Some(2.0015),
        }
    }
}

fn bid_value(b: &Bid) -> Value {
    let s = |x: &str| Value::String(x.into());
    Value::Record(vec![
        ("id".into(), s(b.id)),
        ("ts".into(), Value::TimestampMillis(b.ts_ms)),
        (
            "imp".into(),
            Value::Array(b.imps.iter().map(|f| imp(*f)).collect()),
        ),
        (
            "site".into(),
            opt(b
                .site
                .map(|d| Value::Record(vec![("domain".into(), s(d)), ("page".into(), opt(None))]))),
        ),
        (
            "app".into(),
            opt(b.app.map(|a| Value::Record(vec![("bundle".into(), s(a))]))),
        ),
        (
            "device".into(),
            opt(b.device.map(|(t, os, c)| {
                Value::Record(vec![
                    ("devicetype".into(), opt(t.map(Value::Int))),
                    ("os".into(), opt(os.map(s))),
                    ("ua".into(), opt(None)),
                    (
                        "geo".into(),
                        opt(c.map(|c| {
                            Value::Record(vec![
                                ("country".into(), opt(Some(s(c)))),
                                ("region".into(), opt(None)),
                            ])
                        })),
                    ),
                ])
            })),
        ),
        (
            "user".into(),
            opt(b.user.map(|u| {
                Value::Record(vec![
                    ("id".into(), opt(Some(s(u)))),
                    ("buyeruid".into(), opt(None)),
                ])
            })),
        ),
        ("campaign_id".into(), opt(b.campaign.map(s))),
        ("bid_price".into(), opt(b.bid.map(Value::Double))),
        ("won".into(), Value::Boolean(b.won)),
        ("clearing_price".into(), opt(b.clearing.map(Value::Double))),
    ])
}

fn avro_file(bids: &[Bid], codec: Codec, per_block: usize) -> Vec<u8> {
    let mut w = Writer::with_codec(reader_schema(), Vec::new(), codec);
    for (i, b) in bids.iter().enumerate() {
        w.append(bid_value(b)).unwrap();
        if (i + 1) % per_block == 0 {
            w.flush().unwrap();
        }
    }
    w.into_inner().unwrap()
}

#[test]
fn committed_reader_schema_parses() {
    let s = reader_schema();
    assert!(matches!(s, Schema::Record(_)));
}

#[test]
fn avro_normalizes_every_rule() {
    let bids = vec![
        Bid::default(),
        Bid {
            id: "bid-2",
            site: None,
            app: Some("com.example.game"),
            device: Some((Some(2), None, Some("deu"))),
            user: None,
            campaign: None,
            bid: None,
            won: false,
            clearing: None,
            imps: vec![],
            ..Bid::default()
        },
        Bid {
            id: "bid-3",
            site: None,
            app: None,
            device: None,
            ..Bid::default()
        },
        Bid {
            id: "bid-4",
            device: Some((Some(7), None, Some("XXX"))),
            clearing: Some(1.2345675),
            bid: Some(0.1),
            ..Bid::default()
        },
        Bid {
            id: "bid-5",
            device: Some((None, None, None)),
            ..Bid::default()
        },
    ];
    let file = avro_file(&bids, Codec::Null, 100);
    let (chunk, r) = decode_bytes("b.avro", &file, Format::Avro);
    r.unwrap();
    assert!(chunk.rejects.is_empty(), "{:?}", chunk.rejects);
    let e = events(&chunk);
    let b1 = &e[0];
    assert_eq!(
        (b1.event_id.as_str(), b1.event_type, b1.ts),
        ("bid-1", EventType::BidRequest, T0)
    );
    assert_eq!(
        (
            b1.site.as_str(),
            b1.device.as_str(),
            b1.os.as_str(),
            b1.country.as_str()
        ),
        ("news.example.com", "mobile", "ios", "US")
    );
    assert_eq!(
        (b1.user_id.as_str(), b1.campaign_id.as_str()),
        ("u-1", "cmp-17")
    );
    // First imp's floor; CPM prices as CPM micros; won: cost = clearing micros / 1000 rounded.
    assert_eq!(
        (
            b1.bid_floor_micros,
            b1.bid_price_micros,
            b1.clearing_price_micros
        ),
        (1_250_000, 2_500_000, 2_001_500)
    );
    assert_eq!((b1.won, b1.cost_micros), (true, 2_002));
    let b2 = &e[1];
    assert_eq!(
        (
            b2.site.as_str(),
            b2.device.as_str(),
            b2.os.as_str(),
            b2.country.as_str()
        ),
        ("com.example.game", "desktop", "", "DE")
    );
    assert_eq!(
        (
            b2.user_id.as_str(),
            b2.campaign_id.as_str(),
            b2.bid_floor_micros,
            b2.bid_price_micros
        ),
        ("", "", 0, 0)
    );
    assert_eq!(
        (b2.won, b2.cost_micros, b2.clearing_price_micros),
        (false, 0, 0)
    );
    assert_eq!(
        (
            e[2].site.as_str(),
            e[2].device.as_str(),
            e[2].country.as_str()
        ),
        ("", "", "")
    );
    // Devicetype 7 is ctv; unknown alpha-3 is ''; 1.2345675 rounds half away from zero.
    assert_eq!(
        (
            e[3].device.as_str(),
            e[3].country.as_str(),
            e[3].bid_price_micros
        ),
        ("ctv", "", 100_000)
    );
    assert_eq!(
        (e[3].clearing_price_micros, e[3].cost_micros),
        (1_234_568, 1_235)
    );
    assert_eq!(e[4].device, "");
    assert!(
        e.iter().all(|e| e.creative_id.is_empty()
            && e.impression_id.is_empty()
            && e.revenue_micros == 0)
    );
}

#[test]
fn avro_rejects_with_record_number_and_json_raw() {
    let bids = vec![
        Bid {
            id: "",
            ..Bid::default()
        },
        Bid {
            id: "old",
            ts_ms: 631_152_000_000,
            ..Bid::default()
        },
        Bid {
            id: "neg",
            imps: vec![-0.5],
            ..Bid::default()
        },
        Bid {
            id: "nan",
            bid: Some(f64::NAN),
            ..Bid::default()
        },
        Bid {
            id: "inf",
            clearing: Some(f64::INFINITY),
            ..Bid::default()
        },
        Bid {
            id: "fine",
            ..Bid::default()
        },
    ];
    let file = avro_file(&bids, Codec::Null, 2);
    let (chunk, r) = decode_bytes("b.avro", &file, Format::Avro);
    r.unwrap();
    use RejectReason::*;
    assert_eq!(
        reasons(&chunk),
        vec![
            (1, MissingField),
            (2, TsOutOfRange),
            (3, NegativeMoney),
            (4, BadDecimal),
            (5, BadDecimal)
        ]
    );
    assert_eq!(chunk.batch.len(), 1);
    let raw: serde_json::Value = serde_json::from_slice(&chunk.rejects[2].raw).unwrap();
    assert_eq!(raw["id"], "neg");
    assert_eq!(raw["imp"][0]["bidfloor"], -0.5);
    assert!(String::from_utf8_lossy(&chunk.rejects[3].raw).contains("\"bid_price\":\"NaN\""));
}

#[test]
fn avro_reads_every_codec() {
    let bids: Vec<Bid> = (0..50).map(|_| Bid::default()).collect();
    for codec in [
        Codec::Null,
        Codec::Deflate(DeflateSettings::default()),
        Codec::Snappy,
        Codec::Zstandard(ZstandardSettings::default()),
    ] {
        let file = avro_file(&bids, codec, 7);
        let (chunk, r) = decode_bytes("c.avro", &file, Format::Avro);
        r.unwrap();
        assert_eq!(chunk.batch.len(), 50, "{codec:?}");
        assert_eq!(chunk.batch.bid_price_micros[49], 2_500_000);
    }
}

#[test]
fn avro_evolved_writer_schema_resolves_and_incompatible_is_unreadable() {
    // Added field with a default, removed optional field (app), promoted type (float floor).
    let evolved = r#"{"type":"record","name":"BidRequest","namespace":"com.advertisex.rtb","fields":[
        {"name":"id","type":"string"},
        {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
        {"name":"exchange","type":"string","default":"x"},
        {"name":"imp","type":{"type":"array","items":{"type":"record","name":"Imp","fields":[
            {"name":"id","type":"string"},{"name":"bidfloor","type":"float"}]}}},
        {"name":"won","type":"boolean"}]}"#;
    let schema = Schema::parse_str(evolved).unwrap();
    let mut w = Writer::new(&schema, Vec::new());
    w.append(Value::Record(vec![
        ("id".into(), Value::String("ev-1".into())),
        ("ts".into(), Value::TimestampMillis(1_763_769_600_123)),
        ("exchange".into(), Value::String("adx".into())),
        (
            "imp".into(),
            Value::Array(vec![Value::Record(vec![
                ("id".into(), Value::String("1".into())),
                ("bidfloor".into(), Value::Float(1.5)),
            ])]),
        ),
        ("won".into(), Value::Boolean(false)),
    ]))
    .unwrap();
    let file = w.into_inner().unwrap();
    let (chunk, r) = decode_bytes("e.avro", &file, Format::Avro);
    r.unwrap();
    let e = events(&chunk);
    assert_eq!(
        (
            e[0].event_id.as_str(),
            e[0].ts,
            e[0].bid_floor_micros,
            e[0].site.as_str()
        ),
        ("ev-1", T0, 1_500_000, "")
    );

    let incompatible = r#"{"type":"record","name":"BidRequest","namespace":"com.advertisex.rtb","fields":[{"name":"id","type":"long"}]}"#;
    let schema = Schema::parse_str(incompatible).unwrap();
    let mut w = Writer::new(&schema, Vec::new());
    w.append(Value::Record(vec![("id".into(), Value::Long(1))]))
        .unwrap();
    let (_, r) = decode_bytes("i.avro", &w.into_inner().unwrap(), Format::Avro);
    assert!(matches!(r, Err(crate::Error::Unreadable { .. })), "{r:?}");
}

#[test]
fn avro_damage_is_named_by_offset_and_earlier_blocks_are_kept() {
    let bids: Vec<Bid> = (0..30).map(|_| Bid::default()).collect();
    let file = avro_file(&bids, Codec::Null, 10);
    // Bad magic.
    let mut bad = file.clone();
    bad[0] = b'X';
    let (_, r) = decode_bytes("m.avro", &bad, Format::Avro);
    match r {
        Err(crate::Error::Damaged {
            offset: 0,
            reason,
            path,
        }) => {
            assert!(reason.contains("magic"), "{reason}");
            assert_eq!(path, Path::new("m.avro"));
        }
        other => panic!("{other:?}"),
    }
    // Truncated in the last block: the first two blocks (20 records) are delivered.
    let (chunk, r) = decode_bytes("t.avro", &file[..file.len() - 30], Format::Avro);
    let Err(crate::Error::Damaged { offset, reason, .. }) = r else {
        panic!("{r:?}")
    };
    assert!(reason.contains("truncated"), "{reason}");
    assert_eq!(chunk.batch.len(), 20);
    assert!(offset > 0 && offset < file.len() as u64);
    // A flipped sync marker at the end of the second block: the first block is delivered.
    // The file ends with a sync marker; it also closes the header and every block.
    let sync = &file[file.len() - 16..];
    let at: Vec<usize> = file
        .windows(16)
        .enumerate()
        .filter(|(_, w)| *w == sync)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 4, "header and three blocks");
    let second = at[2];
    let mut sync_bad = file.clone();
    sync_bad[second] ^= 0xff;
    let (chunk, r) = decode_bytes("s.avro", &sync_bad, Format::Avro);
    let Err(crate::Error::Damaged { reason, .. }) = r else {
        panic!("{r:?}")
    };
    assert!(reason.contains("sync"), "{reason}");
    assert_eq!(chunk.batch.len(), 10);
    // Garbage instead of a file, an empty file.
    let (_, r) = decode_bytes("g.avro", b"hello", Format::Avro);
    assert!(
        matches!(r, Err(crate::Error::Damaged { offset: 0, .. })),
        "{r:?}"
    );
    let (_, r) = decode_bytes("e.avro", b"", Format::Avro);
    assert!(
        matches!(r, Err(crate::Error::Damaged { offset: 0, .. })),
        "{r:?}"
    );
}

#[test]
fn direct_and_generic_avro_paths_agree() {
    const SITES: [Option<&str>; 2] = [None, Some("s.example.com")];
    const STRS: [Option<&str>; 3] = [None, Some(""), Some("x-é")];
    for i in 0u32..1024 {
        let bit = |k: u32| (i >> k) & 1 == 1;
        let b = Bid {
            id: if bit(0) { "id-1" } else { "" },
            ts_ms: if bit(1) { 1_763_769_600_123 } else { -5 },
            imps: (0..(i % 3)).map(|k| f64::from(k) * 1.5 + 0.25).collect(),
            site: SITES[usize::from(bit(2))],
            app: STRS[(i % 3) as usize],
            device: bit(3).then_some((
                bit(4).then_some((i % 9) as i32),
                STRS[(i / 3 % 3) as usize],
                STRS[(i / 9 % 3) as usize],
            )),
            user: STRS[(i / 27 % 3) as usize],
            campaign: STRS[(i / 81 % 3) as usize],
            bid: bit(5).then_some(f64::from(i) / 7.0),
            won: bit(6),
            clearing: bit(7).then_some(f64::from(i) / 3.0),
        };
        let value = bid_value(&b);
        let bytes = apache_avro::to_avro_datum(reader_schema(), value.clone()).unwrap();
        let (direct, n) = super::bid_request::decode_direct(&bytes).unwrap();
        assert_eq!(n, bytes.len());
        let resolved = value.resolve(reader_schema()).unwrap();
        let generic = super::avro::bid_request_fields(&resolved).unwrap();
        assert_eq!(direct, generic, "case {i}");
        assert_eq!(direct.to_event(&options()), generic.to_event(&options()));
        // Any truncation is refused, never a panic or a wrong record.
        for cut in 0..bytes.len() {
            assert!(super::bid_request::decode_direct(&bytes[..cut]).is_none());
        }
    }
}

#[test]
fn json_country_and_device_are_normalized_to_the_table_vocabulary() {
    let lines = [
        r#"{"event_id":"a","ts":1763769600123,"creative_id":"c","campaign_id":"k","user_id":"u","country":"us","device":"Mobile"}"#,
        r#"{"event_id":"b","ts":1763769600123,"creative_id":"c","campaign_id":"k","user_id":"u","country":"DEU","device":"CTV"}"#,
        r#"{"event_id":"c","ts":1763769600123,"creative_id":"c","campaign_id":"k","user_id":"u","country":"","device":""}"#,
    ];
    let (chunk, r) = decode_bytes("n.jsonl", lines.join("\n").as_bytes(), Format::Json);
    r.unwrap();
    assert!(chunk.rejects.is_empty(), "{:?}", chunk.rejects);
    let got: Vec<(String, String)> = chunk
        .batch
        .rows()
        .map(|e| (e.country.to_owned(), e.device.to_owned()))
        .collect();
    assert_eq!(
        got,
        [
            ("US".to_owned(), "mobile".to_owned()),
            ("DE".to_owned(), "ctv".to_owned()),
            (String::new(), String::new())
        ]
    );
}

#[test]
fn over_long_fields_are_rejected_in_csv_and_the_rest_kept() {
    let long = "c".repeat(crate::normalize::MAX_FIELD_BYTES + 1);
    let text = format!(
        "event_id,ts,event_type,user_id,campaign_id\nk1,1763769600123,click,u,cmp\nk2,1763769600123,click,u,{long}\nk3,1763769600123,click,u,cmp\n"
    );
    let (chunk, r) = decode_bytes("l.csv", text.as_bytes(), Format::Csv);
    r.unwrap();
    assert_eq!(chunk.batch.len(), 2);
    assert_eq!(chunk.rejects.len(), 1);
    assert_eq!(chunk.rejects[0].reason, RejectReason::FieldTooLong);
    assert!(chunk.rejects[0].detail.contains("campaign_id"));
}
