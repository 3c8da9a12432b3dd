//! Native column data -> Arrow arrays of a target type, built from buffers: fixed-width values
//! are copied once into an aligned Arrow buffer, strings into offsets and values, null maps into
//! a validity bitmap. Only exact readings are accepted (see `read_plain`); anything else is a
//! `Mismatch` naming both types. Leaf types live here, composite ones in `read_nested.rs`.

use soa_persist_core::arrow::array::{
    Array, ArrayData, ArrayRef, BinaryArray, LargeBinaryArray, LargeStringArray, StringArray,
    UInt64Array, make_array,
};
use soa_persist_core::arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer};
use soa_persist_core::arrow::compute::{cast, take};
use soa_persist_core::arrow::datatypes::{ArrowNativeType, DataType, Field, TimeUnit};

use super::chtype::{ChType, decimal_width};
use super::types::enum_variants;
use super::wire::{Reader, WireError, WireResult, aligned, corrupt, mismatch};

pub(super) fn arrow_corrupt(e: impl std::fmt::Display) -> WireError {
    WireError::Corrupt(e.to_string())
}

fn no_reading(ty: &ChType, target: &DataType) -> WireError {
    WireError::Mismatch(format!("ClickHouse {ty} can't be read as Arrow {target}"))
}

/// A fixed-width column copied as it is into an array of type `dt`.
fn raw(r: &mut Reader<'_>, rows: usize, width: usize, dt: &DataType) -> WireResult<ArrayRef> {
    let bytes = r.take_values(rows, width)?;
    let data = ArrayData::builder(dt.clone())
        .len(rows)
        .add_buffer(aligned(bytes))
        .build()
        .map_err(arrow_corrupt)?;
    Ok(make_array(data))
}

/// An array of `rows` rows of type `dt` over `values`.
fn from_values<T: ArrowNativeType>(
    dt: &DataType,
    rows: usize,
    values: Vec<T>,
) -> WireResult<ArrayRef> {
    let data = ArrayData::builder(dt.clone())
        .len(rows)
        .add_buffer(Buffer::from_vec(values))
        .build()
        .map_err(arrow_corrupt)?;
    Ok(make_array(data))
}

fn le<const N: usize>(chunk: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(chunk);
    a
}

fn valid(nulls: Option<&NullBuffer>, row: usize) -> bool {
    nulls.is_none_or(|n| n.is_valid(row))
}

fn unit_precision(unit: TimeUnit) -> u8 {
    match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 3,
        TimeUnit::Microsecond => 6,
        TimeUnit::Nanosecond => 9,
    }
}

/// A column of a non-composite ClickHouse type as an array of `target`'s type. `nulls` are the
/// rows of an enclosing `Nullable`, whose values are not checked.
pub(super) fn read_plain(
    r: &mut Reader<'_>,
    ty: &ChType,
    rows: usize,
    target: &Field,
    nulls: Option<&NullBuffer>,
) -> WireResult<ArrayRef> {
    use ChType as C;
    use DataType as A;
    let dt = target.data_type();
    match (ty, dt) {
        (C::UInt8, A::UInt8) | (C::Int8, A::Int8) => raw(r, rows, 1, dt),
        (C::UInt16, A::UInt16) | (C::Int16, A::Int16) => raw(r, rows, 2, dt),
        (C::UInt32, A::UInt32) | (C::Int32, A::Int32) | (C::Float32, A::Float32) => {
            raw(r, rows, 4, dt)
        }
        (C::UInt64, A::UInt64) | (C::Int64, A::Int64) | (C::Float64, A::Float64) => {
            raw(r, rows, 8, dt)
        }
        (C::Bool | C::UInt8, A::Boolean) => read_bool(r, rows, nulls),
        (C::Date32 | C::Int32, A::Date32) => raw(r, rows, 4, dt),
        (C::Date, A::Date32) => widen::<2, i32>(r, rows, dt, |c| i32::from(u16::from_le_bytes(c))),
        (C::Int64, A::Timestamp(_, _)) => raw(r, rows, 8, dt),
        (C::DateTime64 { precision, .. }, A::Timestamp(unit, _))
            if *precision == unit_precision(*unit) =>
        {
            raw(r, rows, 8, dt)
        }
        (C::DateTime { .. }, A::Timestamp(TimeUnit::Second, _)) => {
            widen::<4, i64>(r, rows, dt, |c| i64::from(u32::from_le_bytes(c)))
        }
        (C::FixedString(n), A::FixedSizeBinary(m)) if usize::try_from(*m).ok() == Some(*n) => {
            raw(r, rows, *n, dt)
        }
        (C::Uuid, A::FixedSizeBinary(16)) => read_uuid(r, rows, dt),
        (
            C::Decimal { precision, scale },
            A::Decimal32(tp, ts) | A::Decimal64(tp, ts) | A::Decimal128(tp, ts),
        ) if i16::from(*scale) == i16::from(*ts) && precision <= tp => {
            read_decimal(r, rows, *precision, dt)
        }
        (C::String, A::Utf8 | A::LargeUtf8 | A::Binary | A::LargeBinary) => {
            read_strings(r, rows, dt)
        }
        (C::String, A::Dictionary(_, v)) if matches!(**v, A::Utf8 | A::LargeUtf8) => {
            let strings = read_strings(r, rows, v)?;
            cast(&strings, dt).map_err(arrow_corrupt)
        }
        (C::Enum8(items), _) => {
            let b = r.take_values(rows, 1)?;
            read_enum(items, b.iter().map(|&x| i64::from(x as i8)), target, nulls)
        }
        (C::Enum16(items), _) => {
            let b = r.take_values(rows, 2)?;
            let values = b
                .chunks_exact(2)
                .map(|c| i64::from(i16::from_le_bytes(le(c))));
            read_enum(items, values, target, nulls)
        }
        _ => Err(no_reading(ty, dt)),
    }
}

/// `N`-byte values converted one by one (a narrower unsigned type into Arrow's wider one).
fn widen<const N: usize, T: ArrowNativeType>(
    r: &mut Reader<'_>,
    rows: usize,
    dt: &DataType,
    f: impl Fn([u8; N]) -> T,
) -> WireResult<ArrayRef> {
    let b = r.take_values(rows, N)?;
    let values: Vec<T> = b.chunks_exact(N).map(|c| f(le(c))).collect();
    from_values(dt, rows, values)
}

/// ClickHouse's two little-endian halves, high first, to RFC byte order.
fn read_uuid(r: &mut Reader<'_>, rows: usize, dt: &DataType) -> WireResult<ArrayRef> {
    let b = r.take_values(rows, 16)?;
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    for u in b.chunks_exact(16) {
        out.extend(u[..8].iter().rev());
        out.extend(u[8..].iter().rev());
    }
    from_values(dt, rows, out)
}

fn read_bool(r: &mut Reader<'_>, rows: usize, nulls: Option<&NullBuffer>) -> WireResult<ArrayRef> {
    let b = r.take_values(rows, 1)?;
    if let Some(row) = (0..rows).find(|&i| b[i] > 1 && valid(nulls, i)) {
        return corrupt(format!("row {row}: {} is not a boolean (0 or 1)", b[row]));
    }
    let bits = BooleanBuffer::collect_bool(rows, |i| b[i] != 0);
    let data = ArrayData::builder(DataType::Boolean)
        .len(rows)
        .add_buffer(bits.into_inner())
        .build()
        .map_err(arrow_corrupt)?;
    Ok(make_array(data))
}

/// ClickHouse stores `Decimal(p, _)` in 4, 8 or 16 bytes; the target in its own width.
fn read_decimal(
    r: &mut Reader<'_>,
    rows: usize,
    precision: u8,
    dt: &DataType,
) -> WireResult<ArrayRef> {
    let width = decimal_width(precision).ok_or_else(|| {
        no_reading(
            &ChType::Decimal {
                precision,
                scale: 0,
            },
            dt,
        )
    })?;
    let target_width = match dt {
        DataType::Decimal32(_, _) => 4,
        DataType::Decimal64(_, _) => 8,
        _ => 16,
    };
    if width == target_width {
        return raw(r, rows, width, dt);
    }
    let b = r.take_values(rows, width)?;
    let wide = b.chunks_exact(width).map(|c| match width {
        4 => i128::from(i32::from_le_bytes(le(c))),
        8 => i128::from(i64::from_le_bytes(le(c))),
        _ => i128::from_le_bytes(le(c)),
    });
    // A precision no larger than the target's fits the target's width.
    match target_width {
        4 => from_values(dt, rows, wide.map(|v| v as i32).collect::<Vec<_>>()),
        8 => from_values(dt, rows, wide.map(|v| v as i64).collect::<Vec<_>>()),
        _ => from_values(dt, rows, wide.collect::<Vec<_>>()),
    }
}

/// `rows` strings (varint length + bytes) as Utf8 (validated), LargeUtf8, Binary or LargeBinary.
pub(super) fn read_strings(r: &mut Reader<'_>, rows: usize, dt: &DataType) -> WireResult<ArrayRef> {
    r.need(rows)?;
    // First the lengths (the offsets and the values' total), then a second pass over the same
    // bytes copies each value into a buffer of the exact size (no regrowth).
    let mut again = r.clone();
    let mut ends = Vec::with_capacity(rows + 1);
    ends.push(0usize);
    let mut total = 0usize;
    for _ in 0..rows {
        total += r.string()?.len();
        ends.push(total);
    }
    let mut values = Vec::with_capacity(total);
    for _ in 0..rows {
        values.extend_from_slice(again.string()?);
    }
    let large = matches!(dt, DataType::LargeUtf8 | DataType::LargeBinary);
    if !large && values.len() > i32::MAX as usize {
        return corrupt(format!(
            "{} bytes of strings exceed a 2 GiB Arrow array",
            values.len()
        ));
    }
    let values = Buffer::from_vec(values);
    let array: ArrayRef = if large {
        let offsets = OffsetBuffer::new(ends.iter().map(|&e| e as i64).collect());
        match dt {
            DataType::LargeUtf8 => std::sync::Arc::new(
                LargeStringArray::try_new(offsets, values, None).map_err(arrow_corrupt)?,
            ),
            _ => std::sync::Arc::new(
                LargeBinaryArray::try_new(offsets, values, None).map_err(arrow_corrupt)?,
            ),
        }
    } else {
        let offsets = OffsetBuffer::new(ends.iter().map(|&e| e as i32).collect());
        match dt {
            DataType::Utf8 => std::sync::Arc::new(
                StringArray::try_new(offsets, values, None).map_err(arrow_corrupt)?,
            ),
            _ => std::sync::Arc::new(
                BinaryArray::try_new(offsets, values, None).map_err(arrow_corrupt)?,
            ),
        }
    };
    Ok(array)
}

/// Rows given as positions in `values`: a dictionary array when `target` is a dictionary
/// (keys checked to fit its key type), the values taken row by row otherwise.
pub(super) fn indexed(
    target: &DataType,
    positions: Vec<u64>,
    nulls: Option<NullBuffer>,
    values: ArrayRef,
) -> WireResult<ArrayRef> {
    let n = values.len() as u64;
    if let Some(p) = positions.iter().find(|&&p| p >= n) {
        return corrupt(format!("index {p} beyond {n} dictionary values"));
    }
    let indexes = UInt64Array::new(positions.into(), nulls);
    match target {
        DataType::Dictionary(key, _) => {
            let strict = soa_persist_core::arrow::compute::CastOptions {
                safe: false,
                ..Default::default()
            };
            let keys = soa_persist_core::arrow::compute::cast_with_options(&indexes, key, &strict)
                .map_err(|e| {
                    WireError::Mismatch(format!("{n} dictionary values don't fit {key} keys: {e}"))
                })?;
            let data = keys
                .to_data()
                .into_builder()
                .data_type(target.clone())
                .child_data(vec![values.to_data()])
                .build()
                .map_err(arrow_corrupt)?;
            Ok(make_array(data))
        }
        _ => take(&values, &indexes, None).map_err(arrow_corrupt),
    }
}

/// An enum column: the names become the dictionary (the target's variant list when it has one,
/// so keys are variant indexes), each value its name's position.
fn read_enum<V: Copy + Into<i64>>(
    items: &[(String, V)],
    values: impl Iterator<Item = i64>,
    target: &Field,
    nulls: Option<&NullBuffer>,
) -> WireResult<ArrayRef> {
    match target.data_type() {
        DataType::Utf8 => {}
        DataType::Dictionary(_, v) if **v == DataType::Utf8 => {}
        other => {
            let names: Vec<&str> = items.iter().map(|(n, _)| n.as_str()).collect();
            return mismatch(format!(
                "a ClickHouse enum ({}) can't be read as Arrow {other}",
                names.join(", ")
            ));
        }
    }
    let names: Vec<String> = match enum_variants(target).map_err(WireError::Mismatch)? {
        Some(variants) => variants,
        None => items.iter().map(|(n, _)| n.clone()).collect(),
    };
    // Each enum value's position in `names`, resolved once into a table indexed by the value
    // (an Enum8/Enum16 value spans at most 65,536 numbers), not once per row.
    let low = items.iter().map(|(_, v)| (*v).into()).min().unwrap_or(0);
    let high = items.iter().map(|(_, v)| (*v).into()).max().unwrap_or(-1);
    let mut lut: Vec<Option<u32>> = vec![None; usize::try_from(high - low + 1).unwrap_or(0)];
    for (n, v) in items {
        let at = usize::try_from((*v).into() - low).unwrap_or(0);
        lut[at] = names.iter().position(|x| x == n).map(|p| p as u32);
    }
    let position = |v: i64| {
        let at = usize::try_from(v.checked_sub(low)?).ok()?;
        lut.get(at).copied().flatten()
    };
    let mut positions = Vec::with_capacity(values.size_hint().0);
    for (row, v) in values.enumerate() {
        if !valid(nulls, row) {
            positions.push(0);
            continue;
        }
        match position(v) {
            Some(p) => positions.push(p as u64),
            None if names.is_empty() => return mismatch("an enum target without variants"),
            None => {
                return corrupt(format!(
                    "row {row}: value {v} is not a name of the target's variants"
                ));
            }
        }
    }
    let dictionary: ArrayRef = std::sync::Arc::new(StringArray::from(names));
    indexed(target.data_type(), positions, None, dictionary)
}
