//! `soa gen`: prints the `#[derive(SoA)]` struct whose schema reads a Parquet dataset or (feature
//! `duckdb`) a DuckDB table; the schema -> code work is the library's `soa_persist::codegen`.

use soa_persist::codegen::{TableShape, parquet_shape, rust_source};

use crate::Outcome;
use crate::source::Source;

pub(crate) async fn run(
    source: &str,
    table: Option<&str>,
    name: Option<&str>,
) -> Result<Outcome, String> {
    let mut shape: TableShape = match Source::parse(source, table)? {
        Source::Parquet(dataset) => parquet_shape(&dataset).await.map_err(|e| e.to_string())?,
        #[cfg(feature = "duckdb")]
        Source::DuckDB { db, table } => soa_persist::codegen::duckdb_shape(&db, &table)
            .await
            .map_err(|e| e.to_string())?,
    };
    if let Some(name) = name {
        shape.name = name.to_string();
    }
    print!("{}", rust_source(&shape));
    Ok(Outcome::Ok)
}
