//! adstore-ingest: AdvertiseX's three input formats into the event table. It knows nothing of
//! gRPC; the `adstore` binary's `ingest`, `deadletter` and `gen` commands are thin layers on it.
//!
//! A tour (each module's doc names the `docs/FORMAT.md` section it implements):
//! - [`decode`]: streaming decoders ([`JsonDecoder`], [`CsvDecoder`], [`AvroDecoder`]) from
//!   files, plain or gzip/zstd, to [`Chunk`]s of normalized [`adstore_storage::EventBatch`]
//!   rows plus [`Rejected`] rows. FORMAT.md "Input formats".
//! - [`normalize`]: the contract's rules: timestamps, exact money, countries, devices.
//! - [`reject`]: [`RejectReason`], why a row is refused.
//! - [`deadletter`]: the CRC-framed dead-letter files in `<data>/deadletter/`, writer and reader.
//!   FORMAT.md "Dead letters".
//! - [`pipeline`]: files and folders → parallel decoders → `Store::append` in large batches,
//!   rejects → dead letters, an [`IngestReport`].
//! - [`generator`]: the deterministic traffic generator behind `adstore gen`, and its `truth.json`.
//! - [`error`]: [`Error`], what stops a file or an ingest.

#![warn(missing_docs)]

pub mod deadletter;
pub mod decode;
pub mod error;
pub mod generator;
pub mod normalize;
pub mod pipeline;
pub mod reject;

pub use decode::{
    AvroDecoder, Chunk, CsvDecoder, DecodeOptions, Decoder, Format, JsonDecoder, open_decoder,
};
pub use error::{Error, Result};
pub use pipeline::{IngestOptions, IngestReport};
pub use reject::{RejectReason, Rejected, Rejection};
