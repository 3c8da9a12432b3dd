//! `soa gen`: prints the `#[derive(SoA)]` struct whose schema reads a Parquet dataset, a single
//! Parquet file, a DuckDB table (feature `duckdb`) or a ClickHouse table (feature `clickhouse`); the schema -> code work is the library's
//! `soa_persist::codegen`.

use std::path::Path;

use soa_persist::codegen::{TableShape, parquet_file_shape, parquet_shape, rust_source};

use crate::Outcome;
use crate::source::Source;

async fn shape(source: &str, table: Option<&str>) -> Result<TableShape, String> {
    let file = Path::new(source);
    if source.ends_with(".parquet") && file.is_file() {
        return parquet_file_shape(file).await.map_err(|e| e.to_string());
    }
    match Source::parse(source, table).await? {
        Source::Parquet(dataset) => parquet_shape(&dataset).await,
        #[cfg(feature = "duckdb")]
        Source::DuckDB { db, table } => soa_persist::codegen::duckdb_shape(&db, &table).await,
        #[cfg(feature = "clickhouse")]
        Source::ClickHouse { client, table } => {
            soa_persist::codegen::clickhouse_shape(&client, &table).await
        }
    }
    .map_err(|e| e.to_string())
}

pub(crate) async fn run(
    source: &str,
    table: Option<&str>,
    name: Option<&str>,
) -> Result<Outcome, String> {
    let mut shape = shape(source, table).await?;
    if let Some(name) = name {
        shape.name = name.to_string();
    }
    print!("{}", rust_source(&shape));
    Ok(Outcome::Ok)
}
