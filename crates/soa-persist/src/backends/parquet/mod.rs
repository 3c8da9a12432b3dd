//! `ParquetPersistence`: a dataset of Parquet files in a folder or an object-store prefix.
//!
//! Writes (`write.rs`): rows are split by the `#[soa(partition)]` columns into Hive folders,
//! each part written as a complete file (temporary name, fsync, rename on local disk; one
//! atomic PUT on object stores), then made live by a commit record in `_soa_log/` (`log/`)
//! written create-if-absent. Every `save`/`append`/`delete`/`clear` is all-or-nothing and
//! durable when it returns. Reads (`read.rs`): partition pruning from folder values,
//! row-group pruning from statistics (`prune.rs`), projection pushdown, then exact filtering;
//! `scan` streams file by file. Maintenance: `maintain.rs`, `compact.rs`; storage primitives:
//! `storage/`.
//! This file: the handle, how it is opened, and the trait implementation.

mod bloom;
mod chunk;
mod compact;
mod encode;
#[cfg(any(test, feature = "testing"))]
mod faulty;
mod footer;
pub mod fs;
mod history;
mod keys;
mod layout;
mod log;
mod maintain;
mod options;
mod progress;
mod prune;
mod read;
mod spark;
mod stats;
pub mod storage;
mod verify;
mod version;
mod write;
mod writer;

#[cfg(feature = "snowflake")]
pub(crate) use encode::seconds_as_millis;

use std::marker::PhantomData;
use std::sync::Arc;

use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::datatypes::SchemaRef;
use soa_persist_core::bridge::BaseField;
use soa_persist_core::query::Predicate;
use soa_persist_core::soa::SoA;
use soa_persist_core::store::Keyed;

#[cfg(any(test, feature = "testing"))]
pub use self::faulty::FaultyStorage;
use self::footer::FooterCache;
pub use self::history::{Commit, History, ParquetDataset};
use self::log::{FileEntry, Log, Snapshot};
pub use self::maintain::RepairReport;
pub use self::options::{Compression, ParquetOptions};
pub use self::progress::Progress;
pub use self::storage::{Entry, LocalStorage, ObjectStorage, Storage};
pub use self::verify::{Problem, VerifyReport};
pub use self::version::{ColumnBytes, DataFile, DatasetVersion};
pub(crate) use self::version::{distinct_in_file, footer_of};
pub use self::writer::DatasetWriter;
use soa_persist_api::exec::{key_predicate, scan_for_keys};
use soa_persist_api::{BatchStream, PersistError, Scan, SoAPersistence, Stats, WriteId};
use storage::NAME;

/// One committed data file on local disk.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveFile {
    /// The file's absolute path.
    pub path: std::path::PathBuf,
    /// Rows in the file, by the commit log.
    pub rows: u64,
    /// Partition column values from the folder names (`None`: null); not stored in the file.
    pub partition: Vec<(String, Option<String>)>,
}

/// A Parquet dataset of rows of `T`; a cheap clonable handle.
pub struct ParquetPersistence<T> {
    storage: Arc<dyn Storage>,
    log: Arc<Log>,
    options: Arc<ParquetOptions>,
    footers: Arc<FooterCache>,
    _rows: PhantomData<fn() -> T>,
}

impl<T> Clone for ParquetPersistence<T> {
    fn clone(&self) -> Self {
        Self {
            storage: self.storage.clone(),
            log: self.log.clone(),
            options: self.options.clone(),
            footers: self.footers.clone(),
            _rows: PhantomData,
        }
    }
}

pub(super) fn corrupt(
    path: &str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> PersistError {
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
        Ok(Self::with_storage(object_storage(url, options)?))
    }

    /// A dataset on any `Storage` (e.g. a `FaultyStorage` in tests).
    pub fn with_storage(storage: Arc<dyn Storage>) -> Self {
        Self {
            log: Arc::new(Log::new(storage.clone())),
            storage,
            options: Arc::new(ParquetOptions::default()),
            footers: Arc::default(),
            _rows: PhantomData,
        }
    }

    /// The same dataset with other writer settings (for later writes).
    pub fn with_options(mut self, options: ParquetOptions) -> Self {
        self.options = Arc::new(options);
        self
    }

    /// The writer settings.
    pub fn options(&self) -> &ParquetOptions {
        &self.options
    }

    /// The dataset's root: a folder path or an object-store URL.
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
}

/// The object store a dataset URL names (not `file://`), with the store's settings.
pub(super) fn object_storage<K, V>(
    url: &str,
    options: impl IntoIterator<Item = (K, V)>,
) -> Result<Arc<dyn Storage>, PersistError>
where
    K: AsRef<str>,
    V: Into<String>,
{
    let parsed = url::Url::parse(url).map_err(|e| {
        PersistError::invalid_input(NAME, format!("invalid dataset URL {url}: {e}")).with_source(e)
    })?;
    let (store, prefix) = object_store::parse_url_opts(&parsed, options).map_err(|e| {
        PersistError::invalid_input(NAME, format!("can't open {url}: {e}")).with_source(e)
    })?;
    Ok(Arc::new(ObjectStorage::new(Arc::from(store), prefix, url)))
}

pub(super) fn parallelism() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8)
}

/// A worker task that panicked met input it could not handle (a corrupt file): not a transient
/// failure. One that was cancelled (the runtime shutting down) may succeed on a retry.
pub(super) fn join_error(e: tokio::task::JoinError, what: &str) -> PersistError {
    if e.is_panic() {
        PersistError::corrupt(NAME, format!("{what} failed: the decoder panicked ({e})"))
            .with_source(e)
    } else {
        PersistError::backend(NAME, format!("{what}: worker task cancelled: {e}"), true)
            .with_source(e)
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
        self.save_all(batches).await
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
        self.load_all().await
    }

    async fn scan(&self, scan: Scan<T>) -> Result<BatchStream, PersistError> {
        let files = self.files().await?;
        // The reader decodes at most `batch_size` rows at a time, and filtering and projection
        // only shrink a batch, so the bound holds without re-slicing.
        self.read(files, scan).await
    }

    async fn count(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        self.count_matching(predicate).await
    }

    async fn delete(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        self.delete_matching(predicate).await
    }

    async fn upsert_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError>
    where
        T: Keyed,
    {
        self.upsert_all(batches).await
    }

    async fn delete_keys(&self, keys: &[T::Key]) -> Result<u64, PersistError>
    where
        T: Keyed,
    {
        self.delete_matching(&key_predicate::<T>(keys)).await
    }

    /// Footers, statistics and bloom filters first (`keys.rs`); a pruned scan of the key
    /// column where they can't answer.
    async fn contains_keys(&self, keys: &[T::Key]) -> Result<Vec<bool>, PersistError>
    where
        T: Keyed,
    {
        let probe = T::Key::encode(keys, T::key_column().options())?;
        if let Some(found) = self.stored_keys(&probe, T::KEY_FIELD).await? {
            return Ok(found);
        }
        scan_for_keys(self, keys, keys.len()).await
    }

    async fn clear(&self) -> Result<(), PersistError> {
        self.clear_all().await
    }

    async fn flush(&self) -> Result<(), PersistError> {
        // Every write is durable when it returns (files and commit records are fsynced).
        Ok(())
    }

    async fn stats(&self) -> Result<Stats, PersistError> {
        match self.snapshot().await? {
            Some(s) => stats::file_stats(&s),
            None => Ok(Stats {
                backend: NAME,
                ..Stats::default()
            }),
        }
    }
}
