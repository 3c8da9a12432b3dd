//! Timestamps and dates.
//!
//! `Timestamp<U>` is an `i64` count of `U` since the Unix epoch (UTC) with the same layout as
//! `i64`, so a non-null column of it moves into and out of Arrow without copying. chrono's
//! `DateTime<Utc>`, `NaiveDateTime` and `NaiveDate` (feature `chrono`) are converted value by
//! value; their unit is `#[soa(timestamp = "...")]`, microseconds by default, and values are
//! floored to that unit.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;

use arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::datatypes::{
    DataType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};

use super::primitive::take_values;
use super::{BaseField, FieldOptions, ListItem, arc, valid_at};
use crate::error::ConvertError;

/// A unit of `Timestamp<U>`.
pub trait TimestampUnit:
    Copy + Default + Send + Sync + std::fmt::Debug + Eq + Ord + std::hash::Hash + 'static
{
    /// The Arrow time unit.
    const UNIT: TimeUnit;
}

macro_rules! units {
    ($($(#[$doc:meta])* $name:ident => $unit:expr),*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name;
        impl TimestampUnit for $name {
            const UNIT: TimeUnit = $unit;
        }
    )*};
}
units!(
    /// Seconds: `Timestamp<Seconds>` is Arrow `Timestamp(Second, "UTC")`.
    Seconds => TimeUnit::Second,
    /// Milliseconds: `Timestamp<Millis>` is Arrow `Timestamp(Millisecond, "UTC")`.
    Millis => TimeUnit::Millisecond,
    /// Microseconds, the default: `Timestamp<Micros>` is Arrow `Timestamp(Microsecond, "UTC")`.
    Micros => TimeUnit::Microsecond,
    /// Nanoseconds: `Timestamp<Nanos>` is Arrow `Timestamp(Nanosecond, "UTC")`.
    Nanos => TimeUnit::Nanosecond
);

/// An instant as `i64` units since 1970-01-01T00:00:00Z; Arrow `Timestamp(U, "UTC")`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp<U: TimestampUnit = Micros> {
    value: i64,
    unit: PhantomData<U>,
}

impl<U: TimestampUnit> Timestamp<U> {
    /// The instant `value` units after 1970-01-01T00:00:00Z (before it, when negative).
    pub const fn new(value: i64) -> Self {
        Self {
            value,
            unit: PhantomData,
        }
    }
    /// The number of units since 1970-01-01T00:00:00Z.
    pub const fn value(self) -> i64 {
        self.value
    }

    fn vec_into_i64(values: Vec<Self>) -> Vec<i64> {
        let mut values = ManuallyDrop::new(values);
        // SAFETY: `Timestamp<U>` is `repr(transparent)` over `i64` (its other field is a ZST), so
        // both element types have the same size and alignment; the allocation was made for
        // `capacity` such elements and ownership passes to the new Vec exactly once.
        unsafe {
            Vec::from_raw_parts(
                values.as_mut_ptr().cast::<i64>(),
                values.len(),
                values.capacity(),
            )
        }
    }

    fn vec_from_i64(values: Vec<i64>) -> Vec<Self> {
        let mut values = ManuallyDrop::new(values);
        // SAFETY: as in `vec_into_i64`, in the other direction; every i64 is a valid Timestamp.
        unsafe {
            Vec::from_raw_parts(
                values.as_mut_ptr().cast::<Self>(),
                values.len(),
                values.capacity(),
            )
        }
    }
}

#[cfg(feature = "chrono")]
impl<U: TimestampUnit> Timestamp<U> {
    /// Floors `dt` to the unit; `None` when it is out of `i64` range (nanoseconds: 1677..2262).
    pub fn from_datetime(dt: chrono::DateTime<chrono::Utc>) -> Option<Self> {
        chrono_impl::to_unit(&dt, U::UNIT).map(Self::new)
    }
    /// The instant as a chrono `DateTime<Utc>`; `None` when it is outside chrono's range.
    pub fn to_datetime(self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono_impl::from_unit(self.value, U::UNIT)
    }
}

fn utc() -> Option<std::sync::Arc<str>> {
    Some("UTC".into())
}

/// Builds a timestamp array of `unit` from raw values.
fn timestamp_array(
    unit: TimeUnit,
    tz: Option<std::sync::Arc<str>>,
    values: Vec<i64>,
    nulls: Option<NullBuffer>,
) -> ArrayRef {
    let values = ScalarBuffer::from(values);
    match unit {
        TimeUnit::Second => {
            arc(PrimitiveArray::<TimestampSecondType>::new(values, nulls).with_timezone_opt(tz))
        }
        TimeUnit::Millisecond => arc(PrimitiveArray::<TimestampMillisecondType>::new(
            values, nulls,
        )
        .with_timezone_opt(tz)),
        TimeUnit::Microsecond => arc(PrimitiveArray::<TimestampMicrosecondType>::new(
            values, nulls,
        )
        .with_timezone_opt(tz)),
        TimeUnit::Nanosecond => {
            arc(PrimitiveArray::<TimestampNanosecondType>::new(values, nulls).with_timezone_opt(tz))
        }
    }
}

/// The unit and raw values of any timestamp array (any time zone: the values are UTC instants).
fn timestamp_values(array: &ArrayRef) -> Option<(TimeUnit, &ScalarBuffer<i64>)> {
    match array.data_type() {
        DataType::Timestamp(unit, _) => Some((
            *unit,
            match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().values(),
                TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().values(),
                TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().values(),
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().values(),
            },
        )),
        _ => None,
    }
}

fn per_second(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

/// Converts `value` from one unit to another; `None` when inexact or out of range.
fn convert_unit(value: i64, from: TimeUnit, to: TimeUnit) -> Option<i64> {
    let (f, t) = (per_second(from), per_second(to));
    if t >= f {
        value.checked_mul(t / f)
    } else {
        let d = f / t;
        (value % d == 0).then_some(value / d)
    }
}

/// Decodes any timestamp array slot by slot with `f(row, value, unit)`; null slots get `null`.
fn decode_timestamps<R>(
    array: &ArrayRef,
    expected: DataType,
    null: R,
    f: impl Fn(usize, i64, TimeUnit) -> Result<R, ConvertError>,
) -> Result<Vec<R>, ConvertError>
where
    R: Copy,
{
    let Some((unit, values)) = timestamp_values(array) else {
        return Err(ConvertError::type_mismatch(expected, array.data_type()));
    };
    let nulls = array.nulls();
    values
        .iter()
        .enumerate()
        .map(|(row, &v)| {
            if valid_at(nulls, row) {
                f(row, v, unit)
            } else {
                Ok(null)
            }
        })
        .collect()
}

impl<U: TimestampUnit> BaseField for Timestamp<U> {
    fn data_type(_: &FieldOptions) -> DataType {
        DataType::Timestamp(U::UNIT, utc())
    }
    fn placeholder() -> Self {
        Self::new(0)
    }
    fn encode(values: &[Self], _: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        Ok(timestamp_array(
            U::UNIT,
            utc(),
            values.iter().map(|t| t.value).collect(),
            None,
        ))
    }
    fn encode_owned(values: Vec<Self>, _: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        Ok(timestamp_array(
            U::UNIT,
            utc(),
            Self::vec_into_i64(values),
            None,
        ))
    }
    fn encode_opt(values: &[Option<Self>], _: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        let nulls = NullBuffer::from_iter(values.iter().map(Option::is_some));
        let raw = values.iter().map(|t| t.map_or(0, |t| t.value)).collect();
        Ok(timestamp_array(
            U::UNIT,
            utc(),
            raw,
            (nulls.null_count() > 0).then_some(nulls),
        ))
    }
    fn decode(array: &ArrayRef, opts: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        decode_timestamps(
            array,
            <Self as BaseField>::data_type(opts),
            Self::new(0),
            |row, v, unit| {
                convert_unit(v, unit, U::UNIT)
                    .map(Self::new)
                    .ok_or_else(|| {
                        ConvertError::invalid(
                            row,
                            format!("{v} {unit:?} is not a whole number of {:?}", U::UNIT),
                        )
                    })
            },
        )
    }
    fn decode_owned(array: ArrayRef, opts: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        let raw = match array.data_type() {
            DataType::Timestamp(unit, _) if *unit == U::UNIT => match unit {
                TimeUnit::Second => take_values::<TimestampSecondType>(array),
                TimeUnit::Millisecond => take_values::<TimestampMillisecondType>(array),
                TimeUnit::Microsecond => take_values::<TimestampMicrosecondType>(array),
                TimeUnit::Nanosecond => take_values::<TimestampNanosecondType>(array),
            },
            _ => return Self::decode(&array, opts),
        };
        Ok(Self::vec_from_i64(raw))
    }
}

impl<U: TimestampUnit> ListItem for Timestamp<U> {}

#[cfg(feature = "chrono")]
mod chrono_impl;
