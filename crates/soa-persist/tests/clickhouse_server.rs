//! The Native codec and the transport against a real `clickhouse-server` (Debian's 18.16 here),
//! started by each test on free loopback ports (`tests/clickhouse/mod.rs`): every field type
//! round-trips through a MergeTree table (nulls, empty strings and lists, extremes, no rows,
//! many blocks each way, LZ4 and plain bodies); the server reads our bytes as the values meant
//! (its own text of them) and we read the values it writes; LowCardinality behind 18.16's
//! experimental setting; LZ4 bodies by default except to a loopback server. Failures are in
//! `clickhouse_server_errors.rs`, the two-shard cluster in `clickhouse_cluster.rs`. Without
//! clickhouse-server the tests print a skip line, or fail when `SOA_REQUIRE_TOOLS=1`.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod clickhouse;
mod tools;

use std::sync::Arc;

use clickhouse::model::*;
use clickhouse::tables::{create_table, read_rows, select};
use clickhouse::{Server, fresh_database};
use futures::{StreamExt, TryStreamExt};
use soa_persist::arrow::array::RecordBatch;
use soa_persist::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use soa_persist::backends::clickhouse::*;
use soa_persist::prelude::*;
use soa_persist::rust_decimal::Decimal;
use soa_persist::uuid::Uuid;
use soa_persist::{Micros, Seconds};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_round_trips_through_the_server() {
    let Some(server) = Server::start() else {
        return;
    };
    // Small blocks both ways: inserts of 7 rows per block, results of 5 rows per block.
    let config = server
        .config()
        .with_block_rows(7)
        .with_setting("max_block_size", "5");
    let base = ClickHouseClient::connect(config).await.unwrap();
    if base.caps().version.0 == 18 {
        let legacy = ServerCaps::legacy();
        assert_eq!(
            base.caps(),
            &ServerCaps {
                version: base.caps().version,
                ..legacy
            }
        );
    }
    let client = fresh_database(&base, "types").await;
    let want = rows(300, 77);
    let batch = want.to_record_batch().unwrap();
    for lz4 in [true, false] {
        let config = ClickHouseConfig {
            lz4_inserts: lz4,
            ..client.config().clone()
        };
        let client = ClickHouseClient::connect(config).await.unwrap();
        let table = format!("rows_{lz4}");
        let encoder = create_table(
            &client,
            &table,
            &Row::arrow_schema(),
            &TypeOptions::default(),
        )
        .await;
        assert_eq!(
            read_rows(&client, &table).await.0.len(),
            0,
            "an empty table reads as no rows"
        );
        // Batches of several sizes, one of them empty, streamed.
        let parts = [
            batch.slice(0, 1),
            batch.slice(1, 0),
            batch.slice(1, 50),
            batch.slice(51, 249),
        ];
        let stream = futures::stream::iter(parts.into_iter().map(Ok));
        assert_eq!(
            client
                .insert_batches(&table, &encoder, stream)
                .await
                .unwrap(),
            300
        );
        let (got, blocks) = read_rows(&client, &table).await;
        assert!(blocks > 1, "the result came in {blocks} blocks");
        assert!(
            same(&got, &want),
            "rows differ after the server (lz4 = {lz4})"
        );
        // The same rows again, encoded (and compressed) on the inserting thread.
        client
            .execute(&format!("TRUNCATE TABLE {table}"))
            .await
            .unwrap();
        assert_eq!(
            client
                .insert(
                    &table,
                    &encoder,
                    &[batch.slice(0, 120), batch.slice(120, 180)]
                )
                .await
                .unwrap(),
            300
        );
        let (got, _) = read_rows(&client, &table).await;
        assert!(
            same(&got, &want),
            "rows differ after the server (lz4 = {lz4}, from the inserting thread)"
        );
    }
}

#[derive(SoA, Clone, Debug, PartialEq)]
struct FromServer {
    id: u64,
    uuid: Uuid,
    #[soa(decimal(18, 4))]
    price: Decimal,
    day: NaiveDate,
    at_s: Timestamp<Seconds>,
    at: Timestamp<Micros>,
    color: Color,
    fixed: [u8; 3],
    words: Vec<String>,
    #[soa(nested)]
    place: Place,
    flag: bool,
    opt: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_the_server_writes_decode_as_meant() {
    let Some(server) = Server::start() else {
        return;
    };
    let client = server.client().await;
    let sql = r#"SELECT number AS id, toUUID('01234567-89ab-cdef-0123-456789abcdef') AS uuid,
        toDecimal64('-12.3456', 4) AS price, toDate('2024-02-29') AS day,
        toDateTime('2024-02-29 12:34:56', 'UTC') AS at_s, toInt64(1700000000123456) AS at,
        CAST('Blue' AS Enum8('Red' = 0, 'it\'s "green"' = 1, 'Blue' = 2)) AS color,
        toFixedString('abc', 3) AS fixed, ['x', ''] AS words,
        tuple('Zürich', toNullable(toUInt32(7)), '') AS place, toUInt8(number % 2) AS flag,
        if(number = 1, NULL, 'x') AS opt
        FROM system.numbers LIMIT 3"#;
    let batches: Vec<RecordBatch> = client
        .query_batches(sql, FromServer::arrow_schema())
        .try_collect()
        .await
        .unwrap();
    let got: Vec<FromServer> = batches
        .iter()
        .flat_map(|b| FromServerSoA::from_record_batch(b).unwrap())
        .collect();
    let want: Vec<FromServer> = (0..3)
        .map(|id| FromServer {
            id,
            uuid: "01234567-89ab-cdef-0123-456789abcdef".parse().unwrap(),
            price: Decimal::new(-123_456, 4),
            day: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
            at_s: Timestamp::new(1_709_210_096),
            at: Timestamp::new(1_700_000_000_123_456),
            color: Color::Blue,
            fixed: *b"abc",
            words: vec!["x".into(), String::new()],
            place: Place {
                city: "Zürich".into(),
                zip: Some(7),
                codes: Vec::new(),
            },
            flag: id % 2 == 1,
            opt: (id != 1).then(|| "x".to_string()),
        })
        .collect();
    assert_eq!(got, want);
}

/// `bytes` as ClickHouse's `hex()` prints them.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_reads_our_bytes_as_the_values_meant() {
    let Some(server) = Server::start() else {
        return;
    };
    let client = server.fresh_client("text").await;
    let want = rows(40, 5);
    let encoder = create_table(&client, "t", &Row::arrow_schema(), &TypeOptions::default()).await;
    client
        .insert("t", &encoder, &[want.to_record_batch().unwrap()])
        .await
        .unwrap();
    let timestamps = if client.caps().date_time64 {
        "toUnixTimestamp64Micro(at), toUnixTimestamp(at_s), toInt32(day)"
    } else {
        "at, at_s, day"
    };
    let sql = format!(
        "SELECT id, long, ulong, toString(uuid), toString(price), toString(cents), hex(fixed), hex(toString(color)), \
         hex(text), isNull(opt_text), hex(bytes), toString(flag), {timestamps}, hex(tupleElement(place, 1)), \
         toString(tupleElement(place, 2)), toString(ints), toString(nested), \
         hex(arrayStringConcat(arrayMap(x -> toString(x), colors), '|')), \
         arrayStringConcat(arrayMap(x -> toString(x), uuids), ','), toString(arrayMap(x -> isNull(x), maybe)) \
         FROM t ORDER BY id FORMAT TabSeparated"
    );
    let text = client.query_text(&sql).await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let want: Vec<Row> = want.into_iter().collect();
    assert_eq!(lines.len(), want.len());
    for (line, r) in lines.iter().zip(&want) {
        let list = |v: Vec<String>| format!("[{}]", v.join(","));
        let expected = [
            r.id.to_string(),
            r.long.to_string(),
            r.ulong.to_string(),
            r.uuid.to_string(),
            r.price.to_string(),
            r.cents.to_string(),
            hex(&r.fixed),
            hex(r.color.variant_name().as_bytes()),
            hex(r.text.as_bytes()),
            u8::from(r.opt_text.is_none()).to_string(),
            hex(&r.bytes),
            u8::from(r.flag).to_string(),
            r.at.timestamp_micros().to_string(),
            r.at_s.and_utc().timestamp().to_string(),
            (r.day
                .signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
                .num_days())
            .to_string(),
            hex(r.place.city.as_bytes()),
            r.place.zip.map_or("\\N".to_string(), |z| z.to_string()),
            list(r.ints.iter().map(ToString::to_string).collect()),
            list(
                r.nested
                    .iter()
                    .map(|l| list(l.iter().map(ToString::to_string).collect()))
                    .collect(),
            ),
            hex(r
                .colors
                .iter()
                .map(|c| c.variant_name())
                .collect::<Vec<_>>()
                .join("|")
                .as_bytes()),
            r.uuids
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            list(
                r.maybe
                    .iter()
                    .map(|m| u8::from(m.is_none()).to_string())
                    .collect(),
            ),
        ];
        assert_eq!(
            line.split('\t').collect::<Vec<_>>(),
            expected,
            "row {}",
            r.id
        );
    }
}

#[derive(SoA, Clone, Debug, PartialEq)]
struct Labels {
    id: u64,
    label: String,
    opt_label: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_cardinality_round_trips_on_the_old_server_behind_its_setting() {
    let Some(server) = Server::start() else {
        return;
    };
    let config = server
        .config()
        .with_setting("allow_experimental_low_cardinality_type", "1");
    let client = fresh_database(&ClickHouseClient::connect(config).await.unwrap(), "lowcard").await;
    let caps = ServerCaps {
        low_cardinality: true,
        ..client.caps().clone()
    };
    let opts = TypeOptions {
        low_cardinality: vec!["label".into(), "opt_label".into()],
    };
    let schema = Labels::arrow_schema();
    let columns = table_columns(&schema, &caps, &opts).unwrap();
    assert_eq!(
        columns[2].ch_type.to_string(),
        "LowCardinality(Nullable(String))"
    );
    let defs: Vec<String> = columns
        .iter()
        .map(|c| format!("{} {}", quote_identifier(&c.name), c.ch_type))
        .collect();
    client
        .execute(&format!(
            "CREATE TABLE l ({}) ENGINE = MergeTree ORDER BY id",
            defs.join(", ")
        ))
        .await
        .unwrap();
    let encoder = BlockEncoder::new(
        schema.clone(),
        columns.into_iter().map(|c| c.ch_type).collect(),
    )
    .unwrap();
    let want: LabelsSoA = (0..1000u64)
        .map(|id| Labels {
            id,
            label: ["", "a", "b", "Zürich"][(id % 4) as usize].to_string(),
            opt_label: (id % 3 != 0).then(|| format!("v{}", id % 300)),
        })
        .collect();
    client
        .insert("l", &encoder, &[want.to_record_batch().unwrap()])
        .await
        .unwrap();
    let sql = select(&schema, "l");
    let batches: Vec<RecordBatch> = client
        .query_batches(&sql, schema.clone())
        .try_collect()
        .await
        .unwrap();
    let mut got = LabelsSoA::new();
    for b in &batches {
        got.append(&mut LabelsSoA::from_record_batch(b).unwrap());
    }
    assert_eq!(got, want);
    // The same columns read as dictionaries.
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let as_dict: SchemaRef = Arc::new(Schema::new(vec![
        Field::new("id", DataType::UInt64, false),
        Field::new("label", dict.clone(), false),
        Field::new("opt_label", dict, true),
    ]));
    let batches: Vec<RecordBatch> = client
        .query_batches(&sql, as_dict)
        .try_collect()
        .await
        .unwrap();
    let mut got = LabelsSoA::new();
    for b in &batches {
        got.append(&mut LabelsSoA::from_record_batch(b).unwrap());
    }
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_batches_is_inserted_and_read_block_by_block() {
    use soa_persist::testing::{ConfOrder, ConfOrderSoA, orders};
    let Some(server) = Server::start() else {
        return;
    };
    let client = server.fresh_client("stream").await;
    let schema = ConfOrder::arrow_schema();
    let encoder = create_table(&client, "orders", &schema, &TypeOptions::default()).await;
    // 40 batches made one at a time as the insert pulls them.
    let batches = futures::stream::iter(0..40u64)
        .map(|i| Ok(orders(i * 2_500..(i + 1) * 2_500).into_record_batch()?));
    assert_eq!(
        client
            .insert_batches("orders", &encoder, batches)
            .await
            .unwrap(),
        100_000
    );
    let mut stream = client.query_batches(&select(&schema, "orders"), schema.clone());
    let (mut rows, mut blocks) = (0u64, 0);
    while let Some(batch) = stream.try_next().await.unwrap() {
        let got = ConfOrderSoA::from_record_batch(&batch).unwrap();
        let want = orders(rows..rows + got.len() as u64);
        assert!(same(&got, &want), "rows from {rows} differ");
        rows += got.len() as u64;
        blocks += 1;
    }
    assert_eq!(rows, 100_000);
    assert!(blocks > 1, "read as {blocks} blocks");
}

/// Insert bodies are LZ4-compressed except to a server on this machine.
#[test]
fn lz4_bodies_except_on_loopback() {
    for (url, lz4) in [
        ("http://127.0.0.1:8123", false),
        ("http://localhost", false),
        ("http://user:pw@[::1]:8123/?x=1", false),
        ("http://127.9.9.9:8123", false),
        ("https://ch.example.com:8443", true),
        ("http://10.0.0.1:8123", true),
        ("http://localhost.example.com", true),
    ] {
        assert_eq!(ClickHouseConfig::new(url).lz4_inserts, lz4, "{url}");
    }
}
