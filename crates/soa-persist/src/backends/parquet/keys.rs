//! Key checks without a scan: for each live file, its footer (cached by the handle), the key
//! column's statistics and bloom filters pick the row groups that may hold some of the keys,
//! and only those row groups' key column is fetched (ranged reads) and decoded. A batch of new
//! keys above every stored one (ids that grow) reads nothing but cached footers.

use std::collections::HashSet;
use std::sync::Arc;

use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::ChunkReader;
use soa_persist_api::PersistError;
use soa_persist_core::arrow::array::{Array, ArrayRef};
use soa_persist_core::arrow::row::{RowConverter, Rows, SortField};
use soa_persist_core::schema::partition_fields;
use soa_persist_core::soa::SoA;

use super::bloom::may_contain;
use super::chunk::{Fetched, needed_ranges};
use super::footer::Footer;
use super::log::FileEntry;
use super::read::row_group_range;
use super::{ParquetPersistence, corrupt};

impl<T: SoA> ParquetPersistence<T> {
    /// Which of `probe`'s keys (an array in the type of key column `key`) are stored; `None`
    /// when this path can't answer (the key is a partition column, or a file stores it in
    /// another type, as the Spark profile does) and a scan must.
    pub(super) async fn stored_keys(
        &self,
        probe: &ArrayRef,
        key: &'static str,
    ) -> Result<Option<Vec<bool>>, PersistError> {
        if partition_fields(&T::arrow_schema()).contains(&key) {
            return Ok(None);
        }
        let mut found = vec![false; probe.len()];
        let Some(snapshot) = self.snapshot().await? else {
            return Ok(Some(found));
        };
        let converter = RowConverter::new(vec![SortField::new(probe.data_type().clone())])?;
        let wanted = converter.convert_columns(std::slice::from_ref(probe))?;
        // The probe in key order: a row group's min/max select a slice by binary search.
        let mut order: Vec<usize> = (0..wanted.num_rows()).collect();
        order.sort_unstable_by(|&a, &b| wanted.row(a).cmp(&wanted.row(b)));
        let probe = Probe {
            array: probe,
            rows: &wanted,
            order: &order,
            converter: &converter,
        };
        for file in &snapshot.files {
            let footer = self.footer_of(file, key).await?;
            let stored_type = footer.metadata.schema().field_with_name(key).ok();
            if stored_type.is_none_or(|f| f.data_type() != probe.array.data_type()) {
                return Ok(None);
            }
            for rg in 0..footer.metadata.metadata().num_row_groups() {
                let candidates = probe.candidates(&footer, rg, key, &found);
                if candidates.is_empty() {
                    continue;
                }
                let stored = self.fetch_keys(file, &footer, rg, key, &converter).await?;
                let stored: HashSet<&[u8]> = stored
                    .iter()
                    .flat_map(|rows| rows.iter().map(|r| r.data()))
                    .collect();
                for i in candidates {
                    found[i] |= stored.contains(wanted.row(i).data());
                }
            }
        }
        Ok(Some(found))
    }

    /// A file's footer from the cache, or fetched on its own.
    async fn footer_of(&self, file: &FileEntry, key: &str) -> Result<Arc<Footer>, PersistError> {
        if let Some(footer) = self.footers.get(&file.path) {
            return Ok(footer);
        }
        let footer = Arc::new(Footer::fetch(&*self.storage, file, Some(key)).await?);
        self.footers.insert(&file.path, footer.clone());
        Ok(footer)
    }

    /// The key column of row group `rg` of `file`: its chunk fetched alone (or the whole file,
    /// when that chunk is most of it), decoded.
    async fn fetch_keys(
        &self,
        file: &FileEntry,
        footer: &Footer,
        rg: usize,
        key: &str,
        converter: &RowConverter,
    ) -> Result<Vec<Rows>, PersistError> {
        let leaf = key_leaf(file, footer, key)?;
        let metadata = footer.metadata.metadata();
        match needed_ranges(metadata, &[rg], Some(&[leaf]), (None, &[]), file.bytes) {
            Some(ranges) => {
                let parts = self.storage.get_ranges(&file.path, ranges.clone()).await?;
                let fetched = Fetched::new(file.bytes, &ranges, parts);
                decode_keys(file, fetched, footer, rg, leaf, converter)
            }
            None => {
                let bytes = self.storage.get(&file.path).await?;
                decode_keys(file, bytes, footer, rg, leaf, converter)
            }
        }
    }
}

/// The keys looked for: the array, its rows, their positions in key order.
struct Probe<'a> {
    array: &'a ArrayRef,
    rows: &'a Rows,
    order: &'a [usize],
    converter: &'a RowConverter,
}

impl Probe<'_> {
    /// Positions of the keys not found yet that row group `rg` may hold: within its min/max
    /// (a binary search in key order), and in its bloom filter where it has one.
    fn candidates(
        &self,
        footer: &Footer,
        rg: usize,
        key: &'static str,
        found: &[bool],
    ) -> Vec<usize> {
        let bounds = row_group_range(&footer.metadata, rg, &[key]).and_then(|r| {
            let min = self.converter.convert_columns(&[r.min]).ok()?;
            let max = self.converter.convert_columns(&[r.max]).ok()?;
            (min.num_rows() == 1 && max.num_rows() == 1).then(|| {
                let row = |i: &usize| self.rows.row(*i);
                let low = self.order.partition_point(|i| row(i) < min.row(0));
                let high = self.order.partition_point(|i| row(i) <= max.row(0));
                low..high.max(low)
            })
        });
        let slice = &self.order[bounds.unwrap_or(0..self.order.len())];
        let bloom = footer.bloom(rg, key);
        slice
            .iter()
            .copied()
            .filter(|&i| !found[i])
            .filter(|&i| bloom.is_none_or(|f| may_contain(f, &self.array.slice(i, 1))))
            .collect()
    }
}

/// The leaf column index of the key in `file`.
fn key_leaf(file: &FileEntry, footer: &Footer, key: &str) -> Result<usize, PersistError> {
    footer
        .metadata
        .parquet_schema()
        .columns()
        .iter()
        .position(|c| c.path().parts() == [key])
        .ok_or_else(|| {
            PersistError::corrupt(
                super::storage::NAME,
                format!("{}: no key column `{key}`", file.path),
            )
        })
}

/// Leaf column `leaf` (the key) of row group `rg`, as rows of `converter` (one `Rows` per
/// decoded batch).
fn decode_keys<R: ChunkReader + 'static>(
    file: &FileEntry,
    reader: R,
    footer: &Footer,
    rg: usize,
    leaf: usize,
    converter: &RowConverter,
) -> Result<Vec<Rows>, PersistError> {
    let builder =
        ParquetRecordBatchReaderBuilder::new_with_metadata(reader, footer.metadata.clone());
    let mask = ProjectionMask::leaves(builder.parquet_schema(), [leaf]);
    let reader = builder
        .with_row_groups(vec![rg])
        .with_projection(mask)
        .build()
        .map_err(|e| corrupt(&file.path, e))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| corrupt(&file.path, e))?;
        rows.push(converter.convert_columns(std::slice::from_ref(batch.column(0)))?);
    }
    Ok(rows)
}
