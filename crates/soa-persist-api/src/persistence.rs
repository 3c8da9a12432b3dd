//! `SoAPersistence<T>`, one async API over every backend.
//!
//! Backends implement the batch-level methods (Arrow `RecordBatch`es in the struct's schema);
//! the typed methods (`save`, `append`, `load`, `query`, ...) are provided on top and convert
//! with the zero-copy paths of `ToArrow`. All futures are `Send`, so the API works from a
//! multi-threaded tokio runtime.

use std::future::Future;

use futures::StreamExt;
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::datatypes::SchemaRef;
use soa_persist_core::column::Column;
use soa_persist_core::convert::ToArrow;
use soa_persist_core::query::Predicate;
use soa_persist_core::soa::{RowRef, SoA};
use soa_persist_core::store::Keyed;

use crate::error::PersistError;
use crate::exec::{
    KEYS_PER_QUERY, batches_to_container, collect, key_predicate, key_values, last_of_equal_keys,
    retain_rows, scan_for_keys,
};
use crate::scan::{BatchStream, Scan, WriteId};
use crate::stats::Stats;

/// Persistence of rows of `T`, the same API on every backend.
///
/// Durability: a method's effects are durable once `flush` has returned `Ok` after it (in-memory
/// backends are never durable). Each write (`save`, `append`, `delete`, `clear`) is atomic: a
/// failed write leaves the previous state in place, and readers never see half of one.
/// Concurrency: the handle is `Send + Sync`; concurrent readers and writers are safe, and a
/// reader sees each write entirely or not at all.
///
/// The `soa-persist` crate's front page shows it on the in-memory backend.
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

    /// Whether `append_batches` itself refuses rows whose keys are stored or repeated (with
    /// `DuplicateKeys` or `Constraint`, nothing written), as the memory backend's key index and
    /// DuckDB's primary key do. A store over such a backend skips its own key check before a
    /// flush and looks for the stored keys only when a flush is refused.
    fn refuses_duplicate_keys(&self) -> bool {
        false
    }

    /// Which of `keys` are stored, one flag per key, in order. The default pushes
    /// `key IN (...)` down ([`KEYS_PER_QUERY`] keys a query) and reads back the key column only;
    /// backends with a key index answer from it.
    fn contains_keys(
        &self,
        keys: &[T::Key],
    ) -> impl Future<Output = Result<Vec<bool>, PersistError>> + Send
    where
        T: Keyed,
    {
        scan_for_keys(self, keys, KEYS_PER_QUERY)
    }

    /// Inserts `batches`, replacing the stored rows with the same keys; of equal keys in
    /// `batches`, the last row wins. The default deletes the keys, then appends: two writes, so
    /// a reader in between sees neither the old rows nor the new ones, and an error between
    /// them leaves the keys deleted. Backends that can do both in one atomic write override
    /// it (memory, Parquet and DuckDB do).
    fn upsert_batches(
        &self,
        batches: Vec<RecordBatch>,
    ) -> impl Future<Output = Result<(), PersistError>> + Send
    where
        T: Keyed,
    {
        async move {
            let batches = last_of_equal_keys::<T>(batches)?;
            let keys = key_values::<T>(&batches)?;
            self.delete_keys(&keys).await?;
            self.append_batches(batches).await
        }
    }

    /// Deletes the rows with these keys and returns how many there were. The default deletes
    /// [`KEYS_PER_QUERY`] keys per (atomic) delete; backends that evaluate in Rust delete all
    /// of them in one.
    fn delete_keys(&self, keys: &[T::Key]) -> impl Future<Output = Result<u64, PersistError>> + Send
    where
        T: Keyed,
    {
        async move {
            let mut deleted = 0;
            for chunk in keys.chunks(KEYS_PER_QUERY) {
                deleted += self.delete(&key_predicate::<T>(chunk)).await?;
            }
            Ok(deleted)
        }
    }

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
