//! The per-field type checks. Everything the generated code does with a field's type that needs
//! one of its traits goes through the field's operation table, `field_column::<T>()` (or
//! `nested_column::<T>()`), written at the field type's span. That call is the only place a
//! bound on `T` is required, so an unsupported type gives the same error at the same span
//! wherever it is used, and rustc reports it once, on the user's field.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Path;
use syn::spanned::Spanned;

use super::{Col, Gen};
use crate::ast::{Default, Field};

/// The tokens a field's column is generated from.
pub(super) fn column<'a>(
    p: &TokenStream,
    krate: &Path,
    f: &'a Field,
    struct_arrow: bool,
) -> Col<'a> {
    let ty = &f.ty;
    let span = ty.span();
    let unit = match f.timestamp.as_ref().map(|u| u.to_string()).as_deref() {
        Some("Second") => quote!(#p::Seconds),
        Some("Millisecond") => quote!(#p::Millis),
        Some("Nanosecond") => quote!(#p::Nanos),
        _ => quote!(#p::Micros),
    };
    let arrow = !f.nested && (f.arrow.is_some() || struct_arrow);
    let (col, ops) = if f.nested {
        (
            quote_spanned!(span=> <#ty as #p::SoA>::Container),
            quote_spanned!(span=> #p::nested_column::<#ty>()),
        )
    } else if f.arrow.is_some() {
        (
            quote_spanned!(span=> <#ty as #p::ArrowLayout<#unit>>::Column),
            quote_spanned!(span=> #p::arrow_column::<#ty, #unit>()),
        )
    } else if struct_arrow {
        (
            quote_spanned!(span=> <#ty as #p::StructLayout<#unit>>::Column),
            quote_spanned!(span=> #p::struct_column::<#ty, #unit>()),
        )
    } else {
        (
            quote!(::std::vec::Vec<#ty>),
            quote_spanned!(span=> #p::field_column::<#ty>()),
        )
    };
    Col {
        ident: &f.ident,
        name: &f.name,
        ty,
        nested: f.nested,
        arrow,
        opts: f.options(krate),
        col,
        ops,
        default: default(f),
    }
}

/// `Option<fn() -> T>` from `#[soa(default)]` / `#[soa(default = "path")]`.
fn default(f: &Field) -> TokenStream {
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
}

/// A function that names every field's table, so each field type is checked even where no
/// other generated code would need it yet.
pub(super) fn check_fn(g: &Gen) -> TokenStream {
    let (impl_g, where_c) = (&g.impl_g, &g.where_c);
    let ops = g.cols.iter().map(|c| &c.ops);
    quote! {
        #[allow(dead_code)]
        fn __soa_check #impl_g () #where_c {
            #( let _ = #ops; )*
        }
    }
}
