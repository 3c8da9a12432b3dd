//! Durability under kill -9: a child process appends to a Parquet dataset in a loop and, after
//! each append returns (durable), records the last acknowledged id in a side file. The parent
//! kills it with SIGKILL at random moments and then checks that the dataset loads, that every
//! acknowledged row is there, and that no row appears twice. SOA_CRASH_KILLS sets the number of
//! kills (200 by default; more on demand).

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct CrashRow {
    id: u64,
    payload: String,
}

const BATCH: u64 = 7;

/// The child: appends batches forever (until killed), acknowledging each after it returns.
#[test]
#[ignore = "run by kill9_crash_loop as a child process"]
fn crash_child() {
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
        let p = ParquetPersistence::<CrashRow>::open(format!("{dir}/data")).expect("open");
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
                    payload: format!("row {id} {}", "x".repeat((id % 50) as usize)),
                })
                .collect();
            p.append(rows).await.expect("append");
            next += BATCH;
            // Only now is the batch acknowledged.
            writeln!(ack, "{}", next - 1).expect("ack");
            ack.sync_data().expect("ack sync");
        }
    });
}

fn acked(dir: &std::path::Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("acked")).unwrap_or_default();
    // Only complete lines count: a kill may cut the last one short.
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    complete.lines().filter_map(|l| l.parse().ok()).next_back()
}

#[tokio::test]
async fn kill9_crash_loop_loses_no_acknowledged_row() {
    let kills: usize = std::env::var("SOA_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
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
    for round in 0..kills {
        let _ = std::fs::remove_file(dir.path().join("acked"));
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child",
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
        tokio::time::sleep(Duration::from_millis(5 + rand() % 60)).await;
        child.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
        let _ = child.wait();

        if let Some(last) = acked(dir.path()) {
            acknowledged.extend(next_start..=last);
            killed_mid_run += 1;
        }
        let p = ParquetPersistence::<CrashRow>::open(dir.path().join("data")).expect("open");
        let rows = p
            .load()
            .await
            .unwrap_or_else(|e| panic!("round {round}: dataset does not load after kill: {e}"));
        let ids: Vec<u64> = rows.map(|r| r.id).unwrap_or_default();
        let unique: BTreeSet<u64> = ids.iter().copied().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "round {round}: a row appears twice"
        );
        let missing: Vec<&u64> = acknowledged.difference(&unique).take(5).collect();
        assert!(
            missing.is_empty(),
            "round {round}: acknowledged rows lost: {missing:?}"
        );
        // Rows committed but not yet acknowledged are fine; the next child starts after them.
        next_start = unique
            .iter()
            .next_back()
            .map_or(next_start, |m| m + 1)
            .max(next_start);
    }
    eprintln!(
        "{kills} kills, {killed_mid_run} after at least one acknowledged append, {} rows acknowledged",
        acknowledged.len()
    );
    assert!(
        killed_mid_run > kills / 4,
        "too few kills landed after an acknowledged append ({killed_mid_run})"
    );
}
