//! Conversion benchmark (issue: core): `to_record_batch` / `from_record_batch` of 1M `Order`
//! rows vs serde_arrow and arrow_convert; `into_record_batch` at 1k to 100M rows (zero-copy:
//! flat in N; BIG_ROWS changes 100M); the same for `OrderArrow` (`#[soa(arrow)]`: every column
//! zero-copy, strings, enum and instant included) at 1k, ROWS and 10M rows; and
//! `to_record_batch` throughput next to a plain memcpy of the same bytes.
//! Run: `cargo bench -p soa-persist-benches --bench conversion` (ROWS=... to change 1M).

use std::sync::Arc;

use arrow_convert::deserialize::TryIntoCollection;
use arrow_convert::serialize::TryIntoArrow;
use arrow_convert::{ArrowDeserialize, ArrowField, ArrowSerialize};
use serde::{Deserialize, Serialize};
use soa_persist::Micros;
use soa_persist::arrow::datatypes::FieldRef;
use soa_persist::prelude::*;
use soa_persist_benches::{
    Order, OrderArrow, OrderArrowSoA, OrderSoA, Status, best_of, ms, order, report, rows_from_env,
};

/// The same row for serde_arrow (timestamps as i64 microseconds, which it maps to Timestamp).
#[derive(Serialize, Deserialize)]
pub struct SerdeOrder {
    order_id: u64,
    customer: String,
    amount: f64,
    status: Status,
    #[serde(with = "chrono::serde::ts_microseconds")]
    placed_at: chrono::DateTime<chrono::Utc>,
    note: Option<String>,
}

/// The same row for arrow_convert (it has no dictionary enums: status is a plain string there).
#[derive(ArrowField, ArrowSerialize, ArrowDeserialize, Clone)]
pub struct ConvertOrder {
    order_id: u64,
    customer: String,
    amount: f64,
    status: String,
    placed_at: chrono::NaiveDateTime,
    note: Option<String>,
}

/// Only primitive and timestamp columns: the zero-copy case.
#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Tick {
    seq: u64,
    price: f64,
    qty: i64,
    at: Timestamp<Micros>,
}

/// Evicts the caches (writes 128 MiB, 4x the L3 of the machines we run on) so that every
/// size is timed from the same state: a just-built 1k-row input sits in L1, a 10M-row one
/// does not, and the few cache lines the conversion touches would otherwise make the small
/// input look faster for a reason unrelated to its length.
fn cold_cache() {
    let mut evict = vec![1u8; 128 << 20];
    for i in (0..evict.len()).step_by(64) {
        evict[i] = evict[i].wrapping_add(1);
    }
    std::hint::black_box(&evict);
}

fn ticks(n: usize) -> TickSoA {
    TickSoA {
        seq: (0..n as u64).collect(),
        price: (0..n).map(|i| i as f64 * 0.5).collect(),
        qty: (0..n as i64).collect(),
        at: (0..n as i64).map(Timestamp::new).collect(),
    }
}

fn main() {
    let rows = rows_from_env(1_000_000) as usize;
    let runs = 5;
    println!("== conversion, {rows} Order rows, best of {runs} ==");
    let orders: Vec<Order> = (0..rows as u64).map(order).collect();
    let soa: OrderSoA = orders.iter().cloned().collect();
    let serde_rows: Vec<SerdeOrder> = orders
        .iter()
        .map(|o| SerdeOrder {
            order_id: o.order_id,
            customer: o.customer.clone(),
            amount: o.amount,
            status: o.status,
            placed_at: o.placed_at,
            note: o.note.clone(),
        })
        .collect();
    let convert_rows: Vec<ConvertOrder> = orders
        .iter()
        .map(|o| ConvertOrder {
            order_id: o.order_id,
            customer: o.customer.clone(),
            amount: o.amount,
            status: format!("{:?}", o.status),
            placed_at: o.placed_at.naive_utc(),
            note: o.note.clone(),
        })
        .collect();
    let fields: Vec<FieldRef> = Order::arrow_schema().fields().iter().cloned().collect();

    // SoA -> Arrow
    let (ours_to, batch) = best_of(runs, || soa.to_record_batch().expect("convert"));
    let (ours_rows_to, _) = best_of(runs, || {
        orders
            .iter()
            .cloned()
            .collect::<OrderSoA>()
            .to_record_batch()
            .expect("convert")
    });
    let (serde_to, serde_batch) = best_of(runs, || {
        serde_arrow::to_record_batch(&fields, &serde_rows).expect("serde_arrow")
    });
    let (conv_to, conv_array) = best_of(runs, || {
        let a: Arc<dyn arrow::array::Array> = convert_rows.try_into_arrow().expect("arrow_convert");
        a
    });
    assert_eq!(serde_batch.num_rows(), batch.num_rows());

    // Arrow -> SoA
    let (ours_from, back) = best_of(runs, || {
        OrderSoA::from_record_batch(&batch).expect("convert")
    });
    let (serde_from, serde_back) = best_of(runs, || {
        serde_arrow::from_record_batch::<Vec<SerdeOrder>>(&serde_batch).expect("serde_arrow")
    });
    let (conv_from, conv_back) = best_of(runs, || {
        let v: Vec<ConvertOrder> = conv_array
            .clone()
            .try_into_collection()
            .expect("arrow_convert");
        v
    });
    assert_eq!(back.len(), rows);
    // Consuming paths: a fresh, unshared input per run (made outside the timed part).
    let (mut ours_into, mut ours_from_owned) = (std::time::Duration::MAX, std::time::Duration::MAX);
    for _ in 0..runs {
        let input = soa.clone();
        let start = std::time::Instant::now();
        let b = input.into_record_batch().expect("convert");
        ours_into = ours_into.min(start.elapsed());
        let start = std::time::Instant::now();
        let s = OrderSoA::from_owned_record_batch(b).expect("convert");
        ours_from_owned = ours_from_owned.min(start.elapsed());
        std::hint::black_box(s);
    }
    assert_eq!((serde_back.len(), conv_back.len()), (rows, rows));

    report(
        "to_record_batch (from OrderSoA)",
        ours_to,
        "serde_arrow",
        serde_to,
    );
    report(
        "to_record_batch (from OrderSoA)",
        ours_to,
        "arrow_convert",
        conv_to,
    );
    report(
        "to_record_batch (from Vec<Order>, incl. SoA)",
        ours_rows_to,
        "serde_arrow",
        serde_to,
    );
    report(
        "to_record_batch (from Vec<Order>, incl. SoA)",
        ours_rows_to,
        "arrow_convert",
        conv_to,
    );
    report(
        "into_record_batch (consuming)",
        ours_into,
        "serde_arrow",
        serde_to,
    );
    report(
        "into_record_batch (consuming)",
        ours_into,
        "arrow_convert",
        conv_to,
    );
    report("from_record_batch", ours_from, "serde_arrow", serde_from);
    report("from_record_batch", ours_from, "arrow_convert", conv_from);
    report(
        "from_owned_record_batch (consuming)",
        ours_from_owned,
        "serde_arrow",
        serde_from,
    );
    report(
        "from_owned_record_batch (consuming)",
        ours_from_owned,
        "arrow_convert",
        conv_from,
    );

    println!("== #[soa(arrow)] Order: every column in Arrow layout ==");
    // Consuming both ways: a fresh, unshared input per run (made outside the timed part).
    let consume = |input: OrderArrowSoA| {
        let n = input.len();
        let (mut into, mut from) = (std::time::Duration::MAX, std::time::Duration::MAX);
        for _ in 0..runs {
            let s = input.clone();
            cold_cache();
            let start = std::time::Instant::now();
            let b = s.into_record_batch().expect("convert");
            into = into.min(start.elapsed());
            let start = std::time::Instant::now();
            let s = OrderArrowSoA::from_owned_record_batch(b).expect("convert");
            from = from.min(start.elapsed());
            assert_eq!(s.len(), n);
        }
        (into, from)
    };
    let first =
        |n: usize| -> OrderArrowSoA { orders[..n].iter().cloned().map(OrderArrow::from).collect() };
    let small = rows.min(1_000);
    let (into_small, from_small) = consume(first(small));
    let (into_big, from_big) = consume(first(rows));
    // The goal's size: 10M rows, made directly (the 1M `orders` above are too few).
    let (into_10m, _) = consume(
        (0..10_000_000u64)
            .map(order)
            .map(OrderArrow::from)
            .collect(),
    );
    let arrow_soa: OrderArrowSoA = orders.iter().cloned().map(OrderArrow::from).collect();
    let (arrow_from, arrow_back) = best_of(runs, || {
        OrderArrowSoA::from_record_batch(&batch).expect("convert")
    });
    let (arrow_to, arrow_batch) = best_of(runs, || arrow_soa.to_record_batch().expect("convert"));
    assert_eq!(arrow_back.len(), rows);
    assert_eq!(
        arrow_batch.columns(),
        batch.columns(),
        "same Arrow data as OrderSoA"
    );
    report(
        "into_record_batch (OrderArrow, consuming)",
        into_big,
        "serde_arrow",
        serde_to,
    );
    report(
        "into_record_batch (OrderArrow, consuming)",
        into_big,
        "arrow_convert",
        conv_to,
    );
    report(
        "into_record_batch (OrderArrow vs OrderSoA)",
        into_big,
        "OrderSoA",
        ours_into,
    );
    report(
        "from_owned_record_batch (OrderArrow)",
        from_big,
        "serde_arrow",
        serde_from,
    );
    report(
        "from_owned_record_batch (OrderArrow)",
        from_big,
        "arrow_convert",
        conv_from,
    );
    report(
        "from_record_batch (OrderArrow)",
        arrow_from,
        "serde_arrow",
        serde_from,
    );
    report(
        "from_record_batch (OrderArrow)",
        arrow_from,
        "OrderSoA",
        ours_from,
    );
    report(
        "to_record_batch (from OrderArrowSoA)",
        arrow_to,
        "serde_arrow",
        serde_to,
    );
    report(
        "to_record_batch (from OrderArrowSoA)",
        arrow_to,
        "OrderSoA",
        ours_to,
    );
    println!(
        "OrderArrow into_record_batch: {small} rows {:.3} µs, {rows} rows {:.3} µs: {:.2}x (1.0 = independent of N)",
        into_small.as_secs_f64() * 1e6,
        into_big.as_secs_f64() * 1e6,
        into_big.as_secs_f64() / into_small.as_secs_f64()
    );
    println!(
        "OrderArrow into_record_batch: {small} rows {:.3} µs, 10000000 rows {:.3} µs: {:.2}x (goal <= 2x; caches evicted before each run, as for a batch built a while ago)",
        into_small.as_secs_f64() * 1e6,
        into_10m.as_secs_f64() * 1e6,
        into_10m.as_secs_f64() / into_small.as_secs_f64()
    );
    println!(
        "OrderArrow from_owned_record_batch: {small} rows {:.3} µs, {rows} rows {:.3} µs: {:.2}x",
        from_small.as_secs_f64() * 1e6,
        from_big.as_secs_f64() * 1e6,
        from_big.as_secs_f64() / from_small.as_secs_f64()
    );

    println!("== zero-copy: into_record_batch of primitive + timestamp columns ==");
    // 100M rows (3.2 GB) unless BIG_ROWS says otherwise: the zero-copy path at scale.
    let big_rows = std::env::var("BIG_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000_000usize);
    let mut per_size = Vec::new();
    for n in [1_000usize, 100_000, 1_000_000, 10_000_000, big_rows] {
        let mut best = std::time::Duration::MAX;
        for _ in 0..runs {
            let t = ticks(n);
            cold_cache();
            let start = std::time::Instant::now();
            let b = t.into_record_batch().expect("convert");
            best = best.min(start.elapsed());
            std::hint::black_box(b);
        }
        println!(
            "into_record_batch {n:>10} rows: {:>8.3} µs",
            best.as_secs_f64() * 1e6
        );
        per_size.push(best);
    }
    println!(
        "into_record_batch time 10M / 1k rows: {:.2}x, {big_rows} / 1k rows: {:.2}x (1.0 = independent of N)",
        per_size[3].as_secs_f64() / per_size[0].as_secs_f64(),
        per_size[4].as_secs_f64() / per_size[0].as_secs_f64()
    );

    let big = ticks(10_000_000);
    let bytes = big.len() * 32;
    let (copy_to, _) = best_of(runs, || big.to_record_batch().expect("convert"));
    let (memcpy, _) = best_of(runs, || {
        (
            big.seq.to_vec(),
            big.price.to_vec(),
            big.qty.to_vec(),
            big.at.to_vec(),
        )
    });
    let gbs = |d: std::time::Duration| bytes as f64 / d.as_secs_f64() / 1e9;
    println!(
        "to_record_batch 10M primitive rows ({} MB): {:.2} ms = {:.2} GB/s; memcpy of the same bytes: {:.2} ms = {:.2} GB/s; ratio {:.2}",
        bytes / 1_000_000,
        ms(copy_to),
        gbs(copy_to),
        ms(memcpy),
        gbs(memcpy),
        gbs(copy_to) / gbs(memcpy)
    );
}
