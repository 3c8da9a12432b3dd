//! Batch execution shared by every backend that evaluates in Rust: the part of a [`Scan`]
//! left after what the backend pushed down ([`ScanPlan`]: remaining predicate, projection,
//! batch size), delete-by-predicate ([`delete_from`], [`delete_rows`]), the one exact
//! conformance to the struct's schema ([`conform`], [`cast_exact`], [`cast_to_schema`],
//! [`select_by_name`]), keys in batches ([`key_values`], [`last_of_equal_keys`],
//! [`key_predicate`]), re-chunking ([`split_rows`], [`Coalesce`]), and containers from
//! batches. Column-path lookup and dictionary unpacking are the core's own (predicate
//! evaluation needs them), re-exported here so that a backend finds every tool in one place.
//! SQL backends push the same work down to their engine instead.
//!
//! [`Scan`]: crate::Scan

mod chunk;
mod conform;
mod container;
mod delete;
mod key_index;
#[cfg(test)]
mod key_index_tests;
mod keys;
mod plan;
mod threads;

pub use chunk::{Coalesce, split_rows};
pub use conform::{cast_exact, cast_to_schema, conform, project_schema, select_by_name};
pub use container::{ContainerBatches, batches_to_container, collect, retain_rows};
pub use delete::{Deleted, delete_from, delete_rows};
pub use key_index::KeyIndex;
pub use keys::{
    KEYS_PER_QUERY, duplicate_keys, key_predicate, key_values, last_of_equal_keys, repeated,
    scan_for_keys,
};
pub use plan::ScanPlan;
pub use soa_persist_core::query::{
    field_path, project, resolve_column, resolve_field, unpack_dictionary,
};
pub use threads::map_on_threads;
