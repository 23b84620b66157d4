//! Shared by the decoder targets: decode `data` as a file named `name` in `format`, and check
//! the decoder's promises on any input: no panic, bounded chunks, every row accounted for.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use adstore_ingest::decode::{Chunk, Input, decoder_for};
use adstore_ingest::{DecodeOptions, Format};

pub fn decode(name: &str, format: Format, data: &[u8]) {
    let options = DecodeOptions {
        max_line_bytes: 1 << 16,
        max_avro_block_bytes: 1 << 20,
        ..DecodeOptions::default()
    };
    let Ok(input) = Input::from_reader(
        Path::new(name),
        Box::new(Cursor::new(data.to_vec())),
        data.len() as u64,
        Arc::default(),
    ) else {
        return;
    };
    let Ok(mut decoder) = decoder_for(input, format, &options) else {
        return;
    };
    loop {
        let mut chunk = Chunk::default();
        let r = decoder.decode(&mut chunk, 64);
        assert!(chunk.rows_read <= 64);
        assert_eq!(chunk.rows_read, (chunk.batch.len() + chunk.rejects.len()) as u64);
        for row in chunk.batch.rows() {
            assert!(!row.event_id.is_empty());
            assert!(options.ts_range.contains(row.ts));
            assert!(row.cost_micros >= 0 && row.revenue_micros >= 0 && row.bid_floor_micros >= 0);
        }
        match r {
            Ok(true) => {}
            Ok(false) | Err(_) => return,
        }
    }
}
