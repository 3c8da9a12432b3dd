//! Keys benchmark (issue: keys mean the same on every backend), 10M `Order` rows in a Parquet
//! dataset and in a DuckDB table (primary key), same rows, same run:
//! a point lookup by key (ours on Parquet vs DuckDB's primary key vs a full scan), a flush of
//! 100k new rows with the store's duplicate check vs a plain append of as many, and an upsert
//! of 1% of the keys (ours on Parquet, one commit, vs DuckDB's `INSERT OR REPLACE`).
//! Run: `cargo bench -p soa-persist-benches --bench keys --features duckdb` (ROWS=... to change
//! 10M).

use std::time::{Duration, Instant};

use soa_persist::prelude::*;
use soa_persist_benches::{
    Order, OrderSoA, PersistentOrderStore, best_of, order, report, rows_from_env, runtime,
};

fn timed<R>(f: impl FnOnce() -> R) -> (Duration, R) {
    let start = Instant::now();
    let r = f();
    (start.elapsed(), r)
}

/// Keys spread over the whole range (a multiplicative walk), `count` of them below `n`.
fn spread(n: u64, count: u64, salt: u64) -> Vec<u64> {
    (0..count)
        .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt) % n)
        .collect()
}

fn changed(keys: &[u64]) -> OrderSoA {
    keys.iter()
        .map(|&k| Order {
            amount: 0.5,
            ..order(k)
        })
        .collect()
}

fn main() {
    let n = rows_from_env(10_000_000);
    let rt = runtime();
    let work = tempfile::tempdir().expect("tempdir");
    println!("== keys, {n} Order rows (Parquet dataset and DuckDB table) ==");
    let parquet = ParquetPersistence::<Order>::open(work.path().join("orders")).expect("open");
    let duck = DuckDBPersistence::<Order>::open(work.path().join("orders.duckdb")).expect("open");
    let chunk = 1_000_000.min(n.max(1));
    let (load, ()) = timed(|| {
        rt.block_on(async {
            for start in (0..n).step_by(chunk as usize) {
                let rows: OrderSoA = (start..(start + chunk).min(n)).map(order).collect();
                parquet.append(rows.clone()).await.expect("parquet append");
                duck.append(rows).await.expect("duckdb append");
            }
        })
    });
    println!("loaded both in {:.1} s", load.as_secs_f64());

    // Point lookups: 20 keys, best of them.
    let probes = spread(n, 20, 7);
    let mut i = 0;
    let mut next = || {
        i += 1;
        probes[i % probes.len()]
    };
    let (ours_get, got) = best_of(20, || {
        let key = next();
        let rows = rt
            .block_on(parquet.query(&Order::fields().order_id.eq(key)))
            .expect("get");
        (rows.len(), key)
    });
    assert_eq!(got.0, 1);
    let (duck_get, got) = best_of(20, || {
        let key = next();
        rt.block_on(duck.query(&Order::fields().order_id.eq(key)))
            .expect("get")
            .len()
    });
    assert_eq!(got, 1);
    let (scan_get, got) = best_of(2, || {
        let key = next();
        rt.block_on(parquet.query_rows(move |r| *r.order_id == key))
            .expect("scan")
            .len()
    });
    assert_eq!(got, 1);
    report("get(key), Parquet", ours_get, "DuckDB PK", duck_get);
    report("get(key), Parquet", ours_get, "full scan", scan_get);

    // A flush of 100k new keys with the duplicate check vs a plain append of 100k new keys.
    let batch = 100_000.min(n);
    let mut fresh = n;
    let mut take = || {
        fresh += batch;
        (fresh - batch..fresh).map(order).collect::<OrderSoA>()
    };
    let (plain, ()) = best_of(3, || {
        let rows = take();
        rt.block_on(parquet.append(rows)).expect("append");
    });
    let unseen = n * 2;
    let (check, stored) = best_of(3, || {
        let keys: Vec<u64> = (unseen..unseen + batch).collect();
        rt.block_on(parquet.contains_keys(&keys)).expect("check")
    });
    assert!(!stored.contains(&true));
    let (store_flush, ()) = best_of(3, || {
        let rows = take();
        rt.block_on(async {
            let mut store = PersistentOrderStore::with_persistence(parquet.clone())
                .with_flush_policy(FlushPolicy::Manual);
            store.add_many(rows).await.expect("add");
            store.flush().await.expect("flush");
        })
    });
    println!(
        "key check of {batch} new keys: {:.1} ms = {:+.0}% over a plain append of them ({:.1} ms); store add_many + flush: {:.1} ms",
        check.as_secs_f64() * 1e3,
        check.as_secs_f64() / plain.as_secs_f64() * 100.0,
        plain.as_secs_f64() * 1e3,
        store_flush.as_secs_f64() * 1e3,
    );

    // Upsert 1% of the keys.
    let keys = spread(n, n / 100, 11);
    let (ours_upsert, ()) = timed(|| {
        rt.block_on(
            parquet.upsert_batches(vec![changed(&keys).into_record_batch().expect("batch")]),
        )
        .expect("upsert")
    });
    let (duck_upsert, ()) = timed(|| rt.block_on(duck.upsert(changed(&keys))).expect("upsert"));
    report(
        &format!("upsert {} keys (1%), Parquet", keys.len()),
        ours_upsert,
        "DuckDB REPLACE",
        duck_upsert,
    );
    let count = |p: &ParquetPersistence<Order>| {
        rt.block_on(p.count(&Order::fields().amount.eq(0.5)))
            .expect("count")
    };
    assert!(
        count(&parquet) >= keys.len() as u64 / 2,
        "upserted rows are there"
    );
}
