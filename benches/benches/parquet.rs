//! Parquet benchmark (issue: Parquet backend), 10M `Order` rows, same data, same run:
//! save and load with zstd and snappy vs pyarrow `write_table`/`read_table` and DuckDB
//! `COPY TO`/`read_parquet`, and the save vs both writing one folder per status as ours does
//! (`write_to_dataset`, `COPY ... PARTITION_BY`); save from and loads into `OrderSoA` and the
//! Arrow-layout `OrderArrowSoA` (`#[soa(arrow)]`); a 0.1%-selective key query vs a full
//! load-and-filter and vs DuckDB's filtered `read_parquet`; peak RSS during save vs the
//! in-memory Arrow size. Every time is the best of 3 runs, ours and the peers'.
//! Run: `cargo bench -p soa-persist-benches --bench parquet` (ROWS=... to change 10M; the
//! peers need the virtualenv of scripts/setup.sh).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use soa_persist::prelude::*;
use soa_persist::{Compression, ParquetOptions};
use soa_persist_benches::{
    Order, OrderArrow, OrderArrowSoA, OrderSoA, best_of, order, report, rows_from_env, runtime,
};

fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Runs of each timed operation (the best one counts), as many as the peers get.
const RUNS: usize = 3;

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn main() {
    let n = rows_from_env(10_000_000);
    let rt = runtime();
    let work = tempfile::tempdir().expect("tempdir");
    let python = PathBuf::from(std::env::var("HOME").unwrap_or_default())
        .join(".cache/soa-persist/venv/bin/python");
    println!("== parquet, {n} Order rows ==");
    let rows: OrderSoA = (0..n).map(order).collect();
    let arrow_bytes = rows
        .to_record_batch()
        .expect("batch")
        .get_array_memory_size() as f64;
    println!("in-memory Arrow size: {:.0} MiB", arrow_bytes / 1048576.0);

    for (codec, compression) in [
        ("zstd", Compression::Zstd(3)),
        ("snappy", Compression::Snappy),
    ] {
        // Best of RUNS, as the peers' figures are; each save into a fresh folder (the last one
        // stays for the loads and the peers).
        let options = ParquetOptions {
            compression,
            ..ParquetOptions::default()
        };
        let open = |dir: &Path| {
            ParquetPersistence::<Order>::open(dir)
                .expect("open")
                .with_options(options.clone())
        };
        let (mut save, mut peak) = (Duration::MAX, 0.0);
        let mut dir = PathBuf::new();
        for run in 0..RUNS {
            let _ = std::fs::remove_dir_all(&dir);
            dir = work.path().join(format!("{codec}-{run}"));
            let p = open(&dir);
            let input = rows.clone();
            // Peak RSS during the save, above what the process held before it.
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            let before = status_kib("VmRSS:");
            let start = Instant::now();
            rt.block_on(p.save(input)).expect("save");
            save = save.min(start.elapsed());
            if run == 0 {
                peak = status_kib("VmHWM:").saturating_sub(before) as f64 * 1024.0;
            }
        }
        let p = open(&dir);
        // The same save from the Arrow-layout SoA: no `String` to copy into Arrow.
        let mut save_soa_arrow = Duration::MAX;
        for run in 0..RUNS {
            let dir = work.path().join(format!("{codec}-arrow-{run}"));
            let p = ParquetPersistence::<OrderArrow>::open(&dir)
                .expect("open")
                .with_options(options.clone());
            let input: OrderArrowSoA = rows.iter().map(|r| OrderArrow::from(r.to_row())).collect();
            let start = Instant::now();
            rt.block_on(p.save(input)).expect("save");
            save_soa_arrow = save_soa_arrow.min(start.elapsed());
            let _ = std::fs::remove_dir_all(&dir);
        }
        let (load, loaded) = best_of(RUNS, || rt.block_on(p.load()).expect("load").expect("rows"));
        assert_eq!(loaded.len() as u64, n);
        drop(loaded);
        // Into the Arrow-layout SoA (`#[soa(arrow)]`): the same files, no String per row.
        let arrow_p = ParquetPersistence::<OrderArrow>::open(&dir).expect("open");
        let (load_soa_arrow, loaded) = best_of(RUNS, || {
            rt.block_on(arrow_p.load()).expect("load").expect("rows")
        });
        assert_eq!(loaded.len() as u64, n);
        drop(loaded);
        // Arrow out, like pyarrow's read_table (no Rust Strings built).
        let (load_arrow, batches) = best_of(RUNS, || {
            rt.block_on(p.load_batches()).expect("load").expect("rows")
        });
        assert_eq!(batches.iter().map(|b| b.num_rows() as u64).sum::<u64>(), n);
        drop(batches);
        let stats = rt.block_on(p.stats()).expect("stats");
        let mb = arrow_bytes / 1e6;
        println!(
            "{codec}: save {:.2} s ({:.1} M rows/s, {:.0} MB/s), load into OrderSoA {:.2} s ({:.1} M rows/s), into OrderArrowSoA {:.2} s, load as Arrow {:.2} s, {} files, {:.0} MiB on disk, save peak RSS +{:.0} MiB = {:.2}x Arrow size",
            secs(save),
            n as f64 / secs(save) / 1e6,
            mb / secs(save),
            secs(load),
            n as f64 / secs(load) / 1e6,
            secs(load_soa_arrow),
            secs(load_arrow),
            stats.files.unwrap_or(0),
            stats.bytes_on_disk.unwrap_or(0) as f64 / 1048576.0,
            peak / 1048576.0,
            peak / arrow_bytes
        );

        // 0.1% of the rows by key.
        let (low, high) = (n / 2, n / 2 + n / 1000 - 1);
        let predicate = Order::fields().order_id.between(low, high);
        // The handle's first query reads the candidate files' footers and key page indexes
        // (cached until a commit); then the best of RUNS, as DuckDB's figure is.
        let start = Instant::now();
        let hits = rt.block_on(p.query(&predicate)).expect("query");
        let first_query = start.elapsed();
        let (query, _) = best_of(RUNS, || rt.block_on(p.query(&predicate)).expect("query"));
        let start = Instant::now();
        let all = rt.block_on(p.load()).expect("load").expect("rows");
        let full: Vec<u64> = all
            .order_id
            .iter()
            .copied()
            .filter(|id| (low..=high).contains(id))
            .collect();
        let load_filter = start.elapsed();
        assert_eq!(hits.len(), full.len());
        drop(all);
        println!(
            "{codec}: 0.1% key query {:.1} ms (the handle's first: {:.1} ms) vs full load-and-filter {:.1} ms: {:.1}x",
            secs(query) * 1e3,
            secs(first_query) * 1e3,
            secs(load_filter) * 1e3,
            secs(load_filter) / secs(query)
        );

        if !python.exists() {
            println!("{codec}: peers skipped (no virtualenv; run scripts/setup.sh)");
            continue;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/parquet_peers.py");
        let out = Command::new(&python)
            .args([
                script,
                dir.to_str().unwrap_or(""),
                work.path().join("peers").to_str().unwrap_or(""),
                codec,
            ])
            .args([low.to_string(), high.to_string()])
            .output()
            .expect("run peers");
        if !out.status.success() {
            println!(
                "{codec}: peers failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        }
        let peers: serde_json::Value = serde_json::from_slice(&out.stdout).expect("peer JSON");
        let t = |k: &str| peers[k].as_f64().unwrap_or(f64::NAN);
        let peer = |k: &str| Duration::from_secs_f64(t(k));
        for (what, ours) in [
            ("save", save),
            ("save from OrderArrowSoA", save_soa_arrow),
            ("load into OrderSoA", load),
            ("load into OrderArrowSoA", load_soa_arrow),
            ("load as Arrow", load_arrow),
        ] {
            let (py, duck) = if what.starts_with("save") {
                (
                    ("pyarrow write_table", "pyarrow_write"),
                    ("DuckDB COPY TO", "duckdb_copy_to"),
                )
            } else {
                (
                    ("pyarrow read_table", "pyarrow_read"),
                    ("DuckDB read_parquet", "duckdb_read_parquet"),
                )
            };
            let what = format!("{codec}: {what}");
            report(&what, ours, py.0, peer(py.1));
            report(&what, ours, duck.0, peer(duck.1));
            if what.ends_with("save") {
                // The same folder per status that ours writes.
                report(
                    &what,
                    ours,
                    "write_to_dataset",
                    peer("pyarrow_write_dataset"),
                );
                report(
                    &what,
                    ours,
                    "COPY PARTITION_BY",
                    peer("duckdb_copy_partitioned"),
                );
            }
        }
        report(
            &format!("{codec}: 0.1% key query"),
            query,
            "DuckDB WHERE",
            peer("duckdb_filtered"),
        );
    }
}
