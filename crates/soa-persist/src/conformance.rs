//! One conformance suite shared by every backend (like object_store's `integration.rs`): each
//! backend's tests call [`run_all`] with a factory of fresh, empty backends, and every trait
//! method is checked against a reference evaluation in plain Rust.
//!
//! The model row has nulls, unicode, quotes and SQL comment markers in its strings, a NaN among
//! its floats and an enum partition column, so that backends meet the awkward cases too.

#![cfg(feature = "chrono")]

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;

use crate::prelude::*;

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConfStatus {
    Pending,
    Shipped,
    Delivered,
    Returned,
}

/// The row every backend must store and query correctly.
#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
pub struct ConfOrder {
    #[soa(key)]
    pub id: u64,
    pub customer: String,
    pub amount: f64,
    #[soa(partition)]
    pub status: ConfStatus,
    pub placed_at: DateTime<Utc>,
    pub note: Option<String>,
    pub qty: Option<i32>,
}

const CUSTOMERS: [&str; 6] = ["ada", "bob's", "c;-- x", "dé", "\"quoted\"", "emoji😀"];

/// A deterministic row; `i % 101 == 0` has a NaN amount.
pub fn order(i: u64) -> ConfOrder {
    ConfOrder {
        id: i,
        customer: format!("{}{}", CUSTOMERS[(i % 6) as usize], i % 17),
        amount: if i.is_multiple_of(101) {
            f64::NAN
        } else {
            ((i * 37) % 1000) as f64 / 10.0
        },
        status: [
            ConfStatus::Pending,
            ConfStatus::Shipped,
            ConfStatus::Delivered,
            ConfStatus::Returned,
        ][(i % 4) as usize],
        placed_at: DateTime::from_timestamp_micros(1_700_000_000_000_000 + i as i64 * 1_000_001)
            .unwrap_or_default(),
        note: (!i.is_multiple_of(3)).then(|| format!("n{i}")),
        qty: (!i.is_multiple_of(5)).then_some((i % 11) as i32 - 3),
    }
}

pub fn orders(ids: std::ops::Range<u64>) -> ConfOrderSoA {
    ids.map(order).collect()
}

fn ids(rows: &ConfOrderSoA) -> Vec<u64> {
    let mut ids = rows.id.clone();
    ids.sort_unstable();
    ids
}

fn sorted(rows: ConfOrderSoA) -> ConfOrderSoA {
    let mut rows = rows;
    rows.sort_by_key(|r| *r.id);
    rows
}

/// Compares rows by value with NaN equal to NaN.
fn assert_same_rows(got: ConfOrderSoA, want: ConfOrderSoA, what: &str) {
    let (got, want) = (sorted(got), sorted(want));
    assert_eq!(got.len(), want.len(), "{what}: row count");
    assert_eq!(
        format!("{got:?}"),
        format!("{want:?}"),
        "{what}: rows differ"
    );
}

/// Runs every conformance test, each on a fresh backend from `factory`.
pub async fn run_all<P, F, Fut>(factory: F)
where
    P: SoAPersistence<ConfOrder> + Clone + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = P>,
{
    empty_backend(&factory().await).await;
    save_replaces_and_load_returns(&factory().await).await;
    append_accumulates(&factory().await).await;
    large_append(&factory().await).await;
    predicates_match_reference(&factory().await).await;
    scan_projects_and_streams(&factory().await).await;
    delete_removes_exactly_the_matches(&factory().await).await;
    clear_empties(&factory().await).await;
    query_rows_filters_by_closure(&factory().await).await;
    stats_and_flush(&factory().await).await;
    concurrent_writers_and_readers(factory().await).await;
    persistent_store_over_backend(factory().await).await;
    append_once_applies_each_write_once(&factory().await).await;
    cancelled_flushes_lose_and_double_nothing(factory().await).await;
}

pub async fn empty_backend<P: SoAPersistence<ConfOrder>>(p: &P) {
    assert!(
        p.load().await.expect("load").is_none(),
        "nothing stored yet: load is None"
    );
    assert_eq!(p.count(&Predicate::all()).await.expect("count"), 0);
    assert!(
        p.query(&ConfOrder::fields().amount.gt(0.0))
            .await
            .expect("query")
            .is_empty()
    );
    let mut scan = p.scan(Scan::all()).await.expect("scan");
    assert!(scan.next().await.is_none(), "empty scan");
    assert_eq!(p.stats().await.expect("stats").rows, 0);
    assert_eq!(p.schema().fields(), ConfOrder::arrow_schema().fields());
}

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

type Case = (Predicate<ConfOrder>, fn(&ConfOrder) -> bool);

/// Predicates of every kind with their SQL-semantics reference (a null comparison is false,
/// also under NOT; floats by total order).
pub fn predicate_cases() -> Vec<Case> {
    use std::cmp::Ordering::*;
    let f = ConfOrder::fields;
    let t0 = order(0).placed_at;
    vec![
        (f().amount.gt(50.0), |o| {
            o.amount.total_cmp(&50.0) == Greater
        }),
        (f().amount.le(10.0), |o| {
            o.amount.total_cmp(&10.0) != Greater
        }),
        (f().amount.between(10.0, 20.0), |o| {
            o.amount.total_cmp(&10.0) != Less && o.amount.total_cmp(&20.0) != Greater
        }),
        (f().id.eq(42u64), |o| o.id == 42),
        (f().id.ne(42u64), |o| o.id != 42),
        (f().id.lt(10u64), |o| o.id < 10),
        (f().id.ge(490u64), |o| o.id >= 490),
        (f().id.is_in([3u64, 7, 11, 9999]), |o| {
            [3, 7, 11].contains(&o.id)
        }),
        (f().id.is_in(Vec::<u64>::new()), |_| false),
        (f().status.eq(ConfStatus::Shipped), |o| {
            o.status == ConfStatus::Shipped
        }),
        (f().status.ne(ConfStatus::Pending), |o| {
            o.status != ConfStatus::Pending
        }),
        (
            f().status
                .is_in([ConfStatus::Shipped, ConfStatus::Returned]),
            |o| matches!(o.status, ConfStatus::Shipped | ConfStatus::Returned),
        ),
        (f().note.is_null(), |o| o.note.is_none()),
        (f().note.is_not_null(), |o| o.note.is_some()),
        (f().note.eq("n5"), |o| o.note.as_deref() == Some("n5")),
        (f().note.starts_with("n1"), |o| {
            o.note.as_deref().is_some_and(|n| n.starts_with("n1"))
        }),
        (f().customer.contains("é"), |o| o.customer.contains('é')),
        (f().customer.starts_with("bob's"), |o| {
            o.customer.starts_with("bob's")
        }),
        (f().customer.eq("c;-- x3"), |o| o.customer == "c;-- x3"),
        (f().customer.contains("%"), |o| o.customer.contains('%')),
        (f().qty.gt(5), |o| o.qty.is_some_and(|q| q > 5)),
        (f().qty.gt(5).not(), |o| o.qty.is_some_and(|q| q <= 5)),
        (f().qty.is_in([1, 2, 3]), |o| {
            o.qty.is_some_and(|q| (1..=3).contains(&q))
        }),
        (
            f().placed_at.ge(t0 + crate::chrono::Duration::seconds(300)),
            |o| o.placed_at >= order(0).placed_at + crate::chrono::Duration::seconds(300),
        ),
        (
            f().status.eq(ConfStatus::Shipped).and(f().amount.gt(30.0)),
            |o| o.status == ConfStatus::Shipped && o.amount.total_cmp(&30.0) == Greater,
        ),
        (f().id.lt(5u64).or(f().id.gt(495u64)), |o| {
            o.id < 5 || o.id > 495
        }),
        (
            f().status
                .eq(ConfStatus::Pending)
                .or(f().note.is_null())
                .not(),
            |o| !(o.status == ConfStatus::Pending || o.note.is_none()),
        ),
        (f().qty.lt(0).or(f().note.eq("n7")), |o| {
            o.qty.is_some_and(|q| q < 0) || o.note.as_deref() == Some("n7")
        }),
        (Predicate::all(), |_| true),
    ]
}

pub async fn predicates_match_reference<P: SoAPersistence<ConfOrder>>(p: &P) {
    let rows: Vec<ConfOrder> = (0..500).map(order).collect();
    p.save(rows.iter().cloned().collect()).await.expect("save");
    for (predicate, reference) in predicate_cases() {
        let want: Vec<u64> = rows.iter().filter(|o| reference(o)).map(|o| o.id).collect();
        let got = p
            .query(&predicate)
            .await
            .unwrap_or_else(|e| panic!("query {predicate}: {e}"));
        assert_eq!(ids(&got), want, "query {predicate}");
        let n = p
            .count(&predicate)
            .await
            .unwrap_or_else(|e| panic!("count {predicate}: {e}"));
        assert_eq!(n, want.len() as u64, "count {predicate}");
    }
}

pub async fn scan_projects_and_streams<P: SoAPersistence<ConfOrder>>(p: &P) {
    p.save(orders(0..1000)).await.expect("save");
    let scan = Scan::filter(ConfOrder::fields().status.eq(ConfStatus::Delivered))
        .project(["amount", "id"])
        .batch_size(7);
    let mut stream = p.scan(scan).await.expect("scan");
    let mut seen = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.expect("batch");
        let names: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            names,
            ["amount", "id"],
            "projection keeps the requested columns in order"
        );
        assert!(batch.num_rows() <= 7, "batch_size is an upper bound");
        let col = batch
            .column(1)
            .as_any()
            .downcast_ref::<crate::arrow::array::UInt64Array>()
            .expect("id column");
        seen.extend(col.values().iter().copied());
    }
    seen.sort_unstable();
    let want: Vec<u64> = (0..1000).filter(|i| i % 4 == 2).collect();
    assert_eq!(seen, want, "scan returns exactly the matching rows");
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

pub async fn query_rows_filters_by_closure<P: SoAPersistence<ConfOrder>>(p: &P) {
    p.save(orders(0..200)).await.expect("save");
    let got = p
        .query_rows(|r| r.customer.len() % 2 == 0 && *r.id % 3 == 1)
        .await
        .expect("query_rows");
    let want: Vec<u64> = (0..200)
        .map(order)
        .filter(|o| o.customer.len() % 2 == 0 && o.id % 3 == 1)
        .map(|o| o.id)
        .collect();
    assert_eq!(ids(&got), want);
}

pub async fn stats_and_flush<P: SoAPersistence<ConfOrder>>(p: &P) {
    p.append(orders(0..123)).await.expect("append");
    p.flush().await.expect("flush");
    let stats = p.stats().await.expect("stats");
    assert_eq!(stats.rows, 123);
    assert!(!stats.backend.is_empty());
    assert!(
        stats.bytes_in_memory > 0 || stats.bytes_on_disk.unwrap_or(0) > 0,
        "stats report a size"
    );
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
