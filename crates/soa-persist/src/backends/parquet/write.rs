//! Writes: rows split by partition into complete Parquet files (encoded on blocking threads,
//! stored atomically, not yet live), then made live by one commit record: `save` replaces,
//! `append` adds (once per write id), `delete` rewrites the files that held matching rows,
//! `upsert` does both in one commit, `clear` starts from empty.

use std::sync::Arc;

use bytes::Bytes;
use futures::{FutureExt, StreamExt, stream};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::WriterProperties;
use soa_persist_api::exec::{
    ScanPlan, cast_exact, conform, delete_from, key_predicate, key_values, last_of_equal_keys,
};
use soa_persist_api::{PersistError, Scan, WriteId};
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::datatypes::{DataType, Schema, TimeUnit};
use soa_persist_core::error::ConvertError;
use soa_persist_core::query::{Expr, Predicate};
use soa_persist_core::schema::{key_field, partition_fields};
use soa_persist_core::soa::SoA;
use soa_persist_core::store::Keyed;

use super::layout::{self, partition_dir, split_by_partition};
use super::log::{self, Committed, FileEntry, Next, Record, Snapshot};
use super::prune::{may_match, pruning_form};
use super::read::{decode_blocking, partition_range};
use super::spark::spark_cast;
use super::storage::NAME;
use super::{ParquetPersistence, join_error, parallelism};

/// One file to write: its rows, partition values and path.
type Job = (RecordBatch, layout::PartitionValues, String);

/// What a delete rewrote: the files it replaces, their replacements, the rows it removed.
#[derive(Default)]
struct Rewrite {
    removed: Vec<String>,
    written: Vec<FileEntry>,
    rows: u64,
}

impl<T: SoA> ParquetPersistence<T> {
    /// Encodes rows into Parquet files and writes them (not yet live: no commit refers to them).
    pub(super) async fn write_files(
        &self,
        batches: Vec<RecordBatch>,
    ) -> Result<Vec<FileEntry>, PersistError> {
        let props = self
            .options
            .writer_properties(key_field(&T::arrow_schema()))?;
        let jobs = self.jobs(batches)?;
        // Every value was checked before the first file is written: a refusal writes nothing.
        self.log.ensure().await?;
        // Encoding is CPU-bound: files are encoded on blocking threads, one per core at a time.
        let mut encoded = stream::iter(jobs.into_iter().map(|(chunk, values, path)| {
            let props = props.clone();
            tokio::task::spawn_blocking(move || encode(&chunk, &props, path, values))
                .map(|r| r.map_err(|e| join_error(e, "encoding a file")))
        }))
        .buffered(parallelism());
        let mut files = Vec::new();
        while let Some(result) = encoded.next().await {
            let (bytes, entry) = result??;
            self.storage.put(&entry.path, bytes).await?;
            files.push(entry);
        }
        Ok(files)
    }

    /// The files `batches` become: conformed to `T` (and the Spark profile), split by
    /// partition values (each checked) and by the rows-per-file limit.
    fn jobs(&self, batches: Vec<RecordBatch>) -> Result<Vec<Job>, PersistError> {
        let schema = T::arrow_schema();
        let partition: Vec<&str> = partition_fields(&schema);
        let max = self.options.max_rows_per_file.max(1);
        let mut jobs = Vec::new();
        for batch in batches.into_iter().filter(|b| b.num_rows() > 0) {
            let batch = conform::<T>(batch)?;
            let batch = if self.options.spark_compatible {
                spark_cast(&batch)?
            } else {
                batch
            };
            for (values, part) in split_by_partition(&batch, &partition)? {
                layout::check_partition_values(&values)?;
                for start in (0..part.num_rows()).step_by(max) {
                    let chunk = part.slice(start, max.min(part.num_rows() - start));
                    let path = format!(
                        "{}part-{}.parquet",
                        partition_dir(&values),
                        uuid::Uuid::new_v4().simple()
                    );
                    jobs.push((chunk, values.clone(), path));
                }
            }
        }
        Ok(jobs)
    }

    /// Replaces everything with `batches`, as one commit.
    pub(super) async fn save_all(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        let files = self.write_files(batches).await?;
        self.log
            .commit(self.options.commit_attempts, |_| {
                Ok(Next::Commit(Record {
                    replace: true,
                    add: files.clone(),
                    ..Record::new("save", T::schema_fingerprint())
                }))
            })
            .await?;
        Ok(())
    }

    /// Appends as one commit; with a write id, only if that write is not committed yet.
    pub(super) async fn append_as(
        &self,
        batches: Vec<RecordBatch>,
        id: Option<&WriteId>,
    ) -> Result<bool, PersistError> {
        if let Some(id) = id
            && self.log.current().await?.is_some_and(|s| s.committed(id))
        {
            return Ok(false);
        }
        let files = self.write_files(batches).await?;
        let outcome = self
            .log
            .commit(self.options.commit_attempts, |current| {
                if let Some(id) = id
                    && current.committed(id)
                {
                    // An earlier attempt whose answer was lost committed this write.
                    return Ok(Next::Skip);
                }
                // `write_files` created the log (adopting what was there) before writing, so
                // no adopted state can already list these files.
                Ok(Next::Commit(Record {
                    add: files.clone(),
                    write: id.map(|id| log::WriteMark {
                        writer: id.writer.clone(),
                        seq: id.seq,
                    }),
                    ..Record::new("append", T::schema_fingerprint())
                }))
            })
            .await?;
        match outcome {
            Committed::Version(_) => Ok(true),
            Committed::Skipped => {
                // Our copies of the rows are orphans nobody refers to: best-effort cleanup.
                self.remove_orphans(&files).await;
                Ok(false)
            }
        }
    }

    /// Deletes the rows matching `predicate`: the files holding some are rewritten without
    /// them, and one commit swaps them, valid only against the version they were read from.
    pub(super) async fn delete_matching(
        &self,
        predicate: &Predicate<T>,
    ) -> Result<u64, PersistError> {
        self.rewrite_and_add(predicate, Vec::new(), "delete").await
    }

    /// Upsert: the files holding these keys rewritten without them, plus files of `batches`
    /// (the last row of equal keys), swapped in by one commit.
    pub(super) async fn upsert_all(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError>
    where
        T: Keyed,
    {
        let batches = last_of_equal_keys::<T>(batches)?;
        let predicate = key_predicate::<T>(&key_values::<T>(&batches)?);
        self.rewrite_and_add(&predicate, batches, "upsert")
            .await
            .map(drop)
    }

    /// One commit that removes the rows matching `predicate` (rewriting their files) and adds
    /// `adding`; returns the rows removed. Retried from a fresh snapshot when another commit
    /// lands first, since rewritten files are only valid against the version they came from.
    async fn rewrite_and_add(
        &self,
        predicate: &Predicate<T>,
        adding: Vec<RecordBatch>,
        operation: &'static str,
    ) -> Result<u64, PersistError> {
        for _ in 0..self.options.commit_attempts.max(1) {
            let Some(snapshot) = self.snapshot().await? else {
                if adding.is_empty() {
                    return Ok(0);
                }
                return self.append_as(adding, None).await.map(|_| 0);
            };
            let rewrite = self.rewrite_without(&snapshot, predicate).await?;
            if rewrite.rows == 0 && adding.is_empty() {
                return Ok(0);
            }
            let mut add = rewrite.written.clone();
            add.extend(self.write_files(adding.clone()).await?);
            let expected = snapshot.version;
            let result = self
                .log
                .commit(1, |current| {
                    if current.version != expected {
                        return Err(PersistError::conflict(
                            NAME,
                            format!("dataset changed during {operation}"),
                        ));
                    }
                    Ok(Next::Commit(Record {
                        remove: rewrite.removed.clone(),
                        add: add.clone(),
                        ..Record::new(operation, T::schema_fingerprint())
                    }))
                })
                .await;
            match result {
                Ok(_) => return Ok(rewrite.rows),
                Err(PersistError::Conflict { .. }) => self.remove_orphans(&add).await,
                Err(e) => return Err(e),
            }
        }
        Err(PersistError::conflict(
            NAME,
            format!("{operation} kept losing to concurrent commits"),
        ))
    }

    /// New files for the live files of `snapshot` that hold rows matching `predicate`.
    async fn rewrite_without(
        &self,
        snapshot: &Snapshot,
        predicate: &Predicate<T>,
    ) -> Result<Rewrite, PersistError> {
        let schema = T::arrow_schema();
        let all = std::sync::Arc::new(ScanPlan::new(Scan::<T>::all()));
        let everything = std::sync::Arc::new(Expr::True);
        let pruning = pruning_form(predicate.expr());
        let mut rewrite = Rewrite::default();
        for file in &snapshot.files {
            if !may_match(&pruning, &|path| partition_range(&schema, file, path)) {
                continue;
            }
            let bytes = self.storage.get(&file.path).await?;
            let batches = decode_blocking::<T>(
                file.clone(),
                bytes,
                all.clone(),
                everything.clone(),
                self.footers.clone(),
            )
            .await?;
            let left = delete_from(&batches, predicate)?;
            if left.rows > 0 {
                rewrite.rows += left.rows;
                rewrite.removed.push(file.path.clone());
                rewrite.written.extend(self.write_files(left.kept).await?);
            }
        }
        Ok(rewrite)
    }

    /// Starts from an empty dataset, as one commit.
    pub(super) async fn clear_all(&self) -> Result<(), PersistError> {
        self.log.ensure().await?;
        self.log
            .commit(self.options.commit_attempts, |_| {
                Ok(Next::Commit(Record {
                    replace: true,
                    ..Record::new("clear", T::schema_fingerprint())
                }))
            })
            .await?;
        Ok(())
    }

    /// Best effort: files no commit refers to are only garbage (`vacuum` finds them later).
    async fn remove_orphans(&self, files: &[FileEntry]) {
        for f in files {
            let _ = self.storage.delete(&f.path).await;
        }
    }
}

/// Writes one Parquet file into memory.
fn encode(
    batch: &RecordBatch,
    props: &WriterProperties,
    path: String,
    partition: layout::PartitionValues,
) -> Result<(Bytes, FileEntry), PersistError> {
    let write_err = |e: parquet::errors::ParquetError| {
        PersistError::backend(NAME, format!("encoding {path}: {e}"), false).with_source(e)
    };
    let batch = &seconds_as_millis(batch)?;
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, batch.schema(), Some(props.clone()))
        .map_err(write_err)?;
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
