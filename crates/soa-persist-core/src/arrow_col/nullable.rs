//! `Nullable<C>`: an `Option<T>` column as an Arrow-layout column `C` of values plus Arrow's
//! validity bitmap (absent while every row is valid).

use std::ops::Range;

use arrow::array::{ArrayRef, BooleanBufferBuilder};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::datatypes::Field;

use super::ArrowValues;
use super::slice::ColumnSlice;
use crate::bridge::{FieldOptions, SoAField};
use crate::column::Column;
use crate::convert::ArrowColumn;
use crate::error::ConvertError;

/// The validity of a column's rows.
#[derive(Debug, Default)]
enum Validity {
    /// Every row is valid (no bitmap).
    #[default]
    AllValid,
    /// As read from Arrow: shared, never copied.
    Shared(NullBuffer),
    /// After a write: owned bits and the number of nulls among them.
    Owned {
        bits: BooleanBufferBuilder,
        nulls: usize,
    },
}

impl Clone for Validity {
    fn clone(&self) -> Self {
        match self {
            Validity::AllValid => Validity::AllValid,
            Validity::Shared(n) => Validity::Shared(n.clone()),
            // The copy is frozen: it becomes owned again on its own first write.
            Validity::Owned { .. } => self.to_nulls().map_or(Validity::AllValid, Validity::Shared),
        }
    }
}

impl Validity {
    fn is_valid(&self, i: usize) -> bool {
        match self {
            Validity::AllValid => true,
            Validity::Shared(n) => n.is_valid(i),
            Validity::Owned { bits, .. } => bits.get_bit(i),
        }
    }

    /// The owned bits for `len` rows: the shared bitmap itself when no one else holds it and
    /// it starts on a byte boundary, else a copy.
    fn owned(&mut self, len: usize) -> (&mut BooleanBufferBuilder, &mut usize) {
        if !matches!(self, Validity::Owned { .. }) {
            let (bits, nulls) = match std::mem::take(self) {
                Validity::AllValid => {
                    let mut b = BooleanBufferBuilder::new(len);
                    b.append_n(len, true);
                    (b, 0)
                }
                Validity::Shared(n) => {
                    let nulls = n.null_count();
                    let inner = n.into_inner();
                    let copy = |inner: &BooleanBuffer| {
                        let mut b = BooleanBufferBuilder::new(len);
                        b.append_buffer(inner);
                        b
                    };
                    let b = if inner.offset() == 0 && inner.inner().len() * 8 >= len {
                        match inner.into_inner().into_mutable() {
                            Ok(m) => BooleanBufferBuilder::new_from_buffer(m, len),
                            Err(buffer) => copy(&BooleanBuffer::new(buffer, 0, len)),
                        }
                    } else {
                        copy(&inner)
                    };
                    (b, nulls)
                }
                Validity::Owned { .. } => unreachable!("checked above"),
            };
            *self = Validity::Owned { bits, nulls };
        }
        match self {
            Validity::Owned { bits, nulls } => (bits, nulls),
            _ => unreachable!("made owned above"),
        }
    }

    fn push(&mut self, len: usize, valid: bool) {
        if valid && matches!(self, Validity::AllValid) {
            return;
        }
        let (bits, nulls) = self.owned(len);
        bits.append(valid);
        *nulls += usize::from(!valid);
    }

    fn set(&mut self, len: usize, i: usize, valid: bool) {
        if self.is_valid(i) == valid {
            return;
        }
        let (bits, nulls) = self.owned(len);
        bits.set_bit(i, valid);
        if valid {
            *nulls -= 1;
        } else {
            *nulls += 1;
        }
    }

    fn truncate(&mut self, len: usize, new_len: usize) {
        if matches!(self, Validity::AllValid) || new_len >= len {
            return;
        }
        let (bits, nulls) = self.owned(len);
        *nulls -= (new_len..len).filter(|&i| !bits.get_bit(i)).count();
        bits.truncate(new_len);
    }

    /// The validity of the rows at `indexes`, in that order.
    fn gather(&self, indexes: impl Iterator<Item = usize>) -> Self {
        if matches!(self, Validity::AllValid) {
            return Validity::AllValid;
        }
        let mut bits = BooleanBufferBuilder::new(indexes.size_hint().0);
        let mut nulls = 0;
        for i in indexes {
            let valid = self.is_valid(i);
            nulls += usize::from(!valid);
            bits.append(valid);
        }
        if nulls == 0 {
            Validity::AllValid
        } else {
            Validity::Owned { bits, nulls }
        }
    }

    /// Arrow's null buffer for `len` rows (no copy), `None` when every row is valid.
    fn freeze(self) -> Option<NullBuffer> {
        match self {
            Validity::AllValid => None,
            Validity::Shared(n) => (n.null_count() > 0).then_some(n),
            Validity::Owned { mut bits, nulls } => (nulls > 0).then(|| {
                // SAFETY: `nulls` counts the unset bits: every write above keeps it in step.
                unsafe { NullBuffer::new_unchecked(bits.finish(), nulls) }
            }),
        }
    }

    fn to_nulls(&self) -> Option<NullBuffer> {
        match self {
            Validity::AllValid => None,
            Validity::Shared(n) => (n.null_count() > 0).then(|| n.clone()),
            Validity::Owned { bits, nulls } => (*nulls > 0).then(|| {
                // SAFETY: as in `freeze`.
                unsafe { NullBuffer::new_unchecked(bits.finish_cloned(), *nulls) }
            }),
        }
    }
}

/// An `Option<T>` column: the values in column `C` (a placeholder under each null) and a
/// validity bitmap; `Ref<'a>` is `Option<C::Ref<'a>>`.
///
/// Zero-copy both ways like `C`, the bitmap included. The bitmap costs nothing while every row
/// is valid; `remove`, `retain`, `split_off` and sorting rebuild it (O(rows / 8) bytes).
#[derive(Clone, Debug, Default)]
pub struct Nullable<C> {
    values: C,
    validity: Validity,
}

impl<C: ArrowValues> Nullable<C> {
    /// The values column (placeholders under the nulls).
    pub fn values(&self) -> &C {
        &self.values
    }

    /// The validity bitmap's bytes (the Arrow null buffer; `None` while every row is valid).
    pub fn validity_bytes(&self) -> Option<&[u8]> {
        match &self.validity {
            Validity::AllValid => None,
            Validity::Shared(n) => Some(n.buffer().as_slice()),
            Validity::Owned { bits, .. } => Some(bits.as_slice()),
        }
    }

    /// The number of null rows.
    pub fn null_count(&self) -> usize {
        match &self.validity {
            Validity::AllValid => 0,
            Validity::Shared(n) => n.null_count(),
            Validity::Owned { nulls, .. } => *nulls,
        }
    }

    fn gather(&self, indexes: &[usize]) -> Self {
        let mut values = C::with_capacity(indexes.len());
        for &i in indexes {
            if let Some(v) = self.values.get_cloned(i) {
                values.push(v);
            }
        }
        Self {
            values,
            validity: self.validity.gather(indexes.iter().copied()),
        }
    }
}

impl<C: ArrowValues> PartialEq for Nullable<C> {
    /// Equal validity, and equal values where valid (whatever lies under the nulls).
    fn eq(&self, other: &Self) -> bool {
        let len = self.len();
        len == other.len()
            && (0..len).all(|i| {
                let valid = self.validity.is_valid(i);
                valid == other.validity.is_valid(i)
                    && (!valid || self.values.same_row(i, &other.values, i))
            })
    }
}

impl<C: ArrowValues> Column for Nullable<C> {
    type Item = Option<C::Item>;
    type Ref<'a>
        = Option<C::Ref<'a>>
    where
        C: 'a;
    type Slice<'a>
        = ColumnSlice<'a, Self>
    where
        C: 'a;
    type IntoIter = std::vec::IntoIter<Option<C::Item>>;

    fn with_capacity(capacity: usize) -> Self {
        Self {
            values: C::with_capacity(capacity),
            validity: Validity::AllValid,
        }
    }
    fn len(&self) -> usize {
        self.values.len()
    }
    fn reserve(&mut self, additional: usize) {
        self.values.reserve(additional)
    }
    fn push(&mut self, value: Self::Item) {
        let len = self.len();
        self.validity.push(len, value.is_some());
        self.values.push(value.unwrap_or_else(C::placeholder));
    }
    fn get(&self, index: usize) -> Option<Self::Ref<'_>> {
        let value = self.values.get(index)?;
        Some(self.validity.is_valid(index).then_some(value))
    }
    fn replace(&mut self, index: usize, value: Self::Item) -> Result<Self::Item, Self::Item> {
        if index >= self.len() {
            return Err(value);
        }
        let was_valid = self.validity.is_valid(index);
        let len = self.len();
        self.validity.set(len, index, value.is_some());
        match self
            .values
            .replace(index, value.unwrap_or_else(C::placeholder))
        {
            Ok(old) => Ok(was_valid.then_some(old)),
            Err(v) => Err(Some(v)),
        }
    }
    fn swap_remove(&mut self, index: usize) -> Option<Self::Item> {
        let len = self.len();
        let last = len.checked_sub(1)?;
        if index > last {
            return None;
        }
        let was_valid = self.validity.is_valid(index);
        let last_valid = self.validity.is_valid(last);
        self.validity.set(len, index, last_valid);
        self.validity.truncate(len, last);
        let old = self.values.swap_remove(index)?;
        Some(was_valid.then_some(old))
    }
    fn remove(&mut self, index: usize) -> Option<Self::Item> {
        let len = self.len();
        if index >= len {
            return None;
        }
        let was_valid = self.validity.is_valid(index);
        self.validity = self.validity.gather((0..len).filter(|&i| i != index));
        let old = self.values.remove(index)?;
        Some(was_valid.then_some(old))
    }
    fn truncate(&mut self, len: usize) {
        let old = self.len();
        self.validity.truncate(old, len);
        self.values.truncate(len);
    }
    fn clear(&mut self) {
        *self = Self::default();
    }
    fn swap(&mut self, a: usize, b: usize) {
        let len = self.len();
        if a >= len || b >= len {
            return;
        }
        let (va, vb) = (self.validity.is_valid(a), self.validity.is_valid(b));
        self.validity.set(len, a, vb);
        self.validity.set(len, b, va);
        self.values.swap(a, b);
    }
    fn append(&mut self, other: &mut Self) {
        let (len, other_len) = (self.len(), other.len());
        if len == 0 {
            // Nothing to keep: take `other`'s bitmap as it is.
            self.validity = std::mem::take(&mut other.validity);
        } else if !(matches!(self.validity, Validity::AllValid)
            && matches!(other.validity, Validity::AllValid))
        {
            let extra = other.null_count();
            let (bits, nulls) = self.validity.owned(len);
            match &other.validity {
                Validity::AllValid => bits.append_n(other_len, true),
                Validity::Shared(n) => bits.append_buffer(n.inner()),
                Validity::Owned { bits: theirs, .. } => {
                    bits.append_packed_range(0..other_len, theirs.as_slice())
                }
            }
            *nulls += extra;
        }
        self.values.append(&mut other.values);
        other.clear();
    }
    fn split_off(&mut self, at: usize) -> Self {
        let len = self.len();
        let at = at.min(len);
        let tail = Self {
            validity: self.validity.gather(at..len),
            values: self.values.split_off(at),
        };
        self.validity.truncate(len, at);
        tail
    }
    fn slice(&self, range: Range<usize>) -> Option<Self::Slice<'_>> {
        ColumnSlice::new(self, range)
    }
    fn retain_mask(&mut self, keep: &[bool]) {
        let kept: Vec<usize> = (0..self.len())
            .filter(|&i| keep.get(i).copied().unwrap_or(true))
            .collect();
        self.validity = self.validity.gather(kept.iter().copied());
        self.values.retain_mask(keep);
    }
    fn permute(&mut self, perm: &[usize]) {
        if perm.len() == self.len() && perm.iter().all(|&p| p < perm.len()) {
            *self = self.gather(perm);
        }
    }
    fn into_items(self) -> Self::IntoIter {
        let validity = self.validity;
        self.values
            .into_items()
            .enumerate()
            .map(|(i, v)| validity.is_valid(i).then_some(v))
            .collect::<Vec<_>>()
            .into_iter()
    }
}

impl<C> ArrowColumn for Nullable<C>
where
    C: ArrowValues,
    C::Value: SoAField,
{
    fn arrow_field(name: &str, opts: &FieldOptions) -> Field {
        <Option<C::Value> as SoAField>::arrow_field(name, opts)
    }
    fn to_array(&self, opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        self.values.to_array_with(self.validity.to_nulls(), opts)
    }
    fn into_array(self, opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        self.values.into_array_with(self.validity.freeze(), opts)
    }
    fn from_array(array: &ArrayRef, opts: &FieldOptions) -> Result<Self, ConvertError> {
        Self::from_array_owned(array.clone(), opts)
    }
    fn from_array_owned(array: ArrayRef, opts: &FieldOptions) -> Result<Self, ConvertError> {
        let (values, nulls) = C::from_array_parts(array, opts)?;
        let validity = match nulls {
            Some(n) if n.null_count() > 0 => Validity::Shared(n),
            _ => Validity::AllValid,
        };
        Ok(Self { values, validity })
    }
    fn missing(len: usize) -> Option<Self> {
        let mut column = Self::with_capacity(len);
        (0..len).for_each(|_| column.push(None));
        Some(column)
    }
}
