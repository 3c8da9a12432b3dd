//! The store's key operations: setting aside the buffered rows whose keys are stored already,
//! `upsert`, `update` and `delete_keys`.

use soa_persist_core::column::Column;
use soa_persist_core::convert::ToArrow;
use soa_persist_core::error::StoreError;
use soa_persist_core::store::Keyed;

use super::PersistentStore;
use crate::error::PersistError;
use crate::exec::duplicate_keys;
use crate::persistence::SoAPersistence;

impl<T: Keyed, P: SoAPersistence<T>> PersistentStore<T, P> {
    /// Moves the buffered rows whose keys are stored already to `rejected`, and reports them.
    pub(super) async fn reject_stored_keys(&mut self) -> Result<(), PersistError> {
        let keys: Vec<T::Key> = (0..self.buffer.len())
            .filter_map(|i| T::key_at(&self.buffer, i).cloned())
            .collect();
        let stored = self.backend.contains_keys(&keys).await?;
        if !stored.contains(&true) {
            return Ok(());
        }
        let duplicates: Vec<T::Key> = keys
            .into_iter()
            .zip(&stored)
            .filter_map(|(k, s)| s.then_some(k))
            .collect();
        let mut refused = self.buffer.clone();
        refused.retain_mask(&stored);
        let keep: Vec<bool> = stored.iter().map(|s| !s).collect();
        self.buffer.retain_mask(&keep);
        self.rejected.append(&mut refused);
        self.reindex_buffer();
        Err(duplicate_keys::<T>(self.backend.name(), &duplicates))
    }

    /// Inserts `rows`, replacing the rows with the same keys, stored or buffered (of equal keys
    /// in `rows`, the last wins). Flushes the buffer first, then writes `rows` at once: one
    /// atomic write on the memory, Parquet and DuckDB backends (see
    /// [`SoAPersistence::upsert_batches`] for the others). Safe to retry after an error.
    pub async fn upsert(&mut self, rows: impl IntoIterator<Item = T>) -> Result<(), PersistError> {
        let mut container = T::Container::default();
        for row in rows {
            container.push(row);
        }
        self.upsert_rows(container).await
    }

    async fn upsert_rows(&mut self, rows: T::Container) -> Result<(), PersistError> {
        if rows.is_empty() {
            return Ok(());
        }
        for i in 0..rows.len() {
            if let Some(row) = rows.get_cloned(i) {
                row.validate()?;
            }
        }
        // Buffered rows with these keys are replaced too: drop them instead of flushing them.
        self.settle().await?;
        let upserted: std::collections::HashSet<&T::Key> = (0..rows.len())
            .filter_map(|j| T::key_at(&rows, j))
            .collect();
        let keep: Vec<bool> = (0..self.buffer.len())
            .map(|i| T::key_at(&self.buffer, i).is_none_or(|k| !upserted.contains(k)))
            .collect();
        drop(upserted);
        self.buffer.retain_mask(&keep);
        self.reindex_buffer();
        self.flush().await?;
        self.backend
            .upsert_batches(vec![rows.into_record_batch()?])
            .await
    }

    /// Changes the row with `key` by `change` (which must keep its key) and writes it back.
    /// `NotFound` when no row has the key. Read, change and write are
    /// separate steps: of two concurrent updates of one key, the later write wins.
    pub async fn update<F>(&mut self, key: &T::Key, change: F) -> Result<(), PersistError>
    where
        F: FnOnce(&mut T),
    {
        let Some(mut row) = self.get(key).await? else {
            return Err(StoreError::NotFound {
                field: T::KEY_FIELD,
                key: format!("{key:?}"),
            }
            .into());
        };
        change(&mut row);
        if row.key() != key {
            return Err(PersistError::invalid_input(
                self.backend.name(),
                format!(
                    "update of {key:?} changed the key `{}` to {:?}",
                    T::KEY_FIELD,
                    row.key()
                ),
            ));
        }
        row.validate()?;
        if let Some(&i) = self.buffer_keys.get(key) {
            let _ = self.buffer.replace(i, row);
            return Ok(());
        }
        self.upsert([row]).await
    }

    /// Deletes the rows with these keys, stored and buffered; returns how many there were.
    pub async fn delete_keys(&mut self, keys: &[T::Key]) -> Result<u64, PersistError> {
        self.settle().await?;
        let deleted = self.backend.delete_keys(keys).await?;
        let wanted: std::collections::HashSet<&T::Key> = keys.iter().collect();
        let keep: Vec<bool> = (0..self.buffer.len())
            .map(|i| T::key_at(&self.buffer, i).is_none_or(|k| !wanted.contains(k)))
            .collect();
        let removed = keep.iter().filter(|k| !**k).count() as u64;
        self.buffer.retain_mask(&keep);
        self.reindex_buffer();
        Ok(deleted + removed)
    }
}
