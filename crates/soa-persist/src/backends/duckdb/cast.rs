//! Conversions between the struct's Arrow types and what DuckDB is handed or returns: enum
//! names, zone-less nanosecond instants, exact (never lossy) casts, columns picked by name.

use std::sync::Arc;

use soa_persist_core::arrow::array::{
    ArrayData, ArrayRef, RecordBatch, RecordBatchOptions, make_array,
};
use soa_persist_core::arrow::compute::{CastOptions, cast_with_options};
use soa_persist_core::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::pool::NAME;
use soa_persist_api::PersistError;

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

/// Casts that must not lose anything (errors instead of producing nulls).
fn cast_exact(column: &ArrayRef, to: &DataType) -> Result<ArrayRef, PersistError> {
    if column.data_type() == to {
        return Ok(column.clone());
    }
    if same_but_zone(column.data_type(), to) {
        // Every instant here is UTC: only the label changes (and Arrow's cast would need a
        // time-zone database to move between "UTC" and no zone).
        return Ok(make_array(retype(column.to_data(), to)?));
    }
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    Ok(cast_with_options(column, to, &options)?)
}

/// Whether `a` and `b` differ at most in timestamp zones (same physical layout).
fn same_but_zone(a: &DataType, b: &DataType) -> bool {
    use DataType::*;
    match (a, b) {
        (Timestamp(ua, _), Timestamp(ub, _)) => ua == ub,
        (List(fa), List(fb)) | (LargeList(fa), LargeList(fb)) => {
            same_but_zone(fa.data_type(), fb.data_type())
        }
        (FixedSizeList(fa, na), FixedSizeList(fb, nb)) => {
            na == nb && same_but_zone(fa.data_type(), fb.data_type())
        }
        (Struct(ca), Struct(cb)) => {
            ca.len() == cb.len()
                && ca.iter().zip(cb.iter()).all(|(x, y)| {
                    x.name() == y.name() && same_but_zone(x.data_type(), y.data_type())
                })
        }
        _ => a == b,
    }
}

/// `data` relabelled as `to` (which `same_but_zone` accepted), children included.
fn retype(data: ArrayData, to: &DataType) -> Result<ArrayData, PersistError> {
    let children: Vec<&DataType> = match to {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            vec![f.data_type()]
        }
        DataType::Struct(fields) => fields.iter().map(|f| f.data_type()).collect(),
        _ => Vec::new(),
    };
    let child_data = data
        .child_data()
        .iter()
        .zip(children)
        .map(|(c, t)| retype(c.clone(), t))
        .collect::<Result<Vec<_>, _>>()?;
    let builder = data.into_builder().data_type(to.clone());
    let builder = if child_data.is_empty() {
        builder
    } else {
        builder.child_data(child_data)
    };
    Ok(builder.build()?)
}

/// A batch (columns in `target`'s order) given `target`'s types and schema: results read
/// back, and conformed batches on their way in.
pub(super) fn to_target(
    batch: RecordBatch,
    target: &SchemaRef,
) -> Result<RecordBatch, PersistError> {
    if batch.num_columns() != target.fields().len() {
        return Err(PersistError::SchemaMismatch {
            backend: NAME,
            detail: format!(
                "query returned {} columns, expected {}",
                batch.num_columns(),
                target.fields().len()
            ),
        });
    }
    let columns = batch
        .columns()
        .iter()
        .zip(target.fields())
        .map(|(c, f)| cast_exact(c, f.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        target.clone(),
        columns,
        &options,
    )?)
}

/// Picks `target`'s columns from a SQL result by name (optional ones may be missing).
pub(super) fn by_name(batch: RecordBatch, target: &SchemaRef) -> Result<RecordBatch, PersistError> {
    let mut columns = Vec::with_capacity(target.fields().len());
    let mut fields = Vec::with_capacity(target.fields().len());
    for field in target.fields() {
        match batch.column_by_name(field.name()) {
            Some(c) => {
                columns.push(cast_exact(c, field.data_type())?);
                fields.push(field.clone());
            }
            None if field.is_nullable() => {}
            None => {
                return Err(PersistError::SchemaMismatch {
                    backend: NAME,
                    detail: format!("the query result has no column `{}`", field.name()),
                });
            }
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new_with_metadata(fields, target.metadata().clone())),
        columns,
        &options,
    )?)
}
