//! The leaf columns of a Native block, written from Arrow buffers: fixed-width values as their
//! bytes (decimals narrowed to their ClickHouse width with a range check, UUIDs reordered),
//! booleans as bytes, strings from offsets and values, enums from dictionary keys, and
//! LowCardinality dictionaries with their indexes.

use soa_persist_core::arrow::array::{Array, ArrayRef, AsArray, GenericByteArray, StringArray};
use soa_persist_core::arrow::buffer::NullBuffer;
use soa_persist_core::arrow::compute::cast;
use soa_persist_core::arrow::datatypes::{
    ArrowNativeType, ByteArrayType, DataType, Decimal32Type, Decimal64Type, Decimal128Type,
    TimeUnit,
};

use super::chtype::{ChType, decimal_width};
use super::encode::{invalid, mismatch};
use super::wire::{put_string, put_u64};
use soa_persist_api::PersistError;

fn valid(nulls: Option<&NullBuffer>, row: usize) -> bool {
    nulls.is_none_or(|n| n.is_valid(row))
}

fn arrow_err(path: &str, e: impl std::fmt::Display) -> PersistError {
    invalid(path, 0, format!("arrow: {e}"))
}

/// The bytes of a fixed-width array's values (`width` bytes each), honouring its offset.
fn write_fixed(
    out: &mut Vec<u8>,
    array: &dyn Array,
    width: usize,
    path: &str,
) -> Result<(), PersistError> {
    let data = array.to_data();
    let start = data.offset() * width;
    let bytes = data
        .buffers()
        .first()
        .and_then(|b| b.as_slice().get(start..start + data.len() * width))
        .ok_or_else(|| invalid(path, 0, "values buffer shorter than the array"))?;
    out.extend_from_slice(bytes);
    Ok(())
}

fn time_precision(unit: TimeUnit) -> u8 {
    match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 3,
        TimeUnit::Microsecond => 6,
        TimeUnit::Nanosecond => 9,
    }
}

/// A column of a non-composite type; `nulls` are the rows of a `Nullable` column (their values
/// are written but ignored by the server).
pub(super) fn write_plain(
    out: &mut Vec<u8>,
    array: &ArrayRef,
    ty: &ChType,
    path: &str,
    nulls: Option<&NullBuffer>,
) -> Result<(), PersistError> {
    use ChType as C;
    use DataType as A;
    let dt = array.data_type();
    match (dt, ty) {
        (A::Boolean, C::Bool | C::UInt8) => {
            out.extend(array.as_boolean().values().iter().map(u8::from));
            Ok(())
        }
        (A::Int8, C::Int8) | (A::UInt8, C::UInt8) => write_fixed(out, array.as_ref(), 1, path),
        (A::Int16, C::Int16) | (A::UInt16, C::UInt16) => write_fixed(out, array.as_ref(), 2, path),
        (A::Int32, C::Int32) | (A::UInt32, C::UInt32) | (A::Float32, C::Float32) => {
            write_fixed(out, array.as_ref(), 4, path)
        }
        (A::Int64, C::Int64) | (A::UInt64, C::UInt64) | (A::Float64, C::Float64) => {
            write_fixed(out, array.as_ref(), 8, path)
        }
        (A::Date32, C::Date32 | C::Int32) => write_fixed(out, array.as_ref(), 4, path),
        (A::Timestamp(_, _), C::Int64) => write_fixed(out, array.as_ref(), 8, path),
        (A::Timestamp(unit, _), C::DateTime64 { precision, .. })
            if *precision == time_precision(*unit) =>
        {
            write_fixed(out, array.as_ref(), 8, path)
        }
        (A::FixedSizeBinary(n), C::FixedString(m)) if usize::try_from(*n).ok() == Some(*m) => {
            write_fixed(out, array.as_ref(), *m, path)
        }
        (A::FixedSizeBinary(16), C::Uuid) => write_uuid(out, array.as_ref(), path),
        (
            A::Decimal32(_, s) | A::Decimal64(_, s) | A::Decimal128(_, s),
            C::Decimal { precision, scale },
        ) if i16::from(*s) == i16::from(*scale) => {
            write_decimal(out, array, *precision, path, nulls)
        }
        (A::Utf8, C::String) => write_bytes(out, array.as_string::<i32>(), nulls),
        (A::LargeUtf8, C::String) => write_bytes(out, array.as_string::<i64>(), nulls),
        (A::Binary, C::String) => write_bytes(out, array.as_binary::<i32>(), nulls),
        (A::LargeBinary, C::String) => write_bytes(out, array.as_binary::<i64>(), nulls),
        (A::Utf8View | A::BinaryView | A::Dictionary(_, _), C::String) => {
            let plain = if matches!(dt, A::BinaryView) {
                A::Binary
            } else {
                A::Utf8
            };
            let array = cast(array, &plain).map_err(|_| mismatch(path, dt, ty))?;
            write_plain(out, &array, ty, path, nulls)
        }
        (A::Dictionary(_, _), C::Enum8(items)) => {
            let values = enum_values(array, items, path)?;
            out.extend(values.iter().map(|&v| v as i8 as u8));
            Ok(())
        }
        (A::Dictionary(_, _), C::Enum16(items)) => {
            let values = enum_values(array, items, path)?;
            values
                .iter()
                .for_each(|&v| out.extend_from_slice(&(v as i16).to_le_bytes()));
            Ok(())
        }
        _ => Err(mismatch(path, dt, ty)),
    }
}

/// Arrow keeps a UUID's 16 bytes in RFC order (most significant first); ClickHouse writes it
/// as two little-endian u64, the high half first: each half reversed.
fn write_uuid(out: &mut Vec<u8>, array: &dyn Array, path: &str) -> Result<(), PersistError> {
    let mut raw = Vec::with_capacity(array.len() * 16);
    write_fixed(&mut raw, array, 16, path)?;
    for uuid in raw.chunks_exact(16) {
        out.extend(uuid[..8].iter().rev());
        out.extend(uuid[8..].iter().rev());
    }
    Ok(())
}

/// Decimals at ClickHouse's width for `precision` (4, 8 or 16 bytes); every non-null value is
/// checked to have at most `precision` digits, so nothing is stored that ClickHouse would
/// misread or that a narrower width would truncate.
fn write_decimal(
    out: &mut Vec<u8>,
    array: &ArrayRef,
    precision: u8,
    path: &str,
    nulls: Option<&NullBuffer>,
) -> Result<(), PersistError> {
    let width = decimal_width(precision).ok_or_else(|| {
        invalid(
            path,
            0,
            format!("Decimal precision {precision} is not supported"),
        )
    })?;
    let values: Vec<i128> = match array.data_type() {
        DataType::Decimal32(_, _) => array
            .as_primitive::<Decimal32Type>()
            .values()
            .iter()
            .map(|&v| i128::from(v))
            .collect(),
        DataType::Decimal64(_, _) => array
            .as_primitive::<Decimal64Type>()
            .values()
            .iter()
            .map(|&v| i128::from(v))
            .collect(),
        _ => array.as_primitive::<Decimal128Type>().values().to_vec(),
    };
    let limit = 10i128.pow(u32::from(precision));
    for (row, v) in values.iter().enumerate() {
        let v = if valid(nulls, row) { *v } else { 0 };
        if v.unsigned_abs() >= limit.unsigned_abs() {
            return Err(invalid(
                path,
                row,
                format!("{v} has more than {precision} digits"),
            ));
        }
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    Ok(())
}

/// Strings: a varint length, then the bytes; null rows as empty strings.
fn write_bytes<T: ByteArrayType>(
    out: &mut Vec<u8>,
    array: &GenericByteArray<T>,
    nulls: Option<&NullBuffer>,
) -> Result<(), PersistError> {
    let offsets = array.value_offsets();
    let values = array.values().as_slice();
    for (row, w) in offsets.windows(2).enumerate() {
        if valid(nulls, row) {
            put_string(out, &values[w[0].as_usize()..w[1].as_usize()]);
        } else {
            out.push(0);
        }
    }
    Ok(())
}

/// A dictionary of strings as one string array (LargeUtf8 values narrowed to Utf8).
fn dictionary_strings(
    array: &ArrayRef,
    path: &str,
) -> Result<(StringArray, Option<Vec<usize>>), PersistError> {
    let dict = array
        .as_any_dictionary_opt()
        .ok_or_else(|| mismatch(path, array.data_type(), &ChType::String))?;
    let values = cast(dict.values(), &DataType::Utf8).map_err(|e| arrow_err(path, e))?;
    let strings = values.as_string::<i32>().clone();
    // `normalized_keys` requires a non-empty dictionary; an empty one only has null rows.
    let keys = (!strings.is_empty()).then(|| dict.normalized_keys());
    Ok((strings, keys))
}

/// Each row's enum value (the first item's under nulls); a name that is not an item is an error.
fn enum_values<V: Copy + Into<i64>>(
    array: &ArrayRef,
    items: &[(String, V)],
    path: &str,
) -> Result<Vec<i64>, PersistError> {
    let (names, keys) = dictionary_strings(array, path)?;
    let lut: Vec<Option<i64>> = (0..names.len())
        .map(|k| {
            let name = names.is_valid(k).then(|| names.value(k));
            name.and_then(|n| items.iter().find(|(i, _)| i == n))
                .map(|(_, v)| (*v).into())
        })
        .collect();
    let fallback = items.first().map_or(0, |(_, v)| (*v).into());
    let nulls = array.logical_nulls();
    (0..array.len())
        .map(|row| {
            if !valid(nulls.as_ref(), row) {
                return Ok(fallback);
            }
            let k = keys.as_ref().and_then(|k| k.get(row).copied()).unwrap_or(0);
            lut.get(k).copied().flatten().ok_or_else(|| {
                let name = if names.is_valid(k) {
                    names.value(k)
                } else {
                    ""
                };
                invalid(
                    path,
                    row,
                    format!("`{name}` is not one of the enum's {} names", items.len()),
                )
            })
        })
        .collect()
}

/// `LowCardinality(String)` / `LowCardinality(Nullable(String))` from strings or a dictionary
/// of strings: index type and flags (additional keys, dictionary update), the keys (for a
/// nullable column, an empty string first standing for null), then one index per row. A
/// column of no rows writes nothing, as ClickHouse does.
pub(super) fn write_low_cardinality(
    out: &mut Vec<u8>,
    array: &ArrayRef,
    inner: &ChType,
    path: &str,
) -> Result<(), PersistError> {
    let nullable = match inner {
        ChType::String => false,
        ChType::Nullable(t) if **t == ChType::String => true,
        _ => {
            return Err(mismatch(
                path,
                array.data_type(),
                &ChType::LowCardinality(Box::new(inner.clone())),
            ));
        }
    };
    let dict: ArrayRef = match array.data_type() {
        DataType::Dictionary(_, _) => array.clone(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let target = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
            cast(array, &target).map_err(|e| arrow_err(path, e))?
        }
        other => {
            return Err(mismatch(
                path,
                other,
                &ChType::LowCardinality(Box::new(inner.clone())),
            ));
        }
    };
    let (names, keys) = dictionary_strings(&dict, path)?;
    let nulls = dict.logical_nulls();
    if !nullable && nulls.as_ref().is_some_and(|n| n.null_count() > 0) {
        let row = nulls
            .as_ref()
            .and_then(|n| n.iter().position(|v| !v))
            .unwrap_or(0);
        return Err(invalid(path, row, "null in a column that is not nullable"));
    }
    if array.is_empty() {
        return Ok(());
    }
    let shift = usize::from(nullable);
    let key_count = names.len() + shift;
    let (index_type, width) = match key_count {
        0..=0x100 => (0u64, 1usize),
        0x101..=0x1_0000 => (1, 2),
        0x1_0001..=0x1_0000_0000 => (2, 4),
        _ => (3, 8),
    };
    // Flags: HasAdditionalKeys (1 << 9) and NeedUpdateDictionary (1 << 10), as servers write.
    put_u64(out, index_type | (1 << 9) | (1 << 10));
    put_u64(out, key_count as u64);
    if nullable {
        out.push(0);
    }
    write_bytes(out, &names, None)?;
    put_u64(out, array.len() as u64);
    for row in 0..array.len() {
        let index = if valid(nulls.as_ref(), row) {
            keys.as_ref().and_then(|k| k.get(row).copied()).unwrap_or(0) + shift
        } else {
            0
        };
        out.extend_from_slice(&(index as u64).to_le_bytes()[..width]);
    }
    Ok(())
}
