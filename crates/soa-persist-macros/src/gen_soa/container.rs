//! The container's methods: building and reading rows, editing, ordering (each one call per
//! column), and the `Column`, `Default`, `IntoIterator`, `Extend` and `FromIterator` impls.

use proc_macro2::TokenStream;
use quote::quote;

use super::Gen;

/// The inherent methods, in three impl blocks.
pub(super) fn inherent(g: &Gen) -> TokenStream {
    let (access, edit, order) = (access(g), edit(g), order(g));
    quote! { #access #edit #order }
}

/// Construction, length, `push` and row access.
fn access(g: &Gen) -> TokenStream {
    let (p, ident, soa, row_ref, first) = (&g.p, g.ident, &g.soa, &g.row_ref, g.first());
    let (impl_g, ty_g, where_c, params) = (&g.impl_g, &g.ty_g, &g.where_c, &g.params);
    let (ref_anon, row) = (g.ref_anon(), g.row());
    let idents = g.idents();
    quote! {
        impl #impl_g #soa #ty_g #where_c {
            /// An empty container.
            pub fn new() -> Self {
                ::core::default::Default::default()
            }
            /// An empty container with room for `capacity` rows in every column.
            pub fn with_capacity(capacity: usize) -> Self {
                Self { #( #idents: #p::Column::with_capacity(capacity), )* }
            }
            /// Number of rows (the length of the first column).
            pub fn len(&self) -> usize {
                #p::Column::len(&self.#first)
            }
            /// Whether there are no rows.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }
            /// Whether every column has the same length (the public columns can be edited
            /// one by one; conversions report a mismatch as an error).
            pub fn is_consistent(&self) -> bool {
                let n = self.len();
                true #( && #p::Column::len(&self.#idents) == n )*
            }
            /// Reserves room for `additional` more rows in every column.
            pub fn reserve(&mut self, additional: usize) {
                #( #p::Column::reserve(&mut self.#idents, additional); )*
            }
            /// Appends a row, one value to each column.
            pub fn push(&mut self, row: #row) {
                let #ident { #( #idents, )* } = row;
                #( #p::Column::push(&mut self.#idents, #idents); )*
            }
            /// A borrowed view of row `index`, or `None` past the end.
            pub fn get(&self, index: usize) -> ::core::option::Option<#ref_anon> {
                ::core::option::Option::Some(#row_ref { #( #idents: #p::Column::get(&self.#idents, index)?, )* })
            }
            /// Row `index`, cloned, or `None` past the end.
            pub fn row(&self, index: usize) -> ::core::option::Option<#row> {
                self.get(index).map(|r| #p::RowView::to_row(&r))
            }
            /// Borrowed views of every row, in order.
            pub fn iter(&self) -> impl ::core::iter::Iterator<Item = #row_ref<'_, #(#params),*>> + '_ {
                (0..self.len()).map_while(move |i| self.get(i))
            }
        }
    }
}

/// Removing, replacing and keeping rows.
fn edit(g: &Gen) -> TokenStream {
    let (p, ident, soa) = (&g.p, g.ident, &g.soa);
    let (impl_g, ty_g, where_c) = (&g.impl_g, &g.ty_g, &g.where_c);
    let (ref_anon, row) = (g.ref_anon(), g.row());
    let idents = g.idents();
    quote! {
        impl #impl_g #soa #ty_g #where_c {
            /// Removes row `index`, moving the last row into its place; `None` past the end.
            pub fn swap_remove(&mut self, index: usize) -> ::core::option::Option<#row> {
                if index >= self.len() || !self.is_consistent() {
                    return ::core::option::Option::None;
                }
                ::core::option::Option::Some(#ident { #( #idents: #p::Column::swap_remove(&mut self.#idents, index)?, )* })
            }
            /// Removes row `index`, shifting later rows; `None` past the end.
            pub fn remove(&mut self, index: usize) -> ::core::option::Option<#row> {
                if index >= self.len() || !self.is_consistent() {
                    return ::core::option::Option::None;
                }
                ::core::option::Option::Some(#ident { #( #idents: #p::Column::remove(&mut self.#idents, index)?, )* })
            }
            /// Replaces row `index` and returns the old row; gives `row` back past the end.
            pub fn replace(&mut self, index: usize, row: #row) -> ::core::result::Result<#row, #row> {
                if index >= self.len() || !self.is_consistent() {
                    return ::core::result::Result::Err(row);
                }
                let #ident { #( #idents, )* } = row;
                // In range for every column (checked above), so each replace returns the old value.
                ::core::result::Result::Ok(#ident { #(
                    #idents: #p::Column::replace(&mut self.#idents, index, #idents).unwrap_or_else(|v| v),
                )* })
            }
            /// Keeps the rows for which `keep` returns true, in order.
            pub fn retain(&mut self, mut keep: impl FnMut(#ref_anon) -> bool) {
                let mask: ::std::vec::Vec<bool> = self.iter().map(|r| keep(r)).collect();
                #( #p::Column::retain_mask(&mut self.#idents, &mask); )*
            }
            /// Keeps the first `len` rows.
            pub fn truncate(&mut self, len: usize) {
                #( #p::Column::truncate(&mut self.#idents, len); )*
            }
            /// Removes every row.
            pub fn clear(&mut self) {
                #( #p::Column::clear(&mut self.#idents); )*
            }
        }
    }
}

/// Swapping, sorting, appending, splitting and slicing.
fn order(g: &Gen) -> TokenStream {
    let (p, soa, slice) = (&g.p, &g.soa, &g.slice);
    let (impl_g, ty_g, where_c, params) = (&g.impl_g, &g.ty_g, &g.where_c, &g.params);
    let r = g.ref_anon();
    let idents = g.idents();
    quote! {
        impl #impl_g #soa #ty_g #where_c {
            /// Swaps two rows (out-of-range indexes: no change).
            pub fn swap(&mut self, a: usize, b: usize) {
                if a < self.len() && b < self.len() {
                    #( #p::Column::swap(&mut self.#idents, a, b); )*
                }
            }
            /// Stable sort by a key of each row; one permutation is applied to every column.
            pub fn sort_by_key<K: ::core::cmp::Ord>(&mut self, mut key: impl FnMut(#r) -> K) {
                let keys: ::std::vec::Vec<K> = self.iter().map(|r| key(r)).collect();
                let perm = #p::sort_permutation(&keys, true, |a, b| a.cmp(b));
                #p::apply_permutation(self, &perm);
            }
            /// Stable sort with a comparator over row views.
            pub fn sort_by(&mut self, mut cmp: impl FnMut(&#r, &#r) -> ::core::cmp::Ordering) {
                let perm = {
                    let rows: ::std::vec::Vec<_> = self.iter().collect();
                    #p::sort_permutation(&rows, true, |a, b| cmp(a, b))
                };
                #p::apply_permutation(self, &perm);
            }
            /// Unstable sort with a comparator over row views.
            pub fn sort_unstable_by(&mut self, mut cmp: impl FnMut(&#r, &#r) -> ::core::cmp::Ordering) {
                let perm = {
                    let rows: ::std::vec::Vec<_> = self.iter().collect();
                    #p::sort_permutation(&rows, false, |a, b| cmp(a, b))
                };
                #p::apply_permutation(self, &perm);
            }
            /// Moves every row of `other` to the end of `self`.
            pub fn append(&mut self, other: &mut Self) {
                #( #p::Column::append(&mut self.#idents, &mut other.#idents); )*
            }
            /// Splits off the rows from `at` (clamped to `len`) into a new container.
            pub fn split_off(&mut self, at: usize) -> Self {
                Self { #( #idents: #p::Column::split_off(&mut self.#idents, at), )* }
            }
            /// Borrowed columns of a row range, or `None` if it is out of bounds.
            pub fn slice(&self, range: ::core::ops::Range<usize>) -> ::core::option::Option<#slice<'_, #(#params),*>> {
                ::core::option::Option::Some(#slice { #( #idents: #p::Column::slice(&self.#idents, range.clone())?, )* })
            }
        }
    }
}

/// `Column` for the container, delegating to the inherent methods.
pub(super) fn column_impl(g: &Gen) -> TokenStream {
    let (p, soa, into_iter, lt) = (&g.p, &g.soa, &g.into_iter, &g.lt);
    let (impl_g, ty_g, where_c) = (&g.impl_g, &g.ty_g, &g.where_c);
    let (ref_ty, slice_ty, row) = (g.ref_ty(), g.slice_ty(), g.row());
    let idents = g.idents();
    quote! {
        impl #impl_g #p::Column for #soa #ty_g #where_c {
            type Item = #row;
            type Ref<#lt> = #ref_ty where Self: #lt;
            type Slice<#lt> = #slice_ty where Self: #lt;
            type IntoIter = #into_iter #ty_g;

            fn with_capacity(capacity: usize) -> Self { Self::with_capacity(capacity) }
            fn len(&self) -> usize { Self::len(self) }
            fn reserve(&mut self, additional: usize) { Self::reserve(self, additional) }
            fn push(&mut self, value: Self::Item) { Self::push(self, value) }
            fn get(&self, index: usize) -> ::core::option::Option<Self::Ref<'_>> { Self::get(self, index) }
            fn replace(&mut self, index: usize, value: Self::Item) -> ::core::result::Result<Self::Item, Self::Item> {
                Self::replace(self, index, value)
            }
            fn swap_remove(&mut self, index: usize) -> ::core::option::Option<Self::Item> { Self::swap_remove(self, index) }
            fn remove(&mut self, index: usize) -> ::core::option::Option<Self::Item> { Self::remove(self, index) }
            fn truncate(&mut self, len: usize) { Self::truncate(self, len) }
            fn clear(&mut self) { Self::clear(self) }
            fn swap(&mut self, a: usize, b: usize) { Self::swap(self, a, b) }
            fn append(&mut self, other: &mut Self) { Self::append(self, other) }
            fn split_off(&mut self, at: usize) -> Self { Self::split_off(self, at) }
            fn slice(&self, range: ::core::ops::Range<usize>) -> ::core::option::Option<Self::Slice<'_>> { Self::slice(self, range) }
            fn retain_mask(&mut self, keep: &[bool]) {
                #( #p::Column::retain_mask(&mut self.#idents, keep); )*
            }
            fn permute(&mut self, perm: &[usize]) {
                #( #p::Column::permute(&mut self.#idents, perm); )*
            }
            fn into_items(self) -> Self::IntoIter {
                #into_iter { #( #idents: #p::Column::into_items(self.#idents), )* }
            }
        }
    }
}

/// `Default`, `IntoIterator`, `Extend` and `FromIterator`.
pub(super) fn iter_impls(g: &Gen) -> TokenStream {
    let (p, soa, into_iter) = (&g.p, &g.soa, &g.into_iter);
    let (impl_g, ty_g, where_c) = (&g.impl_g, &g.ty_g, &g.where_c);
    let row = g.row();
    let idents = g.idents();
    quote! {
        impl #impl_g ::core::default::Default for #soa #ty_g #where_c {
            fn default() -> Self {
                Self { #( #idents: ::core::default::Default::default(), )* }
            }
        }

        impl #impl_g ::core::iter::IntoIterator for #soa #ty_g #where_c {
            type Item = #row;
            type IntoIter = #into_iter #ty_g;
            fn into_iter(self) -> Self::IntoIter { #p::Column::into_items(self) }
        }

        impl #impl_g ::core::iter::Extend<#row> for #soa #ty_g #where_c {
            fn extend<I: ::core::iter::IntoIterator<Item = #row>>(&mut self, rows: I) {
                let rows = rows.into_iter();
                self.reserve(rows.size_hint().0);
                for row in rows { self.push(row); }
            }
        }

        impl #impl_g ::core::iter::FromIterator<#row> for #soa #ty_g #where_c {
            fn from_iter<I: ::core::iter::IntoIterator<Item = #row>>(rows: I) -> Self {
                let mut soa = Self::new();
                soa.extend(rows);
                soa
            }
        }
    }
}
