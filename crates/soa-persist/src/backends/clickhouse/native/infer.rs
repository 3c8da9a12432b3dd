//! The Arrow field a ClickHouse column reads as when the caller has no schema (free SQL): the
//! natural counterpart of each type (`String` as Utf8, enums as their names, `DateTime` as
//! seconds, `LowCardinality` as its value type).

use std::sync::Arc;

use soa_persist_core::arrow::datatypes::{DataType, Field, Fields, TimeUnit};

use super::chtype::ChType;

/// The field `name` of type `ty` reads into without a target schema.
pub fn natural_field(name: &str, ty: &ChType) -> Result<Field, String> {
    Ok(match ty {
        ChType::Nullable(inner) => Field::new(name, natural_type(inner)?, true),
        ChType::LowCardinality(inner) => natural_field(name, inner)?,
        t => Field::new(name, natural_type(t)?, false),
    })
}

fn natural_type(ty: &ChType) -> Result<DataType, String> {
    use ChType as C;
    Ok(match ty {
        C::Bool => DataType::Boolean,
        C::UInt8 => DataType::UInt8,
        C::UInt16 => DataType::UInt16,
        C::UInt32 => DataType::UInt32,
        C::UInt64 => DataType::UInt64,
        C::Int8 => DataType::Int8,
        C::Int16 => DataType::Int16,
        C::Int32 => DataType::Int32,
        C::Int64 => DataType::Int64,
        C::Float32 => DataType::Float32,
        C::Float64 => DataType::Float64,
        C::String | C::Enum8(_) | C::Enum16(_) => DataType::Utf8,
        C::FixedString(n) => {
            DataType::FixedSizeBinary(i32::try_from(*n).map_err(|_| format!("width {n}"))?)
        }
        C::Uuid => DataType::FixedSizeBinary(16),
        C::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale as i8),
        C::Date | C::Date32 => DataType::Date32,
        C::DateTime { tz } => DataType::Timestamp(TimeUnit::Second, tz.as_deref().map(Into::into)),
        C::DateTime64 { precision, tz } => {
            let unit = match precision {
                0 => TimeUnit::Second,
                1..=3 => TimeUnit::Millisecond,
                4..=6 => TimeUnit::Microsecond,
                _ => TimeUnit::Nanosecond,
            };
            DataType::Timestamp(unit, tz.as_deref().map(Into::into))
        }
        C::Nullable(_) | C::LowCardinality(_) => natural_field("item", ty)?.data_type().clone(),
        C::Array(item) => DataType::List(Arc::new(natural_field("item", item)?)),
        C::Tuple(items) => {
            let fields: Result<Vec<Field>, String> = items
                .iter()
                .enumerate()
                .map(|(i, (n, t))| natural_field(n.as_deref().unwrap_or(&(i + 1).to_string()), t))
                .collect();
            DataType::Struct(Fields::from(fields?))
        }
        C::Nothing => return Err("a column of NULLs (type Nothing) has no Arrow reading".into()),
    })
}
