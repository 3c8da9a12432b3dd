//! Shared by the `gen`, `sql` and `convert` tests: the `soa` process, its output, and a small
//! partitioned dataset of orders with known values.
#![allow(dead_code)] // each test file uses its own part

use std::path::Path;
use std::process::{Command, Output};

use soa_persist::prelude::*;

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

/// `o` succeeded; its stdout.
pub fn ok(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    stdout(o)
}

/// `o` exited 2 with one line on stderr holding `needle`, and printed nothing.
pub fn fails_with(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(needle), "{needle} not in: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(o.stdout.is_empty(), "{}", stdout(o));
}
