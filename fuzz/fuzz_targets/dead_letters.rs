//! Fuzzes the dead-letter file reader: any bytes give records or an error, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = adstore_ingest::deadletter::reader::parse(std::path::Path::new("fuzz.dlq"), data);
});
