//! Where a dataset's bytes live: the few primitives the Parquet backend needs, implemented for
//! local disk (std::fs, with the fsyncs that make a commit survive power loss) and for any
//! `object_store` store (memory://, S3, GCS, Azure). The dataset logic above is the same for
//! both. `LocalStorage` goes through an `Fs` (`fs.rs`) so power loss can be simulated.

use std::collections::HashSet;
use std::fmt::Debug;
use std::path::{Component, Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::fs::{FileKind, Fs, RealFs};
use soa_persist_api::PersistError;

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

pub(super) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> PersistError {
    PersistError::Io {
        backend: NAME,
        path: Some(path.into()),
        source,
    }
}

/// A blocking task that panicked hit a bug or corrupt input: running it again fails the same
/// way. One cancelled (the runtime shutting down) may succeed later.
fn join_err(e: tokio::task::JoinError) -> PersistError {
    let panicked = e.is_panic();
    let message = if panicked {
        format!("I/O task panicked: {e}")
    } else {
        format!("I/O task failed: {e}")
    };
    PersistError::backend(NAME, message, !panicked).with_source(e)
}

/// Refuses a dataset-relative path that could name something outside the dataset (or, for a
/// backslash, something else on another platform): absolute, an empty, `.` or `..` segment, a
/// backslash or NUL. Log records are input: a damaged or forged one must not reach `/etc`.
pub(crate) fn check_path(path: &str, location: &str) -> Result<(), PersistError> {
    let bad = path.is_empty()
        || path.contains(['\\', '\0'])
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        || !FsPath::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    if bad {
        return Err(PersistError::corrupt(
            NAME,
            format!("path {path:?} is outside the dataset at {location}"),
        ));
    }
    Ok(())
}

/// A listing prefix: like `check_path`, but empty (the whole dataset) and a trailing `/` are
/// fine.
fn check_prefix<'p>(prefix: &'p str, location: &str) -> Result<&'p str, PersistError> {
    let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
    if !prefix.is_empty() {
        check_path(prefix, location)?;
    }
    Ok(prefix)
}

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

/// Where the conditional-put probe writes (a hidden name, skipped by every dataset reader).
const PROBE_DIR: &str = "_soa_log";

/// A dataset under a prefix of an `object_store` store.
#[derive(Debug)]
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    url: String,
    /// Whether the store honours create-if-absent, found out once, before the first `put_new`:
    /// `Some(message)` when it does not.
    conditional_put: tokio::sync::OnceCell<Option<String>>,
}

impl ObjectStorage {
    pub fn new(store: Arc<dyn ObjectStore>, prefix: ObjectPath, url: impl Into<String>) -> Self {
        Self {
            store,
            prefix,
            url: url.into(),
            conditional_put: tokio::sync::OnceCell::new(),
        }
    }

    fn resolve(&self, path: &str) -> Result<ObjectPath, PersistError> {
        check_path(path, &self.url)?;
        Ok(path
            .split('/')
            .fold(self.prefix.clone(), |p, seg| p.join(seg)))
    }

    /// Refuses a store that ignores create-if-absent (some S3-compatible servers ignore
    /// `If-None-Match`): with it two writers committing the same version would overwrite each
    /// other silently. Probed once per storage by creating one hidden object twice.
    async fn check_conditional_put(&self) -> Result<(), PersistError> {
        let verdict = self
            .conditional_put
            .get_or_try_init(|| self.probe_conditional_put())
            .await?;
        match verdict {
            None => Ok(()),
            Some(message) => Err(PersistError::backend(NAME, message.clone(), false)),
        }
    }

    async fn probe_conditional_put(&self) -> Result<Option<String>, PersistError> {
        let location = self
            .prefix
            .clone()
            .join(PROBE_DIR)
            .join(format!(".probe-{}", uuid::Uuid::new_v4().simple()));
        let create = || PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let payload = || PutPayload::from_static(b"soa-persist conditional put probe");
        self.store
            .put_opts(&location, payload(), create())
            .await
            .map_err(object_err)?;
        let second = self.store.put_opts(&location, payload(), create()).await;
        // The probe object is garbage either way; a leftover is hidden and harmless.
        let _ = self.store.delete(&location).await;
        match second {
            Err(object_store::Error::AlreadyExists { .. }) => Ok(None),
            Ok(_) => Ok(Some(format!(
                "{} (probed at {location}): this store does not honour create-if-absent \
                 (If-None-Match); concurrent writers could overwrite each other's commits",
                self.url
            ))),
            Err(e) => Err(object_err(e)),
        }
    }
}

/// Maps an object-store error, retryable only when it is transient: the generic fallback
/// (network failures and server errors the client's own retries gave up on) and a cancelled
/// task. Everything else fails the same way until the configuration, the credentials or the
/// data change.
fn object_err(e: object_store::Error) -> PersistError {
    use object_store::Error as E;
    let e = match e {
        E::NotFound { path, source } => {
            return PersistError::Io {
                backend: NAME,
                path: Some(path.into()),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, source),
            };
        }
        other => other,
    };
    let retryable = match &e {
        E::Generic { .. } => true,
        E::InvalidPath { .. }
        | E::NotSupported { .. }
        | E::AlreadyExists { .. }
        | E::Precondition { .. }
        | E::NotModified { .. }
        | E::NotImplemented { .. }
        | E::PermissionDenied { .. }
        | E::Unauthenticated { .. }
        | E::UnknownConfigurationKey { .. } => false,
        // `JoinError` (only with object_store's `tokio` feature): a panicked task is a bug or
        // corrupt input, a cancelled one may succeed later. A kind added by a later
        // object_store is not known to be transient.
        _ => std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<tokio::task::JoinError>())
            .is_some_and(|j| !j.is_panic()),
    };
    PersistError::backend(NAME, e.to_string(), retryable).with_source(e)
}

impl Storage for ObjectStorage {
    fn put(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<(), PersistError>> {
        let location = self.resolve(path);
        async move {
            self.store
                .put(&location?, PutPayload::from(bytes))
                .await
                .map(|_| ())
                .map_err(object_err)
        }
        .boxed()
    }

    fn put_new(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<bool, PersistError>> {
        let location = self.resolve(path);
        async move {
            let location = location?;
            self.check_conditional_put().await?;
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
            let result = self.store.get(&location?).await.map_err(object_err)?;
            result.bytes().await.map_err(object_err)
        }
        .boxed()
    }

    fn head(&self, path: &str) -> BoxFuture<'_, Result<Option<u64>, PersistError>> {
        let location = self.resolve(path);
        async move {
            match self.store.head(&location?).await {
                Ok(meta) => Ok(Some(meta.size)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(object_err(e)),
            }
        }
        .boxed()
    }

    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<Entry>, PersistError>> {
        let start = check_prefix(prefix, &self.url).map(|p| {
            p.split('/')
                .filter(|s| !s.is_empty())
                .fold(self.prefix.clone(), |p, seg| p.join(seg))
        });
        async move {
            let metas: Vec<object_store::ObjectMeta> = self
                .store
                .list(Some(&start?))
                .try_collect()
                .await
                .map_err(object_err)?;
            let base = self.prefix.parts().count();
            Ok(metas
                .into_iter()
                .filter_map(|m| {
                    let parts: Vec<String> =
                        m.location.parts().map(|p| p.as_ref().to_string()).collect();
                    let path = parts.get(base..)?.join("/");
                    // Only what `resolve` can address again.
                    check_path(&path, "").ok()?;
                    Some(Entry {
                        path,
                        size: m.size,
                        modified: Some(SystemTime::from(m.last_modified)),
                    })
                })
                .collect())
        }
        .boxed()
    }

    fn delete(&self, path: &str) -> BoxFuture<'_, Result<(), PersistError>> {
        let location = self.resolve(path);
        async move {
            match self.store.delete(&location?).await {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::parquet::FaultyStorage;
    use crate::backends::parquet::fs::SimFs;
    use object_store::memory::InMemory;
    use object_store::{
        CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
        PutMultipartOptions, PutResult,
    };

    fn assert_not_retryable(e: &PersistError) {
        assert!(!e.is_retryable(), "should not be retryable: {e}");
    }

    #[tokio::test]
    async fn new_folders_are_durable_when_put_new_returns() {
        let sim = Arc::new(SimFs::new());
        let storage = LocalStorage::with_fs("/data/ds", sim.clone()).unwrap();
        assert!(
            storage
                .put_new("a=1/b=2/x.json", Bytes::from_static(b"x"))
                .await
                .unwrap()
        );
        storage
            .put("_soa_log/y.json", Bytes::from_static(b"y"))
            .await
            .unwrap();
        // Power goes out right after the calls returned: both must be there.
        let back = LocalStorage::with_fs("/data/ds", Arc::new(sim.recovered())).unwrap();
        assert_eq!(back.get("a=1/b=2/x.json").await.unwrap(), "x");
        assert_eq!(back.get("_soa_log/y.json").await.unwrap(), "y");
        let mut listed: Vec<String> = back
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        listed.sort();
        assert_eq!(listed, ["_soa_log/y.json", "a=1/b=2/x.json"]);
    }

    #[tokio::test]
    async fn a_crash_at_any_sync_point_of_a_put_new_leaves_nothing_or_everything() {
        let count = Arc::new(SimFs::new());
        let storage = LocalStorage::with_fs("/data/ds", count.clone()).unwrap();
        let before = count.sync_count();
        storage
            .put_new("a=1/x.json", Bytes::from_static(b"x"))
            .await
            .unwrap();
        let syncs = count.sync_count() - before;
        // `a=1` into the root, the temporary file, the link (creating the root took 2 more).
        assert_eq!(syncs, 3);
        let mut saw = (false, false);
        for k in 1..=count.sync_count() {
            let sim = Arc::new(SimFs::new());
            sim.power_loss_at(k);
            let done = match LocalStorage::with_fs("/data/ds", sim.clone()) {
                Ok(s) => s.put_new("a=1/x.json", Bytes::from_static(b"x")).await,
                Err(e) => Err(e),
            };
            assert!(done.is_err() && sim.is_down(), "k={k}");
            let back = Arc::new(sim.recovered());
            let back = LocalStorage::with_fs("/data/ds", back).unwrap();
            match back.head("a=1/x.json").await.unwrap() {
                None => saw.0 = true,
                Some(_) => {
                    assert_eq!(back.get("a=1/x.json").await.unwrap(), "x", "k={k}");
                    saw.1 = true;
                }
            }
        }
        assert_eq!(saw, (true, true));
    }

    #[tokio::test]
    async fn a_folder_left_unsynced_by_a_dead_process_is_made_durable() {
        let sim = Arc::new(SimFs::new());
        drop(LocalStorage::with_fs("/ds", sim.clone()).unwrap());
        // Another process created `a=1` and died before fsyncing `/ds`.
        sim.create_dir(FsPath::new("/ds/a=1")).unwrap();
        let storage = LocalStorage::with_fs("/ds", sim.clone()).unwrap();
        storage
            .put("a=1/x.parquet", Bytes::from_static(b"x"))
            .await
            .unwrap();
        let back = LocalStorage::with_fs("/ds", Arc::new(sim.recovered())).unwrap();
        assert_eq!(back.get("a=1/x.parquet").await.unwrap(), "x");
    }

    #[tokio::test]
    async fn losing_a_create_race_makes_the_winner_durable() {
        let sim = Arc::new(SimFs::new());
        let storage = LocalStorage::with_fs("/ds", sim.clone()).unwrap();
        storage
            .put("_soa_log/0.json", Bytes::from_static(b"0"))
            .await
            .unwrap();
        // The winner linked its record and died before fsyncing the folder.
        sim.write_new_synced(FsPath::new("/ds/_soa_log/.w"), b"winner")
            .unwrap();
        sim.hard_link(
            FsPath::new("/ds/_soa_log/.w"),
            FsPath::new("/ds/_soa_log/1.json"),
        )
        .unwrap();
        let created = storage
            .put_new("_soa_log/1.json", Bytes::from_static(b"loser"))
            .await
            .unwrap();
        assert!(!created);
        // The loser builds on version 1; after power loss version 1 must still be there.
        let back = LocalStorage::with_fs("/ds", Arc::new(sim.recovered())).unwrap();
        assert_eq!(back.get("_soa_log/1.json").await.unwrap(), "winner");
    }

    #[tokio::test]
    async fn a_folder_removed_behind_the_storage_is_created_again() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalStorage::open(dir.path()).unwrap();
        storage
            .put("a=1/b=2/x", Bytes::from_static(b"1"))
            .await
            .unwrap();
        std::fs::remove_dir_all(dir.path().join("a=1")).unwrap();
        storage
            .put("a=1/b=2/y", Bytes::from_static(b"2"))
            .await
            .unwrap();
        assert!(storage.put_new("a=1/b=2/z", Bytes::new()).await.unwrap());
        assert_eq!(storage.get("a=1/b=2/y").await.unwrap(), "2");
    }

    #[tokio::test]
    async fn paths_outside_the_dataset_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret.parquet"), b"secret").unwrap();
        let storage = LocalStorage::open(dir.path().join("ds")).unwrap();
        let sim = Arc::new(SimFs::new());
        let simulated = LocalStorage::with_fs("/ds", sim).unwrap();
        let memory = ObjectStorage::new(Arc::new(InMemory::new()), ObjectPath::from("ds"), "mem");
        let bad = [
            "",
            "/etc/passwd",
            "../secret.parquet",
            "a/../../secret.parquet",
            "a/./b",
            "a//b",
            "a/",
            ".",
            "..",
            "a\\..\\b",
            "a\0b",
        ];
        for s in [&storage as &dyn Storage, &simulated, &memory] {
            for path in bad {
                let errors = [
                    s.get(path).await.unwrap_err(),
                    s.head(path).await.unwrap_err(),
                    s.put(path, Bytes::new()).await.unwrap_err(),
                    s.put_new(path, Bytes::new()).await.unwrap_err(),
                    s.delete(path).await.unwrap_err(),
                ];
                for e in errors {
                    assert!(matches!(e, PersistError::Corrupt { .. }), "{path:?}: {e}");
                    assert!(e.to_string().contains("outside the dataset"), "{e}");
                    assert!(e.to_string().contains(&format!("{path:?}")), "{e}");
                    assert_not_retryable(&e);
                }
            }
            for prefix in ["/etc", "..", "../x", "a//b"] {
                assert!(matches!(
                    s.list(prefix).await.unwrap_err(),
                    PersistError::Corrupt { .. }
                ));
            }
            // Good paths still work, a trailing slash on a prefix included.
            s.put("a=1/f.parquet", Bytes::from_static(b"ok"))
                .await
                .unwrap();
            assert_eq!(s.list("a=1/").await.unwrap().len(), 1);
            assert!(s.list("").await.unwrap().len() == 1);
        }
        assert_eq!(
            std::fs::read(dir.path().join("secret.parquet")).unwrap(),
            b"secret"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn list_does_not_follow_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(outside.join("x=1")).unwrap();
        std::fs::write(outside.join("x=1/stolen.parquet"), b"s").unwrap();
        std::fs::write(outside.join("secret.parquet"), b"s").unwrap();
        let storage = LocalStorage::open(dir.path().join("ds")).unwrap();
        storage
            .put("a=1/own.parquet", Bytes::from_static(b"o"))
            .await
            .unwrap();
        let ds = dir.path().join("ds");
        std::os::unix::fs::symlink(&outside, ds.join("linked")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.parquet"), ds.join("a=1/l.parquet"))
            .unwrap();
        std::os::unix::fs::symlink(&outside, ds.join("_soa_log")).unwrap();
        let listed: Vec<String> = storage
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(listed, ["a=1/own.parquet"]);
        assert!(storage.list("linked").await.unwrap().is_empty());
        assert!(storage.list("_soa_log").await.unwrap().is_empty());
        assert_eq!(storage.head("a=1/l.parquet").await.unwrap(), None);
    }

    fn classify(e: object_store::Error) -> bool {
        object_err(e).is_retryable()
    }

    fn src(s: &str) -> Box<dyn std::error::Error + Send + Sync> {
        s.into()
    }

    #[test]
    fn transient_object_store_errors_are_retryable() {
        use object_store::Error as E;
        assert!(classify(E::Generic {
            store: "S3",
            source: src("connection reset"),
        }));
    }

    #[test]
    fn a_missing_object_is_a_not_found_io_error() {
        let e = object_err(object_store::Error::NotFound {
            path: "ds/x".into(),
            source: src("gone"),
        });
        assert!(
            matches!(&e, PersistError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
            "{e}"
        );
        assert_not_retryable(&e);
    }

    #[test]
    fn unsupported_operations_are_not_retryable() {
        use object_store::Error as E;
        assert!(!classify(E::NotImplemented {
            operation: "put_opts with PutMode::Create".into(),
            implementer: "S3".into(),
        }));
        assert!(!classify(E::NotSupported {
            source: src("conditional put"),
        }));
        assert!(!classify(E::UnknownConfigurationKey {
            store: "S3",
            key: "aws_nope".into(),
        }));
    }

    #[test]
    fn refused_credentials_are_not_retryable() {
        use object_store::Error as E;
        assert!(!classify(E::PermissionDenied {
            path: "ds/x".into(),
            source: src("403"),
        }));
        assert!(!classify(E::Unauthenticated {
            path: "ds/x".into(),
            source: src("401"),
        }));
    }

    #[test]
    fn failed_conditions_and_bad_paths_are_not_retryable() {
        use object_store::Error as E;
        for e in [
            E::Precondition {
                path: "ds/x".into(),
                source: src("412"),
            },
            E::NotModified {
                path: "ds/x".into(),
                source: src("304"),
            },
            E::AlreadyExists {
                path: "ds/x".into(),
                source: src("exists"),
            },
        ] {
            assert!(!classify(e));
        }
        let bad = ObjectPath::parse("a//b").unwrap_err();
        assert!(!classify(E::from(bad)));
    }

    #[tokio::test]
    async fn a_panicking_task_is_not_retryable_a_cancelled_one_is() {
        let panicked = tokio::spawn(async { panic!("decoder bug") })
            .await
            .unwrap_err();
        assert!(panicked.is_panic());
        let e = join_err(panicked);
        assert_not_retryable(&e);
        assert!(e.to_string().contains("panicked"), "{e}");

        let task = tokio::spawn(std::future::pending::<()>());
        task.abort();
        let cancelled = task.await.unwrap_err();
        assert!(cancelled.is_cancelled());
        assert!(join_err(cancelled).is_retryable());
    }

    /// An S3-compatible store that ignores `If-None-Match`: every create overwrites.
    #[derive(Debug)]
    struct IgnoresCreate(InMemory);

    impl std::fmt::Display for IgnoresCreate {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "IgnoresCreate")
        }
    }

    // Written out as `async_trait` expands it (the crate is not a dependency here).
    impl ObjectStore for IgnoresCreate {
        fn put_opts<'life0, 'life1, 'async_trait>(
            &'life0 self,
            location: &'life1 ObjectPath,
            payload: PutPayload,
            opts: PutOptions,
        ) -> BoxFuture<'async_trait, object_store::Result<PutResult>>
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            Self: 'async_trait,
        {
            let opts = PutOptions {
                mode: PutMode::Overwrite,
                ..opts
            };
            self.0.put_opts(location, payload, opts)
        }

        fn put_multipart_opts<'life0, 'life1, 'async_trait>(
            &'life0 self,
            location: &'life1 ObjectPath,
            opts: PutMultipartOptions,
        ) -> BoxFuture<'async_trait, object_store::Result<Box<dyn MultipartUpload>>>
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            Self: 'async_trait,
        {
            self.0.put_multipart_opts(location, opts)
        }

        fn get_opts<'life0, 'life1, 'async_trait>(
            &'life0 self,
            location: &'life1 ObjectPath,
            options: GetOptions,
        ) -> BoxFuture<'async_trait, object_store::Result<GetResult>>
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            Self: 'async_trait,
        {
            self.0.get_opts(location, options)
        }

        fn delete_stream(
            &self,
            locations: futures::stream::BoxStream<'static, object_store::Result<ObjectPath>>,
        ) -> futures::stream::BoxStream<'static, object_store::Result<ObjectPath>> {
            self.0.delete_stream(locations)
        }

        fn list(
            &self,
            prefix: Option<&ObjectPath>,
        ) -> futures::stream::BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.0.list(prefix)
        }

        fn list_with_delimiter<'life0, 'life1, 'async_trait>(
            &'life0 self,
            prefix: Option<&'life1 ObjectPath>,
        ) -> BoxFuture<'async_trait, object_store::Result<ListResult>>
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            Self: 'async_trait,
        {
            self.0.list_with_delimiter(prefix)
        }

        fn copy_opts<'life0, 'life1, 'life2, 'async_trait>(
            &'life0 self,
            from: &'life1 ObjectPath,
            to: &'life2 ObjectPath,
            options: CopyOptions,
        ) -> BoxFuture<'async_trait, object_store::Result<()>>
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            'life2: 'async_trait,
            Self: 'async_trait,
        {
            self.0.copy_opts(from, to, options)
        }
    }

    async fn keys(store: &dyn ObjectStore) -> Vec<String> {
        let metas: Vec<ObjectMeta> = store.list(None).try_collect().await.unwrap();
        metas.into_iter().map(|m| m.location.to_string()).collect()
    }

    #[tokio::test]
    async fn a_store_ignoring_create_if_absent_is_refused() {
        let store = Arc::new(IgnoresCreate(InMemory::new()));
        let storage = ObjectStorage::new(store.clone(), ObjectPath::from("ds"), "s3://bucket/ds");
        for _ in 0..2 {
            let e = storage
                .put_new("_soa_log/1.json", Bytes::from_static(b"{}"))
                .await
                .unwrap_err();
            assert_not_retryable(&e);
            let message = e.to_string();
            assert!(message.contains("s3://bucket/ds"), "{message}");
            assert!(
                message.contains("does not honour create-if-absent (If-None-Match)"),
                "{message}"
            );
        }
        // Nothing written: no commit, no probe left behind.
        assert!(keys(store.as_ref()).await.is_empty());
    }

    #[tokio::test]
    async fn a_store_honouring_create_if_absent_passes_the_probe() {
        let store = Arc::new(InMemory::new());
        let storage = ObjectStorage::new(store.clone(), ObjectPath::from("ds"), "memory://");
        let record = "_soa_log/1.json";
        assert!(
            storage
                .put_new(record, Bytes::from_static(b"a"))
                .await
                .unwrap()
        );
        assert!(
            !storage
                .put_new(record, Bytes::from_static(b"b"))
                .await
                .unwrap()
        );
        assert_eq!(storage.get(record).await.unwrap(), "a");
        assert_eq!(keys(store.as_ref()).await, ["ds/_soa_log/1.json"]);
    }

    #[tokio::test]
    async fn a_fault_after_effect_applies_the_operation_then_fails() {
        let dir = tempfile::tempdir().unwrap();
        let faulty = FaultyStorage::new(LocalStorage::open(dir.path()).unwrap());
        faulty.fail_after_effect_at(2);
        faulty.put("a", Bytes::from_static(b"1")).await.unwrap();
        let e = faulty
            .put_new("b", Bytes::from_static(b"2"))
            .await
            .unwrap_err();
        assert!(e.is_retryable(), "{e}");
        assert!(e.to_string().contains("after effect"), "{e}");
        assert_eq!(faulty.calls(), 2);
        // It took effect: the object is there, and creating it again finds it.
        assert_eq!(faulty.get("b").await.unwrap(), "2");
        assert!(!faulty.put_new("b", Bytes::new()).await.unwrap());

        faulty.fail_at(1);
        assert!(faulty.put_new("c", Bytes::new()).await.is_err());
        assert_eq!(faulty.inner().head("c").await.unwrap(), None);
        faulty.fail_after_effect_at(1);
        assert!(faulty.delete("b").await.is_err());
        assert_eq!(faulty.inner().head("b").await.unwrap(), None);
        assert_eq!(faulty.local_root(), Some(dir.path().to_path_buf()));
    }
}
