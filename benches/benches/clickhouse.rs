//! ClickHouse benchmark, `Order` rows (10M unless `SOA_BENCH_ROWS` / `ROWS` says otherwise),
//! same data, same run, against a `clickhouse-server` the bench starts on free loopback ports
//! (and stops at the end):
//!
//! - insert: our `ClickHousePersistence::append` of an `OrderSoA` (Native format) vs the official
//!   `clickhouse` crate's `Insert<OrderRow>` (RowBinary, `with_validation(false)`: the server
//!   lacks `RowBinaryWithNamesAndTypes`), each into a fresh table of the same columns (the peer's
//!   table is `CREATE TABLE ... AS` ours), with the server's own time from `system.query_log`;
//! - a 0.1%-selective key range into `OrderSoA` and a full load, vs `fetch_all::<OrderRow>()` of
//!   the same rows;
//! - the same insert through the official crate's Native block API (`insert_native` with
//!   `BlockBuilder` blocks of 65,536 rows), and ours with an uncompressed body as it sends;
//! - the same insert on a two-shard cluster (`ClickHousePersistence::cluster`): cut by key and
//!   sent to both shards at once vs through the `Distributed` table, each vs one server.
//!
//! Run: `cargo bench -p soa-persist-benches --bench clickhouse --features clickhouse` (needs
//! `clickhouse-server` on PATH or in /usr/sbin; `SOA_BENCH_ROWS=...` to change 10M,
//! `SOA_BENCH_NO_CLUSTER=1` to skip the two-shard insert).

use std::time::{Duration, Instant};

// The loopback server's config files, shared with the test harness.
#[path = "../../crates/soa-persist/tests/clickhouse/config.rs"]
mod ch_config;
#[path = "clickhouse/server.rs"]
mod server;

use soa_persist::backends::clickhouse::{
    ClickHouseClient, ClickHouseConfig, ClickHousePersistence,
};
use soa_persist::prelude::*;
use soa_persist_benches::{Order, OrderSoA, best_of, order, report, rows_from_env, runtime};

/// The peer's row: the table's columns in order, as RowBinary encodes them.
#[derive(clickhouse::Row, serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct OrderRow {
    order_id: u64,
    customer: String,
    amount: f64,
    /// `Enum8`: the variant's index (the values the table declares).
    status: i8,
    /// `Int64` microseconds since 1970 (18.16 has no `DateTime64`; what our table declares).
    placed_at: i64,
    note: Option<String>,
}

impl OrderRow {
    fn from_order(o: &Order) -> Self {
        Self {
            order_id: o.order_id,
            customer: o.customer.clone(),
            amount: o.amount,
            status: o.status as i8,
            placed_at: o.placed_at.timestamp_micros(),
            note: o.note.clone(),
        }
    }
}

fn timed<R>(f: impl FnOnce() -> R) -> (Duration, R) {
    let start = Instant::now();
    let r = f();
    (start.elapsed(), r)
}

/// `SOA_BENCH_ROWS`, else `ROWS`, else 10M.
fn rows() -> u64 {
    std::env::var("SOA_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| rows_from_env(10_000_000))
}

/// A client on the database `bench` of `url` (created if missing).
async fn bench_client(url: &str) -> ClickHouseClient {
    let client = ClickHouseClient::connect(ClickHouseConfig::new(url))
        .await
        .expect("connect");
    client
        .execute("CREATE DATABASE IF NOT EXISTS bench")
        .await
        .expect("create database");
    client.with_database("bench")
}

async fn text(client: &ClickHouseClient, sql: &str) -> String {
    client
        .query_text(&format!("{sql} FORMAT TabSeparated"))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .trim()
        .to_string()
}

/// A digest of a table's rows (count and column sums), to show two tables hold the same rows.
async fn digest(client: &ClickHouseClient, table: &str) -> String {
    text(
        client,
        &format!(
            "SELECT count(), sum(order_id), sum(toUInt64(round(amount * 100))), sum(placed_at), sum(length(customer)), \
             count(note), sum(CAST(status AS Int8)) FROM {table}"
        ),
    )
    .await
}

/// The server's own time for the finished queries matching `pattern` (a `LIKE` pattern) since
/// `after` (the fastest one, and its rows written + returned), from `system.query_log`.
async fn server_time(
    client: &ClickHouseClient,
    pattern: &str,
    exclude: &str,
    after: u64,
) -> Option<(u64, u64)> {
    if client.execute("SYSTEM FLUSH LOGS").await.is_err() {
        // Without the statement: the log's flush interval (500 ms in the bench's config).
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let sql = format!(
        "SELECT query_duration_ms, greatest(written_rows, read_rows) FROM system.query_log \
         WHERE type = 2 AND event_time >= toDateTime({after}) AND replaceAll(query, '\\n', ' ') LIKE '{pattern}' \
         AND query NOT LIKE '{exclude}' AND query NOT LIKE '%query_log%' \
         ORDER BY query_duration_ms LIMIT 1"
    );
    let answer = client
        .query_text(&format!("{sql} FORMAT TabSeparated"))
        .await;
    let answer = answer.ok()?;
    let (t, rows) = answer.trim().split_once('\t')?;
    Some((t.parse().ok()?, rows.parse().ok()?))
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn print_server(what: &str, ours: Option<(u64, u64)>, peer: Option<(u64, u64)>) {
    let show = |t: Option<(u64, u64)>| {
        t.map_or("n/a (no query_log entry)".to_string(), |(millis, rows)| {
            format!("{millis} ms ({rows} rows read/written)")
        })
    };
    println!(
        "  server side (system.query_log) {what}: ours {}, peer {}",
        show(ours),
        show(peer)
    );
}

fn main() {
    let n = rows();
    let Some(binary) = server::binary() else {
        println!("SKIPPED: no clickhouse-server on PATH or in /usr/sbin");
        return;
    };
    let rt = runtime();
    let one = server::Server::start(&binary, None);
    let url = one.url();
    println!("== clickhouse, {n} Order rows, clickhouse-server at {url} ==");
    let rows: OrderSoA = (0..n).map(order).collect();
    // The same rows as the peer's row structs (built before timing, like our `OrderSoA`).
    let peer_rows: Vec<OrderRow> = (0..n).map(|i| OrderRow::from_order(&order(i))).collect();

    let client = rt.block_on(bench_client(&url));
    println!(
        "server version {}",
        rt.block_on(text(&client, "SELECT version()"))
    );

    // Ours: a fresh table, created by `open` from the struct's schema.
    let ours = rt
        .block_on(ClickHousePersistence::<Order>::open(
            client.clone(),
            Some("ours"),
        ))
        .expect("open");
    // The peer's table: the same columns, types and engine.
    rt.block_on(client.execute("CREATE TABLE peer AS ours"))
        .expect("create peer table");
    println!(
        "table (both): {}",
        rt.block_on(text(
            &client,
            "SELECT name, type FROM system.columns WHERE database = 'bench' AND table = 'ours'"
        ))
        .replace('\n', ", ")
        .replace('\t', " ")
    );

    let since = now_secs().saturating_sub(1);
    let batch = rows.clone();
    let (t_ours, r) = timed(|| rt.block_on(ours.append(batch)));
    r.expect("our append");

    let raw = client.raw().clone().with_validation(false);
    let (t_peer, r) = timed(|| {
        rt.block_on(async {
            let mut insert = raw.insert::<OrderRow>("peer").await?;
            for row in &peer_rows {
                insert.write(row).await?;
            }
            insert.end().await
        })
    });
    r.expect("peer insert");
    drop(peer_rows);
    rt.block_on(client.execute("CREATE TABLE peer_native AS ours"))
        .expect("create the Native peer's table");
    let (t_native, r) = timed(|| rt.block_on(native_block_insert(&raw, "peer_native", &rows)));
    r.expect("peer Native insert");
    assert_eq!(
        rt.block_on(digest(&client, "peer_native")),
        rt.block_on(digest(&client, "ours")),
        "the Native block API stored the same rows"
    );
    // Ours with the body uncompressed, as `insert_native` sends it.
    let plain = ClickHouseConfig {
        lz4_inserts: false,
        ..client.config().clone()
    };
    let plain = rt
        .block_on(async {
            let client = ClickHouseClient::connect(plain).await?;
            ClickHousePersistence::<Order>::open(client, Some("ours_plain")).await
        })
        .expect("open ours_plain");
    let batch = rows.clone();
    let (t_plain, r) = timed(|| rt.block_on(plain.append(batch)));
    r.expect("our uncompressed append");

    let count_ours = rt.block_on(text(&client, "SELECT count() FROM ours"));
    let count_peer = rt.block_on(text(&client, "SELECT count() FROM peer"));
    println!("rows: ours table {count_ours}, peer table {count_peer}");
    assert_eq!(count_ours, n.to_string());
    assert_eq!(count_peer, n.to_string());
    let (d_ours, d_peer) = (
        rt.block_on(digest(&client, "ours")),
        rt.block_on(digest(&client, "peer")),
    );
    assert_eq!(d_ours, d_peer, "both tables hold the same rows");
    println!();
    report(&format!("insert {n} rows"), t_ours, "Insert<Row>", t_peer);
    report(
        &format!("insert {n} rows, LZ4 body"),
        t_ours,
        "insert_native",
        t_native,
    );
    report(
        &format!("insert {n} rows, plain body"),
        t_plain,
        "insert_native",
        t_native,
    );
    let s_ours = rt.block_on(server_time(
        &client,
        "INSERT INTO%ours%FORMAT Native%",
        "-",
        since,
    ));
    let s_peer = rt.block_on(server_time(
        &client,
        "INSERT INTO%peer%FORMAT RowBinary%",
        "-",
        since,
    ));
    print_server("insert", s_ours, s_peer);

    // A 0.1% key range and a full load, both from our table.
    let (lo, hi) = (n / 2, n / 2 + (n / 1000).max(1));
    let f = Order::fields;
    let predicate = f().order_id.ge(lo).and(f().order_id.lt(hi));
    let since = now_secs().saturating_sub(1);
    let (q_ours, got) = best_of(5, || rt.block_on(ours.query(&predicate)).expect("query"));
    let (q_peer, got_peer) = best_of(5, || {
        rt.block_on(
            raw.query("SELECT ?fields FROM ours WHERE order_id >= ? AND order_id < ?")
                .bind(lo)
                .bind(hi)
                .fetch_all::<OrderRow>(),
        )
        .expect("peer query")
    });
    assert_eq!(got.len() as u64, hi - lo);
    assert_eq!(got_peer.len(), got.len(), "same query, same rows");
    report(
        &format!("key range ({} rows, 0.1%)", got.len()),
        q_ours,
        "fetch_all",
        q_peer,
    );
    let s_ours = rt.block_on(server_time(
        &client,
        "SELECT `order_id`%FROM `ours` WHERE%CAST%",
        "-",
        since,
    ));
    let s_peer = rt.block_on(server_time(
        &client,
        "SELECT `order_id`%FROM ours WHERE%",
        "-",
        since,
    ));
    print_server("key range", s_ours, s_peer);
    drop((got, got_peer));

    let runs = if n >= 5_000_000 { 2 } else { 3 };
    let since = now_secs().saturating_sub(1);
    let (l_ours, loaded) = best_of(runs, || {
        rt.block_on(ours.load())
            .expect("load")
            .expect("written")
            .len()
    });
    let (l_peer, loaded_peer) = best_of(runs, || {
        rt.block_on(
            raw.query("SELECT ?fields FROM ours")
                .fetch_all::<OrderRow>(),
        )
        .expect("peer load")
        .len()
    });
    assert_eq!(loaded as u64, n);
    assert_eq!(loaded_peer as u64, n);
    report(
        &format!("full load ({n} rows)"),
        l_ours,
        "fetch_all",
        l_peer,
    );
    let s_ours = rt.block_on(server_time(
        &client,
        "SELECT `order_id`%FROM `ours`%",
        "%WHERE%",
        since,
    ));
    let s_peer = rt.block_on(server_time(
        &client,
        "SELECT `order_id`%FROM ours%",
        "%WHERE%",
        since,
    ));
    print_server("full load", s_ours, s_peer);
    drop(ours);
    drop(one);

    if std::env::var_os("SOA_BENCH_NO_CLUSTER").is_none() {
        cluster_inserts(&rt, &binary, &rows, t_ours);
    }
}

/// The official crate's Native block API (`Client::insert_native`, `BlockBuilder`): blocks of
/// 65,536 rows built from the same columns, written as one `INSERT ... FORMAT Native`.
async fn native_block_insert(
    raw: &clickhouse::Client,
    table: &str,
    rows: &OrderSoA,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use clickhouse::native::builder::BlockBuilder;
    const BLOCK: usize = 65_536;
    let mut insert = raw.insert_native(table);
    let n = rows.order_id.len();
    for at in (0..n).step_by(BLOCK) {
        let r = at..(at + BLOCK).min(n);
        let mut b = BlockBuilder::new();
        b.upsert_column::<u64>("order_id")?
            .add_all(rows.order_id[r.clone()].iter().copied())?;
        b.upsert_column::<&str>("customer")?
            .add_all(rows.customer[r.clone()].iter().map(String::as_str))?;
        b.upsert_column::<f64>("amount")?
            .add_all(rows.amount[r.clone()].iter().copied())?;
        b.upsert_column::<i8>("status")?
            .add_all(rows.status[r.clone()].iter().map(|s| *s as i8))?;
        b.upsert_column::<i64>("placed_at")?.add_all(
            rows.placed_at[r.clone()]
                .iter()
                .map(|t| t.timestamp_micros()),
        )?;
        b.upsert_column::<Option<&str>>("note")?
            .add_all(rows.note[r].iter().map(Option::as_deref))?;
        insert.write(&b.build()?).await?;
    }
    Ok(insert.end().await?)
}

/// The same insert on a two-shard cluster: through the `Distributed` table (synchronous) vs
/// cut by key on the client and sent to both shards at once, each vs one server.
fn cluster_inserts(
    rt: &tokio::runtime::Runtime,
    binary: &std::path::Path,
    rows: &OrderSoA,
    t_one: Duration,
) {
    let n = rows.order_id.len();
    let cluster = server::Cluster::start(binary);
    let shards: Vec<ClickHouseClient> = cluster
        .shards
        .iter()
        .map(|s| rt.block_on(bench_client(&s.url())))
        .collect();
    let mut times = Vec::new();
    for (table, per_shard) in [("through_dist", false), ("per_shard", true)] {
        let p = rt
            .block_on(ClickHousePersistence::<Order>::cluster(
                shards.clone(),
                server::CLUSTER,
                Some(table),
            ))
            .expect("open on the cluster");
        p.set_per_shard_inserts(per_shard);
        let batch = rows.clone();
        let (t, r) = timed(|| rt.block_on(p.append(batch)));
        r.expect("append on the cluster");
        let local = format!("SELECT count() FROM {table}_local");
        let counts: Vec<String> = shards
            .iter()
            .map(|s| rt.block_on(text(s, &local)))
            .collect();
        let total = rt.block_on(text(&shards[0], &format!("SELECT count() FROM {table}")));
        assert_eq!(total, n.to_string());
        println!(
            "cluster {table}: {total} rows ({} per shard)",
            counts.join(" + ")
        );
        times.push(t);
    }
    let (dist, shard) = (times[0], times[1]);
    report(
        &format!("insert {n} rows, 2 shards at once"),
        shard,
        "Distributed",
        dist,
    );
    report(
        &format!("insert {n} rows, 2 shards at once"),
        shard,
        "1 server",
        t_one,
    );
    report(
        &format!("insert {n} rows, Distributed"),
        dist,
        "1 server",
        t_one,
    );
}
