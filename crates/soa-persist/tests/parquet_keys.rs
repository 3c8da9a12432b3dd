//! Parquet key index: every row group carries a bloom filter of the key column, and lookups by
//! key (`=`, `IN`) prune with it without ever losing a row, for integer (narrow ones widened
//! by the writer), string and timestamp keys; the store's key contract holds on small row groups.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use soa_persist::prelude::*;
use soa_persist::testing::{ConfOrder, conformance, order, orders};
use soa_persist::{ParquetOptions, Timestamp};

fn small_groups(bloom: bool) -> ParquetOptions {
    ParquetOptions {
        row_group_rows: 64,
        max_rows_per_file: 500,
        key_bloom_filter: bloom,
        ..ParquetOptions::default()
    }
}

fn parquet_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            parquet_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "parquet") {
            out.push(path);
        }
    }
}

#[tokio::test]
async fn every_row_group_has_a_bloom_filter_on_the_key_only() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<ConfOrder>::open(dir.path())
        .unwrap()
        .with_options(small_groups(true));
    p.append(orders(0..1000)).await.unwrap();
    let mut files = Vec::new();
    parquet_files(dir.path(), &mut files);
    assert!(files.len() >= 4, "{files:?}");
    for file in files {
        let reader = SerializedFileReader::new(std::fs::File::open(&file).unwrap()).unwrap();
        for rg in reader.metadata().row_groups() {
            for column in rg.columns() {
                let is_key = column.column_path().string() == "id";
                assert_eq!(
                    column.bloom_filter_offset().is_some(),
                    is_key,
                    "{}: bloom filter on {}",
                    file.display(),
                    column.column_path()
                );
            }
        }
    }
}

#[tokio::test]
async fn lookups_by_key_find_exactly_the_stored_rows() {
    for bloom in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let p = ParquetPersistence::<ConfOrder>::open(dir.path())
            .unwrap()
            .with_options(small_groups(bloom));
        p.append(orders(0..1500)).await.unwrap();
        for k in (0..1600).step_by(7) {
            let got = p.query(&ConfOrder::fields().id.eq(k)).await.unwrap();
            let want = if k < 1500 { vec![order(k)] } else { vec![] };
            // Debug text: some amounts are NaN, which `==` never equals.
            let got = format!("{:?}", got.into_iter().collect::<Vec<_>>());
            assert_eq!(got, format!("{want:?}"), "key {k}, bloom {bloom}");
        }
        let probe: Vec<u64> = (0..3000).step_by(13).collect();
        let n = p
            .count(&ConfOrder::fields().id.is_in(probe.clone()))
            .await
            .unwrap();
        assert_eq!(n, probe.iter().filter(|k| **k < 1500).count() as u64);
        let flags = p.contains_keys(&probe).await.unwrap();
        assert_eq!(flags, probe.iter().map(|k| *k < 1500).collect::<Vec<_>>());
    }
}

#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
pub struct Tag {
    #[soa(key)]
    name: String,
    n: i32,
}

#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
pub struct Small {
    #[soa(key)]
    id: i8,
    n: i32,
}

#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
pub struct Event {
    #[soa(key)]
    at: Timestamp,
    n: i32,
}

#[tokio::test]
async fn string_narrow_integer_and_timestamp_keys_prune_soundly() {
    let dir = tempfile::tempdir().unwrap();
    let tags = ParquetPersistence::<Tag>::open(dir.path().join("tags"))
        .unwrap()
        .with_options(small_groups(true));
    let rows: TagSoA = (0..700)
        .map(|n| Tag {
            name: format!("tag-é-{n}"),
            n,
        })
        .collect();
    tags.append(rows).await.unwrap();
    for n in (0..800).step_by(9) {
        let got = tags
            .count(&Tag::fields().name.eq(format!("tag-é-{n}")))
            .await
            .unwrap();
        assert_eq!(got, u64::from(n < 700), "tag {n}");
    }

    let small = ParquetPersistence::<Small>::open(dir.path().join("small"))
        .unwrap()
        .with_options(small_groups(true));
    small
        .append((-128..=127).map(|id| Small { id, n: 0 }).collect())
        .await
        .unwrap();
    for id in -128..=127i8 {
        assert_eq!(
            small.count(&Small::fields().id.eq(id)).await.unwrap(),
            1,
            "i8 {id}"
        );
    }

    let events = ParquetPersistence::<Event>::open(dir.path().join("events"))
        .unwrap()
        .with_options(small_groups(true));
    let at = |i: i64| Timestamp::new(1_700_000_000_000_000 + i * 1_000_003);
    events
        .append((0..600).map(|i| Event { at: at(i), n: 0 }).collect())
        .await
        .unwrap();
    for i in (0..650).step_by(11) {
        let got = events.count(&Event::fields().at.eq(at(i))).await.unwrap();
        assert_eq!(got, u64::from(i < 600), "event {i}");
    }
}

#[tokio::test]
async fn the_key_contract_holds_on_small_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<ConfOrder>::open(dir.path())
        .unwrap()
        .with_options(small_groups(true));
    conformance::flush_refuses_stored_keys(p.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<ConfOrder>::open(dir.path())
        .unwrap()
        .with_options(small_groups(true));
    conformance::upsert_replaces_by_key(p).await;
}

#[tokio::test]
async fn key_checks_hold_on_spark_profile_files_too() {
    // Spark-profile files store the u64 key as a decimal: the check falls back to a scan.
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<ConfOrder>::open(dir.path())
        .unwrap()
        .with_options(ParquetOptions {
            spark_compatible: true,
            ..small_groups(true)
        });
    p.append(orders(0..300)).await.unwrap();
    let probe: Vec<u64> = vec![0, 299, 300, 1_000, 150];
    assert_eq!(
        p.contains_keys(&probe).await.unwrap(),
        [true, true, false, false, true]
    );
    let dir = tempfile::tempdir().unwrap();
    let spark = ParquetOptions {
        spark_compatible: true,
        ..small_groups(true)
    };
    let p = ParquetPersistence::<ConfOrder>::open(dir.path())
        .unwrap()
        .with_options(spark);
    conformance::flush_refuses_stored_keys(p).await;
}
