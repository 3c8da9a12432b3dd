//! `ColumnSlice`: a borrowed range of rows of an Arrow-layout column (its `Column::Slice`).

use std::fmt;
use std::ops::Range;

use crate::column::{Column, SliceLen};

/// Rows `range` of `column`, read through the column's `get`.
pub struct ColumnSlice<'a, C> {
    column: &'a C,
    start: usize,
    end: usize,
}

impl<'a, C: Column> ColumnSlice<'a, C> {
    /// The rows `range` of `column`, or `None` when the range is out of bounds or reversed.
    pub fn new(column: &'a C, range: Range<usize>) -> Option<Self> {
        (range.start <= range.end && range.end <= column.len()).then_some(Self {
            column,
            start: range.start,
            end: range.end,
        })
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Row `index` of the range, or `None` past its end.
    pub fn get(&self, index: usize) -> Option<C::Ref<'a>> {
        if index >= self.len() {
            return None;
        }
        self.column.get(self.start + index)
    }

    /// The rows in order.
    pub fn iter(&self) -> impl Iterator<Item = C::Ref<'a>> + 'a {
        let column = self.column;
        (self.start..self.end).map_while(move |i| column.get(i))
    }
}

impl<C> Clone for ColumnSlice<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for ColumnSlice<'_, C> {}

impl<C> SliceLen for ColumnSlice<'_, C> {
    fn slice_len(&self) -> usize {
        self.end - self.start
    }
}

impl<'a, C: Column> fmt::Debug for ColumnSlice<'a, C>
where
    C::Ref<'a>: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a, C: Column> PartialEq for ColumnSlice<'a, C>
where
    C::Ref<'a>: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}
