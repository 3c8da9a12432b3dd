//! Typed predicates as SQL: the `Expr` tree becomes a `WHERE` clause whose every value is a
//! bound parameter (never formatted into the text), cast to the column's DuckDB type where the
//! parameter's own type would not say it.

use duckdb::types::{TimeUnit as DuckUnit, Value};
use soa_persist_core::arrow::array::{Array, ArrayRef, AsArray};
use soa_persist_core::arrow::compute::cast;
use soa_persist_core::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use soa_persist_core::arrow::util::display::{ArrayFormatter, FormatOptions};
use soa_persist_core::query::{Expr, Literal};

use super::ddl::{ident, sql_type};
use super::pool::NAME;
use soa_persist_api::PersistError;

/// A `WHERE` clause and its parameters, in order.
#[derive(Debug, Default)]
pub(crate) struct Where {
    pub sql: String,
    pub params: Vec<Value>,
}

pub(crate) fn where_clause(
    expr: &Expr,
    schema: &Schema,
    table: &str,
) -> Result<Where, PersistError> {
    let mut w = Where::default();
    w.sql = render(expr, schema, table, &mut w.params)?;
    Ok(w)
}

fn bad(detail: String) -> PersistError {
    PersistError::SchemaMismatch {
        backend: NAME,
        detail,
    }
}

/// The column's SQL (qualified by the table for nested paths, which DuckDB would otherwise
/// read as `table.column`) and its Arrow field.
fn column<'a>(
    path: &[&'static str],
    schema: &'a Schema,
    table: &str,
) -> Result<(String, &'a Field), PersistError> {
    let missing = || {
        bad(format!(
            "predicate column `{}` is not in the table",
            path.join(".")
        ))
    };
    let (first, rest) = path.split_first().ok_or_else(missing)?;
    let mut field = schema.field_with_name(first).map_err(|_| missing())?;
    for name in rest {
        field = match field.data_type() {
            DataType::Struct(children) => children
                .iter()
                .find(|c| c.name() == name)
                .map(|c| c.as_ref())
                .ok_or_else(missing)?,
            _ => return Err(missing()),
        };
    }
    let sql = if rest.is_empty() {
        ident(first)
    } else {
        let parts: Vec<String> = path.iter().map(|p| ident(p)).collect();
        format!("{}.{}", ident(table), parts.join("."))
    };
    Ok((sql, field))
}

fn render(
    expr: &Expr,
    schema: &Schema,
    table: &str,
    params: &mut Vec<Value>,
) -> Result<String, PersistError> {
    Ok(match expr {
        Expr::True => "TRUE".into(),
        Expr::Compare {
            column: c,
            op,
            value,
        } => {
            let (col, field) = column(c, schema, table)?;
            format!("{col} {} {}", op.sql(), param(value, field, params)?)
        }
        Expr::Between {
            column: c,
            low,
            high,
        } => {
            let (col, field) = column(c, schema, table)?;
            let low = param(low, field, params)?;
            let high = param(high, field, params)?;
            format!("{col} BETWEEN {low} AND {high}")
        }
        Expr::In { column: c, values } => {
            let (col, field) = column(c, schema, table)?;
            if values.is_empty() {
                return Ok("FALSE".into());
            }
            let list: Result<Vec<String>, PersistError> =
                values.iter().map(|v| param(v, field, params)).collect();
            format!("{col} IN ({})", list?.join(", "))
        }
        Expr::IsNull(c) => format!("{} IS NULL", column(c, schema, table)?.0),
        Expr::IsNotNull(c) => format!("{} IS NOT NULL", column(c, schema, table)?.0),
        Expr::StartsWith { column: c, prefix } => {
            let (col, _) = column(c, schema, table)?;
            params.push(Value::Text(prefix.clone()));
            format!("starts_with(CAST({col} AS VARCHAR), ?)")
        }
        Expr::Contains { column: c, needle } => {
            let (col, _) = column(c, schema, table)?;
            params.push(Value::Text(needle.clone()));
            // `contains`, not LIKE: `%` and `_` in the needle are plain characters.
            format!("contains(CAST({col} AS VARCHAR), ?)")
        }
        Expr::And(a, b) => format!(
            "({} AND {})",
            render(a, schema, table, params)?,
            render(b, schema, table, params)?
        ),
        Expr::Or(a, b) => format!(
            "({} OR {})",
            render(a, schema, table, params)?,
            render(b, schema, table, params)?
        ),
        Expr::Not(a) => format!("(NOT {})", render(a, schema, table, params)?),
    })
}

/// Binds one literal and returns its placeholder: `?` where the bound value has the column's
/// type already, `CAST(? AS type)` where it is bound as text or a wider type.
fn param(
    literal: &Literal,
    field: &Field,
    params: &mut Vec<Value>,
) -> Result<String, PersistError> {
    let array = literal.array();
    let cast_to = || sql_type(field).map(|t| format!("CAST(? AS {t})"));
    if array.is_empty() || array.is_null(0) {
        params.push(Value::Null);
        return cast_to();
    }
    let value = match array.data_type() {
        DataType::Boolean => Value::Boolean(array.as_boolean().value(0)),
        DataType::Int8 => {
            Value::TinyInt(prim::<soa_persist_core::arrow::datatypes::Int8Type>(array))
        }
        DataType::Int16 => {
            Value::SmallInt(prim::<soa_persist_core::arrow::datatypes::Int16Type>(array))
        }
        DataType::Int32 => Value::Int(prim::<soa_persist_core::arrow::datatypes::Int32Type>(array)),
        DataType::Int64 => {
            Value::BigInt(prim::<soa_persist_core::arrow::datatypes::Int64Type>(array))
        }
        DataType::UInt8 => {
            Value::UTinyInt(prim::<soa_persist_core::arrow::datatypes::UInt8Type>(array))
        }
        DataType::UInt16 => Value::USmallInt(
            prim::<soa_persist_core::arrow::datatypes::UInt16Type>(array),
        ),
        DataType::UInt32 => Value::UInt(prim::<soa_persist_core::arrow::datatypes::UInt32Type>(
            array,
        )),
        DataType::UInt64 => Value::UBigInt(prim::<soa_persist_core::arrow::datatypes::UInt64Type>(
            array,
        )),
        DataType::Float32 => Value::Float(prim::<soa_persist_core::arrow::datatypes::Float32Type>(
            array,
        )),
        DataType::Float64 => Value::Double(
            prim::<soa_persist_core::arrow::datatypes::Float64Type>(array),
        ),
        DataType::Utf8 => Value::Text(array.as_string::<i32>().value(0).to_string()),
        DataType::LargeUtf8 => Value::Text(array.as_string::<i64>().value(0).to_string()),
        DataType::Dictionary(_, _) => {
            // An enum: compare by the variant's name.
            let text = cast(array, &DataType::Utf8)?;
            params.push(Value::Text(text.as_string::<i32>().value(0).to_string()));
            return Ok("?".into());
        }
        DataType::Binary => Value::Blob(array.as_binary::<i32>().value(0).to_vec()),
        DataType::Timestamp(unit, _) if *unit != TimeUnit::Nanosecond => {
            let v = prim::<soa_persist_core::arrow::datatypes::Int64Type>(&cast(
                array,
                &DataType::Int64,
            )?);
            let unit = match unit {
                TimeUnit::Second => DuckUnit::Second,
                TimeUnit::Millisecond => DuckUnit::Millisecond,
                _ => DuckUnit::Microsecond,
            };
            params.push(Value::Timestamp(unit, v));
            return cast_to();
        }
        DataType::FixedSizeBinary(16) if sql_type(field)? == "UUID" => {
            let bytes = array.as_fixed_size_binary().value(0);
            let uuid = bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
            params.push(Value::Text(format!(
                "{}-{}-{}-{}-{}",
                &uuid[..8],
                &uuid[8..12],
                &uuid[12..16],
                &uuid[16..20],
                &uuid[20..]
            )));
            return cast_to();
        }
        DataType::FixedSizeBinary(_) => Value::Blob(array.as_fixed_size_binary().value(0).to_vec()),
        _ => {
            // Decimals, dates, nanosecond timestamps...: their exact text, cast by DuckDB.
            let options = FormatOptions::default();
            let formatter = ArrayFormatter::try_new(array.as_ref(), &options)?;
            params.push(Value::Text(formatter.value(0).to_string()));
            return cast_to();
        }
    };
    params.push(value);
    // Narrow integer and float parameters keep their type; comparing with the column widens
    // exactly as SQL does.
    Ok("?".into())
}

fn prim<T: soa_persist_core::arrow::datatypes::ArrowPrimitiveType>(array: &ArrayRef) -> T::Native {
    array.as_primitive::<T>().value(0)
}
