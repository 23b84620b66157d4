//! Fuzzes the Avro decoder (plain, or gzip/zstd when the input starts with their magic bytes).
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::decode("fuzz.avro", adstore_ingest::Format::Avro, data);
});
