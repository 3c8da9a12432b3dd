//! The conformance suite's write checks: save, append, delete, clear, concurrent writers,
//! the persistent store over the backend, write ids and cancelled flushes.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use soa_persist_core::convert::ToArrow;
use soa_persist_core::query::Predicate;
use soa_persist_core::soa::SoA;

use crate::testing::model::{
    ConfOrder, ConfOrderSoA, ConfStatus, assert_same_rows, ids, order, orders,
};
use crate::testing::{Fault, FaultyPersistence, Op};
use crate::{FlushPolicy, PersistentStore, SoAPersistence, WriteId};

pub async fn save_replaces_and_load_returns<P: SoAPersistence<ConfOrder>>(p: &P) {
    p.save(orders(0..100)).await.expect("save");
    assert_same_rows(
        p.load().await.expect("load").expect("some"),
        orders(0..100),
        "after save",
    );
    p.save(orders(500..510)).await.expect("save again");
    assert_same_rows(
        p.load().await.expect("load").expect("some"),
        orders(500..510),
        "save replaces",
    );
    p.save(ConfOrderSoA::new()).await.expect("save empty");
    let empty = p.load().await.expect("load").expect("stored, so Some");
    assert!(empty.is_empty());
}

pub async fn append_accumulates<P: SoAPersistence<ConfOrder>>(p: &P) {
    for part in [0..10, 10..11, 11..300] {
        p.append(orders(part)).await.expect("append");
    }
    p.append(ConfOrderSoA::new()).await.expect("empty append");
    assert_same_rows(
        p.load().await.expect("load").expect("some"),
        orders(0..300),
        "appends",
    );
    assert_eq!(p.count(&Predicate::all()).await.expect("count"), 300);
}

pub async fn large_append<P: SoAPersistence<ConfOrder>>(p: &P) {
    let n = 200_000;
    p.append(orders(0..n)).await.expect("large append");
    assert_eq!(p.count(&Predicate::all()).await.expect("count"), n);
    let loaded = p.load().await.expect("load").expect("some");
    assert_eq!(ids(&loaded), (0..n).collect::<Vec<_>>());
}

pub async fn delete_removes_exactly_the_matches<P: SoAPersistence<ConfOrder>>(p: &P) {
    p.save(orders(0..400)).await.expect("save");
    let gone = ConfOrder::fields()
        .status
        .eq(ConfStatus::Returned)
        .or(ConfOrder::fields().qty.is_null());
    let want: Vec<u64> = (0..400).filter(|i| !(i % 4 == 3 || i % 5 == 0)).collect();
    assert_eq!(
        p.delete(&gone).await.expect("delete"),
        400 - want.len() as u64
    );
    assert_eq!(ids(&p.load().await.expect("load").expect("some")), want);
    assert_eq!(p.delete(&gone).await.expect("delete again"), 0);
    // NOT of an unknown comparison is unknown: rows with a null qty are not deleted by either.
    p.save(orders(0..50)).await.expect("save");
    p.delete(&ConfOrder::fields().qty.gt(0))
        .await
        .expect("delete");
    p.delete(&ConfOrder::fields().qty.gt(0).not())
        .await
        .expect("delete");
    let left = ids(&p.load().await.expect("load").expect("some"));
    assert_eq!(left, (0..50).filter(|i| i % 5 == 0).collect::<Vec<_>>());
}

pub async fn clear_empties<P: SoAPersistence<ConfOrder>>(p: &P) {
    p.append(orders(0..20)).await.expect("append");
    p.clear().await.expect("clear");
    assert!(
        p.load()
            .await
            .expect("load")
            .expect("cleared is Some")
            .is_empty()
    );
    assert_eq!(p.count(&Predicate::all()).await.expect("count"), 0);
    p.append(orders(5..6)).await.expect("append after clear");
    assert_eq!(ids(&p.load().await.expect("load").expect("some")), [5]);
}

/// 8 writers x 8 readers: no row lost or duplicated, and counts never go backwards.
pub async fn concurrent_writers_and_readers<P: SoAPersistence<ConfOrder> + Clone + 'static>(p: P) {
    let (writers, batches, per_batch) = (8u64, 10u64, 25u64);
    let total = writers * batches * per_batch;
    let done = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..8 {
        let (p, done) = (p.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            let mut last = 0;
            let mut reads = 0u32;
            while !done.load(Ordering::Acquire) || reads == 0 {
                let n = p.count(&Predicate::all()).await.expect("concurrent count");
                assert!(n >= last, "count went backwards: {last} -> {n}");
                assert!(n <= total, "more rows than written: {n}");
                last = n;
                reads += 1;
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut tasks = Vec::new();
    for w in 0..writers {
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            for b in 0..batches {
                let start = (w * batches + b) * per_batch;
                p.append(orders(start..start + per_batch))
                    .await
                    .expect("concurrent append");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    done.store(true, Ordering::Release);
    for r in readers {
        r.await.expect("reader task");
    }
    let loaded = p.load().await.expect("load").expect("some");
    let unique: BTreeSet<u64> = loaded.id.iter().copied().collect();
    assert_eq!(loaded.len() as u64, total, "no row lost or duplicated");
    assert_eq!(unique.len() as u64, total);
}

/// The store layer on top of the backend: buffered rows are visible, flushed rows persist.
pub async fn persistent_store_over_backend<P: SoAPersistence<ConfOrder>>(p: P) {
    let mut store = PersistentStore::with_persistence(p).with_flush_policy(FlushPolicy::Manual);
    store.add_many((0..50).map(order)).await.expect("add_many");
    assert!(
        store.add(order(3)).await.is_err(),
        "duplicate key in the buffer"
    );
    assert_eq!(
        store.get(&7).await.expect("get").map(|o| o.id),
        Some(7),
        "buffered row visible"
    );
    store.flush().await.expect("flush");
    assert_eq!(store.buffered(), 0);
    store.add(order(50)).await.expect("add");
    assert_eq!(
        store.get(&7).await.expect("get").map(|o| o.id),
        Some(7),
        "flushed row visible"
    );
    let shipped = store
        .query(&ConfOrder::fields().status.eq(ConfStatus::Shipped))
        .await
        .expect("query");
    assert_eq!(
        ids(&shipped),
        (0..51).filter(|i| i % 4 == 1).collect::<Vec<_>>()
    );
    assert_eq!(store.count(&Predicate::all()).await.expect("count"), 51);
    assert_eq!(
        store
            .delete(&ConfOrder::fields().id.ge(45u64))
            .await
            .expect("delete"),
        6
    );
    let all = store.load_store().await.expect("load_store");
    assert_eq!(all.len(), 45);
    assert!(all.get(&44).is_some() && all.get(&45).is_none());
    let stats = store.stats().await.expect("stats");
    assert_eq!(stats.rows + stats.buffered_rows, 45);
    store.flush().await.expect("final flush");
}

/// `append_batches_once`: a write id is applied once, whatever the retries; writers are apart.
pub async fn append_once_applies_each_write_once<P: SoAPersistence<ConfOrder>>(p: &P) {
    let batch = |range| orders(range).to_record_batch().expect("batch");
    let first = WriteId::new("writer-a", 1);
    assert!(
        p.append_batches_once(vec![batch(0..10)], &first)
            .await
            .expect("first attempt")
    );
    assert!(
        !p.append_batches_once(vec![batch(0..10)], &first)
            .await
            .expect("retry"),
        "a retry of a committed write writes nothing"
    );
    let next = WriteId::new("writer-a", 2);
    assert!(
        p.append_batches_once(vec![batch(10..20)], &next)
            .await
            .expect("next")
    );
    assert!(
        !p.append_batches_once(vec![batch(0..10)], &first)
            .await
            .expect("late retry"),
        "an older write of the same writer is committed too"
    );
    let other = WriteId::new("writer-b", 1);
    assert!(
        p.append_batches_once(vec![batch(20..25)], &other)
            .await
            .expect("other writer")
    );
    assert_same_rows(
        p.load().await.expect("load").expect("some"),
        orders(0..25),
        "each write once",
    );
}

/// A store whose flushes are cut short (a deadline drops the future mid-write, as
/// `tokio::time::timeout` does) keeps every accepted row, and the next flush stores each once.
pub async fn cancelled_flushes_lose_and_double_nothing<P: SoAPersistence<ConfOrder>>(p: P) {
    let mut store = PersistentStore::with_persistence(p).with_flush_policy(FlushPolicy::Manual);
    let mut next = 0u64;
    let mut cut = 0;
    for round in 0..40u64 {
        store
            .add_many((next..next + 50).map(order))
            .await
            .expect("add_many");
        next += 50;
        // Deadlines from "at once" to a little while: some flushes finish, most are cut.
        let deadline = std::time::Duration::from_micros((round % 8) * 150);
        if tokio::time::timeout(deadline, store.flush()).await.is_err() {
            cut += 1;
        }
        assert_eq!(
            store.count(&Predicate::all()).await.expect("count"),
            next,
            "round {round}: every accepted row is visible exactly once"
        );
    }
    store.flush().await.expect("plain flush");
    assert!(!store.has_write_in_doubt());
    assert_eq!(store.buffered(), 0);
    let stored = store.backend().load().await.expect("load").expect("some");
    assert_eq!(
        ids(&stored),
        (0..next).collect::<Vec<_>>(),
        "{cut} flushes cut short"
    );
}

/// A store over the backend wrapped in [`FaultyPersistence`]: writes and flushes that fail
/// before reaching the backend, or after it applied them, lose and double no row, and the
/// store's view stays exact throughout.
pub async fn failed_flushes_lose_and_double_nothing<P>(p: P)
where
    P: SoAPersistence<ConfOrder> + 'static,
{
    let faulty = FaultyPersistence::new(p);
    let arm = faulty.clone();
    let mut store =
        PersistentStore::with_persistence(faulty).with_flush_policy(FlushPolicy::Manual);
    let mut next = 0u64;
    let mut failed = 0;
    for round in 0..12u64 {
        store
            .add_many((next..next + 20).map(order))
            .await
            .expect("add_many");
        next += 20;
        let fault = if round % 2 == 0 {
            Fault::Before
        } else {
            Fault::After
        };
        match round % 3 {
            0 => arm.fail(Op::Write, 0, fault),
            1 => arm.fail(Op::Flush, 0, fault),
            _ => {}
        }
        if let Err(e) = store.flush().await {
            assert!(
                e.is_retryable(),
                "round {round}: injected faults are retryable: {e}"
            );
            failed += 1;
        }
        assert_eq!(
            store.count(&Predicate::all()).await.expect("count"),
            next,
            "round {round}: every accepted row is visible exactly once"
        );
    }
    store.flush().await.expect("flush after the faults");
    assert_eq!(failed, 8, "every armed fault struck once");
    assert!(!store.has_write_in_doubt());
    let stored = store
        .backend()
        .inner()
        .load()
        .await
        .expect("load")
        .expect("some");
    assert_eq!(ids(&stored), (0..next).collect::<Vec<_>>());
}
