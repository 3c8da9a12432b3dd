//! Shared by the benchmarks: the `Order` model and its generator (every bench measures the
//! same rows), timing (best of N, no assertions) and ratio printing.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use soa_persist::prelude::*;

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    Pending,
    Shipped,
    Delivered,
    Cancelled,
}

/// The order of the README and the quickstart: a key, a partition column, a timestamp, an optional note.
#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
pub struct Order {
    #[soa(key)]
    pub order_id: u64,
    pub customer: String,
    pub amount: f64,
    #[soa(partition)]
    pub status: Status,
    pub placed_at: DateTime<Utc>,
    pub note: Option<String>,
}

/// The same order with every column in Arrow layout (`#[soa(arrow)]`): strings as offsets +
/// bytes, the status as dictionary keys, the instant as i64 microseconds. Same schema and
/// files as `Order` (`rename` keeps the struct name in the schema).
#[derive(SoA, Clone, Debug, PartialEq)]
#[soa(arrow, rename = "Order")]
pub struct OrderArrow {
    #[soa(key)]
    pub order_id: u64,
    pub customer: String,
    pub amount: f64,
    #[soa(partition)]
    pub status: Status,
    pub placed_at: DateTime<Utc>,
    pub note: Option<String>,
}

impl From<Order> for OrderArrow {
    fn from(o: Order) -> Self {
        Self {
            order_id: o.order_id,
            customer: o.customer,
            amount: o.amount,
            status: o.status,
            placed_at: o.placed_at,
            note: o.note,
        }
    }
}

/// Row `i`: a deterministic spread of values (amount uniform in [0, 1000), 10% with a note).
pub fn order(i: u64) -> Order {
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    Order {
        order_id: i,
        customer: format!("customer-{:05}", h % 20_000),
        amount: (h % 100_000) as f64 / 100.0,
        status: [
            Status::Pending,
            Status::Shipped,
            Status::Delivered,
            Status::Cancelled,
        ][(h >> 40) as usize % 4],
        placed_at: DateTime::from_timestamp(1_700_000_000 + i as i64, 0).unwrap_or_default(),
        note: h.is_multiple_of(10).then(|| format!("note {i}")),
    }
}

/// Runs `f` `runs` times and returns the fastest run (the least disturbed by a noisy machine).
pub fn best_of<R>(runs: usize, mut f: impl FnMut() -> R) -> (Duration, R) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let r = std::hint::black_box(f());
        best = best.min(start.elapsed());
        out = Some(r);
    }
    (best, out.expect("runs >= 1"))
}

/// Prints one line: what, our time, the peer's time and how many times faster we are.
pub fn report(what: &str, ours: Duration, peer_name: &str, peer: Duration) {
    println!(
        "{what:<44} ours {:>9.2} ms   {peer_name:<14} {:>9.2} ms   ratio {:>6.2}x",
        ms(ours),
        ms(peer),
        peer.as_secs_f64() / ours.as_secs_f64().max(1e-12)
    );
}

/// Rows to measure: `ROWS` from the environment, or `default`.
pub fn rows_from_env(default: u64) -> u64 {
    std::env::var("ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The runtime the async benches drive backends with (as many workers as cores here).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
