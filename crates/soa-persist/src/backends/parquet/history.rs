//! Schema-less access to a dataset's commit log, for tools without the Rust struct: `history`
//! (the commits the log still holds), `at_version` (a read-only view of a version) and the
//! current state. Rows are read as Arrow by `version.rs`, files are checked by `verify.rs`,
//! maintenance (`compact`, `vacuum`, `repair`, `restore`) is in `maintain.rs`.

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use soa_persist_api::{BatchStream, PersistError, Scan};
use soa_persist_core::soa::SoA;

use super::log::{Log, Record, Snapshot, get_opt, parse_record, record_path};
use super::storage::{LocalStorage, NAME, Storage};
use super::version::DatasetVersion;
use super::{ParquetOptions, ParquetPersistence, object_storage};

/// A Parquet dataset opened without its Rust struct: history, older versions, verification,
/// and maintenance (`compact`, `vacuum`, `repair`, `restore`); it never writes rows of its own.
#[derive(Clone, Debug)]
pub struct ParquetDataset {
    pub(super) storage: Arc<dyn Storage>,
    pub(super) log: Arc<Log>,
    /// Writer settings for what maintenance writes (`compact`) and commit attempts.
    pub(super) options: Arc<ParquetOptions>,
}

/// One commit, as its record in `_soa_log/` tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The version the commit made.
    pub version: u64,
    /// When it was committed, in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// `create`, `save`, `append`, `delete`, `upsert`, `clear`, `compact`, `repair`, `restore`, ...
    pub operation: String,
    /// Rows in the files it added.
    pub rows_added: u64,
    /// Rows in the files it removed; `None` when the version before it is no longer readable.
    pub rows_removed: Option<u64>,
    /// Files it added.
    pub files_added: usize,
    /// Files it removed (for a `save` or `clear`: every file of the version before, when known).
    pub files_removed: usize,
    /// The write id of an `append_batches_once` (`writer:seq`).
    pub write_id: Option<String>,
    /// For a `restore`: the version whose state it committed again.
    pub restored_from: Option<u64>,
}

/// The commits the log holds, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History {
    /// The commits whose records are still in the log.
    pub commits: Vec<Commit>,
    /// The oldest version whose record is still there; earlier ones were folded into a
    /// checkpoint and retired by `vacuum` (0 when the whole history is there).
    pub first_version: u64,
}

impl History {
    /// Whether every commit since the dataset was created is listed.
    pub fn is_complete(&self) -> bool {
        self.first_version == 0
    }
}

impl<T: SoA> ParquetPersistence<T> {
    /// The same dataset without its struct: history, older versions, verification.
    pub fn dataset(&self) -> ParquetDataset {
        ParquetDataset {
            storage: self.storage.clone(),
            log: self.log.clone(),
            options: self.options.clone(),
        }
    }

    /// The commits the log holds, oldest first (see [`ParquetDataset::history`]).
    pub async fn history(&self) -> Result<History, PersistError> {
        self.dataset().history().await
    }

    /// A read-only view of the version current at `time` (see [`ParquetDataset::as_of`]).
    pub async fn as_of(&self, time: SystemTime) -> Result<DatasetVersion, PersistError> {
        self.dataset().as_of(time).await
    }

    /// Reads version `version` through `scan` (predicate, projection, batch size) as batches in
    /// `T`'s schema, with the pruning of a current read: time travel with the typed API.
    /// Fails as [`ParquetDataset::at_version`] does.
    pub async fn scan_version(
        &self,
        version: u64,
        scan: Scan<T>,
    ) -> Result<BatchStream, PersistError> {
        let view = self.at_version(version).await?;
        self.read(view.state.files, scan).await
    }

    /// A read-only view of version `version` (see [`ParquetDataset::at_version`]).
    pub async fn at_version(&self, version: u64) -> Result<DatasetVersion, PersistError> {
        self.dataset().at_version(version).await
    }
}

impl ParquetDataset {
    /// An existing dataset folder on local disk; unlike `ParquetPersistence::open`, a missing
    /// folder is an error, not created.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, PersistError> {
        let path = path.as_ref();
        if !path.is_dir() {
            return Err(PersistError::invalid_input(
                NAME,
                format!("{} is not a folder", path.display()),
            ));
        }
        Ok(Self::with_storage(Arc::new(LocalStorage::open(path)?)))
    }

    /// A dataset at a URL: `file:///path` (an existing folder), or with the `s3`, `gcs`,
    /// `azure` features `s3://bucket/prefix` etc., settings from the environment as
    /// `ParquetPersistence::open_url` reads them.
    pub fn open_url(url: &str) -> Result<Self, PersistError> {
        if let Some(path) = url.strip_prefix("file://") {
            return Self::open(path);
        }
        let env = std::env::vars().map(|(k, v)| (k.to_ascii_lowercase(), v));
        Ok(Self::with_storage(object_storage(url, env)?))
    }

    /// A dataset on any `Storage`.
    pub fn with_storage(storage: Arc<dyn Storage>) -> Self {
        Self {
            log: Arc::new(Log::new(storage.clone())),
            storage,
            options: Arc::new(ParquetOptions::default()),
        }
    }

    /// The same dataset with other writer settings (for what `compact` writes).
    pub fn with_options(mut self, options: ParquetOptions) -> Self {
        self.options = Arc::new(options);
        self
    }

    /// The dataset's root: a folder path or an object-store URL.
    pub fn location(&self) -> String {
        self.storage.location()
    }

    /// The storage the dataset is on (to list or size its files).
    pub fn storage(&self) -> Arc<dyn Storage> {
        self.storage.clone()
    }

    /// The newest committed state; an error when the folder holds no dataset.
    async fn latest(&self) -> Result<Arc<Snapshot>, PersistError> {
        if let Some(state) = self.log.current().await? {
            return Ok(state);
        }
        // A folder of another tool's Parquet files is a dataset too (adopted when first written).
        match self.log.latest().await? {
            Some(state) => Ok(state),
            None => Err(PersistError::invalid_input(
                NAME,
                format!(
                    "{} is not a dataset: no _soa_log/ and no Parquet files",
                    self.location()
                ),
            )),
        }
    }

    /// The newest version.
    pub async fn current(&self) -> Result<DatasetVersion, PersistError> {
        let state = self.latest().await?;
        Ok(DatasetVersion::new(self.storage.clone(), (*state).clone()))
    }

    /// The oldest version that can still be read: 0, or the oldest checkpoint once `vacuum`
    /// retired the records before it.
    async fn oldest_readable(&self) -> Result<u64, PersistError> {
        let (records, checkpoints) = self.log.listed().await?;
        if records.contains(&0) {
            return Ok(0);
        }
        Ok(checkpoints.into_iter().min().unwrap_or(0))
    }

    /// A read-only view of the dataset as it was at `version`. A version newer than the newest
    /// is `InvalidInput`, as is one whose records or files `vacuum` removed (the error says so).
    pub async fn at_version(&self, version: u64) -> Result<DatasetVersion, PersistError> {
        let latest = self.latest().await?;
        if version > latest.version {
            return Err(PersistError::invalid_input(
                NAME,
                format!(
                    "version {version} does not exist: the newest is {}",
                    latest.version
                ),
            ));
        }
        if version == latest.version {
            return Ok(DatasetVersion::new(self.storage.clone(), (*latest).clone()));
        }
        let oldest = self.oldest_readable().await?;
        if version < oldest {
            return Err(PersistError::invalid_input(
                NAME,
                format!(
                    "version {version} is gone: vacuum retired its commit records \
                     (the oldest readable version is {oldest})"
                ),
            ));
        }
        let state = self.log.state_at(version).await?;
        for f in &state.files {
            if self.storage.head(&f.path).await?.is_none() {
                return Err(PersistError::invalid_input(
                    NAME,
                    format!(
                        "version {version} can't be read: vacuum removed its file {}",
                        f.path
                    ),
                ));
            }
        }
        Ok(DatasetVersion::new(self.storage.clone(), state))
    }

    /// A read-only view of the version that was current at `time`: the newest commit at or
    /// before it. A time before the first commit the log still holds is `InvalidInput`.
    pub async fn as_of(&self, time: SystemTime) -> Result<DatasetVersion, PersistError> {
        let ms = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let history = self.history().await?;
        match history.commits.iter().rev().find(|c| c.timestamp_ms <= ms) {
            Some(c) => self.at_version(c.version).await,
            None if history.is_complete() => Err(PersistError::invalid_input(
                NAME,
                "no version that early: the dataset was created later",
            )),
            None => Err(PersistError::invalid_input(
                NAME,
                format!(
                    "no version that early is left: vacuum retired the records before version {}",
                    history.first_version
                ),
            )),
        }
    }

    /// The commits whose records are still in the log, oldest first. After `vacuum` retired
    /// old records (they live on in a checkpoint), the list starts later: see
    /// [`History::first_version`].
    pub async fn history(&self) -> Result<History, PersistError> {
        self.latest().await?;
        let (mut records, checkpoints) = self.log.listed().await?;
        records.sort_unstable();
        let first_version = records.first().copied().unwrap_or(0);
        // The state before each record, when it can be known: for rows removed.
        let mut state: Option<Snapshot> = (first_version == 0).then(Snapshot::default);
        let mut commits = Vec::with_capacity(records.len());
        for v in records {
            let path = record_path(v);
            let Some(bytes) = get_opt(self.storage.as_ref(), &path).await? else {
                continue;
            };
            let mut record = parse_record(&path, v, &bytes)?;
            if let Some(files) = record.files.take() {
                record.replace = true;
                record.add = files;
            }
            let known = state.as_ref().filter(|s| v == 0 || s.version + 1 == v);
            commits.push(commit_of(&record, known));
            let known = known.is_some();
            state = match (state, known) {
                (Some(mut s), true) => {
                    s.apply(record)?;
                    Some(s)
                }
                _ if checkpoints.contains(&v) => Some(self.log.read_checkpoint(v).await?),
                _ => None,
            };
        }
        Ok(History {
            commits,
            first_version,
        })
    }
}

fn commit_of(record: &Record, before: Option<&Snapshot>) -> Commit {
    let removed: Option<Vec<u64>> = before.map(|s| {
        s.files
            .iter()
            .filter(|f| record.replace || record.remove.contains(&f.path))
            .map(|f| f.rows)
            .collect()
    });
    let files_removed = match (&removed, record.replace) {
        (Some(r), true) => r.len(),
        _ => record.remove.len(),
    };
    Commit {
        version: record.version,
        timestamp_ms: record.timestamp_ms,
        operation: record.operation.clone(),
        rows_added: record.add.iter().map(|f| f.rows).sum(),
        rows_removed: removed.map(|r| r.iter().sum()),
        files_added: record.add.len(),
        files_removed,
        write_id: record
            .write
            .as_ref()
            .map(|w| format!("{}:{}", w.writer, w.seq)),
        restored_from: record.restored,
    }
}
