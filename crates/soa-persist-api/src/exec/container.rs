//! Containers from stored batches, and rows kept by a closure over row views.

use futures::TryStreamExt;
use soa_persist_core::arrow::array::{Array, ArrayRef, RecordBatch, RecordBatchOptions};
use soa_persist_core::arrow::compute::{concat as concat_arrays, concat_batches};
use soa_persist_core::arrow::error::ArrowError;
use soa_persist_core::column::Column;
use soa_persist_core::convert::ToArrow;
use soa_persist_core::soa::{RowRef, SoA};

use crate::error::PersistError;
use crate::scan::BatchStream;

use super::threads::map_on_threads;

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

/// Converts stored batches into one container. Batches of one schema are first joined column
/// by column on all cores (the copy into fresh memory is what a load spends beyond decoding),
/// then converted once, zero-copy where the layouts agree; batches of mixed schemas (files
/// from before a schema change) are converted one by one and appended.
pub fn batches_to_container<T: SoA>(
    batches: Vec<RecordBatch>,
) -> Result<T::Container, PersistError> {
    let mut batches: Vec<RecordBatch> = batches.into_iter().filter(|b| b.num_rows() > 0).collect();
    let same_schema = batches
        .windows(2)
        .all(|w| w[0].schema().fields() == w[1].schema().fields());
    match batches.len() {
        0 => Ok(T::Container::default()),
        1 => Ok(T::Container::from_owned_record_batch(batches.remove(0))?),
        _ if same_schema => Ok(T::Container::from_owned_record_batch(concat_columns(
            &batches,
        )?)?),
        _ => {
            let parts = batches
                .into_iter()
                .map(T::Container::from_owned_record_batch)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(concat::<T>(parts))
        }
    }
}

/// Below this many rows one thread joins the batches: starting threads would cost more.
const PARALLEL_CONCAT_ROWS: usize = 64 * 1024;

/// `batches` (at least one, all of the first one's schema) as one batch, each column joined
/// by one of up to as many threads as cores, the largest columns first.
fn concat_columns(batches: &[RecordBatch]) -> Result<RecordBatch, ArrowError> {
    let schema = batches[0].schema();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let width = schema.fields().len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(width);
    if rows < PARALLEL_CONCAT_ROWS || threads < 2 {
        return concat_batches(&schema, batches);
    }
    let size = |i: usize| -> usize {
        batches
            .iter()
            .map(|b| b.column(i).get_buffer_memory_size())
            .sum()
    };
    let mut order: Vec<usize> = (0..width).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(size(i)));
    let joined = map_on_threads(order.clone(), threads, |i| {
        let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
        concat_arrays(&parts)
    });
    let mut columns: Vec<Option<ArrayRef>> = vec![None; width];
    for (i, column) in order.into_iter().zip(joined) {
        columns[i] = Some(column?);
    }
    let columns = columns.into_iter().flatten().collect();
    RecordBatch::try_new_with_options(
        schema,
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )
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

/// A container's rows as conformed batches of `step` rows, each converted only when asked for,
/// so a backend can send (or hand its engine) one batch while the next is converted. A
/// container whose columns convert only whole (Arrow-layout columns, whose conversion is
/// O(1)) becomes one batch.
pub struct ContainerBatches<T: SoA> {
    rows: Option<T::Container>,
    at: usize,
    step: usize,
}

impl<T: SoA> ContainerBatches<T> {
    /// `rows` cut into batches of at most `step` rows.
    pub fn new(rows: T::Container, step: usize) -> Self {
        Self {
            rows: Some(rows),
            at: 0,
            step: step.max(1),
        }
    }
}

impl<T: SoA> Iterator for ContainerBatches<T> {
    type Item = Result<RecordBatch, PersistError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rows = self.rows.as_ref()?;
        let len = rows.len();
        if self.at >= len {
            return None;
        }
        let range = self.at..(self.at + self.step).min(len);
        let batch = match rows.to_record_batch_range(range.clone()) {
            Some(batch) => {
                self.at = range.end;
                batch.map_err(|e| e.rows_from(range.start))
            }
            None => self.rows.take()?.into_record_batch(),
        };
        Some(
            batch
                .map_err(PersistError::from)
                .and_then(super::conform::<T>),
        )
    }
}
