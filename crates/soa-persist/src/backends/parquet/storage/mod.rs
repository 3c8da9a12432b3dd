//! Where a dataset's bytes live: the few primitives the Parquet backend needs, implemented for
//! local disk (std::fs, with the fsyncs that make a commit survive power loss) and for any
//! `object_store` store (memory://, S3, GCS, Azure). The dataset logic above is the same for
//! both. `LocalStorage` goes through an `Fs` (`fs.rs`) so power loss can be simulated.

mod local;
#[cfg(test)]
mod local_tests;
mod object;
#[cfg(test)]
mod object_tests;

use std::fmt::Debug;
use std::ops::Range;
use std::path::{Component, Path as FsPath, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use soa_persist_api::PersistError;

pub use local::LocalStorage;
pub use object::ObjectStorage;

pub(crate) const NAME: &str = "parquet";

/// One stored object: its path relative to the dataset root ('/'-separated), size and age.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Path relative to the dataset root, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time, where the store reports one.
    pub modified: Option<SystemTime>,
}

/// Storage primitives; paths are relative to the dataset root, '/'-separated.
pub trait Storage: Send + Sync + Debug + 'static {
    /// Writes `bytes` at `path` atomically (readers see the old object or the new, never part).
    fn put(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<(), PersistError>>;
    /// Like `put`, but only if nothing is at `path`; `Ok(false)` when something already is.
    fn put_new(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<bool, PersistError>>;
    /// The whole content of the object at `path`.
    fn get(&self, path: &str) -> BoxFuture<'_, Result<Bytes, PersistError>>;
    /// The bytes of each of `ranges` of the object at `path` (a `Corrupt` error when one
    /// reaches past its end). Selective reads fetch only the column chunks they decode.
    fn get_ranges(
        &self,
        path: &str,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, Result<Vec<Bytes>, PersistError>> {
        let whole = self.get(path);
        let path = path.to_string();
        async move { slice_ranges(&path, &whole.await?, &ranges) }.boxed()
    }
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

/// `ranges` of `bytes`, the whole content of `path`.
fn slice_ranges(
    path: &str,
    bytes: &Bytes,
    ranges: &[Range<u64>],
) -> Result<Vec<Bytes>, PersistError> {
    ranges
        .iter()
        .map(|r| {
            let (start, end) = (r.start as usize, r.end as usize);
            if start > end || end > bytes.len() {
                return Err(PersistError::corrupt(
                    NAME,
                    format!(
                        "{path}: range {start}..{end} of a {}-byte file",
                        bytes.len()
                    ),
                ));
            }
            Ok(bytes.slice(start..end))
        })
        .collect()
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
pub(super) fn join_err(e: tokio::task::JoinError) -> PersistError {
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
pub(super) fn check_prefix<'p>(prefix: &'p str, location: &str) -> Result<&'p str, PersistError> {
    let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
    if !prefix.is_empty() {
        check_path(prefix, location)?;
    }
    Ok(prefix)
}
