//! `FaultyStorage`: wraps a `Storage` and fails the k-th operation (before or after it took
//! effect), for failure-path tests (feature `testing`). `FaultyPersistence` in
//! `soa_persist_api::testing` does the same one layer up, for every backend.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;

use super::storage::{Entry, Storage, io};
use soa_persist_api::PersistError;

/// Fails the k-th operation (1-based, counting every call) with a retryable I/O error, in one
/// of two ways: `fail_at(k)` fails it before it reaches `inner` (nothing happened);
/// `fail_after_effect_at(k)` lets it take effect on `inner` and then reports an error, as a
/// timeout after the server applied a PUT or a failed fsync after a link does. Every other
/// operation goes through to `inner`. `k = 0` never fails.
#[derive(Debug)]
pub struct FaultyStorage<S> {
    inner: S,
    calls: AtomicUsize,
    fail_at: AtomicUsize,
    after_effect: AtomicBool,
}

enum Fault {
    None,
    Before(PersistError),
    After(PersistError),
}

impl<S: Storage> FaultyStorage<S> {
    /// Wraps `inner`; nothing fails until a fault is armed.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            calls: AtomicUsize::new(0),
            fail_at: AtomicUsize::new(0),
            after_effect: AtomicBool::new(false),
        }
    }

    /// Makes the `k`-th operation from now fail without effect (0: none); restarts the count.
    pub fn fail_at(&self, k: usize) {
        self.set(k, false);
    }

    /// Makes the `k`-th operation from now take effect and then fail (0: none); restarts the
    /// count.
    pub fn fail_after_effect_at(&self, k: usize) {
        self.set(k, true);
    }

    fn set(&self, k: usize, after_effect: bool) {
        self.fail_at.store(0, Ordering::SeqCst);
        self.calls.store(0, Ordering::SeqCst);
        self.after_effect.store(after_effect, Ordering::SeqCst);
        self.fail_at.store(k, Ordering::SeqCst);
    }

    /// Operations since the last `fail_at` or `fail_after_effect_at`.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The storage underneath.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn check(&self, op: &str, path: &str) -> Fault {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n != self.fail_at.load(Ordering::SeqCst) {
            return Fault::None;
        }
        let after = self.after_effect.load(Ordering::SeqCst);
        let message = if after {
            format!("injected failure after effect of {op} #{n}")
        } else {
            format!("injected failure of {op} #{n}")
        };
        let e = io(
            path,
            std::io::Error::new(std::io::ErrorKind::Interrupted, message),
        );
        if after {
            Fault::After(e)
        } else {
            Fault::Before(e)
        }
    }

    fn run<'a, R: Send + 'a>(
        &'a self,
        op: &str,
        path: &str,
        call: impl FnOnce() -> BoxFuture<'a, Result<R, PersistError>>,
    ) -> BoxFuture<'a, Result<R, PersistError>> {
        match self.check(op, path) {
            Fault::None => call(),
            Fault::Before(e) => async move { Err(e) }.boxed(),
            Fault::After(e) => {
                let effect = call();
                async move {
                    effect.await?;
                    Err(e)
                }
                .boxed()
            }
        }
    }
}

impl<S: Storage> Storage for FaultyStorage<S> {
    fn put(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<(), PersistError>> {
        self.run("put", path, || self.inner.put(path, bytes))
    }
    fn put_new(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<bool, PersistError>> {
        self.run("put_new", path, || self.inner.put_new(path, bytes))
    }
    fn get(&self, path: &str) -> BoxFuture<'_, Result<Bytes, PersistError>> {
        self.run("get", path, || self.inner.get(path))
    }
    fn get_ranges(
        &self,
        path: &str,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, Result<Vec<Bytes>, PersistError>> {
        self.run("get", path, || self.inner.get_ranges(path, ranges))
    }
    fn head(&self, path: &str) -> BoxFuture<'_, Result<Option<u64>, PersistError>> {
        self.run("head", path, || self.inner.head(path))
    }
    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<Entry>, PersistError>> {
        self.run("list", prefix, || self.inner.list(prefix))
    }
    fn delete(&self, path: &str) -> BoxFuture<'_, Result<(), PersistError>> {
        self.run("delete", path, || self.inner.delete(path))
    }
    fn location(&self) -> String {
        self.inner.location()
    }
    fn local_root(&self) -> Option<PathBuf> {
        self.inner.local_root()
    }
}
