//! `Progress`: what long maintenance work (`compact`, `vacuum`, `verify`) tells as it goes, for
//! a progress display; `()` ignores it.

/// Told the size of the work, then each part of it as it is done.
pub trait Progress: Send + Sync {
    /// The work ahead: files, and the rows and bytes they hold (0 where unknown).
    fn start(&self, files: u64, rows: u64, bytes: u64) {
        let _ = (files, rows, bytes);
    }

    /// Files taken up since the last call, with their rows and bytes.
    fn advance(&self, files: u64, rows: u64, bytes: u64) {
        let _ = (files, rows, bytes);
    }
}

/// No display.
impl Progress for () {}
