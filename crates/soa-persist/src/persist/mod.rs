//! The persistence layer: `SoAPersistence<T>`, one async API over every backend.
//!
//! Backends implement the batch-level methods (Arrow `RecordBatch`es in the struct's schema);
//! the typed methods (`save`, `append`, `load`, `query`, ...) are provided on top and convert
//! with the zero-copy paths of `ToArrow`. All futures are `Send`, so the API works from a
//! multi-threaded tokio runtime.

pub mod error;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use futures::{Stream, StreamExt, TryStreamExt};
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::datatypes::SchemaRef;
use soa_persist_core::column::Column;
use soa_persist_core::convert::ToArrow;
use soa_persist_core::query::Predicate;
use soa_persist_core::soa::{RowRef, SoA};

pub use error::{PersistError, RetryPolicy, retry};

/// A stream of batches, read lazily so that data larger than memory can be processed.
pub type BatchStream = Pin<Box<dyn Stream<Item = Result<RecordBatch, PersistError>> + Send>>;

/// What `scan` reads: the rows matching `predicate`, only the `projection` columns (all when
/// `None`), in batches of at most `batch_size` rows (the backend's own size when `None`).
pub struct Scan<T> {
    pub predicate: Predicate<T>,
    pub projection: Option<Vec<String>>,
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
    pub fn new(writer: impl Into<String>, seq: u64) -> Self {
        Self {
            writer: writer.into(),
            seq,
        }
    }
}

/// Size of one column in a backend.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnStats {
    pub name: String,
    pub bytes_in_memory: u64,
    pub bytes_on_disk: Option<u64>,
    /// Uncompressed / compressed size, where the backend knows both.
    pub compression_ratio: Option<f64>,
}

/// What a backend holds right now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub backend: &'static str,
    pub rows: u64,
    pub batches: u64,
    pub files: Option<u64>,
    pub row_groups: Option<u64>,
    pub bytes_in_memory: u64,
    pub bytes_on_disk: Option<u64>,
    /// Rows in a `PersistentStore`'s write buffer, not yet handed to the backend.
    pub buffered_rows: u64,
    pub columns: Vec<ColumnStats>,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} rows in {} batches, {:.1} MiB in memory",
            self.backend,
            self.rows,
            self.batches,
            mib(self.bytes_in_memory)
        )?;
        if let Some(disk) = self.bytes_on_disk {
            write!(f, ", {:.1} MiB on disk", mib(disk))?;
        }
        if let Some(files) = self.files {
            write!(f, ", {files} files")?;
        }
        if let Some(groups) = self.row_groups {
            write!(f, ", {groups} row groups")?;
        }
        if self.buffered_rows > 0 {
            write!(f, ", {} rows buffered", self.buffered_rows)?;
        }
        Ok(())
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Persistence of rows of `T`, the same API on every backend.
///
/// Durability: a method's effects are durable once `flush` has returned `Ok` after it (in-memory
/// backends are never durable). Each write (`save`, `append`, `delete`, `clear`) is atomic: a
/// failed write leaves the previous state in place, and readers never see half of one.
/// Concurrency: the handle is `Send + Sync`; concurrent readers and writers are safe, and a
/// reader sees each write entirely or not at all.
///
/// ```
/// use soa_persist::prelude::*;
///
/// #[derive(SoA, Clone, Debug, PartialEq)]
/// struct Reading { sensor: u32, value: f64 }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let backend = ArrowPersistence::<Reading>::new();
/// let rows: ReadingSoA = (0..10).map(|i| Reading { sensor: i % 3, value: i as f64 }).collect();
/// backend.append(rows).await?;
/// let hot = backend.query(&Reading::fields().value.gt(7.0)).await?;
/// assert_eq!(hot.value, [8.0, 9.0]);
/// assert_eq!(backend.count(&Reading::fields().sensor.eq(0u32)).await?, 4);
/// # Ok::<(), PersistError>(()) }).unwrap();
/// ```
pub trait SoAPersistence<T: SoA>: Send + Sync {
    /// The backend's name, used in errors and stats.
    fn name(&self) -> &'static str;

    /// The Arrow schema of stored rows.
    fn schema(&self) -> SchemaRef {
        T::arrow_schema()
    }

    /// Replaces everything stored with `batches`, atomically.
    fn save_batches(
        &self,
        batches: Vec<RecordBatch>,
    ) -> impl Future<Output = Result<(), PersistError>> + Send;

    /// Adds `batches` after what is stored, atomically (all of them or none).
    fn append_batches(
        &self,
        batches: Vec<RecordBatch>,
    ) -> impl Future<Output = Result<(), PersistError>> + Send;

    /// Like `append_batches`, but applied at most once per `id`: when the backend already
    /// committed the write `id` (or a later write of the same writer), it writes nothing and
    /// returns `Ok(false)`; otherwise it appends and returns `Ok(true)`. Backends whose writes
    /// can't fail after taking effect (in memory) keep this default.
    fn append_batches_once(
        &self,
        batches: Vec<RecordBatch>,
        id: &WriteId,
    ) -> impl Future<Output = Result<bool, PersistError>> + Send {
        let _ = id;
        async move { self.append_batches(batches).await.map(|()| true) }
    }

    /// Everything stored, or `None` if nothing was ever stored.
    fn load_batches(
        &self,
    ) -> impl Future<Output = Result<Option<Vec<RecordBatch>>, PersistError>> + Send;

    /// Streams the matching rows; memory use is bounded by a few batches, not the data size.
    fn scan(&self, scan: Scan<T>)
    -> impl Future<Output = Result<BatchStream, PersistError>> + Send;

    /// Number of rows matching `predicate`.
    fn count(
        &self,
        predicate: &Predicate<T>,
    ) -> impl Future<Output = Result<u64, PersistError>> + Send;

    /// Deletes the rows matching `predicate` (atomically) and returns how many there were.
    fn delete(
        &self,
        predicate: &Predicate<T>,
    ) -> impl Future<Output = Result<u64, PersistError>> + Send;

    /// Deletes every row; `load` then returns an empty container, not `None`.
    fn clear(&self) -> impl Future<Output = Result<(), PersistError>> + Send;

    /// Makes every completed write durable (a no-op for in-memory backends).
    fn flush(&self) -> impl Future<Output = Result<(), PersistError>> + Send;

    /// What the backend holds now.
    fn stats(&self) -> impl Future<Output = Result<Stats, PersistError>> + Send;

    /// Replaces everything stored with `rows` (moved into Arrow without copying primitives).
    fn save(&self, rows: T::Container) -> impl Future<Output = Result<(), PersistError>> + Send {
        async move { self.save_batches(vec![rows.into_record_batch()?]).await }
    }

    /// Adds `rows` after what is stored (moved into Arrow without copying primitives).
    fn append(&self, rows: T::Container) -> impl Future<Output = Result<(), PersistError>> + Send {
        async move { self.append_batches(vec![rows.into_record_batch()?]).await }
    }

    /// Everything stored, or `None` if nothing was ever stored.
    fn load(&self) -> impl Future<Output = Result<Option<T::Container>, PersistError>> + Send {
        async move {
            match self.load_batches().await? {
                None => Ok(None),
                Some(batches) => Ok(Some(batches_to_container::<T>(batches)?)),
            }
        }
    }

    /// The rows matching `predicate`, pushed down to the backend where it can.
    fn query(
        &self,
        predicate: &Predicate<T>,
    ) -> impl Future<Output = Result<T::Container, PersistError>> + Send {
        let scan = Scan::filter(predicate.clone());
        async move { collect::<T>(self.scan(scan).await?).await }
    }

    /// The rows for which `keep` returns true: a closure over row views, for logic a predicate
    /// can't express. Reads every row.
    fn query_rows<F>(
        &self,
        keep: F,
    ) -> impl Future<Output = Result<T::Container, PersistError>> + Send
    where
        F: for<'a> Fn(RowRef<'a, T>) -> bool + Send + Sync,
    {
        async move {
            let mut stream = self.scan(Scan::all()).await?;
            let mut out = T::Container::default();
            while let Some(batch) = stream.next().await {
                let mut part = T::Container::from_owned_record_batch(batch?)?;
                retain_rows::<T>(&mut part, &keep);
                out.append(&mut part);
            }
            Ok(out)
        }
    }
}

/// Keeps the rows of `rows` for which `keep` returns true.
pub fn retain_rows<T: SoA>(
    rows: &mut T::Container,
    keep: &(impl for<'a> Fn(RowRef<'a, T>) -> bool + ?Sized),
) {
    let mask: Vec<bool> = (0..rows.len())
        .map_while(|i| rows.get(i))
        .map(keep)
        .collect();
    rows.retain_mask(&mask);
}

/// Converts stored batches into one container (zero-copy for unshared primitive buffers).
pub fn batches_to_container<T: SoA>(
    batches: Vec<RecordBatch>,
) -> Result<T::Container, PersistError> {
    let mut out = T::Container::default();
    for batch in batches {
        let mut part = T::Container::from_owned_record_batch(batch)?;
        if out.is_empty() {
            out = part;
        } else {
            out.append(&mut part);
        }
    }
    Ok(out)
}

/// Drains a batch stream into one container.
pub async fn collect<T: SoA>(stream: BatchStream) -> Result<T::Container, PersistError> {
    let batches: Vec<RecordBatch> = stream.try_collect().await?;
    batches_to_container::<T>(batches)
}

/// Brings `batch` to `T`'s exact schema: relabels it when only metadata differs, otherwise
/// reads it as `T` (lossless alternative encodings, missing optional or defaulted columns) and
/// writes it back, or errors naming the field that can't be read.
pub fn conform<T: SoA>(batch: RecordBatch) -> Result<RecordBatch, PersistError> {
    let schema = T::arrow_schema();
    if batch.schema().fields() == schema.fields() {
        return Ok(batch.with_schema(schema)?);
    }
    Ok(T::Container::from_owned_record_batch(batch)?.into_record_batch()?)
}
