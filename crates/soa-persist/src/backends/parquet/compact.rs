//! `compact`: each partition's files merged into as few as `max_rows_per_file` allows, swapped in
//! by one commit. One implementation serves both handles; only how a partition's files are read
//! and written again differs (`Merge`): a typed handle rewrites them in its struct's schema
//! (older files brought up to it), a dataset opened without its struct merges the files that
//! have the dataset's current schema, as they are stored.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;

use bytes::Bytes;
use futures::TryStreamExt;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use soa_persist_api::{PersistError, Scan};
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::compute::concat_batches;
use soa_persist_core::arrow::datatypes::SchemaRef;
use soa_persist_core::schema::{META_FINGERPRINT, META_KEY};
use soa_persist_core::soa::SoA;

use super::encode::{file_jobs, store_files};
use super::history::ParquetDataset;
use super::layout::{Part, PartitionValues};
use super::log::{Committed, FileEntry, Log, Next, Record, Snapshot};
use super::progress::Progress;
use super::storage::NAME;
use super::{ParquetPersistence, corrupt, join_error};

/// What merging one partition's files did: the files it replaces (those it left out stay) and
/// the files it wrote (not yet live).
#[derive(Default)]
pub(super) struct Merged {
    replaced: Vec<String>,
    written: Vec<FileEntry>,
}

/// How a partition's files are read and written again.
pub(super) trait Merge: Sync {
    /// Reads `files` (all of one partition) and writes their rows as new files.
    fn merge(
        &self,
        files: Vec<FileEntry>,
        state: &Snapshot,
    ) -> impl Future<Output = Result<Merged, PersistError>> + Send;

    /// The schema fingerprint the commit records for the files it adds.
    fn fingerprint(&self, state: &Snapshot) -> String;
}

/// Compacts the newest version; returns (files before, files after). Old files stay until
/// `vacuum`. The commit applies only if every merged file is still live.
pub(super) async fn compact(
    log: &Log,
    attempts: u32,
    merge: &impl Merge,
    progress: &dyn Progress,
) -> Result<(usize, usize), PersistError> {
    let Some(snapshot) = log.latest().await? else {
        return Ok((0, 0));
    };
    // New files go in only once a log exists: a folder adopted from another tool gets its log
    // first, so our files are never mistaken for adopted ones.
    log.ensure().await?;
    let mut by_partition: BTreeMap<PartitionValues, Vec<FileEntry>> = BTreeMap::new();
    for f in &snapshot.files {
        by_partition
            .entry(f.partition.clone())
            .or_default()
            .push(f.clone());
    }
    let groups: Vec<Vec<FileEntry>> = by_partition
        .into_values()
        .filter(|files| files.len() > 1)
        .collect();
    let (files, rows, bytes) = totals(groups.iter().flatten());
    progress.start(files, rows, bytes);
    let mut replaced = Vec::new();
    let mut written = Vec::new();
    for files in groups {
        let (n, rows, bytes) = totals(&files);
        let merged = merge.merge(files, &snapshot).await?;
        replaced.extend(merged.replaced);
        written.extend(merged.written);
        progress.advance(n, rows, bytes);
    }
    let before = snapshot.files.len();
    if replaced.is_empty() {
        return Ok((before, before));
    }
    let fingerprint = merge.fingerprint(&snapshot);
    let committed = log
        .commit(attempts, |current| {
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
                ..Record::new("compact", fingerprint.clone())
            }))
        })
        .await?;
    Ok(match committed {
        Committed::Version(state) => (before, state.files.len()),
        Committed::Skipped => (before, before),
    })
}

fn totals<'a>(files: impl IntoIterator<Item = &'a FileEntry>) -> (u64, u64, u64) {
    files.into_iter().fold((0, 0, 0), |(n, rows, bytes), f| {
        (n + 1, rows + f.rows, bytes + f.bytes)
    })
}

/// The struct knows the schema: every file is read into it and the rows written as new files.
impl<T: SoA> Merge for ParquetPersistence<T> {
    async fn merge(&self, files: Vec<FileEntry>, _: &Snapshot) -> Result<Merged, PersistError> {
        let batches: Vec<_> = self
            .read(files.clone(), Scan::all())
            .await?
            .try_collect()
            .await?;
        let merged = concat_batches(&T::arrow_schema(), &batches)?;
        Ok(Merged {
            written: self.write_files(vec![merged]).await?,
            replaced: files.into_iter().map(|f| f.path).collect(),
        })
    }

    fn fingerprint(&self, _: &Snapshot) -> String {
        T::schema_fingerprint()
    }
}

/// Without the struct, files are merged as stored, and only files of one schema with each
/// other: those whose fingerprint is the dataset's current one (or that carry none, as other
/// tools' files). Files of an older schema stay as they are; a typed handle upgrades them.
impl Merge for ParquetDataset {
    async fn merge(&self, files: Vec<FileEntry>, state: &Snapshot) -> Result<Merged, PersistError> {
        let mut groups: Vec<(SchemaRef, Vec<String>, Vec<RecordBatch>)> = Vec::new();
        for f in &files {
            let bytes = self.storage.get(&f.path).await?;
            let path = f.path.clone();
            let (schema, batches) = tokio::task::spawn_blocking(move || read_whole(&path, bytes))
                .await
                .map_err(|e| join_error(e, &format!("reading {}", f.path)))??;
            let current = schema
                .metadata()
                .get(META_FINGERPRINT)
                .is_none_or(|fp| state.fingerprint.is_empty() || *fp == state.fingerprint);
            if !current {
                continue;
            }
            match groups.iter_mut().find(|(s, _, _)| *s == schema) {
                Some((_, paths, all)) => {
                    paths.push(f.path.clone());
                    all.extend(batches);
                }
                None => groups.push((schema, vec![f.path.clone()], batches)),
            }
        }
        let mut out = Merged::default();
        let partition = files
            .first()
            .map(|f| f.partition.clone())
            .unwrap_or_default();
        for (schema, paths, batches) in groups.into_iter().filter(|g| g.1.len() > 1) {
            let key = schema.metadata().get(META_KEY).map(String::as_str);
            let props = self.options.writer_properties(key)?;
            let merged = concat_batches(&schema, &batches)?;
            let jobs = file_jobs(
                &Part::whole(merged),
                &partition,
                self.options.max_rows_per_file,
            );
            out.written
                .extend(store_files(self.storage.as_ref(), jobs, &props).await?);
            out.replaced.extend(paths);
        }
        Ok(out)
    }

    fn fingerprint(&self, state: &Snapshot) -> String {
        state.fingerprint.clone()
    }
}

/// A whole file as stored: its Arrow schema and every row.
fn read_whole(path: &str, bytes: Bytes) -> Result<(SchemaRef, Vec<RecordBatch>), PersistError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| corrupt(path, e))?;
    let schema = builder.schema().clone();
    let reader = builder.build().map_err(|e| corrupt(path, e))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt(path, e))?;
    Ok((schema, batches))
}
