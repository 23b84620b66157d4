//! adstore-proto: the `adstore.v1` protobuf definitions and their tonic/prost code. Filled by the
//! service issue.
