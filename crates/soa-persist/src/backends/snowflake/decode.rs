//! Snowflake's Arrow results into a struct's Arrow schema, column by column, without rows.
//! Snowflake's encodings: `FIXED` as the narrowest integer that holds the values, or
//! `Decimal128`, with the scale in the field's metadata; timestamps as a struct of `epoch`
//! seconds and `fraction` nanoseconds (plus `timezone` for `TIMESTAMP_TZ`) or as one scaled
//! integer; `DATE` as days; `BINARY` as binary. A value the target
//! type can't hold exactly is an error naming the column, never a truncation.

use std::sync::Arc;

use soa_persist_api::PersistError;
use soa_persist_api::exec::cast_exact;
use soa_persist_core::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, Int64Array, RecordBatch, RecordBatchOptions,
    make_array,
};
use soa_persist_core::arrow::compute::cast;
use soa_persist_core::arrow::datatypes::{self as dt, DataType, Field, SchemaRef, TimeUnit};

use super::NAME;

/// `batch` (columns in `target`'s order) with `target`'s types and schema.
pub(crate) fn to_schema(
    batch: &RecordBatch,
    target: &SchemaRef,
) -> Result<RecordBatch, PersistError> {
    if batch.num_columns() != target.fields().len() {
        return Err(PersistError::SchemaMismatch {
            backend: NAME,
            detail: format!(
                "a result of {} columns for {} fields",
                batch.num_columns(),
                target.fields().len()
            ),
        });
    }
    let schema = batch.schema();
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .zip(target.fields())
        .map(|((column, meta), to)| {
            decode_column(column, meta, to.data_type()).map_err(|e| PersistError::SchemaMismatch {
                backend: NAME,
                detail: format!(
                    "column `{}`: Snowflake's {} ({}) can't be read as {}: {e}",
                    to.name(),
                    logical_type(meta),
                    column.data_type(),
                    to.data_type()
                ),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        target.clone(),
        columns,
        &options,
    )?)
}

fn logical_type(meta: &Field) -> &str {
    meta.metadata()
        .get("logicalType")
        .map_or("?", String::as_str)
}

fn meta_scale(meta: &Field) -> i8 {
    meta.metadata()
        .get("scale")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// One column as `to`.
fn decode_column(column: &ArrayRef, meta: &Field, to: &DataType) -> Result<ArrayRef, String> {
    if let DataType::Timestamp(unit, zone) = to {
        let column = timestamp(column, meta_scale(meta), *unit)?;
        return cast_exact(&column, &DataType::Timestamp(*unit, zone.clone()))
            .map_err(|e| e.to_string());
    }
    let column = match column.data_type() {
        // A scaled integer (`FIXED` with a scale) is a decimal.
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
            if meta_scale(meta) > 0 =>
        {
            let ints = cast(column, &DataType::Int64).map_err(|e| e.to_string())?;
            let decimals: Decimal128Array = ints.as_primitive::<dt::Int64Type>().unary(i128::from);
            Arc::new(
                decimals
                    .with_precision_and_scale(38, meta_scale(meta))
                    .map_err(|e| e.to_string())?,
            ) as ArrayRef
        }
        DataType::Int32 if matches!(to, DataType::Date32) => Arc::new(
            column
                .as_primitive::<dt::Int32Type>()
                .reinterpret_cast::<dt::Date32Type>(),
        ),
        _ => column.clone(),
    };
    cast_exact(&column, to).map_err(|e| e.to_string())
}

/// A timestamp column in `unit`: from the `epoch` / `fraction` struct, or an integer count
/// of `10^-scale` seconds. Exact: a value with digits below `unit` is an error.
fn timestamp(column: &ArrayRef, scale: i8, unit: TimeUnit) -> Result<ArrayRef, String> {
    let per_unit: i128 = match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    };
    let nanos: Vec<Option<i128>> = match column.data_type() {
        DataType::Struct(_) => {
            let s = column.as_struct();
            let epoch = s
                .column_by_name("epoch")
                .ok_or("a timestamp without `epoch`")?;
            let epoch = cast(epoch, &DataType::Int64).map_err(|e| e.to_string())?;
            let epoch = epoch.as_primitive::<dt::Int64Type>();
            let fraction = match s.column_by_name("fraction") {
                Some(f) => Some(cast(f, &DataType::Int64).map_err(|e| e.to_string())?),
                None => None,
            };
            let fraction = fraction.as_ref().map(|f| f.as_primitive::<dt::Int64Type>());
            (0..s.len())
                .map(|i| {
                    (!s.is_null(i)).then(|| {
                        i128::from(epoch.value(i)) * 1_000_000_000
                            + fraction.map_or(0, |f| i128::from(f.value(i)))
                    })
                })
                .collect()
        }
        DataType::Int64 | DataType::Int32 => {
            let ints = cast(column, &DataType::Int64).map_err(|e| e.to_string())?;
            let factor = 10i128.pow(9u32.saturating_sub(scale.max(0) as u32));
            ints.as_primitive::<dt::Int64Type>()
                .iter()
                .map(|v| v.map(|v| i128::from(v) * factor))
                .collect()
        }
        DataType::Timestamp(..) => {
            // Already a timestamp (a driver that converts): re-scale through the cast.
            return cast_exact(column, &DataType::Timestamp(unit, None)).map_err(|e| e.to_string());
        }
        other => return Err(format!("a timestamp encoded as {other}")),
    };
    let values = nanos
        .into_iter()
        .map(|v| {
            v.map(|n| {
                if n % per_unit != 0 {
                    return Err(format!("{n} ns is not a whole number of {unit:?}s"));
                }
                i64::try_from(n / per_unit).map_err(|_| format!("{n} ns is out of range"))
            })
            .transpose()
        })
        .collect::<Result<Vec<_>, String>>()?;
    let data = Int64Array::from(values)
        .into_data()
        .into_builder()
        .data_type(DataType::Timestamp(unit, None))
        .build()
        .map_err(|e| e.to_string())?;
    Ok(make_array(data))
}
