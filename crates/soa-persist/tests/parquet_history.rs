//! History, time travel and verification of Parquet datasets: the commits listed after appends,
//! a delete and a compact; an older version read back exactly; unknown and vacuumed versions
//! refused with clear errors; history after checkpoints; `verify` on clean and damaged files.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod sale;

use std::time::Duration;

use sale::{Sale, sales};
use soa_persist::backends::parquet::ParquetDataset;
use soa_persist::prelude::*;
use soa_persist::{Compression, ParquetOptions};

async fn ids_at(p: &ParquetPersistence<Sale>, version: u64) -> Vec<u64> {
    let view = p.at_version(version).await.unwrap();
    let mut out = Vec::new();
    for batch in view.read(None).await.unwrap() {
        let ids = batch.column_by_name("id").unwrap();
        let ids = ids
            .as_any()
            .downcast_ref::<soa_persist::arrow::array::UInt64Array>()
            .unwrap();
        out.extend(ids.values().iter().copied());
    }
    out.sort_unstable();
    out
}

#[tokio::test]
async fn history_lists_each_commit_and_older_versions_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
    p.append(sales(0..4)).await.unwrap();
    p.append(sales(4..8)).await.unwrap();
    p.delete(&Sale::fields().id.lt(2u64)).await.unwrap();
    p.compact().await.unwrap();

    let history = p.history().await.unwrap();
    assert!(history.is_complete());
    let ops: Vec<&str> = history
        .commits
        .iter()
        .map(|c| c.operation.as_str())
        .collect();
    assert_eq!(
        &ops[ops.len() - 4..],
        ["append", "append", "delete", "compact"]
    );
    let first_append = &history.commits[ops.len() - 4];
    assert_eq!((first_append.rows_added, first_append.files_added), (4, 2));
    assert_eq!(first_append.rows_removed, Some(0));
    let compact = history.commits.last().unwrap();
    assert_eq!(compact.rows_added, compact.rows_removed.unwrap());

    assert_eq!(ids_at(&p, first_append.version).await, [0, 1, 2, 3]);
    assert_eq!(
        ids_at(&p, first_append.version + 1).await,
        (0..8).collect::<Vec<_>>()
    );
    assert_eq!(
        ids_at(&p, compact.version).await,
        (2..8).collect::<Vec<_>>()
    );

    let err = p.at_version(compact.version + 5).await.unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn a_version_whose_files_vacuum_removed_names_the_vacuum() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
    p.append(sales(0..4)).await.unwrap();
    let old = p.history().await.unwrap().commits.last().unwrap().version;
    p.save(sales(10..12)).await.unwrap();
    p.vacuum(Duration::ZERO, 0).await.unwrap();
    let err = p.at_version(old).await.unwrap_err();
    assert!(err.to_string().contains("vacuum"), "{err}");
}

#[tokio::test]
async fn history_after_a_checkpoint_lists_what_the_log_still_holds() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
    for i in 0..102 {
        p.append(sales(i * 2..i * 2 + 1)).await.unwrap();
    }
    p.vacuum(Duration::ZERO, 0).await.unwrap();
    let history = ParquetDataset::open(dir.path())
        .unwrap()
        .history()
        .await
        .unwrap();
    assert_eq!(history.first_version, 100);
    assert!(!history.is_complete());
    let versions: Vec<u64> = history.commits.iter().map(|c| c.version).collect();
    assert_eq!(versions, [100, 101, 102]);
    // The version a checkpoint holds is readable; the ones before are gone, by name.
    assert_eq!(p.at_version(100).await.unwrap().rows(), 100);
    let err = p.at_version(50).await.unwrap_err();
    assert!(err.to_string().contains("vacuum"), "{err}");
}

#[tokio::test]
async fn verify_finds_nothing_on_a_healthy_dataset_and_names_a_truncated_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
    p.append(sales(0..6)).await.unwrap();
    let dataset = p.dataset();
    let report = dataset.verify().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!((report.files, report.rows), (2, 6));

    let victim = dataset.current().await.unwrap().files()[0].path.clone();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join(&victim))
        .unwrap();
    file.set_len(10).unwrap();
    let report = dataset.verify().await.unwrap();
    assert!(!report.is_clean());
    assert!(
        report.problems.iter().all(|pr| pr.path == victim),
        "{report:?}"
    );
    // Verify changes nothing: the damage is still there to be seen.
    assert!(!dataset.verify().await.unwrap().is_clean());
}

#[tokio::test]
async fn a_folder_without_a_dataset_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = ParquetDataset::open(dir.path())
        .unwrap()
        .history()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a dataset"), "{err}");
    assert!(ParquetDataset::open(dir.path().join("nope")).is_err());
}

#[tokio::test]
async fn verify_pages_finds_damaged_data_behind_a_sound_footer() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Sale>::open(dir.path())
        .unwrap()
        .with_options(ParquetOptions {
            compression: Compression::None,
            ..ParquetOptions::default()
        });
    p.append(sales(0..2000)).await.unwrap();
    let dataset = p.dataset();
    assert!(dataset.verify_pages().await.unwrap().is_clean());
    let victim = dataset.current().await.unwrap().files()[0].path.clone();
    let path = dir.path().join(&victim);
    let mut bytes = std::fs::read(&path).unwrap();
    // Garbage over the data pages; the footer at the end stays intact.
    for b in &mut bytes[4..200] {
        *b = 0xff;
    }
    std::fs::write(&path, &bytes).unwrap();
    assert!(
        dataset.verify().await.unwrap().is_clean(),
        "footer checks pass"
    );
    let report = dataset.verify_pages().await.unwrap();
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert_eq!(report.problems[0].path, victim);
}

#[tokio::test]
async fn as_of_a_time_reads_the_version_current_then() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
    let before = std::time::SystemTime::now() - Duration::from_secs(3600);
    p.append(sales(0..4)).await.unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let between = std::time::SystemTime::now();
    std::thread::sleep(Duration::from_millis(20));
    p.append(sales(4..6)).await.unwrap();
    assert_eq!(p.as_of(between).await.unwrap().rows(), 4);
    assert_eq!(
        p.as_of(std::time::SystemTime::now()).await.unwrap().rows(),
        6
    );
    let err = p.as_of(before).await.unwrap_err();
    assert!(err.to_string().contains("no version that early"), "{err}");
}

#[tokio::test]
async fn scan_version_reads_an_older_version_through_the_typed_api() {
    use futures::TryStreamExt;
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
    p.append(sales(0..6)).await.unwrap();
    let old = p.history().await.unwrap().commits.last().unwrap().version;
    p.save(sales(100..102)).await.unwrap();
    let scan = Scan::filter(Sale::fields().amount.gt(3.0)).project(["id", "region"]);
    let batches: Vec<_> = p
        .scan_version(old, scan)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 3, "ids 3, 4, 5 have amount > 3");
    assert_eq!(
        batches[0].schema().field(1).data_type(),
        &soa_persist::arrow::datatypes::DataType::Utf8
    );
    assert!(p.scan_version(old + 9, Scan::all()).await.is_err());
}
