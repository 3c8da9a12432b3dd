//! `soa convert` run as a process: a dataset re-partitioned and re-compressed with progress
//! lines, the Spark profile, a round trip through a DuckDB table (feature `duckdb`), a failed
//! copy leaving no table, and bad input as one-line errors with exit code 2.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod common;

use std::path::Path;

use common::{fails_with, ok, order, soa, stderr, write_orders};
use soa_persist::arrow::array::{Array, AsArray, RecordBatch};
use soa_persist::arrow::compute::cast;
use soa_persist::arrow::datatypes::{DataType, Float64Type, UInt64Type};
use soa_persist::backends::parquet::ParquetDataset;

/// One row as text and numbers: id, region, status, amount, note.
type Row = (u64, String, String, f64, Option<String>);

fn column(batch: &RecordBatch, name: &str, to: &DataType) -> std::sync::Arc<dyn Array> {
    cast(batch.column_by_name(name).unwrap(), to).unwrap()
}

/// Every row of the dataset at `path`, read without its struct, sorted by id.
fn rows_of(path: &Path) -> Vec<Row> {
    let batches = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let view = ParquetDataset::open(path).unwrap().current().await.unwrap();
        view.read(None).await.unwrap()
    });
    let mut rows = Vec::new();
    for b in &batches {
        let id = column(b, "id", &DataType::UInt64);
        let region = column(b, "region", &DataType::Utf8);
        let status = column(b, "status", &DataType::Utf8);
        let amount = column(b, "amount", &DataType::Float64);
        let note = column(b, "note", &DataType::Utf8);
        for i in 0..b.num_rows() {
            rows.push((
                id.as_primitive::<UInt64Type>().value(i),
                region.as_string::<i32>().value(i).to_string(),
                status.as_string::<i32>().value(i).to_string(),
                amount.as_primitive::<Float64Type>().value(i),
                note.is_valid(i)
                    .then(|| note.as_string::<i32>().value(i).to_string()),
            ));
        }
    }
    rows.sort_by_key(|r| r.0);
    rows
}

/// What `rows_of` reads from a copy of orders `0..n`.
fn expected(n: u64) -> Vec<Row> {
    (0..n)
        .map(order)
        .map(|o| (o.id, o.region, format!("{:?}", o.status), o.amount, o.note))
        .collect()
}

/// The top-level folders of a dataset (partition folders and `_soa_log`).
fn folders(path: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(path)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn a_copy_repartitioned_and_recompressed_holds_every_row() {
    let src = tempfile::tempdir().unwrap();
    write_orders(src.path(), 0..8, 3);
    let dst = tempfile::tempdir().unwrap();
    let target = dst.path().join("by-status");
    let (s, t) = (src.path().to_str().unwrap(), target.to_str().unwrap());
    let o = soa(&[
        "convert",
        s,
        t,
        "--partition-by",
        "status",
        "--compression",
        "snappy",
        "--batch-rows",
        "2",
        "--progress-every",
        "3",
    ]);
    assert!(
        ok(&o).starts_with("converted 8 rows"),
        "{}",
        common::stdout(&o)
    );
    // stderr is not a terminal here: one plain line per 3 rows.
    let lines: Vec<String> = stderr(&o).lines().map(str::to_string).collect();
    assert_eq!(lines, ["converted 3 rows", "converted 6 rows"]);
    assert_eq!(
        folders(&target),
        ["_soa_log", "status=Pending", "status=Shipped"]
    );
    assert_eq!(rows_of(&target), expected(8));
    let (codec, commits, files) = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let dataset = ParquetDataset::open(&target).unwrap();
        let view = dataset.current().await.unwrap();
        let file = view.files()[0].path.clone();
        let footer = view.footer(&file).await.unwrap();
        let codec = format!(
            "{:?}",
            footer.metadata().row_group(0).column(0).compression()
        );
        let history = dataset.history().await.unwrap();
        (codec, history.commits, view.files().len())
    });
    assert_eq!(codec, "SNAPPY");
    // Every file made live by one commit after the log's creation.
    assert_eq!(commits.len(), 2, "{commits:?}");
    assert_eq!(commits[1].files_added, files);
    assert_eq!(commits[1].rows_added, 8);
}

#[test]
fn no_partition_and_the_spark_profile() {
    let src = tempfile::tempdir().unwrap();
    write_orders(src.path(), 0..5, 5);
    let dst = tempfile::tempdir().unwrap();
    let (s, t) = (src.path().to_str().unwrap(), dst.path().to_str().unwrap());
    // Partitioned as the source by default.
    let same = tempfile::tempdir().unwrap();
    ok(&soa(&["convert", s, same.path().to_str().unwrap()]));
    assert_eq!(folders(same.path()), folders(src.path()));
    assert_eq!(
        folders(same.path()),
        ["_soa_log", "region=north", "region=south"]
    );
    assert_eq!(rows_of(same.path()), expected(5));
    ok(&soa(&["convert", s, t, "--no-partition", "--spark"]));
    assert_eq!(folders(dst.path()), ["_soa_log"]);
    assert_eq!(rows_of(dst.path()), expected(5));
    let id_type = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let view = ParquetDataset::open(dst.path())
            .unwrap()
            .current()
            .await
            .unwrap();
        let schema = view.schema().await.unwrap().unwrap();
        schema.field_with_name("id").unwrap().data_type().clone()
    });
    assert_eq!(id_type, DataType::Int64, "Spark has no UInt64");
}

#[test]
fn bad_targets_sources_and_settings_exit_2_with_one_line() {
    let src = tempfile::tempdir().unwrap();
    write_orders(src.path(), 0..3, 3);
    let s = src.path().to_str().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let t = dst.path().join("copy");
    let t = t.to_str().unwrap();
    fails_with(&soa(&["convert", s, s]), "is not empty");
    fails_with(&soa(&["convert", "/no/such/folder", t]), "is not a folder");
    fails_with(
        &soa(&["convert", s, t, "--partition-by", "nope"]),
        "`nope` is not a column",
    );
    fails_with(
        &soa(&["convert", s, t, "--compression", "brotli"]),
        "expected zstd",
    );
    fails_with(
        &soa(&["convert", s, t, "--compression", "zstd:x"]),
        "not a number",
    );
    fails_with(
        &soa(&["convert", s, t, "--compression", "zstd:99"]),
        "invalid writer settings",
    );
    // Nothing was written by the failures.
    assert!(!Path::new(t).exists() || std::fs::read_dir(t).unwrap().next().is_none());
}

#[cfg(feature = "duckdb")]
mod duckdb_tables {
    use super::*;
    use soa_persist::backends::duckdb::DuckDBDatabase;

    #[test]
    fn a_dataset_through_a_duckdb_table_and_back() {
        let src = tempfile::tempdir().unwrap();
        write_orders(src.path(), 0..8, 3);
        let dir = tempfile::tempdir().unwrap();
        let table = format!("duckdb:{}#orders", dir.path().join("shop.duckdb").display());
        let back = dir.path().join("back");
        ok(&soa(&["convert", src.path().to_str().unwrap(), &table]));
        let key = tokio::runtime::Runtime::new().unwrap().block_on(async {
            let db = DuckDBDatabase::open(dir.path().join("shop.duckdb"), true).unwrap();
            db.primary_key("orders").await.unwrap()
        });
        assert_eq!(key, ["id"], "the dataset's key becomes the PRIMARY KEY");
        ok(&soa(&[
            "convert",
            &table,
            back.to_str().unwrap(),
            "--partition-by",
            "region",
        ]));
        assert_eq!(rows_of(&back), expected(8));
        assert_eq!(folders(&back), ["_soa_log", "region=north", "region=south"]);
        // The table exists now: a second copy into it is refused.
        fails_with(
            &soa(&["convert", src.path().to_str().unwrap(), &table]),
            "already exists",
        );
        fails_with(
            &soa(&[
                "convert",
                src.path().to_str().unwrap(),
                &table.replace("#orders", "#o2"),
                "--spark",
            ]),
            "apply to Parquet targets",
        );
        fails_with(
            &soa(&[
                "convert",
                &table.replace("#orders", "#nope"),
                back.to_str().unwrap(),
            ]),
            "no table",
        );
    }

    #[test]
    fn a_failed_copy_into_duckdb_leaves_no_table() {
        // Two appends of the same ids: the table's primary key refuses the second batch.
        let src = tempfile::tempdir().unwrap();
        write_orders(src.path(), 0..4, 4);
        write_orders(src.path(), 0..4, 4);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shop.duckdb");
        let table = format!("duckdb:{}#orders", file.display());
        fails_with(
            &soa(&["convert", src.path().to_str().unwrap(), &table]),
            "orders",
        );
        let tables = tokio::runtime::Runtime::new().unwrap().block_on(async {
            DuckDBDatabase::open(&file, true)
                .unwrap()
                .tables()
                .await
                .unwrap()
        });
        assert!(tables.is_empty(), "{tables:?}");
    }
}

#[test]
fn gen_sql_and_convert_have_help_with_examples() {
    for command in ["gen", "sql", "convert"] {
        let out = ok(&soa(&[command, "--help"]));
        assert!(out.contains("Examples:"), "{command}: {out}");
        assert!(
            out.contains(&format!("  soa {command} ")),
            "{command}: {out}"
        );
    }
}

/// Without the `duckdb` feature, DuckDB sources and targets and `sql` say what is missing.
#[cfg(not(feature = "duckdb"))]
#[test]
fn without_duckdb_its_commands_say_so() {
    let src = tempfile::tempdir().unwrap();
    write_orders(src.path(), 0..2, 2);
    let s = src.path().to_str().unwrap();
    fails_with(&soa(&["sql", "SELECT 1"]), "without the `duckdb` feature");
    fails_with(
        &soa(&["convert", s, "duckdb:x.duckdb#t"]),
        "without the `duckdb` feature",
    );
    fails_with(
        &soa(&["gen", "x.duckdb", "--table", "t"]),
        "without the `duckdb` feature",
    );
}
