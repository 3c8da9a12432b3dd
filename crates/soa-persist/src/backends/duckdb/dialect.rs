//! DuckDB's SQL dialect for the shared SQL layer (`soa_persist_api::sql`): its type names for
//! Arrow fields, its placeholders, and the binding of each parameter as a DuckDB value.

use duckdb::types::{TimeUnit as DuckUnit, Value};
use soa_persist_api::PersistError;
use soa_persist_api::sql::{self, Dialect, Param, WhereClause};
use soa_persist_core::arrow::array::{Array, ArrayRef, AsArray};
use soa_persist_core::arrow::compute::cast;
use soa_persist_core::arrow::datatypes::{self as dt, DataType, Field, Schema, TimeUnit};
use soa_persist_core::arrow::util::display::{ArrayFormatter, FormatOptions};
use soa_persist_core::query::Expr;

use super::pool::NAME;

/// DuckDB's dialect.
pub(crate) struct DuckDialect;

/// A `WHERE` clause and its parameters as DuckDB values, in order.
#[derive(Debug, Default)]
pub(crate) struct Where {
    pub sql: String,
    pub params: Vec<Value>,
}

/// `expr` as a DuckDB `WHERE` clause over `table`.
pub(crate) fn where_clause(
    expr: &Expr,
    schema: &Schema,
    table: &str,
) -> Result<Where, PersistError> {
    let WhereClause { sql, params } = sql::where_clause(&DuckDialect, expr, schema, table)?;
    let params = params.iter().map(bind).collect::<Result<_, _>>()?;
    Ok(Where { sql, params })
}

impl Dialect for DuckDialect {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn column_type(&self, field: &Field) -> Result<String, PersistError> {
        sql_type(field)
    }

    /// `?` where the bound value has the column's type already (narrow integers and floats
    /// widen exactly as SQL does), `CAST(? AS type)` where it is bound as text or a wider type.
    fn placeholder(&self, _index: usize, param: &Param) -> Result<String, PersistError> {
        let value = &param.value;
        use DataType::*;
        let plain = !value.is_empty()
            && !value.is_null(0)
            && match value.data_type() {
                Boolean | Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64
                | Float32 | Float64 | Utf8 | LargeUtf8 | Binary | Dictionary(..) => true,
                FixedSizeBinary(16) => !sql::is_uuid(&param.column),
                FixedSizeBinary(_) => true,
                _ => false,
            };
        if plain {
            Ok("?".into())
        } else {
            Ok(format!("CAST(? AS {})", sql_type(&param.column)?))
        }
    }
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
        FixedSizeBinary(16) if sql::is_uuid(field) => "UUID".into(),
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
        Dictionary(_, value) => match sql::enum_variants(field, NAME)? {
            Some(variants) => {
                let list: Vec<String> = variants.iter().map(|v| DuckDialect.quote_str(v)).collect();
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
                .map(|c| {
                    Ok(format!(
                        "{} {}",
                        DuckDialect.quote_ident(c.name()),
                        sql_type(c)?
                    ))
                })
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

/// A parameter as the DuckDB value its placeholder expects (see `placeholder`).
fn bind(param: &Param) -> Result<Value, PersistError> {
    let array = &param.value;
    if array.is_empty() || array.is_null(0) {
        return Ok(Value::Null);
    }
    Ok(match array.data_type() {
        DataType::Boolean => Value::Boolean(array.as_boolean().value(0)),
        DataType::Int8 => Value::TinyInt(prim::<dt::Int8Type>(array)),
        DataType::Int16 => Value::SmallInt(prim::<dt::Int16Type>(array)),
        DataType::Int32 => Value::Int(prim::<dt::Int32Type>(array)),
        DataType::Int64 => Value::BigInt(prim::<dt::Int64Type>(array)),
        DataType::UInt8 => Value::UTinyInt(prim::<dt::UInt8Type>(array)),
        DataType::UInt16 => Value::USmallInt(prim::<dt::UInt16Type>(array)),
        DataType::UInt32 => Value::UInt(prim::<dt::UInt32Type>(array)),
        DataType::UInt64 => Value::UBigInt(prim::<dt::UInt64Type>(array)),
        DataType::Float32 => Value::Float(prim::<dt::Float32Type>(array)),
        DataType::Float64 => Value::Double(prim::<dt::Float64Type>(array)),
        DataType::Utf8 => Value::Text(array.as_string::<i32>().value(0).to_string()),
        DataType::LargeUtf8 => Value::Text(array.as_string::<i64>().value(0).to_string()),
        // An enum: compared by the variant's name.
        DataType::Dictionary(_, _) => Value::Text(text(&cast(array, &DataType::Utf8)?)?),
        DataType::Binary => Value::Blob(array.as_binary::<i32>().value(0).to_vec()),
        DataType::Timestamp(unit, _) if *unit != TimeUnit::Nanosecond => {
            let v = prim::<dt::Int64Type>(&cast(array, &DataType::Int64)?);
            let unit = match unit {
                TimeUnit::Second => DuckUnit::Second,
                TimeUnit::Millisecond => DuckUnit::Millisecond,
                _ => DuckUnit::Microsecond,
            };
            Value::Timestamp(unit, v)
        }
        DataType::FixedSizeBinary(16) if sql::is_uuid(&param.column) => {
            let hex: String = (array.as_fixed_size_binary().value(0).iter())
                .map(|b| format!("{b:02x}"))
                .collect();
            let (a, rest) = hex.split_at(8);
            let (b, rest) = rest.split_at(4);
            let (c, rest) = rest.split_at(4);
            let (d, e) = rest.split_at(4);
            Value::Text(format!("{a}-{b}-{c}-{d}-{e}"))
        }
        DataType::FixedSizeBinary(_) => Value::Blob(array.as_fixed_size_binary().value(0).to_vec()),
        // Decimals, dates, nanosecond timestamps...: their exact text, cast by DuckDB.
        _ => Value::Text(text(array)?),
    })
}

/// The first value of `array` as Arrow formats it (exact for decimals, dates and instants).
fn text(array: &ArrayRef) -> Result<String, PersistError> {
    let options = FormatOptions::default();
    let formatter = ArrayFormatter::try_new(array.as_ref(), &options)?;
    Ok(formatter.value(0).to_string())
}

fn prim<T: dt::ArrowPrimitiveType>(array: &ArrayRef) -> T::Native {
    array.as_primitive::<T>().value(0)
}
