//! The commit log of a dataset: `_soa_log/<version>.json`, each a full snapshot of the live
//! files. A commit writes the next version with create-if-absent, so of two writers (threads or
//! processes) that read the same version exactly one wins and the other retries on top of it:
//! no append is ever lost. A dataset folder written by another tool (no log yet) is adopted as
//! version 0: its Parquet files, with Hive `key=value` folders as partition values.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::layout::{PartitionValues, parse_partition_path};
use super::storage::{NAME, Storage};
use crate::persist::PersistError;

pub const LOG_DIR: &str = "_soa_log";

/// Compressed and uncompressed bytes of one column in one file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ColumnSize {
    pub name: String,
    pub compressed: u64,
    pub uncompressed: u64,
}

/// One live data file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    pub row_groups: u64,
    /// Partition column values from the folder names (`None`: null).
    pub partition: PartitionValues,
    #[serde(default)]
    pub columns: Vec<ColumnSize>,
}

/// The dataset's state at one version.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    pub version: u64,
    pub fingerprint: String,
    pub files: Vec<FileEntry>,
    /// Version 0 written before the first data file when nothing was there: "never stored".
    #[serde(default)]
    pub placeholder: bool,
}

fn log_path(version: u64) -> String {
    format!("{LOG_DIR}/{version:020}.json")
}

fn corrupt(detail: String) -> PersistError {
    PersistError::Corrupt {
        backend: NAME,
        detail,
    }
}

fn newest_version(entries: &[super::storage::Entry]) -> Option<u64> {
    entries
        .iter()
        .filter_map(|e| {
            e.path
                .strip_prefix(&format!("{LOG_DIR}/"))?
                .strip_suffix(".json")?
                .parse::<u64>()
                .ok()
        })
        .max()
}

/// The newest snapshot, or `None` if nothing was ever stored.
pub async fn latest(storage: &dyn Storage) -> Result<Option<Snapshot>, PersistError> {
    loop {
        if let Some(version) = newest_version(&storage.list(LOG_DIR).await?) {
            let path = log_path(version);
            let bytes = storage.get(&path).await?;
            let snapshot: Snapshot = serde_json::from_slice(&bytes)
                .map_err(|e| corrupt(format!("commit record {path}: {e}")))?;
            return Ok((!snapshot.placeholder).then_some(snapshot));
        }
        let adopted = adopt(storage).await?;
        // Writers create the log before their first data file, so if a log appeared while the
        // folder was listed, some listed files may be in flight: read the log instead.
        if newest_version(&storage.list(LOG_DIR).await?).is_none() {
            return Ok(adopted);
        }
    }
}

/// Parquet files of a folder that has no log (written by another tool), as version 0.
async fn adopt(storage: &dyn Storage) -> Result<Option<Snapshot>, PersistError> {
    let mut files = Vec::new();
    for entry in storage.list("").await? {
        let hidden = entry
            .path
            .split('/')
            .any(|seg| seg.starts_with('_') || seg.starts_with('.'));
        if hidden || !entry.path.ends_with(".parquet") {
            continue;
        }
        let bytes = storage.get(&entry.path).await?;
        let meta = parquet::file::metadata::ParquetMetaDataReader::new()
            .parse_and_finish(&bytes)
            .map_err(|e| corrupt(format!("file {}: {e}", entry.path)))?;
        files.push(FileEntry {
            rows: meta.file_metadata().num_rows().max(0) as u64,
            bytes: entry.size,
            row_groups: meta.num_row_groups() as u64,
            partition: parse_partition_path(&entry.path),
            columns: Vec::new(),
            path: entry.path,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((!files.is_empty()).then(|| Snapshot {
        version: 0,
        files,
        ..Snapshot::default()
    }))
}

/// Creates the log before this process writes its first data file into a folder without one,
/// recording the files already there (written by other tools) as version 0. Afterwards only
/// commits make files live, so no reader can mistake an in-flight file for data.
pub async fn ensure_log(storage: &dyn Storage) -> Result<(), PersistError> {
    let has_log = storage
        .list(LOG_DIR)
        .await?
        .iter()
        .any(|e| e.path.ends_with(".json") && !e.path.contains("/."));
    if has_log {
        return Ok(());
    }
    let snapshot = adopt(storage).await?.unwrap_or(Snapshot {
        placeholder: true,
        ..Snapshot::default()
    });
    let json = serde_json::to_vec(&snapshot)
        .map_err(|e| corrupt(format!("encoding commit record: {e}")))?;
    // Losing this race to another writer is fine: the log exists either way.
    storage.put_new(&log_path(0), Bytes::from(json)).await?;
    Ok(())
}

/// Commits the snapshot that `next` derives from the current one; retries on a concurrent
/// commit (re-deriving from the winner's snapshot) up to `attempts` times.
pub async fn commit(
    storage: &dyn Storage,
    attempts: u32,
    mut next: impl FnMut(Option<&Snapshot>) -> Result<Snapshot, PersistError>,
) -> Result<Snapshot, PersistError> {
    for attempt in 0..attempts.max(1) {
        let current = latest(storage).await?;
        let mut snapshot = next(current.as_ref())?;
        snapshot.version = match &current {
            Some(s) => s.version + 1,
            // The placeholder, if any, is version 0.
            None => 1,
        };
        let json = serde_json::to_vec(&snapshot)
            .map_err(|e| corrupt(format!("encoding commit record: {e}")))?;
        if storage
            .put_new(&log_path(snapshot.version), Bytes::from(json))
            .await?
        {
            return Ok(snapshot);
        }
        // Lost the race: back off a little (growing, with jitter) and rebuild on the winner.
        let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]);
        tokio::time::sleep(Duration::from_micros(
            200 * u64::from(attempt + 1) + jitter * 4,
        ))
        .await;
    }
    Err(PersistError::Conflict {
        backend: NAME,
        detail: format!(
            "{} at {}: gave up after {attempts} concurrent commits won",
            LOG_DIR,
            storage.location()
        ),
    })
}
