//! Arrow `RecordBatch` -> Native block bytes, straight from the Arrow buffers: fixed-width
//! columns are copied as their little-endian bytes, strings from offsets and values, null maps
//! from validity bitmaps, arrays from list offsets, tuples from struct children. No value
//! passes through a per-row Rust representation. This file holds the block and the composite
//! types; `encode_values.rs` the leaf columns.

use soa_persist_core::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use soa_persist_core::arrow::datatypes::{DataType, SchemaRef};
use soa_persist_core::error::ConvertError;

use super::chtype::ChType;
use super::encode_values::{write_low_cardinality, write_plain};
use super::types::{ServerCaps, TypeOptions, clickhouse_types};
use super::wire::{put_string, put_u64, put_varint};
use crate::backends::clickhouse::NAME;
use soa_persist_api::PersistError;

/// Encodes batches of one schema as Native blocks with fixed ClickHouse column types.
#[derive(Clone, Debug)]
pub struct BlockEncoder {
    schema: SchemaRef,
    types: Vec<ChType>,
}

impl BlockEncoder {
    /// An encoder writing each field of `schema` as the ClickHouse type at the same position
    /// (e.g. the types of an existing table). Checks every pair up front, so a column that
    /// can't be written that way is an error here, before anything is sent.
    pub fn new(schema: SchemaRef, types: Vec<ChType>) -> Result<Self, PersistError> {
        if types.len() != schema.fields().len() {
            return Err(PersistError::SchemaMismatch {
                backend: NAME,
                detail: format!(
                    "{} ClickHouse types for {} columns",
                    types.len(),
                    schema.fields().len()
                ),
            });
        }
        let encoder = Self { schema, types };
        // Encoding no rows runs every column's type dispatch.
        encoder.encode(
            &RecordBatch::new_empty(encoder.schema.clone()),
            &mut Vec::new(),
        )?;
        Ok(encoder)
    }

    /// An encoder with the types `types.rs` maps `schema` to on a server with `caps`.
    pub fn for_schema(
        schema: SchemaRef,
        caps: &ServerCaps,
        opts: &TypeOptions,
    ) -> Result<Self, PersistError> {
        let types = clickhouse_types(&schema, caps, opts)?;
        Self::new(schema, types)
    }

    /// The Arrow schema the encoder takes.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The ClickHouse type of each column, in schema order.
    pub fn types(&self) -> &[ChType] {
        &self.types
    }

    /// Appends `batch` to `out` as one block. The batch's columns are found by name (any
    /// order, extra columns ignored).
    pub fn encode(&self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), PersistError> {
        put_varint(out, self.types.len() as u64);
        put_varint(out, batch.num_rows() as u64);
        for (field, ty) in self.schema.fields().iter().zip(&self.types) {
            let name = field.name();
            let column =
                batch
                    .column_by_name(name)
                    .ok_or_else(|| PersistError::SchemaMismatch {
                        backend: NAME,
                        detail: format!("the batch has no column `{name}`"),
                    })?;
            put_string(out, name.as_bytes());
            put_string(out, ty.to_string().as_bytes());
            if batch.num_rows() > 0 {
                write_prefix(out, ty);
                write_column(out, column, ty, name)?;
            } else {
                // No rows: no data and no prefix, as ClickHouse writes it (the type is still
                // checked).
                write_column(&mut Vec::new(), column, ty, name)?;
            }
        }
        Ok(())
    }

    /// `batch` as one block in a new buffer.
    pub fn encode_to_vec(&self, batch: &RecordBatch) -> Result<Vec<u8>, PersistError> {
        let mut out = Vec::new();
        self.encode(batch, &mut out)?;
        Ok(out)
    }
}

/// The per-column state written before the data: LowCardinality's keys version (1), for
/// every LowCardinality in the type, in order.
fn write_prefix(out: &mut Vec<u8>, ty: &ChType) {
    match ty {
        ChType::LowCardinality(_) => put_u64(out, 1),
        ChType::Nullable(t) | ChType::Array(t) => write_prefix(out, t),
        ChType::Tuple(items) => items.iter().for_each(|(_, t)| write_prefix(out, t)),
        _ => {}
    }
}

pub(super) fn mismatch(path: &str, array: &DataType, ty: &ChType) -> PersistError {
    PersistError::SchemaMismatch {
        backend: NAME,
        detail: format!("column `{path}`: Arrow {array} can't be written as ClickHouse {ty}"),
    }
}

pub(super) fn invalid(path: &str, row: usize, detail: impl Into<String>) -> PersistError {
    PersistError::Convert(ConvertError::InvalidValue {
        field: path.to_string(),
        row,
        detail: detail.into(),
    })
}

fn unexpected_null(path: &str, array: &dyn Array) -> Result<(), PersistError> {
    match array.logical_nulls() {
        Some(nulls) if nulls.null_count() > 0 => {
            let row = nulls.iter().position(|v| !v).unwrap_or(0);
            Err(PersistError::Convert(ConvertError::UnexpectedNull {
                field: path.to_string(),
                row,
            }))
        }
        _ => Ok(()),
    }
}

/// One column's data (after its prefix).
pub(super) fn write_column(
    out: &mut Vec<u8>,
    array: &ArrayRef,
    ty: &ChType,
    path: &str,
) -> Result<(), PersistError> {
    match ty {
        ChType::Nullable(inner) => {
            if matches!(
                **inner,
                ChType::Array(_) | ChType::Tuple(_) | ChType::Nullable(_)
            ) {
                return Err(mismatch(path, array.data_type(), ty));
            }
            let nulls = array.logical_nulls();
            match &nulls {
                Some(n) => out.extend(n.iter().map(|valid| u8::from(!valid))),
                None => out.resize(out.len() + array.len(), 0),
            }
            write_plain(out, array, inner, path, nulls.as_ref())
        }
        ChType::LowCardinality(inner) => write_low_cardinality(out, array, inner, path),
        ChType::Array(item) => write_list(out, array, item, path),
        ChType::Tuple(items) => write_tuple(out, array, items, path),
        _ => {
            unexpected_null(path, array.as_ref())?;
            write_plain(out, array, ty, path, None)
        }
    }
}

/// `Array(T)`: each row's end offset (u64, cumulative from 0), then the items as one column.
fn write_list(
    out: &mut Vec<u8>,
    array: &ArrayRef,
    item: &ChType,
    path: &str,
) -> Result<(), PersistError> {
    let item_path = format!("{path}[]");
    let (offsets, values): (Vec<usize>, ArrayRef) = match array.data_type() {
        DataType::List(_) => {
            let list = array.as_list::<i32>();
            let o = list.value_offsets().iter().map(|&v| v as usize).collect();
            (o, list.values().clone())
        }
        DataType::LargeList(_) => {
            let list = array.as_list::<i64>();
            let o = list.value_offsets().iter().map(|&v| v as usize).collect();
            (o, list.values().clone())
        }
        other => {
            return Err(mismatch(
                path,
                other,
                &ChType::Array(Box::new(item.clone())),
            ));
        }
    };
    unexpected_null(path, array.as_ref())?;
    let start = offsets.first().copied().unwrap_or(0);
    let end = offsets.last().copied().unwrap_or(0);
    for &o in offsets.iter().skip(1) {
        put_u64(out, (o - start) as u64);
    }
    if end < start || end > values.len() {
        return Err(invalid(path, 0, "list offsets outside the values"));
    }
    write_column(out, &values.slice(start, end - start), item, &item_path)
}

/// `Tuple(T1, T2, ...)`: each element column in turn.
fn write_tuple(
    out: &mut Vec<u8>,
    array: &ArrayRef,
    items: &[(Option<String>, ChType)],
    path: &str,
) -> Result<(), PersistError> {
    let Some(st) = array.as_struct_opt() else {
        return Err(mismatch(
            path,
            array.data_type(),
            &ChType::Tuple(items.to_vec()),
        ));
    };
    if st.num_columns() != items.len() {
        return Err(mismatch(
            path,
            array.data_type(),
            &ChType::Tuple(items.to_vec()),
        ));
    }
    unexpected_null(path, array.as_ref())?;
    let names = st.column_names();
    for ((child, (_, ty)), name) in st.columns().iter().zip(items).zip(names) {
        write_column(out, child, ty, &format!("{path}.{name}"))?;
    }
    Ok(())
}
