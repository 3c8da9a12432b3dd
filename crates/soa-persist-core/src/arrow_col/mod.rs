//! Arrow-layout columns (`#[soa(arrow)]`): columns that keep Arrow's buffers (offsets + bytes,
//! dictionary keys, raw timestamps, a validity bitmap) so that converting to and from Arrow moves
//! buffers instead of values, for strings, enums and instants as for primitives.
//!
//! - [`StrColumn`] (`String`), [`BinColumn`] (`Vec<u8>`), [`EnumColumn`] (`#[derive(SoAEnum)]` enums, stored as keys),
//!   [`InstantColumn`] (`DateTime<Utc>`, stored as `i64` in the field's unit), and
//!   [`Nullable`], which adds a validity bitmap to any of them for `Option<T>`.
//! - [`ArrowLayout`] maps a field type to its Arrow-layout column (what `#[soa(arrow)]` on a
//!   field requires); [`StructLayout`] does the same for `#[soa(arrow)]` on a struct, mapping
//!   types without one to `Vec<T>`.
//!
//! Buffers read from Arrow are shared, never copied; the first write to a column turns them into
//! owned buffers (reusing the allocation when no one else holds it, else copying once).

mod buf;
mod enums;
mod fixed;
#[cfg(feature = "chrono")]
mod instant;
mod nullable;
mod slice;
mod strings;

use std::fmt::Debug;

use arrow::array::ArrayRef;
use arrow::buffer::NullBuffer;

use crate::bridge::{BaseField, FieldOptions, Micros, SoAEnum, SoAField, TimestampUnit};
use crate::convert::ArrowColumn;
use crate::error::ConvertError;

pub use enums::{EnumColumn, EnumKeys};
pub use fixed::{FixedColumn, FixedKind};
#[cfg(feature = "chrono")]
pub use instant::{InstantColumn, InstantUnit, Instants};
pub use nullable::Nullable;
pub use slice::ColumnSlice;
pub use strings::{BinColumn, ByteKind, Bytes, BytesColumn, StrColumn, Text};

/// A non-null Arrow-layout column: what [`Nullable`] wraps, and what the column types share.
pub trait ArrowValues: ArrowColumn + Clone + Debug + PartialEq {
    /// The value type, whose `BaseField` impl gives the Arrow type.
    type Value: BaseField;
    /// The value stored under a null slot.
    fn placeholder() -> Self::Item;
    /// Whether row `i` of `self` and row `j` of `other` hold the same value.
    fn same_row(&self, i: usize, other: &Self, j: usize) -> bool;
    /// Copies the column into an array with the given validity.
    fn to_array_with(
        &self,
        nulls: Option<NullBuffer>,
        opts: &FieldOptions,
    ) -> Result<ArrayRef, ConvertError>;
    /// Moves the column's buffers into an array with the given validity (no copy).
    fn into_array_with(
        self,
        nulls: Option<NullBuffer>,
        opts: &FieldOptions,
    ) -> Result<ArrayRef, ConvertError>;
    /// The column's values from `array` (sharing its buffers when the layout is the column's,
    /// else decoded), and the array's validity.
    fn from_array_parts(
        array: ArrayRef,
        opts: &FieldOptions,
    ) -> Result<(Self, Option<NullBuffer>), ConvertError>;
}

/// A field type with an Arrow-layout column, for `#[soa(arrow)]` on a field. `U` is the field's
/// timestamp unit (microseconds unless `#[soa(timestamp = "...")]` says otherwise).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no Arrow-layout column for #[soa(arrow)]",
    label = "no Arrow-layout column for this type",
    note = "#[soa(arrow)] on a field supports String, Vec<u8>, DateTime<Utc> (timestamp unit s, ms or us), enums with #[derive(SoAEnum)], and Option of these",
    note = "primitive and Timestamp<U> columns are already zero-copy as Vec<T>: drop #[soa(arrow)] on this field"
)]
pub trait ArrowLayout<U: TimestampUnit = Micros>: SoAField {
    /// The column type.
    type Column: ArrowColumn<Item = Self> + Clone + Debug + PartialEq;
}

/// The column of a field of a struct marked `#[soa(arrow)]`: its Arrow-layout column where it
/// has one, else `Vec<T>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no column type for a #[soa(arrow)] struct",
    label = "unsupported field type in a #[soa(arrow)] struct",
    note = "implement ArrowLayout (or StructLayout with `type Column = Vec<Self>`) for it, or remove #[soa(arrow)] from the struct"
)]
pub trait StructLayout<U: TimestampUnit = Micros>: SoAField {
    /// The column type.
    type Column: ArrowColumn<Item = Self> + Clone + Debug + PartialEq;
}

impl<U: TimestampUnit> ArrowLayout<U> for String {
    type Column = StrColumn;
}
impl<U: TimestampUnit> StructLayout<U> for String {
    type Column = StrColumn;
}
impl<U: TimestampUnit> StructLayout<U> for Option<String> {
    type Column = Nullable<StrColumn>;
}
impl<U: TimestampUnit> ArrowLayout<U> for Vec<u8> {
    type Column = BinColumn;
}
impl<U: TimestampUnit> StructLayout<U> for Vec<u8> {
    type Column = BinColumn;
}
impl<U: TimestampUnit> StructLayout<U> for Option<Vec<u8>> {
    type Column = Nullable<BinColumn>;
}

// An enum's own `ArrowLayout` and `StructLayout` impls come from `#[derive(SoAEnum)]` (a
// blanket impl here would make every unsupported type's error about `SoAEnum`).
impl<U: TimestampUnit, E: SoAEnum + BaseField> StructLayout<U> for Option<E> {
    type Column = Nullable<EnumColumn<E>>;
}

impl<U: TimestampUnit, V> ArrowLayout<U> for Option<V>
where
    V: BaseField + ArrowLayout<U>,
    <V as ArrowLayout<U>>::Column: ArrowValues<Item = V, Value = V>,
{
    type Column = Nullable<<V as ArrowLayout<U>>::Column>;
}

/// `Vec<T>` columns of a `#[soa(arrow)]` struct, for types without an Arrow-layout column.
macro_rules! vec_layout {
    ($($t:ty),* $(,)?) => {$(
        impl<U: TimestampUnit> StructLayout<U> for $t { type Column = Vec<$t>; }
        impl<U: TimestampUnit> StructLayout<U> for Option<$t> { type Column = Vec<Option<$t>>; }
    )*};
}
vec_layout!(bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl<U: TimestampUnit, W: TimestampUnit> StructLayout<U> for crate::bridge::Timestamp<W> {
    type Column = Vec<Self>;
}
impl<U: TimestampUnit, W: TimestampUnit> StructLayout<U> for Option<crate::bridge::Timestamp<W>> {
    type Column = Vec<Self>;
}
impl<U: TimestampUnit, const N: usize> StructLayout<U> for [u8; N] {
    type Column = Vec<Self>;
}
impl<U: TimestampUnit, const N: usize> StructLayout<U> for Option<[u8; N]> {
    type Column = Vec<Self>;
}
impl<U: TimestampUnit, T: crate::bridge::ListItem> StructLayout<U> for Vec<T> {
    type Column = Vec<Self>;
}
impl<U: TimestampUnit, T: crate::bridge::ListItem> StructLayout<U> for Option<Vec<T>> {
    type Column = Vec<Self>;
}
#[cfg(feature = "chrono")]
vec_layout!(chrono::NaiveDate, chrono::NaiveDateTime);
#[cfg(feature = "chrono")]
impl<U: InstantUnit> StructLayout<U> for chrono::DateTime<chrono::Utc> {
    type Column = InstantColumn<U>;
}
#[cfg(feature = "chrono")]
impl<U: InstantUnit> StructLayout<U> for Option<chrono::DateTime<chrono::Utc>> {
    type Column = Nullable<InstantColumn<U>>;
}
#[cfg(feature = "chrono")]
impl StructLayout<crate::bridge::Nanos> for chrono::DateTime<chrono::Utc> {
    type Column = Vec<Self>;
}
#[cfg(feature = "chrono")]
impl StructLayout<crate::bridge::Nanos> for Option<chrono::DateTime<chrono::Utc>> {
    type Column = Vec<Self>;
}
#[cfg(feature = "decimal")]
vec_layout!(rust_decimal::Decimal);
#[cfg(feature = "uuid")]
vec_layout!(uuid::Uuid);

/// The row that fails a non-null column: the first null of `nulls`.
fn reject_nulls(nulls: Option<&NullBuffer>) -> Result<(), ConvertError> {
    match nulls {
        Some(n) if n.null_count() > 0 => Err(ConvertError::UnexpectedNull {
            field: String::new(),
            row: n.iter().position(|v| !v).unwrap_or(0),
        }),
        _ => Ok(()),
    }
}

/// `ArrowColumn` for a non-null Arrow-layout column, through its `ArrowValues` impl.
macro_rules! arrow_column_impl {
    ([$($g:tt)*] $col:ty $(where $($w:tt)*)?) => {
        impl<$($g)*> $crate::convert::ArrowColumn for $col $(where $($w)*)? {
            fn arrow_field(
                name: &str,
                opts: &$crate::bridge::FieldOptions,
            ) -> arrow::datatypes::Field {
                <<Self as $crate::arrow_col::ArrowValues>::Value as $crate::bridge::SoAField>::arrow_field(name, opts)
            }
            fn to_array(
                &self,
                opts: &$crate::bridge::FieldOptions,
            ) -> Result<arrow::array::ArrayRef, $crate::error::ConvertError> {
                $crate::arrow_col::ArrowValues::to_array_with(self, None, opts)
            }
            fn into_array(
                self,
                opts: &$crate::bridge::FieldOptions,
            ) -> Result<arrow::array::ArrayRef, $crate::error::ConvertError> {
                $crate::arrow_col::ArrowValues::into_array_with(self, None, opts)
            }
            fn from_array(
                array: &arrow::array::ArrayRef,
                opts: &$crate::bridge::FieldOptions,
            ) -> Result<Self, $crate::error::ConvertError> {
                Self::from_array_owned(array.clone(), opts)
            }
            fn from_array_owned(
                array: arrow::array::ArrayRef,
                opts: &$crate::bridge::FieldOptions,
            ) -> Result<Self, $crate::error::ConvertError> {
                let (column, nulls) =
                    <Self as $crate::arrow_col::ArrowValues>::from_array_parts(array, opts)?;
                $crate::arrow_col::reject_nulls(nulls.as_ref())?;
                Ok(column)
            }
            fn missing(_: usize) -> Option<Self> {
                None
            }
        }
    };
}
use arrow_column_impl;
