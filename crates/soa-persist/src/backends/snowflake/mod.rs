//! Snowflake over its REST protocol (feature `snowflake`): the protocol Snowflake's own
//! connectors speak, kept to what the backend needs, on `reqwest`.
//!
//! - [`SnowflakeClient`] (`client.rs`, `session.rs`, `config.rs`, `jwt.rs`, `result.rs`): sessions (password
//!   or key-pair JWT, pooled, renewed when they expire), statements with bound values, Arrow
//!   results streamed chunk by chunk, stage uploads.
//! - [`SnowflakePersistence`] (`persistence.rs`, `ddl.rs`, `write.rs`, `read.rs`): rows of a
//!   struct in a table, the `SoAPersistence` API on the shared SQL layer (`dialect.rs`: types,
//!   placeholders; `bind.rs`: Arrow columns as bindings; `decode.rs`: Snowflake's Arrow
//!   encodings into the struct's schema; `json.rs`: lists and nested structs as the JSON of
//!   `ARRAY` / `OBJECT` columns, both ways).
//! - `error.rs`: Snowflake's error codes and HTTP failures as
//!   [`PersistError`](crate::PersistError)s (retryable or not).
//!
//! ```no_run
//! use soa_persist::backends::snowflake::{Auth, SnowflakeConfig, SnowflakePersistence};
//! use soa_persist::prelude::*;
//!
//! #[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
//! struct Order {
//!     #[soa(key)]
//!     order_id: u64,
//!     amount: f64,
//! }
//!
//! # async fn demo() -> Result<(), soa_persist::PersistError> {
//! let pem = std::fs::read_to_string("rsa_key.p8").unwrap_or_default();
//! let auth = Auth::KeyPair { private_key_pem: pem };
//! let config = SnowflakeConfig::account("myorg-myaccount", "LOADER", auth)
//!     .with_database("ANALYTICS", "PUBLIC")
//!     .with_warehouse("LOAD_WH");
//! let orders = SnowflakePersistence::<Order>::connect(config).await?;
//! let big = orders.query(&Order::fields().amount.gt(100.0)).await?;
//! # let _ = big; Ok(()) }
//! ```

mod bind;
mod client;
mod config;
mod ddl;
mod decode;
mod dialect;
mod error;
mod json;
mod jwt;
mod persistence;
mod read;
mod result;
mod session;
mod write;

pub use client::SnowflakeClient;
pub use config::{Auth, DEFAULT_BULK_ROWS, SnowflakeConfig};
pub use jwt::key_pair_jwt;
pub use persistence::SnowflakePersistence;

/// The backend name in errors.
pub(crate) const NAME: &str = "snowflake";
