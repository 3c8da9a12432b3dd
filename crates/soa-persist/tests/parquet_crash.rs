//! Durability under kill -9: a child process appends to a Parquet dataset in a loop and, after
//! each append returns (durable), records the last acknowledged id in a side file. The parent
//! kills it with SIGKILL at random moments and then checks that the dataset loads, that every
//! acknowledged row is there, and that no row appears twice. SOA_CRASH_KILLS sets the number of
//! kills (200 by default; more on demand).

mod kill9;

use std::collections::BTreeSet;
use std::time::Duration;

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
    let Some((dir, start, mut acks)) = kill9::child() else {
        return;
    };
    kill9::block_on(async {
        let p = ParquetPersistence::<CrashRow>::open(format!("{dir}/data")).expect("open");
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
            acks.ack(next - 1);
        }
    });
}

#[tokio::test]
async fn kill9_crash_loop_loses_no_acknowledged_row() {
    let kills = kill9::kills(200);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = kill9::Rng::from_clock();
    let mut acknowledged: BTreeSet<u64> = BTreeSet::new();
    let mut next_start = 0u64;
    let mut killed_mid_run = 0;
    for round in 0..kills {
        let pause = Duration::from_millis(5 + rng.below(60));
        kill9::run_and_kill("crash_child", dir.path(), next_start, pause);
        if let Some(&last) = kill9::acked(dir.path()).last() {
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
