//! `ParquetPersistence`: a dataset of Parquet files in a folder or an object-store prefix.
//!
//! Writes: rows are split by the `#[soa(partition)]` columns into Hive folders, each part
//! written as a complete file (temporary name, fsync, rename on local disk; one atomic PUT on
//! object stores), then made live by a commit record in `_soa_log/` written create-if-absent.
//! Every `save`/`append`/`delete`/`clear` is all-or-nothing and durable when it returns.
//! Reads: partition pruning from folder values, row-group pruning from statistics, projection
//! pushdown, then exact filtering; `scan` streams file by file.

#[cfg(any(test, feature = "testing"))]
mod faulty;
pub mod fs;
mod layout;
mod log;
mod maintain;
mod prune;
pub mod storage;

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use bytes::Bytes;
use futures::{FutureExt, StreamExt, stream};
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::basic::{Compression as Codec, GzipLevel, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use soa_persist_core::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use soa_persist_core::arrow::compute::{CastOptions, cast_with_options};
use soa_persist_core::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use soa_persist_core::query::{Predicate, project};
use soa_persist_core::schema::partition_fields;
use soa_persist_core::soa::SoA;

#[cfg(any(test, feature = "testing"))]
pub use self::faulty::FaultyStorage;
use self::layout::{partition_column, partition_dir, split_by_partition};
use self::log::{Committed, FileEntry, Log, Next, Record, Snapshot};
use self::prune::{ColumnRange, may_match, prunable};
pub use self::storage::{Entry, LocalStorage, ObjectStorage, Storage};
pub use maintain::RepairReport;
use soa_persist_api::exec::conform;
use soa_persist_api::{
    BatchStream, ColumnStats, PersistError, Scan, SoAPersistence, Stats, WriteId,
};
use storage::NAME;

/// Parquet compression codec.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Compression {
    /// zstd at a level from 1 (fast) to 22 (small); the default, at level 3.
    Zstd(i32),
    Snappy,
    Lz4Raw,
    /// gzip at a level from 0 to 9.
    Gzip(u32),
    None,
}

/// Writer settings of a dataset.
#[derive(Clone, Debug)]
pub struct ParquetOptions {
    pub compression: Compression,
    /// Rows per row group (the unit of statistics pruning).
    pub row_group_rows: usize,
    /// Rows per file; larger writes become several files.
    pub max_rows_per_file: usize,
    /// Target size of a data page in bytes.
    pub data_page_bytes: usize,
    pub dictionary: bool,
    /// Page-level statistics and the page index (column and offset indexes).
    pub statistics: bool,
    /// Cast what Spark/Hive readers reject to what they accept (unsigned integers to wider
    /// signed ones, nanosecond timestamps to microseconds); reads cast back to the struct.
    pub spark_compatible: bool,
    /// Attempts before a commit that keeps losing to concurrent writers returns `Conflict`.
    pub commit_attempts: u32,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        Self {
            compression: Compression::Zstd(3),
            row_group_rows: 128 * 1024,
            max_rows_per_file: 1024 * 1024,
            data_page_bytes: 1024 * 1024,
            dictionary: true,
            statistics: true,
            spark_compatible: false,
            commit_attempts: 200,
        }
    }
}

impl ParquetOptions {
    fn writer_properties(&self) -> Result<WriterProperties, PersistError> {
        let bad = |e: parquet::errors::ParquetError| {
            PersistError::invalid_input(NAME, format!("invalid writer settings: {e}"))
                .with_source(e)
        };
        let codec = match self.compression {
            Compression::Zstd(level) => Codec::ZSTD(ZstdLevel::try_new(level).map_err(bad)?),
            Compression::Snappy => Codec::SNAPPY,
            Compression::Lz4Raw => Codec::LZ4_RAW,
            Compression::Gzip(level) => Codec::GZIP(GzipLevel::try_new(level).map_err(bad)?),
            Compression::None => Codec::UNCOMPRESSED,
        };
        Ok(WriterProperties::builder()
            .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
                log::WRITER_KEY.to_string(),
                concat!("soa-persist ", env!("CARGO_PKG_VERSION")).to_string(),
            )]))
            .set_compression(codec)
            .set_max_row_group_row_count(Some(self.row_group_rows.max(1)))
            .set_data_page_size_limit(self.data_page_bytes.max(1024))
            .set_dictionary_enabled(self.dictionary)
            .set_statistics_enabled(if self.statistics {
                EnabledStatistics::Page
            } else {
                EnabledStatistics::Chunk
            })
            .build())
    }
}

/// One committed data file on local disk.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveFile {
    pub path: std::path::PathBuf,
    pub rows: u64,
    /// Partition column values from the folder names (`None`: null); not stored in the file.
    pub partition: Vec<(String, Option<String>)>,
}

/// A Parquet dataset of rows of `T`; a cheap clonable handle.
pub struct ParquetPersistence<T> {
    storage: Arc<dyn Storage>,
    log: Arc<Log>,
    options: Arc<ParquetOptions>,
    _rows: PhantomData<fn() -> T>,
}

impl<T> Clone for ParquetPersistence<T> {
    fn clone(&self) -> Self {
        Self {
            storage: self.storage.clone(),
            log: self.log.clone(),
            options: self.options.clone(),
            _rows: PhantomData,
        }
    }
}

fn corrupt(path: &str, e: impl std::error::Error + Send + Sync + 'static) -> PersistError {
    PersistError::corrupt(NAME, format!("file {path}: {e}")).with_source(e)
}

impl<T: SoA> ParquetPersistence<T> {
    /// A dataset folder on local disk (created if missing).
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self, PersistError> {
        Ok(Self::with_storage(Arc::new(LocalStorage::open(
            path.as_ref(),
        )?)))
    }

    /// A dataset at a URL: `file:///path`, `memory://` (a fresh in-memory store), or — with the
    /// `s3`, `gcs`, `azure` features — `s3://bucket/prefix` etc., credentials from the
    /// environment as object_store reads them.
    pub fn open_url(url: &str) -> Result<Self, PersistError> {
        Self::open_url_with(
            url,
            std::env::vars().map(|(k, v)| (k.to_ascii_lowercase(), v)),
        )
    }

    /// Like `open_url`, with the object store's settings given here instead of read from the
    /// environment (keys as object_store names them: `aws_endpoint`, `aws_allow_http`,
    /// `aws_access_key_id`, ...).
    pub fn open_url_with<K, V>(
        url: &str,
        options: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, PersistError>
    where
        K: AsRef<str>,
        V: Into<String>,
    {
        if let Some(path) = url.strip_prefix("file://") {
            return Self::open(path);
        }
        let parsed = url::Url::parse(url).map_err(|e| {
            PersistError::invalid_input(NAME, format!("invalid dataset URL {url}: {e}"))
                .with_source(e)
        })?;
        let (store, prefix) = object_store::parse_url_opts(&parsed, options).map_err(|e| {
            PersistError::invalid_input(NAME, format!("can't open {url}: {e}")).with_source(e)
        })?;
        Ok(Self::with_storage(Arc::new(ObjectStorage::new(
            Arc::from(store),
            prefix,
            url,
        ))))
    }

    /// A dataset on any `Storage` (e.g. a `FaultyStorage` in tests).
    pub fn with_storage(storage: Arc<dyn Storage>) -> Self {
        Self {
            log: Arc::new(Log::new(storage.clone())),
            storage,
            options: Arc::new(ParquetOptions::default()),
            _rows: PhantomData,
        }
    }

    pub fn with_options(mut self, options: ParquetOptions) -> Self {
        self.options = Arc::new(options);
        self
    }

    pub fn options(&self) -> &ParquetOptions {
        &self.options
    }

    pub fn location(&self) -> String {
        self.storage.location()
    }

    /// The committed files of the current snapshot as local paths with their partition values,
    /// for engines that read the files themselves (DuckDB's `attach_parquet`); `None` when the
    /// dataset is not on local disk.
    pub async fn live_files(&self) -> Result<Option<Vec<LiveFile>>, PersistError> {
        let Some(root) = self.storage.local_root() else {
            return Ok(None);
        };
        let files = self.files().await?;
        Ok(Some(
            files
                .into_iter()
                .map(|f| LiveFile {
                    path: root.join(&f.path),
                    rows: f.rows,
                    partition: f.partition,
                })
                .collect(),
        ))
    }

    async fn snapshot(&self) -> Result<Option<Arc<Snapshot>>, PersistError> {
        self.log.latest().await
    }

    /// The live files of the newest version (none when nothing was stored).
    async fn files(&self) -> Result<Vec<FileEntry>, PersistError> {
        Ok(self
            .snapshot()
            .await?
            .map(|s| s.files.clone())
            .unwrap_or_default())
    }

    /// Encodes rows into Parquet files and writes them (not yet live: no commit refers to them).
    async fn write_files(&self, batches: Vec<RecordBatch>) -> Result<Vec<FileEntry>, PersistError> {
        let schema = T::arrow_schema();
        let partition: Vec<&str> = partition_fields(&schema);
        let props = self.options.writer_properties()?;
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
                let max = self.options.max_rows_per_file.max(1);
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

    /// Reads the live files, pruned by `predicate`, as batches in `T`'s schema (projected).
    async fn read(
        &self,
        files: Vec<FileEntry>,
        scan: Scan<T>,
    ) -> Result<BatchStream, PersistError> {
        let storage = self.storage.clone();
        let scan = Arc::new(scan);
        let schema = T::arrow_schema();
        let candidates: Vec<FileEntry> = files
            .into_iter()
            .filter(|f| {
                may_match(scan.predicate.expr(), &|path| {
                    partition_range(&schema, f, path)
                })
            })
            .collect();
        let stream = stream::iter(candidates)
            .map(move |file| {
                let (storage, scan) = (storage.clone(), scan.clone());
                async move {
                    let bytes = storage.get(&file.path).await?;
                    decode_blocking(file, bytes, scan).await
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
}

fn parallelism() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8)
}

/// A worker task that panicked met input it could not handle (a corrupt file): not a transient
/// failure. One that was cancelled (the runtime shutting down) may succeed on a retry.
fn join_error(e: tokio::task::JoinError, what: &str) -> PersistError {
    if e.is_panic() {
        PersistError::corrupt(NAME, format!("{what} failed: the decoder panicked ({e})"))
            .with_source(e)
    } else {
        PersistError::backend(NAME, format!("{what}: worker task cancelled: {e}"), true)
            .with_source(e)
    }
}

/// Decodes one file on a blocking thread; a panic in the decoder becomes `Corrupt`.
async fn decode_blocking<T: SoA>(
    file: FileEntry,
    bytes: Bytes,
    scan: Arc<Scan<T>>,
) -> Result<Vec<RecordBatch>, PersistError> {
    let what = format!("reading {}", file.path);
    tokio::task::spawn_blocking(move || decode_file::<T>(&file, bytes, &scan))
        .await
        .map_err(|e| join_error(e, &what))?
}

/// A file's partition column as a min = max range (for partition pruning).
fn partition_range(
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
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, batch.schema(), Some(props.clone()))
        .map_err(write_err)?;
    writer.write(batch).map_err(write_err)?;
    let meta = writer.close().map_err(write_err)?;
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
            match columns.iter_mut().find(|c| c.name == name) {
                Some(c) => {
                    c.compressed += col.compressed_size().max(0) as u64;
                    c.uncompressed += col.uncompressed_size().max(0) as u64;
                }
                None => columns.push(log::ColumnSize {
                    name,
                    compressed: col.compressed_size().max(0) as u64,
                    uncompressed: col.uncompressed_size().max(0) as u64,
                }),
            }
        }
    }
    let entry = FileEntry {
        rows: batch.num_rows() as u64,
        bytes: buffer.len() as u64,
        row_groups: meta.num_row_groups() as u64,
        partition,
        columns,
        path,
    };
    Ok((Bytes::from(buffer), entry))
}

/// Decodes one file: row groups pruned by statistics, columns pruned by the projection, then
/// partition columns added, the schema conformed to `T`, exact filtering and projection.
fn decode_file<T: SoA>(
    file: &FileEntry,
    bytes: Bytes,
    scan: &Scan<T>,
) -> Result<Vec<RecordBatch>, PersistError> {
    let schema = T::arrow_schema();
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| corrupt(&file.path, e))?;
    let file_schema = builder.schema().clone();
    let metadata = builder.metadata().clone();
    let parquet_schema = builder.parquet_schema().clone();

    // Row groups whose statistics may match.
    let expr = scan.predicate.expr();
    let row_groups: Vec<usize> = (0..metadata.num_row_groups())
        .filter(|&rg| {
            may_match(expr, &|path| {
                if let Some(r) = partition_range(&schema, file, path) {
                    return Some(r);
                }
                let [name] = path else { return None };
                let field = file_schema.field_with_name(name).ok()?;
                if !prunable(field.data_type()) {
                    return None;
                }
                let conv =
                    StatisticsConverter::try_new(name, &file_schema, &parquet_schema).ok()?;
                let group = std::iter::once(metadata.row_group(rg));
                let min = conv.row_group_mins(group.clone()).ok()?;
                let max = conv.row_group_maxes(group.clone()).ok()?;
                let nulls = conv.row_group_null_counts(group).ok()?;
                let rows = metadata.row_group(rg).num_rows().max(0) as u64;
                Some(ColumnRange {
                    min,
                    max,
                    null_count: nulls.is_valid(0).then(|| nulls.value(0)),
                    rows,
                })
            })
        })
        .collect();
    if row_groups.is_empty() {
        return Ok(Vec::new());
    }

    // Columns to read: the projection and what the predicate needs, when the file has them in
    // the struct's types; otherwise everything, conformed below.
    let partition_names: Vec<&str> = file.partition.iter().map(|(k, _)| k.as_str()).collect();
    let wanted: Option<Vec<String>> = scan.projection.as_ref().map(|p| {
        let mut cols = p.clone();
        for path in expr.columns() {
            if let Some(first) = path.first()
                && !cols.iter().any(|c| c == first)
            {
                cols.push(first.to_string());
            }
        }
        cols
    });
    let fast = file_schema.fields().iter().all(|f| {
        schema
            .field_with_name(f.name())
            .is_ok_and(|t| t.data_type() == f.data_type())
    }) && schema.fields().iter().all(|f| {
        partition_names.contains(&f.name().as_str())
            || file_schema.field_with_name(f.name()).is_ok()
    });
    let mut builder = builder
        .with_row_groups(row_groups)
        .with_batch_size(scan.batch_size.unwrap_or(64 * 1024));
    let mut read_fields: Vec<Arc<Field>> = file_schema.fields().iter().cloned().collect();
    if fast && let Some(wanted) = &wanted {
        let indices: Vec<usize> = (0..file_schema.fields().len())
            .filter(|&i| wanted.contains(file_schema.field(i).name()))
            .collect();
        read_fields = indices
            .iter()
            .map(|&i| file_schema.fields()[i].clone())
            .collect();
        builder = builder.with_projection(ProjectionMask::roots(&parquet_schema, indices));
    }
    let reader = builder.build().map_err(|e| corrupt(&file.path, e))?;

    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| corrupt(&file.path, e))?;
        let n = batch.num_rows();
        // Reassemble in the struct's column order, adding partition columns from the path.
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for field in schema.fields() {
            if let Some((_, value)) = file.partition.iter().find(|(k, _)| k == field.name()) {
                if fast && wanted.as_ref().is_some_and(|w| !w.contains(field.name())) {
                    continue;
                }
                fields.push(field.clone());
                columns.push(partition_column(field, value.as_deref(), n)?);
            } else if let Some(i) = read_fields.iter().position(|f| f.name() == field.name()) {
                fields.push(if fast {
                    field.clone()
                } else {
                    read_fields[i].clone()
                });
                columns.push(batch.column(i).clone());
            }
        }
        if !fast {
            // Columns the struct no longer has are kept so `conform` can ignore them by name.
            for (i, f) in read_fields.iter().enumerate() {
                if schema.field_with_name(f.name()).is_err() {
                    fields.push(f.clone());
                    columns.push(batch.column(i).clone());
                }
            }
        }
        let assembled = RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields).with_metadata(schema.metadata().clone())),
            columns,
            &soa_persist_core::arrow::array::RecordBatchOptions::new().with_row_count(Some(n)),
        )?;
        let conformed = if fast {
            assembled
        } else {
            conform::<T>(assembled)?
        };
        let filtered = scan.predicate.filter(&conformed)?;
        if filtered.num_rows() == 0 {
            continue;
        }
        out.push(match &scan.projection {
            Some(cols) => project(&filtered, cols)?,
            None => filtered,
        });
    }
    Ok(out)
}

/// The Spark/Hive compatibility profile: unsigned integers to wider signed types (UInt64 to
/// Int64 when every value fits, else an error), nanosecond timestamps to microseconds (exact
/// values only), view types to plain ones.
fn spark_cast(batch: &RecordBatch) -> Result<RecordBatch, PersistError> {
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let target = match field.data_type() {
            DataType::UInt8 | DataType::UInt16 => Some(DataType::Int32),
            DataType::UInt32 | DataType::UInt64 => Some(DataType::Int64),
            DataType::Timestamp(TimeUnit::Nanosecond, tz) => {
                let values = column
                    .as_primitive::<soa_persist_core::arrow::datatypes::TimestampNanosecondType>();
                if let Some(row) = values.iter().position(|v| v.is_some_and(|v| v % 1000 != 0)) {
                    return Err(PersistError::Convert(
                        soa_persist_core::error::ConvertError::InvalidValue {
                            field: field.name().clone(),
                            row,
                            detail:
                                "the Spark profile stores microseconds; this value has nanoseconds"
                                    .into(),
                        },
                    ));
                }
                Some(DataType::Timestamp(TimeUnit::Microsecond, tz.clone()))
            }
            DataType::Utf8View => Some(DataType::Utf8),
            DataType::BinaryView => Some(DataType::Binary),
            _ => None,
        };
        match target {
            Some(t) => {
                let cast = cast_with_options(column, &t, &strict).map_err(|e| {
                    PersistError::Convert(soa_persist_core::error::ConvertError::InvalidValue {
                        field: field.name().clone(),
                        row: 0,
                        detail: format!("Spark profile: {e}"),
                    })
                })?;
                fields.push(
                    Field::new(field.name(), t, field.is_nullable())
                        .with_metadata(field.metadata().clone()),
                );
                columns.push(cast);
            }
            None => {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields).with_metadata(batch.schema().metadata().clone())),
        columns,
    )?)
}

fn file_stats(snapshot: &Snapshot) -> Result<Stats, PersistError> {
    let mut columns: Vec<ColumnStats> = Vec::new();
    let mut sizes: HashMap<&str, (u64, u64)> = HashMap::new();
    for f in &snapshot.files {
        for c in &f.columns {
            let e = sizes.entry(c.name.as_str()).or_default();
            e.0 = e.0.saturating_add(c.compressed);
            e.1 = e.1.saturating_add(c.uncompressed);
        }
    }
    for f in &snapshot.files {
        for c in &f.columns {
            if columns.iter().any(|s| s.name == c.name) {
                continue;
            }
            let (compressed, uncompressed) = sizes[c.name.as_str()];
            columns.push(ColumnStats {
                name: c.name.clone(),
                bytes_in_memory: 0,
                bytes_on_disk: Some(compressed),
                compression_ratio: (compressed > 0)
                    .then(|| uncompressed as f64 / compressed as f64),
            });
        }
    }
    let sum = |of: fn(&FileEntry) -> u64| {
        snapshot
            .files
            .iter()
            .fold(0u64, |n, f| n.saturating_add(of(f)))
    };
    let row_groups = sum(|f| f.row_groups);
    Ok(Stats {
        backend: NAME,
        rows: snapshot.rows()?,
        batches: row_groups,
        files: Some(snapshot.files.len() as u64),
        row_groups: Some(row_groups),
        bytes_in_memory: 0,
        bytes_on_disk: Some(sum(|f| f.bytes)),
        buffered_rows: 0,
        columns,
    })
}

impl<T: SoA> ParquetPersistence<T> {
    /// Appends as one commit; with a write id, only if that write is not committed yet.
    async fn append_as(
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
                for f in &files {
                    let _ = self.storage.delete(&f.path).await;
                }
                Ok(false)
            }
        }
    }
}

impl<T: SoA> SoAPersistence<T> for ParquetPersistence<T> {
    fn name(&self) -> &'static str {
        NAME
    }

    fn schema(&self) -> SchemaRef {
        T::arrow_schema()
    }

    async fn save_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
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

    async fn append_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        self.append_as(batches, None).await.map(|_| ())
    }

    async fn append_batches_once(
        &self,
        batches: Vec<RecordBatch>,
        id: &WriteId,
    ) -> Result<bool, PersistError> {
        self.append_as(batches, Some(id)).await
    }

    async fn load_batches(&self) -> Result<Option<Vec<RecordBatch>>, PersistError> {
        let Some(snapshot) = self.snapshot().await? else {
            return Ok(None);
        };
        let mut stream = self.read(snapshot.files.clone(), Scan::all()).await?;
        let mut out = Vec::new();
        while let Some(batch) = stream.next().await {
            out.push(batch?);
        }
        Ok(Some(out))
    }

    async fn scan(&self, scan: Scan<T>) -> Result<BatchStream, PersistError> {
        let files = self.files().await?;
        // The reader decodes at most `batch_size` rows at a time, and filtering and projection
        // only shrink a batch, so the bound holds without re-slicing.
        self.read(files, scan).await
    }

    async fn count(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        let Some(snapshot) = self.snapshot().await? else {
            return Ok(0);
        };
        if matches!(predicate.expr(), soa_persist_core::query::Expr::True) {
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

    async fn delete(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        let schema = T::arrow_schema();
        for _ in 0..self.options.commit_attempts.max(1) {
            let Some(snapshot) = self.snapshot().await? else {
                return Ok(0);
            };
            let mut removed_files = Vec::new();
            let mut written = Vec::new();
            let mut deleted = 0u64;
            for file in &snapshot.files {
                if !may_match(predicate.expr(), &|path| {
                    partition_range(&schema, file, path)
                }) {
                    continue;
                }
                let bytes = self.storage.get(&file.path).await?;
                let batches =
                    decode_blocking::<T>(file.clone(), bytes, Arc::new(Scan::all())).await?;
                let mut rest = Vec::new();
                let mut removed = 0;
                for b in batches {
                    let mask = predicate.evaluate(&b)?;
                    removed += mask.true_count();
                    rest.push(soa_persist_core::arrow::compute::filter_record_batch(
                        &b,
                        &soa_persist_core::arrow::compute::not(&mask)?,
                    )?);
                }
                if removed > 0 {
                    deleted += removed as u64;
                    removed_files.push(file.path.clone());
                    written.extend(self.write_files(rest).await?);
                }
            }
            if deleted == 0 {
                return Ok(0);
            }
            let expected = snapshot.version;
            let result = self
                .log
                .commit(1, |current| {
                    // Rewritten files are only valid against the snapshot they were derived from.
                    if current.version != expected {
                        return Err(PersistError::conflict(
                            NAME,
                            "dataset changed during delete",
                        ));
                    }
                    Ok(Next::Commit(Record {
                        remove: removed_files.clone(),
                        add: written.clone(),
                        ..Record::new("delete", T::schema_fingerprint())
                    }))
                })
                .await;
            match result {
                Ok(_) => return Ok(deleted),
                Err(PersistError::Conflict { .. }) => {
                    for f in &written {
                        let _ = self.storage.delete(&f.path).await;
                    }
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Err(PersistError::conflict(
            NAME,
            "delete kept losing to concurrent commits",
        ))
    }

    async fn clear(&self) -> Result<(), PersistError> {
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

    async fn flush(&self) -> Result<(), PersistError> {
        // Every write is durable when it returns (files and commit records are fsynced).
        Ok(())
    }

    async fn stats(&self) -> Result<Stats, PersistError> {
        match self.snapshot().await? {
            Some(s) => file_stats(&s),
            None => Ok(Stats {
                backend: NAME,
                ..Stats::default()
            }),
        }
    }
}
