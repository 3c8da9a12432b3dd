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
//! Layers, bottom up (each a trait, each a module or crate):
//! 1. domain: your struct with `#[derive(SoA, SoAStore)]`, container [`Column`], [`Store`];
//! 2. schema: [`ArrowSchemaGen`]; 3. conversion: [`ToArrow`] (copying and zero-copy);
//! 4. query: [`Predicate`] built from `Order::fields()`;
//! 5. persistence: [`SoAPersistence`] ([`persist`]) and its backends ([`backends`]);
//! 6. store: [`PersistentStore`] ([`store`]), the domain API over any backend.

// Lets the derives' `::soa_persist` paths resolve inside this crate too (conformance model).
extern crate self as soa_persist;

pub mod backends;
pub mod conformance;
pub mod persist;
pub mod store;

pub use backends::arrow::ArrowPersistence;
#[cfg(feature = "duckdb")]
pub use backends::duckdb::{DuckDBOptions, DuckDBPersistence, Ingest, SqlValue};
#[cfg(feature = "parquet")]
pub use backends::parquet::LiveFile;
#[cfg(feature = "parquet")]
pub use backends::parquet::{Compression, ParquetOptions, ParquetPersistence};
pub use persist::{
    BatchStream, ColumnStats, PersistError, RetryPolicy, Scan, SoAPersistence, Stats, WriteId,
    retry,
};
pub use soa_persist_core::query::{self, CmpOp, Expr, Predicate};
pub use store::{FlushPolicy, PersistentStore};

pub use soa_persist_core::bridge::{
    BaseField, FieldOptions, ListItem, Micros, Millis, Nanos, Seconds, SoAEnum, SoAField,
    Timestamp, TimestampUnit,
};
#[cfg(feature = "chrono")]
pub use soa_persist_core::chrono;
pub use soa_persist_core::column::{Column, RowView};
pub use soa_persist_core::convert::{ArrowColumn, ToArrow};
pub use soa_persist_core::error::{ConvertError, StoreError};
pub use soa_persist_core::fields::Col;
#[cfg(feature = "decimal")]
pub use soa_persist_core::rust_decimal;
pub use soa_persist_core::schema::{self, ArrowSchemaGen};
pub use soa_persist_core::soa::{RowRef, SoA};
pub use soa_persist_core::store::{Keyed, Store};
#[cfg(feature = "uuid")]
pub use soa_persist_core::uuid;
pub use soa_persist_core::{arrow, bridge};
pub use soa_persist_macros::{SoA, SoAEnum, SoAStore};

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
}

/// Paths used by the derive macros' generated code; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use soa_persist_core::arrow;
    pub use soa_persist_core::bridge::{
        BaseField, FieldOptions, ListItem, SoAEnum, SoAField, enum_data_type, enum_decode,
        enum_encode, enum_metadata,
    };
    pub use soa_persist_core::column::{
        Column, RowView, SliceLen, apply_permutation, sort_permutation,
    };
    pub use soa_persist_core::convert::{
        ArrowColumn, ColumnSource, ToArrow, record_batch, struct_array,
    };
    pub use soa_persist_core::derive::*;
    pub use soa_persist_core::error::ConvertError;
    pub use soa_persist_core::fields::Col;
    pub use soa_persist_core::schema::{self, ArrowSchemaGen};
    pub use soa_persist_core::soa::SoA;
    pub use soa_persist_core::store::{Keyed, Store};

    pub use crate::store::PersistentStore;
}
