//! Core of soa-persist: the layers every backend builds on.
//!
//! - [`column`](mod@column): the struct-of-arrays container operations (`Column`).
//! - [`arrow_col`]: Arrow-layout columns (`#[soa(arrow)]`): strings, enums and instants kept
//!   in Arrow's buffers, so conversion to and from Arrow moves buffers.
//! - [`bridge`]: how each Rust field type maps to Arrow (`SoAField`, `BaseField`).
//! - [`schema`]: `ArrowSchemaGen`, the compile-time schema and its metadata.
//! - [`convert`]: `ToArrow`, container <-> `RecordBatch`, copying and zero-copy.
//! - [`soa`], [`fields`]: the derived struct's runtime traits and typed column handles.
//! - [`query`]: typed predicates, an expression tree evaluated with Arrow kernels; [`literal`]:
//!   the values they compare with.
//! - [`store`]: the in-memory domain store indexed by key.
//!
//! Users depend on the `soa-persist` facade crate, which re-exports all of this.

pub mod arrow_col;
pub mod bridge;
pub mod column;
pub mod convert;
#[doc(hidden)]
pub mod derive;
pub mod error;
pub mod fields;
pub mod literal;
pub mod query;
pub mod schema;
pub mod soa;
pub mod store;

pub use arrow;
#[cfg(feature = "chrono")]
pub use chrono;
#[cfg(feature = "decimal")]
pub use rust_decimal;
#[cfg(feature = "uuid")]
pub use uuid;
