//! The commit log of a dataset, `_soa_log/`: one record per commit saying what it changed
//! (files added and removed, or "start from empty" for `save`/`clear`), a checkpoint holding the
//! whole state every `CHECKPOINT_INTERVAL` commits, and `_last_checkpoint` naming the newest one,
//! so that reading the state costs O(commits since the checkpoint), not O(all commits).
//!
//! A commit writes the next record with create-if-absent, so of two writers (threads or
//! processes) that read the same version exactly one wins and the other rebuilds on top of it:
//! no append is ever lost. Records are validated strictly: a record whose name, version or paths
//! are off is `Corrupt`, never followed outside the dataset. A folder written by another tool
//! (no log yet) is adopted as version 0; a folder holding files this library wrote but no log is
//! a damaged dataset, not a foreign one (adopting it would bring back replaced rows).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::layout::{PartitionValues, parse_partition_path};
use super::storage::{Entry, NAME, Storage};
use soa_persist_api::{PersistError, WriteId};

pub const LOG_DIR: &str = "_soa_log";
const LAST_CHECKPOINT: &str = "_soa_log/_last_checkpoint";
/// A checkpoint every this many commits bounds what a fresh reader replays.
pub const CHECKPOINT_INTERVAL: u64 = 100;
/// Write ids older than this are forgotten at checkpoints (a retry comes within seconds).
const WRITER_RETENTION_MS: u64 = 7 * 24 * 3600 * 1000;
/// Key-value metadata that marks a data file as written by this library.
pub const WRITER_KEY: &str = "soa-persist.writer";

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

/// The write of a `WriteId`, as recorded in a commit.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WriteMark {
    pub writer: String,
    pub seq: u64,
}

/// What one commit changed.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Record {
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
    /// Version 0 written before the first data file when nothing was there: "never stored".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub placeholder: bool,
    /// The first format: every record a full snapshot. Read as `replace` + `add`.
    #[serde(default, skip_serializing)]
    pub files: Option<Vec<FileEntry>>,
}

impl Record {
    pub fn new(operation: &str, fingerprint: String) -> Self {
        Self {
            operation: operation.into(),
            fingerprint,
            ..Self::default()
        }
    }
}

/// The dataset's state at one version; a checkpoint stores one.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
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
    pub fn committed(&self, id: &WriteId) -> bool {
        self.writers
            .get(&id.writer)
            .is_some_and(|(seq, _)| *seq >= id.seq)
    }

    /// Rows in all live files; a sum that overflows means a damaged log.
    pub fn rows(&self) -> Result<u64, PersistError> {
        self.files.iter().try_fold(0u64, |n, f| {
            n.checked_add(f.rows)
                .ok_or_else(|| corrupt(format!("row counts of version {} overflow", self.version)))
        })
    }

    fn apply(&mut self, mut record: Record) -> Result<(), PersistError> {
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
pub fn check_path(path: &str) -> Result<(), String> {
    if super::storage::check_path(path, "").is_err() {
        return Err(format!("file path {path:?} leaves the dataset folder"));
    }
    if path.starts_with(&format!("{LOG_DIR}/")) || !path.ends_with(".parquet") {
        return Err(format!("file path {path:?} is not a data file"));
    }
    Ok(())
}

fn corrupt(detail: String) -> PersistError {
    PersistError::corrupt(NAME, detail)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn record_path(version: u64) -> String {
    format!("{LOG_DIR}/{version:020}.json")
}

fn checkpoint_path(version: u64) -> String {
    format!("{LOG_DIR}/{version:020}.checkpoint.json")
}

/// What a name in `_soa_log/` is: a record or a checkpoint of a version (strict: 20 digits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFile {
    Record(u64),
    Checkpoint(u64),
}

pub fn parse_log_name(path: &str) -> Option<LogFile> {
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

fn is_not_found(e: &PersistError) -> bool {
    matches!(e, PersistError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

async fn get_opt(storage: &dyn Storage, path: &str) -> Result<Option<Bytes>, PersistError> {
    match storage.get(path).await {
        Ok(b) => Ok(Some(b)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

fn parse_record(path: &str, version: u64, bytes: &[u8]) -> Result<Record, PersistError> {
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

#[derive(Serialize, Deserialize)]
struct Pointer {
    version: u64,
}

/// What `commit`'s builder decides, given the current state.
pub enum Next {
    Commit(Record),
    /// Nothing to write (e.g. the write id is already committed).
    Skip,
}

/// How a commit ended.
pub enum Committed {
    Version(Arc<Snapshot>),
    Skipped,
}

/// A dataset's log, with the newest state it has read cached (shared by clones of a handle).
#[derive(Debug)]
pub struct Log {
    storage: Arc<dyn Storage>,
    cache: Mutex<Option<Arc<Snapshot>>>,
}

impl Log {
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self {
            storage,
            cache: Mutex::new(None),
        }
    }

    fn cached(&self) -> Option<Arc<Snapshot>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn remember(&self, state: &Arc<Snapshot>) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.as_ref().is_none_or(|c| c.version <= state.version) {
            *cache = Some(state.clone());
        }
    }

    /// Applies `records` to `state` and caches the result. The state is changed in place when
    /// nothing else holds it: copying it would make every commit cost O(files).
    fn advance(
        &self,
        mut state: Arc<Snapshot>,
        records: Vec<Record>,
    ) -> Result<Arc<Snapshot>, PersistError> {
        if !records.is_empty() {
            {
                let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                if cache.as_ref().is_some_and(|c| Arc::ptr_eq(c, &state)) {
                    *cache = None;
                }
            }
            let s = Arc::make_mut(&mut state);
            for record in records {
                s.apply(record)?;
            }
        }
        self.remember(&state);
        Ok(state)
    }

    /// The newest snapshot, or `None` if nothing was ever stored.
    pub async fn latest(&self) -> Result<Option<Arc<Snapshot>>, PersistError> {
        loop {
            if let Some(state) = self.current().await? {
                return Ok((!state.placeholder).then_some(state));
            }
            let adopted = adopt(self.storage.as_ref(), false).await;
            // Writers create the log before their first data file, so if a log appeared while the
            // folder was listed, some listed files may be in flight (and ours): read the log.
            if !self.has_log().await? {
                return Ok(adopted?.map(Arc::new));
            }
        }
    }

    async fn has_log(&self) -> Result<bool, PersistError> {
        Ok(self
            .storage
            .list(LOG_DIR)
            .await?
            .iter()
            .any(|e| parse_log_name(&e.path).is_some()))
    }

    /// The newest committed state, placeholder included; `None` when there is no log.
    pub async fn current(&self) -> Result<Option<Arc<Snapshot>>, PersistError> {
        let storage = self.storage.as_ref();
        let pointer = match get_opt(storage, LAST_CHECKPOINT).await? {
            // A damaged pointer only costs a listing: the checkpoints themselves are checked.
            Some(b) => serde_json::from_slice::<Pointer>(&b)
                .ok()
                .map(|p| p.version),
            None => None,
        };
        let state = match (self.cached(), pointer) {
            (Some(c), None) => c,
            (Some(c), Some(p)) if p <= c.version => c,
            (_, Some(p)) => match self.read_checkpoint(p).await {
                Ok(s) => Arc::new(s),
                Err(e) if is_not_found(&e) => match self.start_from_listing().await? {
                    Some(s) => s,
                    None => return Ok(None),
                },
                Err(e) => return Err(e),
            },
            (None, None) => match self.start_from_listing().await? {
                Some(s) => s,
                None => return Ok(None),
            },
        };
        let mut records = Vec::new();
        loop {
            let version = state.version + 1 + records.len() as u64;
            let path = record_path(version);
            let Some(bytes) = get_opt(storage, &path).await? else {
                break;
            };
            records.push(parse_record(&path, version, &bytes)?);
        }
        Ok(Some(self.advance(state, records)?))
    }

    async fn read_checkpoint(&self, version: u64) -> Result<Snapshot, PersistError> {
        let path = checkpoint_path(version);
        let bytes = self.storage.get(&path).await?;
        let snapshot: Snapshot = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("checkpoint {path}: {e}")).with_source(e))?;
        if snapshot.version != version {
            return Err(corrupt(format!(
                "checkpoint {path} says it is version {}",
                snapshot.version
            )));
        }
        for f in &snapshot.files {
            check_path(&f.path).map_err(|e| corrupt(format!("checkpoint {path}: {e}")))?;
        }
        Ok(snapshot)
    }

    /// Versions of the records and of the checkpoints listed in `_soa_log/`.
    async fn listed(&self) -> Result<(Vec<u64>, Vec<u64>), PersistError> {
        let (mut records, mut checkpoints) = (Vec::new(), Vec::new());
        for entry in self.storage.list(LOG_DIR).await? {
            match parse_log_name(&entry.path) {
                Some(LogFile::Record(v)) => records.push(v),
                Some(LogFile::Checkpoint(v)) => checkpoints.push(v),
                None => {}
            }
        }
        Ok((records, checkpoints))
    }

    /// Without a usable pointer: the newest checkpoint listed, or the state of record 0.
    async fn start_from_listing(&self) -> Result<Option<Arc<Snapshot>>, PersistError> {
        let (records, checkpoints) = self.listed().await?;
        if let Some(&v) = checkpoints.iter().max() {
            return Ok(Some(Arc::new(self.read_checkpoint(v).await?)));
        }
        match records.iter().min() {
            None => Ok(None),
            Some(0) => Ok(Some(Arc::new(self.state_at(0).await?))),
            Some(v) => Err(corrupt(format!(
                "{LOG_DIR}/ starts at version {v}: earlier records and any checkpoint are missing"
            ))),
        }
    }

    /// The state at `version` (from the newest checkpoint at or before it), if its records are
    /// still there.
    pub async fn state_at(&self, version: u64) -> Result<Snapshot, PersistError> {
        let (_, checkpoints) = self.listed().await?;
        let start = checkpoints.into_iter().filter(|v| *v <= version).max();
        let mut state = match start {
            Some(v) => self.read_checkpoint(v).await?,
            None => Snapshot::default(),
        };
        let from = start.map_or(0, |v| v + 1);
        for v in from..=version {
            let path = record_path(v);
            let bytes = get_opt(self.storage.as_ref(), &path)
                .await?
                .ok_or_else(|| corrupt(format!("{path} is missing (retired by vacuum?)")))?;
            state.apply(parse_record(&path, v, &bytes)?)?;
        }
        Ok(state)
    }

    /// Every file live in some version from `from` to `to`.
    pub async fn referenced_between(
        &self,
        from: u64,
        to: u64,
    ) -> Result<HashSet<String>, PersistError> {
        let mut state = self.state_at(from).await?;
        let mut out: HashSet<String> = state.files.iter().map(|f| f.path.clone()).collect();
        for v in from + 1..=to {
            let path = record_path(v);
            let bytes = self.storage.get(&path).await?;
            let record = parse_record(&path, v, &bytes)?;
            state.apply(record)?;
            out.extend(state.files.iter().map(|f| f.path.clone()));
        }
        Ok(out)
    }

    /// Creates the log before this process writes its first data file into a folder without
    /// one, recording the files already there (written by other tools) as version 0.
    /// Afterwards only commits make files live, so no reader mistakes an in-flight file for data.
    pub async fn ensure(&self) -> Result<(), PersistError> {
        if self.cached().is_some() || self.has_log().await? {
            return Ok(());
        }
        match adopt(self.storage.as_ref(), false).await {
            Ok(adopted) => self.create(adopted, "create").await,
            // Another writer created the log (and wrote files) meanwhile.
            Err(_) if self.has_log().await? => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Writes version 0 from an adopted folder (or a placeholder when there was nothing).
    pub async fn create(
        &self,
        adopted: Option<Snapshot>,
        operation: &str,
    ) -> Result<(), PersistError> {
        let files = adopted.map(|s| s.files).unwrap_or_default();
        let record = Record {
            version: 0,
            operation: operation.into(),
            timestamp_ms: now_ms(),
            commit_id: uuid::Uuid::new_v4().simple().to_string(),
            replace: true,
            placeholder: files.is_empty(),
            add: files,
            ..Record::default()
        };
        let json = encode(&record)?;
        // Losing this race to another writer is fine: the log exists either way.
        self.storage.put_new(&record_path(0), json).await?;
        Ok(())
    }

    /// Commits the record that `next` derives from the current state; on a concurrent commit,
    /// derives it again from the winner's state, up to `attempts` times. Files the record adds
    /// must still exist (a `vacuum` may have removed files of a slow write).
    pub async fn commit(
        &self,
        attempts: u32,
        mut next: impl FnMut(&Snapshot) -> Result<Next, PersistError>,
    ) -> Result<Committed, PersistError> {
        for attempt in 0..attempts.max(1) {
            let current = match self.current().await? {
                Some(s) => s,
                None => {
                    self.ensure().await?;
                    continue;
                }
            };
            let mut record = match next(&current)? {
                Next::Commit(r) => r,
                Next::Skip => return Ok(Committed::Skipped),
            };
            for f in &record.add {
                if self.storage.head(&f.path).await?.is_none() {
                    return Err(PersistError::conflict(
                        NAME,
                        format!(
                            "{} was removed before its commit (by a concurrent vacuum?); write again",
                            f.path
                        ),
                    ));
                }
            }
            record.version = current.version + 1;
            record.timestamp_ms = now_ms();
            record.commit_id = uuid::Uuid::new_v4().simple().to_string();
            let json = encode(&record)?;
            let path = record_path(record.version);
            let won = match self.storage.put_new(&path, json.clone()).await {
                Ok(won) => won,
                // The write may have taken effect before the error: our record is ours by its id.
                Err(e) => match get_opt(self.storage.as_ref(), &path).await {
                    Ok(Some(stored)) if stored == json => true,
                    _ => return Err(e),
                },
            };
            if won {
                let state = self.advance(current, vec![record])?;
                if state.version.is_multiple_of(CHECKPOINT_INTERVAL) {
                    // Best effort: the commit stands whether or not the checkpoint is written.
                    let _ = self.checkpoint(&state).await;
                }
                return Ok(Committed::Version(state));
            }
            // Lost the race: back off a little (growing, with jitter) and rebuild on the winner.
            let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]);
            tokio::time::sleep(Duration::from_micros(
                200 * u64::from(attempt + 1) + jitter * 4,
            ))
            .await;
        }
        Err(PersistError::conflict(
            NAME,
            format!(
                "{} at {}: gave up after {attempts} concurrent commits won",
                LOG_DIR,
                self.storage.location()
            ),
        ))
    }

    async fn checkpoint(&self, state: &Snapshot) -> Result<(), PersistError> {
        let mut state = state.clone();
        let horizon = now_ms().saturating_sub(WRITER_RETENTION_MS);
        state.writers.retain(|_, (_, at)| *at >= horizon);
        let json = serde_json::to_vec(&state)
            .map_err(|e| corrupt(format!("encoding checkpoint: {e}")).with_source(e))?;
        self.storage
            .put(&checkpoint_path(state.version), Bytes::from(json))
            .await?;
        let pointer = serde_json::to_vec(&Pointer {
            version: state.version,
        })
        .map_err(|e| corrupt(format!("encoding checkpoint pointer: {e}")).with_source(e))?;
        self.storage
            .put(LAST_CHECKPOINT, Bytes::from(pointer))
            .await?;
        // The previous checkpoint is superseded; keeping every one would make the log grow with
        // the square of the files. (Older states replay from the records, until retired.)
        if let Some(previous) = state.version.checked_sub(CHECKPOINT_INTERVAL) {
            self.storage.delete(&checkpoint_path(previous)).await?;
        }
        Ok(())
    }

    /// Deletes records and checkpoints below the newest checkpoint, older than `retention`, when
    /// no version before that checkpoint must stay readable (`keep_from`). Returns how many.
    pub async fn retire(&self, keep_from: u64, retention: Duration) -> Result<usize, PersistError> {
        let Some(pointer) = get_opt(self.storage.as_ref(), LAST_CHECKPOINT).await? else {
            return Ok(0);
        };
        let Ok(Pointer { version: newest }) = serde_json::from_slice(&pointer) else {
            return Ok(0);
        };
        // Only retire up to a checkpoint that really is there.
        if self.storage.head(&checkpoint_path(newest)).await?.is_none() {
            return Ok(0);
        }
        // Versions from `keep_from` on must stay readable, and only a checkpoint at or before
        // a version can stand in for the records before it.
        if keep_from < newest {
            return Ok(0);
        }
        let below = newest;
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in self.storage.list(LOG_DIR).await? {
            let version = match parse_log_name(&entry.path) {
                Some(LogFile::Record(v) | LogFile::Checkpoint(v)) => v,
                None => continue,
            };
            if version < below && old_enough(&entry, now, retention) {
                self.storage.delete(&entry.path).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Paths that readable records once added or removed (for `vacuum`: files this dataset owned).
    pub async fn ever_referenced(&self) -> Result<HashSet<String>, PersistError> {
        let mut out = HashSet::new();
        for entry in self.storage.list(LOG_DIR).await? {
            let Some(bytes) = get_opt(self.storage.as_ref(), &entry.path).await? else {
                continue;
            };
            match parse_log_name(&entry.path) {
                Some(LogFile::Record(v)) => {
                    let mut r = parse_record(&entry.path, v, &bytes)?;
                    out.extend(
                        r.files
                            .take()
                            .unwrap_or_default()
                            .into_iter()
                            .map(|f| f.path),
                    );
                    out.extend(r.add.into_iter().map(|f| f.path));
                    out.extend(r.remove);
                }
                Some(LogFile::Checkpoint(v)) => {
                    out.extend(
                        self.read_checkpoint(v)
                            .await?
                            .files
                            .into_iter()
                            .map(|f| f.path),
                    );
                }
                None => {}
            }
        }
        Ok(out)
    }
}

pub fn old_enough(entry: &Entry, now: SystemTime, retention: Duration) -> bool {
    entry
        .modified
        .is_some_and(|m| now.duration_since(m).unwrap_or_default() >= retention)
}

fn encode(record: &Record) -> Result<Bytes, PersistError> {
    serde_json::to_vec(record)
        .map(Bytes::from)
        .map_err(|e| corrupt(format!("encoding commit record: {e}")).with_source(e))
}

/// Whether a file name is one this library gives its data files (`part-<32 hex>.parquet`).
pub fn our_file_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_prefix("part-")
        .and_then(|n| n.strip_suffix(".parquet"))
        .is_some_and(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Parquet files of a folder that has no log (written by another tool), as version 0. Hidden
/// entries (`_x`, `.x`) are skipped. A file written by this library means the log was lost:
/// `Corrupt`, unless `force` (an explicit `repair`).
pub async fn adopt(storage: &dyn Storage, force: bool) -> Result<Option<Snapshot>, PersistError> {
    let mut files = Vec::new();
    for entry in storage.list("").await? {
        let hidden = entry
            .path
            .split('/')
            .any(|seg| seg.starts_with('_') || seg.starts_with('.'));
        if hidden || !entry.path.ends_with(".parquet") || check_path(&entry.path).is_err() {
            continue;
        }
        let bytes = storage.get(&entry.path).await?;
        let path = entry.path.clone();
        let (rows, row_groups, ours) = tokio::task::spawn_blocking(move || {
            let meta = parquet::file::metadata::ParquetMetaDataReader::new()
                .parse_and_finish(&bytes)
                .map_err(|e| corrupt(format!("file {path}: {e}")).with_source(e))?;
            let ours = meta
                .file_metadata()
                .key_value_metadata()
                .is_some_and(|kv| kv.iter().any(|k| k.key == WRITER_KEY));
            Ok::<_, PersistError>((
                meta.file_metadata().num_rows().max(0) as u64,
                meta.num_row_groups() as u64,
                ours,
            ))
        })
        .await
        .map_err(|e| {
            corrupt(format!("reading the footer of {} failed: {e}", entry.path)).with_source(e)
        })??;
        if (ours || our_file_name(&entry.path)) && !force {
            return Err(corrupt(format!(
                "{} has no commit log ({LOG_DIR}/) but holds files written by soa-persist (e.g. {}): \
                 the log was lost, and adopting every file could bring back rows that were replaced \
                 or deleted; call repair() to adopt them anyway",
                storage.location(),
                entry.path
            )));
        }
        files.push(FileEntry {
            rows,
            bytes: entry.size,
            row_groups,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names_are_strict() {
        assert_eq!(
            parse_log_name("_soa_log/00000000000000000005.json"),
            Some(LogFile::Record(5))
        );
        assert_eq!(
            parse_log_name("_soa_log/00000000000000000100.checkpoint.json"),
            Some(LogFile::Checkpoint(100))
        );
        for bad in [
            "_soa_log/5.json",
            "_soa_log/+0000000000000000005.json",
            "_soa_log/0000000000000000000x.json",
            "_soa_log/.00000000000000000005.json.tmp",
            "_soa_log/_last_checkpoint",
        ] {
            assert_eq!(parse_log_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn record_paths_stay_inside_the_dataset() {
        assert!(check_path("a=1/part-x.parquet").is_ok());
        for bad in [
            "/etc/passwd.parquet",
            "../other/x.parquet",
            "a/../../x.parquet",
            "a//x.parquet",
            "./x.parquet",
            "a\\x.parquet",
            "_soa_log/00000000000000000001.json",
            "x.txt",
            "",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn delta_records_rebuild_the_state() {
        let file = |p: &str, rows| FileEntry {
            path: p.into(),
            rows,
            bytes: 1,
            row_groups: 1,
            partition: Vec::new(),
            columns: Vec::new(),
        };
        let mut s = Snapshot::default();
        let add = |v, add: Vec<FileEntry>, remove: Vec<&str>, replace| Record {
            version: v,
            add,
            remove: remove.into_iter().map(String::from).collect(),
            replace,
            ..Record::default()
        };
        s.apply(add(
            1,
            vec![file("a.parquet", 2), file("b.parquet", 3)],
            vec![],
            false,
        ))
        .unwrap();
        s.apply(add(2, vec![file("c.parquet", 4)], vec!["a.parquet"], false))
            .unwrap();
        assert_eq!(s.rows().unwrap(), 7);
        s.apply(add(3, vec![file("d.parquet", 1)], vec![], true))
            .unwrap();
        assert_eq!(s.files.len(), 1);
        assert!(
            s.clone()
                .apply(add(4, vec![file("e.parquet", u64::MAX)], vec![], false))
                .is_err(),
            "more rows than Parquet can count"
        );
        let mut big = s.clone();
        let huge = i64::MAX as u64;
        let files = vec![
            file("e.parquet", huge),
            file("f.parquet", huge),
            file("g.parquet", huge),
        ];
        big.apply(add(4, files, vec![], false)).unwrap();
        assert!(matches!(big.rows(), Err(PersistError::Corrupt { .. })));
        let err = s
            .apply(add(4, vec![file("../x.parquet", 1)], vec![], false))
            .unwrap_err();
        assert!(matches!(err, PersistError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn first_format_records_read_as_full_snapshots() {
        let json = br#"{"version":3,"fingerprint":"f","files":[{"path":"x.parquet","rows":5,"bytes":1,"row_groups":1,"partition":[]}],"placeholder":false}"#;
        let mut s = Snapshot::default();
        s.files.push(FileEntry {
            path: "old.parquet".into(),
            rows: 1,
            bytes: 1,
            row_groups: 1,
            partition: Vec::new(),
            columns: Vec::new(),
        });
        s.apply(parse_record("r", 3, json).unwrap()).unwrap();
        assert_eq!(s.files.len(), 1);
        assert_eq!(s.rows().unwrap(), 5);
        assert!(parse_record("r", 4, json).is_err());
    }
}
