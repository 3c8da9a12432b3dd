//! soa-persist: keep domain data as plain Rust structs, store it column-wise in memory
//! (struct of arrays), and convert it to Apache Arrow with a schema fixed at compile time.
//!
//! ```
//! use soa_persist::prelude::*;
//!
//! #[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
//! pub struct Order {
//!     #[soa(key)]
//!     order_id: u64,
//!     customer: String,
//!     amount: f64,
//! }
//!
//! let mut orders = OrderSoA::new();
//! orders.push(Order { order_id: 1, customer: "ada".into(), amount: 12.5 });
//! assert_eq!(orders.amount, [12.5]); // one Vec per field
//!
//! let batch = orders.to_record_batch()?; // Arrow, schema from the struct
//! assert_eq!(OrderSoA::from_record_batch(&batch)?, orders);
//! # Ok::<(), soa_persist::ConvertError>(())
//! ```
//!
//! One persistence API over every backend ([`SoAPersistence`]):
//!
//! ```
//! use soa_persist::prelude::*;
//!
//! #[derive(SoA, Clone, Debug, PartialEq)]
//! struct Reading { sensor: u32, value: f64 }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let backend = ArrowPersistence::<Reading>::new();
//! let rows: ReadingSoA = (0..10).map(|i| Reading { sensor: i % 3, value: i as f64 }).collect();
//! backend.append(rows).await?;
//! let hot = backend.query(&Reading::fields().value.gt(7.0)).await?;
//! assert_eq!(hot.value, [8.0, 9.0]);
//! assert_eq!(backend.count(&Reading::fields().sensor.eq(0u32)).await?, 4);
//! # Ok::<(), PersistError>(()) }).unwrap();
//! ```
//!
//! Layers, bottom up (each a trait, each a module or crate):
//! 1. domain: your struct with `#[derive(SoA, SoAStore)]`, container [`Column`], [`Store`];
//! 2. schema: [`ArrowSchemaGen`]; 3. conversion: [`ToArrow`] (copying and zero-copy);
//! 4. query: [`Predicate`] built from `Order::fields()`;
//! 5. persistence: [`SoAPersistence`] (from the `soa-persist-api` crate, which a third-party
//!    backend depends on alone) and the backends in [`backends`];
//! 6. store: [`PersistentStore`], the domain API over any backend.

pub mod backends;
pub mod codegen;

#[cfg(feature = "clickhouse")]
pub use backends::clickhouse::{ClickHouseConfig, ClickHousePersistence};
#[cfg(feature = "duckdb")]
pub use backends::duckdb::{DuckDBOptions, DuckDBPersistence, Ingest, SqlValue};
pub use backends::memory::ArrowPersistence;
#[cfg(feature = "parquet")]
pub use backends::parquet::{
    Compression, LiveFile, ParquetOptions, ParquetPersistence, RepairReport,
};
#[cfg(feature = "snowflake")]
pub use backends::snowflake::{SnowflakeConfig, SnowflakePersistence};

// The persistence API (the crate a third-party backend depends on).
pub use soa_persist_api::{
    BatchStream, BoxError, ColumnStats, FlushPolicy, PersistError, PersistentStore, RetryPolicy,
    Scan, SoAPersistence, Stats, WriteId, retry,
};
/// Test support for backends: the shared conformance suite and fault-injecting wrappers.
#[cfg(feature = "testing")]
pub mod testing {
    #[cfg(feature = "parquet")]
    pub use crate::backends::parquet::FaultyStorage;
    pub use soa_persist_api::testing::*;
}

// The domain, schema, conversion and query layers.
pub use soa_persist_core::arrow_col;
pub use soa_persist_core::bridge::{
    BaseField, FieldOptions, ListItem, Micros, Millis, Nanos, Seconds, SoAEnum, SoAField,
    Timestamp, TimestampUnit,
};
pub use soa_persist_core::column::{Column, RowView};
pub use soa_persist_core::convert::{ArrowColumn, ToArrow};
pub use soa_persist_core::error::{ConvertError, StoreError};
pub use soa_persist_core::fields::Col;
pub use soa_persist_core::query::{CmpOp, Expr, Predicate};
pub use soa_persist_core::schema::ArrowSchemaGen;
pub use soa_persist_core::soa::{RowRef, SoA};
pub use soa_persist_core::store::{Keyed, Store};
pub use soa_persist_macros::{SoA, SoAEnum, SoAStore};

pub use soa_persist_core::arrow;
#[cfg(feature = "chrono")]
pub use soa_persist_core::chrono;
#[cfg(feature = "decimal")]
pub use soa_persist_core::rust_decimal;
#[cfg(feature = "uuid")]
pub use soa_persist_core::uuid;

/// The schema metadata every backend writes, for reading stored data with other tools.
pub mod schema {
    pub use soa_persist_core::schema::{
        META_FINGERPRINT, META_KEY, META_PARTITION, META_STRUCT, fingerprint, key_field,
        partition_fields,
    };
}

/// Everything a user's code needs: `use soa_persist::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "duckdb")]
    pub use crate::DuckDBPersistence;
    #[cfg(feature = "parquet")]
    pub use crate::ParquetPersistence;
    #[cfg(feature = "chrono")]
    pub use crate::chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    pub use crate::{
        ArrowPersistence, ArrowSchemaGen, Col, Column, ConvertError, FlushPolicy, Keyed,
        PersistError, PersistentStore, Predicate, RowView, Scan, SoA, SoAEnum, SoAField,
        SoAPersistence, SoAStore, Stats, Store, StoreError, Timestamp, ToArrow, WriteId,
    };
    #[cfg(feature = "clickhouse")]
    pub use crate::{ClickHouseConfig, ClickHousePersistence};
    #[cfg(feature = "snowflake")]
    pub use crate::{SnowflakeConfig, SnowflakePersistence};
}

/// Paths used by the derive macros' generated code; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use soa_persist_api::__private::*;
}
