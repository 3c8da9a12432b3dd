//! Code generation for `#[derive(SoA)]`.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericParam, Lifetime};

use crate::ast::{Default, Struct};

pub fn expand(s: &Struct) -> TokenStream {
    let krate = &s.krate;
    let p = quote!(#krate::__private);
    let vis = &s.vis;
    let ident = &s.ident;
    let soa = format_ident!("{}SoA", ident);
    let row_ref = format_ident!("{}Ref", ident);
    let slice = format_ident!("{}Slice", ident);
    let fields_ty = format_ident!("{}Fields", ident);
    let into_iter = format_ident!("{}IntoIter", ident);
    let struct_name = &s.name;

    let (impl_g, ty_g, where_c) = s.generics.split_for_impl();
    // Type and const parameters, to name generated types with an extra lifetime or parameter.
    let params: Vec<TokenStream> = s
        .generics
        .params
        .iter()
        .filter_map(|gp| match gp {
            GenericParam::Type(t) => Some(t.ident.to_token_stream()),
            GenericParam::Const(c) => Some(c.ident.to_token_stream()),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    let decl_params: Vec<TokenStream> = s
        .generics
        .params
        .iter()
        .map(|gp| match gp {
            GenericParam::Type(t) => {
                let (id, bounds) = (&t.ident, &t.bounds);
                if bounds.is_empty() {
                    quote!(#id)
                } else {
                    quote!(#id: #bounds)
                }
            }
            other => quote!(#other),
        })
        .collect();
    let lt = Lifetime::new("'__a", proc_macro2::Span::call_site());
    let ref_ty = quote!(#row_ref<#lt, #(#params),*>);
    let slice_ty = quote!(#slice<#lt, #(#params),*>);
    let ref_decl = quote!(<#lt, #(#decl_params),*>);
    let fields_decl = quote!(<#(#decl_params,)* __R>);
    let generic = !params.is_empty();

    let idents: Vec<_> = s.fields.iter().map(|f| &f.ident).collect();
    let names: Vec<&String> = s.fields.iter().map(|f| &f.name).collect();
    let opts: Vec<TokenStream> = s.fields.iter().map(|f| f.options(krate)).collect();
    let col_tys: Vec<TokenStream> = s
        .fields
        .iter()
        .map(|f| {
            let ty = &f.ty;
            if f.nested {
                quote_spanned!(ty.span()=> <#ty as #p::SoA>::Container)
            } else {
                quote!(::std::vec::Vec<#ty>)
            }
        })
        .collect();
    // Per field: the check that its value converts (`SoA::validate`), by the field's own type.
    let validations: Vec<TokenStream> = s
        .fields
        .iter()
        .zip(&opts)
        .map(|(f, o)| {
            let (ty, id, name) = (&f.ty, &f.ident, &f.name);
            if f.nested {
                quote!(<#ty as #p::SoA>::validate(&self.#id).map_err(|e| e.in_field(#name))?;)
            } else {
                quote!(<#ty as #p::SoAField>::validate(&self.#id, &#o).map_err(|e| e.in_field(#name))?;)
            }
        })
        .collect();
    let ref_fields: Vec<TokenStream> = s
        .fields
        .iter()
        .zip(&col_tys)
        .map(|(f, col)| {
            if f.nested {
                quote!(<#col as #p::Column>::Ref<#lt>)
            } else {
                let ty = &f.ty;
                quote!(&#lt #ty)
            }
        })
        .collect();
    let slice_fields: Vec<TokenStream> = s
        .fields
        .iter()
        .zip(&col_tys)
        .map(|(f, col)| {
            if f.nested {
                quote!(<#col as #p::Column>::Slice<#lt>)
            } else {
                let ty = &f.ty;
                quote!(&#lt [#ty])
            }
        })
        .collect();
    let handle_tys: Vec<TokenStream> = s
        .fields
        .iter()
        .map(|f| {
            let ty = &f.ty;
            if f.nested {
                quote_spanned!(ty.span()=> <#ty as #p::SoA>::Fields<__R>)
            } else {
                quote!(#p::Col<__R, #ty>)
            }
        })
        .collect();
    let handle_ctors: Vec<TokenStream> = s
        .fields
        .iter()
        .zip(&opts)
        .map(|(f, opts)| {
            let (ty, name) = (&f.ty, &f.name);
            if f.nested {
                quote!({
                    let mut path = prefix.to_vec();
                    path.push(#name);
                    <#ty as #p::SoA>::fields_at::<__R>(&path)
                })
            } else {
                quote!(#p::Col::new(prefix, #name, #opts))
            }
        })
        .collect();
    let defaults: Vec<TokenStream> = s
        .fields
        .iter()
        .map(|f| {
            let ty = &f.ty;
            match &f.default {
                None => quote!(::core::option::Option::None),
                Some(Default::Trait) => quote!(::core::option::Option::Some(
                    (|| -> #ty { ::core::default::Default::default() }) as fn() -> #ty
                )),
                Some(Default::Path(path)) => quote!(::core::option::Option::Some(
                    (|| -> #ty { #path() }) as fn() -> #ty
                )),
            }
        })
        .collect();
    // Static checks on each field's own span, so an unsupported type is reported where it is written.
    let checks: Vec<TokenStream> = s
        .fields
        .iter()
        .map(|f| {
            let ty = &f.ty;
            if f.nested {
                quote_spanned!(ty.span()=> __soa_nested::<#ty>();)
            } else {
                quote_spanned!(ty.span()=> __soa_field::<#ty>();)
            }
        })
        .collect();
    let key = match s.key() {
        Some(k) => {
            let n = &k.name;
            quote!(::core::option::Option::Some(#n))
        }
        None => quote!(::core::option::Option::None),
    };
    let partitions: Vec<&String> = s
        .fields
        .iter()
        .filter(|f| f.partition)
        .map(|f| &f.name)
        .collect();
    let first = idents[0];
    let schema_cache = if generic {
        quote!(#p::schema::cached_schema::<Self>(build))
    } else {
        quote! {
            static SCHEMA: ::std::sync::OnceLock<#p::arrow::datatypes::SchemaRef> = ::std::sync::OnceLock::new();
            SCHEMA.get_or_init(|| ::std::sync::Arc::new(build())).clone()
        }
    };
    let clone_fields: Vec<TokenStream> = idents
        .iter()
        .map(|i| quote!(#i: #p::RowView::to_row(&self.#i)))
        .collect();
    let doc_soa = format!("Struct-of-arrays container of [`{ident}`]: one column per field.");
    let doc_ref = format!("A borrowed row of [`{soa}`].");
    let doc_slice = format!("A borrowed range of rows of [`{soa}`].");
    let doc_fields = format!("Typed column handles of [`{ident}`], rooted at struct `__R`.");

    quote! {
        #[doc = #doc_soa]
        #[derive(Clone, Debug, PartialEq)]
        #vis struct #soa #impl_g #where_c {
            #( pub #idents: #col_tys, )*
        }

        #[doc = #doc_ref]
        #[derive(Debug, PartialEq)]
        #vis struct #row_ref #ref_decl #where_c {
            #( pub #idents: #ref_fields, )*
        }

        #[doc = #doc_slice]
        #[derive(Debug, PartialEq)]
        #vis struct #slice #ref_decl #where_c {
            #( pub #idents: #slice_fields, )*
        }

        #[doc = #doc_fields]
        #vis struct #fields_ty #fields_decl #where_c {
            #( pub #idents: #handle_tys, )*
        }

        /// Moves the rows out of the container, in order.
        #vis struct #into_iter #impl_g #where_c {
            #( #idents: <#col_tys as #p::Column>::IntoIter, )*
        }

        const _: () = {
            fn __soa_field<T: #p::SoAField>() {}
            fn __soa_nested<T: #p::SoA>() {}
            #[allow(dead_code)]
            fn __soa_check #impl_g () #where_c { #( #checks )* }

            impl #ref_decl ::core::clone::Clone for #ref_ty #where_c {
                fn clone(&self) -> Self { *self }
            }
            impl #ref_decl ::core::marker::Copy for #ref_ty #where_c {}
            impl #ref_decl ::core::clone::Clone for #slice_ty #where_c {
                fn clone(&self) -> Self { *self }
            }
            impl #ref_decl ::core::marker::Copy for #slice_ty #where_c {}

            impl #ref_decl #p::RowView for #ref_ty #where_c {
                type Owned = #ident #ty_g;
                fn to_row(&self) -> #ident #ty_g {
                    #ident { #( #clone_fields, )* }
                }
            }

            impl #ref_decl #ref_ty #where_c {
                /// Clones the row out of the columns.
                pub fn to_row(&self) -> #ident #ty_g {
                    #p::RowView::to_row(self)
                }
            }

            impl #ref_decl #p::SliceLen for #slice_ty #where_c {
                fn slice_len(&self) -> usize { #p::SliceLen::slice_len(&self.#first) }
            }

            impl #ref_decl #slice_ty #where_c {
                pub fn len(&self) -> usize { #p::SliceLen::slice_len(&self.#first) }
                pub fn is_empty(&self) -> bool { self.len() == 0 }
            }

            impl #impl_g ::core::iter::Iterator for #into_iter #ty_g #where_c {
                type Item = #ident #ty_g;
                fn next(&mut self) -> ::core::option::Option<Self::Item> {
                    ::core::option::Option::Some(#ident { #( #idents: self.#idents.next()?, )* })
                }
                fn size_hint(&self) -> (usize, ::core::option::Option<usize>) {
                    self.#first.size_hint()
                }
            }

            impl #impl_g ::core::default::Default for #soa #ty_g #where_c {
                fn default() -> Self {
                    Self { #( #idents: ::core::default::Default::default(), )* }
                }
            }

            impl #impl_g #soa #ty_g #where_c {
                pub fn new() -> Self {
                    ::core::default::Default::default()
                }
                pub fn with_capacity(capacity: usize) -> Self {
                    Self { #( #idents: #p::Column::with_capacity(capacity), )* }
                }
                /// Number of rows (the length of the first column).
                pub fn len(&self) -> usize {
                    #p::Column::len(&self.#first)
                }
                pub fn is_empty(&self) -> bool {
                    self.len() == 0
                }
                /// Whether every column has the same length (the public columns can be edited
                /// one by one; conversions report a mismatch as an error).
                pub fn is_consistent(&self) -> bool {
                    let n = self.len();
                    true #( && #p::Column::len(&self.#idents) == n )*
                }
                pub fn reserve(&mut self, additional: usize) {
                    #( #p::Column::reserve(&mut self.#idents, additional); )*
                }
                pub fn push(&mut self, row: #ident #ty_g) {
                    let #ident { #( #idents, )* } = row;
                    #( #p::Column::push(&mut self.#idents, #idents); )*
                }
                /// A borrowed view of row `index`, or `None` past the end.
                pub fn get(&self, index: usize) -> ::core::option::Option<#row_ref<'_, #(#params),*>> {
                    ::core::option::Option::Some(#row_ref { #( #idents: #p::Column::get(&self.#idents, index)?, )* })
                }
                /// Row `index`, cloned, or `None` past the end.
                pub fn row(&self, index: usize) -> ::core::option::Option<#ident #ty_g> {
                    self.get(index).map(|r| #p::RowView::to_row(&r))
                }
                /// Borrowed views of every row, in order.
                pub fn iter(&self) -> impl ::core::iter::Iterator<Item = #row_ref<'_, #(#params),*>> + '_ {
                    (0..self.len()).map_while(move |i| self.get(i))
                }
                /// Removes row `index`, moving the last row into its place; `None` past the end.
                pub fn swap_remove(&mut self, index: usize) -> ::core::option::Option<#ident #ty_g> {
                    if index >= self.len() || !self.is_consistent() {
                        return ::core::option::Option::None;
                    }
                    ::core::option::Option::Some(#ident { #( #idents: #p::Column::swap_remove(&mut self.#idents, index)?, )* })
                }
                /// Removes row `index`, shifting later rows; `None` past the end.
                pub fn remove(&mut self, index: usize) -> ::core::option::Option<#ident #ty_g> {
                    if index >= self.len() || !self.is_consistent() {
                        return ::core::option::Option::None;
                    }
                    ::core::option::Option::Some(#ident { #( #idents: #p::Column::remove(&mut self.#idents, index)?, )* })
                }
                /// Replaces row `index` and returns the old row; gives `row` back past the end.
                pub fn replace(&mut self, index: usize, row: #ident #ty_g) -> ::core::result::Result<#ident #ty_g, #ident #ty_g> {
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
                pub fn retain(&mut self, mut keep: impl FnMut(#row_ref<'_, #(#params),*>) -> bool) {
                    let mask: ::std::vec::Vec<bool> = self.iter().map(|r| keep(r)).collect();
                    #( #p::Column::retain_mask(&mut self.#idents, &mask); )*
                }
                pub fn truncate(&mut self, len: usize) {
                    #( #p::Column::truncate(&mut self.#idents, len); )*
                }
                pub fn clear(&mut self) {
                    #( #p::Column::clear(&mut self.#idents); )*
                }
                /// Swaps two rows (out-of-range indexes: no change).
                pub fn swap(&mut self, a: usize, b: usize) {
                    if a < self.len() && b < self.len() {
                        #( #p::Column::swap(&mut self.#idents, a, b); )*
                    }
                }
                /// Stable sort by a key of each row; one permutation is applied to every column.
                pub fn sort_by_key<K: ::core::cmp::Ord>(&mut self, mut key: impl FnMut(#row_ref<'_, #(#params),*>) -> K) {
                    let keys: ::std::vec::Vec<K> = self.iter().map(|r| key(r)).collect();
                    let perm = #p::sort_permutation(&keys, true, |a, b| a.cmp(b));
                    #p::apply_permutation(self, &perm);
                }
                /// Stable sort with a comparator over row views.
                pub fn sort_by(&mut self, mut cmp: impl FnMut(&#row_ref<'_, #(#params),*>, &#row_ref<'_, #(#params),*>) -> ::core::cmp::Ordering) {
                    let perm = {
                        let rows: ::std::vec::Vec<_> = self.iter().collect();
                        #p::sort_permutation(&rows, true, |a, b| cmp(a, b))
                    };
                    #p::apply_permutation(self, &perm);
                }
                /// Unstable sort with a comparator over row views.
                pub fn sort_unstable_by(&mut self, mut cmp: impl FnMut(&#row_ref<'_, #(#params),*>, &#row_ref<'_, #(#params),*>) -> ::core::cmp::Ordering) {
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

                #[doc(hidden)]
                pub fn __soa_columns(&self) -> ::core::result::Result<::std::vec::Vec<#p::arrow::array::ArrayRef>, #p::ConvertError> {
                    ::core::result::Result::Ok(::std::vec![#(
                        <#col_tys as #p::ArrowColumn>::to_array(&self.#idents, &#opts).map_err(|e| e.in_field(#names))?,
                    )*])
                }
                #[doc(hidden)]
                pub fn __soa_into_columns(self) -> ::core::result::Result<::std::vec::Vec<#p::arrow::array::ArrayRef>, #p::ConvertError> {
                    ::core::result::Result::Ok(::std::vec![#(
                        <#col_tys as #p::ArrowColumn>::into_array(self.#idents, &#opts).map_err(|e| e.in_field(#names))?,
                    )*])
                }
                #[doc(hidden)]
                pub fn __soa_from_source(src: &mut #p::ColumnSource) -> ::core::result::Result<Self, #p::ConvertError> {
                    ::core::result::Result::Ok(Self { #(
                        #idents: src.column::<#col_tys>(#names, &#opts, #defaults)?,
                    )* })
                }
            }

            impl #impl_g #p::Column for #soa #ty_g #where_c {
                type Item = #ident #ty_g;
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
                fn into_items(self) -> Self::IntoIter {
                    #into_iter { #( #idents: #p::Column::into_items(self.#idents), )* }
                }
            }

            impl #impl_g ::core::iter::IntoIterator for #soa #ty_g #where_c {
                type Item = #ident #ty_g;
                type IntoIter = #into_iter #ty_g;
                fn into_iter(self) -> Self::IntoIter { #p::Column::into_items(self) }
            }

            impl #impl_g ::core::iter::Extend<#ident #ty_g> for #soa #ty_g #where_c {
                fn extend<I: ::core::iter::IntoIterator<Item = #ident #ty_g>>(&mut self, rows: I) {
                    let rows = rows.into_iter();
                    self.reserve(rows.size_hint().0);
                    for row in rows { self.push(row); }
                }
            }

            impl #impl_g ::core::iter::FromIterator<#ident #ty_g> for #soa #ty_g #where_c {
                fn from_iter<I: ::core::iter::IntoIterator<Item = #ident #ty_g>>(rows: I) -> Self {
                    let mut soa = Self::new();
                    soa.extend(rows);
                    soa
                }
            }

            impl #impl_g #p::ArrowSchemaGen for #ident #ty_g #where_c {
                fn arrow_schema() -> #p::arrow::datatypes::SchemaRef {
                    let build = || #p::schema::build_schema(
                        #struct_name,
                        ::std::vec![#( <#col_tys as #p::ArrowColumn>::arrow_field(#names, &#opts), )*],
                        #key,
                        &[#( #partitions ),*],
                    );
                    #schema_cache
                }
                fn arrow_field_names() -> &'static [&'static str] {
                    &[#( #names ),*]
                }
            }

            impl #impl_g #p::ArrowSchemaGen for #soa #ty_g #where_c {
                fn arrow_schema() -> #p::arrow::datatypes::SchemaRef {
                    <#ident #ty_g as #p::ArrowSchemaGen>::arrow_schema()
                }
                fn arrow_field_names() -> &'static [&'static str] {
                    <#ident #ty_g as #p::ArrowSchemaGen>::arrow_field_names()
                }
            }

            impl #impl_g #p::ToArrow for #soa #ty_g #where_c {
                fn to_record_batch(&self) -> ::core::result::Result<#p::arrow::array::RecordBatch, #p::ConvertError> {
                    let len = self.len();
                    #p::record_batch(<Self as #p::ArrowSchemaGen>::arrow_schema(), self.__soa_columns()?, len)
                }
                fn into_record_batch(self) -> ::core::result::Result<#p::arrow::array::RecordBatch, #p::ConvertError> {
                    let len = self.len();
                    #p::record_batch(<Self as #p::ArrowSchemaGen>::arrow_schema(), self.__soa_into_columns()?, len)
                }
                fn from_record_batch(batch: &#p::arrow::array::RecordBatch) -> ::core::result::Result<Self, #p::ConvertError> {
                    Self::__soa_from_source(&mut #p::ColumnSource::from_batch(batch))
                }
                fn from_owned_record_batch(batch: #p::arrow::array::RecordBatch) -> ::core::result::Result<Self, #p::ConvertError> {
                    Self::__soa_from_source(&mut #p::ColumnSource::from_owned_batch(batch))
                }
            }

            impl #impl_g #p::ArrowColumn for #soa #ty_g #where_c {
                fn arrow_field(name: &str, _: &#p::FieldOptions) -> #p::arrow::datatypes::Field {
                    let schema = <Self as #p::ArrowSchemaGen>::arrow_schema();
                    #p::arrow::datatypes::Field::new(name, #p::arrow::datatypes::DataType::Struct(schema.fields().clone()), false)
                }
                fn to_array(&self, _: &#p::FieldOptions) -> ::core::result::Result<#p::arrow::array::ArrayRef, #p::ConvertError> {
                    #p::struct_array(<Self as #p::ArrowSchemaGen>::arrow_schema(), self.__soa_columns()?, self.len())
                }
                fn into_array(self, _: &#p::FieldOptions) -> ::core::result::Result<#p::arrow::array::ArrayRef, #p::ConvertError> {
                    let len = self.len();
                    #p::struct_array(<Self as #p::ArrowSchemaGen>::arrow_schema(), self.__soa_into_columns()?, len)
                }
                fn from_array(array: &#p::arrow::array::ArrayRef, opts: &#p::FieldOptions) -> ::core::result::Result<Self, #p::ConvertError> {
                    let expected = <Self as #p::ArrowColumn>::arrow_field("", opts).data_type().clone();
                    Self::__soa_from_source(&mut #p::ColumnSource::from_struct(array.clone(), expected, false)?)
                }
                fn from_array_owned(array: #p::arrow::array::ArrayRef, opts: &#p::FieldOptions) -> ::core::result::Result<Self, #p::ConvertError> {
                    let expected = <Self as #p::ArrowColumn>::arrow_field("", opts).data_type().clone();
                    Self::__soa_from_source(&mut #p::ColumnSource::from_struct(array, expected, true)?)
                }
                fn missing(_: usize) -> ::core::option::Option<Self> {
                    ::core::option::Option::None
                }
            }

            impl #impl_g #p::SoA for #ident #ty_g #where_c {
                type Container = #soa #ty_g;
                type Fields<__R> = #fields_ty<#(#params,)* __R>;
                const STRUCT_NAME: &'static str = #struct_name;
                fn validate(&self) -> ::core::result::Result<(), #p::ConvertError> {
                    #( #validations )*
                    ::core::result::Result::Ok(())
                }
                fn fields_at<__R>(prefix: &[&'static str]) -> Self::Fields<__R> {
                    #fields_ty { #( #idents: #handle_ctors, )* }
                }
            }
        };
    }
}
