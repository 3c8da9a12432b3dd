//! Values as Snowflake bindings, straight from Arrow columns: one binding per column with the
//! column's values as an array (an `INSERT` of many rows is one statement), or one value (a
//! predicate's parameter). Each carries Snowflake's binding type and its text form: `FIXED`
//! integers, `REAL` floats (`NaN`, `inf`), `TEXT`, `BOOLEAN`, `BINARY` hex, `DATE` as epoch
//! milliseconds, `TIMESTAMP_NTZ` / `TIMESTAMP_TZ` as epoch nanoseconds (and `1440`, UTC's
//! offset code), decimals and enum names as `TEXT` (exact).

use std::fmt::Write;

use serde_json::{Value, json};
use soa_persist_api::PersistError;
use soa_persist_api::sql::Param;
use soa_persist_core::arrow::array::{Array, ArrayRef, AsArray};
use soa_persist_core::arrow::compute::cast;
use soa_persist_core::arrow::datatypes::{self as dt, DataType, TimeUnit};
use soa_persist_core::arrow::util::display::{ArrayFormatter, FormatOptions};

use super::NAME;

/// The binding of a one-row parameter.
pub(crate) fn param_binding(param: &Param) -> Result<Value, PersistError> {
    let (kind, mut values) = column_values(&param.value)?;
    let value = values.pop().flatten();
    Ok(json!({ "type": kind, "value": value }))
}

/// The array binding of a whole column.
pub(crate) fn column_binding(column: &ArrayRef) -> Result<Value, PersistError> {
    let (kind, values) = column_values(column)?;
    Ok(json!({ "type": kind, "value": values }))
}

/// Snowflake's binding type of `column` and each value's text (`None` for null).
fn column_values(column: &ArrayRef) -> Result<(&'static str, Vec<Option<String>>), PersistError> {
    use DataType::*;
    macro_rules! each {
        ($arr:expr, $f:expr) => {{
            let a = $arr;
            (0..a.len())
                .map(|i| (!a.is_null(i)).then(|| $f(a.value(i))))
                .collect()
        }};
    }
    Ok(match column.data_type() {
        Boolean => (
            "BOOLEAN",
            each!(column.as_boolean(), |v: bool| v.to_string()),
        ),
        Int8 => (
            "FIXED",
            each!(column.as_primitive::<dt::Int8Type>(), |v: i8| v.to_string()),
        ),
        Int16 => (
            "FIXED",
            each!(column.as_primitive::<dt::Int16Type>(), |v: i16| v
                .to_string()),
        ),
        Int32 => (
            "FIXED",
            each!(column.as_primitive::<dt::Int32Type>(), |v: i32| v
                .to_string()),
        ),
        Int64 => (
            "FIXED",
            each!(column.as_primitive::<dt::Int64Type>(), |v: i64| v
                .to_string()),
        ),
        UInt8 => (
            "FIXED",
            each!(column.as_primitive::<dt::UInt8Type>(), |v: u8| v
                .to_string()),
        ),
        UInt16 => (
            "FIXED",
            each!(column.as_primitive::<dt::UInt16Type>(), |v: u16| v
                .to_string()),
        ),
        UInt32 => (
            "FIXED",
            each!(column.as_primitive::<dt::UInt32Type>(), |v: u32| v
                .to_string()),
        ),
        UInt64 => (
            "FIXED",
            each!(column.as_primitive::<dt::UInt64Type>(), |v: u64| v
                .to_string()),
        ),
        Float32 => (
            "REAL",
            each!(column.as_primitive::<dt::Float32Type>(), |v: f32| float(
                f64::from(v)
            )),
        ),
        Float64 => (
            "REAL",
            each!(column.as_primitive::<dt::Float64Type>(), float),
        ),
        Utf8 => ("TEXT", each!(column.as_string::<i32>(), str::to_string)),
        LargeUtf8 => ("TEXT", each!(column.as_string::<i64>(), str::to_string)),
        Binary => ("BINARY", each!(column.as_binary::<i32>(), hex)),
        LargeBinary => ("BINARY", each!(column.as_binary::<i64>(), hex)),
        FixedSizeBinary(_) => ("BINARY", each!(column.as_fixed_size_binary(), hex)),
        Date32 => (
            "DATE",
            each!(column.as_primitive::<dt::Date32Type>(), |d: i32| {
                (i64::from(d) * 86_400_000).to_string()
            }),
        ),
        Timestamp(unit, zone) => {
            let per_unit: i128 = match unit {
                TimeUnit::Second => 1_000_000_000,
                TimeUnit::Millisecond => 1_000_000,
                TimeUnit::Microsecond => 1_000,
                TimeUnit::Nanosecond => 1,
            };
            let utc = zone.is_some();
            // Every timestamp unit is an i64 count: read it as one.
            let ints = cast(column, &Int64)?;
            let text = each!(ints.as_primitive::<dt::Int64Type>(), |v: i64| {
                let nanos = i128::from(v) * per_unit;
                if utc {
                    format!("{nanos} 1440")
                } else {
                    nanos.to_string()
                }
            });
            (if utc { "TIMESTAMP_TZ" } else { "TIMESTAMP_NTZ" }, text)
        }
        Dictionary(..) | Decimal128(..) | Decimal256(..) | Utf8View => ("TEXT", formatted(column)?),
        other => {
            return Err(PersistError::invalid_input(
                NAME,
                format!("a value of type {other} can't be bound"),
            ));
        }
    })
}

/// A float as Snowflake reads it back exactly (shortest round-trip form; `NaN`, `inf`).
fn float(v: f64) -> String {
    format!("{v:?}")
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Each value through Arrow's display (dictionary values, decimals at their scale).
fn formatted(column: &ArrayRef) -> Result<Vec<Option<String>>, PersistError> {
    let formatter = ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default())?;
    Ok((0..column.len())
        .map(|i| (!column.is_null(i)).then(|| formatter.value(i).to_string()))
        .collect())
}
