//! Derive macros of soa-persist: `SoA` (container, row views, schema, conversion, column
//! handles), `SoAStore` (key index, store aliases) and `SoAEnum` (dictionary-encoded enums).
//!
//! Like serde_derive, each macro parses the input once into a model (`ast`), collecting every
//! misuse as an error on the user's span (`ctxt`), then generates code from the model. Generated
//! code names the runtime only through `#[soa(crate = "...")]`, `::soa_persist` by default.

mod ast;
mod ctxt;
mod gen_enum;
mod gen_soa;
mod gen_store;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Generates `XxxSoA` (one `Vec` per field), `XxxRef`, `XxxSlice`, `XxxFields`, the Arrow schema
/// and the conversions to and from `RecordBatch`.
#[proc_macro_derive(SoA, attributes(soa))]
pub fn derive_soa(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(ast::Struct::parse(&input), gen_soa::expand)
}

/// Generates the key index (`Keyed`) and the `XxxStore` / `PersistentXxxStore<P>` aliases.
#[proc_macro_derive(SoAStore, attributes(soa))]
pub fn derive_soa_store(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(
        ast::Struct::parse(&input).and_then(gen_store::check),
        gen_store::expand,
    )
}

/// Stores a field-less enum as an Arrow dictionary of its variant names.
#[proc_macro_derive(SoAEnum, attributes(soa))]
pub fn derive_soa_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(ast::Enum::parse(&input), gen_enum::expand)
}

fn expand<T>(
    model: Result<T, syn::Error>,
    generate: impl FnOnce(&T) -> proc_macro2::TokenStream,
) -> TokenStream {
    match model {
        Ok(model) => generate(&model).into(),
        Err(err) => err.into_compile_error().into(),
    }
}
