//! Writer settings of a dataset (`ParquetOptions`) and the Parquet writer properties they
//! make.

use parquet::basic::{Compression as Codec, GzipLevel, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use soa_persist_api::PersistError;

use super::log;
use super::storage::NAME;

/// Parquet compression codec.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Compression {
    /// zstd at a level from 1 (fast) to 22 (small); the default, at level 3.
    Zstd(i32),
    /// Snappy: fast, larger files.
    Snappy,
    /// LZ4 (the raw block format Parquet specifies).
    Lz4Raw,
    /// gzip at a level from 0 to 9.
    Gzip(u32),
    /// No compression.
    None,
}

/// Writer settings of a dataset.
#[derive(Clone, Debug)]
pub struct ParquetOptions {
    /// The codec of every column.
    pub compression: Compression,
    /// Rows per row group (the unit of statistics pruning).
    pub row_group_rows: usize,
    /// Rows per file; larger writes become several files.
    pub max_rows_per_file: usize,
    /// Target size of a data page in bytes.
    pub data_page_bytes: usize,
    /// Most rows in a data page (the unit a filtered read skips by the page index).
    pub data_page_rows: usize,
    /// Dictionary-encode columns (the writer falls back to plain encoding when a dictionary grows large).
    pub dictionary: bool,
    /// Page-level statistics and the page index (column and offset indexes).
    pub statistics: bool,
    /// Cast what Spark/Hive readers reject to what they accept (unsigned integers to wider
    /// signed ones, nanosecond timestamps to microseconds); reads cast back to the struct.
    pub spark_compatible: bool,
    /// Attempts before a commit that keeps losing to concurrent writers returns `Conflict`.
    pub commit_attempts: u32,
    /// A bloom filter on the `#[soa(key)]` column of every row group (1% false positives), so
    /// key lookups and key checks skip the row groups that can't hold the key.
    pub key_bloom_filter: bool,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        Self {
            compression: Compression::Zstd(3),
            row_group_rows: 128 * 1024,
            max_rows_per_file: 1024 * 1024,
            data_page_bytes: 1024 * 1024,
            data_page_rows: 20_000,
            dictionary: true,
            statistics: true,
            spark_compatible: false,
            commit_attempts: 200,
            key_bloom_filter: true,
        }
    }
}

impl ParquetOptions {
    /// The writer's settings; `key` is the key column, if the struct has one.
    pub(super) fn writer_properties(
        &self,
        key: Option<&str>,
    ) -> Result<WriterProperties, PersistError> {
        let bad = |e: parquet::errors::ParquetError| {
            PersistError::invalid_input(NAME, format!("invalid writer settings: {e}"))
                .with_source(e)
        };
        let codec = match self.compression {
            Compression::Zstd(level) => Codec::ZSTD(ZstdLevel::try_new(level).map_err(bad)?),
            Compression::Snappy => Codec::SNAPPY,
            Compression::Lz4Raw => Codec::LZ4_RAW,
            Compression::Gzip(level) => Codec::GZIP(GzipLevel::try_new(level).map_err(bad)?),
            Compression::None => Codec::UNCOMPRESSED,
        };
        let mut builder = WriterProperties::builder();
        if let Some(key) = key.filter(|_| self.key_bloom_filter) {
            let column = ColumnPath::from(key);
            builder = builder
                .set_column_bloom_filter_enabled(column.clone(), true)
                .set_column_bloom_filter_fpp(column.clone(), 0.01)
                .set_column_bloom_filter_max_ndv(column, self.row_group_rows.max(1) as u64);
        }
        Ok(builder
            .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
                log::WRITER_KEY.to_string(),
                concat!("soa-persist ", env!("CARGO_PKG_VERSION")).to_string(),
            )]))
            .set_compression(codec)
            .set_max_row_group_row_count(Some(self.row_group_rows.max(1)))
            .set_data_page_size_limit(self.data_page_bytes.max(1024))
            .set_data_page_row_count_limit(self.data_page_rows.max(1))
            // The writer checks page limits after each batch of this many rows.
            .set_write_batch_size(self.data_page_rows.clamp(1, 1024))
            .set_dictionary_enabled(self.dictionary)
            .set_statistics_enabled(if self.statistics {
                EnabledStatistics::Page
            } else {
                EnabledStatistics::Chunk
            })
            .build())
    }
}
