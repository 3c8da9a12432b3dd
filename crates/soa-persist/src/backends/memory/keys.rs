//! Keys on the in-memory backend: the hash index that refuses an append repeating a stored key
//! (all such keys reported, nothing appended), answers `contains_keys` with one probe per key,
//! and the upsert that replaces rows by key in one write.

use std::sync::MutexGuard;

use soa_persist_core::arrow::array::{Array, ArrayRef, RecordBatch};
use soa_persist_core::arrow::compute::concat;
use soa_persist_core::arrow::util::display::array_value_to_string;
use soa_persist_core::bridge::BaseField;
use soa_persist_core::schema::key_field;
use soa_persist_core::soa::SoA;
use soa_persist_core::store::Keyed;

use soa_persist_api::PersistError;
use soa_persist_api::exec::{KeyIndex, delete_from, key_predicate, key_values, last_of_equal_keys};

use super::{ArrowPersistence, NAME, conform_all};

/// An empty index of `T`'s key column, or `None` when `T` has no key.
pub(super) fn index_for<T: SoA>() -> Option<KeyIndex> {
    let schema = T::arrow_schema();
    let column = schema.index_of(key_field(&schema)?).ok()?;
    KeyIndex::new(column, schema.field(column).data_type()).ok()
}

impl<T: SoA> ArrowPersistence<T> {
    fn key_index(&self) -> MutexGuard<'_, Option<KeyIndex>> {
        self.inner.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// After a write other than an append: the index is rebuilt by its next use.
    pub(super) fn keys_changed(&self) {
        if let Some(index) = self.key_index().as_mut() {
            index.invalidate();
        }
    }

    /// Refuses `adding` when one of its keys is stored or repeated in it, and otherwise records
    /// its keys as appended (call with the batches' write lock held, so no other append slips
    /// in between; `keys_changed` if the append then fails).
    pub(super) fn refuse_stored_keys(
        &self,
        stored: &[RecordBatch],
        adding: &[RecordBatch],
    ) -> Result<(), PersistError> {
        let mut guard = self.key_index();
        let Some(index) = guard.as_mut() else {
            return Ok(());
        };
        let Some(probe) = key_column::<T>(adding)? else {
            return Ok(());
        };
        let bad = index.add_new(stored, &probe)?;
        duplicates::<T>(&probe, bad)
    }

    /// Which of `keys` are stored, from the index.
    pub(super) fn lookup_keys(&self, keys: &[T::Key]) -> Result<Vec<bool>, PersistError>
    where
        T: Keyed,
    {
        let probe = T::Key::encode(keys, T::key_column().options())?;
        let guard = self.read();
        let stored = guard.as_deref().unwrap_or_default();
        match self.key_index().as_mut() {
            Some(index) => Ok(index.lookup(stored, &probe)?),
            None => Ok(vec![false; keys.len()]),
        }
    }

    /// Replaces the rows with the keys of `batches` and appends them, in one swap.
    pub(super) fn upsert_as_one(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError>
    where
        T: Keyed,
    {
        let batches = conform_all::<T>(last_of_equal_keys::<T>(batches)?)?;
        let keys = key_values::<T>(&batches)?;
        let mut guard = self.write();
        let stored = guard.as_deref().unwrap_or_default();
        let mut kept = delete_from(stored, &key_predicate::<T>(&keys))?.kept;
        self.check_budget(&kept, &batches)?;
        kept.extend(batches);
        *guard = Some(kept);
        self.keys_changed();
        Ok(())
    }
}

/// Refuses batches that repeat a key (for `save`).
pub(super) fn refuse_repeats<T: SoA>(batches: &[RecordBatch]) -> Result<(), PersistError> {
    let (Some(index), Some(probe)) = (index_for::<T>(), key_column::<T>(batches)?) else {
        return Ok(());
    };
    duplicates::<T>(&probe, index.repeats(&probe)?)
}

/// The key column of `batches`, concatenated; `None` without a key or rows.
fn key_column<T: SoA>(batches: &[RecordBatch]) -> Result<Option<ArrayRef>, PersistError> {
    let schema = T::arrow_schema();
    let Some(column) = key_field(&schema).and_then(|k| schema.index_of(k).ok()) else {
        return Ok(None);
    };
    let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(column).as_ref()).collect();
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(concat(&parts)?))
}

/// `DuplicateKeys` naming the keys at `positions` of `probe`, or `Ok` when there are none.
fn duplicates<T: SoA>(probe: &ArrayRef, mut positions: Vec<usize>) -> Result<(), PersistError> {
    if positions.is_empty() {
        return Ok(());
    }
    positions.sort_unstable();
    positions.dedup();
    let schema = T::arrow_schema();
    let keys = positions
        .iter()
        .map(|&i| array_value_to_string(probe, i))
        .collect::<Result<Vec<_>, _>>()?;
    Err(PersistError::DuplicateKeys {
        backend: NAME,
        field: key_field(&schema).unwrap_or_default().to_string(),
        keys,
    })
}
