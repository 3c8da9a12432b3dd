//! Many processes on one Parquet dataset: three OS processes (this test binary run again in a
//! child role) each append small partitioned batches with disjoint keys to one folder while a
//! fourth loops on `load` and `count`. Every read must succeed, row counts never go down, no
//! batch is seen in part, and at the end the dataset holds exactly the union of all appends.
//!
//! SOA_PROC_APPENDS sets the appends per writer (300 by default).
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Event {
    id: u64,
    #[soa(partition)]
    region: String,
    payload: String,
}

const WRITERS: u64 = 3;
/// Rows per append, spread over `REGIONS`.
const BATCH: u64 = 4;
const REGIONS: [&str; 3] = ["eu", "us", "ap"];

fn appends() -> u64 {
    std::env::var("SOA_PROC_APPENDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// Writer `w`'s `i`-th batch; ids are disjoint per writer.
fn batch(w: u64, i: u64) -> Vec<Event> {
    (0..BATCH)
        .map(|j| {
            let id = w * 1_000_000_000 + i * BATCH + j;
            Event {
                id,
                region: REGIONS[(j % 3) as usize].to_string(),
                payload: format!("w{w} b{i} r{j}"),
            }
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Checks a loaded state: no id twice and every batch complete; returns the row count.
fn check_state(rows: &EventSoA, context: &str) -> u64 {
    let mut per_batch: BTreeMap<u64, u64> = BTreeMap::new();
    let mut ids = rows.id.clone();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        panic!("{context}: row {} appears twice", w[0]);
    }
    for id in &ids {
        *per_batch.entry(id / BATCH).or_default() += 1;
    }
    if let Some((b, n)) = per_batch.iter().find(|(_, n)| **n != BATCH) {
        panic!("{context}: batch {b} seen in part ({n} of {BATCH} rows)");
    }
    ids.len() as u64
}

/// The child roles, selected by `SOA_PROC_ROLE`: `writer:<w>` or `reader`.
#[test]
#[ignore = "run by many_processes_append_while_one_reads as a child process"]
fn process_child() {
    let (Ok(dir), Ok(role)) = (
        std::env::var("SOA_PROC_DIR"),
        std::env::var("SOA_PROC_ROLE"),
    ) else {
        return;
    };
    let data = Path::new(&dir).join("data");
    runtime().block_on(async {
        let p = ParquetPersistence::<Event>::open(&data).expect("open");
        if let Some(w) = role.strip_prefix("writer:") {
            let w: u64 = w.parse().expect("writer number");
            for i in 0..appends() {
                let rows: EventSoA = batch(w, i).into_iter().collect();
                p.append(rows)
                    .await
                    .unwrap_or_else(|e| panic!("writer {w}: append {i} failed: {e}"));
            }
            return;
        }
        let done = Path::new(&dir).join("done");
        let (mut loads, mut counts, mut seen) = (0u64, 0u64, 0u64);
        loop {
            // Read the flag first: a read after it sees every write.
            let last = done.exists();
            let rows = p
                .load()
                .await
                .unwrap_or_else(|e| panic!("reader: load {loads} failed: {e}"))
                .unwrap_or_default();
            loads += 1;
            let n = check_state(&rows, &format!("reader: load {loads}"));
            assert!(n >= seen, "reader: load {loads} saw {n} rows after {seen}");
            seen = n;
            let c = p
                .count(&Predicate::all())
                .await
                .unwrap_or_else(|e| panic!("reader: count {counts} failed: {e}"));
            counts += 1;
            assert!(
                c >= seen,
                "reader: count {counts} saw {c} rows after {seen}"
            );
            seen = c;
            if last {
                break;
            }
        }
        println!("reader: {loads} loads, {counts} counts, last {seen} rows");
    });
}

fn spawn(dir: &Path, role: &str) -> Child {
    let log = |kind: &str| {
        std::fs::File::create(dir.join(format!("{}.{kind}", role.replace(':', "-"))))
            .expect("log file")
    };
    Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "process_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SOA_PROC_DIR", dir)
        .env("SOA_PROC_ROLE", role)
        .env("SOA_PROC_APPENDS", appends().to_string())
        .stdout(Stdio::from(log("out")))
        .stderr(Stdio::from(log("err")))
        .spawn()
        .expect("spawn child")
}

fn finish(dir: &Path, role: &str, mut child: Child) -> String {
    let status = child.wait().expect("wait child");
    let read = |kind: &str| {
        std::fs::read_to_string(dir.join(format!("{}.{kind}", role.replace(':', "-"))))
            .unwrap_or_default()
    };
    // The child's own message: its stderr without backtrace frames.
    let err = read("err");
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("  ")).collect();
    let tail = lines[lines.len().saturating_sub(12)..].join("\n");
    assert!(status.success(), "{role} failed ({status}):\n{tail}");
    read("out")
}

#[tokio::test]
async fn many_processes_append_while_one_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = appends();
    let reader = spawn(dir.path(), "reader");
    let writers: Vec<(String, Child)> = (0..WRITERS)
        .map(|w| {
            let role = format!("writer:{w}");
            let child = spawn(dir.path(), &role);
            (role, child)
        })
        .collect();
    let mut failures = Vec::new();
    for (role, child) in writers {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            finish(dir.path(), &role, child)
        }));
        if let Err(e) = r {
            failures.push(panic_text(&*e));
        }
    }
    std::fs::write(dir.path().join("done"), b"").expect("done flag");
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        finish(dir.path(), "reader", reader)
    }));
    match &out {
        Ok(out) => eprint!("{out}"),
        Err(e) => failures.push(panic_text(&**e)),
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let p = ParquetPersistence::<Event>::open(dir.path().join("data")).expect("open");
    let mut rows = p.load().await.expect("final load").expect("rows");
    check_state(&rows, "final load");
    rows.sort_by_key(|r| *r.id);
    let want: EventSoA = (0..WRITERS)
        .flat_map(|w| (0..n).flat_map(move |i| batch(w, i)))
        .collect();
    assert_eq!(rows.len(), want.len(), "final row count");
    for (i, (got, want)) in rows.iter().zip(want.iter()).enumerate() {
        assert!(
            got.id == want.id && got.region == want.region && got.payload == want.payload,
            "row {i} differs: {} {} {} vs {} {} {}",
            got.id,
            got.region,
            got.payload,
            want.id,
            want.region,
            want.payload
        );
    }
    let stats = p.stats().await.expect("stats");
    eprintln!("{WRITERS} processes x {n} appends of {BATCH} rows, exact union read back: {stats}");
}

fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
