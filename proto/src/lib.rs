//! adstore-proto: the `adstore.v1` gRPC definitions (`proto/adstore/v1/*.proto`) and their
//! prost messages and tonic clients and servers, generated at build time (protox, no protoc).
//!
//! - `adstore/v1/ingest.proto`: `IngestService` (`Append`, client streaming; `AppendBatch`).
//! - `adstore/v1/query.proto`: `QueryService` (`Sql`, `Aggregate`: Arrow IPC streams).
//! - `adstore/v1/admin.proto`: `AdminService` (`Stats`, `Flush`, `DeadLetters`).
//!
//! [`FILE_DESCRIPTOR_SET`] is what server reflection serves. Nothing here knows the storage,
//! ingest or query crates: conversions live in the `adstore` binary's service modules.

pub use prost;
pub use tonic;

/// The `adstore` protobuf packages.
pub mod adstore {
    /// Version 1 of the API.
    #[allow(
        missing_docs,
        missing_debug_implementations,
        clippy::all,
        clippy::pedantic,
        clippy::unwrap_used,
        clippy::expect_used,
        reason = "generated code"
    )]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/adstore.v1.rs"));
    }
}

pub use adstore::v1;

/// The encoded `FileDescriptorSet` of every adstore.v1 file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/adstore_descriptor.bin"));
