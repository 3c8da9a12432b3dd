//! ClickHouse data types as a tree (`ChType`): parsed from the type strings a Native block
//! carries for each column, and printed back in ClickHouse's own spelling for block headers and
//! DDL. Only the types this codec reads or writes are modelled; any other type string is an
//! error that quotes it.

use std::fmt;

/// A ClickHouse column type.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChType {
    /// `Bool`.
    Bool,
    /// `UInt8`.
    UInt8,
    /// `UInt16`.
    UInt16,
    /// `UInt32`.
    UInt32,
    /// `UInt64`.
    UInt64,
    /// `Int8`.
    Int8,
    /// `Int16`.
    Int16,
    /// `Int32`.
    Int32,
    /// `Int64`.
    Int64,
    /// `Float32`.
    Float32,
    /// `Float64`.
    Float64,
    /// `String` (bytes of any length).
    String,
    /// `FixedString(N)`: N bytes.
    FixedString(usize),
    /// `UUID`: two little-endian u64, high half first.
    Uuid,
    /// `Decimal(P, S)`; stored in 4, 8 or 16 bytes for P up to 9, 18 or 38.
    Decimal {
        /// Total digits.
        precision: u8,
        /// Digits after the point.
        scale: u8,
    },
    /// Days since 1970-01-01 as UInt16.
    Date,
    /// Days since 1970-01-01 as Int32.
    Date32,
    /// Seconds since the epoch as UInt32.
    DateTime {
        /// The time zone, if the type names one.
        tz: Option<String>,
    },
    /// Ticks of 10^-precision seconds since the epoch as Int64.
    DateTime64 {
        /// Digits of sub-second precision (ticks of 10^-precision seconds).
        precision: u8,
        /// The time zone, if the type names one.
        tz: Option<String>,
    },
    /// Names and their Int8 values, in declaration order.
    Enum8(Vec<(String, i8)>),
    /// Names and their Int16 values, in declaration order.
    Enum16(Vec<(String, i16)>),
    /// `Nullable(T)`: a null map, then the values.
    Nullable(Box<ChType>),
    /// `Array(T)`: cumulative u64 offsets, then the items.
    Array(Box<ChType>),
    /// Elements in order; named (`Tuple(a String)`) where the server supports names.
    Tuple(Vec<(Option<String>, ChType)>),
    /// `LowCardinality(T)`: a dictionary and indexes into it.
    LowCardinality(Box<ChType>),
    /// The type of a bare `NULL` (`Nullable(Nothing)`).
    Nothing,
}

impl ChType {
    /// Parses a type string as ClickHouse prints it (`Nullable(DateTime64(6, 'UTC'))`).
    pub fn parse(text: &str) -> Result<ChType, String> {
        super::parse::parse_type(text)
    }
}

/// Storage bytes of `Decimal(precision, _)`; `None` beyond 38 digits (Decimal256 is not supported).
pub fn decimal_width(precision: u8) -> Option<usize> {
    match precision {
        1..=9 => Some(4),
        10..=18 => Some(8),
        19..=38 => Some(16),
        _ => None,
    }
}

/// A string literal in ClickHouse's quoting (`'it\'s'`).
pub fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// An identifier in backquotes, as ClickHouse prints names that need quoting.
pub fn quote_identifier(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        match c {
            '`' => out.push_str("\\`"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('`');
    out
}

fn write_enum<V: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    items: &[(String, V)],
) -> fmt::Result {
    write!(f, "{name}(")?;
    for (i, (n, v)) in items.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        write!(f, "{sep}{} = {v}", quote_string(n))?;
    }
    f.write_str(")")
}

fn tz_suffix(tz: &Option<String>) -> String {
    tz.as_deref().map(quote_string).unwrap_or_default()
}

impl fmt::Display for ChType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool => f.write_str("Bool"),
            Self::UInt8 => f.write_str("UInt8"),
            Self::UInt16 => f.write_str("UInt16"),
            Self::UInt32 => f.write_str("UInt32"),
            Self::UInt64 => f.write_str("UInt64"),
            Self::Int8 => f.write_str("Int8"),
            Self::Int16 => f.write_str("Int16"),
            Self::Int32 => f.write_str("Int32"),
            Self::Int64 => f.write_str("Int64"),
            Self::Float32 => f.write_str("Float32"),
            Self::Float64 => f.write_str("Float64"),
            Self::String => f.write_str("String"),
            Self::FixedString(n) => write!(f, "FixedString({n})"),
            Self::Uuid => f.write_str("UUID"),
            Self::Decimal { precision, scale } => write!(f, "Decimal({precision}, {scale})"),
            Self::Date => f.write_str("Date"),
            Self::Date32 => f.write_str("Date32"),
            Self::DateTime { tz: None } => f.write_str("DateTime"),
            Self::DateTime { tz } => write!(f, "DateTime({})", tz_suffix(tz)),
            Self::DateTime64 {
                precision,
                tz: None,
            } => write!(f, "DateTime64({precision})"),
            Self::DateTime64 { precision, tz } => {
                write!(f, "DateTime64({precision}, {})", tz_suffix(tz))
            }
            Self::Enum8(items) => write_enum(f, "Enum8", items),
            Self::Enum16(items) => write_enum(f, "Enum16", items),
            Self::Nullable(t) => write!(f, "Nullable({t})"),
            Self::Array(t) => write!(f, "Array({t})"),
            Self::LowCardinality(t) => write!(f, "LowCardinality({t})"),
            Self::Tuple(items) => {
                f.write_str("Tuple(")?;
                for (i, (name, t)) in items.iter().enumerate() {
                    f.write_str(if i == 0 { "" } else { ", " })?;
                    if let Some(name) = name {
                        write!(f, "{} ", quote_identifier(name))?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(")")
            }
            Self::Nothing => f.write_str("Nothing"),
        }
    }
}
