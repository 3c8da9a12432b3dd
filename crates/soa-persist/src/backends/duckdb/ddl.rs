//! The table of a struct: DuckDB column types from the Arrow schema, quoting, `CREATE TABLE`,
//! and the check of an existing table against the struct (new optional fields are added,
//! anything else that differs is a `SchemaMismatch` naming the column).

use duckdb::Connection;
use soa_persist_core::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use soa_persist_core::bridge::ENUM_VARIANTS_META;
use soa_persist_core::schema::key_field;

use super::error::db_error;
use super::pool::NAME;
use soa_persist_api::PersistError;

/// `"name"`, with embedded quotes doubled: any string is a safe identifier.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'`, with embedded single quotes doubled (only for names and paths we generate SQL
/// from; values are always bound parameters).
pub(crate) fn string_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `OrderLine` -> `order_line`: the default table name of a struct.
pub(crate) fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let chars: Vec<char> = name.chars().collect();
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

fn unsupported(field: &Field, why: &str) -> PersistError {
    PersistError::SchemaMismatch {
        backend: NAME,
        detail: format!(
            "field `{}` ({}) can't be stored in DuckDB: {why}",
            field.name(),
            field.data_type()
        ),
    }
}

/// The DuckDB type of a field. Nanosecond timestamps with a time zone become `TIMESTAMP_NS`
/// (DuckDB's `TIMESTAMPTZ` holds microseconds and would truncate them).
pub(crate) fn sql_type(field: &Field) -> Result<String, PersistError> {
    use DataType::*;
    Ok(match field.data_type() {
        Boolean => "BOOLEAN".into(),
        Int8 => "TINYINT".into(),
        Int16 => "SMALLINT".into(),
        Int32 => "INTEGER".into(),
        Int64 => "BIGINT".into(),
        UInt8 => "UTINYINT".into(),
        UInt16 => "USMALLINT".into(),
        UInt32 => "UINTEGER".into(),
        UInt64 => "UBIGINT".into(),
        Float16 | Float32 => "FLOAT".into(),
        Float64 => "DOUBLE".into(),
        Utf8 | LargeUtf8 | Utf8View => "VARCHAR".into(),
        Binary | LargeBinary | BinaryView => "BLOB".into(),
        FixedSizeBinary(16) if is_uuid(field) => "UUID".into(),
        FixedSizeBinary(_) => "BLOB".into(),
        Date32 | Date64 => "DATE".into(),
        Time32(_) | Time64(_) => "TIME".into(),
        Timestamp(TimeUnit::Nanosecond, _) => "TIMESTAMP_NS".into(),
        Timestamp(_, Some(_)) => "TIMESTAMPTZ".into(),
        Timestamp(TimeUnit::Second, None) => "TIMESTAMP_S".into(),
        Timestamp(TimeUnit::Millisecond, None) => "TIMESTAMP_MS".into(),
        Timestamp(TimeUnit::Microsecond, None) => "TIMESTAMP".into(),
        Duration(_) => "INTERVAL".into(),
        Decimal32(p, s) | Decimal64(p, s) | Decimal128(p, s) if *p <= 38 => {
            format!("DECIMAL({p},{s})")
        }
        Decimal256(..) | Decimal128(..) => {
            return Err(unsupported(field, "DECIMAL holds at most 38 digits"));
        }
        Dictionary(_, value) => match enum_variants(field)? {
            Some(variants) => {
                let list: Vec<String> = variants.iter().map(|v| string_literal(v)).collect();
                format!("ENUM({})", list.join(", "))
            }
            None => sql_type(&Field::new(field.name(), (**value).clone(), true))?,
        },
        List(item) | LargeList(item) | ListView(item) | LargeListView(item) => {
            format!("{}[]", sql_type(item)?)
        }
        FixedSizeList(item, n) => format!("{}[{n}]", sql_type(item)?),
        Struct(children) => {
            let parts: Result<Vec<String>, PersistError> = children
                .iter()
                .map(|c| Ok(format!("{} {}", ident(c.name()), sql_type(c)?)))
                .collect();
            format!("STRUCT({})", parts?.join(", "))
        }
        Map(entries, _) => match entries.data_type() {
            Struct(kv) if kv.len() == 2 => {
                format!("MAP({}, {})", sql_type(&kv[0])?, sql_type(&kv[1])?)
            }
            _ => return Err(unsupported(field, "a map needs key and value fields")),
        },
        _ => return Err(unsupported(field, "no DuckDB type for it")),
    })
}

fn is_uuid(field: &Field) -> bool {
    field
        .metadata()
        .get("ARROW:extension:name")
        .is_some_and(|n| n == "arrow.uuid")
}

/// The variant names of an enum column (from its field metadata), if it is one.
fn enum_variants(field: &Field) -> Result<Option<Vec<String>>, PersistError> {
    let Some(json) = field.metadata().get(ENUM_VARIANTS_META) else {
        return Ok(None);
    };
    serde_json::from_str(json)
        .map(Some)
        .map_err(|e| unsupported(field, &format!("unreadable enum variant list: {e}")))
}

/// `CREATE TABLE IF NOT EXISTS` for `schema`: `NOT NULL` for non-optional fields and the
/// `#[soa(key)]` field as `PRIMARY KEY`.
pub(crate) fn create_table_sql(table: &str, schema: &Schema) -> Result<String, PersistError> {
    let mut parts = Vec::with_capacity(schema.fields().len() + 1);
    for f in schema.fields() {
        let null = if f.is_nullable() { "" } else { " NOT NULL" };
        parts.push(format!("{} {}{null}", ident(f.name()), sql_type(f)?));
    }
    if let Some(key) = key_field(schema) {
        parts.push(format!("PRIMARY KEY ({})", ident(key)));
    }
    Ok(format!(
        "CREATE TABLE IF NOT EXISTS {} ({})",
        ident(table),
        parts.join(", ")
    ))
}

struct ExistingColumn {
    name: String,
    data_type: String,
    nullable: bool,
    has_default: bool,
}

fn existing_columns(conn: &Connection, table: &str) -> Result<Vec<ExistingColumn>, PersistError> {
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
        conn.execute_batch(&create_table_sql(table, schema)?)
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
