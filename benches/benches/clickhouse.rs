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
//! - the same insert on a two-shard cluster (`ClickHousePersistence::cluster`) vs one server.
//!
//! Run: `cargo bench -p soa-persist-benches --bench clickhouse --features clickhouse` (needs
//! `clickhouse-server` on PATH or in /usr/sbin; `SOA_BENCH_ROWS=...` to change 10M,
//! `SOA_BENCH_NO_CLUSTER=1` to skip the two-shard insert).

use std::time::{Duration, Instant};

// The loopback server's config files, shared with the test harness.
#[path = "../../crates/soa-persist/tests/clickhouse/config.rs"]
mod ch_config;

use soa_persist::backends::clickhouse::{
    ClickHouseClient, ClickHouseConfig, ClickHousePersistence,
};
use soa_persist::prelude::*;
use soa_persist_benches::{Order, OrderSoA, best_of, ms, order, report, rows_from_env, runtime};

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

    // The same insert on a two-shard cluster vs one server.
    if std::env::var_os("SOA_BENCH_NO_CLUSTER").is_some() {
        return;
    }
    let cluster = server::Cluster::start(&binary);
    let shards: Vec<ClickHouseClient> = cluster
        .shards
        .iter()
        .map(|s| rt.block_on(bench_client(&s.url())))
        .collect();
    let first = shards[0].clone();
    let spread = rt
        .block_on(ClickHousePersistence::<Order>::cluster(
            shards.clone(),
            server::CLUSTER,
            Some("spread"),
        ))
        .expect("open on the cluster");
    let batch = rows.clone();
    let (t_cluster, r) = timed(|| rt.block_on(spread.append(batch)));
    r.expect("append on the cluster");
    let per_shard: Vec<String> = shards
        .iter()
        .map(|s| rt.block_on(text(s, "SELECT count() FROM spread_local")))
        .collect();
    let total = rt.block_on(text(&first, "SELECT count() FROM spread"));
    assert_eq!(total, n.to_string());
    println!(
        "cluster rows: {total} through the Distributed table ({} per shard)",
        per_shard.join(" + ")
    );
    println!(
        "{:<44} ours {:>9.2} ms   {:<14} {:>9.2} ms   ratio {:>6.2}x",
        format!("insert {n} rows, 2 shards vs 1 server"),
        ms(t_cluster),
        "1 server",
        ms(t_ours),
        t_ours.as_secs_f64() / t_cluster.as_secs_f64().max(1e-12)
    );
}

/// `clickhouse-server` processes for the bench: a generated config on free loopback ports with
/// `system.query_log` on, a temporary data folder, killed and reaped on drop (adapted from the
/// test harness in `crates/soa-persist/tests/clickhouse/mod.rs`).
mod server {
    use std::net::{Ipv4Addr, TcpListener};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    pub const CLUSTER: &str = "soa_two_shards";

    pub struct Server {
        child: Child,
        http: u16,
        dir: tempfile::TempDir,
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    pub fn binary() -> Option<PathBuf> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
            .map(|d| d.join("clickhouse-server"))
            .find(|c| c.is_file())
    }

    fn free_port() -> u16 {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    }

    use super::ch_config::{config_xml as config, users_xml};

    impl Server {
        /// One server on free ports (`ports` = (http, tcp) when given); waits for `/ping`.
        pub fn start(binary: &Path, cluster: Option<(u16, u16, &str)>) -> Self {
            let mut last = String::new();
            for _ in 0..5 {
                let (http, tcp, remote) = cluster.unwrap_or_else(|| (free_port(), free_port(), ""));
                match Self::spawn(binary, http, tcp, remote) {
                    Ok(s) => return s,
                    Err(e) => last = e,
                }
                if cluster.is_some() {
                    break;
                }
            }
            panic!("clickhouse-server did not start: {last}");
        }

        fn spawn(binary: &Path, http: u16, tcp: u16, remote: &str) -> Result<Self, String> {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let config_path = dir.path().join("config.xml");
            std::fs::write(&config_path, config(dir.path(), http, tcp, remote))
                .map_err(|e| e.to_string())?;
            std::fs::write(dir.path().join("users.xml"), users_xml()).map_err(|e| e.to_string())?;
            let out =
                std::fs::File::create(dir.path().join("stdout.log")).map_err(|e| e.to_string())?;
            let err = out.try_clone().map_err(|e| e.to_string())?;
            let child = Command::new(binary)
                .arg(format!("--config-file={}", config_path.display()))
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .map_err(|e| format!("can't run {}: {e}", binary.display()))?;
            let mut server = Self { child, http, dir };
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                if let Some(status) = server.child.try_wait().map_err(|e| e.to_string())? {
                    return Err(format!("exited with {status}: {}", server.log_tail()));
                }
                if server.ping() {
                    return Ok(server);
                }
                if Instant::now() > deadline {
                    return Err(format!("no answer on port {http}"));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }

        fn ping(&self) -> bool {
            super::ch_config::ping(self.http)
        }

        fn log_tail(&self) -> String {
            let log =
                std::fs::read_to_string(self.dir.path().join("server.err.log")).unwrap_or_default();
            let start = log.len().saturating_sub(2000);
            log.get(start..).unwrap_or(&log).to_string()
        }

        pub fn url(&self) -> String {
            format!("http://127.0.0.1:{}", self.http)
        }
    }

    /// Two servers, each configured with `CLUSTER` = both of them as shards.
    pub struct Cluster {
        pub shards: Vec<Server>,
    }

    impl Cluster {
        pub fn start(binary: &Path) -> Self {
            let ports = [free_port(), free_port(), free_port(), free_port()];
            let shard = |tcp: u16| {
                format!(
                    "<shard><replica><host>127.0.0.1</host><port>{tcp}</port></replica></shard>"
                )
            };
            let remote = format!(
                "<{CLUSTER}>{}{}</{CLUSTER}>",
                shard(ports[1]),
                shard(ports[3])
            );
            let first = Server::start(binary, Some((ports[0], ports[1], &remote)));
            let second = Server::start(binary, Some((ports[2], ports[3], &remote)));
            Self {
                shards: vec![first, second],
            }
        }
    }
}
