//! Streaming decoders: input files to [`Chunk`]s of normalized events plus rejected rows.
//!
//! - `input`: [`Input`], transparent gzip/zstd, byte counting, error mapping.
//! - `lines`: the line splitter under JSON Lines (no copy per line, bounded line length).
//! - `json`: [`JsonDecoder`], ad impressions in JSON Lines.
//! - `csv`: [`CsvDecoder`], clicks and conversions in CSV with a header in any column order.
//! - `line_marks`: exact line numbers of CSV records (CRLF and blank lines included).
//! - `avro`: [`AvroDecoder`], bid requests in Avro object container files, resolved against
//!   `ingest/schemas/bid_request.avsc`.
//! - `bid_request`: [`BidRequest`] and its normalization; the direct (no `Value` tree) datum
//!   decoder for files written with exactly `bid_request.avsc`.
//!
//! Each decoder keeps memory constant whatever the file size: it holds one read buffer (one
//! Avro block) and fills the caller's [`Chunk`] up to a row limit. A decoder never fails on a
//! bad row (that is a [`Rejected`] in the chunk); it fails on a damaged or unreadable file, and
//! then the chunk still holds every row decoded before the damage, which the caller keeps.

mod avro;
mod bid_request;
mod csv;
mod input;
mod json;
mod line_marks;
mod lines;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use adstore_storage::EventBatch;

pub use self::avro::{AvroDecoder, BID_REQUEST_AVSC, check_schema_json, reader_schema};
pub use self::bid_request::BidRequest;
pub use self::csv::CsvDecoder;
pub use self::input::{Compression, Input, InputErrors};
pub use self::json::JsonDecoder;
use crate::error::{Error, Result};
use crate::normalize::TsRange;
use crate::reject::Rejected;

/// Rows per chunk by default: large enough to amortize an append, small enough to bound memory.
pub const DEFAULT_CHUNK_ROWS: usize = 64 * 1024;

/// An input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// Ad impressions, one JSON object per line.
    Json,
    /// Clicks and conversions, CSV with a header row.
    Csv,
    /// Bid requests, Avro object container files.
    Avro,
}

impl Format {
    /// The format a file name says, looking through a `.gz`/`.zst` suffix: `.jsonl`, `.ndjson` →
    /// JSON Lines (not `.json`: a `truth.json` beside the data is no input); `.csv` → CSV; `.avro` → Avro.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = ["gz", "zst", "zstd"]
            .iter()
            .find_map(|c| name.strip_suffix(&format!(".{c}")))
            .unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        match ext {
            "jsonl" | "ndjson" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "avro" => Some(Format::Avro),
            _ => None,
        }
    }

    /// `json`, `csv` or `avro`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Avro => "avro",
        }
    }

    /// Parses `json`, `csv` or `avro`.
    pub fn parse(name: &str) -> Option<Format> {
        [Format::Json, Format::Csv, Format::Avro]
            .into_iter()
            .find(|f| f.as_str() == name)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How rows are validated and decoded.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Accepted event times.
    pub ts_range: TsRange,
    /// Longest JSON line accepted (longer lines are rejected as malformed, and skipped).
    pub max_line_bytes: usize,
    /// Largest Avro block accepted, compressed or not (a larger one is damage).
    pub max_avro_block_bytes: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            ts_range: TsRange::default_from_now(),
            max_line_bytes: 16 << 20,
            max_avro_block_bytes: 256 << 20,
        }
    }
}

/// What a decoder delivers: accepted rows (normalized, not yet deduplicated) and rejected rows.
#[derive(Debug, Default)]
pub struct Chunk {
    /// Rows that passed validation.
    pub batch: EventBatch,
    /// Rows that did not, in file order.
    pub rejects: Vec<Rejected>,
    /// Rows read: `batch.len() + rejects.len()` (blank JSON lines are not rows).
    pub rows_read: u64,
    /// Unknown JSON fields or CSV columns seen (ignored, counted).
    pub unknown_fields: u64,
}

impl Chunk {
    /// An empty chunk with room for `rows` events.
    pub fn with_capacity(rows: usize) -> Chunk {
        Chunk {
            batch: EventBatch::with_capacity(rows),
            ..Chunk::default()
        }
    }

    /// Empties the chunk, keeping its allocations.
    pub fn clear(&mut self) {
        self.batch.clear();
        self.rejects.clear();
        self.rows_read = 0;
        self.unknown_fields = 0;
    }

    pub(crate) fn reject(&mut self, position: u64, (reason, detail): crate::Rejection, raw: &[u8]) {
        let keep = raw.len().min(crate::reject::MAX_RAW_BYTES);
        let detail = if keep < raw.len() {
            format!("{detail} (row of {} bytes, first {keep} kept)", raw.len())
        } else {
            detail
        };
        self.rejects.push(Rejected {
            position,
            reason,
            detail,
            raw: raw[..keep].to_vec(),
        });
    }
}

/// A streaming decoder of one input file.
pub trait Decoder: Send {
    /// Decodes up to `max_rows` more rows into `chunk` (appending). `Ok(true)` while the input
    /// has more, `Ok(false)` at its end. On `Err` the input is damaged or unreadable: `chunk`
    /// still holds every row decoded before the damage, and the decoder must not be called again.
    fn decode(&mut self, chunk: &mut Chunk, max_rows: usize) -> Result<bool>;

    /// The input file.
    fn path(&self) -> &Path;
}

/// Opens a decoder for `path` in `format` (from the file name when `None`). Every byte read
/// from the file is added to `progress`.
pub fn open_decoder(
    path: &Path,
    format: Option<Format>,
    options: &DecodeOptions,
    progress: Arc<AtomicU64>,
) -> Result<Box<dyn Decoder>> {
    let format = match format.or_else(|| Format::from_path(path)) {
        Some(f) => f,
        None => {
            return Err(Error::UnknownFormat {
                path: path.to_path_buf(),
            });
        }
    };
    let input = Input::open(path, progress)?;
    decoder_for(input, format, options)
}

/// A decoder of `format` over an opened input.
pub fn decoder_for(
    input: Input,
    format: Format,
    options: &DecodeOptions,
) -> Result<Box<dyn Decoder>> {
    Ok(match format {
        Format::Json => Box::new(JsonDecoder::new(input, options.clone())),
        Format::Csv => Box::new(CsvDecoder::new(input, options.clone())?),
        Format::Avro => Box::new(AvroDecoder::new(input, options.clone())?),
    })
}

/// Decodes a whole input into one chunk (tests and small files).
pub fn decode_all(decoder: &mut dyn Decoder) -> (Chunk, Result<()>) {
    let mut chunk = Chunk::default();
    loop {
        match decoder.decode(&mut chunk, DEFAULT_CHUNK_ROWS) {
            Ok(true) => {}
            Ok(false) => return (chunk, Ok(())),
            Err(e) => return (chunk, Err(e)),
        }
    }
}

#[cfg(test)]
mod tests;
