//! Reliability of Parquet datasets and the store above them, each test named after what broke:
//! a bad value refused by `add` (not found at flush time, taking good rows with it), a commit
//! log that stays cheap (delta records, checkpoints, records retired by `vacuum`), a lost log
//! that is reported instead of resurrecting replaced rows, `repair`, and a `vacuum` that
//! deletes only what the dataset owns.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::path::Path;
use std::time::Duration;

use soa_persist::prelude::*;
use soa_persist::rust_decimal::Decimal;
use soa_persist::testing::{ConfOrder, ConfOrderSoA, orders};

fn ids(rows: &ConfOrderSoA) -> Vec<u64> {
    let mut ids = rows.id.clone();
    ids.sort_unstable();
    ids
}

fn log_names(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("_soa_log"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn parquet_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "parquet") {
                out.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
struct Price {
    #[soa(key)]
    id: u64,
    #[soa(decimal(5, 2))]
    value: Decimal,
}

#[tokio::test]
async fn a_value_that_cannot_be_stored_is_refused_by_add_and_good_rows_stay() {
    let dir = tempfile::tempdir().unwrap();
    let backend = ParquetPersistence::<Price>::open(dir.path()).unwrap();
    let mut store =
        PersistentStore::with_persistence(backend.clone()).with_flush_policy(FlushPolicy::Manual);
    for id in 0..10 {
        store
            .add(Price {
                id,
                value: Decimal::new(12345, 2),
            })
            .await
            .unwrap();
    }
    // 9 digits do not fit decimal(5, 2).
    let err = store
        .add(Price {
            id: 10,
            value: Decimal::new(123_456_789, 2),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PersistError::Convert(_)) && err.to_string().contains("value"),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert_eq!(store.buffered(), 10, "the refused row is not buffered");
    // The refused key is free again, and the good rows flush.
    store
        .add(Price {
            id: 10,
            value: Decimal::new(1, 2),
        })
        .await
        .unwrap();
    store.flush().await.unwrap();
    let stored = backend.load().await.unwrap().unwrap();
    assert_eq!(stored.id.len(), 11);
    // add_many is all-or-nothing on the same check.
    let bad = (20..25).map(|id| Price {
        id,
        value: Decimal::new(if id == 23 { 10_000_000 } else { 1 }, 2),
    });
    assert!(store.add_many(bad).await.is_err());
    assert_eq!(store.buffered(), 0);
}

#[tokio::test]
async fn the_commit_log_stays_cheap_checkpoints_and_vacuum_retires_records() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap();
    for i in 0..250 {
        p.append(orders(i..i + 1)).await.unwrap();
    }
    let names = log_names(dir.path());
    for expected in ["00000000000000000200.checkpoint.json", "_last_checkpoint"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert!(
        !names
            .iter()
            .any(|n| n == "00000000000000000100.checkpoint.json"),
        "a superseded checkpoint is removed: {names:?}"
    );
    // Records are deltas: the 250th commit's record is as small as the 2nd's.
    let size = |v: u64| {
        std::fs::metadata(dir.path().join(format!("_soa_log/{v:020}.json")))
            .unwrap()
            .len()
    };
    assert!(
        size(250) < size(2) + 64,
        "record 250 is {} bytes, record 2 is {}",
        size(250),
        size(2)
    );
    // A fresh handle reads the state from the newest checkpoint on.
    let fresh = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap();
    assert_eq!(
        ids(&fresh.load().await.unwrap().unwrap()),
        (0..250).collect::<Vec<_>>()
    );

    let removed = fresh.vacuum(Duration::ZERO, 0).await.unwrap();
    assert_eq!(removed, 0, "every data file is live");
    let names = log_names(dir.path());
    let oldest = names.iter().filter(|n| n.ends_with(".json")).min().unwrap();
    assert_eq!(oldest, "00000000000000000200.checkpoint.json", "{names:?}");
    let fresh = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap();
    fresh.append(orders(250..260)).await.unwrap();
    assert_eq!(
        ids(&fresh.load().await.unwrap().unwrap()),
        (0..260).collect::<Vec<_>>()
    );
    // The old handle, whose cached state predates the retired records, catches up too.
    assert_eq!(p.count(&Predicate::all()).await.unwrap(), 260);
}

#[tokio::test]
async fn a_lost_log_is_reported_not_adopted_until_repair() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap();
    p.append(orders(0..100)).await.unwrap();
    p.save(orders(0..10)).await.unwrap(); // replaced files stay on disk until vacuum
    std::fs::remove_dir_all(dir.path().join("_soa_log")).unwrap();

    let fresh = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap();
    let err = fresh.load().await.unwrap_err();
    assert!(
        matches!(err, PersistError::Corrupt { .. }) && err.to_string().contains("repair"),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert!(
        fresh.append(orders(10..20)).await.is_err(),
        "no write on a damaged dataset"
    );

    let report = fresh.repair().await.unwrap();
    assert!(!report.adopted_files.is_empty(), "{report:?}");
    // The report's warning is real: rows the save had replaced are back.
    let rows = fresh.load().await.unwrap().unwrap();
    assert_eq!(rows.len(), 110);
    assert!(
        fresh.repair().await.unwrap().is_clean(),
        "a second repair has nothing to do"
    );
}

#[tokio::test]
async fn repair_drops_files_that_are_gone_and_says_how_many_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap();
    p.append(orders(0..40)).await.unwrap();
    let files = parquet_files(dir.path());
    assert!(files.len() >= 2, "one file per status partition: {files:?}");
    let gone = &files[0];
    std::fs::remove_file(dir.path().join(gone)).unwrap();
    assert!(
        p.load().await.is_err(),
        "a missing live file is an error, not silence"
    );
    let report = p.repair().await.unwrap();
    assert_eq!(report.missing_files, vec![gone.clone()]);
    let left = p.load().await.unwrap().unwrap().len() as u64;
    assert_eq!(left + report.rows_lost, 40);
}

#[tokio::test]
async fn vacuum_deletes_only_what_the_dataset_owns() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let p = ParquetPersistence::<ConfOrder>::open(root).unwrap();
    p.append(orders(0..40)).await.unwrap();
    // Another dataset in a subfolder, and a file another tool put in a folder of its own.
    let inner = ParquetPersistence::<ConfOrder>::open(root.join("inner")).unwrap();
    inner.append(orders(0..8)).await.unwrap();
    inner.save(orders(0..4)).await.unwrap(); // leaves unreferenced files of its own
    let inner_files = parquet_files(&root.join("inner"));
    std::fs::create_dir_all(root.join("exports")).unwrap();
    std::fs::copy(
        root.join("inner").join(&inner_files[0]),
        root.join("exports/report.parquet"),
    )
    .unwrap();
    // Replaced files of our own are candidates.
    p.save(orders(100..120)).await.unwrap();
    let before = parquet_files(root);
    let removed = p.vacuum(Duration::ZERO, 0).await.unwrap();
    let after = parquet_files(root);
    assert!(removed > 0);
    assert_eq!(
        parquet_files(&root.join("inner")),
        inner_files,
        "nested dataset untouched"
    );
    assert!(
        after.contains(&"exports/report.parquet".to_string()),
        "foreign file kept"
    );
    assert_eq!(before.len() - after.len(), removed);
    assert_eq!(
        ids(&p.load().await.unwrap().unwrap()),
        (100..120).collect::<Vec<_>>()
    );
    assert_eq!(inner.load().await.unwrap().unwrap().len(), 4);
}

#[tokio::test]
async fn a_partition_value_too_long_for_a_folder_name_writes_nothing() {
    #[derive(SoA, Clone, Debug, PartialEq)]
    struct Tagged {
        id: u64,
        #[soa(partition)]
        tag: String,
    }
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Tagged>::open(dir.path()).unwrap();
    let rows: TaggedSoA = [
        Tagged {
            id: 1,
            tag: "short".into(),
        },
        Tagged {
            id: 2,
            tag: "x".repeat(300),
        },
    ]
    .into_iter()
    .collect();
    let err = p.append(rows).await.unwrap_err();
    assert!(err.to_string().contains("tag"), "{err}");
    assert!(!err.is_retryable());
    assert!(parquet_files(dir.path()).is_empty(), "no file written");
    assert!(p.load().await.unwrap().is_none_or(|r| r.is_empty()));
}

/// The k-th storage operation of a write takes effect and then reports an error (a timeout
/// after the server applied a PUT, a failed folder fsync after the commit's link), for every k
/// of an append through the store, a save, a delete and a compact; then the caller retries
/// (`flush` again, `retry`): the rows are exactly the intended ones, never doubled or lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_after_the_write_took_effect_is_retried_without_doubling() {
    use soa_persist::backends::parquet::LocalStorage;
    use soa_persist::testing::FaultyStorage;
    use std::sync::Arc;

    let mut points = 0;
    for op in ["append", "save", "delete", "compact"] {
        for k in 1.. {
            let dir = tempfile::tempdir().unwrap();
            let storage = Arc::new(FaultyStorage::new(LocalStorage::open(dir.path()).unwrap()));
            let p = ParquetPersistence::<ConfOrder>::with_storage(storage.clone());
            p.append(orders(0..20)).await.unwrap();
            p.append(orders(20..40)).await.unwrap();
            storage.fail_after_effect_at(k);
            let (first, want): (Result<u64, PersistError>, Vec<u64>) = match op {
                "append" => {
                    let mut store = PersistentStore::with_persistence(p.clone())
                        .with_flush_policy(FlushPolicy::Manual);
                    store
                        .add_many((40..60).map(soa_persist::testing::order))
                        .await
                        .unwrap();
                    let first = store.flush().await.map(|_| 0);
                    let fired = storage.calls() >= k;
                    storage.fail_after_effect_at(0);
                    store.flush().await.unwrap();
                    store.flush().await.unwrap();
                    if !fired {
                        break;
                    }
                    (first, (0..60).collect())
                }
                "save" => {
                    let first = p.save(orders(100..120)).await.map(|_| 0);
                    if storage.calls() < k {
                        break;
                    }
                    storage.fail_after_effect_at(0);
                    if first.is_err() {
                        p.save(orders(100..120)).await.unwrap();
                    }
                    (first, (100..120).collect())
                }
                "delete" => {
                    let gone = ConfOrder::fields().id.lt(10u64);
                    let first = p.delete(&gone).await;
                    if storage.calls() < k {
                        break;
                    }
                    storage.fail_after_effect_at(0);
                    match &first {
                        Ok(n) => assert_eq!(*n, 10, "k={k}: exact delete count"),
                        Err(_) => {
                            let again = p.delete(&gone).await.unwrap();
                            assert!(again == 10 || again == 0, "k={k}: {again}");
                        }
                    }
                    (first, (10..40).collect())
                }
                _ => {
                    let first = p.compact().await.map(|(_, after)| after as u64);
                    if storage.calls() < k {
                        break;
                    }
                    storage.fail_after_effect_at(0);
                    if first.is_err() {
                        p.compact().await.unwrap();
                    }
                    (first, (0..40).collect())
                }
            };
            if let Err(e) = &first {
                assert!(
                    e.is_retryable(),
                    "{op} k={k}: an I/O failure is worth retrying: {e}"
                );
            }
            points += 1;
            let fresh = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap();
            assert_eq!(
                ids(&fresh.load().await.unwrap().unwrap()),
                want,
                "{op}, fault after effect at operation {k} ({first:?})"
            );
        }
    }
    eprintln!("fault-after-effect points tried: {points}");
    assert!(points > 20, "{points}");
}

/// A storage that, on request, makes one commit record's answer get lost (written, then an
/// error), or removes a data file just before a commit checks it (a vacuum racing a slow write).
#[derive(Debug)]
struct Twist {
    inner: soa_persist::backends::parquet::LocalStorage,
    lose_record_answer: std::sync::atomic::AtomicBool,
    vacuum_on_head: std::sync::atomic::AtomicBool,
}

impl soa_persist::backends::parquet::Storage for Twist {
    fn put(
        &self,
        path: &str,
        bytes: bytes::Bytes,
    ) -> futures::future::BoxFuture<'_, Result<(), PersistError>> {
        self.inner.put(path, bytes)
    }
    fn put_new(
        &self,
        path: &str,
        bytes: bytes::Bytes,
    ) -> futures::future::BoxFuture<'_, Result<bool, PersistError>> {
        use futures::FutureExt;
        use std::sync::atomic::Ordering;
        let record = path.starts_with("_soa_log/") && path.ends_with(".json");
        let lose = record && self.lose_record_answer.swap(false, Ordering::SeqCst);
        let write = self.inner.put_new(path, bytes);
        async move {
            let won = write.await?;
            if lose {
                return Err(PersistError::Io {
                    backend: "parquet",
                    path: None,
                    source: std::io::Error::new(std::io::ErrorKind::TimedOut, "answer lost"),
                });
            }
            Ok(won)
        }
        .boxed()
    }
    fn get(
        &self,
        path: &str,
    ) -> futures::future::BoxFuture<'_, Result<bytes::Bytes, PersistError>> {
        self.inner.get(path)
    }
    fn head(
        &self,
        path: &str,
    ) -> futures::future::BoxFuture<'_, Result<Option<u64>, PersistError>> {
        use futures::FutureExt;
        let vacuum = self
            .vacuum_on_head
            .load(std::sync::atomic::Ordering::SeqCst)
            && path.ends_with(".parquet");
        let path = path.to_string();
        async move {
            if vacuum {
                self.inner.delete(&path).await?;
            }
            self.inner.head(&path).await
        }
        .boxed()
    }
    fn list(
        &self,
        prefix: &str,
    ) -> futures::future::BoxFuture<
        '_,
        Result<Vec<soa_persist::backends::parquet::Entry>, PersistError>,
    > {
        self.inner.list(prefix)
    }
    fn delete(&self, path: &str) -> futures::future::BoxFuture<'_, Result<(), PersistError>> {
        self.inner.delete(path)
    }
    fn location(&self) -> String {
        self.inner.location()
    }
}

fn twisted(dir: &Path) -> (std::sync::Arc<Twist>, ParquetPersistence<ConfOrder>) {
    let twist = std::sync::Arc::new(Twist {
        inner: soa_persist::backends::parquet::LocalStorage::open(dir).unwrap(),
        lose_record_answer: false.into(),
        vacuum_on_head: false.into(),
    });
    let p = ParquetPersistence::<ConfOrder>::with_storage(twist.clone());
    (twist, p)
}

#[tokio::test]
async fn a_commit_whose_answer_was_lost_recognises_its_own_record() {
    let dir = tempfile::tempdir().unwrap();
    let (twist, p) = twisted(dir.path());
    p.append(orders(0..10)).await.unwrap();
    twist
        .lose_record_answer
        .store(true, std::sync::atomic::Ordering::SeqCst);
    // A plain append, no write id: the record it wrote is recognised as its own.
    p.append(orders(10..20)).await.unwrap();
    assert!(
        !twist
            .lose_record_answer
            .load(std::sync::atomic::Ordering::SeqCst)
    );
    assert_eq!(
        ids(&p.load().await.unwrap().unwrap()),
        (0..20).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_commit_refuses_files_a_vacuum_removed_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let (twist, p) = twisted(dir.path());
    p.append(orders(0..10)).await.unwrap();
    twist
        .vacuum_on_head
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let err = p.append(orders(10..20)).await.unwrap_err();
    assert!(
        matches!(err, PersistError::Conflict { .. }) && err.is_retryable(),
        "{err}"
    );
    twist
        .vacuum_on_head
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        ids(&p.load().await.unwrap().unwrap()),
        (0..10).collect::<Vec<_>>()
    );
    p.append(orders(10..20)).await.unwrap();
    assert_eq!(
        ids(&p.load().await.unwrap().unwrap()),
        (0..20).collect::<Vec<_>>()
    );
}
