//! `String` (Utf8), `Vec<u8>` (Binary) and `[u8; N]` (FixedSizeBinary).

use arrow::array::BooleanBufferBuilder;
use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, FixedSizeBinaryArray, GenericByteArray, StringArray,
};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::compute::cast;
use arrow::datatypes::{ByteArrayType, DataType};

use super::{BaseField, FieldOptions, ListItem, arc, valid_at};
use crate::error::ConvertError;

/// Offsets, concatenated bytes and validity for a variable-length column.
struct Encoded {
    offsets: OffsetBuffer<i32>,
    values: Buffer,
    nulls: Option<NullBuffer>,
}

fn encode_bytes<'a>(
    items: impl ExactSizeIterator<Item = Option<&'a [u8]>> + Clone,
) -> Result<Encoded, ConvertError> {
    let total: usize = items.clone().map(|b| b.map_or(0, <[u8]>::len)).sum();
    if total > i32::MAX as usize {
        return Err(ConvertError::capacity(format!(
            "{total} bytes exceed the 2 GiB a Utf8/Binary array holds; write smaller batches"
        )));
    }
    let n = items.len();
    let mut offsets = Vec::with_capacity(n + 1);
    let mut values = Vec::with_capacity(total);
    // Built only once a null is seen, so all-valid columns pay nothing for validity.
    let mut nulls: Option<BooleanBufferBuilder> = None;
    offsets.push(0i32);
    for (i, item) in items.enumerate() {
        match item {
            Some(bytes) => {
                values.extend_from_slice(bytes);
                if let Some(builder) = nulls.as_mut() {
                    builder.append(true);
                }
            }
            None => nulls
                .get_or_insert_with(|| {
                    let mut b = BooleanBufferBuilder::new(n);
                    b.append_n(i, true);
                    b
                })
                .append(false),
        }
        // Cannot truncate: the total was checked against i32::MAX above.
        offsets.push(values.len() as i32);
    }
    let nulls = nulls.map(|mut b| NullBuffer::new(b.finish()));
    Ok(Encoded {
        offsets: OffsetBuffer::new(ScalarBuffer::from(offsets)),
        values: Buffer::from_vec(values),
        nulls,
    })
}

fn encode_strings<'a>(
    items: impl ExactSizeIterator<Item = Option<&'a str>> + Clone,
) -> Result<ArrayRef, ConvertError> {
    let e = encode_bytes(items.map(|s| s.map(str::as_bytes)))?;
    // SAFETY: the values are a concatenation of `&str`s (valid UTF-8) and every offset falls on
    // the boundary between two of them, so each slot is valid UTF-8; offsets are monotonic and
    // within the values buffer, and the null buffer has one bit per slot.
    Ok(arc(unsafe {
        StringArray::new_unchecked(e.offsets, e.values, e.nulls)
    }))
}

fn encode_binary<'a>(
    items: impl ExactSizeIterator<Item = Option<&'a [u8]>> + Clone,
) -> Result<ArrayRef, ConvertError> {
    let e = encode_bytes(items)?;
    Ok(arc(BinaryArray::try_new(e.offsets, e.values, e.nulls)?))
}

/// Maps every slot of a byte array (nulls to `null`) with `f`.
fn map_bytes<T: ByteArrayType, R>(
    array: &GenericByteArray<T>,
    null: impl Fn() -> R,
    f: impl Fn(&T::Native) -> R,
) -> Vec<R> {
    let nulls = array.nulls();
    (0..array.len())
        .map(|i| {
            if valid_at(nulls, i) {
                f(array.value(i))
            } else {
                null()
            }
        })
        .collect()
}

/// Applies `f` to every slot of any string array (nulls to `null()`).
fn map_strings<R>(array: &ArrayRef, null: impl Fn() -> R, f: impl Fn(&str) -> R) -> Option<Vec<R>> {
    match array.data_type() {
        DataType::Utf8 => Some(map_bytes(array.as_string::<i32>(), null, f)),
        DataType::LargeUtf8 => Some(map_bytes(array.as_string::<i64>(), null, f)),
        DataType::Utf8View => {
            let view = array.as_string_view();
            let nulls = view.nulls();
            Some(
                (0..view.len())
                    .map(|i| {
                        if valid_at(nulls, i) {
                            f(view.value(i))
                        } else {
                            null()
                        }
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

/// A dictionary of strings unpacked to plain Utf8; any other array as it is.
fn plain_strings(array: &ArrayRef) -> Result<ArrayRef, ConvertError> {
    match array.data_type() {
        DataType::Dictionary(_, v)
            if matches!(
                **v,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) =>
        {
            Ok(cast(array, &DataType::Utf8)?)
        }
        _ => Ok(array.clone()),
    }
}

impl BaseField for String {
    fn data_type(_: &FieldOptions) -> DataType {
        DataType::Utf8
    }
    fn placeholder() -> Self {
        String::new()
    }
    fn encode(values: &[Self], _: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        encode_strings(values.iter().map(|s| Some(s.as_str())))
    }
    fn encode_opt(values: &[Option<Self>], _: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        encode_strings(values.iter().map(Option::as_deref))
    }
    fn decode(array: &ArrayRef, _: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        let array = plain_strings(array)?;
        map_strings(&array, String::new, str::to_owned)
            .ok_or_else(|| ConvertError::type_mismatch(DataType::Utf8, array.data_type()))
    }
    fn decode_opt(array: &ArrayRef, _: &FieldOptions) -> Result<Vec<Option<Self>>, ConvertError> {
        let array = plain_strings(array)?;
        map_strings(&array, || None, |s| Some(s.to_owned()))
            .ok_or_else(|| ConvertError::type_mismatch(DataType::Utf8, array.data_type()))
    }
}

/// Reads any binary-like array as byte slices, mapping each non-null slot with `f`.
fn decode_binary_like<R>(
    array: &ArrayRef,
    expected: DataType,
    null: impl Fn() -> R,
    f: impl Fn(usize, &[u8]) -> Result<R, ConvertError>,
) -> Result<Vec<R>, ConvertError> {
    let nulls = array.nulls();
    let slot = |i: usize, bytes: &[u8]| {
        if valid_at(nulls, i) {
            f(i, bytes)
        } else {
            Ok(null())
        }
    };
    match array.data_type() {
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            (0..a.len()).map(|i| slot(i, a.value(i))).collect()
        }
        DataType::LargeBinary => {
            let a = array.as_binary::<i64>();
            (0..a.len()).map(|i| slot(i, a.value(i))).collect()
        }
        DataType::BinaryView => {
            let a = array.as_binary_view();
            (0..a.len()).map(|i| slot(i, a.value(i))).collect()
        }
        DataType::FixedSizeBinary(_) => {
            let a = array.as_fixed_size_binary();
            (0..a.len()).map(|i| slot(i, a.value(i))).collect()
        }
        other => Err(ConvertError::type_mismatch(expected, other)),
    }
}

impl BaseField for Vec<u8> {
    fn data_type(_: &FieldOptions) -> DataType {
        DataType::Binary
    }
    fn placeholder() -> Self {
        Vec::new()
    }
    fn encode(values: &[Self], _: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        encode_binary(values.iter().map(|b| Some(b.as_slice())))
    }
    fn encode_opt(values: &[Option<Self>], _: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        encode_binary(values.iter().map(Option::as_deref))
    }
    fn decode(array: &ArrayRef, _: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        decode_binary_like(array, DataType::Binary, Vec::new, |_, b| Ok(b.to_vec()))
    }
}

impl<const N: usize> BaseField for [u8; N] {
    fn data_type(_: &FieldOptions) -> DataType {
        DataType::FixedSizeBinary(N as i32)
    }
    fn placeholder() -> Self {
        [0; N]
    }
    fn encode(values: &[Self], _: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        let size = i32::try_from(N).map_err(|_| {
            ConvertError::capacity(format!("[u8; {N}] is too wide for FixedSizeBinary"))
        })?;
        let bytes = Buffer::from(values.as_flattened());
        Ok(arc(FixedSizeBinaryArray::try_new(size, bytes, None)?))
    }
    fn decode(array: &ArrayRef, _: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        decode_binary_like(
            array,
            DataType::FixedSizeBinary(N as i32),
            || [0; N],
            |row, b| {
                <[u8; N]>::try_from(b).map_err(|_| {
                    ConvertError::invalid(
                        row,
                        format!("{} bytes where [u8; {N}] needs {N}", b.len()),
                    )
                })
            },
        )
    }
}

impl ListItem for String {}
impl ListItem for Vec<u8> {}
impl<const N: usize> ListItem for [u8; N] {}
