//! ClickHouse's Native format (the columnar block format of its HTTP interface) to and from
//! Arrow, built from and into Arrow buffers.
//!
//! A block over HTTP: a varint column count, a varint row count, then per column its name
//! (varint length + bytes), its type string (the same), the column's state prefix and its data.
//! No block-info header (that is TCP-only), and an empty result is an empty body. Data by type:
//! fixed-width values little-endian (`Bool`/`UInt8`..`Int64`, `Float32/64`, `Date` = u16 days,
//! `Date32` = i32 days, `DateTime` = u32 seconds, `DateTime64(p)` = i64 ticks of 10^-p s,
//! `Decimal(p, s)` = i32 / i64 / i128 by p, `Enum8/16` = i8 / i16, `FixedString(N)` = N bytes,
//! `UUID` = two u64, the high half first); `String` = varint length + bytes; `Nullable(T)` = one
//! byte per row (1 = null), then T for every row; `Array(T)` = cumulative u64 end offsets, then
//! all items as one T column; `Tuple(...)` = each element column in turn; `LowCardinality(T)` =
//! keys version (u64 = 1) in the prefix, then per granule an index type with flags (u64), the
//! keys (u64 count + a T column without Nullable, null first when T is nullable), the row count
//! (u64) and one 1/2/4/8-byte index per row (nothing for an array's zero items). Prefixes of
//! nested columns all come before the column's data. A block of no rows has names and types
//! only: no prefixes, no data. Checked against ClickHouse 18.16 and chdb (26.x)
//! by `tests/clickhouse_native.rs`.
//!
//! - `chtype.rs`, `parse.rs`: the type tree, printed as and parsed from type strings;
//! - `types.rs`: which ClickHouse type stores each Arrow type (the mapping table), by server;
//! - `encode.rs`, `encode_values.rs`: `BlockEncoder`, batches to blocks;
//! - `decode.rs`, `read.rs`, `read_nested.rs`: `BlockDecoder`, a streaming decoder to batches;
//! - `wire.rs`: varints, fixed-width values and strings.

mod chtype;
mod decode;
mod encode;
mod encode_values;
mod infer;
mod parse;
mod read;
mod read_nested;
mod types;
mod wire;

pub use chtype::{ChType, decimal_width, quote_identifier, quote_string};
pub use decode::{BlockDecoder, DEFAULT_MAX_BLOCK_BYTES, decode_blocks};
pub use encode::BlockEncoder;
pub use infer::natural_field;
pub use types::{
    ColumnType, ServerCaps, TypeOptions, clickhouse_types, column_type, enum_variants,
    table_columns,
};
