//! Dataset maintenance: `compact` (`compact.rs`), `vacuum` (delete what no recent version
//! needs, and only what this dataset owns), `repair` (the explicit fix for a damaged dataset: a
//! lost log, files the log names that are gone) and `restore` (an older version committed again
//! as the newest). Each is implemented once, on the schema-less `ParquetDataset`; the typed
//! handle's methods delegate, adding only what its struct knows.

use std::time::{Duration, SystemTime};

use soa_persist_core::schema::partition_fields;
use soa_persist_core::soa::SoA;

use super::ParquetPersistence;
use super::compact::compact;
use super::history::ParquetDataset;
use super::layout::{parse_partition_path, unescape};
use super::log::{self, LOG_DIR, Next, Record, old_enough, our_file_name};
use super::progress::Progress;
use super::storage::NAME;
use soa_persist_api::PersistError;

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
    /// Merges each partition's files into as few as `max_rows_per_file` allows, atomically,
    /// rewriting them in `T`'s schema. Returns (files before, files after). Old files stay
    /// until `vacuum`.
    pub async fn compact(&self) -> Result<(usize, usize), PersistError> {
        compact(&self.log, self.options.commit_attempts, self, &()).await
    }

    /// See [`ParquetDataset::vacuum`]; files with this library's names count as the dataset's
    /// in the folders of `T`'s partition columns too (not only of those the log shows).
    pub async fn vacuum(
        &self,
        retention: Duration,
        keep_versions: u64,
    ) -> Result<usize, PersistError> {
        let schema = T::arrow_schema();
        let layout: Vec<String> = partition_fields(&schema)
            .into_iter()
            .map(String::from)
            .collect();
        self.dataset()
            .vacuum_in(vec![layout], retention, keep_versions, &())
            .await
    }

    /// See [`ParquetDataset::repair`].
    pub async fn repair(&self) -> Result<RepairReport, PersistError> {
        self.dataset().repair().await
    }

    /// See [`ParquetDataset::restore`].
    pub async fn restore(&self, version: u64) -> Result<u64, PersistError> {
        self.dataset().restore(version).await
    }
}

impl ParquetDataset {
    /// Merges each partition's files into as few as `max_rows_per_file` allows, atomically;
    /// without the struct, only files of the dataset's current schema are merged, as stored
    /// (a typed handle's `compact` also upgrades older files). Returns (files before, files
    /// after). Old files stay until `vacuum`.
    pub async fn compact(&self) -> Result<(usize, usize), PersistError> {
        self.compact_with(&()).await
    }

    /// [`compact`](Self::compact), telling `progress` of each partition merged.
    pub async fn compact_with(
        &self,
        progress: &dyn Progress,
    ) -> Result<(usize, usize), PersistError> {
        compact(&self.log, self.options.commit_attempts, self, progress).await
    }

    /// Deletes data files that no version of the last `keep_versions` refers to, once they are
    /// older than `retention` (so a reader of an older version, or a writer whose files are not
    /// yet committed, is not robbed; such a writer's commit then fails with a retryable
    /// `Conflict` rather than referring to missing files), stale temporary files, and commit
    /// records below the newest checkpoint. Only files this dataset owns are candidates: files
    /// its log once referred to, and files with this library's names in this dataset's
    /// partition folders (the folder layout its log shows); a folder holding another dataset
    /// (its own `_soa_log/`) and other tools' files are left alone. Returns how many files were
    /// removed.
    pub async fn vacuum(
        &self,
        retention: Duration,
        keep_versions: u64,
    ) -> Result<usize, PersistError> {
        self.vacuum_with(retention, keep_versions, &()).await
    }

    /// [`vacuum`](Self::vacuum), telling `progress` of each file looked at.
    pub async fn vacuum_with(
        &self,
        retention: Duration,
        keep_versions: u64,
        progress: &dyn Progress,
    ) -> Result<usize, PersistError> {
        self.vacuum_in(Vec::new(), retention, keep_versions, progress)
            .await
    }

    /// `vacuum`; files with this library's names are this dataset's in the partition folders
    /// of the layouts (column names, outermost first) its log's paths show, and of `layouts`.
    async fn vacuum_in(
        &self,
        mut layouts: Vec<Vec<String>>,
        retention: Duration,
        keep_versions: u64,
        progress: &dyn Progress,
    ) -> Result<usize, PersistError> {
        let Some(latest) = self.log.current().await? else {
            return Ok(0);
        };
        let oldest_kept = latest.version.saturating_sub(keep_versions);
        let mut referenced = self
            .log
            .referenced_between(oldest_kept, latest.version)
            .await?;
        let owned = self.log.ever_referenced().await?;
        for path in &owned {
            let layout: Vec<String> = parse_partition_path(path)
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            if !layouts.contains(&layout) {
                layouts.push(layout);
            }
        }
        let entries = self.storage.list("").await?;
        // Folders that hold a dataset of their own: everything below them is someone else's.
        let nested: Vec<String> = entries
            .iter()
            .filter_map(|e| {
                let (dir, _) = e.path.split_once(&format!("/{LOG_DIR}/"))?;
                Some(format!("{dir}/"))
            })
            .collect();
        progress.start(
            entries.len() as u64,
            0,
            entries.iter().map(|e| e.size).sum(),
        );
        let now = SystemTime::now();
        let mut doomed = Vec::new();
        for entry in &entries {
            progress.advance(1, 0, entry.size);
            if entry.path.starts_with(&format!("{LOG_DIR}/"))
                || nested.iter().any(|n| entry.path.starts_with(n.as_str()))
                || !old_enough(entry, now, retention)
            {
                continue;
            }
            let mut segments: Vec<&str> = entry.path.split('/').collect();
            let name = segments.pop().unwrap_or_default();
            let in_partition_folder = layouts.iter().any(|columns| {
                segments.len() == columns.len()
                    && segments.iter().zip(columns).all(|(seg, col)| {
                        seg.split_once('=')
                            .is_some_and(|(k, _)| unescape(k) == *col)
                    })
            });
            let temporary = name.starts_with('.') && name.ends_with(".tmp");
            let ours = (our_file_name(name) || temporary) && in_partition_folder;
            let owned_file = owned.contains(&entry.path);
            if (ours || owned_file) && !referenced.contains(&entry.path) {
                doomed.push(&entry.path);
            }
        }
        // Commits that landed meanwhile keep what they name (a `restore` names old files).
        if let Some(now) = self.log.current().await?
            && now.version > latest.version
        {
            referenced.extend(
                self.log
                    .referenced_between(latest.version + 1, now.version)
                    .await?,
            );
        }
        let mut removed = 0;
        for path in doomed.into_iter().filter(|p| !referenced.contains(*p)) {
            self.storage.delete(path).await?;
            removed += 1;
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
    /// without them; their rows are reported lost). A healthy dataset is left as it is; a
    /// folder with neither a log nor Parquet files is `InvalidInput` (not a dataset).
    pub async fn repair(&self) -> Result<RepairReport, PersistError> {
        let mut report = RepairReport::default();
        let Some(current) = self.log.current().await? else {
            let Some(adopted) = log::adopt(self.storage.as_ref(), true).await? else {
                // Nothing to adopt: writing a log would make any empty folder a dataset.
                return Err(PersistError::invalid_input(
                    NAME,
                    format!(
                        "{} is not a dataset: no _soa_log/ and no Parquet files, nothing to repair",
                        self.location()
                    ),
                ));
            };
            report.adopted_files = adopted.files.iter().map(|f| f.path.clone()).collect();
            self.log.create(Some(adopted), "repair").await?;
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
            .commit(self.options.commit_attempts, |current| {
                // The schema is unchanged: the record keeps the dataset's fingerprint.
                Ok(Next::Commit(Record {
                    remove: missing.clone(),
                    ..Record::new("repair", current.fingerprint.clone())
                }))
            })
            .await?;
        report.missing_files = missing;
        Ok(report)
    }

    /// Commits version `version`'s state again as a new version (operation `restore`): the
    /// newest version then has exactly that version's files, and the versions in between stay
    /// in the history. Returns the new version. A version that does not exist, or whose
    /// records or files `vacuum` removed, is `InvalidInput` saying so, and nothing is written.
    pub async fn restore(&self, version: u64) -> Result<u64, PersistError> {
        let old = self.at_version(version).await.map_err(|e| match e {
            PersistError::InvalidInput { detail, .. } => PersistError::invalid_input(
                NAME,
                format!("can't restore version {version}: {detail}"),
            ),
            e => e,
        })?;
        let state = old.state;
        self.log.ensure().await?;
        let committed = self
            .log
            .commit(self.options.commit_attempts, |_| {
                Ok(Next::Commit(Record {
                    replace: true,
                    add: state.files.clone(),
                    restored: Some(version),
                    ..Record::new("restore", state.fingerprint.clone())
                }))
            })
            .await?;
        let log::Committed::Version(state) = committed else {
            return Err(PersistError::conflict(NAME, "restore was skipped"));
        };
        // The files were there before the commit; a vacuum running since may still have taken
        // one (it keeps what commits name only up to its last look at the log): say so.
        for f in &state.files {
            if self.storage.head(&f.path).await?.is_none() {
                return Err(PersistError::corrupt(
                    NAME,
                    format!(
                        "version {} restored version {version}, but a concurrent vacuum removed                          {} meanwhile; repair drops it",
                        state.version, f.path
                    ),
                ));
            }
        }
        Ok(state.version)
    }
}
