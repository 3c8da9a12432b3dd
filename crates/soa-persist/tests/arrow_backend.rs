//! `ArrowPersistence` passes the shared conformance suite, plus its own guarantees: memory
//! budget, coalescing of small appends, schema conformance and real-time stats.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use soa_persist::prelude::*;
use soa_persist::testing::{ConfOrder, ConfOrderSoA, conformance, orders};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn arrow_backend_passes_the_conformance_suite() {
    conformance::run_all(|| async { ArrowPersistence::<ConfOrder>::new() }).await;
}

#[tokio::test]
async fn append_refuses_stored_keys() {
    conformance::append_refuses_stored_keys(&ArrowPersistence::<ConfOrder>::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_of_one_key() {
    conformance::concurrent_adds_of_one_key(ArrowPersistence::<ConfOrder>::new()).await;
}

#[tokio::test]
async fn memory_budget_refuses_an_append_and_appends_nothing() {
    let p = ArrowPersistence::<ConfOrder>::with_memory_budget(200_000);
    p.append(orders(0..100)).await.unwrap();
    let before = p.count(&Predicate::all()).await.unwrap();
    let err = p.append(orders(100..20_000)).await.unwrap_err();
    assert!(
        matches!(
            err,
            PersistError::MemoryBudget {
                budget: 200_000,
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert_eq!(
        p.count(&Predicate::all()).await.unwrap(),
        before,
        "nothing partially appended"
    );
}

#[tokio::test]
async fn small_appends_are_coalesced_and_large_ones_are_not_copied() {
    let p = ArrowPersistence::<ConfOrder>::new();
    for i in 0..100 {
        p.append(orders(i * 10..i * 10 + 10)).await.unwrap();
    }
    assert_eq!(
        p.stats().await.unwrap().batches,
        1,
        "100 appends of 10 rows coalesce"
    );
    let big: ConfOrderSoA = orders(1000..101_000);
    let ptr = big.id.as_ptr() as usize;
    p.append(big).await.unwrap();
    let batches = p.load_batches().await.unwrap().unwrap();
    let ids = batches[1]
        .column(0)
        .as_any()
        .downcast_ref::<soa_persist::arrow::array::UInt64Array>()
        .unwrap();
    assert_eq!(
        ids.values().as_ptr() as usize,
        ptr,
        "a large append keeps its buffer (zero-copy)"
    );
}

#[tokio::test]
async fn stats_track_rows_and_bytes_per_column() {
    let p = ArrowPersistence::<ConfOrder>::new();
    p.append(orders(0..1000)).await.unwrap();
    let s = p.stats().await.unwrap();
    assert_eq!((s.rows, s.backend), (1000, "arrow"));
    assert_eq!(s.columns.len(), ConfOrder::arrow_schema().fields().len());
    assert!(s.columns.iter().all(|c| c.bytes_in_memory > 0));
    assert!(s.bytes_in_memory >= s.columns.iter().map(|c| c.bytes_in_memory).sum::<u64>() / 2);
    let clone = p.clone(); // a handle, not a copy
    clone.append(orders(1000..1001)).await.unwrap();
    assert_eq!(p.stats().await.unwrap().rows, 1001);
}

#[tokio::test]
async fn batches_with_another_encoding_are_conformed_or_refused() {
    use soa_persist::arrow::array::{RecordBatch, UInt64Array};
    use std::sync::Arc;
    let p = ArrowPersistence::<ConfOrder>::new();
    let wrong =
        RecordBatch::try_from_iter([("id", Arc::new(UInt64Array::from(vec![1u64])) as _)]).unwrap();
    let err = p.append_batches(vec![wrong]).await.unwrap_err();
    assert!(
        matches!(&err, PersistError::Convert(e) if e.field() == "customer"),
        "{err}"
    );
    assert!(
        p.load().await.unwrap().is_none(),
        "a refused first append stores nothing"
    );
}

#[tokio::test]
async fn retry_helper_retries_only_transient_errors() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let calls = AtomicU32::new(0);
    let policy = soa_persist::RetryPolicy {
        max_attempts: 4,
        initial_backoff: std::time::Duration::from_millis(1),
        ..Default::default()
    };
    let result = soa_persist::retry(policy, || async {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        if n < 2 {
            Err(PersistError::Server {
                backend: "test",
                status: 503,
                message: "busy".into(),
            })
        } else {
            Ok(n)
        }
    })
    .await;
    assert_eq!(result.unwrap(), 2);
    calls.store(0, Ordering::SeqCst);
    let result: Result<(), _> = soa_persist::retry(policy, || async {
        calls.fetch_add(1, Ordering::SeqCst);
        Err(PersistError::Server {
            backend: "test",
            status: 400,
            message: "bad".into(),
        })
    })
    .await;
    assert!(result.is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a 400 is not retried");
}

#[tokio::test]
async fn flush_failure_keeps_rows_buffered() {
    // A backend whose appends fail: the store must keep every row and report the error.
    #[derive(Clone)]
    struct Failing;
    impl SoAPersistence<ConfOrder> for Failing {
        fn name(&self) -> &'static str {
            "failing"
        }
        async fn save_batches(
            &self,
            _: Vec<soa_persist::arrow::array::RecordBatch>,
        ) -> Result<(), PersistError> {
            Ok(())
        }
        async fn append_batches(
            &self,
            _: Vec<soa_persist::arrow::array::RecordBatch>,
        ) -> Result<(), PersistError> {
            Err(PersistError::backend("failing", "disk full", true))
        }
        async fn load_batches(
            &self,
        ) -> Result<Option<Vec<soa_persist::arrow::array::RecordBatch>>, PersistError> {
            Ok(None)
        }
        async fn scan(&self, _: Scan<ConfOrder>) -> Result<soa_persist::BatchStream, PersistError> {
            Ok(Box::pin(futures::stream::empty()))
        }
        async fn count(&self, _: &Predicate<ConfOrder>) -> Result<u64, PersistError> {
            Ok(0)
        }
        async fn delete(&self, _: &Predicate<ConfOrder>) -> Result<u64, PersistError> {
            Ok(0)
        }
        async fn clear(&self) -> Result<(), PersistError> {
            Ok(())
        }
        async fn flush(&self) -> Result<(), PersistError> {
            Ok(())
        }
        async fn stats(&self) -> Result<Stats, PersistError> {
            Ok(Stats::default())
        }
    }
    let mut store =
        PersistentStore::with_persistence(Failing).with_flush_policy(FlushPolicy::Manual);
    store
        .add_many((0..10).map(soa_persist::testing::order))
        .await
        .unwrap();
    let err = store.flush().await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(store.buffered(), 10, "nothing lost");
    assert_eq!(store.get(&4).await.unwrap().map(|o| o.id), Some(4));
    assert!(
        store.add(soa_persist::testing::order(4)).await.is_err(),
        "key index still intact"
    );
    std::mem::forget(store); // would warn about 10 unflushed rows
}

/// Records the `warn` events emitted while it is the default subscriber.
struct Warnings(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl tracing::Subscriber for Warnings {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Text(String);
        impl tracing::field::Visit for Text {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!("{}={value:?} ", field.name()));
            }
        }
        if *event.metadata().level() == tracing::Level::WARN {
            let mut text = Text(String::new());
            event.record(&mut text);
            self.0.lock().unwrap().push(text.0);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The README: dropping a store with unflushed rows reports their count (a `tracing` warning);
/// a flushed store drops silently.
#[tokio::test]
async fn dropping_a_store_with_unflushed_rows_warns() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut store = PersistentStore::with_persistence(ArrowPersistence::<ConfOrder>::new())
        .with_flush_policy(FlushPolicy::Manual);
    store
        .add_many((0..10).map(soa_persist::testing::order))
        .await
        .unwrap();
    tracing::subscriber::with_default(Warnings(seen.clone()), || drop(store));
    let warnings = seen.lock().unwrap().clone();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("rows=10"), "{warnings:?}");

    let mut store = PersistentStore::with_persistence(ArrowPersistence::<ConfOrder>::new());
    store.add(soa_persist::testing::order(1)).await.unwrap();
    store.flush().await.unwrap();
    tracing::subscriber::with_default(Warnings(seen.clone()), || drop(store));
    assert_eq!(seen.lock().unwrap().len(), 1, "flushed: no new warning");
}
