//! The Arrow types DuckDB is handed on writes: enum dictionaries as their names, zone-less
//! nanosecond instants. Batches are cast to and from them exactly by `exec::cast_to_schema`.

use std::sync::Arc;

use soa_persist_core::arrow::datatypes::{DataType, Field, TimeUnit};

/// The field as DuckDB is handed it: enum dictionaries as their names, nanosecond instants
/// without a zone (stored as `TIMESTAMP_NS`); nested types likewise.
pub(super) fn ingest_field(field: &Field) -> Field {
    field.clone().with_data_type(ingest_type(field.data_type()))
}

fn ingest_type(dt: &DataType) -> DataType {
    match dt {
        DataType::Dictionary(_, value) => ingest_type(value),
        DataType::Timestamp(TimeUnit::Nanosecond, Some(_)) => {
            DataType::Timestamp(TimeUnit::Nanosecond, None)
        }
        DataType::List(item) => DataType::List(Arc::new(ingest_field(item))),
        DataType::LargeList(item) => DataType::LargeList(Arc::new(ingest_field(item))),
        DataType::FixedSizeList(item, n) => {
            DataType::FixedSizeList(Arc::new(ingest_field(item)), *n)
        }
        DataType::Struct(children) => {
            DataType::Struct(children.iter().map(|c| Arc::new(ingest_field(c))).collect())
        }
        other => other.clone(),
    }
}
