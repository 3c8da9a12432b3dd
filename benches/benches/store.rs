//! Store benchmark (issue: persistence): `PersistentOrderStore::add` of 10M orders vs
//! `Vec<Order>::push` and soa_derive's generated vector; `sum(amount)` from the column vs a row
//! loop; a 1%-selective typed predicate vs a row loop. Same rows, same run.
//! Run: `cargo bench -p soa-persist-benches --bench store` (ROWS=... to change 10M).

use std::time::{Duration, Instant};

use soa_derive::StructOfArray;
use soa_persist::arrow::array::AsArray;
use soa_persist::arrow::compute::sum;
use soa_persist::arrow::datatypes::Float64Type;
use soa_persist::prelude::*;
use soa_persist_benches::{
    Order, OrderSoA, PersistentOrderStore, Status, best_of, order, report, rows_from_env,
};

/// The same row for soa_derive.
#[derive(StructOfArray, Clone, Debug)]
pub struct SdOrder {
    order_id: u64,
    customer: String,
    amount: f64,
    status: Status,
    placed_at: DateTime<Utc>,
    note: Option<String>,
}

fn sd(o: &Order) -> SdOrder {
    SdOrder {
        order_id: o.order_id,
        customer: o.customer.clone(),
        amount: o.amount,
        status: o.status,
        placed_at: o.placed_at,
        note: o.note.clone(),
    }
}

fn time<R>(f: impl FnOnce() -> R) -> (Duration, R) {
    let start = Instant::now();
    let r = std::hint::black_box(f());
    (start.elapsed(), r)
}

fn main() {
    let n = rows_from_env(10_000_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    println!("== store, {n} Order rows ==");
    let rows: Vec<Order> = (0..n).map(order).collect();

    // Each contender moves its own copy of the same rows (copies made outside the timing).
    let input = rows.clone();
    let (vec_push, vec) = time(|| {
        let mut v = Vec::new();
        for o in input {
            v.push(o);
        }
        v
    });
    let input: Vec<SdOrder> = rows.iter().map(sd).collect();
    let (sd_push, sd_vec) = time(|| {
        let mut v = SdOrderVec::new();
        for o in input {
            v.push(o);
        }
        v
    });
    let input = rows.clone();
    let (ours_add, store) = time(|| {
        rt.block_on(async {
            let mut store = PersistentOrderStore::with_persistence(ArrowPersistence::new());
            for o in input {
                store.add(o).await.expect("add");
            }
            store.flush().await.expect("flush");
            store
        })
    });
    assert_eq!((vec.len(), sd_vec.len()), (n as usize, n as usize));
    report(
        "add (PersistentOrderStore, incl. flushes)",
        ours_add,
        "Vec::push",
        vec_push,
    );
    report(
        "add (PersistentOrderStore, incl. flushes)",
        ours_add,
        "soa_derive push",
        sd_push,
    );

    // sum(amount): from the stored Arrow columns (kernel), from a SoA column, from rows.
    let batches = rt
        .block_on(store.backend().load_batches())
        .expect("load")
        .expect("stored");
    let (ours_sum, total) = best_of(5, || {
        batches
            .iter()
            .map(|b| sum(b.column(2).as_primitive::<Float64Type>()).unwrap_or(0.0))
            .sum::<f64>()
    });
    let soa: OrderSoA = rows.iter().cloned().collect();
    let (soa_sum, total_soa) = best_of(5, || soa.amount.iter().sum::<f64>());
    let (row_sum, total_rows) = best_of(5, || vec.iter().map(|o| o.amount).sum::<f64>());
    assert!((total - total_rows).abs() / total_rows.max(1.0) < 1e-9 && total_soa == total_rows);
    report(
        "sum(amount) arrow kernel over stored columns",
        ours_sum,
        "Vec<Order> loop",
        row_sum,
    );
    report(
        "sum(amount) over the OrderSoA column",
        soa_sum,
        "Vec<Order> loop",
        row_sum,
    );

    // A 1%-selective predicate.
    let predicate = Order::fields().amount.ge(990.0);
    let (ours_count, matched) = best_of(5, || {
        rt.block_on(store.backend().count(&predicate))
            .expect("count")
    });
    let (row_count, matched_rows) = best_of(5, || vec.iter().filter(|o| o.amount >= 990.0).count());
    assert_eq!(matched as usize, matched_rows);
    println!(
        "selectivity: {matched} of {n} rows ({:.2}%)",
        matched as f64 * 100.0 / n as f64
    );
    report(
        "predicate count (typed, arrow kernels)",
        ours_count,
        "Vec<Order> loop",
        row_count,
    );
    let (ours_query, got) = best_of(3, || {
        rt.block_on(store.backend().query(&predicate))
            .expect("query")
    });
    let (row_query, got_rows) = best_of(3, || {
        vec.iter()
            .filter(|o| o.amount >= 990.0)
            .cloned()
            .collect::<Vec<_>>()
    });
    assert_eq!(got.len(), got_rows.len());
    report(
        "predicate query (rows materialised)",
        ours_query,
        "Vec<Order> loop",
        row_query,
    );
    drop(store);
}
