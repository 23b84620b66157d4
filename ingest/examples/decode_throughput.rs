//! Decode-only throughput of the ingest decoders, without a store: how fast files parse,
//! validate and normalize on one core. For the end-to-end figure, use `adstore ingest`.
//!
//! `cargo run --release -p adstore-ingest --example decode_throughput -- FILE...`

use std::sync::Arc;
use std::time::Instant;

use adstore_ingest::decode::{Chunk, DEFAULT_CHUNK_ROWS};
use adstore_ingest::{DecodeOptions, open_decoder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = DecodeOptions::default();
    for arg in std::env::args().skip(1) {
        let path = std::path::PathBuf::from(arg);
        let bytes = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let started = Instant::now();
        let mut decoder = open_decoder(&path, None, &options, Arc::clone(&bytes))?;
        let mut chunk = Chunk::with_capacity(DEFAULT_CHUNK_ROWS);
        let (mut rows, mut rejected) = (0u64, 0u64);
        loop {
            chunk.clear();
            let more = decoder.decode(&mut chunk, DEFAULT_CHUNK_ROWS)?;
            rows += chunk.rows_read;
            rejected += chunk.rejects.len() as u64;
            if !more {
                break;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let mb = bytes.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6;
        println!(
            "{}: {rows} rows ({rejected} rejected) in {secs:.3} s: {:.0} rows/s, {:.1} MB/s",
            path.display(),
            rows as f64 / secs,
            mb / secs
        );
    }
    Ok(())
}
