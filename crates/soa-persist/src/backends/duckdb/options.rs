//! The settings of a `DuckDBPersistence`: table name, ingest path, read-only mode, DuckDB's
//! own resources, read batch size.

use super::Ingest;

/// DuckDB produces 2048-row chunks; reads merge them up to this many rows per batch.
const DEFAULT_READ_BATCH_ROWS: usize = 64 * 1024;

/// Settings of a `DuckDBPersistence`.
#[derive(Clone, Debug)]
pub struct DuckDBOptions {
    /// The table's name; by default the struct's name in snake_case (`OrderLine` ->
    /// `order_line`). Any string works: it is always quoted.
    pub table: Option<String>,
    /// How writes hand batches to DuckDB (an Arrow table scan by default, or the appender).
    pub ingest: Ingest,
    /// Opens the database read-only: reads and `sql` work, writes fail.
    pub read_only: bool,
    /// DuckDB worker threads (all cores by default).
    pub threads: Option<usize>,
    /// DuckDB's memory limit, e.g. `"4GB"` (80% of RAM by default).
    pub memory_limit: Option<String>,
    /// Rows per batch returned by reads when the caller does not ask for a size.
    pub read_batch_rows: usize,
    /// Keep rows in the order they were written (DuckDB's `preserve_insertion_order`). Off
    /// lets large writes convert and insert on all threads; reads have no order either way
    /// unless the SQL says `ORDER BY`.
    pub preserve_insertion_order: bool,
    /// WAL size that triggers an automatic checkpoint (DuckDB's `checkpoint_threshold`, alias
    /// `wal_autocheckpoint`, e.g. `"16MB"`, its default).
    pub wal_autocheckpoint: Option<String>,
}

impl Default for DuckDBOptions {
    fn default() -> Self {
        Self {
            table: None,
            ingest: Ingest::default(),
            read_only: false,
            threads: None,
            memory_limit: None,
            read_batch_rows: DEFAULT_READ_BATCH_ROWS,
            preserve_insertion_order: true,
            wal_autocheckpoint: None,
        }
    }
}
