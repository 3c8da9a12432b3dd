//! Tables: created from the struct's schema through the shared SQL layer, or checked against
//! it when they exist (`INFORMATION_SCHEMA.COLUMNS`, lists as `ARRAY`, nested structs as
//! `OBJECT`: a column of another type, or a missing
//! required one, is a `SchemaMismatch` naming it; a new optional field is added). Also the
//! backend's own objects: `_soa_tables` (which tables were ever written), `_soa_writes` (the
//! last write id per table and writer) and the internal stage bulk writes upload to.

use serde_json::json;
use soa_persist_api::PersistError;
use soa_persist_api::sql::create_table;
use soa_persist_core::arrow::datatypes::{DataType, Field, Schema};

use super::NAME;
use super::dialect::{PLAIN, sql_type};
use super::session::Session;
use soa_persist_api::sql::Dialect;

/// Tables this library has written (for `load`'s "never stored").
pub(crate) const META_TABLE: &str = "_soa_tables";
/// The last write id committed per table and writer (`append_batches_once`).
pub(crate) const WRITES_TABLE: &str = "_soa_writes";
/// The internal stage bulk writes upload their Parquet files to (a plain upper-case name, the
/// same quoted or not).
pub(crate) const STAGE: &str = "SOA_PERSIST_STAGE";

/// A quoted identifier.
pub(crate) fn ident(name: &str) -> String {
    PLAIN.quote_ident(name)
}

/// Creates the bookkeeping tables and the stage if missing.
pub(crate) async fn ensure_meta(session: &mut Session) -> Result<(), PersistError> {
    for sql in [
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\"name\" VARCHAR NOT NULL, \"struct\" VARCHAR)",
            ident(META_TABLE)
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\"table_name\" VARCHAR NOT NULL, \
             \"writer\" VARCHAR NOT NULL, \"seq\" NUMBER(20,0) NOT NULL)",
            ident(WRITES_TABLE)
        ),
        format!("CREATE STAGE IF NOT EXISTS {STAGE}"),
    ] {
        session.run(&sql, None).await?;
    }
    Ok(())
}

/// Creates `table` from `schema`, or checks the existing one against it.
pub(crate) async fn ensure_table(
    session: &mut Session,
    db_schema: &str,
    table: &str,
    schema: &Schema,
) -> Result<(), PersistError> {
    let lookup = "SELECT \"COLUMN_NAME\", \"DATA_TYPE\", \"IS_NULLABLE\", \"NUMERIC_SCALE\" \
                  FROM INFORMATION_SCHEMA.COLUMNS WHERE \"TABLE_SCHEMA\" = ? AND \"TABLE_NAME\" = ?";
    let bindings = json!({
        "1": { "type": "TEXT", "value": db_schema },
        "2": { "type": "TEXT", "value": table },
    });
    let rows = session.run(lookup, Some(&bindings)).await?.text_rows()?;
    if rows.is_empty() {
        let sql = create_table(&PLAIN, table, schema)?;
        session.run(&sql, None).await?;
        return Ok(());
    }
    let mut add = Vec::new();
    for field in schema.fields() {
        let Some(row) = rows
            .iter()
            .find(|r| r.first().cloned().flatten().as_deref() == Some(field.name()))
        else {
            if field.is_nullable() {
                add.push(field);
                continue;
            }
            return Err(mismatch(table, field, "is missing from the table"));
        };
        let found = row.get(1).cloned().flatten().unwrap_or_default();
        let scale: i64 = row
            .get(3)
            .cloned()
            .flatten()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if !type_fits(field, &found, scale)? {
            return Err(mismatch(
                table,
                field,
                &format!(
                    "is {found} (scale {scale}) in the table, the struct needs {}",
                    sql_type(field)?
                ),
            ));
        }
    }
    for field in add {
        let sql = format!(
            "ALTER TABLE {} ADD COLUMN {} {}",
            ident(table),
            ident(field.name()),
            sql_type(field)?
        );
        session.run(&sql, None).await?;
    }
    Ok(())
}

/// Whether a column Snowflake reports as `found` (its `DATA_TYPE`) with `scale` holds `field`.
fn type_fits(field: &Field, found: &str, scale: i64) -> Result<bool, PersistError> {
    let wanted = sql_type(field)?;
    let family = wanted.split('(').next().unwrap_or(&wanted);
    Ok(match (family, found) {
        ("NUMBER", "NUMBER") => match field.data_type() {
            DataType::Decimal128(_, s) => i64::from(*s) == scale,
            _ => scale == 0,
        },
        ("VARCHAR", f) => f == "TEXT" || f == "VARCHAR",
        // Snowflake reports `ARRAY` / `OBJECT`; the emulator reports both as `VARIANT`, which
        // holds either as well.
        ("ARRAY" | "OBJECT", f) => f == family || f == "VARIANT",
        (w, f) => w == f,
    })
}

fn mismatch(table: &str, field: &Field, what: &str) -> PersistError {
    PersistError::SchemaMismatch {
        backend: NAME,
        detail: format!("table {}: column `{}` {what}", ident(table), field.name()),
    }
}
