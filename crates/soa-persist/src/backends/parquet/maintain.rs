//! Dataset maintenance: `compact` (merge small files), `vacuum` (delete what no recent version
//! needs, and only what this dataset owns) and `repair` (the explicit fix for a damaged
//! dataset: a lost log, files the log names that are gone).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use futures::TryStreamExt;
use soa_persist_core::arrow::compute::concat_batches;
use soa_persist_core::schema::partition_fields;
use soa_persist_core::soa::SoA;

use super::layout::{self, unescape};
use super::log::{self, FileEntry, LOG_DIR, Next, Record, old_enough, our_file_name};
use super::{NAME, ParquetPersistence};
use soa_persist_api::{PersistError, Scan};

/// What `repair` found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// The log was missing: these files were adopted as the dataset's version 0. Rows that an
    /// earlier `save`, `delete` or `compact` had replaced may be among them again.
    pub adopted_files: Vec<String>,
    /// Files the log named that were gone; a new version no longer refers to them.
    pub missing_files: Vec<String>,
    /// Rows those missing files held, by the log's count.
    pub rows_lost: u64,
}

impl RepairReport {
    /// Whether repair found nothing to do.
    pub fn is_clean(&self) -> bool {
        self == &Self::default()
    }
}

impl<T: SoA> ParquetPersistence<T> {
    /// Merges each partition's files into as few as `max_rows_per_file` allows, atomically.
    /// Returns (files before, files after). Old files stay until `vacuum`.
    pub async fn compact(&self) -> Result<(usize, usize), PersistError> {
        let Some(snapshot) = self.snapshot().await? else {
            return Ok((0, 0));
        };
        let mut by_partition: HashMap<layout::PartitionValues, Vec<FileEntry>> = HashMap::new();
        for f in &snapshot.files {
            by_partition
                .entry(f.partition.clone())
                .or_default()
                .push(f.clone());
        }
        let mut replaced = Vec::new();
        let mut written = Vec::new();
        for (_, files) in by_partition.into_iter().filter(|(_, f)| f.len() > 1) {
            let batches: Vec<_> = self
                .read(files.clone(), Scan::all())
                .await?
                .try_collect()
                .await?;
            let merged = concat_batches(&T::arrow_schema(), &batches)?;
            written.extend(self.write_files(vec![merged]).await?);
            replaced.extend(files.into_iter().map(|f| f.path));
        }
        let before = snapshot.files.len();
        if replaced.is_empty() {
            return Ok((before, before));
        }
        let committed = self
            .log
            .commit(self.options.commit_attempts, |current| {
                // Compaction only applies if the files it merged are all still live.
                let live: HashSet<&str> = current.files.iter().map(|f| f.path.as_str()).collect();
                if !replaced.iter().all(|p| live.contains(p.as_str())) {
                    return Err(PersistError::conflict(
                        NAME,
                        "files changed during compaction",
                    ));
                }
                Ok(Next::Commit(Record {
                    remove: replaced.clone(),
                    add: written.clone(),
                    ..Record::new("compact", T::schema_fingerprint())
                }))
            })
            .await?;
        Ok(match committed {
            log::Committed::Version(state) => (before, state.files.len()),
            log::Committed::Skipped => (before, before),
        })
    }

    /// Deletes data files that no version of the last `keep_versions` refers to, once they are
    /// older than `retention` (so a reader of an older version, or a writer whose files are not
    /// yet committed, is not robbed; such a writer's commit then fails with a retryable
    /// `Conflict` rather than referring to missing files), stale temporary files, and commit
    /// records below the newest checkpoint. Only files this dataset owns are candidates: files
    /// its log once referred to, and files with this library's names in this dataset's
    /// partition folders; a folder holding another dataset (its own `_soa_log/`) and other
    /// tools' files are left alone. Returns how many files were removed.
    pub async fn vacuum(
        &self,
        retention: Duration,
        keep_versions: u64,
    ) -> Result<usize, PersistError> {
        let Some(latest) = self.log.current().await? else {
            return Ok(0);
        };
        let oldest_kept = latest.version.saturating_sub(keep_versions);
        let referenced = self
            .log
            .referenced_between(oldest_kept, latest.version)
            .await?;
        let owned = self.log.ever_referenced().await?;
        let schema = T::arrow_schema();
        let partitions: Vec<&str> = partition_fields(&schema);
        let entries = self.storage.list("").await?;
        // Folders that hold a dataset of their own: everything below them is someone else's.
        let nested: Vec<String> = entries
            .iter()
            .filter_map(|e| {
                let (dir, _) = e.path.split_once(&format!("/{LOG_DIR}/"))?;
                Some(format!("{dir}/"))
            })
            .collect();
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in &entries {
            if entry.path.starts_with(&format!("{LOG_DIR}/"))
                || nested.iter().any(|n| entry.path.starts_with(n.as_str()))
                || !old_enough(entry, now, retention)
            {
                continue;
            }
            let mut segments: Vec<&str> = entry.path.split('/').collect();
            let name = segments.pop().unwrap_or_default();
            let in_partition_folder = segments.len() == partitions.len()
                && segments.iter().zip(&partitions).all(|(seg, col)| {
                    seg.split_once('=')
                        .is_some_and(|(k, _)| unescape(k) == *col)
                });
            let temporary = name.starts_with('.') && name.ends_with(".tmp");
            let ours = (our_file_name(name) || temporary) && in_partition_folder;
            let owned_file = owned.contains(&entry.path);
            if (ours || owned_file) && !referenced.contains(&entry.path) {
                self.storage.delete(&entry.path).await?;
                removed += 1;
            }
        }
        // Temporaries of interrupted commits in the log folder.
        for entry in self.storage.list(LOG_DIR).await? {
            let name = entry.path.rsplit('/').next().unwrap_or_default();
            if name.starts_with('.') && name.ends_with(".tmp") && old_enough(&entry, now, retention)
            {
                self.storage.delete(&entry.path).await?;
                removed += 1;
            }
        }
        self.log.retire(oldest_kept, retention).await?;
        Ok(removed)
    }

    /// Fixes what makes a dataset unreadable, and says what it did: a lost commit log (the
    /// Parquet files found are adopted as version 0, including ones an earlier write had
    /// replaced: check the report), or files the log names that are gone (a new version
    /// without them; their rows are reported lost). A healthy dataset is left as it is.
    pub async fn repair(&self) -> Result<RepairReport, PersistError> {
        let mut report = RepairReport::default();
        let Some(current) = self.log.current().await? else {
            let adopted = log::adopt(self.storage.as_ref(), true).await?;
            if let Some(adopted) = &adopted {
                report.adopted_files = adopted.files.iter().map(|f| f.path.clone()).collect();
            }
            self.log.create(adopted, "repair").await?;
            return Ok(report);
        };
        let mut missing = Vec::new();
        for f in &current.files {
            if self.storage.head(&f.path).await?.is_none() {
                report.rows_lost = report.rows_lost.saturating_add(f.rows);
                missing.push(f.path.clone());
            }
        }
        if missing.is_empty() {
            return Ok(report);
        }
        self.log
            .commit(self.options.commit_attempts, |_| {
                Ok(Next::Commit(Record {
                    remove: missing.clone(),
                    ..Record::new("repair", T::schema_fingerprint())
                }))
            })
            .await?;
        report.missing_files = missing;
        Ok(report)
    }
}
