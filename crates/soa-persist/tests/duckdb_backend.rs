//! `DuckDBPersistence`: the shared conformance suite (file, in memory, both ingest paths), the
//! table DuckDB gets (types, NOT NULL, PRIMARY KEY), round trips of every field type, schema
//! evolution, constraints and upserts, injection, SQL analytics, Parquet views, bad input.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API
#![cfg(feature = "duckdb")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{
    AllTypes, AllTypesSoA, Note, Priced, PricedSoA, all_types, extreme_row, note_rows, same,
};
use proptest::prelude::*;
use soa_persist::arrow::array::{RecordBatch, UInt64Array};
use soa_persist::arrow::datatypes::{DataType, Field, Schema};
use soa_persist::prelude::*;
use soa_persist::testing::{ConfOrder, ConfOrderSoA, conformance, order, orders};
use soa_persist::{DuckDBOptions, Ingest, SqlValue};

fn ids(rows: &ConfOrderSoA) -> Vec<u64> {
    let mut ids = rows.id.clone();
    ids.sort_unstable();
    ids
}

fn strings(batches: &[RecordBatch], column: usize) -> Vec<String> {
    use soa_persist::arrow::util::display::{ArrayFormatter, FormatOptions};
    let mut out = Vec::new();
    for b in batches {
        let options = FormatOptions::default();
        let f = ArrayFormatter::try_new(b.column(column).as_ref(), &options).unwrap();
        out.extend((0..b.num_rows()).map(|i| f.value(i).to_string()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_database_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let n = AtomicUsize::new(0);
    conformance::run_all(|| {
        let path = dir
            .path()
            .join(format!("db{}.duckdb", n.fetch_add(1, Ordering::SeqCst)));
        async move { DuckDBPersistence::<ConfOrder>::open(path).unwrap() }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_memory_database_passes_the_conformance_suite() {
    conformance::run_all(|| async { DuckDBPersistence::<ConfOrder>::in_memory().unwrap() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn append_refuses_stored_keys() {
    let db = DuckDBPersistence::<ConfOrder>::in_memory().unwrap();
    conformance::append_refuses_stored_keys(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adds_of_one_key() {
    let db = DuckDBPersistence::<ConfOrder>::in_memory().unwrap();
    conformance::concurrent_adds_of_one_key(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appender_ingest_passes_the_conformance_suite() {
    conformance::run_all(|| async {
        let options = DuckDBOptions {
            ingest: Ingest::Appender,
            ..DuckDBOptions::default()
        };
        DuckDBPersistence::<ConfOrder>::open_with(None, options).unwrap()
    })
    .await;
}

#[tokio::test]
async fn table_has_the_structs_types_nullability_and_key() {
    let p = DuckDBPersistence::<AllTypes>::in_memory().unwrap();
    assert_eq!(p.table_name(), "all_types");
    let columns = p
        .sql(
            "SELECT column_name, data_type, CASE WHEN is_nullable THEN 'yes' ELSE 'no' END \
             FROM duckdb_columns() \
             WHERE table_name = 'all_types' ORDER BY column_index",
        )
        .await
        .unwrap();
    let names = strings(&columns, 0);
    let types = strings(&columns, 1);
    let nullable = strings(&columns, 2);
    let col = |name: &str| {
        let i = names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("{name}"));
        (types[i].clone(), nullable[i] == "yes")
    };
    assert_eq!(col("id"), ("UBIGINT".into(), false));
    assert_eq!(
        col("status"),
        ("ENUM('Pending', 'shipped', 'Delivered')".into(), false)
    );
    assert!(col("opt_status").1, "optional enum is nullable");
    assert_eq!(col("at"), ("TIMESTAMP WITH TIME ZONE".into(), false));
    assert_eq!(col("at_ns").0, "TIMESTAMP_NS");
    assert_eq!(col("at_seconds").0, "TIMESTAMP_S");
    assert_eq!(col("price").0, "DECIMAL(18,4)");
    assert_eq!(col("uuid").0, "UUID");
    assert_eq!(col("ints").0, "INTEGER[]");
    assert_eq!(col("nested_list").0, "BIGINT[][]");
    assert_eq!(
        col("statuses").0,
        "ENUM('Pending', 'shipped', 'Delivered')[]"
    );
    assert_eq!(
        col("inner").0,
        "STRUCT(city VARCHAR, zip UINTEGER, codes BLOB)"
    );
    assert_eq!(col("opt_text"), ("VARCHAR".into(), true));
    let key = p
        .sql(
            "SELECT constraint_type, constraint_column_names FROM duckdb_constraints() \
             WHERE table_name = 'all_types' AND constraint_type = 'PRIMARY KEY'",
        )
        .await
        .unwrap();
    assert_eq!(strings(&key, 1), ["[id]"]);
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn every_type_round_trips_through_duckdb(rows in prop::collection::vec(all_types(), 0..16)) {
        let rows: Vec<AllTypes> = rows
            .into_iter()
            .enumerate()
            .map(|(i, mut r)| { r.id = i as u64; r })
            .collect();
        let container: AllTypesSoA = rows.iter().cloned().collect();
        let loaded = rt().block_on(async {
            let p = DuckDBPersistence::<AllTypes>::in_memory().unwrap();
            p.save(container.clone()).await.unwrap();
            p.load().await.unwrap().unwrap()
        });
        let mut loaded = loaded;
        loaded.sort_by_key(|r| *r.id);
        prop_assert!(same(&loaded, &container), "got {loaded:?}\nwant {container:?}");
    }
}

#[tokio::test]
async fn extreme_values_round_trip() {
    let p = DuckDBPersistence::<AllTypes>::in_memory().unwrap();
    let rows: AllTypesSoA = (0..3).map(extreme_row).collect();
    p.append(rows.clone()).await.unwrap();
    let mut loaded = p.load().await.unwrap().unwrap();
    loaded.sort_by_key(|r| *r.id);
    assert!(same(&loaded, &rows), "got {loaded:?}\nwant {rows:?}");
}

#[tokio::test]
async fn data_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.duckdb");
    {
        let p = DuckDBPersistence::<ConfOrder>::open(&path).unwrap();
        p.append(orders(0..1000)).await.unwrap();
        p.delete(&ConfOrder::fields().id.lt(10u64)).await.unwrap();
    }
    let p = DuckDBPersistence::<ConfOrder>::open(&path).unwrap();
    assert_eq!(
        ids(&p.load().await.unwrap().unwrap()),
        (10..1000).collect::<Vec<_>>()
    );
    // A second handle on the same file in this process shares the database.
    let q = DuckDBPersistence::<ConfOrder>::open(&path).unwrap();
    q.append(orders(1000..1001)).await.unwrap();
    assert_eq!(p.count(&Predicate::all()).await.unwrap(), 991);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_appends_keep_insertion_order_and_leave_no_views() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.duckdb");
    // Keys descending, so neither key order nor chance gives the insertion order back; more
    // rows than one Arrow batch handed to DuckDB's reader (its threads take one each).
    let first: ConfOrderSoA = (0..300_000u64).rev().map(order).collect();
    let second: ConfOrderSoA = (300_000..300_100u64).rev().map(order).collect();
    let p = DuckDBPersistence::<ConfOrder>::open(&path).unwrap();
    p.append(first.clone()).await.unwrap();
    p.append(second.clone()).await.unwrap();
    let want: Vec<u64> = first.id.iter().chain(&second.id).copied().collect();
    assert_eq!(p.load().await.unwrap().unwrap().id, want);
    drop(p);
    // The views over the Arrow streams were never committed: the reopened file has only the
    // table and the backend's bookkeeping.
    let p = DuckDBPersistence::<ConfOrder>::open(&path).unwrap();
    let views = p
        .sql("SELECT count(*)::BIGINT AS n FROM duckdb_views() WHERE NOT internal")
        .await
        .unwrap();
    let n = views[0]
        .column(0)
        .as_any()
        .downcast_ref::<soa_persist::arrow::array::Int64Array>()
        .unwrap()
        .value(0);
    assert_eq!(n, 0);
    assert_eq!(p.load().await.unwrap().unwrap().id, want);
}

#[tokio::test]
async fn duplicate_key_rolls_back_the_whole_batch_and_names_the_key() {
    let p = DuckDBPersistence::<ConfOrder>::in_memory().unwrap();
    p.append(orders(0..100)).await.unwrap();
    for ingest_dup in [
        orders(100..150)
            .into_iter()
            .chain([order(42)])
            .collect::<ConfOrderSoA>(),
        {
            let mut twice = orders(200..210);
            twice.push(order(205));
            twice
        },
    ] {
        let err = p.append(ingest_dup).await.unwrap_err();
        assert!(matches!(err, PersistError::Constraint { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("42") || text.contains("205"),
            "names the key: {text}"
        );
        assert!(!err.is_retryable());
    }
    assert_eq!(
        ids(&p.load().await.unwrap().unwrap()),
        (0..100).collect::<Vec<_>>()
    );
    // The same through save: the old rows stay.
    let mut dup = orders(500..510);
    dup.push(order(501));
    assert!(p.save(dup).await.is_err());
    assert_eq!(p.count(&Predicate::all()).await.unwrap(), 100);
}

#[tokio::test]
async fn a_null_key_is_refused_and_nothing_is_written() {
    let p = DuckDBPersistence::<ConfOrder>::in_memory().unwrap();
    p.append(orders(0..5)).await.unwrap();
    let good = orders(10..13).to_record_batch().unwrap();
    let schema = good.schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields[0] = Field::new("id", DataType::UInt64, true);
    let mut columns = good.columns().to_vec();
    columns[0] = Arc::new(UInt64Array::from(vec![Some(10), None, Some(12)]));
    let bad = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let err = p.append_batches(vec![good.clone(), bad]).await.unwrap_err();
    assert!(err.to_string().contains("id"), "{err}");
    assert_eq!(ids(&p.load().await.unwrap().unwrap()), [0, 1, 2, 3, 4]);
}

#[tokio::test]
async fn upsert_replaces_by_key_and_the_last_duplicate_wins() {
    let p = DuckDBPersistence::<ConfOrder>::in_memory().unwrap();
    p.append(orders(0..10)).await.unwrap();
    let mut changes = orders(5..15);
    for i in 0..changes.len() {
        changes.customer[i] = format!("changed {}", changes.id[i]);
    }
    let mut last = order(7);
    last.customer = "last wins".into();
    changes.push(last);
    p.upsert(changes).await.unwrap();
    let all = p.load().await.unwrap().unwrap();
    assert_eq!(ids(&all), (0..15).collect::<Vec<_>>());
    for row in all.iter() {
        let want = match *row.id {
            7 => "last wins".to_string(),
            5.. => format!("changed {}", row.id),
            _ => order(*row.id).customer,
        };
        assert_eq!(*row.customer, want);
    }
}

#[tokio::test]
async fn identifiers_and_values_are_never_sql() {
    for table in ["or\"ders; DROP TABLE x; --", "it's", "naïve 表", "select"] {
        let options = DuckDBOptions {
            table: Some(table.to_string()),
            ..DuckDBOptions::default()
        };
        let p = DuckDBPersistence::<ConfOrder>::open_with(None, options).unwrap();
        assert_eq!(p.table_name(), table);
        let mut rows = orders(0..20);
        let nasty = [
            "'; DROP TABLE \"it's\"; --",
            "\" OR 1=1 --",
            "a'b\"c;d--e/*f*/",
            "ünï😀 %_\\",
            "",
        ];
        for (i, text) in nasty.iter().enumerate() {
            rows.customer[i] = text.to_string();
            rows.note[i] = Some(format!("{text}{text}"));
        }
        p.save(rows).await.unwrap();
        for text in nasty {
            let got = p
                .query(&ConfOrder::fields().customer.eq(text))
                .await
                .unwrap();
            assert_eq!(got.len(), 1, "{table}: {text:?}");
            assert_eq!(got.customer[0], text);
            let starts = p
                .count(&ConfOrder::fields().note.starts_with(text))
                .await
                .unwrap();
            assert!(starts >= 1, "{table}: {text:?}");
        }
        assert_eq!(
            p.count(&ConfOrder::fields().customer.contains("%_"))
                .await
                .unwrap(),
            1,
            "LIKE wildcards are plain characters"
        );
        assert_eq!(p.count(&Predicate::all()).await.unwrap(), 20, "{table}");
    }
}

#[derive(SoA, Clone, Debug, PartialEq)]
struct StatusTotal {
    status: String,
    orders: i64,
    total: f64,
}

#[tokio::test]
async fn sql_returns_arrow_and_typed_rows() {
    let p = DuckDBPersistence::<ConfOrder>::in_memory().unwrap();
    p.append(orders(1..401)).await.unwrap(); // no NaN amounts below 101? 101, 202, 303 are NaN
    p.delete(&ConfOrder::fields().id.is_in([101u64, 202, 303]))
        .await
        .unwrap();
    let batches = p
        .sql("SELECT status, count(*) AS orders, sum(amount) AS total FROM conf_order GROUP BY 1 ORDER BY 1")
        .await
        .unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 4);
    let typed = p
        .sql_as::<StatusTotal>(
            "SELECT CAST(status AS VARCHAR) AS status, count(*) AS orders, sum(amount) AS total \
             FROM conf_order WHERE amount > ? GROUP BY ALL ORDER BY status",
            vec![SqlValue::Double(10.0)],
        )
        .await
        .unwrap();
    let loaded = p.load().await.unwrap().unwrap();
    for row in typed.iter() {
        let (n, sum) = loaded
            .iter()
            .filter(|o| format!("{:?}", o.status) == *row.status && *o.amount > 10.0)
            .fold((0i64, 0.0), |(n, s), o| (n + 1, s + *o.amount));
        assert_eq!(*row.orders, n, "{}", row.status);
        assert!(
            (row.total - sum).abs() < 1e-6,
            "{}: {} vs {sum}",
            row.status,
            row.total
        );
    }
    assert_eq!(typed.len(), 4);
    let err = p.sql("SELEC nonsense").await.unwrap_err();
    assert!(err.to_string().contains("syntax"), "{err}");
    let missing = p
        .sql_as::<StatusTotal>("SELECT 1 AS orders", Vec::new())
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("status"), "{missing}");
}

#[tokio::test]
async fn parquet_dataset_is_queryable_as_a_view() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = ParquetPersistence::<ConfOrder>::open(dir.path().join("ds")).unwrap();
    let p = DuckDBPersistence::<ConfOrder>::in_memory().unwrap();
    p.attach_parquet("empty_view", &dataset).await.unwrap();
    assert_eq!(
        p.sql("SELECT * FROM empty_view")
            .await
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>(),
        0
    );
    dataset.append(orders(0..300)).await.unwrap();
    dataset.append(orders(300..500)).await.unwrap();
    p.attach_parquet("ds_view", &dataset).await.unwrap();
    let counts = p
        .sql_as::<StatusTotal>(
            "SELECT CAST(status AS VARCHAR) AS status, count(*) AS orders, \
             sum(CASE WHEN isnan(amount) THEN 0 ELSE amount END) AS total FROM ds_view GROUP BY ALL",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(counts.len(), 4);
    assert_eq!(counts.orders.iter().sum::<i64>(), 500);
    for row in counts.iter() {
        assert_eq!(*row.orders, 125, "{}", row.status);
    }
    // The view's rows are the dataset's, column for column.
    let copied: ConfOrderSoA = p
        .sql_as::<ConfOrder>("SELECT * FROM ds_view", Vec::new())
        .await
        .unwrap();
    let mut copied = copied;
    copied.sort_by_key(|r| *r.id);
    assert_eq!(format!("{copied:?}"), format!("{:?}", orders(0..500)));
}

#[derive(SoA, Clone, Debug, PartialEq)]
#[soa(rename = "Item")]
struct ItemV1 {
    #[soa(key)]
    id: u64,
    name: String,
}

#[derive(SoA, Clone, Debug, PartialEq)]
#[soa(rename = "Item")]
struct ItemV2 {
    #[soa(key)]
    id: u64,
    name: String,
    tag: Option<String>,
}

#[derive(SoA, Clone, Debug, PartialEq)]
#[soa(rename = "Item")]
struct ItemConflicting {
    #[soa(key)]
    id: u64,
    name: i32,
}

#[derive(SoA, Clone, Debug, PartialEq)]
#[soa(rename = "Item")]
struct ItemRequired {
    #[soa(key)]
    id: u64,
    name: String,
    weight: f64,
}

#[tokio::test]
async fn opening_checks_the_table_and_adds_new_optional_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("items.duckdb");
    {
        let v1 = DuckDBPersistence::<ItemV1>::open(&path).unwrap();
        v1.append(
            (0..3)
                .map(|id| ItemV1 {
                    id,
                    name: format!("i{id}"),
                })
                .collect(),
        )
        .await
        .unwrap();
    }
    {
        let err = DuckDBPersistence::<ItemConflicting>::open(&path).unwrap_err();
        assert!(
            matches!(err, PersistError::SchemaMismatch { .. }),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("\"name\"") && text.contains("VARCHAR") && text.contains("INTEGER"),
            "{text}"
        );
        let err = DuckDBPersistence::<ItemRequired>::open(&path).unwrap_err();
        assert!(err.to_string().contains("\"weight\""), "{err}");
    }
    let v2 = DuckDBPersistence::<ItemV2>::open(&path).unwrap();
    let old = v2.load().await.unwrap().unwrap();
    assert_eq!(old.tag, [None, None, None]);
    v2.append(
        [ItemV2 {
            id: 9,
            name: "n".into(),
            tag: Some("t".into()),
        }]
        .into_iter()
        .collect(),
    )
    .await
    .unwrap();
    drop(v2);
    // The old struct still reads the table (the new column is optional and ignored).
    let v1 = DuckDBPersistence::<ItemV1>::open(&path).unwrap();
    assert_eq!(v1.count(&Predicate::all()).await.unwrap(), 4);
    v1.append(
        [ItemV1 {
            id: 10,
            name: "x".into(),
        }]
        .into_iter()
        .collect(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_file_that_is_not_duckdb_is_a_typed_error_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.duckdb");
    let text = b"these are my notes, not a database\n".repeat(200);
    std::fs::write(&path, &text).unwrap();
    let err = DuckDBPersistence::<ConfOrder>::open(&path).unwrap_err();
    assert!(
        matches!(err, PersistError::Corrupt { .. } | PersistError::Io { .. }),
        "{err:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), text, "the file is untouched");
}

#[tokio::test]
async fn unwritable_locations_and_read_only_mode_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a_file");
    std::fs::write(&blocker, b"x").unwrap();
    // A path below a regular file can't be created, whoever runs the test.
    let err = DuckDBPersistence::<ConfOrder>::open(blocker.join("db.duckdb")).unwrap_err();
    assert!(
        matches!(err, PersistError::Io { .. } | PersistError::Backend { .. }),
        "{err:?}"
    );

    let path = dir.path().join("ro.duckdb");
    {
        let p = DuckDBPersistence::<ConfOrder>::open(&path).unwrap();
        p.append(orders(0..50)).await.unwrap();
    }
    let options = DuckDBOptions {
        read_only: true,
        ..DuckDBOptions::default()
    };
    let ro = DuckDBPersistence::<ConfOrder>::open_with(Some(&path), options).unwrap();
    assert_eq!(ro.count(&Predicate::all()).await.unwrap(), 50);
    let err = ro.append(orders(50..60)).await.unwrap_err();
    assert!(err.to_string().to_lowercase().contains("read"), "{err}");
    assert!(ro.delete(&Predicate::all()).await.is_err());
    assert_eq!(
        ids(&ro.load().await.unwrap().unwrap()),
        (0..50).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_predicate_on_an_unknown_projection_is_an_error() {
    let p = DuckDBPersistence::<ConfOrder>::in_memory().unwrap();
    p.append(orders(0..10)).await.unwrap();
    let err = p
        .scan(Scan::all().project(["nope"]))
        .await
        .err()
        .expect("error");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[tokio::test]
async fn tables_of_several_structs_share_one_database() {
    let p = DuckDBPersistence::<ConfOrder>::in_memory().unwrap();
    let items = p.table_for::<ItemV1>(None).unwrap();
    assert_eq!(items.table_name(), "item");
    p.append(orders(0..5)).await.unwrap();
    items
        .append(
            [ItemV1 {
                id: 1,
                name: "a".into(),
            }]
            .into_iter()
            .collect(),
        )
        .await
        .unwrap();
    let joined = p
        .sql("SELECT count(*) FROM conf_order, item")
        .await
        .unwrap();
    assert_eq!(strings(&joined, 0), ["5"]);
    assert!(p.stats().await.unwrap().rows == 5);
    let stats = items.stats().await.unwrap();
    assert_eq!(stats.rows, 1);
    assert_eq!(stats.row_groups, Some(1), "{stats:?}");
}

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Odd {
    #[soa(rename = "it's")]
    Quote,
    #[soa(rename = "a\"b'); DROP TABLE x; --")]
    Nasty,
}

#[derive(SoA, Clone, Debug, PartialEq)]
struct Tagged {
    #[soa(key)]
    id: u32,
    tag: Odd,
}

#[tokio::test]
async fn enum_variant_names_are_quoted_in_the_enum_type() {
    let p = DuckDBPersistence::<Tagged>::in_memory().unwrap();
    let rows: TaggedSoA = (0..6)
        .map(|id| Tagged {
            id,
            tag: if id % 3 == 0 { Odd::Nasty } else { Odd::Quote },
        })
        .collect();
    p.save(rows.clone()).await.unwrap();
    assert_eq!(
        p.count(&Tagged::fields().tag.eq(Odd::Nasty)).await.unwrap(),
        2
    );
    let mut back = p.load().await.unwrap().unwrap();
    back.sort_by_key(|r| *r.id);
    assert_eq!(back, rows);
}

/// `append` of a container hands DuckDB's Arrow reader one batch at a time, converting each
/// when the reader asks for it: many batches arrive whole and in order, and a row that does not
/// convert in a later batch fails the write with the typed conversion error, nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_is_appended_batch_by_batch_and_a_bad_row_aborts_it() {
    use soa_persist::rust_decimal::Decimal;
    let p = DuckDBPersistence::<ConfOrder>::open_with(None, DuckDBOptions::default()).unwrap();
    // Three batches of 122,880 rows and a part of one.
    let rows = orders(0..300_000);
    p.append(rows.clone()).await.unwrap();
    let got = p.load().await.unwrap().unwrap();
    assert_eq!(ids(&got), ids(&rows), "every row, in order");
    assert!(same(&got, &rows), "the values read back differ");

    // Arrow-layout columns convert whole (O(1)), then go to DuckDB in slices.
    let notes = DuckDBPersistence::<Note>::open_with(None, DuckDBOptions::default()).unwrap();
    let rows = note_rows(0..300_000);
    notes.append(rows.clone()).await.unwrap();
    assert!(
        notes.load().await.unwrap() == Some(rows),
        "every note, in order"
    );

    let priced = DuckDBPersistence::<Priced>::open_with(None, DuckDBOptions::default()).unwrap();
    let make = |ids: std::ops::Range<u64>| -> PricedSoA {
        ids.map(|id| Priced {
            id,
            price: Decimal::new(id as i64 % 1000, 2),
        })
        .collect()
    };
    priced.append(make(0..10)).await.unwrap();
    let mut rows = make(10..300_010);
    // Row 250,000 (the third batch) needs more than 5 digits.
    rows.price[250_000] = Decimal::new(12_345_678, 2);
    let err = priced.append(rows).await.unwrap_err();
    assert!(
        matches!(err, PersistError::Convert(_)),
        "a conversion error, got {err:?}"
    );
    assert!(err.to_string().contains("`price`, row 250000"), "{err}");
    assert_eq!(
        priced.count(&Predicate::all()).await.unwrap(),
        10,
        "nothing written"
    );
}
