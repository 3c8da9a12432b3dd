//! `ParquetPersistence`: the shared conformance suite on a local folder and on `memory://`,
//! plus atomicity under injected faults, bad input, partition escaping, schema evolution,
//! writer settings, compaction and vacuum.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::sync::Arc;
use std::time::Duration;

use soa_persist::backends::parquet::{LocalStorage, Storage};
use soa_persist::prelude::*;
use soa_persist::testing::FaultyStorage;
use soa_persist::testing::{ConfOrder, ConfStatus, conformance, orders};
use soa_persist::{Compression, ParquetOptions};

fn ids(rows: &ConfOrderSoA) -> Vec<u64> {
    let mut ids = rows.id.clone();
    ids.sort_unstable();
    ids
}
use soa_persist::testing::ConfOrderSoA;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn local_folder_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::sync::atomic::AtomicUsize::new(0);
    conformance::run_all(|| {
        let path = dir.path().join(format!(
            "ds{}",
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        async move { ParquetPersistence::<ConfOrder>::open(path).unwrap() }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_object_store_passes_the_conformance_suite() {
    conformance::run_all(|| async {
        ParquetPersistence::<ConfOrder>::open_url("memory://").unwrap()
    })
    .await;
}

#[tokio::test]
async fn small_row_groups_and_files_still_pass_predicates() {
    // Many files and row groups make pruning do real work; results must not change.
    let dir = tempfile::tempdir().unwrap();
    let options = ParquetOptions {
        row_group_rows: 16,
        max_rows_per_file: 50,
        ..ParquetOptions::default()
    };
    let p = ParquetPersistence::<ConfOrder>::open(dir.path())
        .unwrap()
        .with_options(options);
    conformance::predicates_match_reference(&p).await;
    let stats = p.stats().await.unwrap();
    assert!(
        stats.files.unwrap() >= 10 && stats.row_groups.unwrap() > stats.files.unwrap(),
        "{stats}"
    );
}

#[tokio::test]
async fn layout_is_hive_partitioned_with_hidden_temporaries_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap();
    p.append(orders(0..40)).await.unwrap();
    let storage = LocalStorage::open(dir.path()).unwrap();
    let files: Vec<String> = storage
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    for status in ["Pending", "Shipped", "Delivered", "Returned"] {
        assert!(
            files.iter().any(
                |f| f.starts_with(&format!("status={status}/part-")) && f.ends_with(".parquet")
            ),
            "{files:?}"
        );
    }
    assert!(files.iter().any(|f| f.starts_with("_soa_log/")));
    assert!(
        files.iter().all(|f| !f.contains(".tmp")),
        "no temporaries left: {files:?}"
    );
}

#[tokio::test]
async fn every_failed_operation_of_a_save_or_append_leaves_the_previous_state() {
    let dir = tempfile::tempdir().unwrap();
    let faulty = Arc::new(FaultyStorage::new(LocalStorage::open(dir.path()).unwrap()));
    let p = ParquetPersistence::<ConfOrder>::with_storage(faulty.clone());
    p.save(orders(0..30)).await.unwrap();
    let before = ids(&p.load().await.unwrap().unwrap());

    // Count the operations of one append and one save when nothing fails.
    faulty.fail_at(0);
    let probe = ParquetPersistence::<ConfOrder>::open(tempfile::tempdir().unwrap().path()).unwrap();
    drop(probe);
    let mut trials = 0;
    for op in ["append", "save"] {
        for k in 1.. {
            faulty.fail_at(k);
            let result = match op {
                "append" => p.append(orders(100..120)).await,
                _ => p.save(orders(200..205)).await,
            };
            let calls = faulty.calls();
            faulty.fail_at(0);
            let now = ids(&p.load().await.unwrap().unwrap());
            match result {
                Err(e) => {
                    trials += 1;
                    assert!(e.is_retryable(), "{e}");
                    assert_eq!(
                        now, before,
                        "{op}: failing operation {k} changed the committed state"
                    );
                }
                Ok(()) => {
                    assert!(calls < k, "{op}: operation {k} was to fail");
                    // Went through: undo it for the next round.
                    p.save(orders(0..30)).await.unwrap();
                    break;
                }
            }
        }
    }
    assert!(trials >= 10, "only {trials} fault trials");
    eprintln!("fault trials: {trials}");
}

#[tokio::test]
async fn bad_files_give_typed_errors_and_lose_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap();
    p.append(orders(0..20)).await.unwrap();
    let storage = LocalStorage::open(dir.path()).unwrap();
    let victim = storage.list("status=Shipped").await.unwrap().remove(0).path;
    let original = storage.get(&victim).await.unwrap();

    // Truncated file.
    storage
        .put(&victim, original.slice(..original.len() / 2))
        .await
        .unwrap();
    let err = p.load().await.unwrap_err();
    assert!(
        matches!(&err, PersistError::Corrupt { detail, .. } if detail.contains(&victim)),
        "{err}"
    );
    // Random bytes.
    storage
        .put(&victim, bytes::Bytes::from(vec![7u8; 1000]))
        .await
        .unwrap();
    assert!(matches!(
        p.load().await.unwrap_err(),
        PersistError::Corrupt { .. }
    ));
    // Missing file.
    storage.delete(&victim).await.unwrap();
    let err = p.load().await.unwrap_err();
    assert!(
        matches!(&err, PersistError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{err}"
    );
    // Restored: everything committed is still there.
    storage.put(&victim, original).await.unwrap();
    assert_eq!(
        ids(&p.load().await.unwrap().unwrap()),
        (0..20).collect::<Vec<_>>()
    );
    // A file of another schema.
    #[derive(SoA, Clone, Debug, PartialEq)]
    struct Other {
        id: String,
    }
    let other = ParquetPersistence::<Other>::open(dir.path().join("other")).unwrap();
    other
        .append([Other { id: "x".into() }].into_iter().collect())
        .await
        .unwrap();
    let wrong = ParquetPersistence::<ConfOrder>::open(dir.path().join("other")).unwrap();
    let err = wrong.load().await.unwrap_err();
    assert!(
        matches!(&err, PersistError::Convert(e) if e.field() == "id" || e.field() == "customer"),
        "{err}"
    );
    // A corrupt commit record (the newest, which every reader must read).
    let log = storage
        .list("_soa_log")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .filter(|p| p.ends_with(".json"))
        .max()
        .unwrap();
    storage
        .put(&log, bytes::Bytes::from_static(b"{not json"))
        .await
        .unwrap();
    let fresh = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap();
    let err = fresh.load().await.unwrap_err();
    assert!(matches!(err, PersistError::Corrupt { .. }), "{err}");
    assert!(!err.is_retryable());
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Tagged {
    id: u32,
    #[soa(partition)]
    tag: String,
    #[soa(partition)]
    day: Option<i32>,
}

#[tokio::test]
async fn partition_values_are_escaped_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Tagged>::open(dir.path().join("ds")).unwrap();
    let tags = [
        "../../x", "a/b=c", ".hidden", "_meta", "%41", "ünï", "", "plain",
    ];
    let rows: TaggedSoA = tags
        .iter()
        .enumerate()
        .map(|(i, t)| Tagged {
            id: i as u32,
            tag: t.to_string(),
            day: (i % 2 == 0).then_some(i as i32),
        })
        .collect();
    p.save(rows.clone()).await.unwrap();
    let mut back = p.load().await.unwrap().unwrap();
    back.sort_by_key(|r| *r.id);
    assert_eq!(back, rows);
    // Nothing escaped the dataset folder.
    let outside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, ["ds"]);
    let hits = p.query(&Tagged::fields().tag.eq("a/b=c")).await.unwrap();
    assert_eq!(hits.id, [1]);
    assert_eq!(p.count(&Tagged::fields().day.is_null()).await.unwrap(), 4);
}

#[tokio::test]
async fn older_data_loads_into_a_newer_struct_and_incompatible_changes_are_named() {
    mod v1 {
        use soa_persist::prelude::*;
        #[derive(SoA, Clone, Debug, PartialEq)]
        #[soa(rename = "Item")]
        pub struct Item {
            pub id: u64,
            pub name: String,
            pub removed: i32,
        }
    }
    mod v2 {
        use soa_persist::prelude::*;
        fn unnamed() -> String {
            "?".into()
        }
        #[derive(SoA, Clone, Debug, PartialEq)]
        #[soa(rename = "Item")]
        pub struct Item {
            pub id: u64,
            pub name: String,
            pub note: Option<String>,
            #[soa(default)]
            pub score: f64,
            #[soa(default = "unnamed")]
            pub alias: String,
        }
    }
    mod v3 {
        use soa_persist::prelude::*;
        #[derive(SoA, Clone, Debug, PartialEq)]
        #[soa(rename = "Item")]
        pub struct Item {
            pub id: u64,
            pub name: f64,
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let old = ParquetPersistence::<v1::Item>::open(dir.path()).unwrap();
    old.append(
        [v1::Item {
            id: 1,
            name: "a".into(),
            removed: 9,
        }]
        .into_iter()
        .collect(),
    )
    .await
    .unwrap();
    let new = ParquetPersistence::<v2::Item>::open(dir.path()).unwrap();
    let rows = new.load().await.unwrap().unwrap();
    assert_eq!(
        (rows.note[0].clone(), rows.score[0], rows.alias[0].as_str()),
        (None, 0.0, "?")
    );
    new.append(
        [v2::Item {
            id: 2,
            name: "b".into(),
            note: Some("n".into()),
            score: 1.0,
            alias: "x".into(),
        }]
        .into_iter()
        .collect(),
    )
    .await
    .unwrap();
    assert_eq!(
        new.count(&v2::Item::fields().name.eq("a")).await.unwrap(),
        1
    );
    let err = ParquetPersistence::<v3::Item>::open(dir.path())
        .unwrap()
        .load()
        .await
        .unwrap_err();
    match err {
        PersistError::Convert(soa_persist::ConvertError::TypeMismatch { field, .. }) => {
            assert_eq!(field, "name")
        }
        e => panic!("{e}"),
    }
}

#[tokio::test]
async fn codecs_and_spark_profile_round_trip() {
    #[derive(SoA, Clone, Debug, PartialEq)]
    struct Wide {
        a: u64,
        b: u32,
        c: u16,
        #[soa(timestamp = "ns")]
        at: DateTime<Utc>,
        raw: soa_persist::Timestamp<soa_persist::Nanos>,
    }
    let rows: WideSoA = (0..100u64)
        .map(|i| Wide {
            a: i * 1_000_000_007,
            b: u32::MAX - i as u32,
            c: i as u16,
            at: DateTime::from_timestamp_micros(i as i64 * 999).unwrap(),
            raw: soa_persist::Timestamp::new(i as i64 * 1000),
        })
        .collect();
    for compression in [
        Compression::Zstd(1),
        Compression::Zstd(19),
        Compression::Snappy,
        Compression::Lz4Raw,
        Compression::Gzip(6),
        Compression::None,
    ] {
        for spark_compatible in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let options = ParquetOptions {
                compression,
                spark_compatible,
                ..ParquetOptions::default()
            };
            let p = ParquetPersistence::<Wide>::open(dir.path())
                .unwrap()
                .with_options(options);
            p.save(rows.clone()).await.unwrap();
            assert_eq!(
                p.load().await.unwrap().unwrap(),
                rows,
                "{compression:?} spark={spark_compatible}"
            );
        }
    }
    // The Spark profile refuses what it can't store exactly.
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Wide>::open(dir.path())
        .unwrap()
        .with_options(ParquetOptions {
            spark_compatible: true,
            ..ParquetOptions::default()
        });
    let mut bad = rows.clone();
    bad.a[3] = u64::MAX;
    assert!(matches!(p.save(bad).await.unwrap_err(), PersistError::Convert(e) if e.field() == "a"));
    assert!(p.load().await.unwrap().is_none(), "nothing was committed");
}

/// The dictionary kind of each column chunk of `file`: whether it has a dictionary page.
fn dictionary_pages(file: &std::path::Path) -> Vec<(String, bool)> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(file).unwrap()).unwrap();
    let group = reader.metadata().row_group(0);
    group
        .columns()
        .iter()
        .map(|c| {
            (
                c.column_path().string(),
                c.dictionary_page_offset().is_some(),
            )
        })
        .collect()
}

#[tokio::test]
async fn mostly_distinct_columns_are_written_without_a_dictionary() {
    #[derive(SoA, Clone, Debug, PartialEq)]
    struct Visit {
        id: u64,
        page: String,
        query: Option<String>,
        score: Option<i32>,
    }
    let rows: VisitSoA = (0..5000u64)
        .map(|i| Visit {
            id: i,
            page: format!("page-{}", i % 20),
            query: (i % 3 != 0).then(|| format!("query {i}")),
            score: (i % 2 == 0).then_some((i % 7) as i32),
        })
        .collect();
    for dictionary in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let p = ParquetPersistence::<Visit>::open(dir.path())
            .unwrap()
            .with_options(ParquetOptions {
                dictionary,
                ..ParquetOptions::default()
            });
        p.save(rows.clone()).await.unwrap();
        let files = p.live_files().await.unwrap().unwrap();
        let want = [
            ("id", false),
            ("page", dictionary),
            ("query", false),
            ("score", dictionary),
        ];
        let want: Vec<(String, bool)> = want.iter().map(|(c, d)| (c.to_string(), *d)).collect();
        assert_eq!(
            dictionary_pages(&files[0].path),
            want,
            "dictionary: {dictionary}"
        );
        assert_eq!(p.load().await.unwrap().unwrap(), rows);
    }
}

#[tokio::test]
async fn compact_merges_files_and_vacuum_removes_only_unreferenced_ones() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap();
    for i in 0..10 {
        p.append(orders(i * 10..i * 10 + 10)).await.unwrap();
    }
    assert_eq!(p.stats().await.unwrap().files, Some(40));
    let (before, after) = p.compact().await.unwrap();
    assert_eq!((before, after), (40, 4));
    assert_eq!(
        ids(&p.load().await.unwrap().unwrap()),
        (0..100).collect::<Vec<_>>()
    );
    // Files of recent snapshots are kept; with no versions kept and no retention, the 40 go.
    assert_eq!(
        p.vacuum(Duration::from_secs(3600), 0).await.unwrap(),
        0,
        "retention protects young files"
    );
    assert_eq!(
        p.vacuum(Duration::ZERO, 5).await.unwrap(),
        0,
        "recent snapshots still refer to them"
    );
    assert_eq!(p.vacuum(Duration::ZERO, 0).await.unwrap(), 40);
    assert_eq!(
        ids(&p.load().await.unwrap().unwrap()),
        (0..100).collect::<Vec<_>>()
    );
    let s = p.stats().await.unwrap();
    assert!(
        s.columns
            .iter()
            .all(|c| c.compression_ratio.is_some_and(|r| r > 0.0)),
        "{:?}",
        s.columns
    );
    assert!(s.bytes_on_disk.unwrap() > 0);
}

#[tokio::test]
async fn two_handles_appending_concurrently_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap();
    let b = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap();
    let ta = tokio::spawn(async move {
        for i in 0..20 {
            a.append(orders(i * 5..i * 5 + 5)).await.unwrap();
        }
    });
    let tb = tokio::spawn(async move {
        for i in 20..40 {
            b.append(orders(i * 5..i * 5 + 5)).await.unwrap();
        }
    });
    ta.await.unwrap();
    tb.await.unwrap();
    let p = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap();
    assert_eq!(
        ids(&p.load().await.unwrap().unwrap()),
        (0..200).collect::<Vec<_>>()
    );
    let _ = ConfStatus::Pending;
}
