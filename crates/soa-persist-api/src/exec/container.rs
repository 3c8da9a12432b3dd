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
