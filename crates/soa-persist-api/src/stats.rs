//! `Stats`: what a backend holds right now, per backend and per column.

use std::fmt;

/// Size of one column in a backend.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnStats {
    /// The column name.
    pub name: String,
    /// Bytes the column takes in memory (Arrow buffers) or, for a database, uncompressed.
    pub bytes_in_memory: u64,
    /// Bytes the column takes on disk, where the backend stores it there.
    pub bytes_on_disk: Option<u64>,
    /// Uncompressed / compressed size, where the backend knows both.
    pub compression_ratio: Option<f64>,
}

/// What a backend holds right now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// The backend's name.
    pub backend: &'static str,
    /// Rows stored.
    pub rows: u64,
    /// Batches (in memory), or write units the backend keeps apart.
    pub batches: u64,
    /// Data files, for file-based backends.
    pub files: Option<u64>,
    /// Parquet row groups, for the Parquet backend.
    pub row_groups: Option<u64>,
    /// Bytes in memory (Arrow buffers held by the backend).
    pub bytes_in_memory: u64,
    /// Bytes on disk, for durable backends.
    pub bytes_on_disk: Option<u64>,
    /// Rows in a `PersistentStore`'s write buffer, not yet handed to the backend.
    pub buffered_rows: u64,
    /// Per-column sizes.
    pub columns: Vec<ColumnStats>,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} rows in {} batches, {:.1} MiB in memory",
            self.backend,
            self.rows,
            self.batches,
            mib(self.bytes_in_memory)
        )?;
        if let Some(disk) = self.bytes_on_disk {
            write!(f, ", {:.1} MiB on disk", mib(disk))?;
        }
        if let Some(files) = self.files {
            write!(f, ", {files} files")?;
        }
        if let Some(groups) = self.row_groups {
            write!(f, ", {groups} row groups")?;
        }
        if self.buffered_rows > 0 {
            write!(f, ", {} rows buffered", self.buffered_rows)?;
        }
        Ok(())
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
