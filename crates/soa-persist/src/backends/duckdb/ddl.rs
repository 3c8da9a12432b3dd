//! The table of a struct in DuckDB: `CREATE TABLE` through the shared SQL layer, and the
//! check of an existing table against the struct (new optional fields are added, anything
//! else that differs is a `SchemaMismatch` naming the column).

use duckdb::Connection;
use soa_persist_api::sql::{self, Dialect};
use soa_persist_core::arrow::datatypes::Schema;

use super::dialect::{DuckDialect, sql_type};

use super::error::db_error;
use super::pool::NAME;
use soa_persist_api::PersistError;

/// A quoted DuckDB identifier: any string is a safe name.
pub(crate) fn ident(name: &str) -> String {
    DuckDialect.quote_ident(name)
}

/// A quoted string constant (only for names and paths we generate SQL from; values are always
/// bound parameters).
pub(crate) fn string_literal(text: &str) -> String {
    DuckDialect.quote_str(text)
}

/// A column as DuckDB's catalog describes it.
pub(super) struct ExistingColumn {
    pub(super) name: String,
    pub(super) data_type: String,
    pub(super) nullable: bool,
    pub(super) has_default: bool,
}

/// The columns of `table` in the current schema, in order (none: no such table).
pub(super) fn existing_columns(
    conn: &Connection,
    table: &str,
) -> Result<Vec<ExistingColumn>, PersistError> {
    let mut stmt = conn
        .prepare(
            "SELECT column_name, data_type, is_nullable, column_default IS NOT NULL \
             FROM duckdb_columns() WHERE table_name = ? AND schema_name = current_schema() \
             AND database_name = current_database() ORDER BY column_index",
        )
        .map_err(db_error)?;
    let rows = stmt
        .query_map([table], |r| {
            Ok(ExistingColumn {
                name: r.get(0)?,
                data_type: r.get(1)?,
                nullable: r.get(2)?,
                has_default: r.get(3)?,
            })
        })
        .map_err(db_error)?;
    rows.collect::<Result<_, _>>().map_err(db_error)
}

/// DuckDB's own spelling of each type (`typeof` of a typed NULL), to compare with what the
/// catalog reports for an existing table.
fn canonical_types(conn: &Connection, types: &[String]) -> Result<Vec<String>, PersistError> {
    if types.is_empty() {
        return Ok(Vec::new());
    }
    let select: Vec<String> = types
        .iter()
        .map(|t| format!("typeof(CAST(NULL AS {t}))"))
        .collect();
    let sql = format!("SELECT {}", select.join(", "));
    conn.query_row(&sql, [], |r| {
        (0..types.len())
            .map(|i| r.get::<_, String>(i))
            .collect::<Result<Vec<_>, _>>()
    })
    .map_err(db_error)
}

/// Creates the table if missing; otherwise checks it against `schema`, adding new optional
/// columns. Returns whether the table existed.
pub(crate) fn ensure_table(
    conn: &Connection,
    table: &str,
    schema: &Schema,
    read_only: bool,
) -> Result<bool, PersistError> {
    let existing = existing_columns(conn, table)?;
    if existing.is_empty() {
        if read_only {
            return Err(PersistError::SchemaMismatch {
                backend: NAME,
                detail: format!(
                    "table {} does not exist (database opened read-only)",
                    ident(table)
                ),
            });
        }
        conn.execute_batch(&sql::create_table(&DuckDialect, table, schema)?)
            .map_err(db_error)?;
        return Ok(false);
    }
    let wanted: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| sql_type(f))
        .collect::<Result<_, _>>()?;
    let canonical = canonical_types(conn, &wanted)?;
    let mismatch = |detail: String| PersistError::SchemaMismatch {
        backend: NAME,
        detail: format!("table {}: {detail}", ident(table)),
    };
    let mut to_add = Vec::new();
    for ((field, wanted), canonical) in schema.fields().iter().zip(&wanted).zip(&canonical) {
        match existing.iter().find(|c| c.name == *field.name()) {
            Some(col) if col.data_type != *canonical => {
                return Err(mismatch(format!(
                    "column {} is {} but the struct's field needs {canonical}",
                    ident(field.name()),
                    col.data_type
                )));
            }
            Some(_) => {}
            None if field.is_nullable() => to_add.push(format!(
                "ALTER TABLE {} ADD COLUMN {} {wanted}",
                ident(table),
                ident(field.name())
            )),
            None => {
                return Err(mismatch(format!(
                    "column {} is missing, and the struct's field is not an Option that could be added",
                    ident(field.name())
                )));
            }
        }
    }
    for col in &existing {
        let known = schema.fields().iter().any(|f| *f.name() == col.name);
        if !known && !col.nullable && !col.has_default {
            return Err(mismatch(format!(
                "column {} is NOT NULL without a default and the struct has no such field, \
                 so no row could be inserted",
                ident(&col.name)
            )));
        }
    }
    if !to_add.is_empty() {
        if read_only {
            return Err(mismatch(format!(
                "{} new optional column(s) to add, but the database is read-only",
                to_add.len()
            )));
        }
        conn.execute_batch(&format!("BEGIN; {}; COMMIT;", to_add.join("; ")))
            .map_err(|e| {
                let _ = conn.execute_batch("ROLLBACK");
                db_error(e)
            })?;
    }
    Ok(true)
}
