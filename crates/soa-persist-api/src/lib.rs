//! The persistence API of soa-persist: what a backend implements and what it builds on.
//!
//! A backend crate depends on this crate alone (not on the `soa-persist` facade and its
//! backends): it implements [`SoAPersistence`] over Arrow `RecordBatch`es in the struct's
//! schema, evaluates what it can't push down with [`exec`], writes SQL through [`sql`] if it
//! speaks SQL, and runs the shared conformance suite from [`testing`] (feature `testing`).
//! [`PersistentStore`] gives every backend the same domain API on top.
//!
//! Users depend on the `soa-persist` facade, which re-exports the public part of this crate.

// Lets the derives' generated paths resolve inside this crate (the conformance model).
extern crate self as soa_persist_api;

mod error;
pub mod exec;
mod handle;
mod persistence;
mod persistent_store;
mod scan;
pub mod sql;
mod stats;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{BoxError, PersistError, RetryPolicy, retry};
pub use handle::Handle;
pub use persistence::SoAPersistence;
pub use persistent_store::{FlushPolicy, PersistentStore};
pub use scan::{BatchStream, Scan, WriteId};
pub use stats::{ColumnStats, Stats};

/// The domain layers this API is written in terms of, for backend crates.
pub use soa_persist_core as core_layers;
pub use soa_persist_core::arrow;

/// Paths used by the derive macros' generated code; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use soa_persist_core::arrow;
    pub use soa_persist_core::arrow_col::{ArrowLayout, EnumColumn, StructLayout};
    pub use soa_persist_core::bridge::{
        BaseField, FieldOptions, ListItem, Micros, Millis, Nanos, Seconds, SoAEnum, SoAField,
        TimestampUnit, enum_data_type, enum_decode, enum_encode, enum_metadata,
    };
    pub use soa_persist_core::column::{
        Column, RowView, SliceLen, apply_permutation, sort_permutation,
    };
    pub use soa_persist_core::convert::{
        ArrowColumn, ColumnSource, ToArrow, clamp_range, record_batch, struct_array,
    };
    pub use soa_persist_core::derive::*;
    pub use soa_persist_core::error::ConvertError;
    pub use soa_persist_core::fields::Col;
    pub use soa_persist_core::schema::{self, ArrowSchemaGen};
    pub use soa_persist_core::soa::SoA;
    pub use soa_persist_core::store::{Keyed, Store};

    pub use crate::PersistentStore;
}
