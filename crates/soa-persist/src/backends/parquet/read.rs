//! Reads: the live files pruned by partition values, each file's row groups pruned by their
//! statistics, only the needed columns decoded, partition columns added from the folder
//! names, the batch brought to the struct's schema, then the scan's remaining work
//! (`exec::ScanPlan`). Files decode on blocking threads, one per core, in order.
//!
//! Once a file's footer is cached, only the column chunks a read decodes are fetched, and a
//! predicate is evaluated while decoding (a `RowFilter`): its columns first, then only the
//! pages of the other columns that hold matching rows.

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder, RowFilter, RowSelection, RowSelectionPolicy, RowSelector,
};
use parquet::file::reader::ChunkReader;
use parquet::schema::types::SchemaDescriptor;
use soa_persist_api::exec::{ScanPlan, conform, resolve_field};
use soa_persist_api::{BatchStream, PersistError, Scan};
use soa_persist_core::arrow::array::{Array, ArrayRef, RecordBatch, RecordBatchOptions};
use soa_persist_core::arrow::datatypes::{FieldRef, Schema, SchemaRef};
use soa_persist_core::arrow::error::ArrowError;
use soa_persist_core::query::{Expr, Predicate, eval};
use soa_persist_core::schema::key_field;
use soa_persist_core::soa::SoA;

use super::bloom;
use super::chunk::{Fetched, needed_ranges};
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
                    let footer = match footers.get(&file.path) {
                        // A read that may be selective fetches the footer on its own first.
                        None if selective(&plan) => {
                            let schema = T::arrow_schema();
                            let key = key_field(&schema);
                            let footer = Arc::new(Footer::fetch(&*storage, &file, key).await?);
                            footers.insert(&file.path, footer.clone());
                            Some(footer)
                        }
                        cached => cached,
                    };
                    let ranges = footer
                        .as_ref()
                        .and_then(|f| selective_ranges::<T>(&file, f, &plan, &pruning));
                    let source = match (footer, ranges) {
                        (Some(footer), Some((row_groups, ranges))) => {
                            let parts = storage.get_ranges(&file.path, ranges.clone()).await?;
                            let fetched = Fetched::new(file.bytes, &ranges, parts);
                            Source::Part(fetched, footer, row_groups)
                        }
                        _ => Source::Whole(storage.get(&file.path).await?),
                    };
                    decode_blocking::<T>(file, source, plan, pruning, footers).await
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
        // Only the predicate's columns are decoded.
        let mut columns: Vec<String> = Vec::new();
        for path in predicate.expr().columns() {
            if !columns.iter().any(|c| c == path[0]) {
                columns.push(path[0].to_string());
            }
        }
        let scan = Scan::filter(predicate.clone()).project(columns);
        let mut stream = self.read(snapshot.files.clone(), scan).await?;
        let mut n = 0;
        while let Some(b) = stream.next().await {
            n += b?.num_rows() as u64;
        }
        Ok(n)
    }
}

/// What a read of one file fetched: all of it, or the column chunks it decodes (with the
/// cached footer they were computed from and the row groups they belong to).
pub(super) enum Source {
    Whole(Bytes),
    Part(Fetched, Arc<Footer>, Vec<usize>),
}

/// Whether a read may need only part of a file: it filters or projects.
fn selective(plan: &ScanPlan) -> bool {
    plan.projection.is_some() || !matches!(plan.remaining, Expr::True)
}

/// The row groups a read of `file` decodes and the byte ranges it needs, from its cached
/// footer; `None` when they are most of the file.
fn selective_ranges<T: SoA>(
    file: &FileEntry,
    footer: &Footer,
    plan: &ScanPlan,
    pruning: &Expr,
) -> Option<(Vec<usize>, Vec<std::ops::Range<u64>>)> {
    let schema = T::arrow_schema();
    let row_groups = matching_row_groups(&schema, file, footer, pruning, &plan.remaining);
    let columns = FileColumns::new(&schema, file, footer.metadata.schema(), plan.columns());
    let leaves = columns.leaves(footer.metadata.parquet_schema());
    let pages = page_selection(&footer.metadata, &row_groups, pruning);
    let parquet = footer.metadata.parquet_schema();
    let predicate = plan.remaining.columns();
    let filtered: Vec<usize> = (0..parquet.num_columns())
        .filter(|&leaf| {
            let root = parquet.get_column_root(leaf).name();
            predicate.iter().any(|path| path.first() == Some(&root))
        })
        .collect();
    let ranges = needed_ranges(
        footer.metadata.metadata(),
        &row_groups,
        leaves.as_deref(),
        (pages.as_ref(), &filtered),
        file.bytes,
    )?;
    Some((row_groups, ranges))
}

/// Decodes one file on a blocking thread, its row groups pruned by `pruning` (the plan's
/// predicate in `pruning_form`); a panic in the decoder becomes `Corrupt`.
pub(super) async fn decode_blocking<T: SoA>(
    file: FileEntry,
    source: Source,
    plan: Arc<ScanPlan>,
    pruning: Arc<Expr>,
    footers: Arc<FooterCache>,
) -> Result<Vec<RecordBatch>, PersistError> {
    let what = format!("reading {}", file.path);
    tokio::task::spawn_blocking(move || match source {
        Source::Part(fetched, footer, row_groups) => {
            decode_file::<T, _>(&file, fetched, &plan, Some(row_groups), &pruning, &footer)
        }
        Source::Whole(bytes) => {
            let footer = match footers.get(&file.path) {
                Some(footer) => footer,
                None => {
                    let key = key_field(&T::arrow_schema()).map(str::to_string);
                    let footer = Arc::new(Footer::load(&file, &bytes, key.as_deref())?);
                    footers.insert(&file.path, footer.clone());
                    footer
                }
            };
            decode_file::<T, _>(&file, bytes, &plan, None, &pruning, &footer)
        }
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

/// Decodes one file: row groups pruned by statistics, columns pruned by the plan, the
/// predicate evaluated while decoding where it can be, then partition columns added, the
/// schema conformed to `T`, and the rest of the plan applied.
fn decode_file<T: SoA, R: ChunkReader + 'static>(
    file: &FileEntry,
    reader: R,
    plan: &ScanPlan,
    row_groups: Option<Vec<usize>>,
    pruning: &Expr,
    footer: &Footer,
) -> Result<Vec<RecordBatch>, PersistError> {
    let schema = T::arrow_schema();
    // Already chosen when only their chunks were fetched.
    let row_groups = row_groups
        .unwrap_or_else(|| matching_row_groups(&schema, file, footer, pruning, &plan.remaining));
    if row_groups.is_empty() {
        return Ok(Vec::new());
    }
    let builder =
        ParquetRecordBatchReaderBuilder::new_with_metadata(reader, footer.metadata.clone());
    let columns = FileColumns::new(&schema, file, builder.schema(), plan.columns());
    let filter = columns.row_filter(file, builder.parquet_schema(), &plan.remaining);
    // A predicate evaluated by the decoder needs no second pass.
    let pushed;
    let plan = match filter {
        Some(_) => {
            pushed = ScanPlan {
                remaining: Expr::True,
                ..plan.clone()
            };
            &pushed
        }
        None => plan,
    };
    let pages = page_selection(&footer.metadata, &row_groups, pruning);
    let reader = columns.reader(
        builder,
        row_groups,
        plan.batch_size.unwrap_or(DEFAULT_BATCH_ROWS),
        (filter, pages),
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

/// The rows of `row_groups` (in that order) on pages whose column-index min/max may match
/// `pruning`, one predicate column at a time; `None` when the file has no column index or no
/// page can be skipped. The decoder then skips the other pages of every column it reads.
pub(super) fn page_selection(
    reader: &ArrowReaderMetadata,
    row_groups: &[usize],
    pruning: &Expr,
) -> Option<RowSelection> {
    let metadata = reader.metadata();
    let index = metadata.page_index()?.as_ref();
    let mut selection: Option<RowSelection> = None;
    let mut done: Vec<&str> = Vec::new();
    for path in pruning.columns() {
        let [name] = path else { continue };
        let prunable_field =
            resolve_field(reader.schema(), path).is_some_and(|f| prunable(f.data_type()));
        if done.contains(name) || !prunable_field {
            continue;
        }
        done.push(name);
        let Ok(conv) = StatisticsConverter::try_new(name, reader.schema(), reader.parquet_schema())
        else {
            continue;
        };
        let (Ok(mins), Ok(maxes), Ok(nulls), Ok(Some(rows))) = (
            conv.data_page_mins(index, row_groups),
            conv.data_page_maxes(index, row_groups),
            conv.data_page_null_counts(index, row_groups),
            conv.data_page_row_counts(index, metadata.row_groups(), row_groups),
        ) else {
            continue;
        };
        if [mins.len(), maxes.len(), nulls.len()] != [rows.len(); 3] || rows.null_count() > 0 {
            continue;
        }
        let selectors: Vec<RowSelector> = (0..rows.len())
            .map(|page| {
                let n = rows.value(page);
                let keep = may_match(pruning, &|p| {
                    (p == path).then(|| ColumnRange {
                        min: mins.slice(page, 1),
                        max: maxes.slice(page, 1),
                        null_count: nulls.is_valid(page).then(|| nulls.value(page)),
                        rows: n,
                    })
                });
                match keep {
                    true => RowSelector::select(n as usize),
                    false => RowSelector::skip(n as usize),
                }
            })
            .collect();
        let this = RowSelection::from(selectors);
        selection = Some(match selection {
            Some(s) => s.intersection(&this),
            None => this,
        });
    }
    selection.filter(|s| s.skipped_row_count() > 0)
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

    fn reader<R: ChunkReader + 'static>(
        &self,
        builder: ParquetRecordBatchReaderBuilder<R>,
        row_groups: Vec<usize>,
        batch_size: usize,
        (filter, pages): (Option<RowFilter>, Option<RowSelection>),
        file: &FileEntry,
    ) -> Result<ParquetRecordBatchReader, PersistError> {
        let mut builder = builder
            .with_row_groups(row_groups)
            .with_batch_size(batch_size);
        if let Some(indices) = &self.projection {
            let mask = ProjectionMask::roots(builder.parquet_schema(), indices.iter().copied());
            builder = builder.with_projection(mask);
        }
        if let Some(filter) = filter {
            builder = builder.with_row_filter(filter);
        }
        if let Some(pages) = pages {
            // Row by row (not a bitmask over whole pages): the skipped pages may not have been
            // fetched.
            builder = builder
                .with_row_selection(pages)
                .with_row_selection_policy(RowSelectionPolicy::Selectors);
        }
        builder.build().map_err(|e| corrupt(&file.path, e))
    }

    /// The leaf columns decoded (`None`: all), for fetching only their chunks.
    fn leaves(&self, parquet: &SchemaDescriptor) -> Option<Vec<usize>> {
        let roots = self.projection.as_ref()?;
        Some(
            (0..parquet.num_columns())
                .filter(|&leaf| roots.contains(&parquet.get_column_root_idx(leaf)))
                .collect(),
        )
    }

    /// `predicate` as a filter the decoder evaluates on its own columns before decoding the
    /// others (only the pages holding matching rows of those): when the file has the struct's
    /// types, the predicate reads none of the partition columns, and other columns are read.
    fn row_filter(
        &self,
        file: &FileEntry,
        parquet: &SchemaDescriptor,
        predicate: &Expr,
    ) -> Option<RowFilter> {
        if !self.fast || matches!(predicate, Expr::True) {
            return None;
        }
        let file_roots: Vec<&str> = (0..parquet.root_schema().get_fields().len())
            .map(|i| parquet.root_schema().get_fields()[i].name())
            .collect();
        let mut roots = Vec::new();
        for path in predicate.columns() {
            if file.partition.iter().any(|(k, _)| k == path[0]) {
                return None;
            }
            let root = file_roots.iter().position(|n| *n == path[0])?;
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        if roots.len() >= self.read.len() {
            return None;
        }
        let expr = predicate.clone();
        let filter = ArrowPredicateFn::new(ProjectionMask::roots(parquet, roots), move |batch| {
            eval::mask(&expr, &batch).map_err(|e| ArrowError::ComputeError(e.to_string()))
        });
        Some(RowFilter::new(vec![Box::new(filter)]))
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
