//! Schema and conversion: `ArrowSchemaGen` for the struct and its container, the hidden
//! `SoAColumns` (columns <-> arrays, through each field's operation table), `ToArrow`, and
//! `ArrowColumn`, which lets the container be a `#[soa(nested)]` column of another struct.

use proc_macro2::TokenStream;
use quote::quote;

use super::Gen;

pub(super) fn impls(g: &Gen) -> TokenStream {
    let (schema, columns, convert) = (schema(g), soa_columns(g), convert(g));
    quote! { #schema #columns #convert }
}

/// `ArrowSchemaGen` for the struct (built once) and for its container.
fn schema(g: &Gen) -> TokenStream {
    let (p, soa, struct_name, row) = (&g.p, &g.soa, g.struct_name, g.row());
    let (impl_g, ty_g, where_c) = (&g.impl_g, &g.ty_g, &g.where_c);
    let names = g.names();
    let fields = g.cols.iter().map(|c| {
        let (ops, name, opts) = (&c.ops, c.name, &c.opts);
        quote!(#ops.arrow_field(#name, &#opts))
    });
    let key = match g.key {
        Some(k) => quote!(::core::option::Option::Some(#k)),
        None => quote!(::core::option::Option::None),
    };
    let partitions = &g.partitions;
    // A generic struct has one schema per instantiation; a static can't be generic.
    let cache = if g.params.is_empty() {
        quote! {
            static SCHEMA: ::std::sync::OnceLock<#p::arrow::datatypes::SchemaRef> = ::std::sync::OnceLock::new();
            SCHEMA.get_or_init(|| ::std::sync::Arc::new(build())).clone()
        }
    } else {
        quote!(#p::schema::cached_schema::<Self>(build))
    };
    quote! {
        impl #impl_g #p::ArrowSchemaGen for #row #where_c {
            fn arrow_schema() -> #p::arrow::datatypes::SchemaRef {
                let build = || #p::schema::build_schema(
                    #struct_name,
                    ::std::vec![#( #fields, )*],
                    #key,
                    &[#( #partitions ),*],
                );
                #cache
            }
            fn arrow_field_names() -> &'static [&'static str] {
                &[#( #names ),*]
            }
        }

        impl #impl_g #p::ArrowSchemaGen for #soa #ty_g #where_c {
            fn arrow_schema() -> #p::arrow::datatypes::SchemaRef {
                <#row as #p::ArrowSchemaGen>::arrow_schema()
            }
            fn arrow_field_names() -> &'static [&'static str] {
                <#row as #p::ArrowSchemaGen>::arrow_field_names()
            }
        }
    }
}

/// The hidden `SoAColumns`: every column to an array and back, by name.
fn soa_columns(g: &Gen) -> TokenStream {
    let (p, soa) = (&g.p, &g.soa);
    let (impl_g, ty_g, where_c) = (&g.impl_g, &g.ty_g, &g.where_c);
    let to = g.cols.iter().map(|c| {
        let (ops, id, name, opts) = (&c.ops, c.ident, c.name, &c.opts);
        quote!(#ops.to_array(&self.#id, &#opts).map_err(|e| e.in_field(#name))?)
    });
    let into = g.cols.iter().map(|c| {
        let (ops, id, name, opts) = (&c.ops, c.ident, c.name, &c.opts);
        quote!(#ops.into_array(self.#id, &#opts).map_err(|e| e.in_field(#name))?)
    });
    let range = g.cols.iter().map(|c| {
        let (ops, id, name, opts) = (&c.ops, c.ident, c.name, &c.opts);
        quote!(match #ops.to_array_range(&self.#id, range.clone(), &#opts)? {
            ::core::result::Result::Ok(array) => array,
            ::core::result::Result::Err(e) => {
                return ::core::option::Option::Some(::core::result::Result::Err(e.in_field(#name)));
            }
        })
    });
    let from = g.cols.iter().map(|c| {
        let (ops, id, name, opts, default) = (&c.ops, c.ident, c.name, &c.opts, &c.default);
        quote!(#id: #ops.read(source, #name, &#opts, #default)?)
    });
    let result = quote!(::core::result::Result);
    let arrays = quote!(::std::vec::Vec<#p::arrow::array::ArrayRef>);
    quote! {
        impl #impl_g #p::SoAColumns for #soa #ty_g #where_c {
            fn to_columns(&self) -> #result<#arrays, #p::ConvertError> {
                #result::Ok(::std::vec![#( #to, )*])
            }
            fn into_columns(self) -> #result<#arrays, #p::ConvertError> {
                #result::Ok(::std::vec![#( #into, )*])
            }
            fn to_columns_range(
                &self,
                range: ::core::ops::Range<usize>,
            ) -> ::core::option::Option<#result<#arrays, #p::ConvertError>> {
                ::core::option::Option::Some(#result::Ok(::std::vec![#( #range, )*]))
            }
            fn from_columns(source: &mut #p::ColumnSource) -> #result<Self, #p::ConvertError> {
                #result::Ok(Self { #( #from, )* })
            }
        }
    }
}

/// `ToArrow` (a whole batch) and `ArrowColumn` (a struct array inside a parent's batch).
fn convert(g: &Gen) -> TokenStream {
    let (p, soa) = (&g.p, &g.soa);
    let (impl_g, ty_g, where_c) = (&g.impl_g, &g.ty_g, &g.where_c);
    let result = quote!(::core::result::Result);
    let (batch, array) = (
        quote!(#p::arrow::array::RecordBatch),
        quote!(#p::arrow::array::ArrayRef),
    );
    let (cols, schema) = (
        quote!(#p::SoAColumns),
        quote!(<Self as #p::ArrowSchemaGen>::arrow_schema()),
    );
    quote! {
        impl #impl_g #p::ToArrow for #soa #ty_g #where_c {
            fn to_record_batch(&self) -> #result<#batch, #p::ConvertError> {
                #p::record_batch(#schema, <Self as #cols>::to_columns(self)?, self.len())
            }
            fn into_record_batch(self) -> #result<#batch, #p::ConvertError> {
                let len = self.len();
                #p::record_batch(#schema, <Self as #cols>::into_columns(self)?, len)
            }
            fn to_record_batch_range(
                &self,
                range: ::core::ops::Range<usize>,
            ) -> ::core::option::Option<#result<#batch, #p::ConvertError>> {
                let range = #p::clamp_range(range, self.len());
                let len = range.len();
                ::core::option::Option::Some(<Self as #cols>::to_columns_range(self, range)?
                    .and_then(|columns| #p::record_batch(#schema, columns, len)))
            }
            fn from_record_batch(batch: &#batch) -> #result<Self, #p::ConvertError> {
                <Self as #cols>::from_columns(&mut #p::ColumnSource::from_batch(batch))
            }
            fn from_owned_record_batch(batch: #batch) -> #result<Self, #p::ConvertError> {
                <Self as #cols>::from_columns(&mut #p::ColumnSource::from_owned_batch(batch))
            }
        }

        impl #impl_g #p::ArrowColumn for #soa #ty_g #where_c {
            fn arrow_field(name: &str, _: &#p::FieldOptions) -> #p::arrow::datatypes::Field {
                let fields = #schema.fields().clone();
                #p::arrow::datatypes::Field::new(name, #p::arrow::datatypes::DataType::Struct(fields), false)
            }
            fn to_array(&self, _: &#p::FieldOptions) -> #result<#array, #p::ConvertError> {
                #p::struct_array(#schema, <Self as #cols>::to_columns(self)?, self.len())
            }
            fn into_array(self, _: &#p::FieldOptions) -> #result<#array, #p::ConvertError> {
                let len = self.len();
                #p::struct_array(#schema, <Self as #cols>::into_columns(self)?, len)
            }
            fn to_array_range(
                &self,
                range: ::core::ops::Range<usize>,
                _: &#p::FieldOptions,
            ) -> ::core::option::Option<#result<#array, #p::ConvertError>> {
                let len = range.len();
                ::core::option::Option::Some(<Self as #cols>::to_columns_range(self, range)?
                    .and_then(|columns| #p::struct_array(#schema, columns, len)))
            }
            fn from_array(array: &#array, opts: &#p::FieldOptions) -> #result<Self, #p::ConvertError> {
                let expected = <Self as #p::ArrowColumn>::arrow_field("", opts).data_type().clone();
                let mut source = #p::ColumnSource::from_struct(array.clone(), expected, false)?;
                <Self as #cols>::from_columns(&mut source)
            }
            fn from_array_owned(array: #array, opts: &#p::FieldOptions) -> #result<Self, #p::ConvertError> {
                let expected = <Self as #p::ArrowColumn>::arrow_field("", opts).data_type().clone();
                let mut source = #p::ColumnSource::from_struct(array, expected, true)?;
                <Self as #cols>::from_columns(&mut source)
            }
            fn missing(_: usize) -> ::core::option::Option<Self> {
                ::core::option::Option::None
            }
        }
    }
}
