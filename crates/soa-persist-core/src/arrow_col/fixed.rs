//! `Fixed`: rows of a fixed byte width over a `Buf` (dictionary keys, raw timestamps), with the
//! row operations on them, and `FixedColumn`, the enum and instant columns built on it.

use std::marker::PhantomData;
use std::ops::Range;

use arrow::buffer::{Buffer, MutableBuffer};

use super::buf::Buf;
use super::slice::ColumnSlice;
use crate::column::{Column, RowView};

/// Rows of `width` bytes each.
#[derive(Clone, Debug)]
pub(super) struct Fixed {
    buf: Buf,
    width: usize,
}

impl Fixed {
    pub(super) fn new(width: usize, capacity: usize) -> Self {
        Self {
            buf: Buf::with_capacity(width * capacity),
            width,
        }
    }

    /// Rows over an Arrow buffer of `width`-byte values, shared.
    pub(super) fn shared(width: usize, buffer: Buffer) -> Self {
        Self {
            buf: Buf::Shared(buffer),
            width,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.buf.len() / self.width
    }

    pub(super) fn row(&self, i: usize) -> Option<&[u8]> {
        let start = i.checked_mul(self.width)?;
        self.buf.as_slice().get(start..start + self.width)
    }

    pub(super) fn bytes_ref(&self) -> &[u8] {
        self.buf.as_slice()
    }

    fn bytes(&mut self) -> &mut MutableBuffer {
        self.buf.make_mut()
    }

    pub(super) fn reserve(&mut self, rows: usize) {
        let w = self.width;
        self.bytes().reserve(rows * w);
    }

    pub(super) fn push(&mut self, row: &[u8]) {
        self.bytes().extend_from_slice(row);
    }

    /// Overwrites row `i` (in range) with `row`.
    pub(super) fn set(&mut self, i: usize, row: &[u8]) {
        let w = self.width;
        self.bytes().as_slice_mut()[i * w..(i + 1) * w].copy_from_slice(row);
    }

    pub(super) fn truncate(&mut self, len: usize) {
        if len < self.len() {
            let w = self.width;
            self.bytes().truncate(len * w);
        }
    }

    /// Removes row `i` (in range), moving the last row into its place.
    pub(super) fn swap_remove(&mut self, i: usize) {
        let (w, last) = (self.width, self.len() - 1);
        self.bytes()
            .as_slice_mut()
            .copy_within(last * w..(last + 1) * w, i * w);
        self.truncate(last);
    }

    /// Removes row `i` (in range), shifting the later rows.
    pub(super) fn remove(&mut self, i: usize) {
        let (w, len) = (self.width, self.len());
        self.bytes()
            .as_slice_mut()
            .copy_within((i + 1) * w.., i * w);
        self.truncate(len - 1);
    }

    /// Swaps rows `a` and `b` (in range).
    pub(super) fn swap(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        let w = self.width;
        let bytes = self.bytes().as_slice_mut();
        let (lo, hi) = (a.min(b), a.max(b));
        let (left, right) = bytes.split_at_mut(hi * w);
        left[lo * w..(lo + 1) * w].swap_with_slice(&mut right[..w]);
    }

    pub(super) fn append(&mut self, other: &mut Self) {
        if self.len() == 0 {
            std::mem::swap(self, other);
        } else {
            let bytes = other.buf.as_slice();
            self.buf.make_mut().extend_from_slice(bytes);
        }
        other.buf = Buf::default();
    }

    /// A new column of the rows at `indexes` (in range), in that order.
    pub(super) fn gather(&self, indexes: impl Iterator<Item = usize>) -> Self {
        let mut out = Self::new(self.width, indexes.size_hint().0);
        for i in indexes {
            if let Some(row) = self.row(i) {
                out.buf.make_mut().extend_from_slice(row);
            }
        }
        out
    }

    pub(super) fn freeze(self) -> Buffer {
        self.buf.freeze()
    }

    pub(super) fn to_buffer(&self) -> Buffer {
        self.buf.to_buffer()
    }
}

/// How a fixed-width column encodes its values: the row width and the conversions.
pub trait FixedKind: 'static {
    /// The owned value.
    type Item: Clone;
    /// A row as read: a value by copy or a `'static` reference.
    type Ref<'a>: Copy + RowView<Owned = Self::Item>;
    /// Bytes per row.
    fn width() -> usize;
    /// The row's bytes (the first `width()` of the array).
    fn encode(item: &Self::Item) -> [u8; 8];
    /// The value of a row's bytes.
    fn decode<'a>(row: &'a [u8]) -> Self::Ref<'a>;
}

/// A column of fixed-width values kept as raw Arrow values (`EnumColumn`, `InstantColumn`).
///
/// Every row operation is what it is on `Vec`: `push`, `get`, `swap`, `swap_remove` O(1),
/// `remove` O(rows after it), sorting and `retain` a gather.
pub struct FixedColumn<K> {
    rows: Fixed,
    kind: PhantomData<fn() -> K>,
}

impl<K: FixedKind> FixedColumn<K> {
    pub(super) fn from_buffer(buffer: Buffer) -> Self {
        Self::from_fixed(Fixed::shared(K::width(), buffer))
    }

    fn from_fixed(rows: Fixed) -> Self {
        Self {
            rows,
            kind: PhantomData,
        }
    }

    /// Appends one row's bytes (`width` of them) as they are.
    pub(super) fn push_raw(&mut self, row: &[u8]) {
        self.rows.push(row)
    }

    pub(super) fn raw(&self, i: usize) -> Option<&[u8]> {
        self.rows.row(i)
    }

    pub(super) fn freeze(self) -> Buffer {
        self.rows.freeze()
    }

    pub(super) fn to_buffer(&self) -> Buffer {
        self.rows.to_buffer()
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The raw values (the Arrow values buffer: keys or timestamps, native-endian).
    pub fn raw_bytes(&self) -> &[u8] {
        self.rows.bytes_ref()
    }

    /// Whether the column is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows in order.
    pub fn iter(&self) -> impl Iterator<Item = K::Ref<'_>> + '_ {
        (0..self.len()).map_while(|i| self.get(i))
    }
}

impl<K> Clone for FixedColumn<K> {
    fn clone(&self) -> Self {
        Self {
            rows: self.rows.clone(),
            kind: PhantomData,
        }
    }
}

impl<K: FixedKind> Default for FixedColumn<K> {
    fn default() -> Self {
        Self::from_fixed(Fixed::new(K::width(), 0))
    }
}

impl<K: FixedKind> std::fmt::Debug for FixedColumn<K>
where
    for<'a> K::Ref<'a>: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<K: FixedKind> PartialEq for FixedColumn<K> {
    /// Equal rows: the bytes of each row encode its value one way only.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && (0..self.len()).all(|i| self.raw(i) == other.raw(i))
    }
}

impl<K: FixedKind> Column for FixedColumn<K> {
    type Item = K::Item;
    type Ref<'a> = K::Ref<'a>;
    type Slice<'a> = ColumnSlice<'a, Self>;
    type IntoIter = std::vec::IntoIter<K::Item>;

    fn with_capacity(capacity: usize) -> Self {
        Self::from_fixed(Fixed::new(K::width(), capacity))
    }
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn reserve(&mut self, additional: usize) {
        self.rows.reserve(additional)
    }
    fn push(&mut self, value: K::Item) {
        self.rows.push(&K::encode(&value)[..K::width()])
    }
    fn get(&self, index: usize) -> Option<K::Ref<'_>> {
        self.rows.row(index).map(K::decode)
    }
    fn replace(&mut self, index: usize, value: K::Item) -> Result<K::Item, K::Item> {
        let Some(old) = self.get(index).map(|r| r.to_row()) else {
            return Err(value);
        };
        self.rows.set(index, &K::encode(&value)[..K::width()]);
        Ok(old)
    }
    fn swap_remove(&mut self, index: usize) -> Option<K::Item> {
        let old = self.get(index)?.to_row();
        self.rows.swap_remove(index);
        Some(old)
    }
    fn remove(&mut self, index: usize) -> Option<K::Item> {
        let old = self.get(index)?.to_row();
        self.rows.remove(index);
        Some(old)
    }
    fn truncate(&mut self, len: usize) {
        self.rows.truncate(len)
    }
    fn clear(&mut self) {
        *self = Self::default();
    }
    fn swap(&mut self, a: usize, b: usize) {
        if a < self.len() && b < self.len() {
            self.rows.swap(a, b)
        }
    }
    fn append(&mut self, other: &mut Self) {
        self.rows.append(&mut other.rows)
    }
    fn split_off(&mut self, at: usize) -> Self {
        let len = self.len();
        let at = at.min(len);
        let tail = self.rows.gather(at..len);
        self.rows.truncate(at);
        Self::from_fixed(tail)
    }
    fn slice(&self, range: Range<usize>) -> Option<ColumnSlice<'_, Self>> {
        ColumnSlice::new(self, range)
    }
    fn retain_mask(&mut self, keep: &[bool]) {
        let kept = (0..self.len()).filter(|&i| keep.get(i).copied().unwrap_or(true));
        self.rows = self.rows.gather(kept);
    }
    fn permute(&mut self, perm: &[usize]) {
        if perm.len() == self.len() && perm.iter().all(|&p| p < perm.len()) {
            self.rows = self.rows.gather(perm.iter().copied());
        }
    }
    fn into_items(self) -> Self::IntoIter {
        self.iter()
            .map(|r| r.to_row())
            .collect::<Vec<_>>()
            .into_iter()
    }
}
