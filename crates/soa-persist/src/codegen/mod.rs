//! Rust source for stored data: the `#[derive(SoA)]` struct (with its nested structs and
//! `SoAEnum`s) whose schema reads a Parquet dataset or a DuckDB table, so data written by other
//! tools gets a typed API without hand-written fields. [`TableShape`] is what a source tells
//! (Arrow columns, key, partition columns, enum variants); [`rust_source`] writes the code.
//! `parquet.rs`, `duckdb.rs` and `clickhouse.rs` gather a shape from a dataset or a table.

#[cfg(feature = "clickhouse")]
mod clickhouse;
#[cfg(feature = "duckdb")]
mod duckdb;
mod names;
#[cfg(feature = "parquet")]
mod parquet;
mod types;

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;

use soa_persist_core::arrow::datatypes::{Field, SchemaRef};

#[cfg(feature = "clickhouse")]
pub use self::clickhouse::clickhouse_shape;
#[cfg(feature = "duckdb")]
pub use self::duckdb::duckdb_shape;
#[cfg(feature = "parquet")]
pub use self::parquet::{parquet_file_shape, parquet_shape};

use self::names::{Names, field_ident, type_ident};
use self::types::{Mapped, Namer, map_field};

/// What a source tells about its rows, for [`rust_source`].
#[derive(Clone, Debug)]
pub struct TableShape {
    /// The struct's name (made a Rust type name: `order lines` -> `OrderLines`).
    pub name: String,
    /// The columns, in order. Nested fields, list items and field metadata are read too.
    pub schema: SchemaRef,
    /// The `#[soa(key)]` column.
    pub key: Option<String>,
    /// The `#[soa(partition)]` columns.
    pub partition: Vec<String>,
    /// Variants of dictionary columns, by column path (`a` or `parent.child`), in order; a
    /// dictionary column without an entry is a `String`.
    pub enums: BTreeMap<String, Vec<String>>,
    /// Lines for the comment above the struct (where it came from, caveats).
    pub notes: Vec<String>,
}

/// One struct or enum to declare.
enum Item {
    Struct {
        name: String,
        /// The name the source gives it, when that is not `name`.
        rename: Option<String>,
        fields: Vec<Field>,
        path: String,
    },
    Enum {
        name: String,
        variants: Vec<String>,
    },
}

/// Declares nested structs and enums while the fields are mapped.
struct Declarer<'a> {
    shape: &'a TableShape,
    names: Names,
    /// The path of the struct being written (`""` at the top).
    path: String,
    pending: Vec<Item>,
}

impl Declarer<'_> {
    fn column_path(&self, field: &Field) -> String {
        if self.path.is_empty() {
            field.name().clone()
        } else {
            format!("{}.{}", self.path, field.name())
        }
    }
}

impl Namer for Declarer<'_> {
    fn struct_name(&mut self, field: &Field) -> String {
        let name = self.names.unique(&type_ident(field.name()));
        let Some(fields) = nested_fields(field) else {
            return name;
        };
        let path = self.column_path(field);
        self.pending.push(Item::Struct {
            name: name.clone(),
            rename: None,
            fields,
            path,
        });
        name
    }

    fn enum_name(&mut self, field: &Field) -> Option<String> {
        let variants = self.shape.enums.get(&self.column_path(field))?.clone();
        if variants.is_empty() {
            return None;
        }
        let name = self.names.unique(&type_ident(field.name()));
        self.pending.push(Item::Enum {
            name: name.clone(),
            variants,
        });
        Some(name)
    }
}

fn nested_fields(field: &Field) -> Option<Vec<Field>> {
    match field.data_type() {
        soa_persist_core::arrow::datatypes::DataType::Struct(children) => {
            Some(children.iter().map(|c| c.as_ref().clone()).collect())
        }
        _ => None,
    }
}

/// Names nested structs and enums after their column, declaring nothing.
struct ByColumn;

impl Namer for ByColumn {
    fn struct_name(&mut self, field: &Field) -> String {
        type_ident(field.name())
    }

    fn enum_name(&mut self, field: &Field) -> Option<String> {
        Some(type_ident(field.name()))
    }
}

/// The Rust field type that derives to `field`'s Arrow type (`Option<…>` when nullable; an
/// enum or nested struct named after the column), or why there is none. For tools that show
/// a column's Rust type; [`rust_source`] writes whole structs.
pub fn rust_type(field: &Field) -> Result<String, String> {
    map_field(field, &mut ByColumn).map(|m| m.ty)
}

/// The Rust source of `shape`'s struct: `use` lines, the `#[derive(SoA)]` struct, then the
/// nested structs and enums it uses. Columns without a derive mapping are left out with a
/// comment saying why (reads ignore columns the struct lacks).
pub fn rust_source(shape: &TableShape) -> String {
    let name = type_ident(&shape.name);
    let mut names = Names::default();
    names.unique(&name);
    let mut d = Declarer {
        shape,
        names,
        path: String::new(),
        pending: Vec::new(),
    };
    let top = Item::Struct {
        rename: (name != shape.name).then(|| shape.name.clone()),
        name,
        fields: shape
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect(),
        path: String::new(),
    };
    let mut body = String::new();
    let mut queue = VecDeque::from([top]);
    while let Some(item) = queue.pop_front() {
        body.push('\n');
        match item {
            Item::Struct {
                name,
                rename,
                fields,
                path,
            } => {
                d.path = path;
                write_struct(&mut body, &mut d, &name, rename.as_deref(), &fields);
                queue.extend(d.pending.drain(..));
            }
            Item::Enum { name, variants } => write_enum(&mut body, &name, &variants),
        }
    }
    let mut out = String::new();
    for note in &shape.notes {
        let _ = writeln!(out, "// {note}");
    }
    out.push_str("use soa_persist::prelude::*;\n");
    if body.contains(": Decimal") || body.contains("<Decimal>") {
        out.push_str("use soa_persist::rust_decimal::Decimal;\n");
    }
    if body.contains("Uuid") {
        out.push_str("use soa_persist::uuid::Uuid;\n");
    }
    out + &body
}

fn write_struct(
    out: &mut String,
    d: &mut Declarer<'_>,
    name: &str,
    rename: Option<&str>,
    fields: &[Field],
) {
    let top = d.path.is_empty();
    out.push_str("#[derive(SoA, Clone, Debug, PartialEq)]\n");
    if let Some(rename) = rename {
        let _ = writeln!(out, "#[soa(rename = {rename:?})]");
    }
    let _ = writeln!(out, "pub struct {name} {{");
    let mut idents = Names::default();
    for field in fields {
        let mapped: Result<Mapped, String> = map_field(field, d);
        let m = match mapped {
            Ok(m) => m,
            Err(why) => {
                let _ = writeln!(out, "    // column {:?} left out: {why}", field.name());
                continue;
            }
        };
        let ident = idents.unique(&field_ident(field.name()));
        let mut attrs = Vec::new();
        if top && d.shape.key.as_deref() == Some(field.name().as_str()) && !field.is_nullable() {
            attrs.push("key".to_string());
        }
        if top && d.shape.partition.iter().any(|p| p == field.name()) {
            attrs.push("partition".to_string());
        }
        if ident != *field.name() {
            attrs.push(format!("rename = {:?}", field.name()));
        }
        attrs.extend(m.attrs);
        if m.nested.is_some() && field.is_nullable() {
            out.push_str(
                "    // nullable in the source; a #[soa(nested)] field can't be an Option\n",
            );
        }
        if !attrs.is_empty() {
            let _ = writeln!(out, "    #[soa({})]", attrs.join(", "));
        }
        let _ = writeln!(out, "    pub {ident}: {},", m.ty);
    }
    out.push_str("}\n");
}

fn write_enum(out: &mut String, name: &str, variants: &[String]) {
    out.push_str("#[derive(SoAEnum, Clone, Copy, Debug, PartialEq, Eq)]\n");
    let _ = writeln!(out, "pub enum {name} {{");
    let mut idents = Names::default();
    for v in variants {
        let ident = idents.unique(&type_ident(v));
        if ident != *v {
            let _ = writeln!(out, "    #[soa(rename = {v:?})]");
        }
        let _ = writeln!(out, "    {ident},");
    }
    out.push_str("}\n");
}
