//! `EnumColumn<E>`: a `#[derive(SoAEnum)]` enum column kept as the dictionary keys Arrow stores
//! (`Int8`/`Int16`/`Int32` by the number of variants); the dictionary is the variant names.

use std::marker::PhantomData;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, DictionaryArray, PrimitiveArray, StringArray};
use arrow::buffer::{Buffer, NullBuffer, ScalarBuffer};
use arrow::datatypes::{
    ArrowDictionaryKeyType, ArrowNativeType, DataType, Int8Type, Int16Type, Int32Type,
};

use super::fixed::{FixedColumn, FixedKind};
use super::{ArrowValues, arrow_column_impl};
use crate::bridge::{BaseField, FieldOptions, SoAEnum, enum_data_type, enum_decode};
use crate::error::ConvertError;

/// The keys of an enum column: each row is its variant's index.
pub struct EnumKeys<E>(PhantomData<fn() -> E>);

/// A column of a `#[derive(SoAEnum)]` enum, stored as dictionary keys; `Ref<'a>` is
/// `&'static E`. Moving it into Arrow builds only the dictionary (one string per variant).
pub type EnumColumn<E> = FixedColumn<EnumKeys<E>>;

fn width<E: SoAEnum>() -> usize {
    match E::VARIANTS.len() {
        0..=128 => 1,
        129..=32_768 => 2,
        _ => 4,
    }
}

/// The key bytes of variant index `k` (the width fits every variant index, see `width`).
fn key_bytes<E: SoAEnum>(k: usize) -> [u8; 8] {
    let mut out = [0; 8];
    match width::<E>() {
        1 => out[..1].copy_from_slice(&(k as i8).to_ne_bytes()),
        2 => out[..2].copy_from_slice(&(k as i16).to_ne_bytes()),
        _ => out[..4].copy_from_slice(&(k as i32).to_ne_bytes()),
    }
    out
}

/// The keys of another dictionary of strings (as a Parquet reader builds one per batch)
/// rewritten as variant indexes: each dictionary value is looked up once. `None` when the
/// array is not such a dictionary or a valid row names no variant (the caller then decodes
/// by name, which reports the row).
fn remap<K: ArrowDictionaryKeyType, E: SoAEnum>(
    array: &ArrayRef,
) -> Option<(EnumColumn<E>, Option<NullBuffer>)> {
    let dict = array.as_dictionary_opt::<K>()?;
    let names = dict.values().as_string_opt::<i32>()?;
    if names.null_count() > 0 {
        return None;
    }
    let table: Vec<Option<[u8; 8]>> = names
        .iter()
        .map(|n| {
            n.and_then(E::from_variant_name)
                .map(|v| key_bytes::<E>(v.variant_index()))
        })
        .collect();
    let keys = dict.keys();
    let nulls = keys.nulls();
    let w = width::<E>();
    let mut column = <EnumColumn<E> as crate::column::Column>::with_capacity(keys.len());
    for (row, k) in keys.values().iter().enumerate() {
        let bytes = match table.get(k.as_usize()) {
            Some(Some(b)) => b,
            // A null row's key may be anything: it reads as the first variant.
            _ if nulls.is_some_and(|n| n.is_null(row)) => &[0u8; 8],
            _ => return None,
        };
        column.push_raw(&bytes[..w]);
    }
    Some((column, nulls.cloned()))
}

impl<E: SoAEnum> FixedKind for EnumKeys<E> {
    type Item = E;
    type Ref<'a> = &'static E;
    fn width() -> usize {
        width::<E>()
    }
    fn encode(item: &E) -> [u8; 8] {
        key_bytes::<E>(item.variant_index())
    }
    fn decode(row: &[u8]) -> &'static E {
        let k = match *row {
            [a] => i8::from_ne_bytes([a]) as i64,
            [a, b] => i16::from_ne_bytes([a, b]) as i64,
            [a, b, c, d] => i32::from_ne_bytes([a, b, c, d]) as i64,
            _ => 0,
        };
        // Keys of valid rows index `ALL` (pushed from a variant, or checked on reading); a key
        // under a null may be anything and reads as the first variant, which `Nullable` hides.
        usize::try_from(k)
            .ok()
            .and_then(|k| E::ALL.get(k))
            .unwrap_or(&E::ALL[0])
    }
}

fn dictionary<K: ArrowDictionaryKeyType, E: SoAEnum>(
    keys: Buffer,
    nulls: Option<NullBuffer>,
) -> ArrayRef {
    let keys = PrimitiveArray::<K>::new(ScalarBuffer::from(keys), nulls);
    let names: ArrayRef = Arc::new(StringArray::from(E::VARIANTS.to_vec()));
    // SAFETY: every valid key is a variant index, so within the dictionary of variant names.
    Arc::new(unsafe { DictionaryArray::<K>::new_unchecked(keys, names) })
}

fn array<E: SoAEnum>(keys: Buffer, nulls: Option<NullBuffer>) -> ArrayRef {
    match width::<E>() {
        1 => dictionary::<Int8Type, E>(keys, nulls),
        2 => dictionary::<Int16Type, E>(keys, nulls),
        _ => dictionary::<Int32Type, E>(keys, nulls),
    }
}

/// The keys buffer and nulls of a dictionary whose values are exactly the variant names in
/// order, so its keys are variant indexes as they are.
fn same_dictionary<K: ArrowDictionaryKeyType, E: SoAEnum>(
    array: &ArrayRef,
) -> Option<(Buffer, Option<NullBuffer>)> {
    let dict = array.as_dictionary_opt::<K>()?;
    let names = dict.values().as_string_opt::<i32>()?;
    let same = names.null_count() == 0
        && names.len() == E::VARIANTS.len()
        && names.iter().zip(E::VARIANTS).all(|(n, v)| n == Some(*v));
    same.then(|| {
        let keys = dict.keys();
        (keys.values().inner().clone(), keys.nulls().cloned())
    })
}

impl<E: SoAEnum + BaseField> ArrowValues for EnumColumn<E> {
    type Value = E;
    fn placeholder() -> E {
        E::ALL[0].clone()
    }
    fn same_row(&self, i: usize, other: &Self, j: usize) -> bool {
        self.raw(i) == other.raw(j)
    }
    fn to_array_with(
        &self,
        nulls: Option<NullBuffer>,
        _: &FieldOptions,
    ) -> Result<ArrayRef, ConvertError> {
        Ok(array::<E>(self.to_buffer(), nulls))
    }
    fn into_array_with(
        self,
        nulls: Option<NullBuffer>,
        _: &FieldOptions,
    ) -> Result<ArrayRef, ConvertError> {
        Ok(array::<E>(self.freeze(), nulls))
    }
    fn from_array_parts(
        array: ArrayRef,
        opts: &FieldOptions,
    ) -> Result<(Self, Option<NullBuffer>), ConvertError> {
        if array.data_type() == &enum_data_type::<E>() {
            let same = match width::<E>() {
                1 => same_dictionary::<Int8Type, E>(&array),
                2 => same_dictionary::<Int16Type, E>(&array),
                _ => same_dictionary::<Int32Type, E>(&array),
            };
            if let Some((keys, nulls)) = same {
                drop(array);
                return Ok((Self::from_buffer(keys), nulls));
            }
        }
        // Another dictionary (as a Parquet reader builds one), or plain strings: matched by
        // name, so the keys are rewritten.
        let remapped = match array.data_type() {
            DataType::Dictionary(k, _) => match **k {
                DataType::Int8 => remap::<Int8Type, E>(&array),
                DataType::Int16 => remap::<Int16Type, E>(&array),
                DataType::Int32 => remap::<Int32Type, E>(&array),
                _ => None,
            },
            _ => None,
        };
        if let Some(done) = remapped {
            return Ok(done);
        }
        let nulls = array.logical_nulls();
        let values = enum_decode::<E>(&array, opts)?;
        Ok((values.into_iter().collect(), nulls))
    }
}

impl<E: SoAEnum> FromIterator<E> for EnumColumn<E> {
    fn from_iter<I: IntoIterator<Item = E>>(iter: I) -> Self {
        let mut c = <Self as crate::column::Column>::with_capacity(0);
        for e in iter {
            crate::column::Column::push(&mut c, e);
        }
        c
    }
}

arrow_column_impl!([E: SoAEnum + BaseField] EnumColumn<E>);
