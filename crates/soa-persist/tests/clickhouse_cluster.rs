//! A two-shard ClickHouse cluster (two `clickhouse-server` processes whose `remote_servers`
//! config names both): a `Distributed` table over a MergeTree table on each shard takes our
//! Native inserts (synchronously), every shard holds some of the rows, and the distributed
//! table reads every row back. The backend's appends, cut by key on the client and sent to
//! both shards at once, put each row where the `Distributed` table would; so does `save`,
//! which fills each shard's new table directly (no staging `Distributed` table).
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod clickhouse;
mod tools;

use clickhouse::model::*;
use clickhouse::tables::{create_table, read_rows};
use clickhouse::{CLUSTER, Cluster, count_rows, unique_name};
use soa_persist::backends::clickhouse::*;
use soa_persist::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distributed_table_spreads_rows_over_both_shards() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let db = unique_name("dist");
    let mut shards = Vec::new();
    for server in &cluster.shards {
        let client = server.client().await;
        client
            .execute(&format!("CREATE DATABASE `{db}`"))
            .await
            .unwrap();
        let client = client.with_database(&db);
        create_table(
            &client,
            "local",
            &Row::arrow_schema(),
            &TypeOptions::default(),
        )
        .await;
        shards.push(client);
    }
    let first = &shards[0];
    let ddl = format!(
        "CREATE TABLE dist AS local ENGINE = Distributed({}, `{db}`, local, id)",
        CLUSTER
    );
    first.execute(&ddl).await.unwrap();
    // Synchronous, so the rows are on the shards when the insert returns.
    let config = ClickHouseConfig {
        database: Some(db.clone()),
        ..cluster.shards[0].config()
    }
    .with_setting("insert_distributed_sync", "1");
    let writer = ClickHouseClient::connect(config).await.unwrap();
    let want = rows(200, 3);
    let encoder =
        BlockEncoder::for_schema(Row::arrow_schema(), writer.caps(), &TypeOptions::default())
            .unwrap();
    writer
        .insert("dist", &encoder, &[want.to_record_batch().unwrap()])
        .await
        .unwrap();
    let mut total = 0;
    for shard in &shards {
        let n = count_rows(shard, "local").await;
        assert!(n > 0, "every shard holds rows");
        total += n;
    }
    assert_eq!(total, 200);
    let (got, _) = read_rows(first, "dist").await;
    assert!(
        same(&got, &want),
        "the distributed table reads back every row"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_cut_on_the_client_land_where_the_distributed_table_puts_them() {
    use soa_persist::testing::{ConfOrder, orders};
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let shards = cluster.fresh_databases("cut").await;
    let p = ClickHousePersistence::<ConfOrder>::cluster(shards.clone(), CLUSTER, None)
        .await
        .unwrap();
    p.append(orders(0..300)).await.unwrap();
    p.set_per_shard_inserts(false);
    p.append(orders(300..600)).await.unwrap();
    p.append_batches_once(
        vec![orders(600..900).to_record_batch().unwrap()],
        &WriteId::new("w", 1),
    )
    .await
    .unwrap();
    let mut total = 0;
    for (i, shard) in shards.iter().enumerate() {
        let count = |filter: String| {
            let sql = format!("SELECT count() FROM conf_order_local WHERE {filter}");
            async move { shard.query_text(&sql).await.unwrap().trim().to_string() }
        };
        assert_eq!(count(format!("sipHash64(id) % 2 != {i}")).await, "0");
        let n: u64 = count("1".into()).await.parse().unwrap();
        assert!(n > 0, "shard {i} holds rows");
        total += n;
    }
    assert_eq!(total, 900);
}

/// `save` on a cluster fills each shard's new table directly with the rows its key hash sends
/// there (no staging `Distributed` table), then swaps it in on each shard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_fills_each_shards_table_directly_and_swaps_it_in() {
    use soa_persist::testing::{ConfOrder, orders};
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let shards = cluster.fresh_databases("save").await;
    let p = ClickHousePersistence::<ConfOrder>::cluster(shards.clone(), CLUSTER, None)
        .await
        .unwrap();
    p.append(orders(0..100)).await.unwrap();
    for (round, ids) in [(0u64, 1000..1500u64), (1, 2000..2300)] {
        p.save(orders(ids.clone())).await.unwrap();
        let mut total = 0;
        for (i, shard) in shards.iter().enumerate() {
            let text = |sql: String| async move { shard.query_text(&sql).await.unwrap() };
            let wrong = text(format!(
                "SELECT count() FROM conf_order_local WHERE sipHash64(id) % 2 != {i}"
            ))
            .await;
            assert_eq!(
                wrong.trim(),
                "0",
                "round {round}: shard {i} holds only its rows"
            );
            let n: u64 = text("SELECT count() FROM conf_order_local".into())
                .await
                .trim()
                .parse()
                .unwrap();
            assert!(n > 0, "round {round}: shard {i} holds rows");
            total += n;
            let staging = text(
                "SELECT name FROM system.tables WHERE database = currentDatabase() \
                 AND name != 'conf_order_local' AND name != 'conf_order' \
                 AND substring(name, 1, 1) != '_'"
                    .into(),
            )
            .await;
            assert_eq!(
                staging, "",
                "round {round}: no table left besides the shard's"
            );
        }
        // Each shard's new table took its rows from this client as Native (through a
        // `Distributed` table they would come from the first server instead).
        for (i, shard) in shards.iter().enumerate() {
            let sql = "SELECT count() FROM system.query_log WHERE type = 2 AND query LIKE \
                       'INSERT INTO `conf_order_local__soa_new`%FORMAT Native%'";
            // The log is written in the background: poll it (for up to 5 s) until it shows
            // this round's insert.
            let mut n = 0u64;
            for _ in 0..50 {
                let _ = shard.execute("SYSTEM FLUSH LOGS").await;
                n = shard.query_text(sql).await.unwrap().trim().parse().unwrap();
                if n > round {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert!(
                n > round,
                "round {round}: shard {i}'s new table filled directly"
            );
        }
        assert_eq!(total, ids.end - ids.start);
        let mut got = p.load().await.unwrap().unwrap().id;
        got.sort_unstable();
        assert_eq!(got, ids.collect::<Vec<_>>(), "round {round}");
    }
}
