//! The store layer: `PersistentStore<T, P>` (generated alias `PersistentOrderStore<P>`), the
//! domain API on top of any backend, with a write buffer and an explicit durability point.
//!
//! `add` pushes into an `OrderSoA` buffer; `flush` moves the buffer into a `RecordBatch`
//! without copying its primitive columns, appends it to the backend and makes it durable. A
//! `FlushPolicy` decides when that also happens on its own. Reads (`get`, `query`, `count`,
//! `load_store`) see buffered rows as well as flushed ones.

use std::collections::HashMap;
use std::hash::Hash;

use soa_persist_core::column::Column;
use soa_persist_core::convert::ToArrow;
use soa_persist_core::error::StoreError;
use soa_persist_core::query::Predicate;
use soa_persist_core::soa::RowRef;
use soa_persist_core::store::{Keyed, Store};

use crate::persist::{PersistError, SoAPersistence, Stats};

/// When a `PersistentStore` flushes its write buffer by itself (it always does on `flush`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushPolicy {
    /// Only on `flush()` / `close()`.
    Manual,
    /// Whenever the buffer holds this many rows.
    EveryRows(usize),
    /// Whenever the buffer's estimated size reaches this many bytes (rows x the struct's size;
    /// heap data such as string contents is not counted).
    EveryBytes(usize),
    /// After every `add` / `add_many`: each write is durable when it returns.
    EveryWrite,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        Self::EveryRows(64 * 1024)
    }
}

/// Rows of `T` persisted through backend `P`.
pub struct PersistentStore<T: Keyed, P: SoAPersistence<T>> {
    backend: P,
    buffer: T::Container,
    /// Position of each buffered key, for `get` and duplicate checks within the buffer.
    buffer_keys: HashMap<T::Key, usize, foldhash::fast::RandomState>,
    policy: FlushPolicy,
}

impl<T: Keyed, P: SoAPersistence<T>> PersistentStore<T, P> {
    pub fn with_persistence(backend: P) -> Self {
        Self {
            backend,
            buffer: T::Container::default(),
            buffer_keys: HashMap::default(),
            policy: FlushPolicy::default(),
        }
    }

    pub fn with_flush_policy(mut self, policy: FlushPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn backend(&self) -> &P {
        &self.backend
    }

    /// Rows added but not yet flushed.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Adds a row to the write buffer (flushing when the policy says so). A key already in the
    /// buffer is refused; keys already flushed are checked by backends that enforce keys
    /// (DuckDB, ClickHouse) at flush time.
    pub async fn add(&mut self, row: T) -> Result<(), PersistError> {
        if self.buffer_keys.contains_key(row.key()) {
            return Err(duplicate::<T>(row.key()).into());
        }
        self.buffer_keys
            .insert(row.key().clone(), self.buffer.len());
        self.buffer.push(row);
        self.maybe_flush().await
    }

    /// Adds all rows or none (a key repeated in `rows` or already buffered is refused).
    pub async fn add_many(
        &mut self,
        rows: impl IntoIterator<Item = T>,
    ) -> Result<usize, PersistError> {
        let rows: Vec<T> = rows.into_iter().collect();
        let mut seen = std::collections::HashSet::with_capacity(rows.len());
        for row in &rows {
            if self.buffer_keys.contains_key(row.key()) || !seen.insert(row.key()) {
                return Err(duplicate::<T>(row.key()).into());
            }
        }
        let n = rows.len();
        self.buffer.reserve(n);
        self.buffer_keys.reserve(n);
        for row in rows {
            self.buffer_keys
                .insert(row.key().clone(), self.buffer.len());
            self.buffer.push(row);
        }
        self.maybe_flush().await?;
        Ok(n)
    }

    /// The row with this key, from the buffer or the backend.
    pub async fn get(&self, key: &T::Key) -> Result<Option<T>, PersistError> {
        if let Some(&i) = self.buffer_keys.get(key) {
            return Ok(self.buffer.get_cloned(i));
        }
        let found = self.backend.query(&T::key_column().eq(key.clone())).await?;
        Ok(found.get_cloned(0))
    }

    /// The rows matching `predicate`: the backend's (pushed down), then the buffer's.
    pub async fn query(&self, predicate: &Predicate<T>) -> Result<T::Container, PersistError> {
        let mut rows = self.backend.query(predicate).await?;
        rows.append(&mut self.buffered_matching(predicate)?);
        Ok(rows)
    }

    /// The rows for which `keep` is true (reads every row).
    pub async fn query_rows<F>(&self, keep: F) -> Result<T::Container, PersistError>
    where
        F: for<'a> Fn(RowRef<'a, T>) -> bool + Send + Sync,
    {
        let mut rows = self.backend.query_rows(&keep).await?;
        let mut buffered = self.buffer.clone();
        crate::persist::retain_rows::<T>(&mut buffered, &keep);
        rows.append(&mut buffered);
        Ok(rows)
    }

    pub async fn count(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        let buffered = if self.buffer.is_empty() {
            0
        } else {
            predicate.count(&self.buffer.to_record_batch()?)?
        };
        Ok(self.backend.count(predicate).await? + buffered as u64)
    }

    /// Deletes matching rows from the backend and the buffer; returns how many.
    pub async fn delete(&mut self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        let deleted = self.backend.delete(predicate).await?;
        if self.buffer.is_empty() {
            return Ok(deleted);
        }
        let mask = predicate.evaluate(&self.buffer.to_record_batch()?)?;
        let keep: Vec<bool> = mask.iter().map(|m| m != Some(true)).collect();
        let removed = keep.iter().filter(|k| !**k).count() as u64;
        self.buffer.retain_mask(&keep);
        self.reindex_buffer();
        Ok(deleted + removed)
    }

    /// Hands buffered rows to the backend and makes everything durable. On error the rows stay
    /// buffered (nothing is lost) and the call can be repeated.
    pub async fn flush(&mut self) -> Result<(), PersistError> {
        if !self.buffer.is_empty() {
            let rows = std::mem::take(&mut self.buffer);
            let batch = rows.into_record_batch()?;
            if let Err(e) = self.backend.append_batches(vec![batch.clone()]).await {
                // The backend refused the batch, so it holds no reference to it: take it back.
                self.buffer = T::Container::from_owned_record_batch(batch)?;
                return Err(e);
            }
            self.buffer_keys.clear();
        }
        self.backend.flush().await
    }

    /// Flushes and gives the backend back.
    pub async fn close(mut self) -> Result<P, PersistError>
    where
        P: Clone,
    {
        self.flush().await?;
        Ok(self.backend.clone())
    }

    pub async fn stats(&self) -> Result<Stats, PersistError> {
        let mut stats = self.backend.stats().await?;
        stats.buffered_rows = self.buffer.len() as u64;
        Ok(stats)
    }

    /// Every row, flushed and buffered, as an in-memory domain store indexed by key.
    pub async fn load_store(&self) -> Result<Store<T>, PersistError> {
        let mut rows = self.backend.load().await?.unwrap_or_default();
        rows.append(&mut self.buffer.clone());
        Ok(Store::from_soa(rows)?)
    }

    fn buffered_matching(&self, predicate: &Predicate<T>) -> Result<T::Container, PersistError> {
        if self.buffer.is_empty() {
            return Ok(T::Container::default());
        }
        let batch = predicate.filter(&self.buffer.to_record_batch()?)?;
        Ok(T::Container::from_owned_record_batch(batch)?)
    }

    fn reindex_buffer(&mut self) {
        self.buffer_keys.clear();
        for i in 0..self.buffer.len() {
            if let Some(key) = T::key_at(&self.buffer, i) {
                self.buffer_keys.insert(key.clone(), i);
            }
        }
    }

    async fn maybe_flush(&mut self) -> Result<(), PersistError> {
        let due = match self.policy {
            FlushPolicy::Manual => false,
            FlushPolicy::EveryRows(n) => self.buffer.len() >= n,
            FlushPolicy::EveryBytes(n) => {
                self.buffer.len().saturating_mul(std::mem::size_of::<T>()) >= n
            }
            FlushPolicy::EveryWrite => true,
        };
        if due { self.flush().await } else { Ok(()) }
    }
}

fn duplicate<T: Keyed>(key: &T::Key) -> StoreError
where
    T::Key: Hash,
{
    StoreError::DuplicateKey {
        field: T::KEY_FIELD,
        key: format!("{key:?}"),
    }
}

impl<T: Keyed, P: SoAPersistence<T>> Drop for PersistentStore<T, P> {
    fn drop(&mut self) {
        // Never silent: rows that were added but never flushed are reported.
        if !self.buffer.is_empty() {
            eprintln!(
                "soa-persist: a PersistentStore<{}> was dropped with {} unflushed rows; they are lost (call flush() or close() first)",
                T::STRUCT_NAME,
                self.buffer.len()
            );
        }
    }
}
