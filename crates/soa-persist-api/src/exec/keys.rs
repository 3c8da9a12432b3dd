//! Keys in batches: reading a batch's key column back into typed keys, keeping the last row of
//! equal keys, finding repeats, and the `key IN (...)` predicate that key checks, upserts and
//! deletes by key push down to a backend, a bounded number of keys at a time.

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use soa_persist_core::arrow::array::{BooleanArray, RecordBatch};
use soa_persist_core::arrow::compute::filter_record_batch;
use soa_persist_core::bridge::BaseField;
use soa_persist_core::query::Predicate;
use soa_persist_core::store::Keyed;

use crate::error::PersistError;
use crate::persistence::SoAPersistence;
use crate::scan::Scan;

/// Keys per pushed-down `key IN (...)`: small enough for every engine's query size limit
/// (ClickHouse's is 256 KiB by default), large enough that a flush takes few round trips.
pub const KEYS_PER_QUERY: usize = 1024;

/// `key IN keys`, for `T`'s key column.
pub fn key_predicate<T: Keyed>(keys: &[T::Key]) -> Predicate<T> {
    T::key_column().is_in(keys.iter().cloned())
}

/// Which of `keys` `backend` stores, found by scanning its key column for `key IN (...)`,
/// `per_scan` keys at a time (pushed down where the backend can).
pub async fn scan_for_keys<T, P>(
    backend: &P,
    keys: &[T::Key],
    per_scan: usize,
) -> Result<Vec<bool>, PersistError>
where
    T: Keyed,
    P: SoAPersistence<T> + ?Sized,
{
    let mut stored = HashSet::new();
    for chunk in keys.chunks(per_scan.max(1)) {
        let scan = Scan::filter(key_predicate::<T>(chunk)).project([T::KEY_FIELD]);
        let mut stream = backend.scan(scan).await?;
        while let Some(batch) = stream.next().await {
            stored.extend(key_values::<T>(&[batch?])?);
        }
    }
    Ok(keys.iter().map(|k| stored.contains(k)).collect())
}

/// The key of every row of `batches`, in order.
pub fn key_values<T: Keyed>(batches: &[RecordBatch]) -> Result<Vec<T::Key>, PersistError> {
    let column = T::key_column();
    let mut keys = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for batch in batches {
        let array = batch.column_by_name(T::KEY_FIELD).ok_or_else(|| {
            PersistError::invalid_input(
                "keys",
                format!("a batch has no key column `{}`", T::KEY_FIELD),
            )
        })?;
        keys.extend(T::Key::decode(array, column.options())?);
    }
    Ok(keys)
}

/// The keys that occur more than once in `keys`, each once, in order of first repeat.
pub fn repeated<K: std::hash::Hash + Eq + Clone>(keys: &[K]) -> Vec<K> {
    let mut seen = HashSet::with_capacity(keys.len());
    let mut reported = HashSet::new();
    keys.iter()
        .filter(|k| !seen.insert(*k) && reported.insert(*k))
        .cloned()
        .collect()
}

/// `batches` with only the last row of each key (an upsert's "the last wins").
pub fn last_of_equal_keys<T: Keyed>(
    batches: Vec<RecordBatch>,
) -> Result<Vec<RecordBatch>, PersistError> {
    let keys = key_values::<T>(&batches)?;
    let mut last: HashMap<&T::Key, usize> = HashMap::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        last.insert(k, i);
    }
    if last.len() == keys.len() {
        return Ok(batches);
    }
    let mut row = 0;
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let keep: BooleanArray = (row..row + batch.num_rows())
            .map(|i| Some(last[&keys[i]] == i))
            .collect();
        row += batch.num_rows();
        out.push(filter_record_batch(&batch, &keep)?);
    }
    Ok(out)
}

/// `PersistError::DuplicateKeys` for `keys` of `T`.
pub fn duplicate_keys<T: Keyed>(backend: &'static str, keys: &[T::Key]) -> PersistError {
    PersistError::DuplicateKeys {
        backend,
        field: T::KEY_FIELD.to_string(),
        keys: keys.iter().map(|k| format!("{k:?}")).collect(),
    }
}
