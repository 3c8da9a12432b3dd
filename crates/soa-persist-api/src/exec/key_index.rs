//! `KeyIndex`: a hash set of the keys of a backend's batches, for backends that keep batches in
//! memory. One probe tells a new key apart from the stored ones; only a hit (a duplicate, or a
//! 64-bit hash collision) is confirmed against the batches. Appends extend it; any other write
//! asks for a rebuild, which the next lookup does.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

use soa_persist_core::arrow::array::{Array, ArrayRef, RecordBatch};
use soa_persist_core::arrow::datatypes::DataType;
use soa_persist_core::arrow::error::ArrowError;
use soa_persist_core::arrow::row::{RowConverter, Rows, SortField};

/// Hashes of the key column (column `column` of every batch) of the first `rows` rows.
pub struct KeyIndex {
    converter: RowConverter,
    column: usize,
    /// Seeded per index, so keys can't be chosen to collide.
    state: foldhash::fast::RandomState,
    hashes: HashSet<u64, foldhash::fast::RandomState>,
    rows: usize,
    stale: bool,
}

impl KeyIndex {
    /// An empty index of the key column at `column`, of type `data_type`.
    pub fn new(column: usize, data_type: &DataType) -> Result<Self, ArrowError> {
        Ok(Self {
            converter: RowConverter::new(vec![SortField::new(data_type.clone())])?,
            column,
            state: foldhash::fast::RandomState::default(),
            hashes: HashSet::default(),
            rows: 0,
            stale: false,
        })
    }

    /// Forgets everything: the next lookup re-reads the batches (after a delete or a replace).
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Which of `probe`'s keys occur in `batches` (exactly: hash hits are confirmed).
    /// `batches` are the ones indexed so far plus rows appended after them.
    pub fn lookup(
        &mut self,
        batches: &[RecordBatch],
        probe: &ArrayRef,
    ) -> Result<Vec<bool>, ArrowError> {
        self.catch_up(batches)?;
        let probe = self
            .converter
            .convert_columns(std::slice::from_ref(probe))?;
        let mut candidates: HashMap<&[u8], Vec<usize>, foldhash::fast::RandomState> =
            HashMap::default();
        for (i, row) in probe.iter().enumerate() {
            if self.hashes.contains(&self.state.hash_one(row.data())) {
                candidates.entry(row.data()).or_default().push(i);
            }
        }
        let mut found = vec![false; probe.num_rows()];
        if candidates.is_empty() {
            return Ok(found);
        }
        for batch in batches {
            let rows = self.rows_of(batch)?;
            for row in rows.iter() {
                for &i in candidates.get(row.data()).into_iter().flatten() {
                    found[i] = true;
                }
            }
        }
        Ok(found)
    }

    /// Positions of the keys of `probe` that occur earlier in `probe` itself.
    pub fn repeats(&self, probe: &ArrayRef) -> Result<Vec<usize>, ArrowError> {
        let rows = self
            .converter
            .convert_columns(std::slice::from_ref(probe))?;
        let mut seen: HashSet<&[u8], foldhash::fast::RandomState> =
            HashSet::with_capacity_and_hasher(rows.num_rows(), Default::default());
        Ok(rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !seen.insert(r.data()))
            .map(|(i, _)| i)
            .collect())
    }

    fn catch_up(&mut self, batches: &[RecordBatch]) -> Result<(), ArrowError> {
        if self.stale {
            self.hashes.clear();
            self.rows = 0;
            self.stale = false;
        }
        let mut skip = self.rows;
        for batch in batches {
            if skip >= batch.num_rows() {
                skip -= batch.num_rows();
                continue;
            }
            let new = batch.slice(skip, batch.num_rows() - skip);
            skip = 0;
            let rows = self.rows_of(&new)?;
            let state = &self.state;
            self.hashes
                .extend(rows.iter().map(|r| state.hash_one(r.data())));
            self.rows += new.num_rows();
        }
        Ok(())
    }

    fn rows_of(&self, batch: &RecordBatch) -> Result<Rows, ArrowError> {
        let column = batch.column(self.column);
        if column.null_count() > 0 {
            return Err(ArrowError::InvalidArgumentError(
                "a key column holds nulls".into(),
            ));
        }
        self.converter.convert_columns(std::slice::from_ref(column))
    }
}
