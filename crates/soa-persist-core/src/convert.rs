//! The conversion layer: `ToArrow` (a whole SoA container <-> `RecordBatch`) and `ArrowColumn`
//! (one column <-> one Arrow array), plus the helpers the derive's generated code calls.
//!
//! Columns are matched by name, in any order; a missing `Option` or `#[soa(default)]` column
//! is filled in, anything else is a typed error naming the column.

use std::ops::Range;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions, StructArray};
use arrow::datatypes::{DataType, Field, Fields, SchemaRef};

use crate::bridge::{FieldOptions, SoAField, reject_nulls};
use crate::column::Column;
use crate::error::ConvertError;

/// Conversion of a whole struct-of-arrays container to and from an Arrow `RecordBatch`.
pub trait ToArrow: Sized {
    /// Copies every column into a new batch; the container is unchanged.
    fn to_record_batch(&self) -> Result<RecordBatch, ConvertError>;
    /// Moves the columns into a batch; non-null primitive and `Timestamp` columns, and every
    /// Arrow-layout (`#[soa(arrow)]`) column, are not copied.
    fn into_record_batch(self) -> Result<RecordBatch, ConvertError>;
    /// Copies the rows in `range` (clamped to the rows there are) into a new batch, without
    /// converting the others; `None` when a column can only be converted whole (Arrow-layout
    /// columns), so a caller cutting a container into batches converts it once instead.
    fn to_record_batch_range(
        &self,
        range: Range<usize>,
    ) -> Option<Result<RecordBatch, ConvertError>> {
        let _ = range;
        None
    }
    /// Reads a batch whose columns match by name (any order, extra columns ignored).
    fn from_record_batch(batch: &RecordBatch) -> Result<Self, ConvertError>;
    /// Like `from_record_batch`, but reuses a column's buffer instead of copying it when the
    /// batch held the only reference to it (not shared, not sliced).
    fn from_owned_record_batch(batch: RecordBatch) -> Result<Self, ConvertError>;
}

/// One column of a container as one Arrow array: `Vec<T>` for plain fields, the nested
/// struct's container for `#[soa(nested)]` fields (a `Struct` array).
pub trait ArrowColumn: Column {
    /// The Arrow field of a column called `name` with the field's `#[soa(...)]` settings.
    fn arrow_field(name: &str, opts: &FieldOptions) -> Field;
    /// Copies the column into a new Arrow array; the column is unchanged.
    fn to_array(&self, opts: &FieldOptions) -> Result<ArrayRef, ConvertError>;
    /// Moves the column into an Arrow array, without copying where the layouts agree.
    fn into_array(self, opts: &FieldOptions) -> Result<ArrayRef, ConvertError>;
    /// Copies the rows in `range` (in bounds: the caller clamps it) into a new Arrow array;
    /// `None` when the column can only be converted whole.
    fn to_array_range(
        &self,
        range: Range<usize>,
        opts: &FieldOptions,
    ) -> Option<Result<ArrayRef, ConvertError>> {
        let _ = (range, opts);
        None
    }
    /// Reads an Arrow array of the column's type or of an encoding it accepts losslessly.
    fn from_array(array: &ArrayRef, opts: &FieldOptions) -> Result<Self, ConvertError>;
    /// Like `from_array`, but reuses the array's buffers instead of copying them when it held
    /// the only reference to them.
    fn from_array_owned(array: ArrayRef, opts: &FieldOptions) -> Result<Self, ConvertError>;
    /// The column to use when a batch lacks it, if the field may be absent.
    fn missing(len: usize) -> Option<Self>;
}

impl<T: SoAField> ArrowColumn for Vec<T> {
    fn arrow_field(name: &str, opts: &FieldOptions) -> Field {
        T::arrow_field(name, opts)
    }
    fn to_array(&self, opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        T::to_array(self, opts)
    }
    fn into_array(self, opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        T::into_array(self, opts)
    }
    fn to_array_range(
        &self,
        range: Range<usize>,
        opts: &FieldOptions,
    ) -> Option<Result<ArrayRef, ConvertError>> {
        Some(T::to_array(self.as_slice().get(range)?, opts))
    }
    fn from_array(array: &ArrayRef, opts: &FieldOptions) -> Result<Self, ConvertError> {
        T::from_array(array, opts)
    }
    fn from_array_owned(array: ArrayRef, opts: &FieldOptions) -> Result<Self, ConvertError> {
        T::from_array_owned(array, opts)
    }
    fn missing(len: usize) -> Option<Self> {
        T::missing(len)
    }
}

/// Arrays of a batch (or struct array) to be taken by name by the generated decoder.
#[doc(hidden)]
pub struct ColumnSource {
    fields: Fields,
    arrays: Vec<Option<ArrayRef>>,
    len: usize,
    owned: bool,
}

impl ColumnSource {
    /// Borrows the batch's arrays (reference counts only; values are copied when decoded).
    pub fn from_batch(batch: &RecordBatch) -> Self {
        Self {
            fields: batch.schema().fields().clone(),
            arrays: batch.columns().iter().cloned().map(Some).collect(),
            len: batch.num_rows(),
            owned: false,
        }
    }

    /// Takes the batch's arrays, so a buffer no one else holds can be reused.
    pub fn from_owned_batch(batch: RecordBatch) -> Self {
        let len = batch.num_rows();
        let (schema, columns, _) = batch.into_parts();
        Self {
            fields: schema.fields().clone(),
            arrays: columns.into_iter().map(Some).collect(),
            len,
            owned: true,
        }
    }

    /// The children of a (non-null) struct array, for a nested container.
    pub fn from_struct(
        array: ArrayRef,
        expected: DataType,
        owned: bool,
    ) -> Result<Self, ConvertError> {
        let Some(structs) = array.as_struct_opt() else {
            return Err(ConvertError::TypeMismatch {
                field: String::new(),
                expected,
                found: array.data_type().clone(),
            });
        };
        reject_nulls(structs)?;
        let len = structs.len();
        let (fields, columns, _) = structs.clone().into_parts();
        drop(array);
        Ok(Self {
            fields,
            arrays: columns.into_iter().map(Some).collect(),
            len,
            owned,
        })
    }

    /// The number of rows every column taken from it must have.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the source has no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Takes and decodes column `name`; fills a missing one from `C::missing` or `default`.
    /// Errors with `MissingColumn` when neither can, and with `LengthMismatch` when the column
    /// does not have `len()` rows.
    pub fn column<C: ArrowColumn>(
        &mut self,
        name: &str,
        opts: &FieldOptions,
        default: Option<fn() -> C::Item>,
    ) -> Result<C, ConvertError> {
        let array = self
            .fields
            .iter()
            .position(|f| f.name() == name)
            .and_then(|i| self.arrays.get_mut(i))
            .and_then(Option::take);
        let column = match array {
            Some(array) => {
                let decoded = if self.owned {
                    C::from_array_owned(array, opts)
                } else {
                    C::from_array(&array, opts)
                };
                decoded.map_err(|e| e.in_field(name))?
            }
            None => match (C::missing(self.len), default) {
                (Some(column), _) => column,
                (None, Some(default)) => {
                    let mut column = C::with_capacity(self.len);
                    (0..self.len).for_each(|_| column.push(default()));
                    column
                }
                (None, None) => {
                    return Err(ConvertError::MissingColumn {
                        field: name.to_string(),
                    });
                }
            },
        };
        if column.len() != self.len {
            return Err(ConvertError::LengthMismatch {
                field: name.to_string(),
                expected: self.len,
                found: column.len(),
            });
        }
        Ok(column)
    }
}

/// Checks that every column has `len` rows, naming the first that does not.
fn check_lengths(fields: &Fields, columns: &[ArrayRef], len: usize) -> Result<(), ConvertError> {
    for (field, column) in fields.iter().zip(columns) {
        if column.len() != len {
            return Err(ConvertError::LengthMismatch {
                field: field.name().clone(),
                expected: len,
                found: column.len(),
            });
        }
    }
    Ok(())
}

/// `range` within `0..len`: its ends clamped to `len`, an inverted range empty.
#[doc(hidden)]
pub fn clamp_range(range: Range<usize>, len: usize) -> Range<usize> {
    let end = range.end.min(len);
    range.start.min(end)..end
}

/// Assembles the generated encoder's arrays into a batch of `schema`.
#[doc(hidden)]
pub fn record_batch(
    schema: SchemaRef,
    columns: Vec<ArrayRef>,
    len: usize,
) -> Result<RecordBatch, ConvertError> {
    check_lengths(schema.fields(), &columns, len)?;
    let options = RecordBatchOptions::new().with_row_count(Some(len));
    Ok(RecordBatch::try_new_with_options(
        schema, columns, &options,
    )?)
}

/// Assembles a nested container's arrays into a (non-null) struct array.
#[doc(hidden)]
pub fn struct_array(
    schema: SchemaRef,
    columns: Vec<ArrayRef>,
    len: usize,
) -> Result<ArrayRef, ConvertError> {
    check_lengths(schema.fields(), &columns, len)?;
    Ok(std::sync::Arc::new(StructArray::try_new_with_length(
        schema.fields().clone(),
        columns,
        None,
        len,
    )?))
}
