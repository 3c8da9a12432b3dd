//! Bringing batches to a schema without losing anything: the struct's own schema (`conform`),
//! another schema column by column (`cast_to_schema`, `select_by_name`), one column
//! (`cast_exact`). A value that does not fit is an error, never a null or a truncation.

use std::sync::Arc;

use soa_persist_core::arrow::array::{
    ArrayData, ArrayRef, RecordBatch, RecordBatchOptions, make_array,
};
use soa_persist_core::arrow::compute::{CastOptions, cast_with_options};
use soa_persist_core::arrow::datatypes::{DataType, Schema, SchemaRef};
use soa_persist_core::arrow::error::ArrowError;
use soa_persist_core::convert::ToArrow;
use soa_persist_core::soa::SoA;

use crate::error::PersistError;

/// Brings `batch` to `T`'s exact schema: relabels it when only metadata differs, otherwise
/// reads it as `T` (lossless alternative encodings, missing optional or defaulted columns) and
/// writes it back, or errors naming the field that can't be read.
pub fn conform<T: SoA>(batch: RecordBatch) -> Result<RecordBatch, PersistError> {
    let schema = T::arrow_schema();
    if batch.schema().fields() == schema.fields() {
        return Ok(batch.with_schema(schema)?);
    }
    Ok(T::Container::from_owned_record_batch(batch)?.into_record_batch()?)
}

/// `column` as type `to`, exactly: a value `to` can't hold is an error (Arrow's strict cast),
/// and timestamps that differ only in their zone label are relabelled without a time-zone
/// database (every instant here is UTC).
pub fn cast_exact(column: &ArrayRef, to: &DataType) -> Result<ArrayRef, ArrowError> {
    if column.data_type() == to {
        return Ok(column.clone());
    }
    if same_but_zone(column.data_type(), to) {
        return Ok(make_array(retype(column.to_data(), to)?));
    }
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    cast_with_options(column, to, &options)
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
fn retype(data: ArrayData, to: &DataType) -> Result<ArrayData, ArrowError> {
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
    builder.build()
}

/// `batch`'s columns, position by position, cast exactly to `target`'s types and given its
/// schema (an engine's result read back, or a batch on its way into an engine).
pub fn cast_to_schema(
    batch: RecordBatch,
    target: &SchemaRef,
    backend: &'static str,
) -> Result<RecordBatch, PersistError> {
    if batch.num_columns() != target.fields().len() {
        return Err(PersistError::SchemaMismatch {
            backend,
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

/// `target`'s columns picked from `batch` by name, in `target`'s order, cast exactly; an
/// optional (nullable) column `batch` lacks is left out, for a reader that fills it in.
pub fn select_by_name(
    batch: &RecordBatch,
    target: &SchemaRef,
    backend: &'static str,
) -> Result<RecordBatch, PersistError> {
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
                    backend,
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

/// The schema of `projection` (top-level column names, in that order) within `schema`, or the
/// whole schema when there is none; a name the struct lacks is a `SchemaMismatch` naming it.
pub fn project_schema(
    schema: &SchemaRef,
    projection: Option<&[String]>,
    backend: &'static str,
) -> Result<SchemaRef, PersistError> {
    let Some(names) = projection else {
        return Ok(schema.clone());
    };
    let indices = names
        .iter()
        .map(|n| {
            schema
                .index_of(n)
                .map_err(|_| PersistError::SchemaMismatch {
                    backend,
                    detail: format!("projected column `{n}` is not a field of the struct"),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(schema.project(&indices)?))
}
