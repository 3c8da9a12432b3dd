//! What a read asks for (`Scan`), what it returns (`BatchStream`), and the name of one write
//! (`WriteId`) that lets a retried write take effect once.

use std::pin::Pin;

use futures::Stream;
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::query::Predicate;

use crate::error::PersistError;

/// A stream of batches, read lazily so that data larger than memory can be processed.
pub type BatchStream = Pin<Box<dyn Stream<Item = Result<RecordBatch, PersistError>> + Send>>;

/// What `scan` reads: the rows matching `predicate`, only the `projection` columns (all when
/// `None`), in batches of at most `batch_size` rows (the backend's own size when `None`).
pub struct Scan<T> {
    /// The rows to read (`Predicate::all()` for every row).
    pub predicate: Predicate<T>,
    /// The top-level columns to read, in this order; `None` reads every column.
    pub projection: Option<Vec<String>>,
    /// The most rows per batch; `None` lets the backend choose.
    pub batch_size: Option<usize>,
}

impl<T> Clone for Scan<T> {
    fn clone(&self) -> Self {
        Self {
            predicate: self.predicate.clone(),
            projection: self.projection.clone(),
            batch_size: self.batch_size,
        }
    }
}

impl<T> Default for Scan<T> {
    fn default() -> Self {
        Self {
            predicate: Predicate::all(),
            projection: None,
            batch_size: None,
        }
    }
}

impl<T> Scan<T> {
    /// Every row and column.
    pub fn all() -> Self {
        Self::default()
    }
    /// Rows matching `predicate`.
    pub fn filter(predicate: Predicate<T>) -> Self {
        Self {
            predicate,
            ..Self::default()
        }
    }
    /// Only these top-level columns, in this order.
    pub fn project<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.projection = Some(columns.into_iter().map(Into::into).collect());
        self
    }
    /// At most `rows` rows per batch (at least 1).
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.batch_size = Some(rows.max(1));
        self
    }
}

/// Names one write of one writer, so that a write retried after an ambiguous failure (an error
/// or a cancellation after the backend may already have applied it) takes effect once.
///
/// A writer numbers its writes `1, 2, 3, ...`; a backend records, with each write, the highest
/// `seq` committed per `writer`, so that checking a retry costs one lookup, not a log scan.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WriteId {
    /// A name unique to the writer (a `PersistentStore` uses a random UUID).
    pub writer: String,
    /// The write's number, counting from 1, increasing by one per write of this writer.
    pub seq: u64,
}

impl WriteId {
    /// The write `seq` of `writer`.
    pub fn new(writer: impl Into<String>, seq: u64) -> Self {
        Self {
            writer: writer.into(),
            seq,
        }
    }
}
