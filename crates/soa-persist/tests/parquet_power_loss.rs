//! Power loss at every sync point of a Parquet write: a partitioned dataset on `SimFs` (an
//! in-memory disk that drops whatever was not fsynced when the power goes), crashed right after
//! the k-th fsync of a multi-partition append, a save, a delete, a compact and the first save
//! into an empty folder, for every k. Each crash is recovered once keeping only what was synced
//! and a few times keeping a random part of the unsynced rest, as a real disk may. After
//! recovery the dataset must load as exactly the state before the operation or exactly the
//! state after it (never an error, never a mix) and accept writes again.
//! Uses only the public API, so the commit-log format underneath may change freely.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::sync::Arc;

use soa_persist::backends::parquet::LocalStorage;
use soa_persist::backends::parquet::fs::SimFs;
use soa_persist::prelude::*;
use soa_persist::testing::{ConfOrder, ConfStatus, orders};

const ROOT: &str = "/disk/ds";
/// Partial recoveries per crash point (seeds 1..=N), besides the synced-only one.
const SEEDS: u64 = 4;

#[derive(Clone, Copy, Debug)]
enum Op {
    Append,
    Save,
    Delete,
    Compact,
    /// The first write into a folder that has nothing yet (creates the log and every folder).
    FirstSave,
}

fn open(fs: Arc<SimFs>) -> ParquetPersistence<ConfOrder> {
    let storage = LocalStorage::with_fs(ROOT, fs).expect("open the dataset folder");
    ParquetPersistence::with_storage(Arc::new(storage))
}

/// The live file count and the rows in id order, printed (NaN amounts compare equal that way;
/// the file count tells a compacted dataset from the same rows before compaction).
async fn state(p: &ParquetPersistence<ConfOrder>) -> Result<(usize, String), PersistError> {
    let rows = p.load().await?;
    let files = p.stats().await?.files;
    let len = rows.as_ref().map_or(0, |r| r.len());
    let rows = rows.map(|mut r| {
        r.sort_by_key(|r| *r.id);
        r
    });
    Ok((len, format!("{files:?} {rows:?}")))
}

async fn run(p: &ParquetPersistence<ConfOrder>, op: Op) -> Result<(), PersistError> {
    match op {
        // Ids 100.. fall in all four status partitions.
        Op::Append => p.append(orders(100..124)).await,
        Op::Save | Op::FirstSave => p.save(orders(200..230)).await,
        Op::Delete => {
            let gone = ConfOrder::fields()
                .status
                .eq(ConfStatus::Returned)
                .or(ConfOrder::fields().qty.is_null());
            p.delete(&gone).await.map(|_| ())
        }
        Op::Compact => p.compact().await.map(|_| ()),
    }
}

/// A dataset with two files in each of four partitions (just its empty folder for the first
/// save), everything it wrote made durable.
async fn base(op: Op) -> SimFs {
    let fs = Arc::new(SimFs::new());
    let p = open(fs.clone());
    if !matches!(op, Op::FirstSave) {
        p.save(orders(0..40)).await.expect("save");
        p.append(orders(40..80)).await.expect("append");
    }
    fs.recovered()
}

/// Crashes `op` at each of its sync points; returns how many crash states were replayed.
async fn crash_at_every_sync_point(op: Op) -> u64 {
    let base = base(op).await;
    let (_, old) = state(&open(Arc::new(base.fork()))).await.expect("load");

    // One clean run: how many sync points the operation has, and the state it leaves, which
    // must also be what survives a power loss right after it returned.
    let clean = Arc::new(base.fork());
    run(&open(clean.clone()), op).await.expect("clean run");
    let syncs = clean.sync_count();
    let (_, new) = state(&open(clean.clone())).await.expect("load");
    assert!(old != new, "{op:?} must change the dataset");
    let (_, durable) = state(&open(Arc::new(clean.recovered())))
        .await
        .expect("load");
    assert!(durable == new, "{op:?}: returned before it was durable");
    assert!(syncs > 1, "{op:?}: {syncs} sync points");

    let (mut replayed, mut saw_old, mut saw_new) = (0, 0, 0);
    for k in 1..=syncs {
        let fs = Arc::new(base.fork());
        fs.power_loss_at(k);
        let result = run(&open(fs.clone()), op).await;
        assert!(fs.is_down(), "{op:?}: no power loss at sync point {k}");
        assert!(
            result.is_err(),
            "{op:?}: succeeded though the power went at {k}"
        );

        // Seed 0: only what was synced; others: that and a random part of the rest.
        for seed in 0..=SEEDS {
            let at = format!("{op:?}, crash at sync {k}/{syncs}, recovery seed {seed}");
            let back = if seed == 0 {
                fs.recovered()
            } else {
                fs.recovered_partly(seed)
            };
            let p = open(Arc::new(back));
            let (rows, now) = state(&p)
                .await
                .unwrap_or_else(|e| panic!("{at}: load failed: {e}"));
            if now == old {
                saw_old += 1;
            } else if now == new {
                saw_new += 1;
            } else {
                panic!("{at}: neither the old nor the new state");
            }
            // The recovered dataset takes writes again and keeps what it had.
            p.append(orders(1000..1003))
                .await
                .unwrap_or_else(|e| panic!("{at}: append after recovery: {e}"));
            let after = p.load().await.expect("load").expect("rows");
            assert_eq!(after.len(), rows + 3, "{at}");
            replayed += 1;
        }
    }
    // The last sync point is the commit's: the states on either side of it both occur.
    assert!(
        saw_old > 0 && saw_new > 0,
        "{op:?}: old {saw_old}, new {saw_new}"
    );
    eprintln!("{op:?}: {replayed} crash states replayed ({saw_old} old, {saw_new} new)");
    replayed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_loss_at_every_sync_point_leaves_the_old_or_the_new_state() {
    let mut total = 0;
    for op in [Op::Append, Op::Save, Op::Delete, Op::Compact, Op::FirstSave] {
        total += crash_at_every_sync_point(op).await;
    }
    eprintln!("power loss: {total} crash states replayed in all");
    assert!(total >= 5 * 2 * (SEEDS + 1));
}
