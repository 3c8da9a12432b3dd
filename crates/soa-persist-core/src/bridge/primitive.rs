//! `bool`, integers and floats. Non-null integer and float columns move between `Vec<T>` and
//! Arrow buffers without copying (`encode_owned` / `decode_owned`).

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, PrimitiveArray};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};

use super::{BaseField, FieldOptions, ListItem, arc, valid_at};
use crate::error::ConvertError;

/// Copies the values of an exactly-typed primitive array.
fn copy_values<A: ArrowPrimitiveType>(array: &ArrayRef) -> Vec<A::Native> {
    array.as_primitive::<A>().values().to_vec()
}

/// Takes the value buffer of an exactly-typed primitive array, without copying when `array` is
/// its only owner and not a slice; copies otherwise.
pub(crate) fn take_values<A: ArrowPrimitiveType>(array: ArrayRef) -> Vec<A::Native> {
    let values: ScalarBuffer<A::Native> = array.as_primitive::<A>().values().clone();
    drop(array);
    match values.into_inner().into_vec::<A::Native>() {
        Ok(vec) => vec,
        Err(buffer) => ScalarBuffer::<A::Native>::from(buffer).to_vec(),
    }
}

/// Primitive array with an optional validity bitmap built from `Option`s.
fn encode_opt_primitive<A: ArrowPrimitiveType>(values: &[Option<A::Native>]) -> ArrayRef {
    let dense: Vec<A::Native> = values.iter().map(|v| v.unwrap_or_default()).collect();
    let nulls = NullBuffer::from_iter(values.iter().map(Option::is_some));
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    arc(PrimitiveArray::<A>::new(ScalarBuffer::from(dense), nulls))
}

/// Reads any integer array into `T`, checking every non-null value fits; also whole decimals
/// (scale 0), the type Spark and Hive give unsigned 64-bit integers.
fn decode_integer<T>(array: &ArrayRef, expected: DataType) -> Result<Vec<T>, ConvertError>
where
    T: Default
        + Copy
        + TryFrom<i8>
        + TryFrom<i16>
        + TryFrom<i32>
        + TryFrom<i64>
        + TryFrom<u8>
        + TryFrom<u16>
        + TryFrom<u32>
        + TryFrom<u64>
        + TryFrom<i128>,
{
    fn convert<A, T>(array: &ArrayRef) -> Result<Vec<T>, ConvertError>
    where
        A: ArrowPrimitiveType,
        A::Native: std::fmt::Display,
        T: TryFrom<A::Native> + Default,
    {
        let prim = array.as_primitive::<A>();
        let nulls = prim.nulls();
        prim.values()
            .iter()
            .enumerate()
            .map(|(row, &v)| {
                if !valid_at(nulls, row) {
                    return Ok(T::default());
                }
                T::try_from(v).map_err(|_| {
                    ConvertError::invalid(
                        row,
                        format!("{v} does not fit in {}", std::any::type_name::<T>()),
                    )
                })
            })
            .collect()
    }
    match array.data_type() {
        DataType::Int8 => convert::<Int8Type, T>(array),
        DataType::Int16 => convert::<Int16Type, T>(array),
        DataType::Int32 => convert::<Int32Type, T>(array),
        DataType::Int64 => convert::<Int64Type, T>(array),
        DataType::UInt8 => convert::<UInt8Type, T>(array),
        DataType::UInt16 => convert::<UInt16Type, T>(array),
        DataType::UInt32 => convert::<UInt32Type, T>(array),
        DataType::UInt64 => convert::<UInt64Type, T>(array),
        DataType::Decimal128(_, 0) => convert::<Decimal128Type, T>(array),
        other => Err(ConvertError::type_mismatch(expected, other)),
    }
}

/// The encoders every non-null primitive shares: a copy, a move (zero-copy), and nullable.
macro_rules! primitive_encoders {
    ($arrow:ty) => {
        fn encode(values: &[Self], _: &FieldOptions) -> Result<ArrayRef, ConvertError> {
            Ok(arc(PrimitiveArray::<$arrow>::new(
                ScalarBuffer::from(values.to_vec()),
                None,
            )))
        }
        fn encode_owned(values: Vec<Self>, _: &FieldOptions) -> Result<ArrayRef, ConvertError> {
            Ok(arc(PrimitiveArray::<$arrow>::new(
                ScalarBuffer::from(values),
                None,
            )))
        }
        fn encode_opt(values: &[Option<Self>], _: &FieldOptions) -> Result<ArrayRef, ConvertError> {
            Ok(encode_opt_primitive::<$arrow>(values))
        }
    };
}

macro_rules! integer_field {
    ($($t:ty => $arrow:ty, $dt:expr;)*) => {$(
        impl BaseField for $t {
            fn data_type(_: &FieldOptions) -> DataType {
                $dt
            }
            fn placeholder() -> Self {
                0
            }
            primitive_encoders!($arrow);
            fn decode(array: &ArrayRef, _: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
                if array.data_type() == &$dt {
                    Ok(copy_values::<$arrow>(array))
                } else {
                    decode_integer::<$t>(array, $dt)
                }
            }
            fn decode_owned(array: ArrayRef, _: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
                if array.data_type() == &$dt {
                    Ok(take_values::<$arrow>(array))
                } else {
                    decode_integer::<$t>(&array, $dt)
                }
            }
        }
    )*};
}

integer_field! {
    i8 => Int8Type, DataType::Int8;
    i16 => Int16Type, DataType::Int16;
    i32 => Int32Type, DataType::Int32;
    i64 => Int64Type, DataType::Int64;
    u8 => UInt8Type, DataType::UInt8;
    u16 => UInt16Type, DataType::UInt16;
    u32 => UInt32Type, DataType::UInt32;
    u64 => UInt64Type, DataType::UInt64;
}

macro_rules! float_field {
    ($($t:ty => $arrow:ty, $dt:expr;)*) => {$(
        impl BaseField for $t {
            fn data_type(_: &FieldOptions) -> DataType {
                $dt
            }
            fn placeholder() -> Self {
                0.0
            }
            primitive_encoders!($arrow);
            fn decode(array: &ArrayRef, _: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
                match array.data_type() {
                    dt if dt == &$dt => Ok(copy_values::<$arrow>(array)),
                    // f32 widens to f64 exactly (for f32 this arm is the exact match above).
                    DataType::Float32 => Ok(array
                        .as_primitive::<Float32Type>()
                        .values()
                        .iter()
                        .map(|&v| <$t>::from(v))
                        .collect()),
                    other => Err(ConvertError::type_mismatch($dt, other)),
                }
            }
            fn decode_owned(array: ArrayRef, opts: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
                if array.data_type() == &$dt {
                    Ok(take_values::<$arrow>(array))
                } else {
                    Self::decode(&array, opts)
                }
            }
        }
    )*};
}

float_field! {
    f32 => Float32Type, DataType::Float32;
    f64 => Float64Type, DataType::Float64;
}

impl BaseField for bool {
    fn data_type(_: &FieldOptions) -> DataType {
        DataType::Boolean
    }
    fn placeholder() -> Self {
        false
    }
    fn encode(values: &[Self], _: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        Ok(arc(BooleanArray::from(values.to_vec())))
    }
    fn encode_opt(values: &[Option<Self>], _: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        Ok(arc(BooleanArray::from(values.to_vec())))
    }
    fn decode(array: &ArrayRef, _: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        match array.as_boolean_opt() {
            Some(b) => Ok(b.values().iter().collect()),
            None => Err(ConvertError::type_mismatch(
                DataType::Boolean,
                array.data_type(),
            )),
        }
    }
}

macro_rules! list_items {
    ($($t:ty),*) => {$( impl ListItem for $t {} )*};
}
// `u8` is deliberately absent: `Vec<u8>` is Binary, not List<UInt8>.
list_items!(bool, i8, i16, i32, i64, u16, u32, u64, f32, f64);
