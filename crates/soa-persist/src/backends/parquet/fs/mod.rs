//! The blocking file operations `LocalStorage` is built on, behind a trait so that tests can
//! swap the disk for `SimFs`: an in-memory file system that keeps written-but-unsynced data and
//! directory entries apart from durable ones and can "lose power" at any sync point, after which
//! `recovered()` yields only what an fsync made durable, and `recovered_partly(seed)` that plus
//! a random part of the rest (the idea of SQLite's crash-test VFS).
//! `RealFs` is std::fs, what `LocalStorage` uses by default.

mod real;
mod sim;
#[cfg(test)]
mod tests;
mod tree;

use std::ffi::OsString;
use std::fmt::Debug;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::time::SystemTime;

pub use real::RealFs;
pub use sim::SimFs;

/// What a directory entry is, without following symlinks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link (listings skip it).
    Symlink,
    /// A socket, device, fifo...
    Other,
}

/// One entry of a directory listing, or the metadata of one path (symlinks not followed).
#[derive(Clone, Debug)]
pub struct FileInfo {
    /// The entry's name in its directory (empty for `symlink_metadata`).
    pub name: OsString,
    /// What the entry is.
    pub kind: FileKind,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time, where the file system has one.
    pub modified: Option<SystemTime>,
}

/// Blocking file-system operations; every path is as given (no root is implied).
pub trait Fs: Send + Sync + Debug + 'static {
    /// Creates one directory; `AlreadyExists` if something is there, `NotFound` if the parent
    /// is missing. The new entry is durable only once its parent is synced.
    fn create_dir(&self, path: &Path) -> io::Result<()>;
    /// Creates a new file holding `bytes` (`AlreadyExists` if something is there), not synced.
    fn write_new(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// fsyncs a file's content.
    fn sync_file(&self, path: &Path) -> io::Result<()>;
    /// `write_new` then `sync_file`.
    fn write_new_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.write_new(path, bytes)?;
        self.sync_file(path)
    }
    /// fsyncs a directory, making the creations, renames, links and removals in it durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Renames `from` to `to`, replacing a file at `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Links `to` to the file at `from`; `AlreadyExists` if something is at `to`.
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file (not a directory).
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// The whole content of the file at `path`.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// The bytes of `range` of a file (`UnexpectedEof` when the file is shorter).
    fn read_range(&self, path: &Path, range: Range<u64>) -> io::Result<Vec<u8>> {
        let all = self.read(path)?;
        let (start, end) = (range.start as usize, range.end as usize);
        match all.get(start..end) {
            Some(part) => Ok(part.to_vec()),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("range {start}..{end} of a {}-byte file", all.len()),
            )),
        }
    }
    /// The entries of a directory, symlinks reported as such (not followed).
    fn read_dir(&self, path: &Path) -> io::Result<Vec<FileInfo>>;
    /// What is at `path`, following symlinks.
    fn metadata(&self, path: &Path) -> io::Result<FileInfo>;
    /// What is at `path`, a symlink reported as such.
    fn symlink_metadata(&self, path: &Path) -> io::Result<FileInfo>;
}
