//! Commit-log benchmark (reliability issue): the cost of a commit must not grow with the
//! number of commits before it. 10,000 one-row appends to one local dataset (every commit
//! fsynced); prints the median time of commits #1-#20 (the peer: a young log) against the median
//! of the last 20, the log's bytes per commit, and how long a fresh handle takes to read the
//! state (checkpoint + records since). Run:
//! `cargo bench -p soa-persist-benches --bench commit_log` (COMMITS=... to change 10,000).

use std::time::{Duration, Instant};

use soa_persist::prelude::*;
use soa_persist_benches::{OrderSoA, ms, order, runtime};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn folder_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    let commits: u64 = std::env::var("COMMITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
        .max(40);
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let dataset = ParquetPersistence::<soa_persist_benches::Order>::open(dir.path()).expect("open");
    let mut times = Vec::with_capacity(commits as usize);
    let mut log_bytes_at_100 = 0;
    rt.block_on(async {
        for i in 0..commits {
            let row: OrderSoA = std::iter::once(order(i)).collect();
            let start = Instant::now();
            dataset.append(row).await.expect("append");
            times.push(start.elapsed());
            if i + 1 == 100 {
                log_bytes_at_100 = folder_bytes(&dir.path().join("_soa_log"));
            }
        }
    });
    let early = median(times[..20].to_vec());
    let late = median(times[times.len() - 20..].to_vec());
    let log_bytes = folder_bytes(&dir.path().join("_soa_log"));
    println!("== commit log, {commits} one-row appends, each fsynced ==");
    println!(
        "commit #1-#20 median {:>8.3} ms   commit #{}-#{commits} median {:>8.3} ms   late/early {:>5.2}x",
        ms(early),
        commits - 19,
        ms(late),
        late.as_secs_f64() / early.as_secs_f64().max(1e-12)
    );
    println!(
        "log bytes: {log_bytes_at_100} after 100 commits, {log_bytes} after {commits} ({:.0} per commit, linear: {:.2}x of 100-commit rate)",
        log_bytes as f64 / commits as f64,
        (log_bytes as f64 / commits as f64) / (log_bytes_at_100 as f64 / 100.0).max(1.0)
    );
    let start = Instant::now();
    let fresh = ParquetPersistence::<soa_persist_benches::Order>::open(dir.path()).expect("open");
    let n = rt.block_on(fresh.count(&Predicate::all())).expect("count");
    println!(
        "fresh handle reads the state ({n} rows) in {:.3} ms",
        ms(start.elapsed())
    );
    assert_eq!(n, commits, "every append is there");
}
