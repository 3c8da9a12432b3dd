//! The container `XxxSoA` (one public column per field), the borrowed row `XxxRef` and range
//! `XxxSlice`, and the owning iterator `XxxIntoIter`: their declarations and small impls.

use proc_macro2::TokenStream;
use quote::quote;

use super::Gen;

/// The public type declarations.
pub(super) fn types(g: &Gen) -> TokenStream {
    let (p, vis, ident, lt) = (&g.p, g.vis, g.ident, &g.lt);
    let (soa, row_ref, slice, into_iter) = (&g.soa, &g.row_ref, &g.slice, &g.into_iter);
    let (impl_g, where_c) = (&g.impl_g, &g.where_c);
    let ref_decl = g.ref_decl();
    let idents = g.idents();
    let cols: Vec<&TokenStream> = g.cols.iter().map(|c| &c.col).collect();
    let ref_fields = g.cols.iter().map(|c| {
        let (col, ty) = (&c.col, c.ty);
        match c.nested || c.arrow {
            true => quote!(<#col as #p::Column>::Ref<#lt>),
            false => quote!(&#lt #ty),
        }
    });
    let slice_fields = g.cols.iter().map(|c| {
        let (col, ty) = (&c.col, c.ty);
        match c.nested || c.arrow {
            true => quote!(<#col as #p::Column>::Slice<#lt>),
            false => quote!(&#lt [#ty]),
        }
    });
    let doc_soa = format!("Struct-of-arrays container of [`{ident}`]: one column per field.");
    let doc_ref = format!("A borrowed row of [`{soa}`].");
    let doc_slice = format!("A borrowed range of rows of [`{soa}`].");
    let names = g.names();
    let doc_cols = names.iter().map(|n| format!("The `{n}` column."));
    let doc_refs = names.iter().map(|n| format!("The row's `{n}`."));
    let doc_slices = names.iter().map(|n| format!("The range's `{n}` values."));
    quote! {
        #[doc = #doc_soa]
        #[derive(Clone, Debug, PartialEq)]
        #vis struct #soa #impl_g #where_c {
            #( #[doc = #doc_cols] pub #idents: #cols, )*
        }

        #[doc = #doc_ref]
        #[derive(Debug, PartialEq)]
        #vis struct #row_ref #ref_decl #where_c {
            #( #[doc = #doc_refs] pub #idents: #ref_fields, )*
        }

        #[doc = #doc_slice]
        #[derive(Debug, PartialEq)]
        #vis struct #slice #ref_decl #where_c {
            #( #[doc = #doc_slices] pub #idents: #slice_fields, )*
        }

        /// Moves the rows out of the container, in order.
        #vis struct #into_iter #impl_g #where_c {
            #( #idents: <#cols as #p::Column>::IntoIter, )*
        }
    }
}

/// `Copy` views, `RowView`, `SliceLen`, and the owning iterator.
pub(super) fn impls(g: &Gen) -> TokenStream {
    let (p, ident, into_iter, first) = (&g.p, g.ident, &g.into_iter, g.first());
    let (impl_g, ty_g, where_c) = (&g.impl_g, &g.ty_g, &g.where_c);
    let (ref_ty, slice_ty, ref_decl, row) = (g.ref_ty(), g.slice_ty(), g.ref_decl(), g.row());
    let idents = g.idents();
    quote! {
        impl #ref_decl ::core::clone::Clone for #ref_ty #where_c {
            fn clone(&self) -> Self { *self }
        }
        impl #ref_decl ::core::marker::Copy for #ref_ty #where_c {}
        impl #ref_decl ::core::clone::Clone for #slice_ty #where_c {
            fn clone(&self) -> Self { *self }
        }
        impl #ref_decl ::core::marker::Copy for #slice_ty #where_c {}

        impl #ref_decl #p::RowView for #ref_ty #where_c {
            type Owned = #row;
            fn to_row(&self) -> #row {
                #ident { #( #idents: #p::RowView::to_row(&self.#idents), )* }
            }
        }

        impl #ref_decl #ref_ty #where_c {
            /// Clones the row out of the columns.
            pub fn to_row(&self) -> #row {
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
            type Item = #row;
            fn next(&mut self) -> ::core::option::Option<Self::Item> {
                ::core::option::Option::Some(#ident { #( #idents: self.#idents.next()?, )* })
            }
            fn size_hint(&self) -> (usize, ::core::option::Option<usize>) {
                self.#first.size_hint()
            }
        }
    }
}
