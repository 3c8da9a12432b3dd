//! What the log stores: commit records (what one commit changed), the state they add up to
//! (`Snapshot`), and the strict rules for their names and the paths they name.

use std::collections::{BTreeMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use soa_persist_api::{PersistError, WriteId};

use super::super::layout::PartitionValues;
use super::super::storage::NAME;
use super::LOG_DIR;

/// Compressed and uncompressed bytes of one column in one file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct ColumnSize {
    pub name: String,
    pub compressed: u64,
    pub uncompressed: u64,
}

/// One live data file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct FileEntry {
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    pub row_groups: u64,
    /// Partition column values from the folder names (`None`: null).
    pub partition: PartitionValues,
    #[serde(default)]
    pub columns: Vec<ColumnSize>,
}

/// The write of a `WriteId`, as recorded in a commit.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct WriteMark {
    pub writer: String,
    pub seq: u64,
}

/// What one commit changed.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Record {
    pub version: u64,
    #[serde(default)]
    pub operation: String,
    #[serde(default)]
    pub timestamp_ms: u64,
    /// Unique per attempt: tells our own record apart after an ambiguous write error.
    #[serde(default)]
    pub commit_id: String,
    #[serde(default)]
    pub fingerprint: String,
    /// Starts from an empty dataset (`save`, `clear`) instead of the previous version.
    #[serde(default)]
    pub replace: bool,
    #[serde(default)]
    pub add: Vec<FileEntry>,
    #[serde(default)]
    pub remove: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<WriteMark>,
    /// For a `restore`: the version whose state it committed again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<u64>,
    /// Version 0 written before the first data file when nothing was there: "never stored".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub placeholder: bool,
    /// The first format: every record a full snapshot. Read as `replace` + `add`.
    #[serde(default, skip_serializing)]
    pub files: Option<Vec<FileEntry>>,
}

impl Record {
    pub(crate) fn new(operation: &str, fingerprint: String) -> Self {
        Self {
            operation: operation.into(),
            fingerprint,
            ..Self::default()
        }
    }
}

/// The dataset's state at one version; a checkpoint stores one.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Snapshot {
    pub version: u64,
    pub fingerprint: String,
    pub files: Vec<FileEntry>,
    #[serde(default)]
    pub placeholder: bool,
    /// Per writer: the highest write `seq` committed and when (ms since the epoch).
    #[serde(default)]
    pub writers: BTreeMap<String, (u64, u64)>,
}

impl Snapshot {
    /// Whether the write `id` (or a later one of its writer) is part of this state.
    pub(crate) fn committed(&self, id: &WriteId) -> bool {
        self.writers
            .get(&id.writer)
            .is_some_and(|(seq, _)| *seq >= id.seq)
    }

    /// Rows in all live files; a sum that overflows means a damaged log.
    pub(crate) fn rows(&self) -> Result<u64, PersistError> {
        self.files.iter().try_fold(0u64, |n, f| {
            n.checked_add(f.rows)
                .ok_or_else(|| corrupt(format!("row counts of version {} overflow", self.version)))
        })
    }

    pub(crate) fn apply(&mut self, mut record: Record) -> Result<(), PersistError> {
        if let Some(files) = record.files.take() {
            record.replace = true;
            record.add = files;
        }
        for path in record
            .add
            .iter()
            .map(|f| f.path.as_str())
            .chain(record.remove.iter().map(String::as_str))
        {
            check_path(path).map_err(|e| corrupt(format!("record {}: {e}", record.version)))?;
        }
        // Parquet counts rows in an i64: a larger count is a damaged record, not a big file.
        if let Some(f) = record.add.iter().find(|f| f.rows > i64::MAX as u64) {
            return Err(corrupt(format!(
                "record {}: {} claims {} rows",
                record.version, f.path, f.rows
            )));
        }
        if record.replace {
            self.files = record.add;
        } else {
            if !record.remove.is_empty() {
                let gone: HashSet<&str> = record.remove.iter().map(String::as_str).collect();
                self.files.retain(|f| !gone.contains(f.path.as_str()));
            }
            self.files.extend(record.add);
        }
        self.version = record.version;
        if !record.fingerprint.is_empty() {
            self.fingerprint = record.fingerprint;
        }
        self.placeholder = record.placeholder;
        if let Some(mark) = record.write {
            let entry = self.writers.entry(mark.writer).or_default();
            *entry = (entry.0.max(mark.seq), record.timestamp_ms);
        }
        Ok(())
    }
}

/// A path named by a record: inside the dataset (as storage checks every path), a Parquet
/// file, not in the log.
pub(crate) fn check_path(path: &str) -> Result<(), String> {
    if super::super::storage::check_path(path, "").is_err() {
        return Err(format!("file path {path:?} leaves the dataset folder"));
    }
    if path.starts_with(&format!("{LOG_DIR}/")) || !path.ends_with(".parquet") {
        return Err(format!("file path {path:?} is not a data file"));
    }
    Ok(())
}

pub(super) fn corrupt(detail: String) -> PersistError {
    PersistError::corrupt(NAME, detail)
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(crate) fn record_path(version: u64) -> String {
    format!("{LOG_DIR}/{version:020}.json")
}

pub(super) fn checkpoint_path(version: u64) -> String {
    format!("{LOG_DIR}/{version:020}.checkpoint.json")
}

/// What a name in `_soa_log/` is: a record or a checkpoint of a version (strict: 20 digits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogFile {
    Record(u64),
    Checkpoint(u64),
}

pub(crate) fn parse_log_name(path: &str) -> Option<LogFile> {
    let name = path.strip_prefix(&format!("{LOG_DIR}/"))?;
    let (digits, kind) = if let Some(d) = name.strip_suffix(".checkpoint.json") {
        (d, LogFile::Checkpoint as fn(u64) -> LogFile)
    } else {
        (
            name.strip_suffix(".json")?,
            LogFile::Record as fn(u64) -> LogFile,
        )
    };
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(kind)
}

pub(crate) fn parse_record(path: &str, version: u64, bytes: &[u8]) -> Result<Record, PersistError> {
    let record: Record = serde_json::from_slice(bytes)
        .map_err(|e| corrupt(format!("commit record {path}: {e}")).with_source(e))?;
    if record.version != version {
        return Err(corrupt(format!(
            "commit record {path} says it is version {}",
            record.version
        )));
    }
    Ok(record)
}

pub(super) fn encode(record: &Record) -> Result<Bytes, PersistError> {
    serde_json::to_vec(record)
        .map(Bytes::from)
        .map_err(|e| corrupt(format!("encoding commit record: {e}")).with_source(e))
}
