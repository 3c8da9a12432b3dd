//! Snowflake's Arrow results into a struct's Arrow schema, column by column, without rows.
//! Snowflake's encodings: `FIXED` as the narrowest integer that holds the values, or
//! `Decimal128`, with the scale in the field's metadata; `DATE` as days; `BINARY` as binary;
//! timestamps are selected as epoch counts in their unit (a `FIXED`; Snowflake's own struct
//! of `epoch` and `fraction` is not read); `ARRAY` / `OBJECT` as JSON text, parsed into the
//! field's list or struct (`json.rs`). A value the target type can't hold exactly is an
//! error naming the column, never a truncation.

use std::sync::Arc;

use soa_persist_api::PersistError;
use soa_persist_api::exec::cast_exact;
use soa_persist_core::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, RecordBatch, RecordBatchOptions, make_array,
};
use soa_persist_core::arrow::compute::cast;
use soa_persist_core::arrow::datatypes::{self as dt, DataType, Field, SchemaRef, TimeUnit};

use super::NAME;
use super::json::{from_texts, is_json};

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
            if is_json(to.data_type()) {
                return json_column(column, meta, to);
            }
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

/// An `ARRAY` / `OBJECT` column (JSON text in Snowflake's Arrow) as the field's list or struct.
fn json_column(column: &ArrayRef, meta: &Field, to: &Field) -> Result<ArrayRef, PersistError> {
    let texts = cast(column, &DataType::Utf8).map_err(|_| PersistError::SchemaMismatch {
        backend: NAME,
        detail: format!(
            "column `{}`: Snowflake's {} ({}) is not JSON text",
            to.name(),
            logical_type(meta),
            column.data_type()
        ),
    })?;
    let texts: Vec<Option<&str>> = texts.as_string::<i32>().iter().collect();
    from_texts(&texts, to)
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
        let column = timestamp(column, *unit)?;
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

/// A timestamp column in `unit` from its count of `unit` since the epoch (reads select
/// timestamps as `DATE_PART(EPOCH_<unit>, …)`): any integer or whole decimal that fits an
/// `i64`, exactly.
fn timestamp(column: &ArrayRef, unit: TimeUnit) -> Result<ArrayRef, String> {
    let counts = cast_exact(column, &DataType::Int64).map_err(|e| e.to_string())?;
    let data = counts
        .into_data()
        .into_builder()
        .data_type(DataType::Timestamp(unit, None))
        .build()
        .map_err(|e| e.to_string())?;
    Ok(make_array(data))
}
