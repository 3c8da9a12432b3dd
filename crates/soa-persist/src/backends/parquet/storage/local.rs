//! `LocalStorage`: a dataset folder on local disk, every write made durable (temporary file,
//! fsync, rename or hard link, fsync of the folder; new folders fsynced into their parents).

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use soa_persist_api::PersistError;

use super::super::fs::{FileKind, Fs, RealFs};
use super::{Entry, NAME, Storage, check_path, check_prefix, io, join_err};

/// A dataset folder on local disk (or on an `Fs` standing in for it in tests).
#[derive(Debug)]
pub struct LocalStorage {
    root: PathBuf,
    fs: Arc<dyn Fs>,
    /// Folders this storage created or found and then fsynced into their parent: each folder
    /// costs its parent's fsync once per storage, not once per write.
    durable: Arc<Mutex<HashSet<PathBuf>>>,
}

/// A folder's parent, `.` for a relative single-component path.
fn parent_dir(path: &FsPath) -> &FsPath {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => FsPath::new("."),
    }
}

/// Creates the missing folders of `root`, top down, each fsynced into its parent before the
/// next: a folder that is not in its parent's synced entries vanishes at power loss with
/// everything below it.
fn create_root(fs: &dyn Fs, root: &FsPath) -> std::io::Result<()> {
    let mut missing = Vec::new();
    let mut cur = root;
    loop {
        match fs.metadata(cur) {
            Ok(m) if m.kind == FileKind::Dir => break,
            Ok(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    format!("{} is not a folder", cur.display()),
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                missing.push(cur);
                match cur.parent() {
                    Some(p) if !p.as_os_str().is_empty() => cur = p,
                    _ => break,
                }
            }
            Err(e) => return Err(e),
        }
    }
    for dir in missing.into_iter().rev() {
        match fs.create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        fs.sync_dir(parent_dir(dir))?;
    }
    Ok(())
}

impl LocalStorage {
    /// A dataset folder on local disk, created (durably) if missing.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, PersistError> {
        Self::with_fs(root, Arc::new(RealFs))
    }

    /// A dataset folder on `fs` (e.g. a `SimFs` for power-loss tests), created if missing.
    pub fn with_fs(root: impl Into<PathBuf>, fs: Arc<dyn Fs>) -> Result<Self, PersistError> {
        let root = root.into();
        create_root(fs.as_ref(), &root).map_err(|e| io(&root, e))?;
        let durable = HashSet::from([root.clone()]);
        Ok(Self {
            root,
            fs,
            durable: Arc::new(Mutex::new(durable)),
        })
    }

    fn resolve(&self, path: &str) -> Result<PathBuf, PersistError> {
        check_path(path, &self.location())?;
        Ok(self.root.join(path))
    }

    /// Runs `op` on a blocking thread with this storage's file system and folder cache.
    fn blocking<R: Send + 'static>(
        &self,
        op: impl FnOnce(&Dirs) -> Result<R, PersistError> + Send + 'static,
    ) -> BoxFuture<'static, Result<R, PersistError>> {
        let dirs = Dirs {
            root: self.root.clone(),
            fs: self.fs.clone(),
            durable: self.durable.clone(),
        };
        tokio::task::spawn_blocking(move || op(&dirs))
            .map(|r| r.map_err(join_err).and_then(|r| r))
            .boxed()
    }
}

/// What a blocking operation of `LocalStorage` needs.
struct Dirs {
    root: PathBuf,
    fs: Arc<dyn Fs>,
    durable: Arc<Mutex<HashSet<PathBuf>>>,
}

impl Dirs {
    fn known(&self, dir: &FsPath) -> bool {
        self.durable
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(dir)
    }

    /// Makes `dir` (inside the root) exist durably: each component not yet known durable is
    /// created if missing and its parent fsynced, so a commit never names a file whose folder
    /// can vanish at power loss. A folder found existing is fsynced into its parent too: the
    /// process that created it may have died before doing so.
    fn ensure_dir(&self, dir: &FsPath) -> std::io::Result<()> {
        if self.known(dir) {
            return Ok(());
        }
        let rel = dir.strip_prefix(&self.root).map_err(|_| {
            std::io::Error::other(format!(
                "{} is outside {}",
                dir.display(),
                self.root.display()
            ))
        })?;
        let mut cur = self.root.clone();
        for component in rel.components() {
            let next = cur.join(component);
            if !self.known(&next) {
                match self.fs.create_dir(&next) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
                self.fs.sync_dir(&cur)?;
                self.durable
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(next.clone());
            }
            cur = next;
        }
        Ok(())
    }

    /// Writes `bytes` to a fsynced dot-prefixed temporary file next to `target` (skipped by
    /// every dataset reader), in a durable folder, and returns its path.
    fn write_temp(&self, target: &FsPath, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let dir = parent_dir(target);
        self.ensure_dir(dir)?;
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("object");
        let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
        let mut written = self.fs.write_new_synced(&tmp, bytes);
        if matches!(&written, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
            // A folder known durable was removed behind our back: forget them all, once.
            self.forget_dirs();
            self.ensure_dir(dir)?;
            written = self.fs.write_new_synced(&tmp, bytes);
        }
        if let Err(e) = written {
            let _ = self.fs.remove_file(&tmp);
            return Err(e);
        }
        Ok(tmp)
    }

    fn forget_dirs(&self) {
        let mut durable = self.durable.lock().unwrap_or_else(|e| e.into_inner());
        durable.retain(|d| d == &self.root);
    }
}

impl Storage for LocalStorage {
    fn put(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<(), PersistError>> {
        let target = match self.resolve(path) {
            Ok(t) => t,
            Err(e) => return async move { Err(e) }.boxed(),
        };
        self.blocking(move |d| {
            let tmp = d.write_temp(&target, &bytes).map_err(|e| io(&target, e))?;
            if let Err(e) = d.fs.rename(&tmp, &target) {
                let _ = d.fs.remove_file(&tmp);
                return Err(io(&target, e));
            }
            d.fs.sync_dir(parent_dir(&target))
                .map_err(|e| io(&target, e))
        })
    }

    fn put_new(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<bool, PersistError>> {
        let target = match self.resolve(path) {
            Ok(t) => t,
            Err(e) => return async move { Err(e) }.boxed(),
        };
        self.blocking(move |d| {
            let tmp = d.write_temp(&target, &bytes).map_err(|e| io(&target, e))?;
            // A hard link fails if the target exists: an atomic create-if-absent across processes.
            let linked = d.fs.hard_link(&tmp, &target);
            let _ = d.fs.remove_file(&tmp);
            let created = match linked {
                Ok(()) => true,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
                Err(e) => return Err(io(&target, e)),
            };
            // Also when another writer won: it may have died before making its entry durable,
            // and our caller is about to build on it.
            d.fs.sync_dir(parent_dir(&target))
                .map_err(|e| io(&target, e))?;
            Ok(created)
        })
    }

    fn get(&self, path: &str) -> BoxFuture<'_, Result<Bytes, PersistError>> {
        let target = match self.resolve(path) {
            Ok(t) => t,
            Err(e) => return async move { Err(e) }.boxed(),
        };
        self.blocking(move |d| {
            d.fs.read(&target)
                .map(Bytes::from)
                .map_err(|e| io(&target, e))
        })
    }

    fn get_ranges(
        &self,
        path: &str,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, Result<Vec<Bytes>, PersistError>> {
        let target = match self.resolve(path) {
            Ok(t) => t,
            Err(e) => return async move { Err(e) }.boxed(),
        };
        let path = path.to_string();
        self.blocking(move |d| {
            ranges
                .into_iter()
                .map(|r| match d.fs.read_range(&target, r.clone()) {
                    Ok(bytes) => Ok(Bytes::from(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                        Err(PersistError::corrupt(
                            NAME,
                            format!(
                                "{path}: range {}..{} is past the file's end",
                                r.start, r.end
                            ),
                        ))
                    }
                    Err(e) => Err(io(&target, e)),
                })
                .collect()
        })
    }

    fn head(&self, path: &str) -> BoxFuture<'_, Result<Option<u64>, PersistError>> {
        let target = match self.resolve(path) {
            Ok(t) => t,
            Err(e) => return async move { Err(e) }.boxed(),
        };
        self.blocking(move |d| match d.fs.symlink_metadata(&target) {
            Ok(m) if m.kind == FileKind::File => Ok(Some(m.size)),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&target, e)),
        })
    }

    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<Entry>, PersistError>> {
        let prefix = match check_prefix(prefix, &self.location()) {
            Ok(p) => p.to_string(),
            Err(e) => return async move { Err(e) }.boxed(),
        };
        self.blocking(move |d| {
            let start = d.root.join(&prefix);
            if !prefix.is_empty() {
                // A symlinked prefix folder could point anywhere: list nothing through it.
                match d.fs.symlink_metadata(&start) {
                    Ok(m) if m.kind == FileKind::Dir => {}
                    Ok(_) => return Ok(Vec::new()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(io(&start, e)),
                }
            }
            let mut out = Vec::new();
            let mut stack = vec![(start, prefix)];
            while let Some((dir, rel)) = stack.pop() {
                let entries = match d.fs.read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io(&dir, e)),
                };
                for entry in entries {
                    // A name this storage could not address again is not ours: skip it.
                    let Some(name) = entry.name.to_str() else {
                        continue;
                    };
                    let path = if rel.is_empty() {
                        name.to_string()
                    } else {
                        format!("{rel}/{name}")
                    };
                    if check_path(&path, "").is_err() {
                        continue;
                    }
                    match entry.kind {
                        FileKind::Dir => stack.push((dir.join(name), path)),
                        FileKind::File => out.push(Entry {
                            path,
                            size: entry.size,
                            modified: entry.modified,
                        }),
                        // Symlinks (to files or folders) could point anywhere on the machine.
                        FileKind::Symlink | FileKind::Other => {}
                    }
                }
            }
            Ok(out)
        })
    }

    fn delete(&self, path: &str) -> BoxFuture<'_, Result<(), PersistError>> {
        let target = match self.resolve(path) {
            Ok(t) => t,
            Err(e) => return async move { Err(e) }.boxed(),
        };
        // Not fsynced: a removal lost at power loss leaves a file no commit refers to.
        self.blocking(move |d| match d.fs.remove_file(&target) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&target, e)),
        })
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn local_root(&self) -> Option<PathBuf> {
        Some(self.root.clone())
    }
}
