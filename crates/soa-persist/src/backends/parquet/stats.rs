//! `stats` of a dataset, from the log alone (no file is opened): rows, files, row groups,
//! bytes on disk and per-column compression.

use std::collections::HashMap;

use soa_persist_api::{ColumnStats, PersistError, Stats};

use super::log::{FileEntry, Snapshot};
use super::storage::NAME;

pub(super) fn file_stats(snapshot: &Snapshot) -> Result<Stats, PersistError> {
    let mut columns: Vec<ColumnStats> = Vec::new();
    let mut sizes: HashMap<&str, (u64, u64)> = HashMap::new();
    for f in &snapshot.files {
        for c in &f.columns {
            let e = sizes.entry(c.name.as_str()).or_default();
            e.0 = e.0.saturating_add(c.compressed);
            e.1 = e.1.saturating_add(c.uncompressed);
        }
    }
    for f in &snapshot.files {
        for c in &f.columns {
            if columns.iter().any(|s| s.name == c.name) {
                continue;
            }
            let (compressed, uncompressed) = sizes[c.name.as_str()];
            columns.push(ColumnStats {
                name: c.name.clone(),
                bytes_in_memory: 0,
                bytes_on_disk: Some(compressed),
                compression_ratio: (compressed > 0)
                    .then(|| uncompressed as f64 / compressed as f64),
            });
        }
    }
    let sum = |of: fn(&FileEntry) -> u64| {
        snapshot
            .files
            .iter()
            .fold(0u64, |n, f| n.saturating_add(of(f)))
    };
    let row_groups = sum(|f| f.row_groups);
    Ok(Stats {
        backend: NAME,
        rows: snapshot.rows()?,
        batches: row_groups,
        files: Some(snapshot.files.len() as u64),
        row_groups: Some(row_groups),
        bytes_in_memory: 0,
        bytes_on_disk: Some(sum(|f| f.bytes)),
        buffered_rows: 0,
        columns,
    })
}
