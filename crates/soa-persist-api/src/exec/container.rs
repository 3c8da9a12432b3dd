//! Containers from stored batches, and rows kept by a closure over row views.

use futures::TryStreamExt;
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::column::Column;
use soa_persist_core::convert::ToArrow;
use soa_persist_core::soa::{RowRef, SoA};

use crate::error::PersistError;
use crate::scan::BatchStream;

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
    let parts = batches
        .into_iter()
        .map(T::Container::from_owned_record_batch)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(concat::<T>(parts))
}

/// The parts in order as one container: the first one's columns grown once to the total, so
/// each row moves once (appending part by part would move rows at every doubling).
fn concat<T: SoA>(parts: Vec<T::Container>) -> T::Container {
    let total: usize = parts.iter().map(Column::len).sum();
    let mut parts = parts.into_iter().filter(|p| !p.is_empty());
    let Some(mut out) = parts.next() else {
        return T::Container::default();
    };
    out.reserve(total - out.len());
    for mut part in parts {
        out.append(&mut part);
    }
    out
}

/// Drains a batch stream into one container, converting each batch and appending it as it
/// arrives (while the backend produces the next one), so no copy of every row is left for
/// after the last batch (columns grow by doubling: amortized linear).
pub async fn collect<T: SoA>(mut stream: BatchStream) -> Result<T::Container, PersistError> {
    let mut out: Option<T::Container> = None;
    while let Some(batch) = stream.try_next().await? {
        let mut part = T::Container::from_owned_record_batch(batch)?;
        match &mut out {
            Some(out) => out.append(&mut part),
            None => out = Some(part),
        }
    }
    Ok(out.unwrap_or_default())
}
