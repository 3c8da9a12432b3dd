//! `InstantColumn<U>`: a `DateTime<Utc>` column kept as Arrow's timestamp values (`i64` in the
//! field's unit `U`, UTC); `get` returns the `DateTime` by value (feature `chrono`).

use std::marker::PhantomData;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::datatypes::{
    ArrowTimestampType, DataType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampSecondType,
};
use chrono::{DateTime, Utc};

use super::fixed::{FixedColumn, FixedKind};
use super::{ArrowLayout, ArrowValues, arrow_column_impl};
use crate::bridge::{BaseField, FieldOptions, Micros, Millis, Seconds, TimestampUnit};
use crate::error::ConvertError;

/// A timestamp unit every `DateTime<Utc>` fits in: seconds, milliseconds, microseconds.
/// (Nanoseconds cover only 1677..2262, so a `push` could not always store its value.)
pub trait InstantUnit: TimestampUnit {
    /// The Arrow timestamp type of this unit.
    type Arrow: ArrowTimestampType;
}

impl InstantUnit for Seconds {
    type Arrow = TimestampSecondType;
}
impl InstantUnit for Millis {
    type Arrow = TimestampMillisecondType;
}
impl InstantUnit for Micros {
    type Arrow = TimestampMicrosecondType;
}

/// The raw values of an instant column in unit `U`.
pub struct Instants<U>(PhantomData<fn() -> U>);

/// A `DateTime<Utc>` column stored as Arrow timestamp values in unit `U` (the field's
/// `#[soa(timestamp = "...")]`, microseconds by default); `Ref<'a>` is `DateTime<Utc>`.
/// Like the `Vec` column's conversion, a value is floored to the unit when pushed.
pub type InstantColumn<U> = FixedColumn<Instants<U>>;

fn to_unit(dt: &DateTime<Utc>, unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => dt.timestamp(),
        TimeUnit::Millisecond => dt.timestamp_millis(),
        // Every `DateTime<Utc>` fits in i64 microseconds (chrono's range is +-262,000 years).
        _ => dt.timestamp_micros(),
    }
}

fn from_unit(v: i64, unit: TimeUnit) -> Option<DateTime<Utc>> {
    match unit {
        TimeUnit::Second => DateTime::from_timestamp(v, 0),
        TimeUnit::Millisecond => DateTime::from_timestamp_millis(v),
        _ => DateTime::from_timestamp_micros(v),
    }
}

impl<U: InstantUnit> FixedKind for Instants<U> {
    type Item = DateTime<Utc>;
    type Ref<'a> = DateTime<Utc>;
    fn width() -> usize {
        8
    }
    fn encode(item: &DateTime<Utc>) -> [u8; 8] {
        to_unit(item, U::UNIT).to_ne_bytes()
    }
    fn decode(row: &[u8]) -> DateTime<Utc> {
        let v = <[u8; 8]>::try_from(row).map_or(0, i64::from_ne_bytes);
        // Valid rows are in range (pushed from a `DateTime`, or checked on reading); a value
        // under a null may be anything and reads as the epoch, which `Nullable` hides.
        from_unit(v, U::UNIT).unwrap_or(DateTime::UNIX_EPOCH)
    }
}

impl<U: InstantUnit> ArrowLayout<U> for DateTime<Utc> {
    type Column = InstantColumn<U>;
}

fn array<U: InstantUnit>(values: arrow::buffer::Buffer, nulls: Option<NullBuffer>) -> ArrayRef {
    Arc::new(
        PrimitiveArray::<U::Arrow>::new(ScalarBuffer::from(values), nulls).with_timezone("UTC"),
    )
}

impl<U: InstantUnit> ArrowValues for InstantColumn<U> {
    type Value = DateTime<Utc>;
    fn placeholder() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH
    }
    fn same_row(&self, i: usize, other: &Self, j: usize) -> bool {
        self.raw(i) == other.raw(j)
    }
    fn to_array_with(
        &self,
        nulls: Option<NullBuffer>,
        _: &FieldOptions,
    ) -> Result<ArrayRef, ConvertError> {
        Ok(array::<U>(self.to_buffer(), nulls))
    }
    fn into_array_with(
        self,
        nulls: Option<NullBuffer>,
        _: &FieldOptions,
    ) -> Result<ArrayRef, ConvertError> {
        Ok(array::<U>(self.freeze(), nulls))
    }
    fn from_array_parts(
        array: ArrayRef,
        opts: &FieldOptions,
    ) -> Result<(Self, Option<NullBuffer>), ConvertError> {
        if matches!(array.data_type(), DataType::Timestamp(unit, _) if *unit == U::UNIT) {
            let values = array.as_primitive::<U::Arrow>().clone();
            drop(array);
            let (_, values, nulls) = values.into_parts();
            // Read without copying, but every valid value must be a `DateTime`: checked on the
            // smallest and largest value (a loop the compiler vectorises), row by row only
            // when one of them is out of range (it may be under a null).
            let (min, max) = values
                .iter()
                .fold((i64::MAX, i64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let in_range = |v: i64| from_unit(v, U::UNIT).is_some();
            let bad = if values.is_empty() || (in_range(min) && in_range(max)) {
                None
            } else {
                values.iter().enumerate().find(|&(row, &v)| {
                    nulls.as_ref().is_none_or(|n| n.is_valid(row)) && !in_range(v)
                })
            };
            if let Some((row, v)) = bad {
                return Err(ConvertError::invalid(
                    row,
                    format!("{v} {:?}s is outside chrono's DateTime range", U::UNIT),
                ));
            }
            return Ok((Self::from_buffer(values.into_inner()), nulls));
        }
        // Another unit or type: converted value by value.
        let nulls = array.logical_nulls();
        let values = <DateTime<Utc> as BaseField>::decode(&array, opts)?;
        let mut column = <Self as crate::column::Column>::with_capacity(values.len());
        for v in values {
            crate::column::Column::push(&mut column, v);
        }
        Ok((column, nulls))
    }
}

arrow_column_impl!([U: InstantUnit] InstantColumn<U>);
