//! Snowflake's SQL dialect for the shared SQL layer (`soa_persist_api::sql`): its type names
//! for Arrow fields, `?` placeholders (each value is bound with its Snowflake type, see
//! `bind.rs`), `STARTSWITH` / `CONTAINS`, nested fields as paths into `OBJECT` columns cast to
//! their type (`"t"."place"['city']::VARCHAR`), and no key constraint (Snowflake records a
//! `PRIMARY KEY` without enforcing it; the emulator's DuckDB would enforce it, so declaring it
//! would make tests pass that Snowflake fails).

use serde_json::Value;
use soa_persist_api::PersistError;
use soa_persist_api::sql::{self, Dialect, Param, WhereClause};
use soa_persist_core::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use soa_persist_core::query::Expr;

use super::NAME;
use super::bind::param_binding;

/// Snowflake's dialect; with the table's schema, predicates reach into nested fields.
pub(crate) struct SnowflakeDialect<'a> {
    schema: Option<&'a Schema>,
}

/// The dialect without a schema (names, types, DDL).
pub(crate) const PLAIN: SnowflakeDialect<'static> = SnowflakeDialect { schema: None };

/// `expr` as a `WHERE` condition over `table` and its bindings (`{"1": {...}, ...}`).
pub(crate) fn where_clause(
    expr: &Expr,
    schema: &Schema,
    table: &str,
) -> Result<(String, Value), PersistError> {
    let WhereClause { sql, params } = sql::where_clause(
        &SnowflakeDialect {
            schema: Some(schema),
        },
        expr,
        schema,
        table,
    )?;
    Ok((sql, bindings(&params)?))
}

/// Parameters as Snowflake's positional bindings object.
pub(crate) fn bindings(params: &[Param]) -> Result<Value, PersistError> {
    let mut out = serde_json::Map::new();
    for (i, p) in params.iter().enumerate() {
        out.insert((i + 1).to_string(), param_binding(p)?);
    }
    Ok(Value::Object(out))
}

impl Dialect for SnowflakeDialect<'_> {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn column_type(&self, field: &Field) -> Result<String, PersistError> {
        sql_type(field)
    }

    fn key_constraint(&self, _key: &str) -> Option<String> {
        None
    }

    fn placeholder(&self, _index: usize, _param: &Param) -> Result<String, PersistError> {
        Ok("?".into())
    }

    /// `"table"."a"['b']['c']::TYPE`: a path into the `OBJECT` column (bracketed keys take any
    /// name), cast to the field's Snowflake type, so that a JSON null or a missing key is SQL
    /// `NULL` and comparisons are typed (floats, decimals and instants are JSON strings).
    fn nested_column(&self, table: &str, path: &[&str]) -> String {
        let mut sql = format!("{}.{}", self.quote_ident(table), self.quote_ident(path[0]));
        for key in &path[1..] {
            sql.push_str(&format!("[{}]", self.quote_str(key)));
        }
        let field = self
            .schema
            .and_then(|s| soa_persist_core::query::eval::resolve_field(s, path));
        match field.map(sql_type) {
            Some(Ok(kind)) => format!("{sql}::{kind}"),
            _ => sql,
        }
    }

    fn starts_with(&self, column: &str, param: &str) -> String {
        format!("STARTSWITH(CAST({column} AS VARCHAR), {param})")
    }

    fn contains(&self, column: &str, param: &str) -> String {
        format!("CONTAINS(CAST({column} AS VARCHAR), {param})")
    }
}

/// The Snowflake type of a field (its nullability aside), or a `SchemaMismatch` naming it.
pub(crate) fn sql_type(field: &Field) -> Result<String, PersistError> {
    use DataType::*;
    Ok(match field.data_type() {
        Boolean => "BOOLEAN".into(),
        Int8 | UInt8 => "NUMBER(3,0)".into(),
        Int16 | UInt16 => "NUMBER(5,0)".into(),
        Int32 | UInt32 => "NUMBER(10,0)".into(),
        Int64 => "NUMBER(19,0)".into(),
        UInt64 => "NUMBER(20,0)".into(),
        Float32 | Float64 => "FLOAT".into(),
        Utf8 | LargeUtf8 | Utf8View => "VARCHAR".into(),
        Dictionary(_, v) if matches!(v.as_ref(), Utf8 | LargeUtf8) => "VARCHAR".into(),
        // Fixed widths (`[u8; N]`, UUIDs) are checked on read, so plain `BINARY` for all.
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => "BINARY".into(),
        Date32 => "DATE".into(),
        Timestamp(unit, zone) => {
            let kind = if zone.is_some() {
                "TIMESTAMP_TZ"
            } else {
                "TIMESTAMP_NTZ"
            };
            format!("{kind}({})", scale(*unit))
        }
        Decimal128(p, s) if *p <= 38 && *s >= 0 => format!("NUMBER({p},{s})"),
        // Semi-structured: the values as JSON (see `json.rs`).
        List(_) | LargeList(_) => "ARRAY".into(),
        Struct(_) => "OBJECT".into(),
        other => {
            return Err(PersistError::SchemaMismatch {
                backend: NAME,
                detail: format!(
                    "field `{}` ({other}) has no Snowflake type here",
                    field.name()
                ),
            });
        }
    })
}

/// Digits after the second of a timestamp unit (Snowflake's timestamp scale).
pub(crate) fn scale(unit: TimeUnit) -> u32 {
    match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 3,
        TimeUnit::Microsecond => 6,
        TimeUnit::Nanosecond => 9,
    }
}
