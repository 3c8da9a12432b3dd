//! Selective Parquet reads: a query fetches a file's footer on its own, then only the column
//! chunks it decodes, and evaluates its predicate while decoding. Checked by counting the
//! bytes the storage hands out, and by comparing filtered reads with the rows in memory.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use proptest::prelude::*;
use soa_persist::ParquetOptions;
use soa_persist::backends::parquet::{Entry, LocalStorage, Storage};
use soa_persist::prelude::*;
use soa_persist::testing::{ConfOrder, ConfOrderSoA, order, orders};

/// Local storage that counts the bytes reads take, whole files and ranges apart.
#[derive(Debug)]
struct Counting {
    inner: LocalStorage,
    whole: AtomicU64,
    ranged: AtomicU64,
}

impl Counting {
    fn new(dir: &std::path::Path) -> Arc<Self> {
        Arc::new(Self {
            inner: LocalStorage::open(dir).unwrap(),
            whole: AtomicU64::new(0),
            ranged: AtomicU64::new(0),
        })
    }

    /// (whole-file bytes, ranged bytes) since the last call.
    fn take(&self) -> (u64, u64) {
        (
            self.whole.swap(0, Ordering::SeqCst),
            self.ranged.swap(0, Ordering::SeqCst),
        )
    }
}

impl Storage for Counting {
    fn put(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<(), PersistError>> {
        self.inner.put(path, bytes)
    }
    fn put_new(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<bool, PersistError>> {
        self.inner.put_new(path, bytes)
    }
    fn get(&self, path: &str) -> BoxFuture<'_, Result<Bytes, PersistError>> {
        let data_file = path.ends_with(".parquet");
        self.inner
            .get(path)
            .map(move |r| {
                if let Ok(b) = &r
                    && data_file
                {
                    self.whole.fetch_add(b.len() as u64, Ordering::SeqCst);
                }
                r
            })
            .boxed()
    }
    fn get_ranges(
        &self,
        path: &str,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, Result<Vec<Bytes>, PersistError>> {
        self.inner
            .get_ranges(path, ranges)
            .map(move |r| {
                if let Ok(parts) = &r {
                    let n: usize = parts.iter().map(Bytes::len).sum();
                    self.ranged.fetch_add(n as u64, Ordering::SeqCst);
                }
                r
            })
            .boxed()
    }
    fn head(&self, path: &str) -> BoxFuture<'_, Result<Option<u64>, PersistError>> {
        self.inner.head(path)
    }
    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<Entry>, PersistError>> {
        self.inner.list(prefix)
    }
    fn delete(&self, path: &str) -> BoxFuture<'_, Result<(), PersistError>> {
        self.inner.delete(path)
    }
    fn location(&self) -> String {
        self.inner.location()
    }
}

fn sorted_ids(rows: &ConfOrderSoA) -> Vec<u64> {
    let mut ids = rows.id.clone();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_lookup_after_a_scan_fetches_a_small_part_of_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Counting::new(dir.path());
    let p = ParquetPersistence::<ConfOrder>::with_storage(storage.clone()).with_options(
        ParquetOptions {
            row_group_rows: 8192,
            data_page_rows: 1024,
            ..ParquetOptions::default()
        },
    );
    p.save(orders(0..300_000)).await.unwrap();
    let on_disk = p.stats().await.unwrap().bytes_on_disk.unwrap();
    storage.take();

    // A fresh handle fetches footers on their own: its first lookup reads no file whole.
    let fresh = ParquetPersistence::<ConfOrder>::with_storage(storage.clone());
    let hit = fresh
        .query(&ConfOrder::fields().id.eq(777u64))
        .await
        .unwrap();
    assert_eq!(
        format!("{:?}", hit.row(0)),
        format!("{:?}", Some(order(777)))
    );
    let (whole, ranged) = storage.take();
    assert_eq!(whole, 0, "a first lookup read whole files");
    // Footers, offset indexes and the key's bloom filters (about a byte a row) of every file:
    // with 8,192-row groups, over a third of these small, well-compressed files.
    assert!(
        ranged > 0 && ranged * 2 < on_disk,
        "a first lookup fetched {ranged} of {on_disk} bytes"
    );
    // So does a fresh handle's key check.
    let fresh = ParquetPersistence::<ConfOrder>::with_storage(storage.clone());
    let found = fresh.contains_keys(&[5, 300_000, 299_999]).await.unwrap();
    assert_eq!(found, [true, false, true]);
    let (whole, ranged) = storage.take();
    assert_eq!(whole, 0, "a first key check read whole files");
    assert!(
        ranged * 2 < on_disk,
        "a first key check fetched {ranged} of {on_disk} bytes"
    );

    // A full first read learns the footers from whole files.
    assert_eq!(p.load().await.unwrap().unwrap().len(), 300_000);
    let (whole, _) = storage.take();
    assert!(
        whole >= on_disk / 2,
        "first read: {whole} of {on_disk} bytes"
    );

    let hit = p
        .query(&ConfOrder::fields().id.eq(54_321u64))
        .await
        .unwrap();
    assert_eq!(hit.len(), 1);
    assert_eq!(
        format!("{:?}", hit.row(0)),
        format!("{:?}", Some(order(54_321)))
    );
    let (whole, ranged) = storage.take();
    assert_eq!(whole, 0, "no file read whole once its footer is known");
    // Only the pages (of 1,024 rows) the key's page index leaves, and their dictionaries:
    // under 1%, where the whole column chunks of the row group would be about 2%.
    assert!(
        ranged > 0 && ranged * 100 < on_disk,
        "a key lookup fetched {ranged} of {on_disk} bytes"
    );

    // A count with a one-column predicate fetches that column only.
    let positive = p.count(&ConfOrder::fields().qty.gt(0)).await.unwrap();
    let want = (0..300_000u64)
        .filter(|&i| order(i).qty.is_some_and(|q| q > 0))
        .count() as u64;
    assert_eq!(positive, want);
    let (whole, ranged) = storage.take();
    assert_eq!(whole, 0);
    assert!(
        ranged * 4 < on_disk,
        "a one-column count fetched {ranged} of {on_disk} bytes"
    );
}

/// What a predicate selects, as a plain function of a row.
type Reference = Box<dyn Fn(&ConfOrder) -> bool>;

/// Predicates over the non-partition columns, with the reference each must match.
fn predicate_case(kind: u8, a: u64, b: u64) -> (Predicate<ConfOrder>, Reference) {
    let f = ConfOrder::fields();
    let (low, high) = (a.min(b), a.max(b));
    match kind % 6 {
        0 => (
            f.id.between(low, high),
            Box::new(move |o| (low..=high).contains(&o.id)),
        ),
        1 => {
            let q = (a % 200) as i32 - 100;
            (f.qty.gt(q), Box::new(move |o| o.qty.is_some_and(|x| x > q)))
        }
        2 => (f.note.is_null(), Box::new(|o| o.note.is_none())),
        3 => (
            f.id.lt(high).and(f.qty.is_null().not()),
            Box::new(move |o| o.id < high && o.qty.is_some()),
        ),
        4 => (
            f.id.clone().eq(a).or(f.id.eq(b)),
            Box::new(move |o| o.id == a || o.id == b),
        ),
        _ => (
            f.amount.gt(a as f64).and(f.id.ge(low)),
            // Floats compare in Arrow's total order, where NaN is above every number.
            Box::new(move |o| (o.amount.is_nan() || o.amount > a as f64) && o.id >= low),
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Filtered reads (fetching footers, then chunks, and filtering while decoding) return
    /// exactly the rows the predicate selects in memory, on a first read and a later one.
    #[test]
    fn filtered_reads_match_the_rows_in_memory(
        n in 1u64..3000,
        row_group_rows in 8usize..600,
        data_page_rows in prop_oneof![Just(20_000usize), 1usize..200],
        cases in proptest::collection::vec((0u8..6, 0u64..3000, 0u64..3000), 1..5),
    ) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let p = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap().with_options(
                ParquetOptions {
                    row_group_rows,
                    data_page_rows,
                    max_rows_per_file: 1000,
                    ..ParquetOptions::default()
                },
            );
            p.save(orders(0..n)).await.unwrap();
            let rows: Vec<ConfOrder> = (0..n).map(order).collect();
            for pass in 0..2 {
                for &(kind, a, b) in &cases {
                    let (predicate, reference) = predicate_case(kind, a, b);
                    let want: Vec<u64> = rows.iter().filter(|o| reference(o)).map(|o| o.id).collect();
                    let got = p.query(&predicate).await.unwrap();
                    prop_assert_eq!(sorted_ids(&got), want.clone(), "pass {} query {}", pass, predicate);
                    // Whole rows, not just keys (Debug: a NaN amount equals itself there).
                    for (i, id) in got.id.iter().enumerate() {
                        prop_assert_eq!(format!("{:?}", got.row(i)), format!("{:?}", Some(order(*id))));
                    }
                    let count = p.count(&predicate).await.unwrap();
                    prop_assert_eq!(count, want.len() as u64, "pass {} count {}", pass, predicate);
                }
            }
            Ok(())
        })?;
    }
}
