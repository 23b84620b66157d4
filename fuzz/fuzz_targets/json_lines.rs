//! Fuzzes the Json decoder (plain, or gzip/zstd when the input starts with their magic bytes).
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::decode("fuzz.jsonl", adstore_ingest::Format::Json, data);
});
