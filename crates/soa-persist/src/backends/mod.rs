//! Backends of the persistence layer, one module each; the heavy ones sit behind cargo features.

pub mod arrow;
#[cfg(feature = "clickhouse")]
pub mod clickhouse;
#[cfg(feature = "duckdb")]
pub mod duckdb;
#[cfg(feature = "parquet")]
pub mod parquet;
