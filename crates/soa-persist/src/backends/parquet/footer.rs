//! Footers kept by the handle: each data file's metadata and its key column's bloom filters,
//! read once. Files never change once written (a commit replaces a file by another name), so an
//! entry stays right until its file leaves the dataset; entries of files no longer live are
//! dropped as scans pass. With them a lookup by key reads only the files that may hold it.
//! A footer is fetched on its own (the file's tail, its offset index and the key's bloom
//! filters: ranged reads), so a first lookup does not read whole files either.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::bloom_filter::Sbbf;
use parquet::file::metadata::{FooterTail, PageIndexPolicy, ParquetMetaDataReader};
use parquet::file::reader::ChunkReader;
use soa_persist_api::PersistError;

use super::chunk::{Fetched, merge_ranges};
use super::log::FileEntry;
use super::storage::Storage;
use super::{corrupt, join_error};

/// The tail read first: most footers fit, so one read usually gets the whole footer.
const TAIL_BYTES: u64 = 64 * 1024;

/// One file's footer and its key's bloom filters.
pub(super) struct Footer {
    pub metadata: ArrowReaderMetadata,
    /// The key column's name, when the file has one with bloom filters.
    pub key: Option<String>,
    /// The key column's bloom filter of each row group (`None` where none was written).
    pub key_blooms: Vec<Option<Sbbf>>,
}

impl Footer {
    /// Fetches only the footer of `file`, its offset index and the bloom filters of column
    /// `key` (two or three ranged reads), and parses them.
    pub(super) async fn fetch(
        storage: &dyn Storage,
        file: &FileEntry,
        key: Option<&str>,
    ) -> Result<Self, PersistError> {
        let len = file.bytes;
        let bad = |what: &str| {
            PersistError::corrupt(super::storage::NAME, format!("{}: {what}", file.path))
        };
        let mut tail_at = len.saturating_sub(TAIL_BYTES);
        let mut tail = fetch_one(storage, file, tail_at..len).await?;
        let Some(last) = tail.len().checked_sub(8) else {
            return Err(bad("too short for a Parquet file"));
        };
        let footer_tail =
            FooterTail::try_from(&tail[last..]).map_err(|e| corrupt(&file.path, e))?;
        let footer_len = footer_tail.metadata_length() as u64 + 8;
        if footer_len > len {
            return Err(bad("its footer claims more bytes than the file has"));
        }
        if footer_len > len - tail_at {
            tail_at = len - footer_len;
            tail = fetch_one(storage, file, tail_at..len).await?;
        }
        let at = tail.len() - footer_len as usize;
        let metadata = ParquetMetaDataReader::decode_metadata(&tail[at..tail.len() - 8])
            .map_err(|e| corrupt(&file.path, e))?;
        // The offset indexes and the key's bloom filters sit before the footer.
        let mut extra = Vec::new();
        for group in metadata.row_groups() {
            for column in group.columns() {
                let mut add = |offset: Option<i64>, length: Option<i32>| {
                    if let (Some(o), Some(l)) = (offset, length) {
                        let (o, l) = (o.max(0) as u64, l.max(0) as u64);
                        extra.push(o..(o + l).min(tail_at));
                    }
                };
                add(column.offset_index_offset(), column.offset_index_length());
                if key.is_some_and(|k| column.column_path().parts() == [k]) {
                    add(column.bloom_filter_offset(), column.bloom_filter_length());
                }
            }
        }
        let mut ranges: Vec<Range<u64>> = merge_ranges(extra)
            .into_iter()
            .filter(|r| r.start < r.end)
            .collect();
        let mut parts = storage.get_ranges(&file.path, ranges.clone()).await?;
        ranges.push(tail_at..len);
        parts.push(tail);
        let fetched = Fetched::new(len, &ranges, parts);
        // Parsing runs where a panic on a damaged footer becomes `Corrupt`, as decoding does.
        let (file, key) = (file.clone(), key.map(str::to_string));
        let what = format!("reading the footer of {}", file.path);
        tokio::task::spawn_blocking(move || Self::load(&file, &fetched, key.as_deref()))
            .await
            .map_err(|e| join_error(e, &what))?
    }

    /// Parses the footer of `reader` (a whole file, or its fetched footer ranges) and reads
    /// the bloom filters of column `key`.
    pub(super) fn load<R: ChunkReader + Clone + 'static>(
        file: &FileEntry,
        reader: &R,
        key: Option<&str>,
    ) -> Result<Self, PersistError> {
        // The offset index lets a filtered read skip the pages that hold no matching row.
        let options = ArrowReaderOptions::new().with_offset_index_policy(PageIndexPolicy::Optional);
        let metadata =
            ArrowReaderMetadata::load(reader, options).map_err(|e| corrupt(&file.path, e))?;
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
                    reader.clone(),
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

/// One range of `file`.
async fn fetch_one(
    storage: &dyn Storage,
    file: &FileEntry,
    range: Range<u64>,
) -> Result<bytes::Bytes, PersistError> {
    let parts = storage.get_ranges(&file.path, Vec::from([range])).await?;
    parts.into_iter().next().ok_or_else(|| {
        PersistError::corrupt(super::storage::NAME, format!("{}: nothing read", file.path))
    })
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
