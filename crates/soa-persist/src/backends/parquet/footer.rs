//! Footers kept by the handle: each data file's metadata and its key column's bloom filters,
//! read once. Files never change once written (a commit replaces a file by another name), so an
//! entry stays right until its file leaves the dataset; entries of files no longer live are
//! dropped as scans pass. With them a lookup by key reads only the files that may hold it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::bloom_filter::Sbbf;
use parquet::file::metadata::PageIndexPolicy;
use soa_persist_api::PersistError;

use super::corrupt;
use super::log::FileEntry;

/// One file's footer and its key's bloom filters.
pub(super) struct Footer {
    pub metadata: ArrowReaderMetadata,
    /// The key column's name, when the file has one with bloom filters.
    pub key: Option<String>,
    /// The key column's bloom filter of each row group (`None` where none was written).
    pub key_blooms: Vec<Option<Sbbf>>,
}

impl Footer {
    /// Parses the footer of `bytes` and reads the bloom filters of column `key`.
    pub(super) fn load(
        file: &FileEntry,
        bytes: &Bytes,
        key: Option<&str>,
    ) -> Result<Self, PersistError> {
        // The offset index lets a filtered read skip the pages that hold no matching row.
        let options = ArrowReaderOptions::new().with_offset_index_policy(PageIndexPolicy::Optional);
        let metadata =
            ArrowReaderMetadata::load(bytes, options).map_err(|e| corrupt(&file.path, e))?;
        let leaf = key.and_then(|k| {
            metadata
                .parquet_schema()
                .columns()
                .iter()
                .position(|c| c.path().parts() == [k])
        });
        let key_blooms = match leaf {
            Some(leaf) => {
                let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
                    bytes.clone(),
                    metadata.clone(),
                );
                (0..metadata.metadata().num_row_groups())
                    .map(|rg| {
                        builder
                            .get_row_group_column_bloom_filter(rg, leaf)
                            .ok()
                            .flatten()
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        Ok(Self {
            key: leaf.and(key).map(str::to_string),
            metadata,
            key_blooms,
        })
    }

    /// The key's bloom filter of row group `rg`, if `column` is the key and it has one.
    pub(super) fn bloom(&self, rg: usize, column: &str) -> Option<&Sbbf> {
        (self.key.as_deref() == Some(column))
            .then(|| self.key_blooms.get(rg)?.as_ref())
            .flatten()
    }
}

/// The handle's footers, by file path.
#[derive(Default)]
pub(super) struct FooterCache {
    entries: Mutex<HashMap<String, Arc<Footer>>>,
}

impl FooterCache {
    pub(super) fn get(&self, path: &str) -> Option<Arc<Footer>> {
        self.lock().get(path).cloned()
    }

    pub(super) fn insert(&self, path: &str, footer: Arc<Footer>) {
        self.lock().insert(path.to_string(), footer);
    }

    /// Drops the entries of files that are no longer live (once they outnumber the live ones).
    pub(super) fn keep_only(&self, live: &[FileEntry]) {
        let mut entries = self.lock();
        if entries.len() > live.len() {
            let live: HashSet<&str> = live.iter().map(|f| f.path.as_str()).collect();
            entries.retain(|path, _| live.contains(path.as_str()));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Footer>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}
