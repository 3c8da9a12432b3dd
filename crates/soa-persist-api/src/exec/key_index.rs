//! `KeyIndex`: a set of the keys of a backend's batches, for backends that keep batches in
//! memory. Integer and timestamp keys are held exactly (their value as 64 bits); other keys as
//! a 64-bit hash of their row encoding, so a hit there (a duplicate, or a collision) is
//! confirmed against the batches. Integer keys also keep their least and greatest value: while
//! every new batch lies outside that range (ids that grow), the set is not even built. Appends
//! extend the index; any other write asks for a rebuild, which the next use does.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

use soa_persist_core::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use soa_persist_core::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Int16Type, Int32Type, Int64Type, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt16Type, UInt32Type, UInt64Type,
};
use soa_persist_core::arrow::error::ArrowError;
use soa_persist_core::arrow::row::{RowConverter, SortField};

/// The keys (column `column` of every batch) of the first `rows` rows.
pub struct KeyIndex {
    converter: RowConverter,
    column: usize,
    /// Whether digests are the keys themselves (integer-like keys), not hashes.
    exact: bool,
    /// Seeded per index, so keys can't be chosen to collide.
    state: foldhash::fast::RandomState,
    digests: HashSet<u64, foldhash::fast::RandomState>,
    /// Whether `digests` holds every indexed key (always, for keys that aren't integer-like).
    built: bool,
    /// The least and greatest integer-like key indexed.
    range: Option<(i128, i128)>,
    rows: usize,
    stale: bool,
}

impl KeyIndex {
    /// An empty index of the key column at `column`, of type `data_type`.
    pub fn new(column: usize, data_type: &DataType) -> Result<Self, ArrowError> {
        Ok(Self {
            converter: RowConverter::new(vec![SortField::new(data_type.clone())])?,
            column,
            exact: integer_like(data_type),
            state: foldhash::fast::RandomState::default(),
            digests: HashSet::default(),
            built: !integer_like(data_type),
            range: None,
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
        if self.exact && !overlaps(self.range, value_range(probe)) {
            return Ok(vec![false; probe.len()]);
        }
        self.build(batches)?;
        let digests = self.digests_of(probe)?;
        let mut found: Vec<bool> = digests.iter().map(|d| self.digests.contains(d)).collect();
        if self.exact || !found.contains(&true) {
            return Ok(found);
        }
        // Hashes matched: confirm those keys against the stored ones.
        let probe = self
            .converter
            .convert_columns(std::slice::from_ref(probe))?;
        let mut candidates: HashMap<&[u8], Vec<usize>, foldhash::fast::RandomState> =
            HashMap::default();
        for (i, hit) in found.iter_mut().enumerate() {
            if std::mem::take(hit) {
                candidates.entry(probe.row(i).data()).or_default().push(i);
            }
        }
        for batch in batches {
            let rows = self
                .converter
                .convert_columns(std::slice::from_ref(self.key_column(batch)?))?;
            for row in rows.iter() {
                for &i in candidates.get(row.data()).into_iter().flatten() {
                    found[i] = true;
                }
            }
        }
        Ok(found)
    }

    /// Records `probe`'s keys as appended after `batches`, unless one is stored already or
    /// repeated in `probe`: then nothing is recorded and their positions (ascending) come
    /// back. One hash probe per key (the check and the insert are the same probe). If the
    /// append then fails, `invalidate`.
    pub fn add_new(
        &mut self,
        batches: &[RecordBatch],
        probe: &ArrayRef,
    ) -> Result<Vec<usize>, ArrowError> {
        self.catch_up(batches)?;
        if self.exact && !overlaps(self.range, value_range(probe)) {
            // Nothing stored lies in the new keys' range: only repeats among them can clash.
            let bad = self.repeats(probe)?;
            if bad.is_empty() {
                self.record(probe)?;
            }
            return Ok(bad);
        }
        if self.exact {
            self.build(batches)?;
            let digests = self.digests_of(probe)?;
            let mut bad = Vec::new();
            for (i, d) in digests.iter().enumerate() {
                if !self.digests.insert(*d) {
                    bad.push(i);
                }
            }
            if !bad.is_empty() {
                // Take back what this call added: every digest but the refused ones.
                let refused: HashSet<usize> = bad.iter().copied().collect();
                for (i, d) in digests.iter().enumerate() {
                    if !refused.contains(&i) {
                        self.digests.remove(d);
                    }
                }
                return Ok(bad);
            }
            self.range = merge(self.range, value_range(probe));
            self.rows += probe.len();
        } else {
            let mut bad = self.repeats(probe)?;
            let found = self.lookup(batches, probe)?;
            bad.extend(
                found
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| **f)
                    .map(|(i, _)| i),
            );
            if !bad.is_empty() {
                bad.sort_unstable();
                bad.dedup();
                return Ok(bad);
            }
            self.record(probe)?;
        }
        Ok(Vec::new())
    }

    /// Positions of the keys of `probe` that occur earlier in `probe` itself.
    pub fn repeats(&self, probe: &ArrayRef) -> Result<Vec<usize>, ArrowError> {
        if self.exact && strictly_increasing(probe) {
            return Ok(Vec::new());
        }
        if self.exact {
            let digests = self.digests_of(probe)?;
            let mut seen: HashSet<u64, foldhash::fast::RandomState> =
                HashSet::with_capacity_and_hasher(digests.len(), Default::default());
            return Ok((0..digests.len())
                .filter(|&i| !seen.insert(digests[i]))
                .collect());
        }
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

    /// Indexes `keys`, appended after what is indexed.
    fn record(&mut self, keys: &ArrayRef) -> Result<(), ArrowError> {
        if self.built {
            let digests = self.digests_of(keys)?;
            self.digests.extend(digests);
        }
        self.range = merge(self.range, value_range(keys));
        self.rows += keys.len();
        Ok(())
    }

    /// Fills the set from `batches` (all indexed), if it isn't already.
    fn build(&mut self, batches: &[RecordBatch]) -> Result<(), ArrowError> {
        if self.built {
            return Ok(());
        }
        for batch in batches {
            let digests = self.digests_of(self.key_column(batch)?)?;
            self.digests.extend(digests);
        }
        self.built = true;
        Ok(())
    }

    fn catch_up(&mut self, batches: &[RecordBatch]) -> Result<(), ArrowError> {
        if self.stale {
            self.digests.clear();
            self.built = !self.exact;
            self.range = None;
            self.rows = 0;
            self.stale = false;
        }
        let mut skip = self.rows;
        for batch in batches {
            if skip >= batch.num_rows() {
                skip -= batch.num_rows();
                continue;
            }
            let new = self.key_column(batch)?.slice(skip, batch.num_rows() - skip);
            skip = 0;
            self.record(&new)?;
        }
        Ok(())
    }

    fn key_column<'b>(&self, batch: &'b RecordBatch) -> Result<&'b ArrayRef, ArrowError> {
        let column = batch.column(self.column);
        if column.null_count() > 0 {
            return Err(ArrowError::InvalidArgumentError(
                "a key column holds nulls".into(),
            ));
        }
        Ok(column)
    }

    /// One digest per key: the value itself for integer-like keys, else a hash of its row.
    fn digests_of(&self, keys: &ArrayRef) -> Result<Vec<u64>, ArrowError> {
        if let Some(values) = exact_digests(keys) {
            return Ok(values);
        }
        let rows = self.converter.convert_columns(std::slice::from_ref(keys))?;
        Ok(rows.iter().map(|r| self.state.hash_one(r.data())).collect())
    }
}

fn integer_like(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Date32
            | DataType::Timestamp(..)
    )
}

/// `$f::<P>($keys)` for the Arrow primitive type `P` of integer-like keys, else `$other`.
macro_rules! by_integer_type {
    ($f:ident, $keys:expr, $other:expr) => {
        match $keys.data_type() {
            DataType::Int16 => $f::<Int16Type>($keys),
            DataType::Int32 => $f::<Int32Type>($keys),
            DataType::Date32 => $f::<Date32Type>($keys),
            DataType::Int64 => $f::<Int64Type>($keys),
            DataType::UInt16 => $f::<UInt16Type>($keys),
            DataType::UInt32 => $f::<UInt32Type>($keys),
            DataType::UInt64 => $f::<UInt64Type>($keys),
            DataType::Timestamp(TimeUnit::Second, _) => $f::<TimestampSecondType>($keys),
            DataType::Timestamp(TimeUnit::Millisecond, _) => $f::<TimestampMillisecondType>($keys),
            DataType::Timestamp(TimeUnit::Microsecond, _) => $f::<TimestampMicrosecondType>($keys),
            DataType::Timestamp(TimeUnit::Nanosecond, _) => $f::<TimestampNanosecondType>($keys),
            _ => $other,
        }
    };
}

/// The keys as 64-bit values, one-to-one within a type; `None` for other types.
fn exact_digests(keys: &ArrayRef) -> Option<Vec<u64>> {
    fn digests<P: ArrowPrimitiveType>(keys: &ArrayRef) -> Option<Vec<u64>>
    where
        P::Native: Into<i128>,
    {
        // Through i128, so signed values keep their two's complement bits and u64 its own.
        let values = keys.as_primitive::<P>().values();
        Some(values.iter().map(|v| (*v).into() as u64).collect())
    }
    by_integer_type!(digests, keys, None)
}

/// The least and greatest value of integer-like `keys` (`None` for other types or no keys).
fn value_range(keys: &ArrayRef) -> Option<(i128, i128)> {
    fn bounds<P: ArrowPrimitiveType>(keys: &ArrayRef) -> Option<(i128, i128)>
    where
        P::Native: Into<i128> + Ord,
    {
        let values = keys.as_primitive::<P>().values();
        let min = values.iter().min()?;
        let max = values.iter().max()?;
        Some(((*min).into(), (*max).into()))
    }
    by_integer_type!(bounds, keys, None)
}

/// Whether integer-like `keys` strictly increase (so none repeats: the common case of ids
/// handed out in order, checked in one pass instead of a hash set).
fn strictly_increasing(keys: &ArrayRef) -> bool {
    fn check<P: ArrowPrimitiveType>(keys: &ArrayRef) -> bool
    where
        P::Native: Ord,
    {
        keys.as_primitive::<P>()
            .values()
            .windows(2)
            .all(|w| w[0] < w[1])
    }
    by_integer_type!(check, keys, false)
}

/// Whether two value ranges share a value (`None`, no keys, shares none).
fn overlaps(a: Option<(i128, i128)>, b: Option<(i128, i128)>) -> bool {
    match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => a0 <= b1 && b0 <= a1,
        _ => false,
    }
}

fn merge(a: Option<(i128, i128)>, b: Option<(i128, i128)>) -> Option<(i128, i128)> {
    match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
        (a, None) => a,
        (None, b) => b,
    }
}
