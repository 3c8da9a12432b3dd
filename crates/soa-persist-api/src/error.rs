//! `PersistError`, the one error type of the persistence layer and every backend: each variant
//! carries what a user needs (backend, path, server status, field) and says whether a retry can
//! help; `retry` runs an operation again with backoff while it can.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use soa_persist_core::arrow::error::ArrowError;
use soa_persist_core::error::{ConvertError, StoreError};

/// The lower-level error behind a `PersistError` (a DuckDB, Parquet, object-store or JSON
/// error...), kept so that `std::error::Error::source()` reaches it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The one error type of the persistence layer and every backend; `is_retryable` says whether
/// running the operation again can help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// Rows could not be converted to or from Arrow (a field, its expected and found types).
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// The in-memory domain store refused an operation (duplicate or missing key).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored data has a schema the struct can't read or write.
    #[error("{backend}: schema mismatch: {detail}")]
    SchemaMismatch {
        /// The backend that failed.
        backend: &'static str,
        /// What went wrong, naming the field, file or key concerned.
        detail: String,
    },
    /// An append would exceed the backend's memory budget; nothing was appended.
    #[error(
        "{backend}: memory budget of {budget} bytes exceeded ({used} used, {requested} more requested)"
    )]
    MemoryBudget {
        /// The backend that failed.
        backend: &'static str,
        /// The budget in bytes.
        budget: usize,
        /// Bytes in use before the append.
        used: usize,
        /// Bytes the append needed.
        requested: usize,
    },
    /// File-system or network I/O failed.
    #[error("{backend}: I/O error{}: {source}", path.as_ref().map(|p| format!(" at {}", p.display())).unwrap_or_default())]
    Io {
        /// The backend that failed.
        backend: &'static str,
        /// The file or folder concerned, if one.
        path: Option<PathBuf>,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A server answered with an error status.
    #[error("{backend}: server returned status {status}: {message}")]
    Server {
        /// The backend that failed.
        backend: &'static str,
        /// The HTTP status.
        status: u16,
        /// What the backend said.
        message: String,
    },
    /// Another writer committed first; the operation did not take effect.
    #[error("{backend}: conflicting concurrent commit: {detail}")]
    Conflict {
        /// The backend that failed.
        backend: &'static str,
        /// What went wrong, naming the field, file or key concerned.
        detail: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// Stored data is damaged or not in the expected format (file, row group, offset...).
    #[error("{backend}: corrupt or unreadable data: {detail}")]
    Corrupt {
        /// The backend that failed.
        backend: &'static str,
        /// What went wrong, naming the field, file or key concerned.
        detail: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// A constraint of the backend was violated (e.g. a duplicate key); nothing was written.
    #[error("{backend}: constraint violated: {detail}")]
    Constraint {
        /// The backend that failed.
        backend: &'static str,
        /// What went wrong, naming the field, file or key concerned.
        detail: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// Rows whose keys are already stored (or repeated in one write): every such key is listed
    /// and nothing of the write was stored.
    #[error("{backend}: duplicate keys in `{field}`: {}", key_list(keys))]
    DuplicateKeys {
        /// The backend that refused the write.
        backend: &'static str,
        /// The key column's name.
        field: String,
        /// The keys, as text.
        keys: Vec<String>,
    },
    /// An argument the backend can't use (a table name, an option, a URL or path); nothing was
    /// done, and the same call fails the same way.
    #[error("{backend}: invalid input: {detail}")]
    InvalidInput {
        /// The backend that failed.
        backend: &'static str,
        /// What went wrong, naming the field, file or key concerned.
        detail: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// Any other backend failure.
    #[error("{backend}: {message}")]
    Backend {
        /// The backend that failed.
        backend: &'static str,
        /// What the backend said.
        message: String,
        /// Whether a retry can help.
        retryable: bool,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// Arrow failed while processing stored batches.
    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),
}

impl PersistError {
    /// Any other failure of `backend`, retryable or not; add its cause with `with_source`.
    pub fn backend(backend: &'static str, message: impl Into<String>, retryable: bool) -> Self {
        Self::Backend {
            backend,
            message: message.into(),
            retryable,
            source: None,
        }
    }

    /// Damaged or unreadable stored data (never retryable).
    pub fn corrupt(backend: &'static str, detail: impl Into<String>) -> Self {
        Self::Corrupt {
            backend,
            detail: detail.into(),
            source: None,
        }
    }

    /// A concurrent commit won (retryable).
    pub fn conflict(backend: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            backend,
            detail: detail.into(),
            source: None,
        }
    }

    /// A violated constraint (never retryable).
    pub fn constraint(backend: &'static str, detail: impl Into<String>) -> Self {
        Self::Constraint {
            backend,
            detail: detail.into(),
            source: None,
        }
    }

    /// An argument the backend can't use (never retryable).
    pub fn invalid_input(backend: &'static str, detail: impl Into<String>) -> Self {
        Self::InvalidInput {
            backend,
            detail: detail.into(),
            source: None,
        }
    }

    /// Keeps `cause` as this error's `source()`. Variants that hold their own typed cause
    /// (`Io`, `Convert`, `Store`, `Arrow`) or none (`SchemaMismatch`, `MemoryBudget`, `Server`)
    /// are returned unchanged.
    pub fn with_source(mut self, cause: impl Into<BoxError>) -> Self {
        if let Self::Conflict { source, .. }
        | Self::Corrupt { source, .. }
        | Self::Constraint { source, .. }
        | Self::InvalidInput { source, .. }
        | Self::Backend { source, .. } = &mut self
        {
            *source = Some(cause.into());
        }
        self
    }

    /// Whether running the same operation again may succeed (a transient failure), as opposed
    /// to one that will fail the same way until the input or the data changes.
    pub fn is_retryable(&self) -> bool {
        use std::io::ErrorKind::*;
        match self {
            Self::Io { source, .. } => matches!(
                source.kind(),
                Interrupted
                    | TimedOut
                    | WouldBlock
                    | ConnectionReset
                    | ConnectionAborted
                    | ConnectionRefused
                    | BrokenPipe
                    | NotConnected
                    | ResourceBusy
            ),
            Self::Server { status, .. } => {
                *status == 429 || *status == 408 || (500..600).contains(status)
            }
            Self::Conflict { .. } => true,
            Self::Backend { retryable, .. } => *retryable,
            Self::Convert(_)
            | Self::Store(_)
            | Self::SchemaMismatch { .. }
            | Self::MemoryBudget { .. }
            | Self::Corrupt { .. }
            | Self::Constraint { .. }
            | Self::DuplicateKeys { .. }
            | Self::InvalidInput { .. }
            | Self::Arrow(_) => false,
        }
    }
}

/// How often and how patiently `retry` tries again.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The pause before the second attempt; it doubles (with jitter) after each failure.
    pub initial_backoff: Duration,
    /// The longest pause between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// Runs `op` until it succeeds, fails with a non-retryable error, or runs out of attempts,
/// sleeping with exponential backoff (and jitter) between attempts. Returns the last error.
pub async fn retry<T, F, Fut>(policy: RetryPolicy, mut op: F) -> Result<T, PersistError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, PersistError>>,
{
    let mut backoff = policy.initial_backoff;
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_retryable() && attempt < policy.max_attempts => {
                // Jitter in [backoff/2, backoff] so that competing writers spread out.
                let nanos = backoff.as_nanos() as u64;
                let jitter = jitter_seed().wrapping_mul(attempt as u64 + 1) % (nanos / 2 + 1);
                tokio::time::sleep(Duration::from_nanos(nanos / 2 + jitter)).await;
                backoff = (backoff * 2).min(policy.max_backoff);
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

fn jitter_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

/// The first keys of a long list, and how many more there are.
fn key_list(keys: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = keys[..keys.len().min(SHOWN)].join(", ");
    if keys.len() > SHOWN {
        text.push_str(&format!(" and {} more", keys.len() - SHOWN));
    }
    text
}
