//! [`Error`]: everything that can go wrong between query text and result batches.
//!
//! Parse and analysis errors name the construct and, for SQL text, its position, so a user can fix
//! the query; storage and Arrow errors wrap their source.

/// A query error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SQL text does not parse.
    #[error("SQL syntax error: {0}")]
    Syntax(String),
    /// The query uses a construct outside the supported subset.
    #[error("unsupported {construct}{}", at(*.line, *.column))]
    Unsupported {
        /// What is not supported, e.g. "JOIN" or "function `toMonday`".
        construct: String,
        /// 1-based line in the SQL text (0 when unknown).
        line: u64,
        /// 1-based column in the SQL text (0 when unknown).
        column: u64,
    },
    /// A name that is neither a column nor an alias.
    #[error("unknown identifier `{name}`{}", at(*.line, *.column))]
    UnknownIdentifier {
        /// The name.
        name: String,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
    },
    /// The query is well formed but meaningless: wrong argument types, an aggregate inside
    /// WHERE, a column neither grouped nor aggregated...
    #[error("invalid query: {0}")]
    Invalid(String),
    /// A literal that cannot be read as the type it is compared with.
    #[error("cannot read {literal:?} as {to}")]
    BadLiteral {
        /// The literal text.
        literal: String,
        /// The ClickHouse type it had to be read as.
        to: String,
    },
    /// The storage engine failed (I/O, corruption).
    #[error(transparent)]
    Storage(#[from] adstore_storage::Error),
    /// Building or writing Arrow data failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// Writing output failed.
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    /// A worker thread panicked (a bug: reported rather than propagated as a panic).
    #[error("a query worker thread panicked")]
    WorkerPanicked,
}

/// A query result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn at(line: u64, column: u64) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" at line {line}, column {column}")
    }
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub(crate) fn invalid(msg: impl Into<String>) -> Error {
        Error::Invalid(msg.into())
    }
}
