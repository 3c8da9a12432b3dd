//! `StrColumn` and `BinColumn`: `String` and `Vec<u8>` columns kept as Arrow's Utf8 and Binary
//! layouts (`i32` offsets + one byte buffer), one generic `BytesColumn<K>`.
//!
//! Costs: `push`, `get`, `pop`-like `truncate` and `append` are what they are on `Vec<String>`
//! minus the per-string allocation; `replace`, `remove`, `swap_remove` and `swap` move the bytes
//! after the row (O(bytes)); sorting, `retain` and `split_off` gather into new buffers (O(bytes)).

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Index, Range};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BinaryArray, StringArray};
use arrow::buffer::{Buffer, MutableBuffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::DataType;

use super::buf::Buf;
use super::slice::ColumnSlice;
use super::{ArrowValues, arrow_column_impl};
use crate::bridge::{BaseField, FieldOptions};
use crate::column::{Column, RowView};
use crate::error::ConvertError;

mod sealed {
    pub trait Sealed {}
}

/// What a `BytesColumn` holds: text (`str`, Utf8) or bytes (`[u8]`, Binary). Sealed: the
/// column relies on `Text`'s bytes being UTF-8.
pub trait ByteKind: sealed::Sealed + 'static {
    /// A borrowed value: `str` or `[u8]`.
    type Native: ?Sized + PartialEq + fmt::Debug;
    /// The owned value: `String` or `Vec<u8>`.
    type Value: BaseField;
    /// The bytes of a borrowed value.
    fn bytes(value: &Self::Native) -> &[u8];
    /// The bytes of an owned value.
    fn value_bytes(value: &Self::Value) -> &[u8];
    /// A slot's bytes as a borrowed value (the column keeps text slots valid UTF-8).
    fn view(bytes: &[u8]) -> &Self::Native;
    /// A borrowed value, owned.
    fn to_value(value: &Self::Native) -> Self::Value;
    /// An empty value.
    fn empty() -> Self::Value;
    /// The array of this layout over the buffers.
    fn array(offsets: OffsetBuffer<i32>, values: Buffer, nulls: Option<NullBuffer>) -> ArrayRef;
    /// The buffers of an array of this layout, `None` for any other array.
    fn parts(array: &ArrayRef) -> Option<(OffsetBuffer<i32>, Buffer, Option<NullBuffer>)>;
}

/// Text: `String` values, Utf8 arrays.
pub struct Text;
/// Bytes: `Vec<u8>` values, Binary arrays.
pub struct Bytes;
impl sealed::Sealed for Text {}
impl sealed::Sealed for Bytes {}

impl ByteKind for Text {
    type Native = str;
    type Value = String;
    fn bytes(value: &str) -> &[u8] {
        value.as_bytes()
    }
    fn value_bytes(value: &String) -> &[u8] {
        value.as_bytes()
    }
    fn view(bytes: &[u8]) -> &str {
        // SAFETY: a text column's slots are valid UTF-8: pushed as `&str`, or read from a Utf8
        // array, which Arrow validates; `Text` is sealed, so only this file calls it.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
    fn to_value(value: &str) -> String {
        value.to_owned()
    }
    fn empty() -> String {
        String::new()
    }
    fn array(offsets: OffsetBuffer<i32>, values: Buffer, nulls: Option<NullBuffer>) -> ArrayRef {
        // SAFETY: every slot is valid UTF-8 (see `view`), the offsets are valid (see
        // `offset_buffer`) and `nulls`, when given, has one bit per row (`Nullable` keeps it so).
        Arc::new(unsafe { StringArray::new_unchecked(offsets, values, nulls) })
    }
    fn parts(array: &ArrayRef) -> Option<(OffsetBuffer<i32>, Buffer, Option<NullBuffer>)> {
        (array.data_type() == &DataType::Utf8)
            .then(|| array.as_string::<i32>().clone().into_parts())
    }
}

impl ByteKind for Bytes {
    type Native = [u8];
    type Value = Vec<u8>;
    fn bytes(value: &[u8]) -> &[u8] {
        value
    }
    fn value_bytes(value: &Vec<u8>) -> &[u8] {
        value
    }
    fn view(bytes: &[u8]) -> &[u8] {
        bytes
    }
    fn to_value(value: &[u8]) -> Vec<u8> {
        value.to_vec()
    }
    fn empty() -> Vec<u8> {
        Vec::new()
    }
    fn array(offsets: OffsetBuffer<i32>, values: Buffer, nulls: Option<NullBuffer>) -> ArrayRef {
        // SAFETY: the offsets are valid (see `offset_buffer`) and `nulls`, when given, has one
        // bit per row; any bytes are valid binary.
        Arc::new(unsafe { BinaryArray::new_unchecked(offsets, values, nulls) })
    }
    fn parts(array: &ArrayRef) -> Option<(OffsetBuffer<i32>, Buffer, Option<NullBuffer>)> {
        (array.data_type() == &DataType::Binary)
            .then(|| array.as_binary::<i32>().clone().into_parts())
    }
}

/// A column of strings in Arrow's Utf8 layout; `Ref<'a>` is `&'a str`.
pub type StrColumn = BytesColumn<Text>;

/// A column of byte strings in Arrow's Binary layout; `Ref<'a>` is `&'a [u8]`.
pub type BinColumn = BytesColumn<Bytes>;

/// A column of variable-length values (text or bytes) as `i32` offsets + one byte buffer.
///
/// Read from a Utf8 array it shares the array's buffers (no copy, even of a sliced or shared
/// array); moved into an array it hands its buffers over (no copy). The first write to a column
/// read from Arrow makes the buffers its own (reusing them when no one else holds them).
/// A column holds at most 2 GiB of string bytes (Arrow's `i32` offsets): `push` past that
/// panics, as `Vec` does past its capacity.
pub struct BytesColumn<K> {
    /// `len + 1` offsets into `values` (empty when there are no rows). Between two offsets
    /// the bytes are valid UTF-8: they were pushed as `&str` or read from a Utf8 array, which
    /// Arrow validates.
    offsets: Buf,
    values: Buf,
    kind: PhantomData<fn() -> K>,
}

impl<K> Default for BytesColumn<K> {
    fn default() -> Self {
        Self::from_bufs(Buf::default(), Buf::default())
    }
}

impl<K> Clone for BytesColumn<K> {
    fn clone(&self) -> Self {
        Self::from_bufs(self.offsets.clone(), self.values.clone())
    }
}

impl<K: ByteKind> fmt::Debug for BytesColumn<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<K> BytesColumn<K> {
    fn from_bufs(offsets: Buf, values: Buf) -> Self {
        Self {
            offsets,
            values,
            kind: PhantomData,
        }
    }
}

impl StrColumn {
    /// Appends a string.
    pub fn push_str(&mut self, s: &str) {
        self.push_bytes(s.as_bytes())
    }
}

impl<K: ByteKind> BytesColumn<K> {
    /// The number of strings.
    pub fn len(&self) -> usize {
        (self.offsets.len() / 4).saturating_sub(1)
    }

    /// Whether the column is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn bounds(&self, index: usize) -> Option<Range<usize>> {
        let o = self.offsets.typed::<i32>();
        let (start, end) = (*o.get(index)?, *o.get(index.checked_add(1)?)?);
        Some(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }

    /// Value `index`, or `None` past the end.
    pub fn value(&self, index: usize) -> Option<&K::Native> {
        Some(K::view(self.values.as_slice().get(self.bounds(index)?)?))
    }

    /// The concatenated bytes of every string (the Arrow values buffer, as shared or owned).
    pub fn value_bytes(&self) -> &[u8] {
        self.values.as_slice()
    }

    /// The `len + 1` offsets into `value_bytes` (the Arrow offsets buffer; empty when no row
    /// was ever pushed). A column read from a sliced array keeps its offsets as they are.
    pub fn offsets(&self) -> &[i32] {
        self.offsets.typed()
    }

    /// The strings in order.
    pub fn iter(&self) -> impl Iterator<Item = &K::Native> + '_ {
        (0..self.len()).map_while(|i| self.value(i))
    }

    /// The offsets and bytes as owned buffers, with offsets starting at 0 and ending at the
    /// end of the bytes (a column read from a sliced array is rebased, copying what it uses).
    fn owned(&mut self) -> (&mut MutableBuffer, &mut MutableBuffer) {
        let o = self.offsets.typed::<i32>();
        let (first, last) = match (o.first(), o.last()) {
            (Some(&f), Some(&l)) => (f as usize, l as usize),
            _ => (0, 0),
        };
        if o.is_empty() || first != 0 || last != self.values.len() {
            let mut offsets = MutableBuffer::with_capacity(o.len().max(1) * 4);
            offsets.push(0i32);
            for &x in o.iter().skip(1) {
                offsets.push(x - first as i32);
            }
            let mut values = MutableBuffer::with_capacity(last - first);
            values.extend_from_slice(self.values.as_slice().get(first..last).unwrap_or(&[]));
            self.offsets = Buf::Owned(offsets);
            self.values = Buf::Owned(values);
        }
        (self.offsets.make_mut(), self.values.make_mut())
    }

    /// Appends a value's bytes (for text, valid UTF-8: callers pass a `&str`'s).
    fn push_bytes(&mut self, bytes: &[u8]) {
        let (offsets, values) = self.owned();
        values.extend_from_slice(bytes);
        let end = i32::try_from(values.len())
            .unwrap_or_else(|_| panic!("a BytesColumn holds at most 2 GiB"));
        offsets.push(end);
    }

    /// Replaces string `index` with `new`, or removes the row when `remove`; the bytes after
    /// it move.
    fn splice(&mut self, index: usize, new: &[u8], remove: bool) {
        let Some(range) = self.bounds(index) else {
            return;
        };
        // `owned` rebases the offsets on the first one.
        let base = self.offsets.typed::<i32>()[0] as usize;
        let (start, end) = (range.start - base, range.end - base);
        let (offsets, values) = self.owned();
        let total = values.len();
        let new_total = total - (end - start) + new.len();
        if new_total > i32::MAX as usize {
            panic!("a BytesColumn holds at most 2 GiB");
        }
        if new_total > total {
            values.resize(new_total, 0);
        }
        values
            .as_slice_mut()
            .copy_within(end..total, start + new.len());
        values.as_slice_mut()[start..start + new.len()].copy_from_slice(new);
        values.truncate(new_total);
        let delta = new.len() as i64 - (end - start) as i64;
        let o = offsets.typed_data_mut::<i32>();
        for x in &mut o[index + 1..] {
            *x = (*x as i64 + delta) as i32;
        }
        if remove {
            // Offsets `index` and `index + 1` are now equal: drop one.
            let n = o.len();
            o.copy_within(index + 1.., index);
            offsets.truncate((n - 1) * 4);
        }
    }

    /// A new column of the rows at `indexes`, in that order.
    fn gather(&self, indexes: impl Iterator<Item = usize>) -> Self {
        let (lower, _) = indexes.size_hint();
        let mut offsets = MutableBuffer::with_capacity((lower + 1) * 4);
        let mut values = MutableBuffer::new(0);
        offsets.push(0i32);
        for i in indexes {
            if let Some(v) = self.value(i) {
                values.extend_from_slice(K::bytes(v));
                offsets.push(values.len() as i32);
            }
        }
        Self::from_bufs(Buf::Owned(offsets), Buf::Owned(values))
    }

    /// The offsets as Arrow's offset buffer (no copy when owned or unsliced).
    fn offset_buffer(offsets: Buf) -> OffsetBuffer<i32> {
        if offsets.len() < 4 {
            return OffsetBuffer::new_empty();
        }
        let scalars = ScalarBuffer::<i32>::from(offsets.freeze());
        // SAFETY: offsets are non-negative and non-decreasing: pushed as growing byte counts,
        // or taken from a Utf8 array, whose offsets Arrow validated.
        unsafe { OffsetBuffer::new_unchecked(scalars) }
    }

    fn array(offsets: Buf, values: Buf, nulls: Option<NullBuffer>) -> ArrayRef {
        K::array(Self::offset_buffer(offsets), values.freeze(), nulls)
    }
}

impl Index<usize> for StrColumn {
    type Output = str;
    /// String `index`; panics past the end, as indexing a `Vec` does.
    fn index(&self, index: usize) -> &str {
        match self.value(index) {
            Some(s) => s,
            None => panic!(
                "index {index} out of range for a StrColumn of {}",
                self.len()
            ),
        }
    }
}

impl<K: ByteKind> PartialEq for BytesColumn<K> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<K: ByteKind> Eq for BytesColumn<K> {}

impl<S: AsRef<str>> FromIterator<S> for StrColumn {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut c = Self::default();
        for s in iter {
            c.push_str(s.as_ref());
        }
        c
    }
}

impl<K: ByteKind> Column for BytesColumn<K>
where
    for<'a> &'a K::Native: RowView<Owned = K::Value>,
{
    type Item = K::Value;
    type Ref<'a> = &'a K::Native;
    type Slice<'a> = ColumnSlice<'a, Self>;
    type IntoIter = std::vec::IntoIter<K::Value>;

    fn with_capacity(capacity: usize) -> Self {
        let mut offsets = MutableBuffer::with_capacity((capacity + 1) * 4);
        offsets.push(0i32);
        Self::from_bufs(Buf::Owned(offsets), Buf::with_capacity(capacity * 8))
    }
    fn len(&self) -> usize {
        BytesColumn::len(self)
    }
    fn reserve(&mut self, additional: usize) {
        let (offsets, _) = self.owned();
        offsets.reserve(additional * 4);
    }
    fn push(&mut self, value: K::Value) {
        self.push_bytes(K::value_bytes(&value))
    }
    fn get(&self, index: usize) -> Option<&K::Native> {
        self.value(index)
    }
    fn replace(&mut self, index: usize, value: K::Value) -> Result<K::Value, K::Value> {
        let Some(old) = self.value(index).map(K::to_value) else {
            return Err(value);
        };
        self.splice(index, K::value_bytes(&value), false);
        Ok(old)
    }
    fn swap_remove(&mut self, index: usize) -> Option<K::Value> {
        let last = self.len().checked_sub(1)?;
        let old = K::to_value(self.value(index)?);
        if index != last {
            let moved = K::bytes(self.value(last)?).to_vec();
            self.splice(index, &moved, false);
        }
        self.truncate(last);
        Some(old)
    }
    fn remove(&mut self, index: usize) -> Option<K::Value> {
        let old = K::to_value(self.value(index)?);
        self.splice(index, &[], true);
        Some(old)
    }
    fn truncate(&mut self, len: usize) {
        if len >= self.len() {
            return;
        }
        let (offsets, values) = self.owned();
        let end = offsets.typed_data::<i32>()[len] as usize;
        values.truncate(end);
        offsets.truncate((len + 1) * 4);
    }
    fn clear(&mut self) {
        *self = Self::default();
    }
    fn swap(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        let (Some(sa), Some(sb)) = (self.value(a), self.value(b)) else {
            return;
        };
        let (sa, sb) = (K::bytes(sa).to_vec(), K::bytes(sb).to_vec());
        self.splice(a, &sb, false);
        self.splice(b, &sa, false);
    }
    fn append(&mut self, other: &mut Self) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            // Nothing to keep: take `other`'s buffers as they are.
            *self = std::mem::take(other);
            return;
        }
        let (offsets, values) = self.owned();
        let base = values.len() as i64;
        let o = other.offsets.typed::<i32>();
        let first = o[0] as i64;
        values.extend_from_slice(&other.values.as_slice()[o[0] as usize..o[o.len() - 1] as usize]);
        if values.len() > i32::MAX as usize {
            panic!("a BytesColumn holds at most 2 GiB");
        }
        offsets.extend(o[1..].iter().map(|&x| (x as i64 - first + base) as i32));
        other.clear();
    }
    fn split_off(&mut self, at: usize) -> Self {
        let at = at.min(self.len());
        let tail = self.gather(at..self.len());
        self.truncate(at);
        tail
    }
    fn slice(&self, range: Range<usize>) -> Option<ColumnSlice<'_, Self>> {
        ColumnSlice::new(self, range)
    }
    fn retain_mask(&mut self, keep: &[bool]) {
        let kept = (0..self.len()).filter(|&i| keep.get(i).copied().unwrap_or(true));
        *self = self.gather(kept);
    }
    fn permute(&mut self, perm: &[usize]) {
        if perm.len() == self.len() && perm.iter().all(|&p| p < perm.len()) {
            *self = self.gather(perm.iter().copied());
        }
    }
    fn into_items(self) -> Self::IntoIter {
        self.iter().map(K::to_value).collect::<Vec<_>>().into_iter()
    }
}

impl<K: ByteKind> ArrowValues for BytesColumn<K>
where
    for<'a> &'a K::Native: RowView<Owned = K::Value>,
{
    type Value = K::Value;
    fn placeholder() -> K::Value {
        K::empty()
    }
    fn same_row(&self, i: usize, other: &Self, j: usize) -> bool {
        self.value(i) == other.value(j)
    }
    fn to_array_with(
        &self,
        nulls: Option<NullBuffer>,
        _: &FieldOptions,
    ) -> Result<ArrayRef, ConvertError> {
        Ok(Self::array(
            Buf::Shared(self.offsets.to_buffer()),
            Buf::Shared(self.values.to_buffer()),
            nulls,
        ))
    }
    fn into_array_with(
        self,
        nulls: Option<NullBuffer>,
        _: &FieldOptions,
    ) -> Result<ArrayRef, ConvertError> {
        Ok(Self::array(self.offsets, self.values, nulls))
    }
    fn from_array_parts(
        array: ArrayRef,
        opts: &FieldOptions,
    ) -> Result<(Self, Option<NullBuffer>), ConvertError> {
        if let Some((offsets, values, nulls)) = K::parts(&array) {
            // `parts` cloned the buffers' handles; dropping the array leaves them unshared
            // when it was their only holder.
            drop(array);
            let offsets = Buf::Shared(offsets.into_inner().into_inner());
            return Ok((Self::from_bufs(offsets, Buf::Shared(values)), nulls));
        }
        // Another encoding (LargeUtf8, Utf8View, a dictionary, LargeBinary...): decoded, so
        // copied.
        let nulls = array.logical_nulls();
        let decoded = <K::Value as BaseField>::decode(&array, opts)?;
        let mut column = Self::with_capacity(decoded.len());
        for v in decoded {
            column.push(v);
        }
        Ok((column, nulls))
    }
}

arrow_column_impl!([K: ByteKind] BytesColumn<K> where for<'a> &'a K::Native: RowView<Owned = K::Value>);
