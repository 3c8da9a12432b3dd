//! Snowflake writes: one `INSERT` with array bindings against Parquet staged and one
//! `COPY INTO`, for growing row counts, on the `fakesnow` emulator (started here on loopback):
//! where the stage starts to pay. The ratio is printed per size (median of 5 appends each,
//! measured in the same run). The emulator runs an array binding row by row and a `COPY` as
//! one DuckDB scan, so its crossover is far lower than Snowflake's, where an array binding is
//! one statement: the figures are the emulator's. Then the same for a struct with lists and a
//! nested struct (their values as JSON, `PARSE_JSON`ed on both paths).
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

#[derive(SoA, Clone, Debug, PartialEq)]
struct Address {
    city: String,
    zip: Option<u32>,
    codes: Vec<i32>,
}

/// A row with lists and a nested struct.
#[derive(SoA, Clone, Debug, PartialEq)]
struct Basket {
    #[soa(key)]
    id: u64,
    tags: Vec<String>,
    amounts: Vec<Option<f64>>,
    #[soa(nested)]
    address: Address,
}

fn baskets(ids: std::ops::Range<u64>) -> BasketSoA {
    ids.map(|i| Basket {
        id: i,
        tags: (0..i % 4).map(|t| format!("tag{t}")).collect(),
        amounts: (0..3).map(|a| (a != 1).then_some(i as f64 * 0.5)).collect(),
        address: Address {
            city: format!("city {}", i % 17),
            zip: (!i.is_multiple_of(3)).then_some(i as u32),
            codes: vec![i as i32, -1],
        },
    })
    .collect()
}

async fn median_append<T: SoA>(
    emulator: &snowflake::Emulator,
    rows: u64,
    bulk: usize,
    make: fn(std::ops::Range<u64>) -> T::Container,
) -> Duration {
    let config = emulator.config().with_bulk_rows(bulk);
    let p = SnowflakePersistence::<T>::connect(config)
        .await
        .expect("connect");
    let mut times = Vec::with_capacity(RUNS);
    for run in 0..RUNS as u64 {
        let batch = make(run * rows..(run + 1) * rows);
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
    table::<ConfOrder>(&runtime, &emulator, "ConfOrder", orders);
    table::<Basket>(
        &runtime,
        &emulator,
        "Basket (lists, a nested struct)",
        baskets,
    );
}

fn table<T: SoA>(
    runtime: &tokio::runtime::Runtime,
    emulator: &snowflake::Emulator,
    name: &str,
    make: fn(std::ops::Range<u64>) -> T::Container,
) {
    println!("\n{name}\n");
    println!("| rows | INSERT, array bindings | stage + COPY INTO | INSERT / COPY |");
    println!("| --- | --- | --- | --- |");
    for rows in [1u64, 4, 16, 64, 256, 1024] {
        let insert = runtime.block_on(median_append::<T>(emulator, rows, usize::MAX, make));
        let copy = runtime.block_on(median_append::<T>(emulator, rows, 1, make));
        println!(
            "| {rows} | {:.1} ms | {:.1} ms | {:.2}x |",
            insert.as_secs_f64() * 1e3,
            copy.as_secs_f64() * 1e3,
            insert.as_secs_f64() / copy.as_secs_f64()
        );
    }
}
