//! `SnowflakePersistence` against the `fakesnow` emulator (Snowflake's REST protocol over
//! DuckDB): the shared conformance suite with writes through `INSERT`s and through the stage
//! and `COPY INTO`, hostile table names and values, an existing table whose column has
//! another type, an expired session renewed, a server that is down, SQL errors with their
//! code. What only real Snowflake shows is listed in the README's testing scope.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod snowflake;
mod tools;

use snowflake::Emulator;
use soa_persist::backends::snowflake::{SnowflakeClient, SnowflakeConfig, SnowflakePersistence};
use soa_persist::prelude::*;
use soa_persist::testing::{ConfOrder, conformance, order};

async fn store(config: SnowflakeConfig, table: Option<&str>) -> SnowflakePersistence<ConfOrder> {
    let client = SnowflakeClient::connect(config)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    SnowflakePersistence::open(client, table)
        .await
        .unwrap_or_else(|e| panic!("open: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn passes_the_conformance_suite() {
    let Some(emulator) = Emulator::start() else {
        return;
    };
    conformance::run_all(|| store(emulator.config(), None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_and_bulk_writes_store_the_same_rows() {
    let Some(emulator) = Emulator::start() else {
        return;
    };
    let rows: Vec<ConfOrder> = (0..40).map(order).collect();
    let mut loaded = Vec::new();
    for bulk in [1, 1000] {
        let p = store(emulator.config().with_bulk_rows(bulk), None).await;
        p.append(rows.iter().cloned().collect())
            .await
            .unwrap_or_else(|e| panic!("append (bulk {bulk}): {e}\n{}", emulator.log_tail()));
        let back = p.load().await.unwrap().unwrap();
        loaded.push(back);
    }
    let mut want: Vec<ConfOrder> = rows.clone();
    want.sort_by_key(|r| r.id);
    for back in loaded {
        let mut got: Vec<ConfOrder> = back.into_iter().collect();
        got.sort_by_key(|r| r.id);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.id, w.id);
            assert_eq!(g.customer, w.customer);
            assert_eq!(g.placed_at, w.placed_at);
            assert_eq!(g.note, w.note);
            assert_eq!(g.qty, w.qty);
            assert_eq!(g.status, w.status);
            assert!(g.amount == w.amount || (g.amount.is_nan() && w.amount.is_nan()));
        }
    }
}
