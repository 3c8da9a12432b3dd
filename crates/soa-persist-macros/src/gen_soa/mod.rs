//! Code generation for `#[derive(SoA)]`. [`Gen`] holds the names every part shares; each file
//! generates one group of items: `rows` the container, row and slice types, `container` the
//! container's methods, `arrow` schema and conversion, `fields` the typed column handles and the
//! `SoA` impl, `checks` the per-field type checks.

mod arrow;
mod checks;
mod container;
mod fields;
mod rows;

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::{GenericParam, Ident, Lifetime, Type};

use crate::ast::Struct;

pub(crate) fn expand(s: &Struct) -> TokenStream {
    let g = Gen::new(s);
    let types = rows::types(&g);
    let handles = fields::handles_type(&g);
    let row_impls = rows::impls(&g);
    let checks = checks::check_fn(&g);
    let inherent = container::inherent(&g);
    let column = container::column_impl(&g);
    let iter = container::iter_impls(&g);
    let arrow = arrow::impls(&g);
    let soa = fields::soa_impl(&g);
    quote! {
        #types
        #handles
        const _: () = {
            #checks
            #row_impls
            #inherent
            #column
            #iter
            #arrow
            #soa
        };
    }
}

/// Names shared by the generated items.
pub(crate) struct Gen<'a> {
    /// `#krate::__private`, the only path the generated code reaches the runtime through.
    pub p: TokenStream,
    pub vis: &'a syn::Visibility,
    pub ident: &'a Ident,
    /// The struct name recorded in the schema.
    pub struct_name: &'a str,
    pub soa: Ident,
    pub row_ref: Ident,
    pub slice: Ident,
    pub fields_ty: Ident,
    pub into_iter: Ident,
    pub impl_g: TokenStream,
    pub ty_g: TokenStream,
    pub where_c: TokenStream,
    /// Type and const parameters, to name generated types with an extra lifetime or parameter.
    pub params: Vec<TokenStream>,
    /// The same with their bounds, for declarations.
    pub decl_params: Vec<TokenStream>,
    /// The lifetime of row and slice views.
    pub lt: Lifetime,
    pub cols: Vec<Col<'a>>,
    pub key: Option<&'a str>,
    pub partitions: Vec<&'a str>,
}

/// One field and the tokens its column is generated from.
pub(crate) struct Col<'a> {
    pub ident: &'a Ident,
    pub name: &'a str,
    pub ty: &'a Type,
    pub nested: bool,
    /// Stored in a column other than `Vec<T>` that is not a nested container (`#[soa(arrow)]`):
    /// its views are the column's `Ref` and `Slice`.
    pub arrow: bool,
    /// Its `FieldOptions` expression.
    pub opts: TokenStream,
    /// The column's type: `Vec<T>`, an Arrow-layout column, or the nested struct's container.
    pub col: TokenStream,
    /// The column's operation table (see `checks`).
    pub ops: TokenStream,
    /// `Option<fn() -> T>`: the value filled in when a batch lacks the column.
    pub default: TokenStream,
}

impl<'a> Gen<'a> {
    fn new(s: &'a Struct) -> Self {
        let krate = &s.krate;
        let p = quote!(#krate::__private);
        let (impl_g, ty_g, where_c) = s.generics.split_for_impl();
        let cols = s
            .fields
            .iter()
            .map(|f| checks::column(&p, krate, f, s.arrow))
            .collect();
        Gen {
            vis: &s.vis,
            ident: &s.ident,
            struct_name: &s.name,
            soa: format_ident!("{}SoA", s.ident),
            row_ref: format_ident!("{}Ref", s.ident),
            slice: format_ident!("{}Slice", s.ident),
            fields_ty: format_ident!("{}Fields", s.ident),
            into_iter: format_ident!("{}IntoIter", s.ident),
            impl_g: impl_g.to_token_stream(),
            ty_g: ty_g.to_token_stream(),
            where_c: where_c.to_token_stream(),
            params: params(s),
            decl_params: decl_params(s),
            lt: Lifetime::new("'__a", proc_macro2::Span::call_site()),
            cols,
            key: s.key().map(|k| k.name.as_str()),
            partitions: s
                .fields
                .iter()
                .filter(|f| f.partition)
                .map(|f| f.name.as_str())
                .collect(),
            p,
        }
    }

    pub(crate) fn idents(&self) -> Vec<&Ident> {
        self.cols.iter().map(|c| c.ident).collect()
    }

    pub(crate) fn names(&self) -> Vec<&str> {
        self.cols.iter().map(|c| c.name).collect()
    }

    /// The first field, whose length is the container's.
    pub(crate) fn first(&self) -> &Ident {
        self.cols[0].ident
    }

    /// `XxxRef<'__a, P..>`.
    pub(crate) fn ref_ty(&self) -> TokenStream {
        let (row_ref, lt, params) = (&self.row_ref, &self.lt, &self.params);
        quote!(#row_ref<#lt, #(#params),*>)
    }

    /// `XxxRef<'_, P..>`, as an argument or return type.
    pub(crate) fn ref_anon(&self) -> TokenStream {
        let (row_ref, params) = (&self.row_ref, &self.params);
        quote!(#row_ref<'_, #(#params),*>)
    }

    /// `XxxSlice<'__a, P..>`.
    pub(crate) fn slice_ty(&self) -> TokenStream {
        let (slice, lt, params) = (&self.slice, &self.lt, &self.params);
        quote!(#slice<#lt, #(#params),*>)
    }

    /// `<'__a, P: Bounds..>`, the parameters of the row and slice views.
    pub(crate) fn ref_decl(&self) -> TokenStream {
        let (lt, decl) = (&self.lt, &self.decl_params);
        quote!(<#lt, #(#decl),*>)
    }

    /// The user's struct with its parameters: `Order<P..>`.
    pub(crate) fn row(&self) -> TokenStream {
        let (ident, ty_g) = (self.ident, &self.ty_g);
        quote!(#ident #ty_g)
    }
}

fn params(s: &Struct) -> Vec<TokenStream> {
    s.generics
        .params
        .iter()
        .filter_map(|gp| match gp {
            GenericParam::Type(t) => Some(t.ident.to_token_stream()),
            GenericParam::Const(c) => Some(c.ident.to_token_stream()),
            GenericParam::Lifetime(_) => None,
        })
        .collect()
}

fn decl_params(s: &Struct) -> Vec<TokenStream> {
    s.generics
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
        .collect()
}
