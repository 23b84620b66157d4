//! Inputs the fuzz targets (`fuzz/`) found to crash a decoder, kept as regression tests: each
//! must now be refused with an error, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::Path;
use std::sync::Arc;

use adstore_ingest::decode::decode_all;
use adstore_ingest::{DecodeOptions, Error, open_decoder};

fn open(name: &str) -> Result<(), Error> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(name);
    let mut d = open_decoder(&path, None, &DecodeOptions::default(), Arc::default())?;
    decode_all(d.as_mut()).1
}

/// apache-avro 0.21 `unwrap`s the result of validating a record name: a writer schema naming
/// a type `com.advertisex.r'b.Imp` panicked inside `Schema::parse`.
#[test]
fn avro_writer_schema_with_an_invalid_name_is_unreadable() {
    let err = open("avro_invalid_schema_name.avro").unwrap_err();
    assert!(matches!(err, Error::Unreadable { .. }), "{err}");
    assert!(err.to_string().contains("not an Avro name"), "{err}");
}

/// A damaged datum claiming an array of ~125 million items made apache-avro reserve 6 GB
/// before reading any of them.
#[test]
fn avro_datum_claiming_a_huge_array_is_damage_not_an_allocation() {
    let err = open("avro_huge_array_count.avro").unwrap_err();
    assert!(matches!(err, Error::Damaged { .. }), "{err}");
}

#[test]
fn schema_check_accepts_the_contract_and_refuses_bad_names_and_sizes() {
    use adstore_ingest::decode::check_schema_json;
    let contract: serde_json::Value =
        serde_json::from_str(adstore_ingest::decode::BID_REQUEST_AVSC).unwrap();
    check_schema_json(&contract).unwrap();
    for bad in [
        r#"{"type":"record","name":"a b","fields":[]}"#,
        r#"{"type":"record","name":"R","namespace":"x..y","fields":[]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"f","type":"not a name"}]}"#,
        r#"{"type":"record","name":"R","aliases":["ok","1bad"],"fields":[]}"#,
        r#"{"type":"fixed","name":"F","size":"ten"}"#,
    ] {
        let v: serde_json::Value = serde_json::from_str(bad).unwrap();
        assert!(check_schema_json(&v).is_err(), "{bad}");
    }
    let ok: serde_json::Value = serde_json::from_str(
        r#"{"type":"record","name":"R","namespace":"","fields":[{"name":"f","type":"string","default":"a b","doc":"x y"}]}"#,
    )
    .unwrap();
    check_schema_json(&ok).unwrap();
}
