//! ClickHouse over HTTP with the columnar Native format (feature `clickhouse`), the building
//! blocks of the ClickHouse backend:
//!
//! - [`native`]: Arrow <-> Native, built from and into Arrow buffers: [`BlockEncoder`] writes a
//!   `RecordBatch` as one block; [`BlockDecoder`] turns a byte stream (an HTTP body, chunk by
//!   chunk) into batches of a target schema with bounded memory and typed errors; the mapping of
//!   Arrow types to ClickHouse types by server capability ([`ServerCaps`], [`table_columns`];
//!   the table is in `native/types.rs`).
//! - [`ClickHouseClient`] (`client.rs`): a thin transport over the official `clickhouse` crate:
//!   connect and probe once, run statements, stream batches into a table, stream a query's
//!   result back as batches.
//! - [`ClickHousePersistence`] (`persistence.rs`, `ddl.rs`, `write.rs`, `read.rs`): rows of a
//!   struct in a `MergeTree` table, the `SoAPersistence` API on the shared SQL layer
//!   (`dialect.rs`: quoting, types, values as typed literals).
//! - `error.rs`: server exceptions and client failures as [`PersistError`](crate::PersistError)s, by error code
//!   (retryable or not).
//!
//! ```no_run
//! # async fn demo(schema: soa_persist::arrow::datatypes::SchemaRef,
//! #               batch: soa_persist::arrow::array::RecordBatch) -> Result<(), soa_persist::PersistError> {
//! use soa_persist::backends::clickhouse::{BlockEncoder, ClickHouseClient, ClickHouseConfig, TypeOptions};
//! use futures::TryStreamExt;
//!
//! let client = ClickHouseClient::connect(ClickHouseConfig::new("http://127.0.0.1:8123")).await?;
//! let encoder = BlockEncoder::for_schema(schema.clone(), client.caps(), &TypeOptions::default())?;
//! client.insert("`orders`", &encoder, &[batch]).await?;
//! let back: Vec<_> = client.query_batches("SELECT * FROM `orders`", schema).try_collect().await?;
//! # Ok(()) }
//! ```

mod client;
mod ddl;
mod dialect;
mod error;
pub mod native;
mod once;
mod persistence;
mod read;
mod shard;
mod write;

pub use client::{
    ClickHouseClient, ClickHouseConfig, DEFAULT_BLOCK_ROWS, DEFAULT_WRITE_ID_RETENTION,
};
pub(crate) use ddl::unescape_tsv;
pub use dialect::{literal, string_literal};
pub use error::{exception_code, server_exception};
pub use native::{
    BlockDecoder, BlockEncoder, ChType, ColumnType, ServerCaps, TypeOptions, clickhouse_types,
    column_type, decode_blocks, natural_field, quote_identifier, quote_string, table_columns,
};
pub use persistence::ClickHousePersistence;

/// The backend name in errors.
pub(crate) const NAME: &str = "clickhouse";
