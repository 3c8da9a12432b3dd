//! Maintenance of Parquet datasets with and without the struct: `restore` (an older version
//! committed again, refused by name for unknown and vacuumed versions, writing nothing), and
//! `compact`, `vacuum` and `repair` on a schema-less `ParquetDataset` doing what the typed
//! handle's do (files of an older schema left alone), with progress told as they go.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod sale;

use std::sync::Mutex;
use std::time::Duration;

use sale::{Sale, sales};
use soa_persist::backends::parquet::{DatasetVersion, ParquetDataset, Progress};
use soa_persist::prelude::*;

async fn rows(p: &ParquetPersistence<Sale>) -> Vec<Sale> {
    let mut rows: Vec<Sale> = p.load().await.unwrap().unwrap().into_iter().collect();
    rows.sort_by_key(|s| s.id);
    rows
}

fn expected(ids: impl IntoIterator<Item = u64>) -> Vec<Sale> {
    ids.into_iter()
        .flat_map(|id| sales(id..id + 1).into_iter())
        .collect()
}

async fn newest(p: &ParquetPersistence<Sale>) -> u64 {
    p.history().await.unwrap().commits.last().unwrap().version
}

/// A dataset whose first version (returned) a `save` replaced; its files are still there.
async fn replaced() -> (tempfile::TempDir, ParquetPersistence<Sale>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
    p.append(sales(0..4)).await.unwrap();
    let old = newest(&p).await;
    p.save(sales(10..12)).await.unwrap();
    (dir, p, old)
}

fn file_paths(dataset: &DatasetVersion) -> Vec<String> {
    let mut paths: Vec<String> = dataset.files().into_iter().map(|f| f.path).collect();
    paths.sort();
    paths
}

#[tokio::test]
async fn restore_commits_an_older_version_again_and_history_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
    p.append(sales(0..4)).await.unwrap();
    let first = newest(&p).await;
    p.append(sales(4..8)).await.unwrap();
    p.delete(&Sale::fields().id.lt(3u64)).await.unwrap();
    p.compact().await.unwrap();
    let before = newest(&p).await;

    let restored = p.restore(first).await.unwrap();
    assert_eq!(restored, before + 1);
    assert_eq!(rows(&p).await, expected(0..4));
    assert_eq!(
        file_paths(&p.at_version(restored).await.unwrap()),
        file_paths(&p.at_version(first).await.unwrap()),
        "the new version's files are exactly the old version's"
    );
    let history = p.history().await.unwrap();
    let last = history.commits.last().unwrap();
    assert_eq!(
        (last.operation.as_str(), last.restored_from, last.version),
        ("restore", Some(first), restored)
    );
    assert_eq!((last.rows_added, last.rows_removed), (4, Some(5)));
    // The versions in between stay readable, and a restore can be undone by another.
    assert_eq!(p.at_version(before).await.unwrap().rows(), 5);
    p.restore(before).await.unwrap();
    assert_eq!(rows(&p).await, expected(3..8));
    // Writes go on from the restored state.
    p.append(sales(20..21)).await.unwrap();
    assert_eq!(rows(&p).await.len(), 6);
}

#[tokio::test]
async fn restore_of_an_unknown_or_vacuumed_version_says_why_and_writes_nothing() {
    let (dir, p, old) = replaced().await;
    let dataset = ParquetDataset::open(dir.path()).unwrap();

    let err = dataset.restore(old + 10).await.unwrap_err();
    assert!(matches!(err, PersistError::InvalidInput { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("can't restore version {}", old + 10))
            && err.to_string().contains("does not exist"),
        "{err}"
    );

    dataset.vacuum(Duration::ZERO, 0).await.unwrap();
    let commits = dataset.history().await.unwrap().commits.len();
    let err = dataset.restore(old).await.unwrap_err();
    assert!(matches!(err, PersistError::InvalidInput { .. }), "{err}");
    assert!(err.to_string().contains("vacuum removed its file"), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(dataset.history().await.unwrap().commits.len(), commits);
    assert_eq!(rows(&p).await, expected(10..12));
}

#[tokio::test]
async fn a_dataset_without_its_struct_compacts_like_the_typed_handle() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
    for i in 0..5 {
        p.append(sales(i * 10..i * 10 + 10)).await.unwrap();
    }
    p.delete(&Sale::fields().id.eq(7u64)).await.unwrap();
    let before = rows(&p).await;
    let dataset = ParquetDataset::open(dir.path()).unwrap();
    let progress = Recorder::default();
    let (files_before, files_after) = dataset.compact_with(&progress).await.unwrap();
    assert_eq!((files_before, files_after), (10, 2), "one file per region");
    assert_eq!(rows(&p).await, before, "the same rows, read by the struct");
    assert!(dataset.verify().await.unwrap().is_clean());
    let history = dataset.history().await.unwrap();
    let last = history.commits.last().unwrap();
    assert_eq!(last.operation, "compact");
    assert_eq!(last.rows_added, 49);
    assert_eq!(last.rows_removed, Some(49));
    progress.told_everything(10, 49);
    assert_eq!(
        dataset.compact().await.unwrap(),
        (2, 2),
        "nothing left to do"
    );
}

#[derive(SoA, Clone, Debug, PartialEq)]
#[soa(rename = "Sale")]
struct SaleV2 {
    #[soa(key)]
    id: u64,
    #[soa(partition)]
    region: String,
    amount: f64,
    note: Option<String>,
}

#[tokio::test]
async fn without_the_struct_files_of_an_older_schema_are_left_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let old = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
    old.append(sales(0..2)).await.unwrap();
    old.append(sales(2..4)).await.unwrap();
    let new = ParquetPersistence::<SaleV2>::open(dir.path()).unwrap();
    for id in [10u64, 12] {
        let row = SaleV2 {
            id,
            region: "north".into(),
            amount: 1.0,
            note: Some(format!("n{id}")),
        };
        new.append(std::iter::once(row).collect::<SaleV2SoA>())
            .await
            .unwrap();
    }
    let dataset = ParquetDataset::open(dir.path()).unwrap();
    // north: 2 old + 2 new files; south: 2 old files. Only the two new ones merge.
    assert_eq!(dataset.compact().await.unwrap(), (6, 5));
    assert!(dataset.verify().await.unwrap().is_clean());
    let loaded = new.load().await.unwrap().unwrap();
    let mut ids = loaded.id.clone();
    ids.sort_unstable();
    assert_eq!(ids, [0, 1, 2, 3, 10, 12]);
    // The typed handle brings the older files up to its schema.
    assert_eq!(new.compact().await.unwrap(), (5, 2));
    assert!(dataset.verify().await.unwrap().is_clean());
    assert_eq!(new.load().await.unwrap().unwrap().len(), 6);
}

#[tokio::test]
async fn a_dataset_without_its_struct_vacuums_only_what_it_owns() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let p = ParquetPersistence::<Sale>::open(root).unwrap();
    p.append(sales(0..10)).await.unwrap();
    p.save(sales(100..104)).await.unwrap();
    // An uncommitted file of ours (a writer killed before its commit) in a partition folder,
    // another tool's file in a folder of its own, and a dataset in a subfolder.
    std::fs::copy(
        root.join(&p.at_version(newest(&p).await).await.unwrap().files()[0].path),
        root.join("region=north/part-0123456789abcdef0123456789abcdef.parquet"),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("exports")).unwrap();
    std::fs::write(root.join("exports/report.parquet"), b"not ours").unwrap();
    let inner = ParquetPersistence::<Sale>::open(root.join("inner")).unwrap();
    inner.append(sales(0..2)).await.unwrap();
    let inner_old = newest(&inner).await;
    inner.save(sales(0..1)).await.unwrap();

    let dataset = ParquetDataset::open(root).unwrap();
    let removed = dataset.vacuum(Duration::ZERO, 0).await.unwrap();
    assert_eq!(removed, 3, "the append's two files and the orphan");
    assert!(root.join("exports/report.parquet").exists());
    // The nested dataset's replaced files are still there: its old version reads back.
    assert_eq!(inner.at_version(inner_old).await.unwrap().rows(), 2);
    assert_eq!(rows(&p).await, expected(100..104));
    assert_eq!(dataset.vacuum(Duration::ZERO, 0).await.unwrap(), 0);
}

#[tokio::test]
async fn a_dataset_without_its_struct_repairs_missing_files_and_a_lost_log() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
    p.append(sales(0..10)).await.unwrap();
    let dataset = ParquetDataset::open(dir.path()).unwrap();
    let victim = dataset.current().await.unwrap().files()[0].clone();
    std::fs::remove_file(dir.path().join(&victim.path)).unwrap();
    assert!(!dataset.verify().await.unwrap().is_clean());

    let report = dataset.repair().await.unwrap();
    assert_eq!(report.missing_files, std::slice::from_ref(&victim.path));
    assert_eq!(report.rows_lost, victim.rows);
    assert!(dataset.verify().await.unwrap().is_clean());
    assert_eq!(rows(&p).await.len() as u64, 10 - victim.rows);
    assert!(dataset.repair().await.unwrap().is_clean());

    std::fs::remove_dir_all(dir.path().join("_soa_log")).unwrap();
    let fresh = ParquetDataset::open(dir.path()).unwrap();
    assert!(fresh.verify().await.is_err(), "a lost log is reported");
    let report = fresh.repair().await.unwrap();
    assert_eq!(report.adopted_files.len(), 1);
    assert!(fresh.verify().await.unwrap().is_clean());
    let fresh_typed = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
    assert_eq!(
        fresh_typed.load().await.unwrap().unwrap().len() as u64,
        10 - victim.rows
    );
}

/// Sums what a `Progress` was told.
#[derive(Default)]
struct Recorder {
    told: Mutex<((u64, u64), (u64, u64))>,
}

impl Progress for Recorder {
    fn start(&self, files: u64, rows: u64, _: u64) {
        self.told.lock().unwrap().0 = (files, rows);
    }

    fn advance(&self, files: u64, rows: u64, _: u64) {
        let mut told = self.told.lock().unwrap();
        told.1 = (told.1.0 + files, told.1.1 + rows);
    }
}

impl Recorder {
    /// The work announced was `files` files of `rows` rows, and all of it was done.
    fn told_everything(&self, files: u64, rows: u64) {
        let told = *self.told.lock().unwrap();
        assert_eq!(told, ((files, rows), (files, rows)));
    }
}

#[tokio::test]
async fn verify_tells_progress_of_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
    p.append(sales(0..6)).await.unwrap();
    p.append(sales(6..9)).await.unwrap();
    let progress = Recorder::default();
    let report = p.dataset().verify_with(true, &progress).await.unwrap();
    assert!(report.is_clean());
    progress.told_everything(4, 9);
}

/// Restores `version` (once) while the vacuum it is handed to is half-way through.
struct RestoreMidway {
    dataset: ParquetDataset,
    version: u64,
    done: std::sync::atomic::AtomicBool,
}

impl Progress for RestoreMidway {
    fn advance(&self, _: u64, _: u64, _: u64) {
        if self.done.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let (dataset, version) = (self.dataset.clone(), self.version);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(dataset.restore(version)).unwrap();
        })
        .join()
        .unwrap();
    }
}

#[tokio::test]
async fn a_restore_that_commits_while_vacuum_runs_keeps_its_files() {
    let (dir, p, old) = replaced().await;
    let dataset = ParquetDataset::open(dir.path()).unwrap();
    let midway = RestoreMidway {
        dataset: dataset.clone(),
        version: old,
        done: Default::default(),
    };
    // When it started, nothing kept the old version's files; the restore names them again.
    let removed = dataset
        .vacuum_with(Duration::ZERO, 0, &midway)
        .await
        .unwrap();
    assert_eq!(removed, 0);
    assert!(dataset.verify().await.unwrap().is_clean());
    assert_eq!(rows(&p).await, expected(0..4));
}
