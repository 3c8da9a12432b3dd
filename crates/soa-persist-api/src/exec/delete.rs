//! Delete by predicate for backends that evaluate in Rust: the rows a predicate does not
//! match, with SQL's semantics (a row for which the predicate is unknown, such as a
//! comparison with a null, is not deleted).

use soa_persist_core::arrow::array::{BooleanArray, RecordBatch};
use soa_persist_core::arrow::compute::{filter_record_batch, not};
use soa_persist_core::column::Column;
use soa_persist_core::convert::ToArrow;
use soa_persist_core::query::Predicate;
use soa_persist_core::soa::SoA;

use crate::error::PersistError;

/// What a delete leaves of some batches.
#[derive(Debug, Default)]
pub struct Deleted {
    /// The rows kept, empty batches left out.
    pub kept: Vec<RecordBatch>,
    /// How many rows matched and are gone.
    pub rows: u64,
}

/// Which rows of `batch` stay, and how many go.
fn keep_mask<T>(
    batch: &RecordBatch,
    predicate: &Predicate<T>,
) -> Result<(BooleanArray, usize), PersistError> {
    // `evaluate` is false where the predicate is unknown, so those rows stay.
    let matched = predicate.evaluate(batch)?;
    Ok((not(&matched)?, matched.true_count()))
}

/// Removes the rows matching `predicate` from `batches`; the input is not changed, so a
/// caller that fails later still holds the old state.
pub fn delete_from<'a, T>(
    batches: impl IntoIterator<Item = &'a RecordBatch>,
    predicate: &Predicate<T>,
) -> Result<Deleted, PersistError> {
    let mut out = Deleted::default();
    for batch in batches {
        let (keep, gone) = keep_mask(batch, predicate)?;
        out.rows += gone as u64;
        let rest = if gone == 0 {
            batch.clone()
        } else {
            filter_record_batch(batch, &keep)?
        };
        if rest.num_rows() > 0 {
            out.kept.push(rest);
        }
    }
    Ok(out)
}

/// Removes the rows matching `predicate` from a container; returns how many.
pub fn delete_rows<T: SoA>(
    rows: &mut T::Container,
    predicate: &Predicate<T>,
) -> Result<u64, PersistError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let (keep, gone) = keep_mask(&rows.to_record_batch()?, predicate)?;
    if gone > 0 {
        let keep: Vec<bool> = keep.iter().map(|k| k == Some(true)).collect();
        rows.retain_mask(&keep);
    }
    Ok(gone as u64)
}
