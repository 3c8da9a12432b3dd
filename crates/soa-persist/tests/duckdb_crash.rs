//! Durability under kill -9: a child process appends batches to a DuckDB file, each in one
//! transaction, and records each acknowledged batch in a side file. The parent kills it with
//! SIGKILL at random moments, reopens the database and checks that every acknowledged batch is
//! there, that no batch is there in part, and that no row appears twice. SOA_CRASH_KILLS sets
//! the number of kills (120 by default).
#![cfg(feature = "duckdb")]

mod kill9;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

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
    let Some((dir, start, mut acks)) = kill9::child() else {
        return;
    };
    kill9::block_on(async {
        let p = DuckDBPersistence::<CrashRow>::open(format!("{dir}/data.duckdb")).expect("open");
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
            acks.ack(next);
            next += BATCH;
        }
    });
}

#[tokio::test]
async fn kill9_crash_loop_keeps_every_committed_batch_whole() {
    let kills = kill9::kills(120);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = kill9::Rng::from_clock();
    let mut acknowledged: BTreeSet<u64> = BTreeSet::new();
    let mut next_start = 0u64;
    let mut killed_mid_run = 0;
    let mut present = 0;
    for round in 0..kills {
        let pause = Duration::from_millis(30 + rng.below(150));
        kill9::run_and_kill("duckdb_crash_child", dir.path(), next_start, pause);
        let batches = kill9::acked(dir.path());
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
