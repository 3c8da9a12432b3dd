//! Code generation for `#[derive(SoAStore)]`: the key index and the store aliases.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::Struct;

/// SoAStore needs a key to index rows by.
pub(crate) fn check(s: Struct) -> Result<Struct, syn::Error> {
    if s.key().is_none() {
        return Err(syn::Error::new_spanned(
            &s.ident,
            "SoAStore needs one field marked #[soa(key)] to index rows by",
        ));
    }
    Ok(s)
}

pub(crate) fn expand(s: &Struct) -> TokenStream {
    let Some(key) = s.key() else {
        return TokenStream::new();
    };
    let krate = &s.krate;
    let p = quote!(#krate::__private);
    let (vis, ident) = (&s.vis, &s.ident);
    let (impl_g, ty_g, where_c) = s.generics.split_for_impl();
    let (key_ident, key_name) = (&key.ident, &key.name);
    // Spanned at the key's type, so "the key must be Hash + Eq" errors point there.
    let key_ty = &key.ty;
    let key_opts = key.options(krate);
    let key_assoc = quote_spanned!(key_ty.span()=> type Key = #key_ty;);
    let store = format_ident!("{}Store", ident);
    let persistent = format_ident!("Persistent{}Store", ident);
    let persistent_doc =
        format!("[`{ident}`] rows on persistence backend `__P`, with a write buffer.");
    let store_doc = format!("The in-memory domain store of [`{ident}`], indexed by `{key_name}`.");
    let bare_params: Vec<TokenStream> = s
        .generics
        .params
        .iter()
        .filter_map(|gp| match gp {
            syn::GenericParam::Type(t) => Some(t.ident.clone()),
            syn::GenericParam::Const(c) => Some(c.ident.clone()),
            syn::GenericParam::Lifetime(_) => None,
        })
        .map(|i| quote!(#i))
        .collect();
    quote! {
        impl #impl_g #p::Keyed for #ident #ty_g #where_c {
            #key_assoc
            const KEY_FIELD: &'static str = #key_name;
            fn key_column() -> #p::Col<Self, Self::Key> {
                #p::Col::new(&[], #key_name, #key_opts)
            }
            fn key(&self) -> &Self::Key {
                &self.#key_ident
            }
            fn key_at(rows: &<Self as #p::SoA>::Container, index: usize) -> ::core::option::Option<&Self::Key> {
                rows.#key_ident.get(index)
            }
        }

        #[doc = #store_doc]
        #vis type #store<#(#bare_params),*> = #p::Store<#ident<#(#bare_params),*>>;

        #[doc = #persistent_doc]
        #vis type #persistent<__P, #(#bare_params),*> = #p::PersistentStore<#ident<#(#bare_params),*>, __P>;
    }
}
