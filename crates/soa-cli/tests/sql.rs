//! `soa sql` run as a process (feature `duckdb`): queries over attached datasets (partition
//! columns and enums included) and DuckDB files, each output format, `--out` Parquet read back,
//! and bad SQL, tables and attachments as one-line errors with exit code 2.
#![cfg(feature = "duckdb")]
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod common;

use common::{fails_with, ok, soa, write_orders};
use soa_persist::backends::duckdb::DuckDBDatabase;

/// Orders 0..8 in three commits (several files per partition); its folder and path.
fn orders() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    write_orders(dir.path(), 0..8, 3);
    let path = dir.path().to_str().unwrap().to_string();
    (dir, path)
}

const BY_REGION: &str =
    "SELECT region, sum(amount) AS total, count(*) AS n FROM o GROUP BY region ORDER BY region";

#[test]
fn csv_of_a_group_by_over_partition_folders() {
    let (_dir, path) = orders();
    let attach = format!("o={path}");
    let out = ok(&soa(&[
        "sql", BY_REGION, "--attach", &attach, "--format", "csv",
    ]));
    assert_eq!(out, "region,total,n\nnorth,120.0,4\nsouth,160.0,4\n");
}

#[test]
fn table_is_aligned_and_counts_rows() {
    let (_dir, path) = orders();
    let attach = format!("o={path}");
    let out = ok(&soa(&["sql", BY_REGION, "--attach", &attach]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "| region | total | n |", "{out}");
    assert_eq!(lines[2], "| north  | 120.0 | 4 |", "{out}");
    assert_eq!(lines[3], "| south  | 160.0 | 4 |", "{out}");
    assert_eq!(lines[4], "(2 rows)");
}

#[test]
fn jsonl_keeps_nulls_numbers_enums_and_quoted_text() {
    let (_dir, path) = orders();
    let attach = format!("o={path}");
    let query = "SELECT id, note, status FROM o WHERE id IN (1, 3, 5) ORDER BY id";
    let out = ok(&soa(&[
        "sql", query, "--attach", &attach, "--format", "jsonl",
    ]));
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows,
        [
            serde_json::json!({"id": 1, "note": "note, \"1\"", "status": "Shipped"}),
            serde_json::json!({"id": 3, "note": null, "status": "Shipped"}),
            serde_json::json!({"id": 5, "note": "note, \"5\"", "status": "Pending"}),
        ]
    );
    // CSV quotes the field with a comma and quotes.
    let out = ok(&soa(&[
        "sql",
        "SELECT note FROM o WHERE id = 1",
        "--attach",
        &attach,
        "--format",
        "csv",
    ]));
    assert_eq!(out, "note\n\"note, \"\"1\"\"\"\n");
}

#[test]
fn two_datasets_join_and_a_duckdb_file_attaches_read_only() {
    let (_dir, path) = orders();
    let db_dir = tempfile::tempdir().unwrap();
    let file = db_dir.path().join("shop.duckdb");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let db = DuckDBDatabase::open(&file, false).unwrap();
        db.execute("CREATE TABLE rates (region VARCHAR, rate DOUBLE)")
            .await
            .unwrap();
        db.execute("INSERT INTO rates VALUES ('north', 2.0), ('south', 0.5)")
            .await
            .unwrap();
    });
    let o = format!("o={path}");
    let p = format!("p={path}");
    let shop = format!("shop={}", file.display());
    let out = ok(&soa(&[
        "sql",
        "SELECT count(*) AS n FROM o JOIN p USING (id)",
        "--attach",
        &o,
        "--attach",
        &p,
        "--format",
        "csv",
    ]));
    assert_eq!(out, "n\n8\n");
    let query = "SELECT sum(amount * rate) AS weighted FROM o JOIN shop.rates USING (region)";
    let out = ok(&soa(&[
        "sql", query, "--attach", &o, "--attach", &shop, "--format", "csv",
    ]));
    assert_eq!(out, "weighted\n320.0\n"); // 120 * 2 + 160 * 0.5
    let write = "INSERT INTO shop.rates VALUES ('east', 1.0)";
    fails_with(&soa(&["sql", write, "--attach", &shop]), "read-only");
}

#[test]
fn out_writes_a_parquet_file_with_the_result() {
    let (_dir, path) = orders();
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("big.parquet");
    let attach = format!("o={path}");
    let o = soa(&[
        "sql",
        "SELECT id, amount FROM o WHERE amount >= 50;",
        "--attach",
        &attach,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(ok(&o).is_empty());
    assert!(
        common::stderr(&o).contains("wrote 3 rows"),
        "{}",
        common::stderr(&o)
    );
    let (count, total) = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let db = DuckDBDatabase::in_memory().unwrap();
        let query = format!(
            "SELECT count(*)::BIGINT, sum(id)::BIGINT FROM read_parquet('{}')",
            file.display()
        );
        let (_, batches) = db.sql(&query).await.unwrap();
        use soa_persist::arrow::array::AsArray;
        use soa_persist::arrow::datatypes::Int64Type;
        let b = &batches[0];
        let first = |i: usize| -> i64 { b.column(i).as_primitive::<Int64Type>().value(0) };
        (first(0), first(1))
    });
    assert_eq!((count, total), (3, 5 + 6 + 7));
}

#[test]
fn bad_sql_tables_and_attachments_exit_2_with_one_line() {
    let (_dir, path) = orders();
    let attach = format!("o={path}");
    fails_with(
        &soa(&["sql", "SELEC 1", "--attach", &attach]),
        "syntax error",
    );
    fails_with(&soa(&["sql", "SELECT * FROM nope"]), "nope");
    fails_with(
        &soa(&["sql", "SELECT missing_column FROM o", "--attach", &attach]),
        "missing_column",
    );
    fails_with(
        &soa(&["sql", "SELECT 1", "--attach", "o"]),
        "expected name=",
    );
    fails_with(
        &soa(&["sql", "SELECT 1", "--attach", "o=/no/such/folder"]),
        "is not a folder",
    );
    fails_with(
        &soa(&["sql", "SELECT 1", "--attach", "o=/no/such.duckdb"]),
        "not a DuckDB database file",
    );
    // A usage error from the argument parser: exit 2 too (its message spans lines).
    let o = soa(&["sql", "SELECT 1", "--format", "xml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(common::stderr(&o).contains("'xml'"));
}
