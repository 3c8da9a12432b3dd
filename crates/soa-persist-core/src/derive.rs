//! What the derive macros' generated code calls (hidden; reached as `soa_persist::__private`).
//!
//! - [`SoAColumns`]: a generated container's columns as Arrow arrays and back. A trait rather
//!   than inherent methods, so users' types gain no visible methods.
//! - [`field_column`] / [`nested_column`] / [`arrow_column`] / [`struct_column`]: each returns a table of the operations the generated
//!   code needs for one column. Calling them is the only place where generated code requires a
//!   field type's trait (`SoAField`, `SoA`, `ArrowLayout` or `StructLayout`); the table itself has no bounds. So an unsupported
//!   field type fails that one bound, with the same error at the same span every time, and
//!   rustc reports it once.

use std::ops::Range;

use arrow::array::ArrayRef;
use arrow::datatypes::Field;

use crate::arrow_col::{ArrowLayout, StructLayout};
use crate::bridge::{FieldOptions, SoAField, TimestampUnit};
use crate::convert::{ArrowColumn, ColumnSource};
use crate::error::ConvertError;
use crate::soa::SoA;

/// A generated container's columns, in schema order, as Arrow arrays (and back).
pub trait SoAColumns: Sized {
    /// Copies every column into an array.
    fn to_columns(&self) -> Result<Vec<ArrayRef>, ConvertError>;
    /// Moves every column into an array (zero-copy where the layouts agree).
    fn into_columns(self) -> Result<Vec<ArrayRef>, ConvertError>;
    /// Copies the rows in `range` (in bounds) of every column; `None` when a column can only
    /// be converted whole.
    fn to_columns_range(&self, range: Range<usize>) -> Option<Result<Vec<ArrayRef>, ConvertError>>;
    /// Takes and decodes every column from `source`, by name.
    fn from_columns(source: &mut ColumnSource) -> Result<Self, ConvertError>;
}

type RangeFn<C> = fn(&C, Range<usize>, &FieldOptions) -> Option<Result<ArrayRef, ConvertError>>;

type ReadFn<T, C> =
    fn(&mut ColumnSource, &str, &FieldOptions, Option<fn() -> T>) -> Result<C, ConvertError>;

/// The type-dependent operations on one column `C` holding values `T` (`Vec<T>` for a plain
/// field, the nested struct's container for a `#[soa(nested)]` one).
pub struct FieldColumn<T, C> {
    arrow_field: fn(&str, &FieldOptions) -> Field,
    to_array: fn(&C, &FieldOptions) -> Result<ArrayRef, ConvertError>,
    into_array: fn(C, &FieldOptions) -> Result<ArrayRef, ConvertError>,
    to_array_range: RangeFn<C>,
    read: ReadFn<T, C>,
    validate: fn(&T, &FieldOptions) -> Result<(), ConvertError>,
}

impl<T, C> FieldColumn<T, C> {
    /// The column's Arrow field.
    #[inline]
    pub fn arrow_field(&self, name: &str, opts: &FieldOptions) -> Field {
        (self.arrow_field)(name, opts)
    }

    /// Copies the column into an Arrow array.
    #[inline]
    pub fn to_array(&self, column: &C, opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        (self.to_array)(column, opts)
    }

    /// Moves the column into an Arrow array.
    #[inline]
    pub fn into_array(&self, column: C, opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        (self.into_array)(column, opts)
    }

    /// Copies the rows in `range` of the column into an Arrow array (`None`: only whole).
    #[inline]
    pub fn to_array_range(
        &self,
        column: &C,
        range: Range<usize>,
        opts: &FieldOptions,
    ) -> Option<Result<ArrayRef, ConvertError>> {
        (self.to_array_range)(column, range, opts)
    }

    /// Takes column `name` from `source` (filled from `default` when absent, if given).
    #[inline]
    pub fn read(
        &self,
        source: &mut ColumnSource,
        name: &str,
        opts: &FieldOptions,
        default: Option<fn() -> T>,
    ) -> Result<C, ConvertError> {
        (self.read)(source, name, opts, default)
    }

    /// Whether `value` converts to the column's Arrow type.
    #[inline]
    pub fn validate(&self, value: &T, opts: &FieldOptions) -> Result<(), ConvertError> {
        (self.validate)(value, opts)
    }
}

/// The operations on a field of type `T` stored in column `C`.
fn ops<T: SoAField, C: ArrowColumn<Item = T>>() -> FieldColumn<T, C> {
    FieldColumn {
        arrow_field: C::arrow_field,
        to_array: C::to_array,
        into_array: C::into_array,
        to_array_range: C::to_array_range,
        read: |source, name, opts, default| source.column::<C>(name, opts, default),
        validate: <T as SoAField>::validate,
    }
}

/// The operations on a `#[soa(arrow)]` field of type `T` (timestamp unit `U`), stored in its
/// Arrow-layout column.
#[inline]
pub fn arrow_column<T: ArrowLayout<U>, U: TimestampUnit>()
-> FieldColumn<T, <T as ArrowLayout<U>>::Column> {
    ops()
}

/// The operations on a field of type `T` (timestamp unit `U`) of a `#[soa(arrow)]` struct.
#[inline]
pub fn struct_column<T: StructLayout<U>, U: TimestampUnit>()
-> FieldColumn<T, <T as StructLayout<U>>::Column> {
    ops()
}

/// The operations on a plain field of type `T`, stored as `Vec<T>`.
#[inline]
pub fn field_column<T: SoAField>() -> FieldColumn<T, Vec<T>> {
    FieldColumn {
        arrow_field: <Vec<T> as ArrowColumn>::arrow_field,
        to_array: <Vec<T> as ArrowColumn>::to_array,
        into_array: <Vec<T> as ArrowColumn>::into_array,
        to_array_range: <Vec<T> as ArrowColumn>::to_array_range,
        read: |source, name, opts, default| source.column::<Vec<T>>(name, opts, default),
        validate: <T as SoAField>::validate,
    }
}

/// The operations on a `#[soa(nested)]` field of type `T`, stored as `T`'s container.
#[inline]
pub fn nested_column<T: SoA>() -> FieldColumn<T, T::Container> {
    FieldColumn {
        arrow_field: <T::Container as ArrowColumn>::arrow_field,
        to_array: <T::Container as ArrowColumn>::to_array,
        into_array: <T::Container as ArrowColumn>::into_array,
        to_array_range: <T::Container as ArrowColumn>::to_array_range,
        read: |source, name, opts, default| source.column::<T::Container>(name, opts, default),
        validate: |value, _| value.validate(),
    }
}
