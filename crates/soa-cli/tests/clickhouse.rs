//! `soa` against a ClickHouse server it does not start itself (feature `clickhouse`; the
//! harness of `soa-persist`'s tests starts one on loopback): `gen` of a table (enum, partition
//! key, a primary key that is not unique), `sql --clickhouse` and `convert` from a table.
#![cfg(feature = "clickhouse")]
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

#[path = "../../soa-persist/tests/clickhouse/mod.rs"]
mod clickhouse;
mod common;
#[allow(dead_code)]
#[path = "../../soa-persist/tests/tools/mod.rs"]
mod tools;

use common::{fails_with, ok, soa};

/// A server with table `orders` in a fresh database: its URL, the database and the table's
/// `clickhouse:` source.
fn orders(server: &clickhouse::Server) -> (String, String, String) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = server.fresh_client("cli").await;
        client
            .execute(
                "CREATE TABLE orders (id UInt64, customer String, \
                 mood Enum8('happy' = 1, 'so so' = 2), amount Nullable(Float64), day Date, \
                 tags Array(String)) ENGINE = MergeTree PARTITION BY day ORDER BY id",
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO orders VALUES (1, 'ada', 'happy', 1.5, '2026-01-02', ['a']), \
                 (2, 'bob', 'so so', NULL, '2026-01-02', []), \
                 (3, 'cy', 'happy', 3.0, '2026-01-03', ['b', 'c'])",
            )
            .await
            .unwrap();
        let db = client.config().database.clone().unwrap();
        let source = format!("clickhouse:{}#{db}.orders", server.url());
        (server.url(), db, source)
    })
}

#[test]
fn gen_sql_and_convert_on_a_clickhouse_table() {
    let Some(server) = clickhouse::Server::start() else {
        return;
    };
    let (url, db, table) = orders(&server);
    let code = ok(&soa(&["gen", &table]));
    for expected in [
        "pub struct Orders {\n    pub id: u64,\n    pub customer: String,\n    pub mood: Mood,\n",
        "    pub amount: Option<f64>,\n",
        "    #[soa(partition)]\n    pub day: NaiveDate,\n",
        "    pub tags: Vec<String>,\n",
        "primary key (id) orders rows but does not keep them unique",
        "pub enum Mood {\n    #[soa(rename = \"happy\")]\n    Happy,\n    #[soa(rename = \"so so\")]\n    SoSo,\n}",
    ] {
        assert!(code.contains(expected), "{expected:?} not in:\n{code}");
    }
    assert!(!code.contains("    #[soa(key"), "{code}");

    // inspect of the database lists the table, its rows and columns.
    let inspected = ok(&soa(&["inspect", &format!("clickhouse:{url}#{db}")]));
    for line in [
        "table orders: 3 rows, key none",
        "| mood ",
        "| Mood ",
        "| yes ",
    ] {
        assert!(inspected.contains(line), "{line:?} not in:\n{inspected}");
    }

    let query = format!("SELECT mood, count() AS n FROM {db}.orders GROUP BY mood ORDER BY mood");
    let out = ok(&soa(&[
        "sql",
        &query,
        "--clickhouse",
        &url,
        "--format",
        "csv",
    ]));
    assert_eq!(out, "mood,n\nhappy,2\nso so,1\n");
    fails_with(
        &soa(&["sql", "SELEC 1", "--clickhouse", &url]),
        "Syntax error",
    );

    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("orders");
    let o = ok(&soa(&["convert", &table, copy.to_str().unwrap()]));
    assert!(o.starts_with("converted 3 rows"), "{o}");
    let mut folders: Vec<String> = std::fs::read_dir(&copy)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert_eq!(folders, ["_soa_log", "day=2026-01-02", "day=2026-01-03"]);
    let rows = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let view = soa_persist::backends::parquet::ParquetDataset::open(&copy)
            .unwrap()
            .current()
            .await
            .unwrap();
        view.rows()
    });
    assert_eq!(rows, 3);
    fails_with(
        &soa(&["gen", &table.replace("orders", "nope")]),
        "no table \"nope\"",
    );
}

#[test]
fn convert_into_a_new_clickhouse_table() {
    let Some(server) = clickhouse::Server::start() else {
        return;
    };
    let (url, db, _) = orders(&server);
    let src = tempfile::tempdir().unwrap();
    common::write_orders(src.path(), 0..8, 3);
    let s = src.path().to_str().unwrap();
    let target = format!("clickhouse:{url}#{db}.copied");
    let o = ok(&soa(&["convert", s, &target, "--partition-by", "status"]));
    assert!(o.starts_with("converted 8 rows"), "{o}");
    let query = format!(
        "SELECT status, count() AS n, sum(amount) AS total FROM {db}.copied \
         GROUP BY status ORDER BY status"
    );
    let out = ok(&soa(&[
        "sql",
        &query,
        "--clickhouse",
        &url,
        "--format",
        "csv",
    ]));
    assert_eq!(out, "status,n,total\nPending,4,220.0\nShipped,4,60.0\n");
    // The dataset's key orders the table, its enum partitions it.
    let code = ok(&soa(&["gen", &target]));
    assert!(code.contains("primary key (id)"), "{code}");
    assert!(
        code.contains("    #[soa(partition)]\n    pub status: Status,\n"),
        "{code}"
    );
    fails_with(&soa(&["convert", s, &target]), "already exists");
    fails_with(
        &soa(&["convert", s, &target.replace("copied", "x"), "--spark"]),
        "apply to Parquet targets",
    );
}
