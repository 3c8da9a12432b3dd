//! Snowflake writes: one `INSERT` with array bindings against Parquet staged and one
//! `COPY INTO`, for growing row counts, on the `fakesnow` emulator (started here on loopback):
//! where the stage starts to pay. The ratio is printed per size (median of 5 appends each,
//! measured in the same run). The emulator runs an array binding row by row and a `COPY` as
//! one DuckDB scan, so its crossover is far lower than Snowflake's, where an array binding is
//! one statement: the figures are the emulator's.
#![allow(missing_docs, unreachable_pub)]

#[path = "../../crates/soa-persist/tests/snowflake/mod.rs"]
mod snowflake;
#[path = "../../crates/soa-persist/tests/tools/mod.rs"]
mod tools;

use std::time::{Duration, Instant};

use soa_persist::backends::snowflake::SnowflakePersistence;
use soa_persist::prelude::*;
use soa_persist::testing::{ConfOrder, orders};

const RUNS: usize = 5;

async fn median_append(emulator: &snowflake::Emulator, rows: u64, bulk: usize) -> Duration {
    let config = emulator.config().with_bulk_rows(bulk);
    let p = SnowflakePersistence::<ConfOrder>::connect(config)
        .await
        .expect("connect");
    let mut times = Vec::with_capacity(RUNS);
    for run in 0..RUNS as u64 {
        let batch = orders(run * rows..(run + 1) * rows);
        let start = Instant::now();
        p.append(batch).await.expect("append");
        times.push(start.elapsed());
    }
    times.sort();
    times[RUNS / 2]
}

fn main() {
    let Some(emulator) = snowflake::Emulator::start() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!("| rows | INSERT, array bindings | stage + COPY INTO | INSERT / COPY |");
    println!("| --- | --- | --- | --- |");
    for rows in [1u64, 4, 16, 64, 256, 1024] {
        let insert = runtime.block_on(median_append(&emulator, rows, usize::MAX));
        let copy = runtime.block_on(median_append(&emulator, rows, 1));
        println!(
            "| {rows} | {:.1} ms | {:.1} ms | {:.2}x |",
            insert.as_secs_f64() * 1e3,
            copy.as_secs_f64() * 1e3,
            insert.as_secs_f64() / copy.as_secs_f64()
        );
    }
}
