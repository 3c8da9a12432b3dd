//! The main job: 1M orders through the domain API -> every backend this build has -> typed
//! queries -> printed results, timings and stats.
//!
//! Run: `cargo run --release --example quickstart` (ROWS=... to change the row count); add
//! `--features duckdb` to include the embedded DuckDB backend and its SQL; with
//! `--features clickhouse` and `SOA_CLICKHOUSE_URL=http://host:8123` (optionally
//! `SOA_CLICKHOUSE_DATABASE`), the same job runs on that ClickHouse server too.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::time::Instant;

use soa_persist::prelude::*;

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Pending,
    Shipped,
    Delivered,
    Cancelled,
}

#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
pub struct Order {
    #[soa(key)]
    order_id: u64,
    customer: String,
    amount: f64,
    #[soa(partition)]
    status: Status,
    placed_at: DateTime<Utc>,
    note: Option<String>,
}

impl Order {
    fn new(i: u64) -> Self {
        // A cheap deterministic spread of values (no RNG dependency).
        let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Order {
            order_id: i,
            customer: format!("customer-{:05}", h % 20_000),
            amount: (h % 100_000) as f64 / 100.0,
            status: [
                Status::Pending,
                Status::Shipped,
                Status::Delivered,
                Status::Cancelled,
            ][(h >> 32) as usize % 4],
            placed_at: DateTime::from_timestamp(1_700_000_000 + (i as i64) * 7, 0)
                .unwrap_or_default(),
            note: h.is_multiple_of(10).then(|| format!("gift wrap #{i}")),
        }
    }
}

fn ms(start: Instant) -> String {
    format!("{:.1} ms", start.elapsed().as_secs_f64() * 1e3)
}

/// The same domain code against any backend.
async fn run<P: SoAPersistence<Order>>(backend: P, rows: u64) -> Result<(), PersistError> {
    let name = backend.name();
    println!("\n=== backend: {name} ===");
    let mut store = PersistentOrderStore::with_persistence(backend);

    let t = Instant::now();
    for i in 0..rows {
        store.add(Order::new(i)).await?;
    }
    store.flush().await?; // durable from here on (for durable backends)
    println!("add {rows} orders + flush: {}", ms(t));

    let f = Order::fields;
    let t = Instant::now();
    let big = store.query(&f().amount.gt(995.0)).await?;
    println!(
        "amount > 995: {} rows in {}; first: {:?}",
        big.len(),
        ms(t),
        big.row(0)
    );

    let t = Instant::now();
    let shipped_big = store
        .count(
            &f().status
                .eq(Status::Shipped)
                .and(f().amount.between(500.0, 510.0)),
        )
        .await?;
    println!(
        "status = Shipped AND amount BETWEEN 500 AND 510: {shipped_big} rows in {}",
        ms(t)
    );

    let t = Instant::now();
    let gifts = store
        .query(
            &f().note
                .is_not_null()
                .and(f().customer.starts_with("customer-0001")),
        )
        .await?;
    println!(
        "gift notes from customer-0001*: {} rows in {}",
        gifts.len(),
        ms(t)
    );

    let t = Instant::now();
    let one = store.get(&(rows / 2)).await?;
    println!(
        "get({}): {:?} in {}",
        rows / 2,
        one.map(|o| o.customer),
        ms(t)
    );

    let t = Instant::now();
    let cancelled = store.delete(&f().status.eq(Status::Cancelled)).await?;
    store.flush().await?;
    println!("delete cancelled: {cancelled} rows in {}", ms(t));

    let stats = store.stats().await?;
    println!("stats: {stats}");
    for c in &stats.columns {
        let disk = c
            .bytes_on_disk
            .map(|b| format!(", {:.1} MiB on disk", b as f64 / 1048576.0))
            .unwrap_or_default();
        let ratio = c
            .compression_ratio
            .map(|r| format!(", {r:.1}x compressed"))
            .unwrap_or_default();
        println!(
            "  {:<10} {:>8.1} MiB in memory{disk}{ratio}",
            c.name,
            c.bytes_in_memory as f64 / 1048576.0
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), PersistError> {
    let rows: u64 = std::env::var("ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    println!("soa-persist quickstart: {rows} orders");
    println!("schema: {:?}", Order::arrow_field_names());

    run(ArrowPersistence::<Order>::new(), rows).await?;

    #[cfg(feature = "parquet")]
    {
        let dir = std::env::temp_dir()
            .join("soa-persist-quickstart")
            .join("orders");
        let _ = std::fs::remove_dir_all(&dir);
        println!("\n(Parquet dataset at {})", dir.display());
        let parquet = ParquetPersistence::<Order>::open(&dir)?;
        run(parquet.clone(), rows).await?;
        let t = Instant::now();
        let (before, after) = parquet.compact().await?;
        let removed = parquet.vacuum(std::time::Duration::ZERO, 0).await?;
        println!(
            "compact: {before} -> {after} files, vacuum removed {removed} in {}",
            ms(t)
        );
        let reopened = ParquetPersistence::<Order>::open(&dir)?;
        println!(
            "reopened: {} rows",
            reopened.count(&Predicate::all()).await?
        );

        #[cfg(feature = "duckdb")]
        duckdb(&dir, &reopened, rows).await?;
    }

    #[cfg(feature = "clickhouse")]
    if let Ok(url) = std::env::var("SOA_CLICKHOUSE_URL") {
        clickhouse(url, rows).await?;
    }
    Ok(())
}

/// ClickHouse: the same domain run on a server's table (emptied first), then SQL over it.
#[cfg(feature = "clickhouse")]
async fn clickhouse(url: String, rows: u64) -> Result<(), PersistError> {
    use soa_persist::arrow::util::display::{ArrayFormatter, FormatOptions};

    let mut config = ClickHouseConfig::new(url);
    if let Ok(db) = std::env::var("SOA_CLICKHOUSE_DATABASE") {
        config = config.with_database(db);
    }
    let server = ClickHousePersistence::<Order>::connect(config).await?;
    println!("\n(ClickHouse table `{}`)", server.table_name());
    server.clear().await?;
    run(server.clone(), rows).await?;

    let t = Instant::now();
    let by_status = server
        .sql("SELECT status, count() AS orders, round(sum(amount), 2) AS total FROM `order` GROUP BY status ORDER BY status")
        .await?;
    println!("GROUP BY status in {}:", ms(t));
    let options = FormatOptions::default();
    for batch in &by_status {
        let columns = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = columns.iter().map(|c| c.value(row).to_string()).collect();
            println!("  {}", cells.join(" | "));
        }
    }
    Ok(())
}

/// DuckDB: the same domain run, then SQL over the table and over the Parquet dataset.
#[cfg(all(feature = "duckdb", feature = "parquet"))]
async fn duckdb(
    parquet_dir: &std::path::Path,
    dataset: &ParquetPersistence<Order>,
    rows: u64,
) -> Result<(), PersistError> {
    use soa_persist::arrow::util::pretty::pretty_format_batches;

    let path = parquet_dir.with_file_name("orders.duckdb");
    for stale in [path.clone(), path.with_extension("duckdb.wal")] {
        let _ = std::fs::remove_file(stale);
    }
    println!("\n(DuckDB database at {})", path.display());
    let db = DuckDBPersistence::<Order>::open(&path)?;
    run(db.clone(), rows).await?;

    let t = Instant::now();
    let by_status = db
        .sql("SELECT status, count(*) AS orders, round(sum(amount), 2) AS total FROM \"order\" GROUP BY 1 ORDER BY 1")
        .await?;
    println!("GROUP BY status in {}:", ms(t));
    println!("{}", pretty_format_batches(&by_status)?);

    db.attach_parquet("orders_parquet", dataset).await?;
    let t = Instant::now();
    let top = db
        .sql("SELECT customer, round(sum(amount), 2) AS spent FROM orders_parquet GROUP BY 1 ORDER BY 2 DESC LIMIT 3")
        .await?;
    println!(
        "top customers, straight from the Parquet files, in {}:",
        ms(t)
    );
    println!("{}", pretty_format_batches(&top)?);
    Ok(())
}
