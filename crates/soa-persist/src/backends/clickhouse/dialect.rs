//! ClickHouse's dialect for the shared SQL layer (`soa_persist_api::sql`): backquoted names,
//! column types from the Native type mapping, `MergeTree` table options, and parameters as
//! typed literals. ClickHouse 18.16 has no server-side query parameters, so every value is
//! rendered by [`literal`], the one place a value becomes SQL text: the value's bytes in an
//! escaped string (every byte outside printable ASCII as `\xHH`), cast to the column's type
//! (floats as their IEEE bytes, reinterpreted).

use soa_persist_api::PersistError;
use soa_persist_api::sql::{self, Dialect, Param};
use soa_persist_core::arrow::array::{Array, AsArray};
use soa_persist_core::arrow::compute::cast;
use soa_persist_core::arrow::datatypes::{self as dt, DataType, Field, Schema, TimeUnit};
use soa_persist_core::arrow::util::display::{ArrayFormatter, FormatOptions};
use soa_persist_core::query::CmpOp;
use soa_persist_core::schema::{key_field, partition_fields};

use super::NAME;
use super::native::{ChType, ServerCaps, TypeOptions, column_type, quote_identifier};

/// ClickHouse's dialect for one server (types and literals depend on what it offers).
pub(crate) struct ClickHouseDialect<'a> {
    pub caps: &'a ServerCaps,
    /// The table's schema, to find a nested field's position (18.16 has unnamed tuples).
    pub schema: Option<&'a Schema>,
}

impl<'a> ClickHouseDialect<'a> {
    pub(super) fn new(caps: &'a ServerCaps) -> Self {
        Self { caps, schema: None }
    }

    pub(super) fn with_schema(mut self, schema: &'a Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// The full ClickHouse type of a field (Nullable included).
    pub(super) fn ch_type(&self, field: &Field) -> Result<ChType, PersistError> {
        Ok(column_type(field, self.caps, &TypeOptions::default())?.ch_type)
    }
}

/// A string constant of any bytes: printable ASCII as it is (quote and backslash escaped),
/// every other byte as `\xHH`, so the text is plain ASCII and reads back byte for byte.
pub fn string_literal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('\'');
    for &b in bytes {
        match b {
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02X}")),
        }
    }
    out.push('\'');
    out
}

/// The first value of `param` as a typed ClickHouse literal of its column's type (`NULL` for
/// a null). An integer is written as its digits; every other value as an escaped string and
/// cast, so no input can end the literal; the text is exact (integers in full, floats round-trip, decimals as Arrow prints
/// them, instants as ticks where the column stores ticks).
pub fn literal(param: &Param, caps: &ServerCaps) -> Result<String, PersistError> {
    let value = &param.value;
    if value.is_empty() || value.is_null(0) {
        return Ok("NULL".into());
    }
    let dialect = ClickHouseDialect::new(caps);
    let ty = match dialect.ch_type(&param.column)? {
        ChType::Nullable(t) => *t,
        ChType::LowCardinality(t) => match *t {
            ChType::Nullable(t) => *t,
            t => t,
        },
        t => t,
    };
    let text = match (value.data_type(), &ty) {
        (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, _) => {
            let s = cast(value, &DataType::Utf8)?;
            return Ok(string_literal(s.as_string::<i32>().value(0).as_bytes()));
        }
        (DataType::Binary | DataType::LargeBinary | DataType::BinaryView, _) => {
            let b = cast(value, &DataType::Binary)?;
            return Ok(string_literal(b.as_binary::<i32>().value(0)));
        }
        (DataType::FixedSizeBinary(_), ChType::FixedString(n)) => {
            let b = value.as_fixed_size_binary().value(0);
            return Ok(format!("toFixedString({}, {n})", string_literal(b)));
        }
        (DataType::FixedSizeBinary(16), ChType::Uuid) => {
            uuid_text(value.as_fixed_size_binary().value(0))
        }
        (DataType::Boolean, _) => {
            let b = value.as_boolean().value(0);
            (if b { "1" } else { "0" }).to_string()
        }
        // The IEEE bits, little-endian: exact for every value (18.16 parses subnormals as 0).
        (DataType::Float32, _) => {
            let v = value.as_primitive::<dt::Float32Type>().value(0);
            return Ok(format!(
                "reinterpretAsFloat32({})",
                string_literal(&v.to_le_bytes())
            ));
        }
        (DataType::Float64, _) => {
            let v = value.as_primitive::<dt::Float64Type>().value(0);
            return Ok(format!(
                "reinterpretAsFloat64({})",
                string_literal(&v.to_le_bytes())
            ));
        }
        (DataType::Timestamp(unit, tz), _) => {
            let ticks = cast(value, &DataType::Int64)?;
            let ticks = ticks.as_primitive::<dt::Int64Type>().value(0);
            if ty == ChType::Int64 {
                ticks.to_string()
            } else {
                return Ok(date_time64(ticks, *unit, tz.as_deref()));
            }
        }
        // Integers as plain numbers: the value has the column's type (so it fits it), and
        // ClickHouse compares integers of any two types exactly. A `CAST` here costs the old
        // server a quarter of a millisecond per query (the bench's 0.1% key range).
        (
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64,
            ChType::Int8
            | ChType::Int16
            | ChType::Int32
            | ChType::Int64
            | ChType::UInt8
            | ChType::UInt16
            | ChType::UInt32
            | ChType::UInt64,
        ) => {
            let options = FormatOptions::default();
            let text = ArrayFormatter::try_new(value.as_ref(), &options)?
                .value(0)
                .to_string();
            // Only digits and a sign: nothing that could end or extend the expression.
            if !text.is_empty()
                && text
                    .trim_start_matches('-')
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            {
                return Ok(text);
            }
            text
        }
        (DataType::Date32, ChType::Int32) => {
            value.as_primitive::<dt::Date32Type>().value(0).to_string()
        }
        _ => {
            let options = FormatOptions::default();
            let formatter = ArrayFormatter::try_new(value.as_ref(), &options)?;
            formatter.value(0).to_string()
        }
    };
    Ok(format!("CAST({} AS {ty})", string_literal(text.as_bytes())))
}

fn uuid_text(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let (a, rest) = hex.split_at(8.min(hex.len()));
    let (b, rest) = rest.split_at(4.min(rest.len()));
    let (c, rest) = rest.split_at(4.min(rest.len()));
    let (d, e) = rest.split_at(4.min(rest.len()));
    format!("{a}-{b}-{c}-{d}-{e}")
}

/// A `DateTime64` literal from ticks (servers that have the type have these functions).
fn date_time64(ticks: i64, unit: TimeUnit, tz: Option<&str>) -> String {
    let ticks = format!(
        "CAST({} AS Int64)",
        string_literal(ticks.to_string().as_bytes())
    );
    let tz = tz
        .map(|z| format!(", {}", string_literal(z.as_bytes())))
        .unwrap_or_default();
    match unit {
        TimeUnit::Second => format!("toDateTime64({ticks}, 0{tz})"),
        TimeUnit::Millisecond => format!("fromUnixTimestamp64Milli({ticks}{tz})"),
        TimeUnit::Microsecond => format!("fromUnixTimestamp64Micro({ticks}{tz})"),
        TimeUnit::Nanosecond => format!("fromUnixTimestamp64Nano({ticks}{tz})"),
    }
}

impl Dialect for ClickHouseDialect<'_> {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn quote_ident(&self, name: &str) -> String {
        quote_identifier(name)
    }

    fn quote_str(&self, text: &str) -> String {
        string_literal(text.as_bytes())
    }

    /// The mapped type without its nullability (`column_definition` adds it).
    fn column_type(&self, field: &Field) -> Result<String, PersistError> {
        Ok(self
            .ch_type(&field.clone().with_nullable(false))?
            .to_string())
    }

    /// `name Type`, `Nullable(...)` for an optional field: ClickHouse has no `NOT NULL`.
    fn column_definition(&self, field: &Field) -> Result<String, PersistError> {
        Ok(format!(
            "{} {}",
            self.quote_ident(field.name()),
            self.ch_type(field)?
        ))
    }

    fn key_constraint(&self, _key: &str) -> Option<String> {
        None
    }

    /// `ENGINE = MergeTree ORDER BY <key or tuple()> [PARTITION BY <partition fields>]`.
    fn table_options(&self, schema: &Schema) -> Result<String, PersistError> {
        let order = key_field(schema)
            .map(|k| self.quote_ident(k))
            .unwrap_or_else(|| "tuple()".into());
        let parts: Vec<String> = partition_fields(schema)
            .iter()
            .map(|p| self.quote_ident(p))
            .collect();
        let partition = match parts.len() {
            0 => String::new(),
            1 => format!(" PARTITION BY {}", parts[0]),
            _ => format!(" PARTITION BY ({})", parts.join(", ")),
        };
        Ok(format!("ENGINE = MergeTree{partition} ORDER BY {order}"))
    }

    /// The value itself as a typed literal: 18.16 has no server-side parameters.
    fn placeholder(&self, _index: usize, param: &Param) -> Result<String, PersistError> {
        literal(param, self.caps)
    }

    /// `tupleElement(tupleElement(col, i), j)`: by position, as 18.16's tuples are unnamed.
    fn nested_column(&self, _table: &str, path: &[&str]) -> String {
        let mut sql = self.quote_ident(path[0]);
        let mut field = self.schema.and_then(|s| s.field_with_name(path[0]).ok());
        for name in &path[1..] {
            let position = field.and_then(|f| match f.data_type() {
                DataType::Struct(children) => children
                    .iter()
                    .position(|c| c.name() == name)
                    .map(|i| (i, children[i].as_ref())),
                _ => None,
            });
            let (index, child) = position.map_or((0, None), |(i, c)| (i + 1, Some(c)));
            sql = format!("tupleElement({sql}, {index})");
            field = child;
        }
        sql
    }

    /// Floats in total order, as the reference semantics: NaN equals NaN and is above every
    /// number, where ClickHouse's IEEE comparisons make every comparison with NaN false (but
    /// `<>` true). A null column stays unknown in every form.
    fn compare(&self, column: &str, op: CmpOp, value: &str, field: &Field) -> String {
        if !matches!(field.data_type(), DataType::Float32 | DataType::Float64) {
            return format!("{column} {} {value}", op.sql());
        }
        let (c, v) = (format!("isNaN({column})"), format!("isNaN({value})"));
        match op {
            CmpOp::Eq => format!("({column} = {value} OR ({c} AND {v}))"),
            CmpOp::Ne => format!("({column} <> {value} AND NOT ({c} AND {v}))"),
            CmpOp::Gt => format!("({column} > {value} OR ({c} AND NOT {v}))"),
            CmpOp::Ge => format!("({column} >= {value} OR {c})"),
            CmpOp::Lt => format!("({column} < {value} OR ({v} AND NOT {c}))"),
            CmpOp::Le => format!("({column} <= {value} OR ({v} AND isNotNull({column})))"),
        }
    }

    fn boolean(&self, value: bool) -> &'static str {
        if value { "1" } else { "0" }
    }

    /// By bytes on every version (`startsWith` is newer than 18.16).
    fn starts_with(&self, column: &str, param: &str) -> String {
        format!("substring(toString({column}), 1, length({param})) = {param}")
    }

    fn contains(&self, column: &str, param: &str) -> String {
        format!("position(toString({column}), {param}) > 0")
    }
}

/// `expr`'s `WHERE` text (values inlined as literals) over `schema`.
pub(crate) fn where_sql(
    caps: &ServerCaps,
    expr: &soa_persist_core::query::Expr,
    schema: &Schema,
    table: &str,
) -> Result<String, PersistError> {
    let dialect = ClickHouseDialect::new(caps).with_schema(schema);
    Ok(sql::where_clause(&dialect, expr, schema, table)?.sql)
}

#[cfg(test)]
mod tests {
    use super::*;
    use soa_persist_core::arrow::array::{
        ArrayRef, Float64Array, Int8Array, Int64Array, StringArray, UInt64Array,
    };
    use std::sync::Arc;

    fn param(value: ArrayRef, dt: DataType) -> Param {
        Param {
            value,
            column: Arc::new(Field::new("c", dt, true)),
        }
    }

    fn text(s: &str) -> String {
        let p = param(Arc::new(StringArray::from(vec![s])), DataType::Utf8);
        literal(&p, &ServerCaps::legacy()).unwrap()
    }

    #[test]
    fn hostile_strings_stay_one_escaped_ascii_literal() {
        assert_eq!(text("it's"), r"'it\'s'");
        assert_eq!(text(r"a\b"), r"'a\\b'");
        assert_eq!(text("a\0b\nc"), r"'a\x00b\x0Ac'");
        assert_eq!(text("'); DROP TABLE t; --"), r"'\'); DROP TABLE t; --'");
        assert_eq!(text("é"), r"'\xC3\xA9'");
        assert_eq!(text("\\'"), r"'\\\''");
        for s in ["x\\", "\\'", "'\\", "`", "\u{0}'"] {
            let lit = text(s);
            assert!(lit.is_ascii() && lit.starts_with('\'') && lit.ends_with('\''));
            // Inside the quotes every quote is preceded by an unescaped backslash.
            let inner = &lit[1..lit.len() - 1];
            let mut escaped = false;
            for c in inner.chars() {
                assert!(escaped || c != '\'', "{lit}");
                escaped = !escaped && c == '\\';
            }
            assert!(!escaped, "{lit} ends inside an escape");
        }
    }

    #[test]
    fn numbers_and_nulls_are_typed() {
        let caps = ServerCaps::legacy();
        let p = param(
            Arc::new(UInt64Array::from(vec![u64::MAX])),
            DataType::UInt64,
        );
        assert_eq!(literal(&p, &caps).unwrap(), "18446744073709551615");
        let p = param(Arc::new(Int64Array::from(vec![i64::MIN])), DataType::Int64);
        assert_eq!(literal(&p, &caps).unwrap(), "-9223372036854775808");
        let p = param(Arc::new(Int8Array::from(vec![-1])), DataType::Int8);
        assert_eq!(literal(&p, &caps).unwrap(), "-1");
        let p = param(Arc::new(Float64Array::from(vec![1.0])), DataType::Float64);
        assert_eq!(
            literal(&p, &caps).unwrap(),
            r"reinterpretAsFloat64('\x00\x00\x00\x00\x00\x00\xF0?')"
        );
        let p = param(Arc::new(UInt64Array::from(vec![None])), DataType::UInt64);
        assert_eq!(literal(&p, &caps).unwrap(), "NULL");
    }

    #[test]
    fn identifiers_are_backquoted() {
        let caps = ServerCaps::legacy();
        let d = ClickHouseDialect::new(&caps);
        assert_eq!(d.quote_ident("a`b\\c"), r"`a\`b\\c`");
    }
}
