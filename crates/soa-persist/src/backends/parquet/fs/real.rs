//! `RealFs`: the `Fs` operations on the machine's own file system (std::fs), fsyncs included.

use std::ffi::OsString;
use std::io::{self, ErrorKind, Write};
use std::ops::Range;
use std::path::Path;

use super::{FileInfo, FileKind, Fs};

/// The real file system (std::fs).
#[derive(Clone, Copy, Debug, Default)]
pub struct RealFs;

fn info(name: OsString, meta: &std::fs::Metadata) -> FileInfo {
    let t = meta.file_type();
    let kind = if t.is_symlink() {
        FileKind::Symlink
    } else if t.is_dir() {
        FileKind::Dir
    } else if t.is_file() {
        FileKind::File
    } else {
        FileKind::Other
    };
    FileInfo {
        name,
        kind,
        size: meta.len(),
        modified: meta.modified().ok(),
    }
}

impl Fs for RealFs {
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)
    }

    fn write_new(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        std::fs::File::create_new(path)?.write_all(bytes)
    }

    fn sync_file(&self, path: &Path) -> io::Result<()> {
        // fsync through any descriptor flushes the file's data on POSIX systems.
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .sync_all()
    }

    fn write_new_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut f = std::fs::File::create_new(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::File::open(path)?.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::hard_link(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    #[cfg(unix)]
    fn read_range(&self, path: &Path, range: Range<u64>) -> io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0; range.end.saturating_sub(range.start) as usize];
        std::fs::File::open(path)?.read_exact_at(&mut buf, range.start)?;
        Ok(buf)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<FileInfo>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            // `DirEntry::metadata` does not follow symlinks.
            match entry.metadata() {
                Ok(meta) => out.push(info(entry.file_name(), &meta)),
                // Removed or renamed by a concurrent writer since the listing was read.
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    fn metadata(&self, path: &Path) -> io::Result<FileInfo> {
        std::fs::metadata(path).map(|m| info(OsString::new(), &m))
    }

    fn symlink_metadata(&self, path: &Path) -> io::Result<FileInfo> {
        std::fs::symlink_metadata(path).map(|m| info(OsString::new(), &m))
    }
}
