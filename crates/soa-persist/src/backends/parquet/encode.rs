//! Encoding rows into Parquet files: a partition's rows cut into files of at most
//! `max_rows_per_file` rows with fresh names, each encoded on a blocking thread into memory
//! (with its per-column sizes for the log; its columns on several threads when there are
//! fewer files than cores) and stored complete, not yet live.

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, stream};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, compute_leaves,
};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use soa_persist_api::PersistError;
use soa_persist_api::exec::{cast_exact, map_on_threads};
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
    // Fewer files than cores: each file's columns are encoded on several threads.
    let threads = (parallelism() / jobs.len().max(1)).max(1);
    let mut stored = stream::iter(
        jobs.into_iter()
            .enumerate()
            .map(|(i, (part, values, path))| {
                let props = props.clone();
                async move {
                    let (bytes, entry) = tokio::task::spawn_blocking(move || {
                        encode(&part, &props, path, values, threads)
                    })
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

/// Gathers a file's rows and writes them as one Parquet file into memory, on `threads`
/// threads.
fn encode(
    part: &Part,
    props: &WriterProperties,
    path: String,
    partition: layout::PartitionValues,
    threads: usize,
) -> Result<(Bytes, FileEntry), PersistError> {
    let write_err = |e: parquet::errors::ParquetError| {
        PersistError::backend(NAME, format!("encoding {path}: {e}"), false).with_source(e)
    };
    let batch = &seconds_as_millis(&part.rows()?)?;
    let props = dictionary_choice(batch, props);
    // Room for the file up front: growing a buffer of hundreds of MiB copies it each time.
    let mut buffer = Vec::with_capacity(batch.get_array_memory_size() / 2);
    let meta = write_file(&mut buffer, batch, props, threads).map_err(write_err)?;
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

/// Writes `batch` as one Parquet file into `out`. With more than one thread, each row group's
/// column chunks are encoded on up to `threads` threads (the writer's own settings, page
/// index and bloom filters included) and then spliced into the file in order.
fn write_file(
    out: &mut Vec<u8>,
    batch: &RecordBatch,
    props: WriterProperties,
    threads: usize,
) -> parquet::errors::Result<ParquetMetaData> {
    let group = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
    let mut writer = ArrowWriter::try_new(out, batch.schema(), Some(props))?;
    if threads < 2 || batch.num_columns() < 2 {
        writer.write(batch)?;
        return writer.close();
    }
    let (mut file, factory) = writer.into_serialized_writer()?;
    let schema = batch.schema();
    for (index, start) in (0..batch.num_rows()).step_by(group).enumerate() {
        let rows = batch.slice(start, group.min(batch.num_rows() - start));
        let mut leaves = Vec::new();
        for (field, column) in schema.fields().iter().zip(rows.columns()) {
            leaves.extend(compute_leaves(field, column)?);
        }
        let writers = factory.create_column_writers(index)?;
        let chunks = encode_columns(writers.into_iter().zip(leaves).collect(), threads)?;
        let mut row_group = file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
    }
    file.close()
}

/// Each column chunk encoded by one of up to `threads` threads, returned in order.
fn encode_columns(
    columns: Vec<(ArrowColumnWriter, ArrowLeafColumn)>,
    threads: usize,
) -> parquet::errors::Result<Vec<ArrowColumnChunk>> {
    map_on_threads(columns, threads, |(mut writer, leaf)| {
        writer.write(&leaf)?;
        writer.close()
    })
    .into_iter()
    .collect()
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
    use soa_persist_core::arrow::compute::concat_batches;

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

    /// A batch with a key, text with nulls, a list and a struct: every leaf kind.
    fn mixed(rows: usize) -> RecordBatch {
        use soa_persist_core::arrow::array::{
            Int32Array, ListArray, StringArray, StructArray, UInt64Array,
        };
        use soa_persist_core::arrow::datatypes::{Field, Int32Type};
        let ids: ArrayRef = Arc::new(UInt64Array::from_iter_values(0..rows as u64));
        let names: ArrayRef = Arc::new(StringArray::from_iter(
            (0..rows).map(|i| (i % 5 != 0).then(|| format!("name {}", i % 300))),
        ));
        let tags: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(
            (0..rows).map(|i| Some((0..(i % 4) as i32).map(Some).collect::<Vec<_>>())),
        ));
        let place: ArrayRef = Arc::new(StructArray::from(vec![(
            Arc::new(Field::new("zip", DataType::Int32, false)),
            Arc::new(Int32Array::from_iter_values(
                (0..rows as i32).map(|i| i * 7),
            )) as ArrayRef,
        )]));
        RecordBatch::try_from_iter([
            ("id", ids),
            ("name", names),
            ("tags", tags),
            ("place", place),
        ])
        .unwrap()
    }

    #[test]
    fn a_file_encoded_on_several_threads_matches_the_one_thread_file() {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        use parquet::file::reader::FileReader;
        use parquet::file::serialized_reader::{ReadOptionsBuilder, SerializedFileReader};

        let batch = mixed(25_000);
        let options = ParquetOptions {
            row_group_rows: 10_000,
            data_page_rows: 1_000,
            ..ParquetOptions::default()
        };
        let props = options.writer_properties(Some("id")).unwrap();
        let files: Vec<Bytes> = [1, 2, 3]
            .into_iter()
            .map(|threads| {
                let mut out = Vec::new();
                write_file(&mut out, &batch, props.clone(), threads).unwrap();
                Bytes::from(out)
            })
            .collect();
        for file in &files {
            let read: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(file.clone())
                .unwrap()
                .build()
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let read = concat_batches(&read[0].schema(), &read).unwrap();
            assert_eq!(read, batch);
            let reader = SerializedFileReader::new_with_options(
                file.clone(),
                ReadOptionsBuilder::new().with_page_index().build(),
            )
            .unwrap();
            let meta = reader.metadata();
            assert_eq!(meta.num_row_groups(), 3, "row groups of 10,000 rows");
            let index = meta.page_index().expect("a page index");
            assert!(index.column_index(2, 0).is_some() && index.offset_index(2, 3).is_some());
            for rg in meta.row_groups() {
                assert!(
                    rg.column(0).bloom_filter_offset().is_some(),
                    "the key's bloom filter"
                );
            }
        }
        // The same pages, statistics and filters: the same bytes but for the order of chunks.
        assert_eq!(files[0].len(), files[1].len());
        assert_eq!(files[1], files[2]);
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
