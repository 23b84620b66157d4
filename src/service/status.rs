//! Library errors to gRPC statuses: one `match` per crate error, naming each variant, so a new
//! variant is a decision (the `_` arms exist only because the enums are `#[non_exhaustive]`).

use tonic::{Code, Status};

/// A storage error as a status, logged at the level its cause deserves.
pub fn storage(e: &adstore_storage::Error) -> Status {
    use adstore_storage::Error as E;
    let code = match e {
        E::InvalidArgument(_) => Code::InvalidArgument,
        E::ReadOnly(_) => Code::FailedPrecondition,
        E::Locked { .. } => Code::Unavailable,
        E::Io { .. }
        | E::Corrupt { .. }
        | E::ChecksumMismatch { .. }
        | E::UnsupportedVersion { .. }
        | E::MissingSegment { .. }
        | E::Wal(_)
        | E::Codec { .. }
        | E::Poisoned(_) => Code::Internal,
        _ => Code::Internal,
    };
    if code == Code::Internal {
        tracing::error!(error = %e, "storage failure");
    } else {
        tracing::warn!(error = %e, "storage refused a request");
    }
    Status::new(code, e.to_string())
}

/// An ingest error (dead letters, decoding) as a status.
pub fn ingest(e: &adstore_ingest::Error) -> Status {
    use adstore_ingest::Error as E;
    match e {
        E::Damaged { .. } | E::Unreadable { .. } | E::UnknownFormat { .. } => {
            Status::invalid_argument(format!("{e}; nothing of this request was stored"))
        }
        E::InvalidArgument(_) => Status::invalid_argument(e.to_string()),
        E::Storage(s) => storage(s),
        E::Io { .. } | E::DeadLetterCorrupt { .. } => {
            tracing::error!(error = %e, "dead-letter store failure");
            Status::internal(e.to_string())
        }
        _ => Status::internal(e.to_string()),
    }
}

/// A query error as a status.
pub fn query(e: &adstore_query::Error) -> Status {
    use adstore_query::Error as E;
    match e {
        E::Syntax(_)
        | E::Unsupported { .. }
        | E::UnknownIdentifier { .. }
        | E::Invalid(_)
        | E::BadLiteral { .. } => Status::invalid_argument(e.to_string()),
        E::Storage(s) => storage(s),
        E::Arrow(_) | E::Io(_) | E::WorkerPanicked => {
            tracing::error!(error = %e, "query failure");
            Status::internal(e.to_string())
        }
        _ => Status::internal(e.to_string()),
    }
}

/// A query that panicked on the runtime thread that ran it.
pub fn panicked() -> Status {
    tracing::error!("query panicked");
    Status::internal("query failed: internal panic")
}

/// A blocking task that panicked or was cancelled.
pub fn join(e: &tokio::task::JoinError) -> Status {
    tracing::error!(error = %e, "service task failed");
    Status::internal(format!("task failed: {e}"))
}
