//! `append_batches_once` when a write's outcome is unknown (recorded as started, not as done:
//! the server died or the answer was lost). A write is cut into units (one block, shard and
//! partition: one part each), so a kill leaves some units stored whole and others missing, a
//! block on one shard and not the other. A retry skips the stored units and sends the missing
//! ones: every row stored once, on one server and on a two-shard cluster. Also: the write-id
//! columns stay hidden, and `_soa_writes` merges down to two rows per writer with the answers
//! unchanged.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod clickhouse;
mod tools;

use std::time::{Duration, Instant};

use clickhouse::{CLUSTER, Cluster, Server, fresh_database};
use soa_persist::backends::clickhouse::{ClickHouseClient, ClickHousePersistence};
use soa_persist::prelude::*;
use soa_persist::testing::{ConfOrder, orders};

/// Rows per Native block: a write of 40 rows is four blocks.
const BLOCK: usize = 10;

async fn small_blocks(client: &ClickHouseClient) -> ClickHouseClient {
    ClickHouseClient::connect(client.config().clone().with_block_rows(BLOCK))
        .await
        .expect("connect")
}

/// Runs a mutation and waits until the server has applied it.
async fn mutate(client: &ClickHouseClient, sql: &str) {
    client.execute(sql).await.expect(sql);
    let pending = "SELECT count() FROM system.mutations WHERE database = currentDatabase() \
                   AND is_done = 0";
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.query_text(pending).await.expect("mutations").trim() != "0" {
        assert!(Instant::now() < deadline, "mutation not done: {sql}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Forgets that any write finished, as a kill between the rows and that record would.
async fn forget_done(p: &ClickHousePersistence<ConfOrder>) {
    mutate(p.client(), "ALTER TABLE _soa_writes DELETE WHERE done = 1").await;
}

async fn stored_ids(p: &ClickHousePersistence<ConfOrder>) -> Vec<u64> {
    let mut got = p.load().await.expect("load").expect("stored").id;
    got.sort_unstable();
    got
}

/// The scenario, on `p` whose parts tables are `local` on each of `shards`.
async fn in_doubt_writes_complete_once(
    p: &ClickHousePersistence<ConfOrder>,
    shards: &[ClickHouseClient],
    local: &str,
) {
    let write = || vec![orders(0..40).to_record_batch().expect("batch")];
    let id = WriteId::new("w", 1);
    assert!(p.append_batches_once(write(), &id).await.expect("first"));

    forget_done(p).await;
    assert!(
        !p.append_batches_once(write(), &id).await.expect("retry"),
        "every block is there: nothing to write"
    );
    assert_eq!(stored_ids(p).await, (0..40).collect::<Vec<_>>());

    // The first server's first units gone (on a cluster the same blocks stay on the other
    // shard), and each server's last unit gone: what kills between parts leave.
    forget_done(p).await;
    let first = format!("ALTER TABLE `{local}` DELETE WHERE _soa_block < 3");
    mutate(&shards[0], &first).await;
    for shard in shards {
        let last = format!(
            "ALTER TABLE `{local}` DELETE WHERE _soa_block = \
             (SELECT max(_soa_block) FROM `{local}`)"
        );
        mutate(shard, &last).await;
    }
    assert!(p.count(&Predicate::all()).await.expect("count") < 40);
    assert!(
        p.append_batches_once(write(), &id).await.expect("repair"),
        "the missing blocks are written"
    );
    assert_eq!(stored_ids(p).await, (0..40).collect::<Vec<_>>());
    assert!(!p.append_batches_once(write(), &id).await.expect("done"));

    let next = vec![orders(40..50).to_record_batch().expect("batch")];
    assert!(
        p.append_batches_once(next, &WriteId::new("w", 2))
            .await
            .expect("next")
    );
    assert_eq!(stored_ids(p).await, (0..50).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_in_doubt_completes_once_on_one_server() {
    let Some(server) = Server::start() else {
        return;
    };
    let client = small_blocks(&fresh_database(&server.client().await, "once").await).await;
    let p = ClickHousePersistence::<ConfOrder>::open(client.clone(), None)
        .await
        .expect("open");
    in_doubt_writes_complete_once(&p, &[client], p.table_name()).await;

    let all = p.sql("SELECT * FROM conf_order").await.expect("sql");
    let names: Vec<String> = all[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with("_soa")),
        "hidden columns in SELECT *: {names:?}"
    );
    let stats = p.stats().await.expect("stats");
    assert!(stats.columns.iter().all(|c| !c.name.starts_with("_soa")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_in_doubt_completes_once_on_a_cluster() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let mut shards = Vec::new();
    for shard in cluster.fresh_databases("once_cluster").await {
        shards.push(small_blocks(&shard).await);
    }
    let p = ClickHousePersistence::<ConfOrder>::cluster(shards.clone(), CLUSTER, None)
        .await
        .expect("cluster");
    let local = format!("{}_local", p.table_name());
    in_doubt_writes_complete_once(&p, &shards, &local).await;
}

/// `_soa_writes` keeps, once merged, one started and one done row per writer; a late retry
/// is still refused and the next write still goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_ids_merge_to_two_rows_per_writer() {
    let Some(server) = Server::start() else {
        return;
    };
    let client = fresh_database(&server.client().await, "once_merge").await;
    let p = ClickHousePersistence::<ConfOrder>::open(client.clone(), None)
        .await
        .expect("open");
    // Write `seq` of `writer`: the one row `row`; whether it wrote.
    let once = |writer: &'static str, seq: u64, row: u64| {
        let (p, id) = (p.clone(), WriteId::new(writer, seq));
        let rows = vec![orders(row..row + 1).to_record_batch().expect("batch")];
        async move { p.append_batches_once(rows, &id).await.expect("append") }
    };
    for seq in 1..=30 {
        assert!(once("w", seq, seq).await);
    }
    assert!(once("v", 1, 0).await);
    let rows = "SELECT count() FROM _soa_writes WHERE writer = 'w'";
    // Background merges may have begun: 60 rows written, as few as 2 left.
    let before: u64 = client
        .query_text(rows)
        .await
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!((2..=60).contains(&before), "{before} rows");
    client
        .execute("OPTIMIZE TABLE _soa_writes FINAL")
        .await
        .unwrap();
    assert_eq!(client.query_text(rows).await.unwrap().trim(), "2");
    assert!(!once("w", 5, 5).await, "an old write of w");
    assert!(!once("v", 1, 0).await, "v's write");
    assert!(once("w", 31, 31).await, "the next write of w");
    assert_eq!(stored_ids(&p).await, (0..32).collect::<Vec<_>>());
}

/// Waits until the database has no pending mutation (a sweep's delete is one).
async fn mutations_done(client: &ClickHouseClient) {
    mutate(client, "SELECT 1").await;
}

/// With a zero retention every write sweeps `_soa_writes`: the records of writers whose
/// writes are all done go (each store is a new writer, so without the sweep the table grows
/// by two rows per store forever), while a write started and never done keeps its record
/// however old, and its retry still finds it in doubt and completes it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_writers_records_go_and_a_write_in_doubt_stays() {
    let Some(server) = Server::start() else {
        return;
    };
    let client = fresh_database(&server.client().await, "once_sweep").await;
    let config = client
        .config()
        .clone()
        .with_write_id_retention(Duration::ZERO);
    let client = ClickHouseClient::connect(config).await.expect("connect");
    let p = ClickHousePersistence::<ConfOrder>::open(client.clone(), None)
        .await
        .expect("open");
    // A writer that died long ago in its second write: the first done, the second started and
    // never done (none of its units stored).
    client
        .execute(
            "INSERT INTO _soa_writes (table_name, writer, seq, done, at) VALUES \
             ('conf_order', 'dead', 1, 0, toDateTime(0)), ('conf_order', 'dead', 1, 1, toDateTime(0)), \
             ('conf_order', 'dead', 2, 0, toDateTime(0))",
        )
        .await
        .unwrap();
    let once = |writer: String, row: u64| {
        let (p, id) = (p.clone(), WriteId::new(writer, 1));
        let rows = vec![orders(row..row + 1).to_record_batch().expect("batch")];
        async move { p.append_batches_once(rows, &id).await.expect("append") }
    };
    for w in 0..40 {
        assert!(once(format!("store-{w}"), w).await);
    }
    // The last sweep may have been skipped while an earlier one's delete ran: one more write
    // once none is pending sweeps every finished writer, itself included.
    mutations_done(&client).await;
    assert!(once("last".into(), 40).await);
    mutations_done(&client).await;
    client
        .execute("OPTIMIZE TABLE _soa_writes FINAL")
        .await
        .unwrap();
    let left = client
        .query_text("SELECT writer, seq, done FROM _soa_writes ORDER BY writer, seq, done FORMAT TabSeparated")
        .await
        .unwrap();
    assert_eq!(
        left, "dead\t1\t1\ndead\t2\t0\n",
        "82 records written, only the writer in doubt's left"
    );

    // Past the retention (zero here) a done write is forgotten: its retry writes again.
    assert!(once("store-0".into(), 0).await);

    let retry = |seq: u64| {
        let rows = vec![orders(100..110).to_record_batch().expect("batch")];
        let (p, id) = (p.clone(), WriteId::new("dead", seq));
        async move { p.append_batches_once(rows, &id).await.expect("retry") }
    };
    assert!(!retry(1).await, "its first write is still known done");
    assert!(
        retry(2).await,
        "the write in doubt had no rows stored: they are sent"
    );
    let want: Vec<u64> = [0].into_iter().chain(0..41).chain(100..110).collect();
    assert_eq!(stored_ids(&p).await, want);
}
