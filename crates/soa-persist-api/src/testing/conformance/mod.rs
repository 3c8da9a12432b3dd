//! One conformance suite shared by every backend (like object_store's `integration.rs`): each
//! backend's tests call [`run_all`] with a factory of fresh, empty backends, and every trait
//! method is checked against a reference evaluation in plain Rust. This file holds the runner
//! and the read checks; `writes.rs` the write, concurrency and store checks; `keys.rs` the
//! key contract; `hostile.rs` values that would break SQL written by string formatting (SQL
//! backends' tests call it with the strings their engine can hold).

mod hostile;
mod keys;
mod writes;

use std::future::Future;

use futures::StreamExt;
use soa_persist_core::query::Predicate;
use soa_persist_core::schema::ArrowSchemaGen;
use soa_persist_core::soa::SoA;

use super::model::{ConfOrder, ConfStatus, ids, order, orders};
use crate::{Scan, SoAPersistence};

pub use hostile::*;
pub use keys::*;
pub use writes::*;

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
    failed_flushes_lose_and_double_nothing(factory().await).await;
    flush_refuses_stored_keys(factory().await).await;
    contains_keys_flags_stored(&factory().await).await;
    upsert_replaces_by_key(factory().await).await;
    update_changes_one_row(factory().await).await;
    delete_keys_deletes_exactly(factory().await).await;
}

/// A fresh backend: `load` is `None`, counts and scans are empty.
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
            f().placed_at
                .ge(t0 + soa_persist_core::chrono::Duration::seconds(300)),
            |o| {
                o.placed_at >= order(0).placed_at + soa_persist_core::chrono::Duration::seconds(300)
            },
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

/// Every predicate of [`predicate_cases`] returns the rows its reference selects.
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

/// `scan` honours projection and batch size and streams every matching row once.
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
            .downcast_ref::<soa_persist_core::arrow::array::UInt64Array>()
            .expect("id column");
        seen.extend(col.values().iter().copied());
    }
    seen.sort_unstable();
    let want: Vec<u64> = (0..1000).filter(|i| i % 4 == 2).collect();
    assert_eq!(seen, want, "scan returns exactly the matching rows");
}

/// `query_rows` keeps exactly the rows its closure accepts.
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

/// `stats` counts the stored rows; `flush` succeeds; a size is reported, or left unknown
/// (`bytes_on_disk: None`, as a server that doesn't say), never a zero for stored rows.
pub async fn stats_and_flush<P: SoAPersistence<ConfOrder>>(p: &P) {
    p.append(orders(0..123)).await.expect("append");
    p.flush().await.expect("flush");
    let stats = p.stats().await.expect("stats");
    assert_eq!(stats.rows, 123);
    assert!(!stats.backend.is_empty());
    assert!(
        stats.bytes_in_memory > 0 || stats.bytes_on_disk != Some(0),
        "stats report a size, or none: {stats:?}"
    );
}
