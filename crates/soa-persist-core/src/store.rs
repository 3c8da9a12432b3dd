//! The in-memory domain store: `Store<T>` (generated alias `OrderStore`) keeps rows in `T`'s SoA
//! container with a hash index on the `#[soa(key)]` field. Every refused operation leaves the
//! store unchanged.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::hash::Hash;

use crate::bridge::BaseField;
use crate::column::Column;
use crate::error::StoreError;
use crate::fields::Col;
use crate::soa::{RowRef, SoA};

type Index<K> = HashMap<K, usize, foldhash::fast::RandomState>;

/// A struct whose `#[soa(key)]` field identifies its rows (`#[derive(SoAStore)]`).
pub trait Keyed: SoA {
    /// The key's type: a non-null field type that can be hashed.
    type Key: BaseField + Hash + Eq;
    /// The key column's name.
    const KEY_FIELD: &'static str;
    /// The key column's typed handle (for predicates such as `key_column().eq(k)`).
    fn key_column() -> Col<Self, Self::Key>;
    /// This row's key.
    fn key(&self) -> &Self::Key;
    /// The key of row `index` of a container; `None` when `index` is out of range.
    fn key_at(rows: &Self::Container, index: usize) -> Option<&Self::Key>;
}

/// Rows of `T` stored column-wise, indexed by key.
pub struct Store<T: Keyed> {
    rows: T::Container,
    index: Index<T::Key>,
}

impl<T: Keyed> Default for Store<T> {
    fn default() -> Self {
        Self {
            rows: T::Container::default(),
            index: Index::default(),
        }
    }
}

impl<T: Keyed> Clone for Store<T> {
    fn clone(&self) -> Self {
        Self {
            rows: self.rows.clone(),
            index: self.index.clone(),
        }
    }
}

impl<T: Keyed> Debug for Store<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("struct", &T::STRUCT_NAME)
            .field("rows", &self.len())
            .finish()
    }
}

fn duplicate<T: Keyed>(key: &T::Key) -> StoreError {
    StoreError::DuplicateKey {
        field: T::KEY_FIELD,
        key: format!("{key:?}"),
    }
}

impl<T: Keyed> Store<T> {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose columns have room for `capacity` rows.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            rows: T::Container::with_capacity(capacity),
            index: Index::default(),
        }
    }

    /// Builds a store from a container; errors on the first duplicate key.
    pub fn from_soa(rows: T::Container) -> Result<Self, StoreError> {
        let mut index = Index::default();
        index.reserve(rows.len());
        for i in 0..rows.len() {
            if let Some(key) = T::key_at(&rows, i)
                && index.insert(key.clone(), i).is_some()
            {
                return Err(duplicate::<T>(key));
            }
        }
        Ok(Self { rows, index })
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the store has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds a row; a row with the same key already present is an error.
    pub fn add(&mut self, row: T) -> Result<(), StoreError> {
        if self.index.contains_key(row.key()) {
            return Err(duplicate::<T>(row.key()));
        }
        self.index.insert(row.key().clone(), self.rows.len());
        self.rows.push(row);
        Ok(())
    }

    /// Adds all rows or none and returns how many were added: a key already present, or
    /// repeated among `rows`, is an error.
    pub fn add_many(&mut self, rows: impl IntoIterator<Item = T>) -> Result<usize, StoreError> {
        let rows: Vec<T> = rows.into_iter().collect();
        let mut seen = HashSet::with_capacity(rows.len());
        for row in &rows {
            if self.index.contains_key(row.key()) || !seen.insert(row.key()) {
                return Err(duplicate::<T>(row.key()));
            }
        }
        let n = rows.len();
        self.index.reserve(n);
        self.rows.reserve(n);
        for row in rows {
            self.index.insert(row.key().clone(), self.rows.len());
            self.rows.push(row);
        }
        Ok(n)
    }

    /// Whether a row has this key.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        T::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.index.contains_key(key)
    }

    /// The row with this key, borrowed from the columns.
    pub fn get<Q>(&self, key: &Q) -> Option<RowRef<'_, T>>
    where
        T::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.index.get(key).and_then(|&i| self.rows.get(i))
    }

    /// The row with this key, cloned.
    pub fn get_cloned<Q>(&self, key: &Q) -> Option<T>
    where
        T::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.index.get(key).and_then(|&i| self.rows.get_cloned(i))
    }

    /// Removes the row with this key (the last row takes its place).
    pub fn remove<Q>(&mut self, key: &Q) -> Option<T>
    where
        T::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.index.remove(key)?;
        let row = self.rows.swap_remove(i)?;
        if let Some(moved) = T::key_at(&self.rows, i) {
            self.index.insert(moved.clone(), i);
        }
        Some(row)
    }

    /// Replaces the row with the same key and returns the old one; errors if there is none.
    pub fn update(&mut self, row: T) -> Result<T, StoreError> {
        match self.index.get(row.key()) {
            Some(&i) => self
                .rows
                .replace(i, row)
                .map_err(|row| not_found::<T>(row.key())),
            None => Err(not_found::<T>(row.key())),
        }
    }

    /// Inserts the row, or replaces the one with the same key and returns it.
    pub fn upsert(&mut self, row: T) -> Option<T> {
        match self.index.get(row.key()) {
            Some(&i) => self.rows.replace(i, row).ok(),
            None => {
                self.index.insert(row.key().clone(), self.rows.len());
                self.rows.push(row);
                None
            }
        }
    }

    /// All rows in storage order.
    pub fn iter(&self) -> impl Iterator<Item = RowRef<'_, T>> + '_ {
        (0..self.rows.len()).map_while(|i| self.rows.get(i))
    }

    /// The rows for which `predicate` holds.
    pub fn filter<'s>(
        &'s self,
        mut predicate: impl FnMut(&RowRef<'s, T>) -> bool + 's,
    ) -> impl Iterator<Item = RowRef<'s, T>> + 's {
        self.iter().filter(move |r| predicate(r))
    }

    /// The first row for which `predicate` holds.
    pub fn find<'s>(
        &'s self,
        mut predicate: impl FnMut(&RowRef<'s, T>) -> bool,
    ) -> Option<RowRef<'s, T>> {
        self.iter().find(|r| predicate(r))
    }

    /// Keeps the rows for which `keep` holds (order is preserved).
    pub fn retain(&mut self, mut keep: impl FnMut(&RowRef<'_, T>) -> bool) {
        let mask: Vec<bool> = self.iter().map(|r| keep(&r)).collect();
        self.rows.retain_mask(&mask);
        self.reindex();
    }

    /// Removes every row.
    pub fn clear(&mut self) {
        self.rows.clear();
        self.index.clear();
    }

    /// The columns (read-only: writing them directly would bypass the key index).
    pub fn as_soa(&self) -> &T::Container {
        &self.rows
    }

    /// The columns, without the key index.
    pub fn into_soa(self) -> T::Container {
        self.rows
    }

    fn reindex(&mut self) {
        self.index.clear();
        for i in 0..self.rows.len() {
            if let Some(key) = T::key_at(&self.rows, i) {
                self.index.insert(key.clone(), i);
            }
        }
    }
}

fn not_found<T: Keyed>(key: &T::Key) -> StoreError {
    StoreError::NotFound {
        field: T::KEY_FIELD,
        key: format!("{key:?}"),
    }
}
