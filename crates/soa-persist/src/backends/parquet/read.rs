//! Reads: the live files pruned by partition values, each file's row groups pruned by their
//! statistics, only the needed columns decoded, partition columns added from the folder
//! names, the batch brought to the struct's schema, then the scan's remaining work
//! (`exec::ScanPlan`). Files decode on blocking threads, one per core, in order.

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use soa_persist_api::exec::{ScanPlan, conform, resolve_field};
use soa_persist_api::{BatchStream, PersistError, Scan};
use soa_persist_core::arrow::array::{Array, ArrayRef, RecordBatch, RecordBatchOptions};
use soa_persist_core::arrow::datatypes::{FieldRef, Schema, SchemaRef};
use soa_persist_core::query::{Expr, Predicate};
use soa_persist_core::schema::key_field;
use soa_persist_core::soa::SoA;

use super::bloom;
use super::footer::{Footer, FooterCache};
use super::layout::partition_column;
use super::log::FileEntry;
use super::prune::{ColumnRange, may_match, prunable, pruning_form};
use super::{ParquetPersistence, corrupt, join_error, parallelism};

/// Rows the decoder produces at a time when the scan asks for no batch size.
const DEFAULT_BATCH_ROWS: usize = 64 * 1024;

impl<T: SoA> ParquetPersistence<T> {
    /// Reads `files` through `scan`, as batches in `T`'s schema (projected).
    pub(super) async fn read(
        &self,
        files: Vec<FileEntry>,
        scan: Scan<T>,
    ) -> Result<BatchStream, PersistError> {
        // Pruning only skips what can't match, so the whole predicate remains to evaluate.
        let plan = Arc::new(ScanPlan::new(scan));
        let pruning = Arc::new(pruning_form(&plan.remaining));
        let storage = self.storage.clone();
        let footers = self.footers.clone();
        footers.keep_only(&files);
        let schema = T::arrow_schema();
        // A file whose footer is known is read only if a row group of it may match.
        let candidates: Vec<FileEntry> = files
            .into_iter()
            .filter(|f| may_match(&pruning, &|path| partition_range(&schema, f, path)))
            .filter(|f| {
                footers.get(&f.path).is_none_or(|footer| {
                    !matching_row_groups(&schema, f, &footer, &pruning, &plan.remaining).is_empty()
                })
            })
            .collect();
        let stream = stream::iter(candidates)
            .map(move |file| {
                let (storage, plan, pruning) = (storage.clone(), plan.clone(), pruning.clone());
                let footers = footers.clone();
                async move {
                    let bytes = storage.get(&file.path).await?;
                    decode_blocking::<T>(file, bytes, plan, pruning, footers).await
                }
            })
            // Files decode concurrently (one per core), in order; memory stays a few files.
            .buffered(parallelism())
            .map(|result| match result {
                Ok(batches) => stream::iter(batches.into_iter().map(Ok).collect::<Vec<_>>()),
                Err(e) => stream::iter(vec![Err(e)]),
            })
            .flatten();
        Ok(Box::pin(stream))
    }

    /// Every batch of the live files, or `None` when nothing was ever stored.
    pub(super) async fn load_all(&self) -> Result<Option<Vec<RecordBatch>>, PersistError> {
        let Some(snapshot) = self.snapshot().await? else {
            return Ok(None);
        };
        let stream = self.read(snapshot.files.clone(), Scan::all()).await?;
        Ok(Some(stream.try_collect().await?))
    }

    /// Rows matching `predicate`: the log's counts when every row does.
    pub(super) async fn count_matching(
        &self,
        predicate: &Predicate<T>,
    ) -> Result<u64, PersistError> {
        let Some(snapshot) = self.snapshot().await? else {
            return Ok(0);
        };
        if matches!(predicate.expr(), Expr::True) {
            return snapshot.rows();
        }
        let mut stream = self
            .read(snapshot.files.clone(), Scan::filter(predicate.clone()))
            .await?;
        let mut n = 0;
        while let Some(b) = stream.next().await {
            n += b?.num_rows() as u64;
        }
        Ok(n)
    }
}

/// Decodes one file on a blocking thread, its row groups pruned by `pruning` (the plan's
/// predicate in `pruning_form`); a panic in the decoder becomes `Corrupt`.
pub(super) async fn decode_blocking<T: SoA>(
    file: FileEntry,
    bytes: Bytes,
    plan: Arc<ScanPlan>,
    pruning: Arc<Expr>,
    footers: Arc<FooterCache>,
) -> Result<Vec<RecordBatch>, PersistError> {
    let what = format!("reading {}", file.path);
    tokio::task::spawn_blocking(move || {
        let footer = match footers.get(&file.path) {
            Some(footer) => footer,
            None => {
                let key = key_field(&T::arrow_schema()).map(str::to_string);
                let footer = Arc::new(Footer::load(&file, &bytes, key.as_deref())?);
                footers.insert(&file.path, footer.clone());
                footer
            }
        };
        decode_file::<T>(&file, bytes, &plan, &pruning, &footer)
    })
    .await
    .map_err(|e| join_error(e, &what))?
}

/// A file's partition column as a min = max range (for partition pruning).
pub(super) fn partition_range(
    schema: &Schema,
    file: &FileEntry,
    path: &[&'static str],
) -> Option<ColumnRange> {
    let [name] = path else { return None };
    let (_, value) = file.partition.iter().find(|(k, _)| k == name)?;
    let field = schema.field_with_name(name).ok()?;
    let one = partition_column(field, value.as_deref(), 1).ok()?;
    Some(ColumnRange {
        min: one.clone(),
        max: one,
        null_count: Some(if value.is_some() { 0 } else { file.rows }),
        rows: file.rows,
    })
}

/// Decodes one file: row groups pruned by statistics, columns pruned by the plan, then
/// partition columns added, the schema conformed to `T`, and the plan applied.
fn decode_file<T: SoA>(
    file: &FileEntry,
    bytes: Bytes,
    plan: &ScanPlan,
    pruning: &Expr,
    footer: &Footer,
) -> Result<Vec<RecordBatch>, PersistError> {
    let schema = T::arrow_schema();
    let row_groups = matching_row_groups(&schema, file, footer, pruning, &plan.remaining);
    if row_groups.is_empty() {
        return Ok(Vec::new());
    }
    let builder =
        ParquetRecordBatchReaderBuilder::new_with_metadata(bytes, footer.metadata.clone());
    let columns = FileColumns::new(&schema, file, builder.schema(), plan.columns());
    let reader = columns.reader(
        builder,
        row_groups,
        plan.batch_size.unwrap_or(DEFAULT_BATCH_ROWS),
        file,
    )?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| corrupt(&file.path, e))?;
        let batch = columns.assemble::<T>(&schema, file, &batch)?;
        out.extend(plan.apply(batch)?);
    }
    Ok(out)
}

/// The row groups of a file whose statistics (or partition values) may match `expr`.
/// Statistics first (`pruning`), then the bloom filters against the exact `predicate`.
fn matching_row_groups(
    schema: &Schema,
    file: &FileEntry,
    footer: &Footer,
    pruning: &Expr,
    predicate: &Expr,
) -> Vec<usize> {
    let metadata = &footer.metadata;
    (0..metadata.metadata().num_row_groups())
        .filter(|&rg| {
            may_match(pruning, &|path| {
                partition_range(schema, file, path).or_else(|| row_group_range(metadata, rg, path))
            })
        })
        .filter(|&rg| bloom::may_hold(footer, rg, predicate))
        .collect()
}

/// A column's min, max and null count in one row group, from its statistics; `None` when
/// they can't prune (no statistics, a float column, a nested path).
pub(super) fn row_group_range(
    reader: &ArrowReaderMetadata,
    rg: usize,
    path: &[&'static str],
) -> Option<ColumnRange> {
    let file_schema = reader.schema();
    let field = resolve_field(file_schema, path)?;
    // Statistics are converted per top-level column.
    let [name] = path else { return None };
    if !prunable(field.data_type()) {
        return None;
    }
    let metadata = reader.metadata();
    let conv = StatisticsConverter::try_new(name, file_schema, reader.parquet_schema()).ok()?;
    let group = std::iter::once(metadata.row_group(rg));
    let min = conv.row_group_mins(group.clone()).ok()?;
    let max = conv.row_group_maxes(group.clone()).ok()?;
    let nulls = conv.row_group_null_counts(group).ok()?;
    Some(ColumnRange {
        min,
        max,
        null_count: nulls.is_valid(0).then(|| nulls.value(0)),
        rows: metadata.row_group(rg).num_rows().max(0) as u64,
    })
}

/// Which of a file's columns are decoded and how they become the struct's.
struct FileColumns {
    /// The file holds every struct column (or its folder names do) in the struct's types: only
    /// the needed columns are decoded, and no conversion is needed.
    fast: bool,
    /// The columns the scan needs (`None`: all).
    wanted: Option<Vec<String>>,
    /// The file's columns that are decoded, in the file's order.
    read: Vec<FieldRef>,
    /// Their indices in the file, when only some are decoded.
    projection: Option<Vec<usize>>,
}

impl FileColumns {
    fn new(
        schema: &Schema,
        file: &FileEntry,
        file_schema: &SchemaRef,
        wanted: Option<Vec<String>>,
    ) -> Self {
        let partition = |name: &str| file.partition.iter().any(|(k, _)| k == name);
        let fast = file_schema.fields().iter().all(|f| {
            schema
                .field_with_name(f.name())
                .is_ok_and(|t| t.data_type() == f.data_type())
        }) && schema
            .fields()
            .iter()
            .all(|f| partition(f.name()) || file_schema.field_with_name(f.name()).is_ok());
        let projection = match &wanted {
            Some(wanted) if fast => Some(
                (0..file_schema.fields().len())
                    .filter(|&i| wanted.contains(file_schema.field(i).name()))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        };
        let read = match &projection {
            Some(indices) => indices
                .iter()
                .map(|&i| file_schema.fields()[i].clone())
                .collect(),
            None => file_schema.fields().iter().cloned().collect(),
        };
        Self {
            fast,
            wanted,
            read,
            projection,
        }
    }

    fn reader(
        &self,
        builder: ParquetRecordBatchReaderBuilder<Bytes>,
        row_groups: Vec<usize>,
        batch_size: usize,
        file: &FileEntry,
    ) -> Result<ParquetRecordBatchReader, PersistError> {
        let mut builder = builder
            .with_row_groups(row_groups)
            .with_batch_size(batch_size);
        if let Some(indices) = &self.projection {
            let mask = ProjectionMask::roots(builder.parquet_schema(), indices.iter().copied());
            builder = builder.with_projection(mask);
        }
        builder.build().map_err(|e| corrupt(&file.path, e))
    }

    /// A decoded batch in the struct's column order, partition columns added from the path;
    /// conformed to `T` unless the file already has its types.
    fn assemble<T: SoA>(
        &self,
        schema: &SchemaRef,
        file: &FileEntry,
        batch: &RecordBatch,
    ) -> Result<RecordBatch, PersistError> {
        let n = batch.num_rows();
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for field in schema.fields() {
            if let Some((_, value)) = file.partition.iter().find(|(k, _)| k == field.name()) {
                let unwanted = self
                    .wanted
                    .as_ref()
                    .is_some_and(|w| !w.contains(field.name()));
                if self.fast && unwanted {
                    continue;
                }
                fields.push(field.clone());
                columns.push(partition_column(field, value.as_deref(), n)?);
            } else if let Some(i) = self.read.iter().position(|f| f.name() == field.name()) {
                fields.push(if self.fast {
                    field.clone()
                } else {
                    self.read[i].clone()
                });
                columns.push(batch.column(i).clone());
            }
        }
        if !self.fast {
            // Columns the struct no longer has are kept so `conform` can ignore them by name.
            for (i, f) in self.read.iter().enumerate() {
                if schema.field_with_name(f.name()).is_err() {
                    fields.push(f.clone());
                    columns.push(batch.column(i).clone());
                }
            }
        }
        let assembled = RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields).with_metadata(schema.metadata().clone())),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )?;
        if self.fast {
            Ok(assembled)
        } else {
            conform::<T>(assembled)
        }
    }
}
