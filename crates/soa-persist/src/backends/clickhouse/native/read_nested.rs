//! Composite Native columns -> Arrow: `Nullable` (a null map, then the values), `Array`
//! (cumulative u64 offsets, then the items as one column), `Tuple` (each element column) and
//! `LowCardinality` (keys version in the column prefix; per granule the index type and flags,
//! the keys, then one index per row). Every count is checked against the bytes at hand and
//! against its neighbours (offsets never decrease, indexes stay inside their dictionary, a
//! granule never holds more rows than the block).

use std::sync::Arc;

use soa_persist_core::arrow::array::{
    Array, ArrayRef, LargeListArray, ListArray, StructArray, make_array, new_empty_array,
};
use soa_persist_core::arrow::buffer::{BooleanBuffer, NullBuffer, OffsetBuffer};
use soa_persist_core::arrow::compute::concat;
use soa_persist_core::arrow::datatypes::{DataType, Field, FieldRef};

use super::chtype::ChType;
use super::read::{arrow_corrupt, indexed, read_plain};
use super::wire::{Reader, WireResult, corrupt, mismatch};

/// The column prefix: LowCardinality's keys version, which must be 1, for each one in `ty`.
pub(super) fn read_prefix(r: &mut Reader<'_>, ty: &ChType) -> WireResult<()> {
    match ty {
        ChType::LowCardinality(_) => match r.u64_le()? {
            1 => Ok(()),
            v => corrupt(format!("LowCardinality keys version {v} (expected 1)")),
        },
        ChType::Nullable(t) | ChType::Array(t) => read_prefix(r, t),
        ChType::Tuple(items) => items.iter().try_for_each(|(_, t)| read_prefix(r, t)),
        _ => Ok(()),
    }
}

/// A column of `rows` rows (after its prefix) as an array of `target`'s type.
pub(super) fn read_column(
    r: &mut Reader<'_>,
    ty: &ChType,
    rows: usize,
    target: &Field,
) -> WireResult<ArrayRef> {
    match ty {
        ChType::Nullable(inner) => {
            let map = r.take(rows)?;
            let nulls = NullBuffer::new(BooleanBuffer::collect_bool(rows, |i| map[i] == 0));
            check_nullable(&nulls, target)?;
            let values = read_plain(r, inner, rows, target, Some(&nulls))?;
            with_nulls(values, nulls)
        }
        ChType::LowCardinality(inner) => read_low_cardinality(r, inner, rows, target),
        ChType::Array(item) => read_array(r, item, rows, target),
        ChType::Tuple(items) => read_tuple(r, items, rows, target),
        ChType::Nothing => mismatch("a column of NULLs (type Nothing) has no Arrow reading"),
        _ => read_plain(r, ty, rows, target, None),
    }
}

fn check_nullable(nulls: &NullBuffer, target: &Field) -> WireResult<()> {
    if nulls.null_count() > 0 && !target.is_nullable() {
        let row = nulls.iter().position(|v| !v).unwrap_or(0);
        return mismatch(format!(
            "null at row {row}, but the target field is not nullable"
        ));
    }
    Ok(())
}

fn with_nulls(values: ArrayRef, nulls: NullBuffer) -> WireResult<ArrayRef> {
    if nulls.null_count() == 0 {
        return Ok(values);
    }
    let data = values
        .into_data()
        .into_builder()
        .nulls(Some(nulls))
        .build()
        .map_err(arrow_corrupt)?;
    Ok(make_array(data))
}

fn read_array(
    r: &mut Reader<'_>,
    item: &ChType,
    rows: usize,
    target: &Field,
) -> WireResult<ArrayRef> {
    let (item_field, large): (&FieldRef, bool) = match target.data_type() {
        DataType::List(f) => (f, false),
        DataType::LargeList(f) => (f, true),
        other => {
            return mismatch(format!(
                "ClickHouse Array({item}) can't be read as Arrow {other}"
            ));
        }
    };
    let raw = r.take_values(rows, 8)?;
    let mut ends = Vec::with_capacity(rows + 1);
    ends.push(0u64);
    for (row, chunk) in raw.chunks_exact(8).enumerate() {
        let mut a = [0u8; 8];
        a.copy_from_slice(chunk);
        let end = u64::from_le_bytes(a);
        if end < ends[row] {
            return corrupt(format!("array offsets decrease at row {row}"));
        }
        ends.push(end);
    }
    let total = ends[rows];
    let limit = if large {
        i64::MAX as u64
    } else {
        i32::MAX as u64
    };
    if total > limit {
        return corrupt(format!(
            "{total} array items exceed an Arrow list's offsets"
        ));
    }
    let values = read_column(r, item, total as usize, item_field).map_err(|e| e.context("[]"))?;
    let array: ArrayRef = if large {
        let offsets = OffsetBuffer::new(ends.iter().map(|&e| e as i64).collect());
        Arc::new(
            LargeListArray::try_new(item_field.clone(), offsets, values, None)
                .map_err(arrow_corrupt)?,
        )
    } else {
        let offsets = OffsetBuffer::new(ends.iter().map(|&e| e as i32).collect());
        Arc::new(
            ListArray::try_new(item_field.clone(), offsets, values, None).map_err(arrow_corrupt)?,
        )
    };
    Ok(array)
}

fn read_tuple(
    r: &mut Reader<'_>,
    items: &[(Option<String>, ChType)],
    rows: usize,
    target: &Field,
) -> WireResult<ArrayRef> {
    let DataType::Struct(fields) = target.data_type() else {
        return mismatch(format!(
            "ClickHouse {} can't be read as Arrow {}",
            ChType::Tuple(items.to_vec()),
            target.data_type()
        ));
    };
    if fields.len() != items.len() {
        return mismatch(format!(
            "a tuple of {} elements for a struct of {} fields",
            items.len(),
            fields.len()
        ));
    }
    let mut children = Vec::with_capacity(items.len());
    for ((name, ty), field) in items.iter().zip(fields.iter()) {
        if name.as_ref().is_some_and(|n| n != field.name()) {
            return mismatch(format!(
                "tuple element `{}` where the struct has `{}`",
                name.as_deref().unwrap_or(""),
                field.name()
            ));
        }
        children.push(
            read_column(r, ty, rows, field).map_err(|e| e.context(format!(".{}", field.name())))?,
        );
    }
    let array = StructArray::try_new(fields.clone(), children, None).map_err(arrow_corrupt)?;
    Ok(Arc::new(array))
}

/// One granule's indexes (1, 2, 4 or 8 bytes each).
fn read_indexes(r: &mut Reader<'_>, n: usize, width: usize) -> WireResult<Vec<u64>> {
    let b = r.take_values(n, width)?;
    Ok(b.chunks_exact(width)
        .map(|c| {
            let mut a = [0u8; 8];
            a[..width].copy_from_slice(c);
            u64::from_le_bytes(a)
        })
        .collect())
}

fn read_low_cardinality(
    r: &mut Reader<'_>,
    inner: &ChType,
    rows: usize,
    target: &Field,
) -> WireResult<ArrayRef> {
    let (keys_type, nullable) = match inner {
        ChType::Nullable(t) => (&**t, true),
        t => (t, false),
    };
    // The dictionary is read as the target's value type.
    let values_field = match target.data_type() {
        DataType::Dictionary(_, v) => {
            Field::new("values", (**v).clone(), true).with_metadata(target.metadata().clone())
        }
        other => Field::new("values", other.clone(), true).with_metadata(target.metadata().clone()),
    };
    let mut parts: Vec<ArrayRef> = Vec::new();
    let mut done = 0usize;
    // ClickHouse writes nothing at all for a column of no rows.
    while done < rows {
        let flags = r.u64_le()?;
        let index_type = flags & !(0b111 << 8);
        if index_type > 3 || flags & (1 << 8) != 0 || flags & (1 << 9) == 0 {
            return corrupt(format!(
                "LowCardinality index flags {flags:#x} (a Native block carries its keys)"
            ));
        }
        let key_count = r.u64_le()?;
        let key_count =
            usize::try_from(key_count).or_else(|_| corrupt(format!("{key_count} keys")))?;
        r.need(key_count)?;
        let keys = read_column(r, keys_type, key_count, &values_field)
            .map_err(|e| e.context("LowCardinality keys"))?;
        let n = r.u64_le()?;
        if n == 0 || n > (rows - done) as u64 {
            return corrupt(format!(
                "a LowCardinality granule of {n} rows where {} remain",
                rows - done
            ));
        }
        let positions = read_indexes(r, n as usize, 1 << index_type)?;
        let nulls = nullable.then(|| NullBuffer::new(positions.iter().map(|&p| p != 0).collect()));
        if let Some(nulls) = &nulls {
            check_nullable(nulls, target)?;
        }
        parts.push(indexed(target.data_type(), positions, nulls, keys)?);
        done += n as usize;
    }
    match parts.len() {
        0 => Ok(new_empty_array(target.data_type())),
        1 => Ok(parts.remove(0)),
        _ => {
            let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
            concat(&refs).map_err(arrow_corrupt)
        }
    }
}
