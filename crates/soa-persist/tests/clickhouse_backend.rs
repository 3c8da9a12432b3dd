//! `ClickHousePersistence` on a real `clickhouse-server`: the shared conformance suite (a
//! fresh database per store), hostile table names and values (they go through quoting and
//! literals and come back as data), an existing table whose column has another type (a schema
//! mismatch naming it), a new optional field added to an existing table, a server that is down
//! (retryable, the URL named), free SQL, and stats; the suite again over a two-shard cluster;
//! `append` of a container sent block by block (in order, Arrow-layout containers too), a bad
//! row in a later block aborting the whole insert.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod clickhouse;
mod common;
mod tools;

use clickhouse::{CLUSTER, Cluster, Server, count_rows, fresh_database};
use common::{Note, Priced, PricedSoA, note_rows};
use soa_persist::arrow::array::{Array, AsArray};
use soa_persist::backends::clickhouse::{
    ClickHouseClient, ClickHouseConfig, ClickHousePersistence,
};
use soa_persist::prelude::*;
use soa_persist::rust_decimal::Decimal;
use soa_persist::testing::{ConfOrder, conformance, order, orders};

async fn store(server: &Server, table: Option<&str>) -> ClickHousePersistence<ConfOrder> {
    let client = fresh_database(&server.client().await, "backend").await;
    ClickHousePersistence::open(client, table)
        .await
        .unwrap_or_else(|e| panic!("open: {e}\n{}", server.log_tail()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn passes_the_conformance_suite() {
    let Some(server) = Server::start() else {
        return;
    };
    conformance::run_all(|| store(&server, None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_table_names_and_values_come_back_as_data() {
    let Some(server) = Server::start() else {
        return;
    };
    let name = "t`'\\\"; DROP TABLE x; -- é";
    let p = store(&server, Some(name)).await;
    assert_eq!(p.table_name(), name);
    conformance::hostile_values(
        &p,
        &[
            "'); DROP TABLE t; --",
            "back\\slash\\",
            "nul\0byte",
            "new\nline\r\ttab",
            "quote's \"double\" `back`",
            "unicode é 😀 \u{202e}",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_column_of_another_type_is_a_mismatch_naming_it() {
    let Some(server) = Server::start() else {
        return;
    };
    let client = fresh_database(&server.client().await, "mismatch").await;
    client
        .execute(
            "CREATE TABLE conf_order (id UInt64, customer String, amount String) \
             ENGINE = MergeTree ORDER BY id",
        )
        .await
        .unwrap();
    let err = ClickHousePersistence::<ConfOrder>::open(client, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PersistError::SchemaMismatch { .. }) && err.to_string().contains("`amount`"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_optional_field_is_added_to_an_existing_table() {
    let Some(server) = Server::start() else {
        return;
    };
    let client = fresh_database(&server.client().await, "evolve").await;
    client
        .execute(
            "CREATE TABLE conf_order (id UInt64, customer String, amount Float64, \
             status Enum8('Pending' = 0, 'Shipped' = 1, 'Delivered' = 2, 'Returned' = 3), \
             placed_at Int64, note Nullable(String)) ENGINE = MergeTree ORDER BY id",
        )
        .await
        .unwrap();
    client
        .execute("INSERT INTO conf_order (id, customer, amount, status, placed_at) VALUES (1, 'a', 2.5, 'Shipped', 0)")
        .await
        .unwrap();
    let p = ClickHousePersistence::<ConfOrder>::open(client, None)
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
    let rows = p.query(&Predicate::all()).await.unwrap();
    assert_eq!((rows.id.clone(), rows.qty.clone()), (vec![1], vec![None]));
    p.append(orders(11..13)).await.unwrap();
    assert_eq!(
        p.count(&ConfOrder::fields().qty.is_not_null())
            .await
            .unwrap(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_is_retryable_and_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let err = ClickHousePersistence::<ConfOrder>::connect(ClickHouseConfig::new(&url))
        .await
        .unwrap_err();
    assert!(
        err.is_retryable() && err.to_string().contains(&url),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_sql_and_stats() {
    let Some(server) = Server::start() else {
        return;
    };
    let p = store(&server, None).await;
    p.save(orders(0..1000)).await.unwrap();
    let batches = p
        .sql("SELECT status, count() AS n, sum(amount) AS total FROM conf_order GROUP BY status ORDER BY status")
        .await
        .unwrap();
    let batch = &batches[0];
    let schema = batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["status", "n", "total"]);
    let status = batch.column(0).as_string::<i32>();
    assert_eq!(status.value(0), "Pending");
    let n = batch
        .column(1)
        .as_primitive::<soa_persist::arrow::datatypes::UInt64Type>();
    assert_eq!(n.values().iter().sum::<u64>(), 1000);
    assert_eq!(batch.num_rows(), 4);
    assert!(!batch.column(2).is_empty());
    let stats = p.stats().await.unwrap();
    assert_eq!(stats.rows, 1000);
    assert!(stats.bytes_on_disk.unwrap() > 0, "{stats}");
    assert!(
        stats
            .columns
            .iter()
            .any(|c| c.name == "customer" && c.bytes_in_memory > 0)
    );
}

/// A store over both shards of `cluster`, in a database made on each.
async fn cluster_store(cluster: &Cluster) -> ClickHousePersistence<ConfOrder> {
    let shards = cluster.fresh_databases("cluster").await;
    ClickHousePersistence::cluster(shards, CLUSTER, None)
        .await
        .unwrap_or_else(|e| panic!("cluster: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_two_shard_cluster_passes_the_conformance_suite_and_uses_both_shards() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    conformance::run_all(|| cluster_store(&cluster)).await;
    let p = cluster_store(&cluster).await;
    p.save(orders(0..1000)).await.unwrap();
    assert_eq!(p.count(&Predicate::all()).await.unwrap(), 1000);
    let mut total = 0;
    for shard in p.shards() {
        let n = count_rows(shard, "conf_order_local").await;
        assert!(n > 0, "every shard holds rows");
        total += n;
    }
    assert_eq!(total, 1000);
    assert_eq!(p.stats().await.unwrap().rows, 1000);
}

/// Each value rendered by `literal`, selected by the server and decoded: the same value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn literals_read_back_as_the_same_values() {
    use soa_persist::arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, UInt64Array};
    use soa_persist::arrow::datatypes::Field;
    use soa_persist::backends::clickhouse::literal;
    use soa_persist_api::sql::Param;
    use std::sync::Arc;

    let Some(server) = Server::start() else {
        return;
    };
    let p = store(&server, None).await;
    let caps = p.client().caps().clone();
    let select = |value: ArrayRef| {
        let column = Arc::new(Field::new("v", value.data_type().clone(), true));
        let sql = literal(&Param { value, column }, &caps).unwrap();
        format!("SELECT {sql} AS v")
    };
    let texts = [
        "'); DROP TABLE conf_order; --",
        "\\",
        "\\'",
        "a\0b",
        "line\nbreak\r\ttab",
        "é 😀 \u{202e} \u{7f}",
        "",
    ];
    for text in texts {
        let batches = p
            .sql(&select(Arc::new(StringArray::from(vec![text]))))
            .await
            .unwrap();
        assert_eq!(batches[0].column(0).as_string::<i32>().value(0), text);
    }
    for v in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        5e-324,
        f64::MAX,
        0.1,
    ] {
        let batches = p
            .sql(&select(Arc::new(Float64Array::from(vec![v]))))
            .await
            .unwrap();
        let got = batches[0]
            .column(0)
            .as_primitive::<soa_persist::arrow::datatypes::Float64Type>()
            .value(0);
        assert!(
            got.to_bits() == v.to_bits() || (v.is_nan() && got.is_nan()),
            "{v} -> {got}"
        );
    }
    let batches = p
        .sql(&select(Arc::new(Int64Array::from(vec![i64::MIN]))))
        .await
        .unwrap();
    let got = batches[0]
        .column(0)
        .as_primitive::<soa_persist::arrow::datatypes::Int64Type>();
    assert_eq!(got.value(0), i64::MIN);
    let batches = p
        .sql(&select(Arc::new(UInt64Array::from(vec![u64::MAX]))))
        .await
        .unwrap();
    let got = batches[0]
        .column(0)
        .as_primitive::<soa_persist::arrow::datatypes::UInt64Type>();
    assert_eq!(got.value(0), u64::MAX);
    // Integers are plain digits: each reads back as the same number.
    let batches = p
        .sql(&select(Arc::new(
            soa_persist::arrow::array::Int8Array::from(vec![i8::MIN]),
        )))
        .await
        .unwrap();
    let got = soa_persist::arrow::compute::cast(
        batches[0].column(0),
        &soa_persist::arrow::datatypes::DataType::Int64,
    )
    .unwrap();
    assert_eq!(
        got.as_primitive::<soa_persist::arrow::datatypes::Int64Type>()
            .value(0),
        i64::from(i8::MIN)
    );
    let null = p
        .sql(&select(Arc::new(UInt64Array::from(vec![None]))))
        .await;
    assert!(null.is_err() || null.unwrap()[0].column(0).is_null(0));
}

/// Which orderings of a row's value against the literal a comparison keeps.
type Keep = fn(std::cmp::Ordering) -> bool;

/// Float comparisons follow the reference's total order on ClickHouse too: NaN equals NaN and
/// is above every number, also when the literal is NaN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn float_comparisons_order_nan_above_every_number() {
    use std::cmp::Ordering::*;
    let Some(server) = Server::start() else {
        return;
    };
    let p = store(&server, None).await;
    let rows: Vec<ConfOrder> = (0..303).map(order).collect();
    p.save(rows.iter().cloned().collect()).await.unwrap();
    let a = || ConfOrder::fields().amount;
    for v in [f64::NAN, 50.0, f64::INFINITY] {
        let cases: Vec<(Predicate<ConfOrder>, Keep)> = vec![
            (a().eq(v), |o| o == Equal),
            (a().ne(v), |o| o != Equal),
            (a().gt(v), |o| o == Greater),
            (a().ge(v), |o| o != Less),
            (a().lt(v), |o| o == Less),
            (a().le(v), |o| o != Greater),
        ];
        for (predicate, keep) in cases {
            let want = rows.iter().filter(|r| keep(r.amount.total_cmp(&v))).count() as u64;
            assert_eq!(p.count(&predicate).await.unwrap(), want, "{predicate}");
            let not = p.count(&predicate.clone().not()).await.unwrap();
            assert_eq!(not, 303 - want, "NOT {predicate}");
        }
    }
}

/// `append` converts and sends a container block by block: many blocks arrive whole and in
/// order, a container of Arrow-layout columns (converted at once) too, and a row that does not
/// convert in a later block aborts the INSERT, so the blocks sent before it are not stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_is_appended_block_by_block_and_a_bad_row_aborts_it() {
    let Some(server) = Server::start() else {
        return;
    };
    let db = fresh_database(&server.client().await, "blocks").await;
    let config = db.config().clone().with_block_rows(1_000);
    let client = ClickHouseClient::connect(config).await.unwrap();

    let store = ClickHousePersistence::<ConfOrder>::open(client.clone(), None)
        .await
        .unwrap();
    let rows = orders(0..10_500);
    store.append(rows.clone()).await.unwrap();
    // Read back partition by partition: compared by key (as text, for the NaN amounts).
    let mut got: Vec<ConfOrder> = store.load().await.unwrap().unwrap().into_iter().collect();
    got.sort_by_key(|o| o.id);
    let want: Vec<ConfOrder> = rows.into_iter().collect();
    assert_eq!(got.len(), want.len());
    assert!(
        format!("{got:?}") == format!("{want:?}"),
        "the rows read back differ"
    );

    let notes = ClickHousePersistence::<Note>::open(client.clone(), None)
        .await
        .unwrap();
    let rows = note_rows(0..2_500);
    notes.append(rows.clone()).await.unwrap();
    assert_eq!(notes.load().await.unwrap(), Some(rows));

    let priced = ClickHousePersistence::<Priced>::open(client.clone(), None)
        .await
        .unwrap();
    let mut rows: PricedSoA = (0..2_500u64)
        .map(|id| Priced {
            id,
            price: Decimal::new(id as i64 % 1000, 2),
        })
        .collect();
    // Row 2,100 (the third block) needs more than 5 digits.
    rows.price[2_100] = Decimal::new(12_345_678, 2);
    let err = priced.append(rows).await.unwrap_err();
    assert!(
        matches!(err, PersistError::Convert(_)),
        "a conversion error, got {err:?}"
    );
    assert_eq!(count_rows(&client, "priced").await, 0, "nothing stored");
    // The handle still works.
    let ok: PricedSoA = std::iter::once(Priced {
        id: 1,
        price: Decimal::new(150, 2),
    })
    .collect();
    priced.append(ok).await.unwrap();
    assert_eq!(count_rows(&client, "priced").await, 1);
}
