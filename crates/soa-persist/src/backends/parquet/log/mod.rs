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

mod adopt;
mod checkpoint;
mod record;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use soa_persist_api::PersistError;

use self::checkpoint::Pointer;
use self::record::{encode, now_ms};
use super::storage::{NAME, Storage};

pub(super) use self::adopt::{adopt, our_file_name};
pub(super) use self::checkpoint::old_enough;
pub(super) use self::record::{
    ColumnSize, FileEntry, Record, Snapshot, WriteMark, check_path, parse_log_name, parse_record,
    record_path,
};

pub(super) const LOG_DIR: &str = "_soa_log";
pub(super) const LAST_CHECKPOINT: &str = "_soa_log/_last_checkpoint";
/// A checkpoint every this many commits bounds what a fresh reader replays.
pub(super) const CHECKPOINT_INTERVAL: u64 = 100;
/// Write ids older than this are forgotten at checkpoints (a retry comes within seconds).
pub(super) const WRITER_RETENTION_MS: u64 = 7 * 24 * 3600 * 1000;
/// Key-value metadata that marks a data file as written by this library.
pub(super) const WRITER_KEY: &str = "soa-persist.writer";

fn is_not_found(e: &PersistError) -> bool {
    matches!(e, PersistError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

pub(crate) async fn get_opt(
    storage: &dyn Storage,
    path: &str,
) -> Result<Option<Bytes>, PersistError> {
    match storage.get(path).await {
        Ok(b) => Ok(Some(b)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What `commit`'s builder decides, given the current state.
#[allow(clippy::large_enum_variant)] // one per commit attempt: boxing would buy nothing
pub(super) enum Next {
    Commit(Record),
    /// Nothing to write (e.g. the write id is already committed).
    Skip,
}

/// How a commit ended.
pub(super) enum Committed {
    Version(Arc<Snapshot>),
    Skipped,
}

/// A dataset's log, with the newest state it has read cached (shared by clones of a handle).
#[derive(Debug)]
pub(super) struct Log {
    storage: Arc<dyn Storage>,
    cache: Mutex<Option<Arc<Snapshot>>>,
}

impl Log {
    pub(super) fn new(storage: Arc<dyn Storage>) -> Self {
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
    pub(super) async fn latest(&self) -> Result<Option<Arc<Snapshot>>, PersistError> {
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
    pub(super) async fn current(&self) -> Result<Option<Arc<Snapshot>>, PersistError> {
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

    /// Creates the log before this process writes its first data file into a folder without
    /// one, recording the files already there (written by other tools) as version 0.
    /// Afterwards only commits make files live, so no reader mistakes an in-flight file for data.
    pub(super) async fn ensure(&self) -> Result<(), PersistError> {
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
    pub(super) async fn create(
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
    pub(super) async fn commit(
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
}
