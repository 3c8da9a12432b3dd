//! `soa gen` run as a process: its output for a dataset of many types equals the checked-in
//! `gen/fixture_struct.rs` (rewrite it with `SOA_BLESS=1`), and that file, compiled into this
//! test through `include!`, loads the dataset it came from with every column equal. The same for
//! a DuckDB table (feature `duckdb`), and bad sources exit 2 with one line.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use soa_persist::prelude::*;
use soa_persist::rust_decimal::Decimal;
use soa_persist::uuid::Uuid;

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq)]
enum Stage {
    Draft,
    #[soa(rename = "in review")]
    InReview,
    Done,
}

#[derive(SoA, Clone, Debug, PartialEq)]
struct Place {
    city: String,
    zip: u32,
}

#[derive(SoA, Clone, Debug, PartialEq)]
struct Shipment {
    #[soa(key)]
    id: u64,
    #[soa(partition)]
    region: String,
    small: i8,
    medium: i16,
    count: u32,
    ratio: f32,
    amount: f64,
    paid: bool,
    label: String,
    note: Option<String>,
    blob: Vec<u8>,
    tag: [u8; 4],
    big: Option<i64>,
    sizes: Vec<i32>,
    aliases: Vec<Option<String>>,
    at: DateTime<Utc>,
    #[soa(timestamp = "ms")]
    at_ms: DateTime<Utc>,
    local: NaiveDateTime,
    day: NaiveDate,
    #[soa(decimal(12, 2))]
    price: Decimal,
    uid: Uuid,
    stage: Stage,
    #[soa(nested)]
    place: Place,
    #[soa(rename = "Unit Price")]
    unit_price: f64,
    #[soa(rename = "type")]
    kind: String,
}

fn shipment(id: u64) -> Shipment {
    let at = DateTime::from_timestamp(1_700_000_000 + id as i64 * 3600, 0).unwrap();
    Shipment {
        id,
        region: ["north", "south"][id as usize % 2].into(),
        small: -(id as i8),
        medium: id as i16 * 100,
        count: id as u32 * 7,
        ratio: id as f32 / 4.0,
        amount: id as f64 * 1.25,
        paid: id.is_multiple_of(3),
        label: format!("label {id} ü"),
        note: id.is_multiple_of(2).then(|| format!("note {id}")),
        blob: vec![id as u8; id as usize % 3],
        tag: [id as u8, 1, 2, 3],
        big: (!id.is_multiple_of(4)).then_some(-(id as i64) * 1_000_000_000),
        sizes: (0..id as i32 % 4).collect(),
        aliases: vec![Some(format!("a{id}")), None],
        at,
        at_ms: at,
        local: at.naive_utc(),
        day: at.date_naive(),
        price: Decimal::new(id as i64 * 1999, 2),
        uid: Uuid::from_u128(0x1234_5678_9abc_def0_0000_0000_0000_0000 + u128::from(id)),
        stage: [Stage::Draft, Stage::InReview, Stage::Done][id as usize % 3],
        place: Place {
            city: format!("city {}", id % 5),
            zip: 10_000 + id as u32,
        },
        unit_price: id as f64 / 8.0,
        kind: ["a", "b"][id as usize % 2].into(),
    }
}

fn shipments() -> ShipmentSoA {
    (0..12).map(shipment).collect()
}

/// The fixture dataset: one append of `shipments()`.
fn write_fixture(dir: &Path) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let p = ParquetPersistence::<Shipment>::open(dir).unwrap();
        p.append(shipments()).await.unwrap();
    })
}

mod generated {
    include!("gen/fixture_struct.rs");
}

fn soa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_soa"))
        .args(args)
        .output()
        .unwrap()
}

fn checked_in(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/gen")
        .join(name)
}

/// `soa gen args` succeeds and prints what `file` holds (with `SOA_BLESS=1`: writes it there).
fn gen_matches(args: &[&str], file: &str) {
    let o = soa(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let out = String::from_utf8(o.stdout).unwrap();
    let path = checked_in(file);
    if std::env::var_os("SOA_BLESS").is_some() {
        std::fs::write(&path, &out).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        out, expected,
        "soa gen output differs from {file} (SOA_BLESS=1 rewrites it)"
    );
}

#[test]
fn gen_of_a_dataset_prints_the_checked_in_struct() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    gen_matches(&["gen", dir.path().to_str().unwrap()], "fixture_struct.rs");
}

/// Rows sorted by `id`, as one batch.
fn sorted(
    batch: &soa_persist::arrow::array::RecordBatch,
) -> soa_persist::arrow::array::RecordBatch {
    use soa_persist::arrow::compute::{sort_to_indices, take_record_batch};
    let order = sort_to_indices(batch.column_by_name("id").unwrap(), None, None).unwrap();
    take_record_batch(batch, &order).unwrap()
}

#[test]
fn the_generated_struct_loads_the_dataset_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let loaded = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let p = ParquetPersistence::<generated::Shipment>::open(dir.path()).unwrap();
        p.load().await.unwrap().unwrap()
    });
    assert_eq!(loaded.len(), 12);
    let got = sorted(&loaded.to_record_batch().unwrap());
    let want = shipments().to_record_batch().unwrap();
    for field in want.schema().fields() {
        let name = field.name();
        let column = got
            .column_by_name(name)
            .unwrap_or_else(|| panic!("the generated struct has no column {name}"));
        assert_eq!(
            column.as_ref(),
            want.column_by_name(name).unwrap().as_ref(),
            "{name}"
        );
    }
    // Typed fields, not just columns: the enum with a renamed variant and the nested struct.
    let at = loaded.id.iter().position(|&id| id == 4).unwrap();
    let row = loaded.row(at).unwrap();
    assert_eq!(row.stage, generated::Stage::InReview);
    assert_eq!(row.place.city, "city 4");
}

#[test]
fn gen_of_a_missing_or_empty_source_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().to_str().unwrap();
    for (args, needle) in [
        (vec!["gen", "/no/such/folder"], "is not a folder"),
        (vec!["gen", empty], "not a dataset"),
        (vec!["gen", "shop.duckdb"], "name the table"),
    ] {
        let o = soa(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(o.stdout.is_empty());
    }
}

/// A DuckDB table with a primary key, an `ENUM`, a decimal, a time zone, a list, a struct, a
/// UUID and a column name with a space, written by SQL.
#[cfg(feature = "duckdb")]
mod duckdb_table {
    use super::{gen_matches, soa};
    use soa_persist::backends::duckdb::DuckDBDatabase;

    mod generated {
        include!("gen/duckdb_struct.rs");
    }

    pub(super) fn write(file: &std::path::Path) {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let db = DuckDBDatabase::open(file, false).unwrap();
            db.execute(
                "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer VARCHAR NOT NULL, \
                 mood ENUM('happy', 'so so') NOT NULL, amount DECIMAL(10, 2), \
                 placed TIMESTAMPTZ NOT NULL, tags VARCHAR[], \
                 addr STRUCT(city VARCHAR, zip INTEGER), uid UUID, \"Order Date\" DATE)",
            )
            .await
            .unwrap();
            db.execute(
                "INSERT INTO orders VALUES \
                 (1, 'ada', 'happy', 12.50, TIMESTAMPTZ '2026-01-02 03:04:05+00', ['a', NULL], \
                  {'city': 'Oslo', 'zip': 150}, '00000000-0000-0000-0000-000000000001', DATE '2026-01-02'), \
                 (2, 'bob', 'so so', NULL, TIMESTAMPTZ '2026-02-03 04:05:06+00', NULL, \
                  {'city': 'Rome', 'zip': 100}, NULL, NULL)",
            )
            .await
            .unwrap();
        })
    }

    #[test]
    fn gen_of_a_duckdb_table_prints_the_checked_in_struct() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shop.duckdb");
        write(&file);
        gen_matches(
            &["gen", file.to_str().unwrap(), "--table", "orders"],
            "duckdb_struct.rs",
        );
        // The same table named in one argument.
        let spec = format!("duckdb:{}#orders", file.display());
        gen_matches(&["gen", &spec], "duckdb_struct.rs");
        let o = soa(&["gen", file.to_str().unwrap(), "--table", "nope"]);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("no table \"nope\"") && err.contains("orders"),
            "{err}"
        );
    }

    #[test]
    fn inspect_of_a_duckdb_file_lists_its_tables() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shop.duckdb");
        write(&file);
        let path = file.to_str().unwrap();
        let o = soa(&["inspect", path]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = String::from_utf8_lossy(&o.stdout);
        for line in [
            "database ",
            "1 tables",
            "table orders: 2 rows, key id",
            "| mood ",
            "| Mood ",
            "| Option<Decimal> ",
        ] {
            assert!(out.contains(line), "{line:?} not in:\n{out}");
        }
        let o = soa(&["inspect", &format!("duckdb:{path}"), "--json"]);
        assert_eq!(o.status.code(), Some(0));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let orders = &v["tables"][0];
        assert_eq!(orders["name"], "orders");
        assert_eq!(orders["rows"], 2);
        assert_eq!(orders["key"], "id");
        assert_eq!(orders["columns"][0]["name"], "id");
        assert_eq!(orders["columns"][0]["rust_type"], "i64");
        // A database file that is not there: one line, exit 2.
        let missing = dir.path().join("none.duckdb");
        let o = soa(&["inspect", missing.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("no such DuckDB file"));
    }

    #[test]
    fn the_generated_struct_loads_the_table_it_came_from() {
        use soa_persist::prelude::*;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shop.duckdb");
        write(&file);
        let rows = tokio::runtime::Runtime::new().unwrap().block_on(async {
            // The struct records the table's name, so it opens that table.
            let p = DuckDBPersistence::<generated::Orders>::open(&file).unwrap();
            p.load().await.unwrap().unwrap()
        });
        let mut rows: Vec<generated::Orders> =
            (0..rows.len()).filter_map(|i| rows.row(i)).collect();
        rows.sort_by_key(|r| r.id);
        let placed = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
        assert_eq!(
            rows,
            [
                generated::Orders {
                    id: 1,
                    customer: "ada".into(),
                    mood: generated::Mood::Happy,
                    amount: Some(soa_persist::rust_decimal::Decimal::new(1250, 2)),
                    placed: placed("2026-01-02T03:04:05Z"),
                    tags: Some(vec![Some("a".into()), None]),
                    addr: generated::Addr {
                        city: Some("Oslo".into()),
                        zip: Some(150)
                    },
                    uid: Some(soa_persist::uuid::Uuid::from_u128(1)),
                    order_date: Some(day),
                },
                generated::Orders {
                    id: 2,
                    customer: "bob".into(),
                    mood: generated::Mood::SoSo,
                    amount: None,
                    placed: placed("2026-02-03T04:05:06Z"),
                    tags: None,
                    addr: generated::Addr {
                        city: Some("Rome".into()),
                        zip: Some(100)
                    },
                    uid: None,
                    order_date: None,
                },
            ]
        );
    }
}

/// Another tool's folder (no `_soa_log/`): a dictionary column without recorded variants, an
/// integer partition folder, a text one with a null, a column the derive can't hold.
#[test]
fn gen_of_another_tools_folder_reads_enums_from_values_and_types_from_folders() {
    use soa_persist::arrow::array::{
        ArrayRef, DictionaryArray, DurationSecondArray, Int32Array, RecordBatch,
    };
    use soa_persist::arrow::datatypes::Int32Type;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("paint_jobs");
    for (folder, colors) in [
        ("year=2024/shop=__HIVE_DEFAULT_PARTITION__", ["red", "blue"]),
        ("year=2025/shop=x1", ["green", "red"]),
    ] {
        let colors: DictionaryArray<Int32Type> = colors.into_iter().collect();
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
            ("color", Arc::new(colors) as ArrayRef),
            (
                "took",
                Arc::new(DurationSecondArray::from(vec![5, 6])) as ArrayRef,
            ),
        ])
        .unwrap();
        std::fs::create_dir_all(root.join(folder)).unwrap();
        let file = std::fs::File::create(root.join(folder).join("data.parquet")).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
    let o = soa(&["gen", root.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8(o.stdout).unwrap();
    // One file on its own: its columns, named as told, no partition folders.
    let file = root.join("year=2024/shop=__HIVE_DEFAULT_PARTITION__/data.parquet");
    let o = soa(&["gen", file.to_str().unwrap(), "--name", "Job"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let one = String::from_utf8(o.stdout).unwrap();
    assert!(one.contains("from a Parquet file (2 rows)"), "{one}");
    assert!(
        one.contains("pub struct Job {\n    pub id: i32,\n    pub color: Color,\n"),
        "{one}"
    );
    assert!(!one.contains("partition"), "{one}");
    assert!(
        one.contains("    #[soa(rename = \"blue\")]\n    Blue,\n}"),
        "{one}"
    );
    for expected in [
        "pub struct PaintJobs {",
        "    pub id: i32,",
        "    pub color: Color,",
        "    // column \"took\" left out: Duration(s) has no derive mapping\n",
        "    #[soa(partition)]\n    pub year: i64,",
        "    #[soa(partition)]\n    pub shop: Option<String>,",
        "pub enum Color {\n    #[soa(rename = \"red\")]\n    Red,\n    #[soa(rename = \"blue\")]\n    Blue,\n    #[soa(rename = \"green\")]\n    Green,\n}",
    ] {
        assert!(out.contains(expected), "{expected:?} not in:\n{out}");
    }
}
