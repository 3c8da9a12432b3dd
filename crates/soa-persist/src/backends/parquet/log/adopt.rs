//! A folder without a log: another tool's dataset, adopted as version 0, or one of ours whose
//! log was lost (refused unless `repair` forces it).

use soa_persist_api::PersistError;

use super::super::layout::parse_partition_path;
use super::super::storage::Storage;
use super::record::{FileEntry, Snapshot, check_path, corrupt};
use super::{LOG_DIR, WRITER_KEY};

/// Whether a file name is one this library gives its data files (`part-<32 hex>.parquet`).
pub(crate) fn our_file_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_prefix("part-")
        .and_then(|n| n.strip_suffix(".parquet"))
        .is_some_and(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Parquet files of a folder that has no log (written by another tool), as version 0. Hidden
/// entries (`_x`, `.x`) are skipped. A file written by this library means the log was lost:
/// `Corrupt`, unless `force` (an explicit `repair`).
pub(crate) async fn adopt(
    storage: &dyn Storage,
    force: bool,
) -> Result<Option<Snapshot>, PersistError> {
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
