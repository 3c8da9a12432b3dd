//! Durability under kill -9: a child process appends batches to a DuckDB file, each in one
//! transaction, and records each acknowledged batch in a side file. The parent kills it with
//! SIGKILL at random moments, reopens the database and checks that every batch once
//! acknowledged or once seen in the table is still there, that no batch is there in part, and
//! that no row appears twice. A second loop makes the child checkpoint all the time (a tiny
//! `wal_autocheckpoint` and explicit checkpoints), so that kills land inside checkpoints.
//! SOA_CRASH_KILLS sets the number of kills of each loop (120 and 60 by default);
//! SOA_CRASH_SEED replays the pauses of a printed run (the kill moments still vary).
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API
#![cfg(feature = "duckdb")]

mod kill9;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use soa_persist::DuckDBOptions;
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

/// The child's write loop: one batch per transaction, acknowledged once `append` returned;
/// with `checkpoints`, the WAL is folded into the file after (nearly) every commit.
fn write_until_killed(checkpoints: bool) {
    let Some((dir, start, mut acks)) = kill9::child() else {
        return;
    };
    kill9::block_on(async {
        let options = DuckDBOptions {
            wal_autocheckpoint: checkpoints.then(|| "1KB".to_string()),
            ..DuckDBOptions::default()
        };
        let path = std::path::PathBuf::from(format!("{dir}/data.duckdb"));
        let p = DuckDBPersistence::<CrashRow>::open_with(Some(&path), options).expect("open");
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
            if checkpoints && (next / BATCH).is_multiple_of(3) {
                p.checkpoint().await.expect("checkpoint");
            }
            next += BATCH;
        }
    });
}

#[test]
#[ignore = "run by kill9_crash_loop as a child process"]
fn duckdb_crash_child() {
    write_until_killed(false);
}

#[test]
#[ignore = "run by kill9_during_checkpoints as a child process"]
fn duckdb_checkpoint_crash_child() {
    write_until_killed(true);
}

/// What a crash loop saw.
struct Figures {
    kills: usize,
    killed_mid_run: usize,
    acknowledged: usize,
    present: usize,
}

/// Runs `child` and kills it `kills` times, checking the table after each kill.
async fn crash_loop(child: &str, kills: usize) -> Figures {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = kill9::Rng::seeded(child);
    let mut acknowledged: BTreeSet<u64> = BTreeSet::new();
    // Batches acknowledged or seen committed: they must stay.
    let mut must_stay: BTreeSet<u64> = BTreeSet::new();
    let mut next_start = 0u64;
    let mut killed_mid_run = 0;
    let mut present = 0;
    for round in 0..kills {
        let pause = Duration::from_millis(30 + rng.below(150));
        kill9::run_and_kill(child, dir.path(), next_start, pause);
        let batches = kill9::acked(dir.path());
        if !batches.is_empty() {
            killed_mid_run += 1;
        }
        acknowledged.extend(&batches);
        must_stay.extend(batches);
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
        let missing: Vec<&u64> = must_stay
            .iter()
            .filter(|b| !per_batch.contains_key(b))
            .take(5)
            .collect();
        assert!(
            missing.is_empty(),
            "round {round}: committed batches lost: {missing:?}"
        );
        must_stay.extend(per_batch.keys());
        present = per_batch.len();
        // Committed but unacknowledged batches are fine; the next child starts after them.
        next_start = per_batch
            .keys()
            .next_back()
            .map_or(next_start, |b| b + BATCH)
            .max(next_start);
    }
    let figures = Figures {
        kills,
        killed_mid_run,
        acknowledged: acknowledged.len(),
        present,
    };
    eprintln!(
        "{child}: {} kills, {} after at least one acknowledged batch, {} batches acknowledged, \
         {} batches in the table at the end, 0 lost",
        figures.kills, figures.killed_mid_run, figures.acknowledged, figures.present
    );
    assert!(
        figures.killed_mid_run > kills / 4,
        "too few kills landed after an acknowledged append ({})",
        figures.killed_mid_run
    );
    figures
}

#[tokio::test]
async fn kill9_crash_loop_keeps_every_committed_batch_whole() {
    crash_loop("duckdb_crash_child", kill9::kills(120)).await;
}

#[tokio::test]
#[ignore = "finds a DuckDB defect: about one kill in 150-200 during checkpoints leaves a file \
            that fails to open (Data Corruption: checksum mismatch in block 0); run with \
            --ignored"]
async fn kill9_during_checkpoints_keeps_every_committed_batch_whole() {
    let figures = crash_loop("duckdb_checkpoint_crash_child", kill9::kills(60)).await;
    assert!(figures.present >= figures.acknowledged);
}
