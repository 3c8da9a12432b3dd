//! The typed column handles `XxxFields<R>` (`Order::fields().amount`), and the `SoA` impl that
//! ties the struct to its container, its handles and its per-row value check.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::Gen;

/// The declaration of `XxxFields<P.., __R>`.
pub(super) fn handles_type(g: &Gen) -> TokenStream {
    let (p, vis, ident, fields_ty) = (&g.p, g.vis, g.ident, &g.fields_ty);
    let (decl_params, where_c) = (&g.decl_params, &g.where_c);
    let idents = g.idents();
    let handles = g.cols.iter().map(|c| {
        let ty = c.ty;
        match c.nested {
            true => quote_spanned!(ty.span()=> <#ty as #p::SoA>::Fields<__R>),
            false => quote!(#p::Col<__R, #ty>),
        }
    });
    let doc = format!("Typed column handles of [`{ident}`], rooted at struct `__R`.");
    let doc_handles = g
        .names()
        .into_iter()
        .map(|n| format!("The handle of the `{n}` column."));
    quote! {
        #[doc = #doc]
        #vis struct #fields_ty <#(#decl_params,)* __R> #where_c {
            #( #[doc = #doc_handles] pub #idents: #handles, )*
        }
    }
}

/// `SoA` for the struct: container, handles, name, and `validate`.
pub(super) fn soa_impl(g: &Gen) -> TokenStream {
    let (p, soa, fields_ty, struct_name, row) =
        (&g.p, &g.soa, &g.fields_ty, g.struct_name, g.row());
    let (impl_g, ty_g, where_c, params) = (&g.impl_g, &g.ty_g, &g.where_c, &g.params);
    let idents = g.idents();
    let validations = g.cols.iter().map(|c| {
        let (ops, id, name, opts) = (&c.ops, c.ident, c.name, &c.opts);
        quote!(#ops.validate(&self.#id, &#opts).map_err(|e| e.in_field(#name))?;)
    });
    let handles = g.cols.iter().map(|c| {
        let (ty, name, opts) = (c.ty, c.name, &c.opts);
        match c.nested {
            true => quote!({
                let mut path = prefix.to_vec();
                path.push(#name);
                <#ty as #p::SoA>::fields_at::<__R>(&path)
            }),
            false => quote!(#p::Col::new(prefix, #name, #opts)),
        }
    });
    quote! {
        impl #impl_g #p::SoA for #row #where_c {
            type Container = #soa #ty_g;
            type Fields<__R> = #fields_ty<#(#params,)* __R>;
            const STRUCT_NAME: &'static str = #struct_name;
            fn validate(&self) -> ::core::result::Result<(), #p::ConvertError> {
                #( #validations )*
                ::core::result::Result::Ok(())
            }
            fn fields_at<__R>(prefix: &[&'static str]) -> Self::Fields<__R> {
                #fields_ty { #( #idents: #handles, )* }
            }
        }
    }
}
