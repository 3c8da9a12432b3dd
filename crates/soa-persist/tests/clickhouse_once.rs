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
