//! DDL from a struct's schema: `CREATE TABLE` in a dialect, the default table name of a struct,
//! and the schema facts that decide column types (enum variants, UUID columns).

use soa_persist_core::arrow::datatypes::{Field, Schema};
use soa_persist_core::bridge::{self, ENUM_VARIANTS_META};
use soa_persist_core::schema::key_field;

use super::Dialect;
use crate::PersistError;

/// `CREATE TABLE IF NOT EXISTS` for `schema`: each field in the dialect's column definition,
/// the `#[soa(key)]` field as the dialect's key, then the dialect's table options.
pub fn create_table<D: Dialect + ?Sized>(
    dialect: &D,
    table: &str,
    schema: &Schema,
) -> Result<String, PersistError> {
    let mut parts = Vec::with_capacity(schema.fields().len() + 1);
    for f in schema.fields() {
        parts.push(dialect.column_definition(f)?);
    }
    if let Some(key) = key_field(schema).and_then(|k| dialect.key_constraint(k)) {
        parts.push(key);
    }
    let options = dialect.table_options(schema)?;
    let options = if options.is_empty() {
        options
    } else {
        format!(" {options}")
    };
    Ok(format!(
        "CREATE TABLE IF NOT EXISTS {} ({}){options}",
        dialect.quote_ident(table),
        parts.join(", ")
    ))
}

/// The table a backend opens for a struct of `schema`: `table`, or the struct's name in
/// snake_case (`OrderLine` -> `order_line`); an empty name or one holding a NUL is refused.
pub fn table_name(
    schema: &Schema,
    table: Option<&str>,
    backend: &'static str,
) -> Result<String, PersistError> {
    let name = table.map(str::to_string).unwrap_or_else(|| {
        default_table_name(
            schema
                .metadata()
                .get(soa_persist_core::schema::META_STRUCT)
                .map(String::as_str)
                .unwrap_or("rows"),
        )
    });
    if name.is_empty() || name.contains('\0') {
        return Err(PersistError::invalid_input(
            backend,
            format!("invalid table name {name:?}"),
        ));
    }
    Ok(name)
}

/// `OrderLine` -> `order_line`: the default table name of a struct.
pub fn default_table_name(struct_name: &str) -> String {
    let mut out = String::with_capacity(struct_name.len() + 4);
    let chars: Vec<char> = struct_name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_numeric());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_uppercase())) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a `FixedSizeBinary(16)` field holds UUIDs (Arrow's `arrow.uuid` extension type).
pub fn is_uuid(field: &Field) -> bool {
    field
        .metadata()
        .get("ARROW:extension:name")
        .is_some_and(|n| n == "arrow.uuid")
}

/// The variant names of an enum column (from its field metadata), if it is one; `backend`
/// names the caller in the error for an unreadable list.
pub fn enum_variants(
    field: &Field,
    backend: &'static str,
) -> Result<Option<Vec<String>>, PersistError> {
    let Some(list) = field.metadata().get(ENUM_VARIANTS_META) else {
        return Ok(None);
    };
    bridge::enum_variants(list)
        .map(Some)
        .ok_or_else(|| PersistError::SchemaMismatch {
            backend,
            detail: format!(
                "field `{}`: unreadable enum variant list {list:?}",
                field.name()
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_snake_case() {
        assert_eq!(default_table_name("OrderLine"), "order_line");
        assert_eq!(default_table_name("HTTPRequest"), "http_request");
        assert_eq!(default_table_name("Order2Line"), "order2_line");
    }
}
