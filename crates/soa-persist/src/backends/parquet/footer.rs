//! Footers kept by the handle: each data file's metadata and its key column's bloom filters,
//! read once. Files never change once written (a commit replaces a file by another name), so an
//! entry stays right until its file leaves the dataset; entries of files no longer live are
//! dropped as scans pass. With them a lookup by key reads only the files that may hold it.
//! A footer is fetched on its own (the file's tail, its page index and the key's bloom
//! filters: ranged reads), so a first lookup does not read whole files either.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::bloom_filter::Sbbf;
use parquet::file::metadata::{
    ColumnChunkMask, FooterTail, PageIndexPolicy, ParquetMetaDataReader,
};
use parquet::file::reader::ChunkReader;
use soa_persist_api::PersistError;

use super::chunk::{Fetched, merge_ranges};
use super::log::FileEntry;
use super::storage::Storage;
use super::{corrupt, join_error};

/// The tail read first: most footers fit, so one read usually gets the whole footer.
const TAIL_BYTES: u64 = 64 * 1024;

/// One file's footer (with its offset index and its key's column index) and its key's bloom
/// filters.
pub(super) struct Footer {
    pub metadata: ArrowReaderMetadata,
    /// The key column's name, when the file has one with bloom filters.
    pub key: Option<String>,
    /// The key column's bloom filter of each row group (`None` where none was written).
    pub key_blooms: Vec<Option<Sbbf>>,
}

impl Footer {
    /// Fetches only the footer of `file`, its page index and the bloom filters of column `key`
    /// (two or three ranged reads), and parses them.
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
        // The page indexes and the key's bloom filters sit before the footer. The reader takes
        // the page indexes as one range, from the first to the end of the last (whatever lies
        // between), though it decodes only the key's column index.
        let mut extra = Vec::new();
        let mut index: Option<Range<u64>> = None;
        let range = |offset: Option<i64>, length: Option<i32>| {
            let (o, l) = (offset?.max(0) as u64, length?.max(0) as u64);
            Some(o..(o + l).min(tail_at))
        };
        for group in metadata.row_groups() {
            for column in group.columns() {
                for r in [
                    range(column.offset_index_offset(), column.offset_index_length()),
                    range(column.column_index_offset(), column.column_index_length()),
                ]
                .into_iter()
                .flatten()
                {
                    index = Some(match index {
                        Some(i) => i.start.min(r.start)..i.end.max(r.end),
                        None => r,
                    });
                }
                if key.is_some_and(|k| column.column_path().parts() == [k]) {
                    extra.extend(range(
                        column.bloom_filter_offset(),
                        column.bloom_filter_length(),
                    ));
                }
            }
        }
        extra.extend(index);
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
        // The offset index lets a filtered read skip the pages that hold no matching row; the
        // key's column index (its pages' min/max) tells a key lookup which pages those are.
        // The other columns' column indexes are not decoded: large (string bounds) and rarely
        // selective.
        let options = ArrowReaderOptions::new().with_offset_index_policy(PageIndexPolicy::Optional);
        let metadata = ArrowReaderMetadata::load(reader, options.clone())
            .map_err(|e| corrupt(&file.path, e))?;
        let leaf = key.and_then(|k| {
            metadata
                .parquet_schema()
                .columns()
                .iter()
                .position(|c| c.path().parts() == [k])
        });
        let metadata = match leaf {
            Some(leaf) => {
                let options = options
                    .with_column_index_policy(PageIndexPolicy::Optional)
                    .with_column_index_mask(ColumnChunkMask::columns([leaf]));
                ArrowReaderMetadata::load(reader, options).map_err(|e| corrupt(&file.path, e))?
            }
            None => metadata,
        };
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use soa_persist_core::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
    use soa_persist_core::bridge::FieldOptions;
    use soa_persist_core::fields::Col;

    use super::super::encode::{file_jobs, store_files};
    use super::super::options::ParquetOptions;
    use super::super::read::page_selection;
    use super::super::storage::LocalStorage;
    use super::*;

    #[tokio::test]
    async fn a_fetched_footer_has_the_key_pages_bounds_and_a_lookup_selects_one_page() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalStorage::open(dir.path()).unwrap();
        let ids: ArrayRef = Arc::new(UInt64Array::from_iter_values(0..5000));
        let names: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..5000).map(|i| format!("name {i}")),
        ));
        let batch = RecordBatch::try_from_iter([("id", ids), ("name", names)]).unwrap();
        let options = ParquetOptions {
            row_group_rows: 1000,
            data_page_rows: 100,
            ..ParquetOptions::default()
        };
        let props = options.writer_properties(Some("id")).unwrap();
        let jobs = file_jobs(
            &super::super::layout::Part::whole(batch),
            &Vec::new(),
            10_000,
        );
        let file = store_files(&storage, jobs, &props).await.unwrap().remove(0);

        let footer = Footer::fetch(&storage, &file, Some("id")).await.unwrap();
        let index = footer.metadata.metadata().page_index().unwrap();
        assert!(index.column_index(2, 0).is_some(), "the key's column index");
        assert!(
            index.column_index(2, 1).is_none(),
            "no other column's decoded"
        );
        assert!(index.offset_index(2, 1).is_some(), "every column's offsets");

        // id = 2345 lies on one page of 100 rows of row group 2.
        let lookup = Col::<(), u64>::new(&[], "id", FieldOptions::DEFAULT).eq(2345u64);
        let selection = page_selection(&footer.metadata, &[2], lookup.expr()).unwrap();
        assert_eq!(selection.row_count(), 100);
        assert_eq!(selection.skipped_row_count(), 900);
        // A predicate on a column without bounds skips nothing.
        let other = Col::<(), String>::new(&[], "name", FieldOptions::DEFAULT).eq("name 2345");
        assert!(page_selection(&footer.metadata, &[2], other.expr()).is_none());
    }
}
