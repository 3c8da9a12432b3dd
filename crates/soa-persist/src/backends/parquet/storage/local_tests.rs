//! `LocalStorage` under power loss, races and hostile paths; storage-level fault injection.

use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;

use super::*;
use crate::backends::parquet::FaultyStorage;
use crate::backends::parquet::fs::{Fs, SimFs};

fn assert_not_retryable(e: &PersistError) {
    assert!(!e.is_retryable(), "should not be retryable: {e}");
}

#[tokio::test]
async fn new_folders_are_durable_when_put_new_returns() {
    let sim = Arc::new(SimFs::new());
    let storage = LocalStorage::with_fs("/data/ds", sim.clone()).unwrap();
    assert!(
        storage
            .put_new("a=1/b=2/x.json", Bytes::from_static(b"x"))
            .await
            .unwrap()
    );
    storage
        .put("_soa_log/y.json", Bytes::from_static(b"y"))
        .await
        .unwrap();
    // Power goes out right after the calls returned: both must be there.
    let back = LocalStorage::with_fs("/data/ds", Arc::new(sim.recovered())).unwrap();
    assert_eq!(back.get("a=1/b=2/x.json").await.unwrap(), "x");
    assert_eq!(back.get("_soa_log/y.json").await.unwrap(), "y");
    let mut listed: Vec<String> = back
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    listed.sort();
    assert_eq!(listed, ["_soa_log/y.json", "a=1/b=2/x.json"]);
}

#[tokio::test]
async fn a_crash_at_any_sync_point_of_a_put_new_leaves_nothing_or_everything() {
    let count = Arc::new(SimFs::new());
    let storage = LocalStorage::with_fs("/data/ds", count.clone()).unwrap();
    let before = count.sync_count();
    storage
        .put_new("a=1/x.json", Bytes::from_static(b"x"))
        .await
        .unwrap();
    let syncs = count.sync_count() - before;
    // `a=1` into the root, the temporary file, the link (creating the root took 2 more).
    assert_eq!(syncs, 3);
    let mut saw = (false, false);
    for k in 1..=count.sync_count() {
        let sim = Arc::new(SimFs::new());
        sim.power_loss_at(k);
        let done = match LocalStorage::with_fs("/data/ds", sim.clone()) {
            Ok(s) => s.put_new("a=1/x.json", Bytes::from_static(b"x")).await,
            Err(e) => Err(e),
        };
        assert!(done.is_err() && sim.is_down(), "k={k}");
        let back = Arc::new(sim.recovered());
        let back = LocalStorage::with_fs("/data/ds", back).unwrap();
        match back.head("a=1/x.json").await.unwrap() {
            None => saw.0 = true,
            Some(_) => {
                assert_eq!(back.get("a=1/x.json").await.unwrap(), "x", "k={k}");
                saw.1 = true;
            }
        }
    }
    assert_eq!(saw, (true, true));
}

#[tokio::test]
async fn a_folder_left_unsynced_by_a_dead_process_is_made_durable() {
    let sim = Arc::new(SimFs::new());
    drop(LocalStorage::with_fs("/ds", sim.clone()).unwrap());
    // Another process created `a=1` and died before fsyncing `/ds`.
    sim.create_dir(FsPath::new("/ds/a=1")).unwrap();
    let storage = LocalStorage::with_fs("/ds", sim.clone()).unwrap();
    storage
        .put("a=1/x.parquet", Bytes::from_static(b"x"))
        .await
        .unwrap();
    let back = LocalStorage::with_fs("/ds", Arc::new(sim.recovered())).unwrap();
    assert_eq!(back.get("a=1/x.parquet").await.unwrap(), "x");
}

#[tokio::test]
async fn losing_a_create_race_makes_the_winner_durable() {
    let sim = Arc::new(SimFs::new());
    let storage = LocalStorage::with_fs("/ds", sim.clone()).unwrap();
    storage
        .put("_soa_log/0.json", Bytes::from_static(b"0"))
        .await
        .unwrap();
    // The winner linked its record and died before fsyncing the folder.
    sim.write_new_synced(FsPath::new("/ds/_soa_log/.w"), b"winner")
        .unwrap();
    sim.hard_link(
        FsPath::new("/ds/_soa_log/.w"),
        FsPath::new("/ds/_soa_log/1.json"),
    )
    .unwrap();
    let created = storage
        .put_new("_soa_log/1.json", Bytes::from_static(b"loser"))
        .await
        .unwrap();
    assert!(!created);
    // The loser builds on version 1; after power loss version 1 must still be there.
    let back = LocalStorage::with_fs("/ds", Arc::new(sim.recovered())).unwrap();
    assert_eq!(back.get("_soa_log/1.json").await.unwrap(), "winner");
}

#[tokio::test]
async fn a_folder_removed_behind_the_storage_is_created_again() {
    let dir = tempfile::tempdir().unwrap();
    let storage = LocalStorage::open(dir.path()).unwrap();
    storage
        .put("a=1/b=2/x", Bytes::from_static(b"1"))
        .await
        .unwrap();
    std::fs::remove_dir_all(dir.path().join("a=1")).unwrap();
    storage
        .put("a=1/b=2/y", Bytes::from_static(b"2"))
        .await
        .unwrap();
    assert!(storage.put_new("a=1/b=2/z", Bytes::new()).await.unwrap());
    assert_eq!(storage.get("a=1/b=2/y").await.unwrap(), "2");
}

#[tokio::test]
async fn paths_outside_the_dataset_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.parquet"), b"secret").unwrap();
    let storage = LocalStorage::open(dir.path().join("ds")).unwrap();
    let sim = Arc::new(SimFs::new());
    let simulated = LocalStorage::with_fs("/ds", sim).unwrap();
    let memory = ObjectStorage::new(Arc::new(InMemory::new()), ObjectPath::from("ds"), "mem");
    let bad = [
        "",
        "/etc/passwd",
        "../secret.parquet",
        "a/../../secret.parquet",
        "a/./b",
        "a//b",
        "a/",
        ".",
        "..",
        "a\\..\\b",
        "a\0b",
    ];
    for s in [&storage as &dyn Storage, &simulated, &memory] {
        for path in bad {
            let errors = [
                s.get(path).await.unwrap_err(),
                s.head(path).await.unwrap_err(),
                s.put(path, Bytes::new()).await.unwrap_err(),
                s.put_new(path, Bytes::new()).await.unwrap_err(),
                s.delete(path).await.unwrap_err(),
            ];
            for e in errors {
                assert!(matches!(e, PersistError::Corrupt { .. }), "{path:?}: {e}");
                assert!(e.to_string().contains("outside the dataset"), "{e}");
                assert!(e.to_string().contains(&format!("{path:?}")), "{e}");
                assert_not_retryable(&e);
            }
        }
        for prefix in ["/etc", "..", "../x", "a//b"] {
            assert!(matches!(
                s.list(prefix).await.unwrap_err(),
                PersistError::Corrupt { .. }
            ));
        }
        // Good paths still work, a trailing slash on a prefix included.
        s.put("a=1/f.parquet", Bytes::from_static(b"ok"))
            .await
            .unwrap();
        assert_eq!(s.list("a=1/").await.unwrap().len(), 1);
        assert!(s.list("").await.unwrap().len() == 1);
    }
    assert_eq!(
        std::fs::read(dir.path().join("secret.parquet")).unwrap(),
        b"secret"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn list_does_not_follow_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(outside.join("x=1")).unwrap();
    std::fs::write(outside.join("x=1/stolen.parquet"), b"s").unwrap();
    std::fs::write(outside.join("secret.parquet"), b"s").unwrap();
    let storage = LocalStorage::open(dir.path().join("ds")).unwrap();
    storage
        .put("a=1/own.parquet", Bytes::from_static(b"o"))
        .await
        .unwrap();
    let ds = dir.path().join("ds");
    std::os::unix::fs::symlink(&outside, ds.join("linked")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.parquet"), ds.join("a=1/l.parquet")).unwrap();
    std::os::unix::fs::symlink(&outside, ds.join("_soa_log")).unwrap();
    let listed: Vec<String> = storage
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(listed, ["a=1/own.parquet"]);
    assert!(storage.list("linked").await.unwrap().is_empty());
    assert!(storage.list("_soa_log").await.unwrap().is_empty());
    assert_eq!(storage.head("a=1/l.parquet").await.unwrap(), None);
}

#[tokio::test]
async fn a_panicking_task_is_not_retryable_a_cancelled_one_is() {
    let panicked = tokio::spawn(async { panic!("decoder bug") })
        .await
        .unwrap_err();
    assert!(panicked.is_panic());
    let e = join_err(panicked);
    assert_not_retryable(&e);
    assert!(e.to_string().contains("panicked"), "{e}");

    let task = tokio::spawn(std::future::pending::<()>());
    task.abort();
    let cancelled = task.await.unwrap_err();
    assert!(cancelled.is_cancelled());
    assert!(join_err(cancelled).is_retryable());
}

#[tokio::test]
async fn a_fault_after_effect_applies_the_operation_then_fails() {
    let dir = tempfile::tempdir().unwrap();
    let faulty = FaultyStorage::new(LocalStorage::open(dir.path()).unwrap());
    faulty.fail_after_effect_at(2);
    faulty.put("a", Bytes::from_static(b"1")).await.unwrap();
    let e = faulty
        .put_new("b", Bytes::from_static(b"2"))
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert!(e.to_string().contains("after effect"), "{e}");
    assert_eq!(faulty.calls(), 2);
    // It took effect: the object is there, and creating it again finds it.
    assert_eq!(faulty.get("b").await.unwrap(), "2");
    assert!(!faulty.put_new("b", Bytes::new()).await.unwrap());

    faulty.fail_at(1);
    assert!(faulty.put_new("c", Bytes::new()).await.is_err());
    assert_eq!(faulty.inner().head("c").await.unwrap(), None);
    faulty.fail_after_effect_at(1);
    assert!(faulty.delete("b").await.is_err());
    assert_eq!(faulty.inner().head("b").await.unwrap(), None);
    assert_eq!(faulty.local_root(), Some(dir.path().to_path_buf()));
}
