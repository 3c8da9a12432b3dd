//! Code generation for `#[derive(SoAEnum)]`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::Enum;

pub(crate) fn expand(e: &Enum) -> TokenStream {
    let krate = &e.krate;
    let p = quote!(#krate::__private);
    let ident = &e.ident;
    let names: Vec<&String> = e.variants.iter().map(|v| &v.name).collect();
    let variants: Vec<&syn::Ident> = e.variants.iter().map(|v| &v.ident).collect();
    let indexes: Vec<usize> = (0..variants.len()).collect();
    let first = variants[0];
    quote! {
        const _: () = {
            impl #p::SoAEnum for #ident {
                const VARIANTS: &'static [&'static str] = &[#( #names ),*];
                const ALL: &'static [Self] = &[#( Self::#variants ),*];
                fn variant_index(&self) -> usize {
                    match self { #( Self::#variants => #indexes, )* }
                }
                fn from_variant_index(index: usize) -> ::core::option::Option<Self> {
                    match index {
                        #( #indexes => ::core::option::Option::Some(Self::#variants), )*
                        _ => ::core::option::Option::None,
                    }
                }
            }

            impl #p::BaseField for #ident {
                fn data_type(_: &#p::FieldOptions) -> #p::arrow::datatypes::DataType {
                    #p::enum_data_type::<Self>()
                }
                fn metadata(_: &#p::FieldOptions) -> ::std::collections::HashMap<::std::string::String, ::std::string::String> {
                    #p::enum_metadata::<Self>()
                }
                fn placeholder() -> Self {
                    Self::#first
                }
                fn encode(values: &[Self], _: &#p::FieldOptions) -> ::core::result::Result<#p::arrow::array::ArrayRef, #p::ConvertError> {
                    #p::enum_encode(values)
                }
                fn decode(array: &#p::arrow::array::ArrayRef, opts: &#p::FieldOptions) -> ::core::result::Result<::std::vec::Vec<Self>, #p::ConvertError> {
                    #p::enum_decode(array, opts)
                }
            }

            impl #p::ListItem for #ident {}

            impl<__U: #p::TimestampUnit> #p::ArrowLayout<__U> for #ident {
                type Column = #p::EnumColumn<Self>;
            }

            impl<__U: #p::TimestampUnit> #p::StructLayout<__U> for #ident {
                type Column = #p::EnumColumn<Self>;
            }
        };
    }
}
