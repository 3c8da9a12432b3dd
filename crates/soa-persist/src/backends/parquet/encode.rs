//! Encoding rows into Parquet files: a partition's rows cut into files of at most
//! `max_rows_per_file` rows with fresh names, each encoded on a blocking thread into memory
//! (with its per-column sizes for the log) and stored complete, not yet live.

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, stream};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use soa_persist_api::PersistError;
use soa_persist_api::exec::cast_exact;
use soa_persist_core::arrow::array::{Array, ArrayRef, RecordBatch};
use soa_persist_core::arrow::datatypes::{DataType, Schema, TimeUnit};
use soa_persist_core::arrow::row::{RowConverter, SortField};
use soa_persist_core::error::ConvertError;

use super::layout::{self, Part, partition_dir};
use super::log::{self, FileEntry};
use super::storage::{NAME, Storage};
use super::{join_error, parallelism};

/// One file to write: its rows, partition values and path.
pub(super) type Job = (Part, layout::PartitionValues, String);

/// `part` (rows of one partition) as files of at most `max` rows, each with a fresh name.
pub(super) fn file_jobs(part: &Part, values: &layout::PartitionValues, max: usize) -> Vec<Job> {
    let max = max.max(1);
    (0..part.num_rows())
        .step_by(max)
        .map(|start| {
            let chunk = part.slice(start, max.min(part.num_rows() - start));
            let path = format!(
                "{}part-{}.parquet",
                partition_dir(values),
                uuid::Uuid::new_v4().simple()
            );
            (chunk, values.clone(), path)
        })
        .collect()
}

/// Encodes `jobs` and stores each file (complete, not yet live), returning their entries in
/// the jobs' order (the order rows are read back in). Encoding is CPU-bound: files are encoded
/// on blocking threads, one per core, plus one being stored meanwhile; a file is stored as soon
/// as it is encoded, and a slot that frees starts the next file without waiting for earlier
/// ones.
pub(super) async fn store_files(
    storage: &dyn Storage,
    jobs: Vec<Job>,
    props: &WriterProperties,
) -> Result<Vec<FileEntry>, PersistError> {
    let mut stored = stream::iter(
        jobs.into_iter()
            .enumerate()
            .map(|(i, (part, values, path))| {
                let props = props.clone();
                async move {
                    let (bytes, entry) =
                        tokio::task::spawn_blocking(move || encode(&part, &props, path, values))
                            .await
                            .map_err(|e| join_error(e, "encoding a file"))??;
                    storage.put(&entry.path, bytes).await?;
                    Ok::<_, PersistError>((i, entry))
                }
            }),
    )
    .buffer_unordered(parallelism() + 1);
    let mut files = Vec::new();
    while let Some(result) = stored.next().await {
        files.push(result?);
    }
    files.sort_unstable_by_key(|(i, _)| *i);
    Ok(files.into_iter().map(|(_, entry)| entry).collect())
}

/// Gathers a file's rows and writes them as one Parquet file into memory.
fn encode(
    part: &Part,
    props: &WriterProperties,
    path: String,
    partition: layout::PartitionValues,
) -> Result<(Bytes, FileEntry), PersistError> {
    let write_err = |e: parquet::errors::ParquetError| {
        PersistError::backend(NAME, format!("encoding {path}: {e}"), false).with_source(e)
    };
    let batch = &seconds_as_millis(&part.rows()?)?;
    let props = dictionary_choice(batch, props);
    // Room for the file up front: growing a buffer of hundreds of MiB copies it each time.
    let mut buffer = Vec::with_capacity(batch.get_array_memory_size() / 2);
    let mut writer =
        ArrowWriter::try_new(&mut buffer, batch.schema(), Some(props)).map_err(write_err)?;
    writer.write(batch).map_err(write_err)?;
    let meta = writer.close().map_err(write_err)?;
    let entry = FileEntry {
        rows: batch.num_rows() as u64,
        bytes: buffer.len() as u64,
        row_groups: meta.num_row_groups() as u64,
        partition,
        columns: column_sizes(&meta),
        path,
    };
    Ok((Bytes::from(buffer), entry))
}

/// Rows sampled per column to decide whether it is worth a dictionary.
const DICTIONARY_SAMPLE: usize = 32 * 1024;

/// `props` with dictionary encoding turned off for the top-level columns whose sample is
/// mostly distinct values (ids, timestamps, free text). The writer would otherwise hash every
/// value into a dictionary until it outgrows its page limit and then fall back to plain; the
/// large dictionary pages it leaves behind also have to be read whole by every lookup.
fn dictionary_choice(batch: &RecordBatch, props: &WriterProperties) -> WriterProperties {
    let n = batch.num_rows().min(DICTIONARY_SAMPLE);
    let mut builder: Option<parquet::file::properties::WriterPropertiesBuilder> = None;
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let path = ColumnPath::from(field.name().as_str());
        if !props.dictionary_enabled(&path) || !flat(field.data_type()) {
            continue;
        }
        if mostly_distinct(&column.slice(0, n)) {
            let b = builder
                .take()
                .unwrap_or_else(|| props.clone().into_builder());
            builder = Some(b.set_column_dictionary_enabled(path, false));
        }
    }
    builder.map_or_else(|| props.clone(), |b| b.build())
}

/// A type stored as one leaf column whose values can be compared as bytes.
fn flat(data_type: &DataType) -> bool {
    !(data_type.is_nested() || matches!(data_type, DataType::Dictionary(..)))
}

/// Whether at least three quarters of the non-null values of `sample` are distinct (judged
/// on at least a thousand of them).
fn mostly_distinct(sample: &ArrayRef) -> bool {
    let Ok(converter) = RowConverter::new(vec![SortField::new(sample.data_type().clone())]) else {
        return false;
    };
    let Ok(rows) = converter.convert_columns(std::slice::from_ref(sample)) else {
        return false;
    };
    let mut seen = std::collections::HashSet::with_capacity(rows.num_rows());
    let mut present = 0usize;
    for (i, row) in rows.iter().enumerate() {
        if sample.is_valid(i) {
            present += 1;
            seen.insert(row);
        }
    }
    present >= 1024 && seen.len() * 4 >= present * 3
}

/// Parquet has no seconds unit: the encoder would store `Timestamp(Second)` as a bare INT64 that
/// other readers take for an integer, so such columns are stored as milliseconds (exact; reads
/// convert back to the struct's unit).
pub(crate) fn seconds_as_millis(batch: &RecordBatch) -> Result<RecordBatch, PersistError> {
    let schema = batch.schema();
    if !schema
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Timestamp(TimeUnit::Second, _)))
    {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        match field.data_type() {
            DataType::Timestamp(TimeUnit::Second, tz) => {
                let millis = DataType::Timestamp(TimeUnit::Millisecond, tz.clone());
                columns.push(cast_exact(column, &millis).map_err(|e| {
                    PersistError::Convert(ConvertError::InvalidValue {
                        field: field.name().clone(),
                        row: 0,
                        detail: format!("seconds stored as milliseconds: {e}"),
                    })
                })?);
                fields.push(field.as_ref().clone().with_data_type(millis));
            }
            _ => {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields).with_metadata(schema.metadata().clone())),
        columns,
    )?)
}

/// Compressed and uncompressed bytes per top-level column, over every row group.
fn column_sizes(meta: &ParquetMetaData) -> Vec<log::ColumnSize> {
    let mut columns: Vec<log::ColumnSize> = Vec::new();
    for rg in meta.row_groups() {
        for col in rg.columns() {
            let name = col
                .column_descr()
                .path()
                .parts()
                .first()
                .cloned()
                .unwrap_or_default();
            let (compressed, uncompressed) = (
                col.compressed_size().max(0) as u64,
                col.uncompressed_size().max(0) as u64,
            );
            match columns.iter_mut().find(|c| c.name == name) {
                Some(c) => {
                    c.compressed += compressed;
                    c.uncompressed += uncompressed;
                }
                None => columns.push(log::ColumnSize {
                    name,
                    compressed,
                    uncompressed,
                }),
            }
        }
    }
    columns
}

#[cfg(test)]
mod tests {
    use std::ops::Range;
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::Duration;

    use bytes::Bytes;
    use futures::FutureExt;
    use futures::future::BoxFuture;
    use soa_persist_core::arrow::array::UInt64Array;

    use super::super::options::ParquetOptions;
    use super::super::storage::{Entry, LocalStorage};
    use super::*;

    /// Stores through `inner`, the first file written last (its put waits), so files finish
    /// out of order.
    #[derive(Debug)]
    struct SlowFirst {
        inner: LocalStorage,
        first: String,
    }

    impl Storage for SlowFirst {
        fn put(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<(), PersistError>> {
            let wait = path == self.first;
            let path = path.to_string();
            async move {
                if wait {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                self.inner.put(&path, bytes).await
            }
            .boxed()
        }
        fn put_new(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<bool, PersistError>> {
            self.inner.put_new(path, bytes)
        }
        fn get(&self, path: &str) -> BoxFuture<'_, Result<Bytes, PersistError>> {
            self.inner.get(path)
        }
        fn get_ranges(
            &self,
            path: &str,
            ranges: Vec<Range<u64>>,
        ) -> BoxFuture<'_, Result<Vec<Bytes>, PersistError>> {
            self.inner.get_ranges(path, ranges)
        }
        fn head(&self, path: &str) -> BoxFuture<'_, Result<Option<u64>, PersistError>> {
            self.inner.head(path)
        }
        fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<Entry>, PersistError>> {
            self.inner.list(prefix)
        }
        fn delete(&self, path: &str) -> BoxFuture<'_, Result<(), PersistError>> {
            self.inner.delete(path)
        }
        fn location(&self) -> String {
            self.inner.location()
        }
        fn local_root(&self) -> Option<PathBuf> {
            self.inner.local_root()
        }
    }

    #[tokio::test]
    async fn files_stored_out_of_order_come_back_in_the_jobs_order() {
        let dir = tempfile::tempdir().unwrap();
        let ids: ArrayRef = Arc::new(UInt64Array::from_iter_values(0..60));
        let batch = RecordBatch::try_from_iter([("id", ids)]).unwrap();
        let jobs = file_jobs(&Part::whole(batch), &Vec::new(), 10);
        let paths: Vec<String> = jobs.iter().map(|j| j.2.clone()).collect();
        let storage = SlowFirst {
            inner: LocalStorage::open(dir.path()).unwrap(),
            first: paths[0].clone(),
        };
        let props = ParquetOptions::default().writer_properties(None).unwrap();
        let files = store_files(&storage, jobs, &props).await.unwrap();
        let stored: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(stored, paths);
        assert!(files.iter().all(|f| f.rows == 10));
    }
}
