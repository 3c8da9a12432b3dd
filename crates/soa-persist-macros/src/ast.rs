//! The model a derive input is parsed into, with every `#[soa(...)]` attribute read and checked.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::spanned::Spanned;
use syn::{
    Data, DeriveInput, Fields, GenericParam, Generics, Ident, LitInt, LitStr, Path, Type,
    Visibility,
};

use crate::ctxt::Ctxt;

const FIELD_ATTRS: &str = "key, partition, rename = \"..\", nested, arrow, timestamp = \"s|ms|us|ns\", decimal(precision, scale), default, default = \"path\"";

/// `#[soa(default)]` or `#[soa(default = "path::to::fn")]`.
pub(crate) enum Default {
    Trait,
    Path(Path),
}

pub(crate) struct Field {
    pub ident: Ident,
    pub ty: Type,
    /// The Arrow column name (`rename` or the field's name).
    pub name: String,
    pub key: Option<Span>,
    pub partition: bool,
    pub nested: bool,
    /// `#[soa(arrow)]`: stored in the type's Arrow-layout column.
    pub arrow: Option<Span>,
    /// `TimeUnit` variant name.
    pub timestamp: Option<Ident>,
    pub decimal: Option<(u8, i8)>,
    pub default: Option<Default>,
}

pub(crate) struct Struct {
    pub ident: Ident,
    pub vis: Visibility,
    pub generics: Generics,
    /// The struct name recorded in the schema.
    pub name: String,
    pub krate: Path,
    /// `#[soa(arrow)]` on the struct: every field in its Arrow-layout column where it has one.
    pub arrow: bool,
    pub fields: Vec<Field>,
}

impl Struct {
    pub(crate) fn key(&self) -> Option<&Field> {
        self.fields.iter().find(|f| f.key.is_some())
    }

    pub(crate) fn parse(input: &DeriveInput) -> Result<Self, syn::Error> {
        let mut cx = Ctxt::new();
        let mut name = input.ident.to_string();
        let mut arrow = false;
        let krate = container_attrs(&mut cx, &input.attrs, &mut name, Some(&mut arrow));
        check_generics(&mut cx, &input.generics);
        let raw_fields = match &input.data {
            Data::Struct(s) => match &s.fields {
                Fields::Named(named) => named.named.iter().collect::<Vec<_>>(),
                Fields::Unnamed(_) | Fields::Unit => {
                    cx.error(&input.ident, "SoA needs a struct with named fields (tuple and unit structs have no column names)");
                    Vec::new()
                }
            },
            _ => {
                cx.error(&input.ident, "SoA can only be derived for structs with named fields; for a field-less enum use #[derive(SoAEnum)]");
                Vec::new()
            }
        };
        if raw_fields.is_empty()
            && matches!(&input.data, Data::Struct(s) if matches!(s.fields, Fields::Named(_)))
        {
            cx.error(&input.ident, "SoA needs at least one field");
        }
        let fields: Vec<Field> = raw_fields
            .into_iter()
            .filter_map(|f| parse_field(&mut cx, f))
            .collect();
        check_fields(&mut cx, &fields);
        cx.finish(Self {
            ident: input.ident.clone(),
            vis: input.vis.clone(),
            generics: input.generics.clone(),
            name,
            krate,
            arrow,
            fields,
        })
    }
}

pub(crate) struct Variant {
    pub ident: Ident,
    pub name: String,
}

pub(crate) struct Enum {
    pub ident: Ident,
    pub krate: Path,
    pub variants: Vec<Variant>,
}

impl Enum {
    pub(crate) fn parse(input: &DeriveInput) -> Result<Self, syn::Error> {
        let mut cx = Ctxt::new();
        let mut unused = String::new();
        let krate = container_attrs(&mut cx, &input.attrs, &mut unused, None);
        if !input.generics.params.is_empty() {
            cx.error(&input.generics, "SoAEnum does not support generic enums");
        }
        let mut variants = Vec::new();
        match &input.data {
            Data::Enum(data) => {
                if data.variants.is_empty() {
                    cx.error(&input.ident, "SoAEnum needs at least one variant");
                }
                for v in &data.variants {
                    if !matches!(v.fields, Fields::Unit) {
                        cx.error(v, "SoAEnum supports only field-less variants (stored as a dictionary of names); a variant with data is not supported");
                        continue;
                    }
                    let mut name = v.ident.to_string();
                    for attr in v.attrs.iter().filter(|a| a.path().is_ident("soa")) {
                        let parsed = attr.parse_nested_meta(|meta| {
                            if meta.path.is_ident("rename") {
                                name = meta.value()?.parse::<LitStr>()?.value();
                                Ok(())
                            } else {
                                Err(meta
                                    .error("unknown variant attribute; supported: rename = \"..\""))
                            }
                        });
                        if let Err(e) = parsed {
                            cx.push(e);
                        }
                    }
                    if variants.iter().any(|o: &Variant| o.name == name) {
                        cx.error(v, format!("two variants are named `{name}`"));
                    }
                    variants.push(Variant {
                        ident: v.ident.clone(),
                        name,
                    });
                }
            }
            _ => cx.error(
                &input.ident,
                "SoAEnum can only be derived for enums with field-less variants",
            ),
        }
        cx.finish(Self {
            ident: input.ident.clone(),
            krate,
            variants,
        })
    }
}

/// `#[soa(crate = "...", rename = "...")]` on the struct or enum, and `#[soa(arrow)]` on a
/// struct (`arrow` is `None` for an enum).
fn container_attrs(
    cx: &mut Ctxt,
    attrs: &[syn::Attribute],
    name: &mut String,
    mut arrow: Option<&mut bool>,
) -> Path {
    let mut krate: Path = syn::parse_quote!(::soa_persist);
    for attr in attrs.iter().filter(|a| a.path().is_ident("soa")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                krate = meta.value()?.parse::<LitStr>()?.parse()?;
                Ok(())
            } else if meta.path.is_ident("rename") {
                *name = meta.value()?.parse::<LitStr>()?.value();
                Ok(())
            } else if let (true, Some(arrow)) = (meta.path.is_ident("arrow"), arrow.as_deref_mut()) {
                *arrow = true;
                Ok(())
            } else if arrow.is_some() {
                Err(meta.error(
                    "unknown container attribute; supported: crate = \"path\", rename = \"name\", arrow",
                ))
            } else {
                Err(meta.error(
                    "unknown container attribute; supported: crate = \"path\", rename = \"name\"",
                ))
            }
        });
        if let Err(e) = parsed {
            cx.push(e);
        }
    }
    krate
}

fn check_generics(cx: &mut Ctxt, generics: &Generics) {
    for param in &generics.params {
        if let GenericParam::Lifetime(l) = param {
            cx.error(l, "SoA structs can't borrow: lifetime parameters are not supported (store owned values)");
        }
    }
}

/// Whether `ty` is written as `Option<..>`.
pub(crate) fn is_option(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().is_some_and(|s| {
            s.ident == "Option" && matches!(s.arguments, syn::PathArguments::AngleBracketed(_))
        }),
        Type::Group(g) => is_option(&g.elem),
        _ => false,
    }
}

fn parse_field(cx: &mut Ctxt, field: &syn::Field) -> Option<Field> {
    let ident = field.ident.clone()?;
    let mut out = Field {
        name: ident.to_string(),
        ident,
        ty: field.ty.clone(),
        key: None,
        partition: false,
        nested: false,
        arrow: None,
        timestamp: None,
        decimal: None,
        default: None,
    };
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("soa")) {
        let parsed = attr.parse_nested_meta(|meta| {
            let path = &meta.path;
            if path.is_ident("key") {
                out.key = Some(path.span());
            } else if path.is_ident("partition") {
                out.partition = true;
            } else if path.is_ident("nested") {
                out.nested = true;
            } else if path.is_ident("arrow") {
                out.arrow = Some(path.span());
            } else if path.is_ident("rename") {
                out.name = meta.value()?.parse::<LitStr>()?.value();
            } else if path.is_ident("timestamp") {
                let unit = meta.value()?.parse::<LitStr>()?;
                let variant = match unit.value().as_str() {
                    "s" => "Second",
                    "ms" => "Millisecond",
                    "us" => "Microsecond",
                    "ns" => "Nanosecond",
                    other => {
                        return Err(syn::Error::new_spanned(
                            &unit,
                            format!("unknown timestamp unit `{other}`; use \"s\", \"ms\", \"us\" or \"ns\""),
                        ));
                    }
                };
                out.timestamp = Some(Ident::new(variant, unit.span()));
            } else if path.is_ident("decimal") {
                out.decimal = Some(parse_decimal(&meta)?);
            } else if path.is_ident("default") {
                out.default = Some(if meta.input.peek(syn::Token![=]) {
                    Default::Path(meta.value()?.parse::<LitStr>()?.parse()?)
                } else {
                    Default::Trait
                });
            } else {
                return Err(meta.error(format!("unknown field attribute; supported: {FIELD_ATTRS}")));
            }
            Ok(())
        });
        if let Err(e) = parsed {
            cx.push(e);
        }
    }
    Some(out)
}

/// `decimal(18, 4)` or `decimal(precision = 18, scale = 4)`.
fn parse_decimal(meta: &syn::meta::ParseNestedMeta) -> Result<(u8, i8), syn::Error> {
    let content;
    syn::parenthesized!(content in meta.input);
    let mut precision: Option<LitInt> = None;
    let mut scale: Option<LitInt> = None;
    let mut positional = 0;
    while !content.is_empty() {
        if content.peek(Ident) {
            let name: Ident = content.parse()?;
            content.parse::<syn::Token![=]>()?;
            let value: LitInt = content.parse()?;
            match name.to_string().as_str() {
                "precision" => precision = Some(value),
                "scale" => scale = Some(value),
                _ => {
                    return Err(syn::Error::new_spanned(
                        name,
                        "expected `precision` or `scale`",
                    ));
                }
            }
        } else {
            let value: LitInt = content.parse()?;
            match positional {
                0 => precision = Some(value),
                1 => scale = Some(value),
                _ => {
                    return Err(syn::Error::new_spanned(
                        value,
                        "decimal takes (precision, scale)",
                    ));
                }
            }
            positional += 1;
        }
        if !content.is_empty() {
            content.parse::<syn::Token![,]>()?;
        }
    }
    let (Some(p), Some(s)) = (precision, scale) else {
        return Err(meta.error("decimal needs both precision and scale: decimal(18, 4)"));
    };
    let pv: u8 = p.base10_parse()?;
    let sv: i8 = s.base10_parse()?;
    if !(1..=38).contains(&pv) {
        return Err(syn::Error::new_spanned(
            p,
            "Decimal128 precision must be 1..=38",
        ));
    }
    if i16::from(sv) > i16::from(pv) {
        return Err(syn::Error::new_spanned(s, "scale can't exceed precision"));
    }
    Ok((pv, sv))
}

fn check_fields(cx: &mut Ctxt, fields: &[Field]) {
    let mut key: Option<&Field> = None;
    for (i, f) in fields.iter().enumerate() {
        if let Some(span) = f.key {
            if let Some(first) = key {
                cx.push(syn::Error::new(
                    span,
                    format!(
                        "a struct has at most one #[soa(key)] field; `{}` is already the key",
                        first.ident
                    ),
                ));
            } else {
                key = Some(f);
            }
            if is_option(&f.ty) {
                cx.push(syn::Error::new(
                    span,
                    "a #[soa(key)] field can't be an Option: every row needs a key",
                ));
            }
            if f.nested {
                cx.push(syn::Error::new(
                    span,
                    "a #[soa(key)] field can't be #[soa(nested)]",
                ));
            }
        }
        if f.nested {
            if is_option(&f.ty) {
                cx.error(
                    &f.ty,
                    "#[soa(nested)] fields can't be Option (a nested struct column is never null)",
                );
            }
            if f.timestamp.is_some() || f.decimal.is_some() {
                cx.error(&f.ident, "timestamp/decimal settings go on the nested struct's own fields, not on #[soa(nested)]");
            }
            if f.partition {
                cx.error(
                    &f.ident,
                    "a #[soa(nested)] field can't be a partition column",
                );
            }
            if let Some(span) = f.arrow {
                cx.push(syn::Error::new(
                    span,
                    "#[soa(arrow)] goes on the nested struct (or its fields), not on #[soa(nested)]",
                ));
            }
        }
        if fields[..i].iter().any(|o| o.name == f.name) {
            cx.error(
                &f.ident,
                format!("two fields map to the column name `{}`", f.name),
            );
        }
    }
}

impl Field {
    /// The `FieldOptions` expression for this field.
    pub(crate) fn options(&self, krate: &Path) -> TokenStream {
        let mut opts = quote!(#krate::__private::FieldOptions::DEFAULT);
        if let Some(unit) = &self.timestamp {
            opts =
                quote!(#opts.with_timestamp(#krate::__private::arrow::datatypes::TimeUnit::#unit));
        }
        if let Some((p, s)) = self.decimal {
            opts = quote!(#opts.with_decimal(#p, #s));
        }
        opts
    }
}
