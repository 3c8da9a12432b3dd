//! Backends of the persistence layer, one module each; the heavy ones sit behind cargo features.

#[cfg(feature = "clickhouse")]
pub mod clickhouse;
#[cfg(feature = "duckdb")]
pub mod duckdb;
pub mod memory;
#[cfg(feature = "parquet")]
pub mod parquet;
#[cfg(feature = "snowflake")]
pub mod snowflake;
