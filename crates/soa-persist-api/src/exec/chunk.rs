//! Re-chunking: batches cut to at most a number of rows (zero-copy slices), and small batches
//! (an engine's vector-sized chunks) merged until they are worth handing on.

use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::compute::concat_batches;
use soa_persist_core::arrow::error::ArrowError;

/// `batch` as zero-copy slices of at most `size` rows (itself when it fits or no size is set).
pub fn split_rows(batch: RecordBatch, size: Option<usize>) -> Vec<RecordBatch> {
    match size.map(|s| s.max(1)) {
        Some(size) if batch.num_rows() > size => (0..batch.num_rows())
            .step_by(size)
            .map(|start| batch.slice(start, size.min(batch.num_rows() - start)))
            .collect(),
        _ => vec![batch],
    }
}

/// Collects batches until they hold at least `target` rows, then hands them on as one.
pub struct Coalesce {
    target: usize,
    pending: Vec<RecordBatch>,
    rows: usize,
}

impl Coalesce {
    /// A coalescer emitting batches of `target` rows (the last one may be smaller).
    pub fn new(target: usize) -> Self {
        Self {
            target: target.max(1),
            pending: Vec::new(),
            rows: 0,
        }
    }

    /// Adds `batch`; returns the merged batch once `target` rows are together.
    pub fn push(&mut self, batch: RecordBatch) -> Result<Option<RecordBatch>, ArrowError> {
        if batch.num_rows() == 0 {
            return Ok(None);
        }
        self.rows += batch.num_rows();
        self.pending.push(batch);
        if self.rows < self.target {
            return Ok(None);
        }
        self.finish()
    }

    /// What is collected, merged (`None` when nothing is).
    pub fn finish(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        let Some(first) = self.pending.first() else {
            return Ok(None);
        };
        let merged = concat_batches(&first.schema(), self.pending.iter())?;
        self.pending.clear();
        self.rows = 0;
        Ok(Some(merged))
    }
}
