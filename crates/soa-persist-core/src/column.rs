//! The container layer: `Column`, the operations every column of a struct-of-arrays supports.
//!
//! A plain field is stored as `Vec<T>`; a `#[soa(nested)]` field is stored as the nested struct's
//! own generated SoA container. Both implement `Column`, so the generated code for a struct
//! treats every field the same way and one row operation becomes one call per column.

use std::ops::Range;

/// A growable column of values: `Vec<T>`, or a generated `XxxSoA` container.
///
/// Methods that take an index return `None` (`Err` for `replace`) when it is out of range instead
/// of panicking.
pub trait Column: Default {
    /// The owned value of one row.
    type Item;
    /// A borrowed view of one row.
    type Ref<'a>: Copy + RowView<Owned = Self::Item>
    where
        Self: 'a;
    /// A borrowed view of a range of rows.
    type Slice<'a>: Copy + SliceLen
    where
        Self: 'a;
    /// Moves the rows out, in order.
    type IntoIter: Iterator<Item = Self::Item>;

    /// An empty column with room for `capacity` rows before it reallocates.
    fn with_capacity(capacity: usize) -> Self;
    /// The number of rows.
    fn len(&self) -> usize;
    /// Whether the column has no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Makes room for at least `additional` more rows.
    fn reserve(&mut self, additional: usize);
    /// Appends a row at the end.
    fn push(&mut self, value: Self::Item);
    /// A borrowed view of row `index`; `None` when it is out of range.
    fn get(&self, index: usize) -> Option<Self::Ref<'_>>;
    /// Row `index`, cloned into its owned form; `None` when it is out of range.
    fn get_cloned(&self, index: usize) -> Option<Self::Item> {
        self.get(index).map(|r| r.to_row())
    }
    /// Puts `value` at `index` and returns the old row as `Ok`; when `index` is out of range,
    /// changes nothing and hands `value` back as `Err`.
    fn replace(&mut self, index: usize, value: Self::Item) -> Result<Self::Item, Self::Item>;
    /// Removes and returns row `index`, moving the last row into its place (constant time,
    /// order not kept); `None` when it is out of range.
    fn swap_remove(&mut self, index: usize) -> Option<Self::Item>;
    /// Removes and returns row `index`, shifting the rows after it down (order kept); `None`
    /// when it is out of range.
    fn remove(&mut self, index: usize) -> Option<Self::Item>;
    /// Keeps the first `len` rows and drops the rest; no change when `len` is at least the
    /// current length.
    fn truncate(&mut self, len: usize);
    /// Removes every row.
    fn clear(&mut self);
    /// Swaps two rows; out-of-range indexes leave the column unchanged.
    fn swap(&mut self, a: usize, b: usize);
    /// Moves all rows of `other` to the end of `self`.
    fn append(&mut self, other: &mut Self);
    /// Splits off the rows from `at` on (`at` is clamped to `len`).
    fn split_off(&mut self, at: usize) -> Self;
    /// A borrowed view of the rows in `range`; `None` when the range is out of bounds or its
    /// start is past its end.
    fn slice(&self, range: Range<usize>) -> Option<Self::Slice<'_>>;
    /// Keeps the rows whose entry in `keep` is true; rows past `keep.len()` are kept.
    fn retain_mask(&mut self, keep: &[bool]);
    /// Consumes the column and yields its rows in order.
    fn into_items(self) -> Self::IntoIter;
    /// Reorders the rows so that new row `i` is old row `perm[i]`. `perm` must be a
    /// permutation of `0..len` (entries out of range are ignored). The default swaps rows along
    /// the permutation's cycles; columns for which a swap is not O(1) gather instead.
    fn permute(&mut self, perm: &[usize]) {
        permute_by_swaps(self, perm)
    }
}

/// A borrowed row (or value) that can be cloned into its owned form.
pub trait RowView {
    /// The owned form.
    type Owned;
    /// Clones the borrowed row into its owned form.
    fn to_row(&self) -> Self::Owned;
}

impl<T: Clone> RowView for &T {
    type Owned = T;
    fn to_row(&self) -> T {
        (*self).clone()
    }
}

/// The number of rows in a borrowed range.
pub trait SliceLen {
    /// The number of rows in the range.
    fn slice_len(&self) -> usize;
}

impl RowView for &str {
    type Owned = String;
    fn to_row(&self) -> String {
        (*self).to_owned()
    }
}

impl RowView for &[u8] {
    type Owned = Vec<u8>;
    fn to_row(&self) -> Vec<u8> {
        self.to_vec()
    }
}

impl<R: RowView> RowView for Option<R> {
    type Owned = Option<R::Owned>;
    fn to_row(&self) -> Self::Owned {
        self.as_ref().map(RowView::to_row)
    }
}

#[cfg(feature = "chrono")]
impl RowView for chrono::DateTime<chrono::Utc> {
    type Owned = Self;
    fn to_row(&self) -> Self {
        *self
    }
}

impl<T> SliceLen for &[T] {
    fn slice_len(&self) -> usize {
        self.len()
    }
}

impl<T: Clone> Column for Vec<T> {
    type Item = T;
    type Ref<'a>
        = &'a T
    where
        T: 'a;
    type Slice<'a>
        = &'a [T]
    where
        T: 'a;
    type IntoIter = std::vec::IntoIter<T>;

    fn with_capacity(capacity: usize) -> Self {
        Vec::with_capacity(capacity)
    }
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn reserve(&mut self, additional: usize) {
        Vec::reserve(self, additional)
    }
    fn push(&mut self, value: T) {
        Vec::push(self, value)
    }
    fn get(&self, index: usize) -> Option<&T> {
        self.as_slice().get(index)
    }
    fn replace(&mut self, index: usize, value: T) -> Result<T, T> {
        match self.as_mut_slice().get_mut(index) {
            Some(slot) => Ok(std::mem::replace(slot, value)),
            None => Err(value),
        }
    }
    fn swap_remove(&mut self, index: usize) -> Option<T> {
        (index < Vec::len(self)).then(|| Vec::swap_remove(self, index))
    }
    fn remove(&mut self, index: usize) -> Option<T> {
        (index < Vec::len(self)).then(|| Vec::remove(self, index))
    }
    fn truncate(&mut self, len: usize) {
        Vec::truncate(self, len)
    }
    fn clear(&mut self) {
        Vec::clear(self)
    }
    fn swap(&mut self, a: usize, b: usize) {
        if a < Vec::len(self) && b < Vec::len(self) {
            self.as_mut_slice().swap(a, b)
        }
    }
    fn append(&mut self, other: &mut Self) {
        Vec::append(self, other)
    }
    fn split_off(&mut self, at: usize) -> Self {
        Vec::split_off(self, at.min(Vec::len(self)))
    }
    fn slice(&self, range: Range<usize>) -> Option<&[T]> {
        self.as_slice().get(range)
    }
    fn retain_mask(&mut self, keep: &[bool]) {
        let mut i = 0;
        self.retain(|_| {
            let k = keep.get(i).copied().unwrap_or(true);
            i += 1;
            k
        })
    }
    fn into_items(self) -> Self::IntoIter {
        self.into_iter()
    }
}

/// Reorders `column` so that new row `i` is old row `perm[i]` (`Column::permute`). Called by
/// the generated sort methods.
#[doc(hidden)]
pub fn apply_permutation<C: Column>(column: &mut C, perm: &[usize]) {
    column.permute(perm)
}

/// `Column::permute` by one swap per moved row.
///
/// `perm` must be a permutation of `0..column.len()` (as built by the generated sort methods);
/// entries out of range are ignored rather than panicking.
pub fn permute_by_swaps<C: Column>(column: &mut C, perm: &[usize]) {
    let mut done = vec![false; perm.len()];
    for start in 0..perm.len() {
        if done[start] {
            continue;
        }
        let mut j = start;
        loop {
            done[j] = true;
            let k = perm[j];
            if k == start || k >= perm.len() || done[k] {
                break;
            }
            column.swap(j, k);
            j = k;
        }
    }
}

/// The sorting permutation used by the generated `sort_*` methods: `perm[i]` is the old index
/// of the row that ends up at `i`.
#[doc(hidden)]
pub fn sort_permutation<R>(
    rows: &[R],
    stable: bool,
    mut cmp: impl FnMut(&R, &R) -> std::cmp::Ordering,
) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..rows.len()).collect();
    if stable {
        perm.sort_by(|&a, &b| cmp(&rows[a], &rows[b]));
    } else {
        perm.sort_unstable_by(|&a, &b| cmp(&rows[a], &rows[b]));
    }
    perm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_matches_gather() {
        let perms: [&[usize]; 4] = [&[2, 0, 1], &[0, 1, 2], &[1, 0, 3, 2], &[4, 3, 2, 1, 0]];
        for perm in perms {
            let mut v: Vec<usize> = (0..perm.len()).map(|i| i * 10).collect();
            let want: Vec<usize> = perm.iter().map(|&p| v[p]).collect();
            apply_permutation(&mut v, perm);
            assert_eq!(v, want, "perm {perm:?}");
        }
    }

    #[test]
    fn out_of_range_is_none() {
        let mut v = vec![1, 2];
        assert_eq!(Column::swap_remove(&mut v, 2), None);
        assert_eq!(Column::remove(&mut v, 9), None);
        assert_eq!(Column::replace(&mut v, 5, 7), Err(7));
        assert_eq!(Column::slice(&v, 1..3), None);
        assert_eq!(v, [1, 2]);
    }
}
