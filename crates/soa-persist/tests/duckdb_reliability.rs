//! DuckDB reliability: every path to one file (hard link, symlink, dangling symlink) shares one
//! database in a process; errors are classified by DuckDB's own words, never by the user's path;
//! appends with a `WriteId` take effect once (file and memory, across reopening, under races).
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API
#![cfg(feature = "duckdb")]

use std::path::Path;

use soa_persist::prelude::*;
use soa_persist::testing::{ConfOrder, ConfOrderSoA, orders};
use soa_persist::{DuckDBOptions, WriteId};

fn ids(rows: &ConfOrderSoA) -> Vec<u64> {
    let mut ids = rows.id.clone();
    ids.sort_unstable();
    ids
}

async fn stored(p: &DuckDBPersistence<ConfOrder>) -> Vec<u64> {
    ids(&p.load().await.expect("load").unwrap_or_default())
}

fn open(path: &Path) -> DuckDBPersistence<ConfOrder> {
    DuckDBPersistence::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

#[tokio::test]
async fn a_hard_link_and_a_symlink_reach_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.duckdb");
    let hard = dir.path().join("hard.duckdb");
    let sym = dir.path().join("sym.duckdb");
    let dotted = dir.path().join("sub").join("..").join("real.duckdb");
    std::fs::create_dir(dir.path().join("sub")).unwrap();

    let a = open(&real);
    a.append(orders(0..10)).await.unwrap();
    std::fs::hard_link(&real, &hard).unwrap();
    std::os::unix::fs::symlink(&real, &sym).unwrap();
    let b = open(&hard);
    let c = open(&sym);
    let d = open(&dotted);
    b.append(orders(10..20)).await.unwrap();
    c.append(orders(20..30)).await.unwrap();
    d.append(orders(30..40)).await.unwrap();
    for p in [&a, &b, &c, &d] {
        assert_eq!(stored(p).await, (0..40).collect::<Vec<_>>());
    }
    drop((a, b, c, d));
    assert_eq!(stored(&open(&real)).await, (0..40).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_dangling_symlink_opened_first_shares_with_the_file_it_creates() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.duckdb");
    let link = dir.path().join("link.duckdb");
    std::os::unix::fs::symlink(&target, &link).unwrap();

    let through_link = open(&link);
    assert!(target.exists(), "opening created the symlink's target");
    let direct = open(&target);
    through_link.append(orders(0..5)).await.unwrap();
    direct.append(orders(5..10)).await.unwrap();
    assert_eq!(stored(&through_link).await, (0..10).collect::<Vec<_>>());
    assert_eq!(stored(&direct).await, (0..10).collect::<Vec<_>>());
    drop((through_link, direct));
    assert_eq!(stored(&open(&target)).await, (0..10).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_missing_folder_named_like_a_lock_or_corruption_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let named = dir
        .path()
        .join("Could not set lock on file Corrupt database file");
    std::fs::create_dir(&named).unwrap();
    let err = DuckDBPersistence::<ConfOrder>::open(named.join("missing").join("x.duckdb"))
        .expect_err("the folder does not exist");
    match &err {
        PersistError::Io { source, .. } => {
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound, "{err}")
        }
        other => panic!("expected Io NotFound, got {other:?}"),
    }
    assert!(!err.is_retryable(), "{err}");

    // In such a folder, a database works and a file that is not one is Corrupt.
    let db = named.join("lock.duckdb");
    let p = open(&db);
    p.append(orders(0..3)).await.unwrap();
    assert_eq!(stored(&p).await, vec![0, 1, 2]);
    let notes = named.join("Conflicting lock.duckdb");
    std::fs::write(&notes, b"not a database\n".repeat(300)).unwrap();
    let err = DuckDBPersistence::<ConfOrder>::open(&notes).expect_err("not DuckDB");
    assert!(matches!(err, PersistError::Corrupt { .. }), "{err:?}");
    assert!(!err.is_retryable());
}

/// Appends `ids` once under `(writer, seq)`.
async fn once(
    p: &DuckDBPersistence<ConfOrder>,
    ids: std::ops::Range<u64>,
    writer: &str,
    seq: u64,
) -> Result<bool, PersistError> {
    let batch = orders(ids).into_record_batch()?;
    p.append_batches_once(vec![batch], &WriteId::new(writer, seq))
        .await
}

async fn once_applies_each_write_id_once(p: DuckDBPersistence<ConfOrder>) {
    assert!(once(&p, 0..10, "w1", 1).await.unwrap());
    assert!(
        !once(&p, 0..10, "w1", 1).await.unwrap(),
        "the retry writes nothing"
    );
    assert_eq!(stored(&p).await, (0..10).collect::<Vec<_>>());
    assert!(once(&p, 10..20, "w1", 2).await.unwrap(), "a later write");
    assert!(
        !once(&p, 100..110, "w1", 1).await.unwrap(),
        "an older write after a newer one"
    );
    assert!(once(&p, 20..25, "w2", 1).await.unwrap(), "another writer");
    assert_eq!(stored(&p).await, (0..25).collect::<Vec<_>>());

    // Another table of the same database keeps its own record.
    let other = p.table_for::<ConfOrder>(Some("other orders")).unwrap();
    assert!(once(&other, 0..4, "w1", 1).await.unwrap());
    assert!(!once(&other, 0..4, "w1", 1).await.unwrap());
    assert_eq!(stored(&other).await, vec![0, 1, 2, 3]);

    // A failed write (duplicate key) records nothing: its retry with good rows writes.
    let err = once(&p, 24..30, "w1", 3).await.expect_err("duplicate key");
    assert!(matches!(err, PersistError::Constraint { .. }), "{err:?}");
    assert!(once(&p, 25..30, "w1", 3).await.unwrap());
    assert_eq!(stored(&p).await, (0..30).collect::<Vec<_>>());
}

#[tokio::test]
async fn append_once_on_a_file_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("once.duckdb");
    once_applies_each_write_id_once(open(&path)).await;
    // The handle is gone (database closed); a retry of a committed write still finds its id.
    let p = open(&path);
    assert!(!once(&p, 25..30, "w1", 3).await.unwrap());
    assert!(once(&p, 30..31, "w1", 4).await.unwrap());
    assert_eq!(stored(&p).await, (0..31).collect::<Vec<_>>());
}

#[tokio::test]
async fn append_once_in_memory() {
    once_applies_each_write_id_once(DuckDBPersistence::in_memory().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_handles_apply_one_write_id_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(&dir.path().join("race.duckdb"));
    for seq in 1..=5u64 {
        // Separate handles on one table: no shared writer lock, DuckDB arbitrates.
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let p = first.table_for::<ConfOrder>(None).unwrap();
                tokio::spawn(async move {
                    loop {
                        match once(&p, seq * 100..seq * 100 + 50, "racer", seq).await {
                            Err(e) if e.is_retryable() => tokio::task::yield_now().await,
                            other => return other,
                        }
                    }
                })
            })
            .collect();
        let mut applied = 0;
        for t in tasks {
            if t.await.unwrap().unwrap() {
                applied += 1;
            }
        }
        assert_eq!(applied, 1, "write {seq} applied {applied} times");
    }
    let expected: Vec<u64> = (1..=5u64).flat_map(|s| s * 100..s * 100 + 50).collect();
    assert_eq!(stored(&first).await, expected);
}

#[tokio::test]
async fn a_read_only_database_refuses_append_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.duckdb");
    assert!(once(&open(&path), 0..3, "w", 1).await.unwrap());
    let ro = DuckDBPersistence::<ConfOrder>::open_with(
        Some(&path),
        DuckDBOptions {
            read_only: true,
            ..DuckDBOptions::default()
        },
    )
    .unwrap();
    assert!(once(&ro, 3..6, "w", 2).await.is_err());
    assert_eq!(stored(&ro).await, vec![0, 1, 2]);
}
