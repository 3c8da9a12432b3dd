//! Where a dataset's bytes live: the few primitives the Parquet backend needs, implemented for
//! local disk (std::fs, with the fsyncs that make a commit survive power loss) and for any
//! `object_store` store (memory://, S3, GCS, Azure). The dataset logic above is the same for
//! both. `FaultyStorage` wraps either and fails the k-th operation, for failure-path tests.

use std::fmt::Debug;
use std::io::Write;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::persist::PersistError;

pub(crate) const NAME: &str = "parquet";

/// One stored object: its path relative to the dataset root ('/'-separated), size and age.
#[derive(Clone, Debug)]
pub struct Entry {
    pub path: String,
    pub size: u64,
    pub modified: Option<SystemTime>,
}

/// Storage primitives; paths are relative to the dataset root, '/'-separated.
pub trait Storage: Send + Sync + Debug + 'static {
    /// Writes `bytes` at `path` atomically (readers see the old object or the new, never part).
    fn put(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<(), PersistError>>;
    /// Like `put`, but only if nothing is at `path`; `Ok(false)` when something already is.
    fn put_new(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<bool, PersistError>>;
    fn get(&self, path: &str) -> BoxFuture<'_, Result<Bytes, PersistError>>;
    /// The size of the object at `path`, or `None` when there is none.
    fn head(&self, path: &str) -> BoxFuture<'_, Result<Option<u64>, PersistError>>;
    /// Every object below `prefix` (all when empty), temporary files included.
    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<Entry>, PersistError>>;
    /// Removes `path`; a missing object is not an error.
    fn delete(&self, path: &str) -> BoxFuture<'_, Result<(), PersistError>>;
    /// A human-readable location, for messages.
    fn location(&self) -> String;
    /// The folder on local disk, when the storage is one (other engines can read it directly).
    fn local_root(&self) -> Option<PathBuf> {
        None
    }
}

fn io(path: impl Into<PathBuf>, source: std::io::Error) -> PersistError {
    PersistError::Io {
        backend: NAME,
        path: Some(path.into()),
        source,
    }
}

fn join_err(e: tokio::task::JoinError) -> PersistError {
    PersistError::Backend {
        backend: NAME,
        message: format!("I/O task failed: {e}"),
        retryable: true,
    }
}

/// A dataset folder on local disk.
#[derive(Debug)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, PersistError> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| io(&root, e))?;
        Ok(Self { root })
    }

    fn resolve(&self, path: &str) -> PathBuf {
        // Paths are built by this backend from escaped segments; none is absolute or `..`.
        self.root.join(path)
    }
}

/// fsyncs a folder so a rename or link inside it survives power loss.
fn sync_dir(dir: &FsPath) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Writes `bytes` to a dot-prefixed temporary file next to `target` (skipped by every dataset
/// reader), fsyncs it, and returns its path.
fn write_temp(target: &FsPath, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let dir = target.parent().unwrap_or(FsPath::new("."));
    std::fs::create_dir_all(dir)?;
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("object");
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(tmp)
}

impl Storage for LocalStorage {
    fn put(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<(), PersistError>> {
        let target = self.resolve(path);
        tokio::task::spawn_blocking(move || {
            let tmp = write_temp(&target, &bytes).map_err(|e| io(&target, e))?;
            std::fs::rename(&tmp, &target).map_err(|e| io(&target, e))?;
            sync_dir(target.parent().unwrap_or(FsPath::new("."))).map_err(|e| io(&target, e))
        })
        .map(|r| r.map_err(join_err).and_then(|r| r))
        .boxed()
    }

    fn put_new(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<bool, PersistError>> {
        let target = self.resolve(path);
        tokio::task::spawn_blocking(move || {
            let tmp = write_temp(&target, &bytes).map_err(|e| io(&target, e))?;
            // A hard link fails if the target exists: an atomic create-if-absent across processes.
            let linked = std::fs::hard_link(&tmp, &target);
            let _ = std::fs::remove_file(&tmp);
            match linked {
                Ok(()) => {
                    sync_dir(target.parent().unwrap_or(FsPath::new(".")))
                        .map_err(|e| io(&target, e))?;
                    Ok(true)
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(io(&target, e)),
            }
        })
        .map(|r| r.map_err(join_err).and_then(|r| r))
        .boxed()
    }

    fn get(&self, path: &str) -> BoxFuture<'_, Result<Bytes, PersistError>> {
        let target = self.resolve(path);
        tokio::task::spawn_blocking(move || {
            std::fs::read(&target)
                .map(Bytes::from)
                .map_err(|e| io(&target, e))
        })
        .map(|r| r.map_err(join_err).and_then(|r| r))
        .boxed()
    }

    fn head(&self, path: &str) -> BoxFuture<'_, Result<Option<u64>, PersistError>> {
        let target = self.resolve(path);
        tokio::task::spawn_blocking(move || match std::fs::symlink_metadata(&target) {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&target, e)),
        })
        .map(|r| r.map_err(join_err).and_then(|r| r))
        .boxed()
    }

    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<Entry>, PersistError>> {
        let (root, start) = (self.root.clone(), self.resolve(prefix));
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let mut stack = vec![start];
            while let Some(dir) = stack.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io(&dir, e)),
                };
                for entry in entries {
                    let entry = entry.map_err(|e| io(&dir, e))?;
                    let meta = match entry.metadata() {
                        Ok(m) => m,
                        // A temporary file renamed or removed by a concurrent writer meanwhile.
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(io(entry.path(), e)),
                    };
                    if meta.is_dir() {
                        stack.push(entry.path());
                    } else if let Ok(rel) = entry.path().strip_prefix(&root) {
                        let rel = rel
                            .components()
                            .map(|c| c.as_os_str().to_string_lossy())
                            .collect::<Vec<_>>()
                            .join("/");
                        out.push(Entry {
                            path: rel,
                            size: meta.len(),
                            modified: meta.modified().ok(),
                        });
                    }
                }
            }
            Ok(out)
        })
        .map(|r| r.map_err(join_err).and_then(|r| r))
        .boxed()
    }

    fn delete(&self, path: &str) -> BoxFuture<'_, Result<(), PersistError>> {
        let target = self.resolve(path);
        tokio::task::spawn_blocking(move || match std::fs::remove_file(&target) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&target, e)),
        })
        .map(|r| r.map_err(join_err).and_then(|r| r))
        .boxed()
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn local_root(&self) -> Option<PathBuf> {
        Some(self.root.clone())
    }
}

/// A dataset under a prefix of an `object_store` store.
#[derive(Debug)]
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    url: String,
}

impl ObjectStorage {
    pub fn new(store: Arc<dyn ObjectStore>, prefix: ObjectPath, url: impl Into<String>) -> Self {
        Self {
            store,
            prefix,
            url: url.into(),
        }
    }

    fn resolve(&self, path: &str) -> ObjectPath {
        path.split('/')
            .filter(|s| !s.is_empty())
            .fold(self.prefix.clone(), |p, seg| p.join(seg))
    }
}

fn object_err(e: object_store::Error) -> PersistError {
    use object_store::Error as E;
    match e {
        E::NotFound { path, source } => PersistError::Io {
            backend: NAME,
            path: Some(path.into()),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, source),
        },
        other => PersistError::Backend {
            backend: NAME,
            message: other.to_string(),
            retryable: true,
        },
    }
}

impl Storage for ObjectStorage {
    fn put(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<(), PersistError>> {
        let location = self.resolve(path);
        async move {
            self.store
                .put(&location, PutPayload::from(bytes))
                .await
                .map(|_| ())
                .map_err(object_err)
        }
        .boxed()
    }

    fn put_new(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<bool, PersistError>> {
        let location = self.resolve(path);
        async move {
            let opts = PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            };
            match self
                .store
                .put_opts(&location, PutPayload::from(bytes), opts)
                .await
            {
                Ok(_) => Ok(true),
                Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
                Err(e) => Err(object_err(e)),
            }
        }
        .boxed()
    }

    fn get(&self, path: &str) -> BoxFuture<'_, Result<Bytes, PersistError>> {
        let location = self.resolve(path);
        async move {
            let result = self.store.get(&location).await.map_err(object_err)?;
            result.bytes().await.map_err(object_err)
        }
        .boxed()
    }

    fn head(&self, path: &str) -> BoxFuture<'_, Result<Option<u64>, PersistError>> {
        let location = self.resolve(path);
        async move {
            match self.store.head(&location).await {
                Ok(meta) => Ok(Some(meta.size)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(object_err(e)),
            }
        }
        .boxed()
    }

    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<Entry>, PersistError>> {
        let start = self.resolve(prefix);
        async move {
            let metas: Vec<object_store::ObjectMeta> = self
                .store
                .list(Some(&start))
                .try_collect()
                .await
                .map_err(object_err)?;
            let base: Vec<String> = self
                .prefix
                .parts()
                .map(|p| p.as_ref().to_string())
                .collect();
            Ok(metas
                .into_iter()
                .map(|m| {
                    let parts: Vec<String> =
                        m.location.parts().map(|p| p.as_ref().to_string()).collect();
                    Entry {
                        path: parts[base.len().min(parts.len())..].join("/"),
                        size: m.size,
                        modified: Some(SystemTime::from(m.last_modified)),
                    }
                })
                .collect())
        }
        .boxed()
    }

    fn delete(&self, path: &str) -> BoxFuture<'_, Result<(), PersistError>> {
        let location = self.resolve(path);
        async move {
            match self.store.delete(&location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(object_err(e)),
            }
        }
        .boxed()
    }

    fn location(&self) -> String {
        self.url.clone()
    }
}

/// Fails the `fail_at`-th operation (1-based, counting every call) with a retryable I/O error;
/// every other operation goes through to `inner`. `fail_at = 0` never fails.
#[derive(Debug)]
pub struct FaultyStorage<S> {
    inner: S,
    calls: AtomicUsize,
    fail_at: AtomicUsize,
}

impl<S: Storage> FaultyStorage<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            calls: AtomicUsize::new(0),
            fail_at: AtomicUsize::new(0),
        }
    }

    /// Makes the `k`-th operation from now fail (0: none), and restarts the count.
    pub fn fail_at(&self, k: usize) {
        self.calls.store(0, Ordering::SeqCst);
        self.fail_at.store(k, Ordering::SeqCst);
    }

    /// Operations since the last `fail_at`.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn check(&self, op: &str, path: &str) -> Result<(), PersistError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.fail_at.load(Ordering::SeqCst) {
            return Err(io(
                path,
                std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    format!("injected failure of {op} #{n}"),
                ),
            ));
        }
        Ok(())
    }
}

impl<S: Storage> Storage for FaultyStorage<S> {
    fn put(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<(), PersistError>> {
        match self.check("put", path) {
            Ok(()) => self.inner.put(path, bytes),
            Err(e) => async move { Err(e) }.boxed(),
        }
    }
    fn put_new(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<bool, PersistError>> {
        match self.check("put_new", path) {
            Ok(()) => self.inner.put_new(path, bytes),
            Err(e) => async move { Err(e) }.boxed(),
        }
    }
    fn get(&self, path: &str) -> BoxFuture<'_, Result<Bytes, PersistError>> {
        match self.check("get", path) {
            Ok(()) => self.inner.get(path),
            Err(e) => async move { Err(e) }.boxed(),
        }
    }
    fn head(&self, path: &str) -> BoxFuture<'_, Result<Option<u64>, PersistError>> {
        match self.check("head", path) {
            Ok(()) => self.inner.head(path),
            Err(e) => async move { Err(e) }.boxed(),
        }
    }
    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<Entry>, PersistError>> {
        match self.check("list", prefix) {
            Ok(()) => self.inner.list(prefix),
            Err(e) => async move { Err(e) }.boxed(),
        }
    }
    fn delete(&self, path: &str) -> BoxFuture<'_, Result<(), PersistError>> {
        match self.check("delete", path) {
            Ok(()) => self.inner.delete(path),
            Err(e) => async move { Err(e) }.boxed(),
        }
    }
    fn location(&self) -> String {
        self.inner.location()
    }
}
