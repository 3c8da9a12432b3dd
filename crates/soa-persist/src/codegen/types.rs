//! Arrow type -> the Rust field type that derives to it (the README's type table read
//! backwards), with the `#[soa(...)]` settings it needs. Types without a derive mapping are
//! refused with the reason, so the caller can leave the column out and say why.

use soa_persist_core::arrow::datatypes::{DataType, Field, TimeUnit};

/// A column's Rust type, its `#[soa(...)]` settings and what it needs declared beside it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Mapped {
    pub ty: String,
    /// `timestamp = "ms"`, `decimal(18, 4)`, `nested`.
    pub attrs: Vec<String>,
    /// A struct column: its fields, to declare as a struct named `ty`.
    pub nested: Option<Vec<Field>>,
    /// A dictionary column to declare as an enum named `ty` (its variants come from the caller).
    pub enum_column: bool,
}

impl Mapped {
    fn plain(ty: &str) -> Self {
        Self {
            ty: ty.to_string(),
            attrs: Vec::new(),
            nested: None,
            enum_column: false,
        }
    }
}

/// How a type name is chosen for a nested struct or enum column (unique names come from the
/// caller).
pub(super) trait Namer {
    /// The name of the struct declared for a struct column.
    fn struct_name(&mut self, field: &Field) -> String;
    /// The name of the enum declared for a dictionary column, if its variants are known.
    fn enum_name(&mut self, field: &Field) -> Option<String>;
}

/// The Rust type of `field` (`Option<…>` when nullable), or why there is none.
pub(super) fn map_field(field: &Field, names: &mut dyn Namer) -> Result<Mapped, String> {
    let mut m = map_type(field, names)?;
    if field.is_nullable() && m.nested.is_none() {
        m.ty = format!("Option<{}>", m.ty);
    }
    Ok(m)
}

fn map_type(field: &Field, names: &mut dyn Namer) -> Result<Mapped, String> {
    use DataType::*;
    let t = field.data_type();
    let ty = match t {
        Boolean => "bool",
        Int8 => "i8",
        Int16 => "i16",
        Int32 => "i32",
        Int64 => "i64",
        UInt8 => "u8",
        UInt16 => "u16",
        UInt32 => "u32",
        UInt64 => "u64",
        Float32 => "f32",
        Float64 => "f64",
        Utf8 | LargeUtf8 | Utf8View => "String",
        Binary | LargeBinary | BinaryView => "Vec<u8>",
        FixedSizeBinary(16) if is_uuid(field) => "Uuid",
        FixedSizeBinary(n) => return Ok(Mapped::plain(&format!("[u8; {n}]"))),
        Date32 | Date64 => "NaiveDate",
        Timestamp(unit, tz) => {
            let mut m = Mapped::plain(if tz.is_some() {
                "DateTime<Utc>"
            } else {
                "NaiveDateTime"
            });
            if *unit != TimeUnit::Microsecond {
                m.attrs
                    .push(format!("timestamp = \"{}\"", unit_name(*unit)));
            }
            return Ok(m);
        }
        Decimal32(p, s) | Decimal64(p, s) | Decimal128(p, s) => {
            let mut m = Mapped::plain("Decimal");
            if (*p, *s) != (38, 10) {
                m.attrs.push(format!("decimal({p}, {s})"));
            }
            return Ok(m);
        }
        Dictionary(_, value) if matches!(**value, Utf8 | LargeUtf8 | Utf8View) => {
            return Ok(match names.enum_name(field) {
                Some(name) => Mapped {
                    enum_column: true,
                    ..Mapped::plain(&name)
                },
                None => Mapped::plain("String"),
            });
        }
        Dictionary(_, value) => {
            let inner = field.clone().with_data_type((**value).clone());
            return map_type(&inner, names);
        }
        List(item) | LargeList(item) | FixedSizeList(item, _) => {
            // Items are named after their column: an enum of items is named like one of values.
            let item = item.as_ref().clone().with_name(field.name());
            return map_list(&item, names);
        }
        Struct(children) => {
            return Ok(Mapped {
                ty: names.struct_name(field),
                attrs: vec!["nested".into()],
                nested: Some(children.iter().map(|c| c.as_ref().clone()).collect()),
                enum_column: false,
            });
        }
        other => return Err(format!("{other} has no derive mapping")),
    };
    Ok(Mapped::plain(ty))
}

fn map_list(item: &Field, names: &mut dyn Namer) -> Result<Mapped, String> {
    if matches!(item.data_type(), DataType::Struct(_)) {
        return Err("a list of structs has no derive mapping".into());
    }
    if item.data_type() == &DataType::UInt8 && !item.is_nullable() {
        // `Vec<u8>` is Binary, so a list of non-null bytes has no field type of its own.
        return Err("List(UInt8) has no derive mapping (`Vec<u8>` is Binary)".into());
    }
    let inner = map_field(item, names)?;
    Ok(Mapped {
        ty: format!("Vec<{}>", inner.ty),
        ..inner
    })
}

fn is_uuid(field: &Field) -> bool {
    field
        .metadata()
        .get("ARROW:extension:name")
        .is_some_and(|n| n == "arrow.uuid")
}

fn unit_name(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Second => "s",
        TimeUnit::Millisecond => "ms",
        TimeUnit::Microsecond => "us",
        TimeUnit::Nanosecond => "ns",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::rust_type;
    use soa_persist_core::arrow::datatypes::{DataType, Field, TimeUnit};

    #[test]
    fn arrow_types_map_to_the_field_types_that_derive_them() {
        let f = |t: DataType, nullable: bool| rust_type(&Field::new("order_status", t, nullable));
        assert_eq!(f(DataType::UInt64, false).unwrap(), "u64");
        assert_eq!(f(DataType::LargeUtf8, true).unwrap(), "Option<String>");
        let ns = DataType::Timestamp(TimeUnit::Nanosecond, Some("+02:00".into()));
        assert_eq!(f(ns, false).unwrap(), "DateTime<Utc>");
        let dict = DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8));
        assert_eq!(f(dict, false).unwrap(), "OrderStatus");
        let bytes = DataType::List(Arc::new(Field::new("item", DataType::UInt8, true)));
        assert_eq!(f(bytes, false).unwrap(), "Vec<Option<u8>>");
        let strict = DataType::List(Arc::new(Field::new("item", DataType::UInt8, false)));
        assert!(f(strict, false).unwrap_err().contains("Binary"));
        assert!(
            f(DataType::Float16, false)
                .unwrap_err()
                .contains("no derive mapping")
        );
    }
}
