//! Rows to shards on the client: a row goes to shard `sipHash64(key) % shards`, the
//! `Distributed` table's own rule for integer and string keys (other key types hash their
//! Arrow bytes: a row's shard is still a function of its key), so a cluster's appends go to
//! every shard's `MergeTree` table at once instead of through the `Distributed` table. Rows cut
//! by partition too, for inserts whose every block must be one part (`once.rs`).

use std::collections::HashMap;
use std::hash::Hasher;

use soa_persist_api::PersistError;
use soa_persist_core::arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use soa_persist_core::arrow::compute::take_record_batch;
use soa_persist_core::arrow::datatypes::DataType;
use soa_persist_core::arrow::error::ArrowError;
use soa_persist_core::arrow::row::{RowConverter, SortField};

use super::NAME;

/// ClickHouse's `sipHash64`: SipHash-2-4 with zero keys over the value's bytes.
#[allow(deprecated)] // std's SipHasher is that function; the replacement is not public
fn sip_hash64(bytes: &[u8]) -> u64 {
    let mut h = std::hash::SipHasher::new_with_keys(0, 0);
    h.write(bytes);
    h.finish()
}

/// The shard of each row of `key` (by position without a key, as the `Distributed` table
/// spreads such rows at random).
pub(crate) fn shard_of_rows(key: Option<&dyn Array>, rows: usize, shards: usize) -> Vec<usize> {
    let n = shards as u64;
    let by_hash = |hashes: Vec<u64>| hashes.into_iter().map(|h| (h % n) as usize).collect();
    let Some(key) = key else {
        return (0..rows).map(|i| i % shards).collect();
    };
    match key.data_type() {
        DataType::Utf8 => by_hash(hash_each(key.as_string::<i32>().iter(), str::as_bytes)),
        DataType::LargeUtf8 => by_hash(hash_each(key.as_string::<i64>().iter(), str::as_bytes)),
        DataType::Binary => by_hash(hash_each(key.as_binary::<i32>().iter(), |v| v)),
        DataType::LargeBinary => by_hash(hash_each(key.as_binary::<i64>().iter(), |v| v)),
        DataType::FixedSizeBinary(_) => {
            by_hash(hash_each(key.as_fixed_size_binary().iter(), |v| v))
        }
        DataType::Boolean => by_hash(
            key.as_boolean()
                .iter()
                .map(|v| sip_hash64(&[u8::from(v.unwrap_or(false))]))
                .collect(),
        ),
        ty => match ty.primitive_width() {
            Some(width) => {
                let data = key.to_data();
                let values = &data.buffers()[0].as_slice()[data.offset() * width..];
                by_hash(
                    values
                        .chunks_exact(width)
                        .take(rows)
                        .map(sip_hash64)
                        .collect(),
                )
            }
            None => (0..rows).map(|i| i % shards).collect(),
        },
    }
}

fn hash_each<'a, V: ?Sized + 'a>(
    values: impl Iterator<Item = Option<&'a V>>,
    bytes: impl Fn(&'a V) -> &'a [u8],
) -> Vec<u64> {
    values
        .map(|v| v.map_or_else(|| sip_hash64(&[]), |v| sip_hash64(bytes(v))))
        .collect()
}

/// `batch` cut into one batch per shard (empty for a shard that gets no row), rows in order.
pub(crate) fn split(
    batch: &RecordBatch,
    key: Option<usize>,
    shards: usize,
) -> Result<Vec<RecordBatch>, PersistError> {
    if shards == 1 {
        return Ok(vec![batch.clone()]);
    }
    let column = key.map(|i| batch.column(i).as_ref());
    let owners = shard_of_rows(column, batch.num_rows(), shards);
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); shards];
    for (row, shard) in owners.into_iter().enumerate() {
        rows[shard].push(row as u32);
    }
    take_each(batch, rows)
}

/// `batch` cut into one batch per distinct value of `columns` (the partition fields), in the
/// order the values first appear: each piece lands in one partition, so one part.
pub(crate) fn by_partition(
    batch: &RecordBatch,
    columns: &[usize],
) -> Result<Vec<RecordBatch>, PersistError> {
    if columns.is_empty() {
        return Ok(vec![batch.clone()]);
    }
    let arrays: Vec<_> = columns.iter().map(|&i| batch.column(i).clone()).collect();
    let fields = arrays
        .iter()
        .map(|a| SortField::new(a.data_type().clone()))
        .collect();
    let values = RowConverter::new(fields)
        .and_then(|c| c.convert_columns(&arrays))
        .map_err(split_error)?;
    let mut groups = HashMap::new();
    let mut rows: Vec<Vec<u32>> = Vec::new();
    for (row, value) in values.iter().enumerate() {
        let group = *groups.entry(value).or_insert_with(|| {
            rows.push(Vec::new());
            rows.len() - 1
        });
        rows[group].push(row as u32);
    }
    take_each(batch, rows)
}

fn take_each(batch: &RecordBatch, rows: Vec<Vec<u32>>) -> Result<Vec<RecordBatch>, PersistError> {
    rows.into_iter()
        .map(|indices| take_record_batch(batch, &UInt32Array::from(indices)).map_err(split_error))
        .collect()
}

fn split_error(e: ArrowError) -> PersistError {
    PersistError::Backend {
        backend: NAME,
        message: format!("cutting rows by shard or partition: {e}"),
        retryable: false,
        source: None,
    }
}
