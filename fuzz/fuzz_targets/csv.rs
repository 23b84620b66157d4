//! Fuzzes the Csv decoder (plain, or gzip/zstd when the input starts with their magic bytes).
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::decode("fuzz.csv", adstore_ingest::Format::Csv, data);
});
