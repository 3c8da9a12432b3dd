//! Parquet written here opens in pyarrow, Polars, DuckDB and Spark with the same rows and
//! values, and Parquet written by each of them loads here with identical values. Needs the
//! virtualenv of `scripts/setup.sh` (the README's test command makes it).
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod tools;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use soa_persist::ParquetOptions;
use soa_persist::prelude::*;
use soa_persist::testing::{ConfOrder, ConfOrderSoA, ConfStatus};

const ROWS: u64 = 1000;

/// Must match `rows()` in tests/interop/interop.py.
fn interop_row(i: u64) -> ConfOrder {
    ConfOrder {
        id: i,
        customer: format!("c{}", i % 17),
        amount: i as f64 * 0.25,
        status: [
            ConfStatus::Pending,
            ConfStatus::Shipped,
            ConfStatus::Delivered,
            ConfStatus::Returned,
        ][(i % 4) as usize],
        placed_at: DateTime::from_timestamp_micros(1_700_000_000_000_000 + i as i64 * 1_000_001)
            .unwrap(),
        note: (!i.is_multiple_of(3)).then(|| format!("n{i}")),
        qty: (!i.is_multiple_of(5)).then_some((i % 11) as i32 - 3),
    }
}

fn python() -> Option<PathBuf> {
    tools::venv_bin("python", "the interop checks")
}

fn expected_summary(rows: &[ConfOrder]) -> serde_json::Value {
    let mut per_status = BTreeMap::new();
    for r in rows {
        *per_status.entry(format!("{:?}", r.status)).or_insert(0u64) += 1;
    }
    let times: Vec<i64> = rows
        .iter()
        .map(|r| r.placed_at.timestamp_micros())
        .collect();
    serde_json::json!({
        "rows": rows.len(),
        "sum_id": rows.iter().map(|r| r.id).sum::<u64>(),
        "sum_amount": (rows.iter().map(|r| r.amount).sum::<f64>() * 1e6).round() / 1e6,
        "null_notes": rows.iter().filter(|r| r.note.is_none()).count(),
        "sum_qty": rows.iter().filter_map(|r| r.qty).map(i64::from).sum::<i64>(),
        "per_status": per_status,
        "min_micros": times.iter().min(),
        "max_micros": times.iter().max(),
    })
}

async fn check_tool(python: &Path, tool: &str, options: ParquetOptions) {
    let dir = tempfile::tempdir().unwrap();
    let (ours, theirs) = (dir.path().join("ours"), dir.path().join("theirs"));
    let rows: Vec<ConfOrder> = (0..ROWS).map(interop_row).collect();
    let p = ParquetPersistence::<ConfOrder>::open(&ours)
        .unwrap()
        .with_options(options);
    // Two appends and a delete: several files and commits, like a real dataset.
    p.append(rows[..600].iter().cloned().collect())
        .await
        .unwrap();
    p.append(rows[600..].iter().cloned().collect())
        .await
        .unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/interop.py");
    let out = Command::new(python)
        .arg(&script)
        .args([
            tool,
            ours.to_str().unwrap(),
            theirs.to_str().unwrap(),
            &ROWS.to_string(),
        ])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{tool} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seen: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("summary JSON");
    assert_eq!(
        seen,
        expected_summary(&rows),
        "{tool} read our dataset differently"
    );

    // Their files load here with identical values.
    let theirs = ParquetPersistence::<ConfOrder>::open(&theirs).unwrap();
    let mut back: ConfOrderSoA = theirs
        .load()
        .await
        .unwrap_or_else(|e| panic!("{tool}'s files: {e}"))
        .expect("rows");
    back.sort_by_key(|r| *r.id);
    let want: ConfOrderSoA = rows.into_iter().collect();
    assert_eq!(back, want, "{tool}'s files loaded differently");
    eprintln!("{tool}: reads our dataset and writes files we read, {ROWS} rows identical");
}

#[tokio::test]
async fn pyarrow_reads_ours_and_we_read_pyarrows() {
    if let Some(py) = python() {
        check_tool(&py, "pyarrow", ParquetOptions::default()).await;
    }
}

#[tokio::test]
async fn polars_reads_ours_and_we_read_polars() {
    if let Some(py) = python() {
        check_tool(&py, "polars", ParquetOptions::default()).await;
    }
}

#[tokio::test]
async fn duckdb_reads_ours_and_we_read_duckdbs() {
    if let Some(py) = python() {
        check_tool(&py, "duckdb", ParquetOptions::default()).await;
    }
}

#[tokio::test]
async fn spark_reads_ours_and_we_read_sparks() {
    if let Some(py) = python() {
        check_tool(
            &py,
            "spark",
            ParquetOptions {
                spark_compatible: true,
                ..ParquetOptions::default()
            },
        )
        .await;
    }
}
