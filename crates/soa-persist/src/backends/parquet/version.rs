//! A read-only view of one version of a dataset, without its Rust struct: its files (with the
//! sizes the log recorded) and its rows as Arrow, in the schema of its files plus the partition
//! columns (text: their types live in the struct, not in the files).

use std::sync::Arc;

use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use soa_persist_api::PersistError;
use soa_persist_core::arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray, new_null_array};
use soa_persist_core::arrow::compute::cast;
use soa_persist_core::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::corrupt;
use super::log::{FileEntry, Snapshot};
use super::storage::Storage;

/// Compressed and uncompressed bytes of one column in one file, as the log recorded them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnBytes {
    /// The top-level column.
    pub name: String,
    /// Bytes on disk.
    pub compressed: u64,
    /// Bytes decoded.
    pub uncompressed: u64,
}

/// One committed data file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataFile {
    /// Path inside the dataset.
    pub path: String,
    /// Rows, by the log.
    pub rows: u64,
    /// Size in bytes, by the log.
    pub bytes: u64,
    /// Row groups, by the log.
    pub row_groups: u64,
    /// Partition column values from the folder names (`None`: null).
    pub partition: Vec<(String, Option<String>)>,
    /// Per-column sizes (empty for files adopted from other tools).
    pub columns: Vec<ColumnBytes>,
}

impl From<&FileEntry> for DataFile {
    fn from(f: &FileEntry) -> Self {
        Self {
            path: f.path.clone(),
            rows: f.rows,
            bytes: f.bytes,
            row_groups: f.row_groups,
            partition: f.partition.clone(),
            columns: f
                .columns
                .iter()
                .map(|c| ColumnBytes {
                    name: c.name.clone(),
                    compressed: c.compressed,
                    uncompressed: c.uncompressed,
                })
                .collect(),
        }
    }
}

/// One version of a dataset, read-only: it has no methods that write.
#[derive(Clone, Debug)]
pub struct DatasetVersion {
    storage: Arc<dyn Storage>,
    pub(super) state: Snapshot,
}

impl DatasetVersion {
    pub(super) fn new(storage: Arc<dyn Storage>, state: Snapshot) -> Self {
        Self { storage, state }
    }

    /// The version number.
    pub fn version(&self) -> u64 {
        self.state.version
    }

    /// The schema fingerprint the log recorded for this version (empty when none was).
    pub fn fingerprint(&self) -> &str {
        &self.state.fingerprint
    }

    /// The live files.
    pub fn files(&self) -> Vec<DataFile> {
        self.state.files.iter().map(DataFile::from).collect()
    }

    /// Rows in all live files, by the log.
    pub fn rows(&self) -> u64 {
        self.state.files.iter().map(|f| f.rows).sum()
    }

    /// A live file's Parquet footer.
    pub async fn footer(&self, path: &str) -> Result<ArrowReaderMetadata, PersistError> {
        let bytes = self.storage.get(path).await?;
        footer_of(path, &bytes)
    }

    /// The schema of the rows: the newest file's columns, then the partition columns as text.
    /// `None` when the version has no files.
    pub async fn schema(&self) -> Result<Option<SchemaRef>, PersistError> {
        let Some(last) = self.state.files.last() else {
            return Ok(None);
        };
        let footer = self.footer(&last.path).await?;
        Ok(Some(with_partitions(footer.schema(), last)))
    }

    /// Up to `limit` rows (all with `None`), file by file, in [`schema`](Self::schema)'s schema.
    pub async fn read(&self, limit: Option<usize>) -> Result<Vec<RecordBatch>, PersistError> {
        let Some(schema) = self.schema().await? else {
            return Ok(Vec::new());
        };
        let mut left = limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for f in &self.state.files {
            if left == 0 {
                break;
            }
            let bytes = self.storage.get(&f.path).await?;
            for batch in read_file(f, bytes, left)? {
                left = left.saturating_sub(batch.num_rows());
                out.push(conform(&schema, f, &batch)?);
            }
        }
        Ok(out)
    }

    /// Reads live file `path` in batches of `batch_rows`, each in `schema` (this version's
    /// [`schema`](Self::schema)): memory holds the file's bytes and one batch, for copying a
    /// dataset larger than memory.
    pub async fn file_batches(
        &self,
        path: &str,
        schema: SchemaRef,
        batch_rows: usize,
    ) -> Result<impl Iterator<Item = Result<RecordBatch, PersistError>> + Send + use<>, PersistError>
    {
        let f = self
            .state
            .files
            .iter()
            .find(|f| f.path == path)
            .cloned()
            .ok_or_else(|| {
                PersistError::invalid_input(
                    super::storage::NAME,
                    format!("{path} is not a file of version {}", self.version()),
                )
            })?;
        let bytes = self.storage.get(&f.path).await?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .map_err(|e| corrupt(&f.path, e))?
            .with_batch_size(batch_rows.max(1))
            .build()
            .map_err(|e| corrupt(&f.path, e))?;
        Ok(reader.map(move |b| conform(&schema, &f, &b.map_err(|e| corrupt(&f.path, e))?)))
    }

    /// The distinct values of column `column` (text, or a dictionary of text), in order of first
    /// appearance; `None` when there are more than `limit`. Reads only that column, file by file.
    pub async fn distinct_strings(
        &self,
        column: &str,
        limit: usize,
    ) -> Result<Option<Vec<String>>, PersistError> {
        let mut seen: Vec<String> = Vec::new();
        for f in &self.state.files {
            let bytes = self.storage.get(&f.path).await?;
            if !distinct_in_file(&f.path, bytes, column, &mut seen, limit)? {
                return Ok(None);
            }
        }
        Ok(Some(seen))
    }
}

/// Adds the distinct values of `column` (text, or a dictionary of text) in the Parquet file
/// `bytes` to `seen`, in order of first appearance, reading only that column; false once there
/// would be more than `limit`.
pub(crate) fn distinct_in_file(
    path: &str,
    bytes: Bytes,
    column: &str,
    seen: &mut Vec<String>,
    limit: usize,
) -> Result<bool, PersistError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| corrupt(path, e))?;
    let mask = ProjectionMask::columns(builder.parquet_schema(), [column]);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| corrupt(path, e))?;
    for batch in reader {
        let batch = batch.map_err(|e| corrupt(path, e))?;
        let Some(values) = batch.column_by_name(column) else {
            continue;
        };
        let text = cast(values, &DataType::Utf8)?;
        for v in text.as_string::<i32>().iter().flatten() {
            if !seen.iter().any(|s| s == v) {
                if seen.len() == limit {
                    return Ok(false);
                }
                seen.push(v.to_string());
            }
        }
    }
    Ok(true)
}

pub(crate) fn footer_of(path: &str, bytes: &Bytes) -> Result<ArrowReaderMetadata, PersistError> {
    ArrowReaderMetadata::load(bytes, ArrowReaderOptions::new()).map_err(|e| corrupt(path, e))
}

fn with_partitions(schema: &SchemaRef, file: &FileEntry) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    for (name, _) in &file.partition {
        if !fields.iter().any(|f| f.name() == name) {
            fields.push(Field::new(name, DataType::Utf8, true));
        }
    }
    Arc::new(Schema::new(fields).with_metadata(schema.metadata().clone()))
}

fn read_file(f: &FileEntry, bytes: Bytes, limit: usize) -> Result<Vec<RecordBatch>, PersistError> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| corrupt(&f.path, e))?
        .with_limit(limit)
        .build()
        .map_err(|e| corrupt(&f.path, e))?;
    reader.map(|b| b.map_err(|e| corrupt(&f.path, e))).collect()
}

/// The batch in `schema`: columns by name (missing ones null, others cast), partition values
/// from the file's folders.
fn conform(
    schema: &SchemaRef,
    f: &FileEntry,
    batch: &RecordBatch,
) -> Result<RecordBatch, PersistError> {
    let rows = batch.num_rows();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let partition = f.partition.iter().find(|(k, _)| k == field.name());
        let column = match (batch.column_by_name(field.name()), partition) {
            (Some(c), _) if c.data_type() == field.data_type() => c.clone(),
            (Some(c), _) => cast(c, field.data_type())?,
            (None, Some((_, Some(v)))) => cast(
                &(Arc::new(StringArray::from(vec![v.as_str(); rows])) as ArrayRef),
                field.data_type(),
            )?,
            (None, _) => new_null_array(field.data_type(), rows),
        };
        columns.push(column);
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}
