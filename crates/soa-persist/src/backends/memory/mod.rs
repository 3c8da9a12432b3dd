//! `ArrowPersistence`: rows kept in memory as Arrow `RecordBatch`es behind a `RwLock`.
//!
//! A cheap clonable `Send + Sync` handle. Appends move batches in without copying them (a small
//! tail batch is merged with the next small append so scans don't crawl through tiny batches),
//! readers take a snapshot of `Arc`'d batches and never block writers for longer than a push.
//! An optional memory budget refuses an append that would exceed it, appending nothing.
//! With a `#[soa(key)]` field, a hash index of the keys (`keys.rs`) refuses an append that
//! repeats a stored key, and answers key checks without scanning.

mod keys;

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use futures::stream;
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::compute::concat_batches;
use soa_persist_core::query::Predicate;
use soa_persist_core::soa::SoA;
use soa_persist_core::store::Keyed;

use soa_persist_api::Handle;
use soa_persist_api::exec::{KeyIndex, ScanPlan, conform, delete_from, key_predicate};
use soa_persist_api::{
    BatchStream, ColumnStats, PersistError, Scan, SoAPersistence, Stats, WriteId,
};

const NAME: &str = "arrow";

/// In-memory Arrow persistence of rows of `T`.
pub struct ArrowPersistence<T> {
    inner: Handle<Inner, T>,
}

struct Inner {
    /// `None` until something is stored, so `load` can tell "never stored" from "empty".
    batches: RwLock<Option<Vec<RecordBatch>>>,
    memory_budget: Option<usize>,
    coalesce_rows: usize,
    /// Highest write `seq` appended per writer (`append_batches_once`); changed only while the
    /// batches' write lock is held, so the two agree.
    writers: std::sync::Mutex<std::collections::HashMap<String, u64>>,
    /// The key index (`None` without a key field); locked after `batches`, never before.
    keys: std::sync::Mutex<Option<KeyIndex>>,
}

soa_persist_api::clone_handle!(ArrowPersistence, inner);

impl<T: SoA> Default for ArrowPersistence<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: SoA> ArrowPersistence<T> {
    /// An empty in-memory store without a memory budget.
    pub fn new() -> Self {
        Self::with_options(None, 64 * 1024)
    }

    /// Refuses appends that would take Arrow memory past `bytes`.
    pub fn with_memory_budget(bytes: usize) -> Self {
        Self::with_options(Some(bytes), 64 * 1024)
    }

    /// `coalesce_rows`: consecutive appends smaller than this are merged into one batch.
    pub fn with_options(memory_budget: Option<usize>, coalesce_rows: usize) -> Self {
        Self {
            inner: Handle::new(Inner {
                batches: RwLock::new(None),
                memory_budget,
                coalesce_rows,
                writers: Default::default(),
                keys: std::sync::Mutex::new(keys::index_for::<T>()),
            }),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Option<Vec<RecordBatch>>> {
        // A panic while holding the lock can't leave a half-applied write: writes swap whole
        // vectors, so the data behind a poisoned lock is consistent.
        self.inner.batches.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Option<Vec<RecordBatch>>> {
        self.inner
            .batches
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn snapshot(&self) -> Vec<RecordBatch> {
        self.read().clone().unwrap_or_default()
    }

    fn check_budget(
        &self,
        current: &[RecordBatch],
        adding: &[RecordBatch],
    ) -> Result<(), PersistError> {
        if let Some(budget) = self.inner.memory_budget {
            let used = bytes(current);
            let requested = bytes(adding);
            if used + requested > budget {
                return Err(PersistError::MemoryBudget {
                    backend: NAME,
                    budget,
                    used,
                    requested,
                });
            }
        }
        Ok(())
    }

    fn append_as(
        &self,
        batches: Vec<RecordBatch>,
        id: Option<&WriteId>,
    ) -> Result<bool, PersistError> {
        let batches = conform_all::<T>(batches)?;
        let schema = T::arrow_schema();
        let mut guard = self.write();
        let mut writers = self.inner.writers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = id
            && writers.get(&id.writer).is_some_and(|seq| *seq >= id.seq)
        {
            return Ok(false);
        }
        let current = guard.as_deref().unwrap_or_default();
        self.check_budget(current, &batches)?;
        self.refuse_stored_keys(current, &batches)?;
        // Only the tail batch can change: build the new tail aside, so an error (a failed merge)
        // leaves the stored batches exactly as they were, and the multi-batch append is atomic.
        let mut tail: Vec<RecordBatch> = current.last().cloned().into_iter().collect();
        for batch in batches {
            let merge = tail
                .last()
                .is_some_and(|last| last.num_rows() + batch.num_rows() <= self.inner.coalesce_rows);
            match tail.last_mut() {
                Some(last) if merge => match concat_batches(&schema, [&*last, &batch]) {
                    Ok(merged) => *last = merged,
                    Err(e) => {
                        // The key index already holds these keys.
                        self.keys_changed();
                        return Err(e.into());
                    }
                },
                _ => tail.push(batch),
            }
        }
        let stored = guard.get_or_insert_with(Vec::new);
        stored.pop();
        stored.extend(tail);
        if let Some(id) = id {
            writers.insert(id.writer.clone(), id.seq);
        }
        Ok(true)
    }
}

fn bytes(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::get_array_memory_size).sum()
}

/// Non-empty batches, each in `T`'s exact schema.
fn conform_all<T: SoA>(batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>, PersistError> {
    batches
        .into_iter()
        .filter(|b| b.num_rows() > 0)
        .map(conform::<T>)
        .collect()
}

impl<T: SoA> SoAPersistence<T> for ArrowPersistence<T> {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn save_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        let batches = conform_all::<T>(batches)?;
        self.check_budget(&[], &batches)?;
        keys::refuse_repeats::<T>(&batches)?;
        let mut guard = self.write();
        *guard = Some(batches);
        self.keys_changed();
        Ok(())
    }

    async fn append_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        self.append_as(batches, None).map(|_| ())
    }

    async fn append_batches_once(
        &self,
        batches: Vec<RecordBatch>,
        id: &WriteId,
    ) -> Result<bool, PersistError> {
        self.append_as(batches, Some(id))
    }

    async fn load_batches(&self) -> Result<Option<Vec<RecordBatch>>, PersistError> {
        Ok(self.read().clone())
    }

    async fn scan(&self, scan: Scan<T>) -> Result<BatchStream, PersistError> {
        let out = ScanPlan::new(scan).apply_iter(self.snapshot());
        Ok(Box::pin(stream::iter(out)))
    }

    async fn count(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        let mut n = 0;
        for batch in self.snapshot() {
            n += predicate.count(&batch)? as u64;
        }
        Ok(n)
    }

    async fn delete(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        let mut guard = self.write();
        let Some(stored) = guard.as_ref() else {
            return Ok(0);
        };
        // Build the new state completely before swapping it in: an error leaves the old one.
        let deleted = delete_from(stored, predicate)?;
        *guard = Some(deleted.kept);
        self.keys_changed();
        Ok(deleted.rows)
    }

    async fn clear(&self) -> Result<(), PersistError> {
        let mut guard = self.write();
        *guard = Some(Vec::new());
        self.keys_changed();
        Ok(())
    }

    async fn flush(&self) -> Result<(), PersistError> {
        Ok(())
    }

    fn refuses_duplicate_keys(&self) -> bool {
        self.inner
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    async fn contains_keys(&self, keys: &[T::Key]) -> Result<Vec<bool>, PersistError>
    where
        T: Keyed,
    {
        self.lookup_keys(keys)
    }

    async fn upsert_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError>
    where
        T: Keyed,
    {
        self.upsert_as_one(batches)
    }

    async fn delete_keys(&self, keys: &[T::Key]) -> Result<u64, PersistError>
    where
        T: Keyed,
    {
        self.delete(&key_predicate::<T>(keys)).await
    }

    async fn stats(&self) -> Result<Stats, PersistError> {
        let batches = self.snapshot();
        let schema = T::arrow_schema();
        let columns = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| ColumnStats {
                name: f.name().clone(),
                bytes_in_memory: batches
                    .iter()
                    .map(|b| b.column(i).get_array_memory_size() as u64)
                    .sum(),
                ..ColumnStats::default()
            })
            .collect();
        Ok(Stats {
            backend: NAME,
            rows: batches.iter().map(|b| b.num_rows() as u64).sum(),
            batches: batches.len() as u64,
            bytes_in_memory: bytes(&batches) as u64,
            columns,
            ..Stats::default()
        })
    }
}
