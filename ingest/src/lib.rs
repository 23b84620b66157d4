//! adstore-ingest: decoders for the three input formats (JSON Lines impressions, CSV clicks and
//! conversions, Avro bid requests), validation, normalization into [`adstore_storage::EventBatch`]es
//! and dead-letter records. Filled by the ingest issue; it knows nothing of gRPC.
