//! Checkpoints and older versions: writing a checkpoint of the whole state, reading the state
//! at any version still in the log, retiring records below the newest checkpoint, and the
//! files that versions refer to (for `vacuum`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use soa_persist_api::PersistError;

use super::super::storage::Entry;
use super::record::{
    LogFile, Snapshot, checkpoint_path, corrupt, now_ms, parse_log_name, parse_record, record_path,
};
use super::{
    CHECKPOINT_INTERVAL, LAST_CHECKPOINT, LOG_DIR, Log, WRITER_RETENTION_MS, check_path, get_opt,
};

#[derive(Serialize, Deserialize)]
pub(super) struct Pointer {
    pub(super) version: u64,
}

impl Log {
    pub(crate) async fn read_checkpoint(&self, version: u64) -> Result<Snapshot, PersistError> {
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
    pub(crate) async fn listed(&self) -> Result<(Vec<u64>, Vec<u64>), PersistError> {
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
    pub(super) async fn start_from_listing(&self) -> Result<Option<Arc<Snapshot>>, PersistError> {
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
    pub(crate) async fn state_at(&self, version: u64) -> Result<Snapshot, PersistError> {
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
    pub(crate) async fn referenced_between(
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

    pub(super) async fn checkpoint(&self, state: &Snapshot) -> Result<(), PersistError> {
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
    pub(crate) async fn retire(
        &self,
        keep_from: u64,
        retention: Duration,
    ) -> Result<usize, PersistError> {
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
    pub(crate) async fn ever_referenced(&self) -> Result<HashSet<String>, PersistError> {
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

pub(crate) fn old_enough(entry: &Entry, now: SystemTime, retention: Duration) -> bool {
    entry
        .modified
        .is_some_and(|m| now.duration_since(m).unwrap_or_default() >= retention)
}
