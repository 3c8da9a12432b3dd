//! `Vec<T>` (T any field type but `u8`) as an Arrow `List` whose items are T's own encoding.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, OffsetSizeTrait};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::DataType;

use super::{BaseField, FieldOptions, ListItem, SoAField, arc, valid_at};
use crate::error::ConvertError;

fn item_field<T: SoAField>(opts: &FieldOptions) -> Arc<arrow::datatypes::Field> {
    Arc::new(T::arrow_field("item", opts))
}

fn encode_lists<'a, T: ListItem>(
    lists: impl ExactSizeIterator<Item = Option<&'a Vec<T>>> + Clone,
    opts: &FieldOptions,
) -> Result<ArrayRef, ConvertError> {
    let total: usize = lists.clone().map(|l| l.map_or(0, Vec::len)).sum();
    if total > i32::MAX as usize {
        return Err(ConvertError::capacity(format!(
            "{total} list items exceed a List array's i32 offsets"
        )));
    }
    let mut offsets = Vec::with_capacity(lists.len() + 1);
    let mut valid = Vec::with_capacity(lists.len());
    let mut flat = Vec::with_capacity(total);
    offsets.push(0i32);
    for list in lists {
        valid.push(list.is_some());
        if let Some(list) = list {
            flat.extend(list.iter().cloned());
        }
        // Cannot truncate: `total` was checked against i32::MAX above.
        offsets.push(flat.len() as i32);
    }
    let child = T::into_array(flat, opts).map_err(|e| e.in_field("[]"))?;
    let nulls = NullBuffer::from(valid);
    let list = ListArray::try_new(
        item_field::<T>(opts),
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        child,
        (nulls.null_count() > 0).then_some(nulls),
    )?;
    Ok(arc(list))
}

/// Splits decoded `items` into rows of the given lengths (null rows become empty).
fn split_rows<T>(
    items: Vec<T>,
    lens: impl Iterator<Item = usize>,
    nulls: Option<&NullBuffer>,
) -> Vec<Vec<T>> {
    let mut items = items.into_iter();
    lens.enumerate()
        .map(|(row, n)| {
            let list: Vec<T> = items.by_ref().take(n).collect();
            if valid_at(nulls, row) {
                list
            } else {
                Vec::new()
            }
        })
        .collect()
}

fn decode_list<O: OffsetSizeTrait, T: ListItem>(
    array: &ArrayRef,
    opts: &FieldOptions,
) -> Result<Vec<Vec<T>>, ConvertError> {
    let list = array.as_list::<O>();
    let offsets = list.value_offsets();
    let (start, end) = (offsets[0].as_usize(), offsets[offsets.len() - 1].as_usize());
    let child = list.values().slice(start, end - start);
    let items = T::from_array(&child, opts).map_err(|e| e.in_field("[]"))?;
    let lens = offsets.windows(2).map(|w| (w[1] - w[0]).as_usize());
    Ok(split_rows(items, lens, list.nulls()))
}

impl<T: ListItem> BaseField for Vec<T> {
    fn data_type(opts: &FieldOptions) -> DataType {
        DataType::List(item_field::<T>(opts))
    }
    fn placeholder() -> Self {
        Vec::new()
    }
    fn validate(&self, opts: &FieldOptions) -> Result<(), ConvertError> {
        self.iter().try_for_each(|v| SoAField::validate(v, opts))
    }
    fn encode(values: &[Self], opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        encode_lists(values.iter().map(Some), opts)
    }
    fn encode_opt(values: &[Option<Self>], opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        encode_lists(values.iter().map(Option::as_ref), opts)
    }
    fn decode(array: &ArrayRef, opts: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        match array.data_type() {
            DataType::List(_) => decode_list::<i32, T>(array, opts),
            DataType::LargeList(_) => decode_list::<i64, T>(array, opts),
            DataType::FixedSizeList(_, size) => {
                let list = array.as_fixed_size_list();
                let size = usize::try_from(*size).unwrap_or(0);
                let child = if list.is_empty() {
                    list.values().slice(0, 0)
                } else {
                    list.values()
                        .slice(list.value_offset_at(0), list.len() * size)
                };
                let items = T::from_array(&child, opts).map_err(|e| e.in_field("[]"))?;
                Ok(split_rows(
                    items,
                    std::iter::repeat_n(size, list.len()),
                    list.nulls(),
                ))
            }
            other => Err(ConvertError::type_mismatch(
                <Self as BaseField>::data_type(opts),
                other,
            )),
        }
    }
}

impl<T: ListItem> ListItem for Vec<T> {}
