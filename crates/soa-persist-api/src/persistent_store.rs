//! The store layer: `PersistentStore<T, P>` (generated alias `PersistentOrderStore<P>`), the
//! domain API on top of any backend, with a write buffer and an explicit durability point.
//!
//! `add` checks a row (its key, and that every value converts to Arrow) and pushes it into an
//! `OrderSoA` buffer; `flush` converts the buffer into a `RecordBatch`, appends it to the
//! backend under a write id and makes it durable. A `FlushPolicy` decides when that also happens
//! on its own. Reads (`get`, `query`, `count`, `load_store`) see buffered rows as well as
//! flushed ones.
//!
//! Nothing accepted is lost or doubled: the buffer keeps its rows until the backend confirmed
//! them, so a flush that fails (any error) or is cancelled (its future dropped, as
//! `tokio::time::timeout` does) leaves them buffered; the batch handed to the backend is kept
//! with its write id and offered again, under the same id, by the next flush, so a write that
//! took effect before its error or cancellation is not applied twice.

use std::collections::HashMap;
use std::hash::Hash;

use soa_persist_core::column::Column;
use soa_persist_core::convert::ToArrow;
use soa_persist_core::error::StoreError;
use soa_persist_core::query::Predicate;
use soa_persist_core::soa::RowRef;
use soa_persist_core::store::{Keyed, Store};

use soa_persist_core::arrow::array::RecordBatch;

use crate::error::PersistError;
use crate::persistence::SoAPersistence;
use crate::scan::WriteId;
use crate::stats::Stats;

mod keys;

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
    /// This store's name as a writer, for write ids.
    writer: String,
    /// Writes started so far (the last write id's `seq`).
    writes: u64,
    /// The first `rows` buffered rows, handed to the backend as `batch` under `id`, not yet
    /// confirmed (the flush failed or was cancelled after handing them over).
    in_doubt: Option<InDoubt>,
    /// Rows a flush refused because their keys were stored already.
    rejected: T::Container,
}

struct InDoubt {
    batch: RecordBatch,
    rows: usize,
    id: WriteId,
}

impl<T: Keyed, P: SoAPersistence<T>> PersistentStore<T, P> {
    /// A store over `backend`, flushing by the default policy.
    pub fn with_persistence(backend: P) -> Self {
        Self {
            backend,
            buffer: T::Container::default(),
            buffer_keys: HashMap::default(),
            policy: FlushPolicy::default(),
            writer: uuid_like(),
            writes: 0,
            in_doubt: None,
            rejected: T::Container::default(),
        }
    }

    /// The same store with another flush policy.
    pub fn with_flush_policy(mut self, policy: FlushPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The backend under the store.
    pub fn backend(&self) -> &P {
        &self.backend
    }

    /// Rows added but not yet flushed.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Rows that flushes refused because their keys were already stored (each such flush
    /// returned `PersistError::DuplicateKeys` naming them); they are not stored.
    pub fn rejected(&self) -> &T::Container {
        &self.rejected
    }

    /// Takes the refused rows out (to fix and `upsert`, or to report).
    pub fn take_rejected(&mut self) -> T::Container {
        std::mem::take(&mut self.rejected)
    }

    /// Adds a row to the write buffer (flushing when the policy says so). A key already in the
    /// buffer is refused here; keys already stored are found by the next flush, for all its
    /// rows at once (one `contains_keys` call), which then writes nothing, moves those rows to
    /// [`rejected`](Self::rejected) and returns `PersistError::DuplicateKeys` naming every one;
    /// the flush after it writes the rest. A value that can never be stored (a decimal with more
    /// digits than its precision, an instant outside its unit's range) is refused here with a
    /// `ConvertError` naming the field, rather than failing the flush later.
    pub async fn add(&mut self, row: T) -> Result<(), PersistError> {
        if self.buffer_keys.contains_key(row.key()) {
            return Err(duplicate::<T>(row.key()).into());
        }
        row.validate()?;
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
            row.validate()?;
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
        self.drop_in_doubt_copies(&mut rows);
        rows.append(&mut self.buffered_matching(predicate)?);
        Ok(rows)
    }

    /// While a write is in doubt, the backend may hold its rows too: the buffer's copy counts.
    fn drop_in_doubt_copies(&self, rows: &mut T::Container) {
        if self.in_doubt.is_none() || rows.is_empty() {
            return;
        }
        let keep: Vec<bool> = (0..rows.len())
            .map(|i| T::key_at(rows, i).is_none_or(|k| !self.buffer_keys.contains_key(k)))
            .collect();
        rows.retain_mask(&keep);
    }

    /// The rows for which `keep` is true (reads every row).
    pub async fn query_rows<F>(&self, keep: F) -> Result<T::Container, PersistError>
    where
        F: for<'a> Fn(RowRef<'a, T>) -> bool + Send + Sync,
    {
        let mut rows = self.backend.query_rows(&keep).await?;
        self.drop_in_doubt_copies(&mut rows);
        let mut buffered = self.buffer.clone();
        crate::exec::retain_rows::<T>(&mut buffered, &keep);
        rows.append(&mut buffered);
        Ok(rows)
    }

    /// Number of rows matching `predicate`, buffered rows included.
    pub async fn count(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        if self.in_doubt.is_some() {
            return Ok(self.query(predicate).await?.len() as u64);
        }
        let buffered = if self.buffer.is_empty() {
            0
        } else {
            predicate.count(&self.buffer.to_record_batch()?)?
        };
        Ok(self.backend.count(predicate).await? + buffered as u64)
    }

    /// Deletes matching rows from the backend and the buffer; returns how many.
    pub async fn delete(&mut self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        // Settle a write in doubt first: its rows must be deleted where they are, once.
        self.settle().await?;
        let deleted = self.backend.delete(predicate).await?;
        if self.buffer.is_empty() {
            return Ok(deleted);
        }
        let removed = crate::exec::delete_rows::<T>(&mut self.buffer, predicate)?;
        self.reindex_buffer();
        Ok(deleted + removed)
    }

    /// Hands buffered rows to the backend and makes everything durable. On any error, and if
    /// the future is dropped before it completes, the rows stay buffered (nothing is lost) and
    /// the call can be repeated; a repeated call does not store them twice.
    pub async fn flush(&mut self) -> Result<(), PersistError> {
        self.settle().await?;
        if !self.buffer.is_empty() {
            if !self.backend.refuses_duplicate_keys() {
                self.reject_stored_keys().await?;
            }
            // Copying keeps the buffer intact until the backend has confirmed the rows.
            let batch = self.buffer.to_record_batch()?;
            self.writes += 1;
            self.in_doubt = Some(InDoubt {
                batch,
                rows: self.buffer.len(),
                id: WriteId::new(self.writer.clone(), self.writes),
            });
            self.settle().await?;
        }
        self.backend.flush().await
    }

    /// Offers the write in doubt to the backend again, under its id, and drops its rows from
    /// the buffer once confirmed.
    async fn settle(&mut self) -> Result<(), PersistError> {
        let Some(write) = &self.in_doubt else {
            return Ok(());
        };
        let result = self
            .backend
            .append_batches_once(vec![write.batch.clone()], &write.id)
            .await;
        if let Err(e) = result {
            if !matches!(
                e,
                PersistError::Constraint { .. } | PersistError::DuplicateKeys { .. }
            ) {
                return Err(e);
            }
            // Refused whole, so certainly not stored: a key that another writer stored since
            // our check. Find them all, set them aside, and let the next flush write the rest.
            self.in_doubt = None;
            self.reject_stored_keys().await?;
            return Err(e);
        }
        let rows = write.rows;
        self.in_doubt = None;
        // Rows added since the write began follow its rows in the buffer.
        self.buffer = self.buffer.split_off(rows);
        self.reindex_buffer();
        Ok(())
    }

    /// Whether a flush failed or was cancelled after handing rows to the backend, so that it
    /// is not known yet whether they are stored (the next `flush` finds out).
    pub fn has_write_in_doubt(&self) -> bool {
        self.in_doubt.is_some()
    }

    /// Flushes and gives the backend back.
    pub async fn close(mut self) -> Result<P, PersistError>
    where
        P: Clone,
    {
        self.flush().await?;
        Ok(self.backend.clone())
    }

    /// The backend's stats, with the rows still buffered in `buffered_rows`.
    pub async fn stats(&self) -> Result<Stats, PersistError> {
        let mut stats = self.backend.stats().await?;
        stats.buffered_rows = self.buffer.len() as u64;
        Ok(stats)
    }

    /// Every row, flushed and buffered, as an in-memory domain store indexed by key.
    pub async fn load_store(&self) -> Result<Store<T>, PersistError> {
        let mut rows = self.backend.load().await?.unwrap_or_default();
        self.drop_in_doubt_copies(&mut rows);
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

/// A random writer name (UUID-sized hex), unique per store.
fn uuid_like() -> String {
    use std::hash::{BuildHasher, Hasher};
    let part = || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        h.finish()
    };
    format!("{:016x}{:016x}", part(), part())
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
        // A library must not print; the loss is reported through `tracing` (a `warn` event).
        if !self.buffer.is_empty() {
            tracing::warn!(
                rows = self.buffer.len(),
                struct_name = T::STRUCT_NAME,
                "a PersistentStore was dropped with unflushed rows; they are lost (call flush() or close() first)"
            );
        }
    }
}
