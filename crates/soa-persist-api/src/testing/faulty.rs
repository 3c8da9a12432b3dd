//! `FaultyPersistence<P>`: wraps any backend and makes chosen operations fail, before they
//! reach the backend or after it applied them (the ambiguous case: the write took effect but
//! the caller sees an error), so every backend's callers are tested against the same faults.
//! Like object_store's wrapper stores, it forwards everything else unchanged.

use std::future::Future;
use std::sync::{Arc, Mutex};

use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::datatypes::SchemaRef;
use soa_persist_core::query::Predicate;
use soa_persist_core::soa::SoA;

use crate::{BatchStream, PersistError, Scan, SoAPersistence, Stats, WriteId};

/// When an injected failure strikes, relative to the wrapped operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Fail without calling the backend: nothing took effect.
    Before,
    /// Call the backend, then report a failure even if it succeeded: the write took effect.
    After,
}

/// The operations a fault can be aimed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `save_batches`, `append_batches`, `append_batches_once`, `delete`, `clear`.
    Write,
    /// `flush`.
    Flush,
    /// `load_batches`, `scan`, `count`, `stats`.
    Read,
}

#[derive(Default)]
struct Plan {
    /// (operation kind, how many more of that kind pass first, fault)
    armed: Vec<(Op, u64, Fault)>,
    seen: [u64; 3],
}

/// A backend wrapper that fails the operations it is told to (see the module docs).
///
/// Clones share the plan, so a test can keep one clone to arm faults while a store owns another.
pub struct FaultyPersistence<P> {
    inner: Arc<P>,
    plan: Arc<Mutex<Plan>>,
}

impl<P> Clone for FaultyPersistence<P> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            plan: Arc::clone(&self.plan),
        }
    }
}

impl<P> FaultyPersistence<P> {
    pub fn new(inner: P) -> Self {
        Self {
            inner: Arc::new(inner),
            plan: Arc::default(),
        }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// Makes the next operation of kind `op` that comes after `skip` others of that kind fail.
    /// Several faults can be armed at once; each strikes once.
    pub fn fail(&self, op: Op, skip: u64, fault: Fault) {
        self.lock().armed.push((op, skip, fault));
    }

    /// Makes the next write fail (`fail(Op::Write, 0, fault)`).
    pub fn fail_next_write(&self, fault: Fault) {
        self.fail(Op::Write, 0, fault);
    }

    /// How many operations of kind `op` were attempted through this wrapper.
    pub fn attempts(&self, op: Op) -> u64 {
        self.lock().seen[op as usize]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Plan> {
        // A test that panicked while holding the lock must not hide later faults.
        self.plan.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one attempt of `op` and returns the fault aimed at it, if any.
    fn take(&self, op: Op) -> Option<Fault> {
        let mut plan = self.lock();
        plan.seen[op as usize] += 1;
        let mut hit = None;
        plan.armed.retain_mut(|(kind, skip, fault)| {
            if *kind != op || hit.is_some() {
                return true;
            }
            if *skip == 0 {
                hit = Some(*fault);
                return false;
            }
            *skip -= 1;
            true
        });
        hit
    }

    async fn run<R>(
        &self,
        op: Op,
        call: impl Future<Output = Result<R, PersistError>>,
    ) -> Result<R, PersistError> {
        match self.take(op) {
            None => call.await,
            Some(Fault::Before) => Err(injected(op, Fault::Before)),
            Some(Fault::After) => {
                call.await?;
                Err(injected(op, Fault::After))
            }
        }
    }
}

/// The injected error: retryable, like the transient failures it stands for.
fn injected(op: Op, fault: Fault) -> PersistError {
    PersistError::Io {
        backend: "faulty",
        path: None,
        source: std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            format!("injected {op:?} failure ({fault:?} the operation)"),
        ),
    }
}

impl<T: SoA, P: SoAPersistence<T>> SoAPersistence<T> for FaultyPersistence<P> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    async fn save_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        self.run(Op::Write, self.inner.save_batches(batches)).await
    }

    async fn append_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        self.run(Op::Write, self.inner.append_batches(batches))
            .await
    }

    async fn append_batches_once(
        &self,
        batches: Vec<RecordBatch>,
        id: &WriteId,
    ) -> Result<bool, PersistError> {
        self.run(Op::Write, self.inner.append_batches_once(batches, id))
            .await
    }

    async fn load_batches(&self) -> Result<Option<Vec<RecordBatch>>, PersistError> {
        self.run(Op::Read, self.inner.load_batches()).await
    }

    async fn scan(&self, scan: Scan<T>) -> Result<BatchStream, PersistError> {
        self.run(Op::Read, self.inner.scan(scan)).await
    }

    async fn count(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        self.run(Op::Read, self.inner.count(predicate)).await
    }

    async fn delete(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        self.run(Op::Write, self.inner.delete(predicate)).await
    }

    async fn clear(&self) -> Result<(), PersistError> {
        self.run(Op::Write, self.inner.clear()).await
    }

    async fn flush(&self) -> Result<(), PersistError> {
        self.run(Op::Flush, self.inner.flush()).await
    }

    async fn stats(&self) -> Result<Stats, PersistError> {
        self.run(Op::Read, self.inner.stats()).await
    }
}
