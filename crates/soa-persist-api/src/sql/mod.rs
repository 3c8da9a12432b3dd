//! The SQL layer shared by every SQL backend: a [`Dialect`] says how one engine quotes names,
//! spells types and writes placeholders; [`where_clause`] turns a typed predicate into a
//! `WHERE` clause whose values are all bound parameters (never formatted into the text), and
//! [`create_table`] writes the DDL of a struct's schema. DuckDB is its first user, ClickHouse
//! its second; a backend binds each [`Param`] in its own driver's value type.

mod ddl;
mod predicate;

use soa_persist_core::arrow::array::ArrayRef;
use soa_persist_core::arrow::datatypes::{Field, FieldRef};
use soa_persist_core::query::CmpOp;

use crate::PersistError;

pub use ddl::{create_table, default_table_name, enum_variants, is_uuid, table_name};
pub use predicate::{WhereClause, where_clause};

/// One bound value of a generated statement: a one-row Arrow array holding the literal (null
/// for SQL `NULL`), and the field of the column it is compared with.
#[derive(Clone, Debug)]
pub struct Param {
    /// The literal, a one-row array (null for SQL `NULL`).
    pub value: ArrayRef,
    /// The column the value is compared with (its name, type and metadata).
    pub column: FieldRef,
}

/// How one SQL engine spells what the shared SQL layer writes.
pub trait Dialect {
    /// The backend's name, for errors.
    fn backend(&self) -> &'static str;

    /// A quoted identifier: any string is a safe name. Default: `"name"`, quotes doubled.
    fn quote_ident(&self, name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    /// A quoted string constant, for names and paths the layer generates SQL from (values are
    /// always parameters). Default: `'text'`, single quotes doubled.
    fn quote_str(&self, text: &str) -> String {
        format!("'{}'", text.replace('\'', "''"))
    }

    /// The engine's type for an Arrow field (its nullability aside), or a `SchemaMismatch`
    /// naming the field when the engine can't store it.
    fn column_type(&self, field: &Field) -> Result<String, PersistError>;

    /// A column definition in `CREATE TABLE`. Default: `name TYPE`, `NOT NULL` unless the field
    /// is nullable.
    fn column_definition(&self, field: &Field) -> Result<String, PersistError> {
        let null = if field.is_nullable() { "" } else { " NOT NULL" };
        Ok(format!(
            "{} {}{null}",
            self.quote_ident(field.name()),
            self.column_type(field)?
        ))
    }

    /// The key constraint inside the column list, if the engine has one. Default:
    /// `PRIMARY KEY (key)`.
    fn key_constraint(&self, key: &str) -> Option<String> {
        Some(format!("PRIMARY KEY ({})", self.quote_ident(key)))
    }

    /// What follows the column list (an engine clause, ordering, partitioning). Default: none.
    fn table_options(
        &self,
        schema: &soa_persist_core::arrow::datatypes::Schema,
    ) -> Result<String, PersistError> {
        let _ = schema;
        Ok(String::new())
    }

    /// The placeholder of the `index`-th parameter (from 0), e.g. `?`, `CAST(? AS DECIMAL(9,2))`
    /// or `{p0:UInt64}`.
    fn placeholder(&self, index: usize, param: &Param) -> Result<String, PersistError>;

    /// A nested column `path` (at least two names) of `table`.
    /// Default: `"table"."a"."b"` (struct field access).
    fn nested_column(&self, table: &str, path: &[&str]) -> String {
        let parts: Vec<String> = path.iter().map(|p| self.quote_ident(p)).collect();
        format!("{}.{}", self.quote_ident(table), parts.join("."))
    }

    /// `column op value` for a column of `field` (`value` is a placeholder). An engine whose
    /// float comparisons don't order NaN above every number (as the reference semantics do)
    /// rewrites them here. Default: `column op value`.
    fn compare(&self, column: &str, op: CmpOp, value: &str, field: &Field) -> String {
        let _ = field;
        format!("{column} {} {value}", op.sql())
    }

    /// The constant `true` / `false` (for an always-true filter or an empty `IN` list).
    /// Default: `TRUE` / `FALSE`.
    fn boolean(&self, value: bool) -> &'static str {
        if value { "TRUE" } else { "FALSE" }
    }

    /// Whether the text of `column` starts with the string parameter `param`.
    fn starts_with(&self, column: &str, param: &str) -> String {
        format!("starts_with(CAST({column} AS VARCHAR), {param})")
    }

    /// Whether the text of `column` contains the string parameter `param` (`%` and `_` are
    /// plain characters).
    fn contains(&self, column: &str, param: &str) -> String {
        format!("contains(CAST({column} AS VARCHAR), {param})")
    }
}
