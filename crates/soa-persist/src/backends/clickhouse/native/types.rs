//! Which ClickHouse type stores each Arrow column, chosen by what the server offers
//! (`ServerCaps`). Every mapping is exact: where an old server lacks the natural type, the
//! fallback keeps every value (a timestamp never loses its sub-second part, a date never its
//! range), and the column's note says how to read it.
//!
//! | Arrow (as the derive produces it) | ClickHouse where the server has it | fallback (e.g. 18.16) |
//! | --- | --- | --- |
//! | Boolean | `Bool` | `UInt8` (0 / 1; reading any other value is an error) |
//! | Int8..Int64, UInt8..UInt64 | `Int8`..`Int64`, `UInt8`..`UInt64` | same |
//! | Float32, Float64 | `Float32`, `Float64` (NaN, ±inf, -0.0 kept) | same |
//! | Utf8, LargeUtf8, Utf8View | `String`; `LowCardinality(String)` for columns in `TypeOptions::low_cardinality` | `String` |
//! | Binary, LargeBinary, BinaryView | `String` (bytes as they are) | same |
//! | FixedSizeBinary(16) with extension `arrow.uuid` | `UUID` | same |
//! | FixedSizeBinary(N) | `FixedString(N)` | same |
//! | Decimal32/64/128(p, s), p <= 38 | `Decimal(p, s)` (4, 8 or 16 bytes by p) | same |
//! | Date32 | `Date32` (Int32 days) | `Int32` days since 1970-01-01 (`Date` is UInt16 days, 1970..2149: too small) |
//! | Timestamp(s, tz) | `DateTime64(0[, tz])` | `Int64` seconds (`DateTime` is UInt32 seconds, 1970..2106: too small) |
//! | Timestamp(ms / µs / ns, tz) | `DateTime64(3 / 6 / 9[, tz])` (Int64 ticks: exact) | `Int64` milli- / micro- / nanoseconds |
//! | Dictionary(Int8 / Int16, Utf8) with `soa.enum.variants` (a `SoAEnum`) | `Enum8` / `Enum16('v0' = 0, 'v1' = 1, ...)`: value = variant index | same |
//! | Dictionary(_, Utf8) without variants, or an enum of more than 32,768 | `LowCardinality(String)` | `String` |
//! | List(T), LargeList(T) | `Array(T)` | same |
//! | Struct(a: T, ...) | `Tuple(a T, ...)` | `Tuple(T, ...)` (unnamed; elements by position) |
//! | nullable T | `Nullable(T)`; a nullable string under LowCardinality is `LowCardinality(Nullable(String))` | same |
//!
//! Not storable, each a `SchemaMismatch` naming the column: a nullable List or Struct (ClickHouse
//! has no `Nullable(Array)` or `Nullable(Tuple)`), decimals wider than 38 digits or with a
//! negative scale, and Arrow types outside this table
//! (Float16, Time, Duration, Interval, Map, Union, ...). Fallback columns carry a note (for a
//! column `COMMENT`) that names the Arrow type, e.g. `soa: Timestamp(Microsecond, "UTC") as Int64
//! microseconds since 1970-01-01 00:00:00 UTC`.

use soa_persist_api::sql::is_uuid;
use soa_persist_core::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use soa_persist_core::bridge::{self, ENUM_VARIANTS_META};

use super::chtype::ChType;
use crate::backends::clickhouse::NAME;
use soa_persist_api::PersistError;

/// What a server offers that the mapping depends on. `ClickHouseClient::connect` probes it once
/// (the version, `system.data_type_families` and the low-cardinality setting).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerCaps {
    /// `(major, minor, patch)` of `version()`.
    pub version: (u32, u32, u32),
    /// The server has `DateTime64`.
    pub date_time64: bool,
    /// The server has `Date32`.
    pub date32: bool,
    /// The server has `Bool`.
    pub bool_type: bool,
    /// `LowCardinality` usable without an experimental setting.
    pub low_cardinality: bool,
    /// `Tuple(name T, ...)`: not a type family, so taken from the version (21.3 and later;
    /// 20.x releases parsed names only in some places).
    pub named_tuples: bool,
    /// `RowBinaryWithNamesAndTypes`, which the official client's row API validates with.
    pub row_binary_with_types: bool,
}

impl ServerCaps {
    /// Everything this codec can use: a current server, or chdb.
    pub fn modern() -> Self {
        Self {
            version: (u32::MAX, 0, 0),
            date_time64: true,
            date32: true,
            bool_type: true,
            low_cardinality: true,
            named_tuples: true,
            row_binary_with_types: true,
        }
    }

    /// What ClickHouse 18.16 offers: none of the newer types, LowCardinality only as an
    /// experiment (not used).
    pub fn legacy() -> Self {
        Self {
            version: (18, 16, 1),
            date_time64: false,
            date32: false,
            bool_type: false,
            low_cardinality: false,
            named_tuples: false,
            row_binary_with_types: false,
        }
    }

    /// From the probe's answers: `version()`, the type families, the formats named
    /// `RowBinaryWithNamesAndTypes`, and the values of `allow_experimental_low_cardinality_type`
    /// (absent on servers where LowCardinality is no longer an experiment).
    pub fn from_probe(
        version: &str,
        families: &[String],
        row_binary_with_types: bool,
        low_cardinality_setting: Option<&str>,
    ) -> Result<Self, PersistError> {
        let mut parts = version.trim().split('.').map(|p| p.parse::<u32>());
        let mut next = || parts.next().and_then(Result::ok);
        let (Some(major), minor, patch) = (next(), next(), next()) else {
            return Err(PersistError::Backend {
                backend: NAME,
                message: format!("unexpected server version `{version}`"),
                retryable: false,
                source: None,
            });
        };
        let version = (major, minor.unwrap_or(0), patch.unwrap_or(0));
        let has = |name: &str| families.iter().any(|f| f == name);
        Ok(Self {
            version,
            date_time64: has("DateTime64"),
            date32: has("Date32"),
            bool_type: has("Bool"),
            low_cardinality: has("LowCardinality")
                && low_cardinality_setting.is_none_or(|v| v == "1"),
            named_tuples: version >= (21, 3, 0),
            row_binary_with_types,
        })
    }
}

/// Choices that are the user's, not the server's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeOptions {
    /// Utf8 columns (top-level names) to store as `LowCardinality(String)` where the server
    /// offers it (plain `String` elsewhere).
    pub low_cardinality: Vec<String>,
}

/// One table column: its name, ClickHouse type, and a note when the type is a fallback that
/// needs the Arrow type to be read (for the DDL's `COMMENT`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnType {
    /// The column name.
    pub name: String,
    /// Its ClickHouse type.
    pub ch_type: ChType,
    /// How a fallback type stores the value (for the column's comment), if it is one.
    pub note: Option<String>,
}

/// The ClickHouse column for every field of `schema`, in order.
pub fn table_columns(
    schema: &Schema,
    caps: &ServerCaps,
    opts: &TypeOptions,
) -> Result<Vec<ColumnType>, PersistError> {
    schema
        .fields()
        .iter()
        .map(|f| column_type(f, caps, opts))
        .collect()
}

/// The ClickHouse column for one field (see the table above).
pub fn column_type(
    field: &Field,
    caps: &ServerCaps,
    opts: &TypeOptions,
) -> Result<ColumnType, PersistError> {
    let low_card = opts.low_cardinality.iter().any(|n| n == field.name());
    let mut notes = Vec::new();
    let ch_type = map_field(field, caps, low_card, &mut notes).map_err(|detail| {
        PersistError::SchemaMismatch {
            backend: NAME,
            detail: format!("column `{}`: {detail}", field.name()),
        }
    })?;
    let note = (!notes.is_empty()).then(|| format!("soa: {}", notes.join("; ")));
    Ok(ColumnType {
        name: field.name().clone(),
        ch_type,
        note,
    })
}

/// The types of `schema`'s columns only.
pub fn clickhouse_types(
    schema: &Schema,
    caps: &ServerCaps,
    opts: &TypeOptions,
) -> Result<Vec<ChType>, PersistError> {
    Ok(table_columns(schema, caps, opts)?
        .into_iter()
        .map(|c| c.ch_type)
        .collect())
}

fn map_field(
    field: &Field,
    caps: &ServerCaps,
    low_card: bool,
    notes: &mut Vec<String>,
) -> Result<ChType, String> {
    let inner = map_type(field, caps, low_card, notes)?;
    if !field.is_nullable() {
        return Ok(inner);
    }
    match inner {
        ChType::Array(_) => Err(format!(
            "a nullable {} can't be stored: ClickHouse has no Nullable(Array(...)) (make the list non-optional, an empty list standing for none)",
            field.data_type()
        )),
        ChType::Tuple(_) => Err(format!(
            "a nullable {} can't be stored: ClickHouse has no Nullable(Tuple(...))",
            field.data_type()
        )),
        ChType::LowCardinality(t) => Ok(ChType::LowCardinality(Box::new(ChType::Nullable(t)))),
        t => Ok(ChType::Nullable(Box::new(t))),
    }
}

fn unit_digits(unit: TimeUnit) -> (u8, &'static str) {
    match unit {
        TimeUnit::Second => (0, "seconds"),
        TimeUnit::Millisecond => (3, "milliseconds"),
        TimeUnit::Microsecond => (6, "microseconds"),
        TimeUnit::Nanosecond => (9, "nanoseconds"),
    }
}

fn map_type(
    field: &Field,
    caps: &ServerCaps,
    low_card: bool,
    notes: &mut Vec<String>,
) -> Result<ChType, String> {
    let dt = field.data_type();
    if let Some(t) = number(dt) {
        return Ok(t);
    }
    Ok(match dt {
        DataType::Boolean if caps.bool_type => ChType::Bool,
        DataType::Boolean => {
            notes.push("Boolean as UInt8 0/1".into());
            ChType::UInt8
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            if low_card && caps.low_cardinality =>
        {
            ChType::LowCardinality(Box::new(ChType::String))
        }
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView => ChType::String,
        DataType::FixedSizeBinary(16) if is_uuid(field) => ChType::Uuid,
        DataType::FixedSizeBinary(n) => {
            ChType::FixedString(usize::try_from(*n).map_err(|_| format!("bad width {n}"))?)
        }
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) => {
            let scale = u8::try_from(*s)
                .map_err(|_| format!("{dt}: ClickHouse decimals have no negative scale"))?;
            ChType::Decimal {
                precision: *p,
                scale,
            }
        }
        DataType::Date32 if caps.date32 => ChType::Date32,
        DataType::Date32 => {
            notes.push("Date32 as Int32 days since 1970-01-01".into());
            ChType::Int32
        }
        DataType::Timestamp(unit, tz) => timestamp(*unit, tz.as_deref(), caps, notes),
        DataType::Dictionary(_, value)
            if matches!(**value, DataType::Utf8 | DataType::LargeUtf8) =>
        {
            map_dictionary(field, caps)?
        }
        DataType::List(item) | DataType::LargeList(item) => {
            ChType::Array(Box::new(map_field(item, caps, false, notes)?))
        }
        DataType::Struct(fields) => {
            let mut items = Vec::with_capacity(fields.len());
            for f in fields {
                let t = map_field(f, caps, false, notes)?;
                items.push((caps.named_tuples.then(|| f.name().clone()), t));
            }
            if items.is_empty() {
                return Err("a struct without fields can't be stored".into());
            }
            ChType::Tuple(items)
        }
        other => return Err(format!("Arrow type {other} has no ClickHouse mapping")),
    })
}

/// Integers and floats: the ClickHouse type of the same width and sign.
fn number(dt: &DataType) -> Option<ChType> {
    Some(match dt {
        DataType::Int8 => ChType::Int8,
        DataType::Int16 => ChType::Int16,
        DataType::Int32 => ChType::Int32,
        DataType::Int64 => ChType::Int64,
        DataType::UInt8 => ChType::UInt8,
        DataType::UInt16 => ChType::UInt16,
        DataType::UInt32 => ChType::UInt32,
        DataType::UInt64 => ChType::UInt64,
        DataType::Float32 => ChType::Float32,
        DataType::Float64 => ChType::Float64,
        _ => return None,
    })
}

/// `DateTime64` at the unit's precision, or Int64 ticks of the unit (noted) without it.
fn timestamp(
    unit: TimeUnit,
    tz: Option<&str>,
    caps: &ServerCaps,
    notes: &mut Vec<String>,
) -> ChType {
    let (precision, words) = unit_digits(unit);
    if caps.date_time64 {
        return ChType::DateTime64 {
            precision,
            tz: tz.map(str::to_string),
        };
    }
    let zone = tz.unwrap_or("no time zone");
    notes.push(format!(
        "Timestamp({unit:?}, {zone}) as Int64 {words} since 1970-01-01 00:00:00 UTC"
    ));
    ChType::Int64
}

/// The variants of an enum column (`soa.enum.variants`), if any.
pub fn enum_variants(field: &Field) -> Result<Option<Vec<String>>, String> {
    let Some(list) = field.metadata().get(ENUM_VARIANTS_META) else {
        return Ok(None);
    };
    bridge::enum_variants(list)
        .map(Some)
        .ok_or_else(|| format!("bad {ENUM_VARIANTS_META} metadata `{list}`"))
}

fn map_dictionary(field: &Field, caps: &ServerCaps) -> Result<ChType, String> {
    let string_type = || {
        if caps.low_cardinality {
            ChType::LowCardinality(Box::new(ChType::String))
        } else {
            ChType::String
        }
    };
    let Some(variants) = enum_variants(field)? else {
        return Ok(string_type());
    };
    let named = variants.iter().cloned().enumerate();
    Ok(match variants.len() {
        0 => return Err("an enum without variants can't be stored".into()),
        1..=128 => ChType::Enum8(named.map(|(i, n)| (n, i as i8)).collect()),
        129..=32_768 => ChType::Enum16(named.map(|(i, n)| (n, i as i16)).collect()),
        _ => string_type(),
    })
}
