//! Durability under kill -9: a child process appends batches to a DuckDB file, each in one
//! transaction, and records each acknowledged batch in a side file. The parent kills it with
//! SIGKILL at random moments, reopens the database and checks that every acknowledged batch is
//! there, that no batch is there in part, and that no row appears twice. SOA_CRASH_KILLS sets
//! the number of kills (120 by default).
#![cfg(feature = "duckdb")]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct CrashRow {
    #[soa(key)]
    id: u64,
    /// The first id of the row's batch: a batch is complete when all its ids are there.
    batch: u64,
    payload: String,
}

/// Rows per batch: larger than one DuckDB vector, so a batch spans several chunks.
const BATCH: u64 = 3000;

#[test]
#[ignore = "run by kill9_crash_loop as a child process"]
fn duckdb_crash_child() {
    let (Ok(dir), Ok(start)) = (
        std::env::var("SOA_CRASH_DIR"),
        std::env::var("SOA_CRASH_START"),
    ) else {
        return;
    };
    let start: u64 = start.parse().expect("start id");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let p = DuckDBPersistence::<CrashRow>::open(format!("{dir}/data.duckdb")).expect("open");
        let mut ack = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(format!("{dir}/acked"))
            .expect("ack file");
        let mut next = start;
        loop {
            let rows: CrashRowSoA = (next..next + BATCH)
                .map(|id| CrashRow {
                    id,
                    batch: next,
                    payload: format!("row {id} {}", "x".repeat((id % 50) as usize)),
                })
                .collect();
            p.append(rows).await.expect("append");
            // Only now is the batch acknowledged.
            writeln!(ack, "{next}").expect("ack");
            ack.sync_data().expect("ack sync");
            next += BATCH;
        }
    });
}

fn acked(dir: &std::path::Path) -> Vec<u64> {
    let text = std::fs::read_to_string(dir.join("acked")).unwrap_or_default();
    // Only complete lines count: a kill may cut the last one short.
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    complete.lines().filter_map(|l| l.parse().ok()).collect()
}

#[tokio::test]
async fn kill9_crash_loop_keeps_every_committed_batch_whole() {
    let kills: usize = std::env::var("SOA_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut seed = Instant::now().elapsed().as_nanos() as u64 | 1;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut acknowledged: BTreeSet<u64> = BTreeSet::new();
    let mut next_start = 0u64;
    let mut killed_mid_run = 0;
    let mut present = 0;
    for round in 0..kills {
        let _ = std::fs::remove_file(dir.path().join("acked"));
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "duckdb_crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SOA_CRASH_DIR", dir.path())
            .env("SOA_CRASH_START", next_start.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        tokio::time::sleep(Duration::from_millis(30 + rand() % 150)).await;
        child.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
        let _ = child.wait();

        let batches = acked(dir.path());
        if !batches.is_empty() {
            killed_mid_run += 1;
        }
        acknowledged.extend(batches);
        let p = DuckDBPersistence::<CrashRow>::open(dir.path().join("data.duckdb"))
            .unwrap_or_else(|e| panic!("round {round}: database does not open after kill: {e}"));
        let rows = p
            .load()
            .await
            .unwrap_or_else(|e| panic!("round {round}: table does not load after kill: {e}"))
            .unwrap_or_default();
        drop(p);
        let unique: BTreeSet<u64> = rows.id.iter().copied().collect();
        assert_eq!(
            unique.len(),
            rows.len(),
            "round {round}: a row appears twice"
        );
        let mut per_batch: BTreeMap<u64, u64> = BTreeMap::new();
        for (id, batch) in rows.id.iter().zip(&rows.batch) {
            assert!(
                (*batch..*batch + BATCH).contains(id),
                "round {round}: row {id} in batch {batch}"
            );
            *per_batch.entry(*batch).or_default() += 1;
        }
        for (batch, n) in &per_batch {
            assert_eq!(
                *n, BATCH,
                "round {round}: batch {batch} is there in part ({n} rows)"
            );
        }
        let missing: Vec<&u64> = acknowledged
            .iter()
            .filter(|b| !per_batch.contains_key(b))
            .take(5)
            .collect();
        assert!(
            missing.is_empty(),
            "round {round}: acknowledged batches lost: {missing:?}"
        );
        present = per_batch.len();
        // Committed but unacknowledged batches are fine; the next child starts after them.
        next_start = per_batch
            .keys()
            .next_back()
            .map_or(next_start, |b| b + BATCH)
            .max(next_start);
    }
    eprintln!(
        "{kills} kills, {killed_mid_run} after at least one acknowledged batch, {} batches \
         acknowledged, {present} batches in the table at the end",
        acknowledged.len()
    );
    assert!(
        killed_mid_run > kills / 4,
        "too few kills landed after an acknowledged append ({killed_mid_run})"
    );
}
