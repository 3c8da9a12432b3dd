//! What the `soa` tests share: structs and datasets written with the library (sales with a
//! history; a small partitioned set of orders with known values), the binary run as a process,
//! and checks of its output and exit codes.
#![allow(dead_code)] // each test file uses its own part

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Sale {
    #[soa(key)]
    pub id: u64,
    #[soa(partition)]
    pub region: String,
    pub amount: f64,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

pub fn sales(ids: std::ops::Range<u64>) -> SaleSoA {
    ids.map(|id| Sale {
        id,
        region: if id % 2 == 0 { "north" } else { "south" }.into(),
        amount: id as f64 * 1.5,
        note: (id % 3 == 0).then(|| format!("note {id}")),
        at: DateTime::from_timestamp(1_700_000_000 + id as i64, 0).unwrap(),
    })
    .collect()
}

/// A dataset with two appends, a delete and a compact; returns the version after the first
/// append.
pub fn write_dataset(dir: &Path) -> u64 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let p = ParquetPersistence::<Sale>::open(dir).unwrap();
        p.append(sales(0..4)).await.unwrap();
        let first = p.history().await.unwrap().commits.last().unwrap().version;
        p.append(sales(4..8)).await.unwrap();
        p.delete(&Sale::fields().id.lt(2u64)).await.unwrap();
        p.compact().await.unwrap();
        first
    })
}

/// A fresh dataset from `write_dataset`: its folder, its path, the version after the first append.
pub fn fixture() -> (tempfile::TempDir, String, u64) {
    let dir = tempfile::tempdir().unwrap();
    let first = write_dataset(dir.path());
    let path = dir.path().to_str().unwrap().to_string();
    (dir, path, first)
}

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq)]
pub enum Status {
    Pending,
    Shipped,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Order {
    #[soa(key)]
    pub id: u64,
    #[soa(partition)]
    pub region: String,
    pub amount: f64,
    pub status: Status,
    pub note: Option<String>,
}

/// Order `id`: regions north/south alternate, amount `id * 10`, every third note empty.
pub fn order(id: u64) -> Order {
    Order {
        id,
        region: if id.is_multiple_of(2) {
            "north"
        } else {
            "south"
        }
        .into(),
        amount: id as f64 * 10.0,
        status: if id < 4 {
            Status::Shipped
        } else {
            Status::Pending
        },
        note: (!id.is_multiple_of(3)).then(|| format!("note, \"{id}\"")),
    }
}

/// A dataset of orders `ids`, appended `chunks` at a time.
pub fn write_orders(dir: &Path, ids: std::ops::Range<u64>, chunk: usize) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let p = ParquetPersistence::<Order>::open(dir).unwrap();
        let all: Vec<u64> = ids.collect();
        for part in all.chunks(chunk.max(1)) {
            let rows: OrderSoA = part.iter().map(|&id| order(id)).collect();
            p.append(rows).await.unwrap();
        }
    })
}

pub fn soa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_soa"))
        .args(args)
        .output()
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `o`'s standard output holds `needle`.
pub fn prints(o: &Output, needle: &str) {
    let out = stdout(o);
    assert!(out.contains(needle), "{needle} not in:\n{out}");
}

/// The `id`s of `head --json` rows, sorted.
pub fn sorted_ids(rows: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

pub fn json(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

pub fn one_line_error(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
    let err = stderr(o);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{needle} not in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// `o` succeeded; its stdout.
pub fn ok(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    stdout(o)
}

/// `o` exited 2 with one line on stderr holding `needle`, and printed nothing.
pub fn fails_with(o: &Output, needle: &str) {
    one_line_error(o, needle);
    assert!(o.stdout.is_empty(), "{}", stdout(o));
}
