"""The matrix's types (one case per type: a key `id`, the value `v` and, where the derive has it,
its Option `o`), and the one table of documented differences. Each case's Rust struct is in
tests/parquet_interop.rs under the same name."""
import datetime as dt
import decimal
import uuid as uuidlib

import pyarrow as pa

D = decimal.Decimal
I64_MAX = 2**63 - 1
F32_MAX = 3.4028234663852886e38
F32_TINY = 1.401298464324817e-45  # the smallest positive subnormal f32
UTC = dt.timezone.utc


def ts(*args, tz=UTC):
    return dt.datetime(*args, tzinfo=tz)


class Case:
    def __init__(self, name, type_, values, kind=None, opt=True, rust=True, partition=False, label=None):
        self.name, self.type, self.values = name, type_, values
        self.kind = kind
        self.opt = opt  # has an Option column `o`
        self.rust = rust  # the derive has this type
        self.partition = partition  # written as a Hive-partitioned dataset on `v`
        self._label = label or name

    def columns(self):
        return ["v", "o"] if self.opt else ["v"]

    def label(self, col):
        return self._label if col == "v" else f"Option<{self._label}>"

    def table(self):
        """The rows in key order reversed (so readers must sort), with our Arrow types."""
        n = len(self.values)
        order = list(reversed(range(n)))
        cols = {"id": pa.array(order, pa.int64()),
                "v": pa.array([self.values[i] for i in order], self.type)}
        if self.opt:
            cols["o"] = pa.array([None if i % 3 == 1 else self.values[i] for i in order], self.type)
        return pa.table(cols)


FLOATS = [0.0, -0.0, 1.5, float("nan"), float("inf"), float("-inf"), -2.5e-3]
TEXTS = ["", "plain", "ünïcödé ☃ 日本語 🎉", "quotes ' \" `", "new\nline\ttab\r", "back\\slash, comma;",
         "\u200b zero width", "x" * 300]
# Status and Inner of tests/common/mod.rs.
INNER = pa.struct([("city", pa.string()), ("zip", pa.uint32()), ("codes", pa.binary())])
STATUS = pa.dictionary(pa.int8(), pa.string())

CASES = [
    Case("bool", pa.bool_(), [True, False, True, False]),
    Case("i8", pa.int8(), [-128, 127, 0, -1, 1]),
    Case("i16", pa.int16(), [-32768, 32767, 0, -1, 1]),
    Case("i32", pa.int32(), [-2**31, 2**31 - 1, 0, -1, 1]),
    Case("i64", pa.int64(), [-2**63, I64_MAX, 0, -1, 2**53 + 1]),
    Case("u8", pa.uint8(), [0, 255, 1, 128]),
    Case("u16", pa.uint16(), [0, 65535, 1, 32768]),
    Case("u32", pa.uint32(), [0, 2**32 - 1, 1, 2**31]),
    Case("u64", pa.uint64(), [0, 2**64 - 1, 1, I64_MAX, I64_MAX + 1, 2**53 + 1]),
    Case("f32", pa.float32(), FLOATS + [F32_MAX, F32_TINY]),
    Case("f64", pa.float64(), FLOATS + [1.7976931348623157e308, 5e-324, 0.1]),
    Case("string", pa.string(), TEXTS),
    Case("binary", pa.binary(), [b"", b"\x00", b"\xff\xfe\x00abc", bytes(range(256))]),
    Case("fixed_binary", pa.binary(4), [b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"ab\x00c", b"1234"],
         label="fixed_binary(4)"),
    Case("timestamp_s", pa.timestamp("s", "UTC"), [ts(1900, 1, 1), ts(1969, 12, 31, 23, 59, 59), ts(1970, 1, 1),
                                                   ts(2262, 4, 12), ts(9999, 12, 31, 23, 59, 59)],
         label="timestamp(s, UTC)"),
    Case("timestamp_ms", pa.timestamp("ms", "UTC"), [ts(1900, 1, 1, 0, 0, 0, 1000), ts(1969, 12, 31, 23, 59, 59, 999000),
                                                     ts(1970, 1, 1), ts(2262, 4, 12), ts(3000, 1, 1, 0, 0, 0, 123000)],
         label="timestamp(ms, UTC)"),
    Case("timestamp_us", pa.timestamp("us", "UTC"), [ts(1900, 1, 1, 0, 0, 0, 1), ts(1969, 12, 31, 23, 59, 59, 999999),
                                                     ts(1970, 1, 1), ts(2262, 4, 12), ts(3000, 1, 1, 0, 0, 0, 123456)],
         label="timestamp(us, UTC)"),
    Case("timestamp_ns", pa.timestamp("ns", "UTC"), [-2**63 + 1, -1, 0, 1, 1_700_000_000_123_456_789, I64_MAX],
         label="timestamp(ns, UTC)"),
    Case("timestamp_new_york", pa.timestamp("us", "America/New_York"),
         [ts(1969, 12, 31, 19, 0), ts(2024, 3, 10, 2, 30), ts(2024, 11, 3, 1, 30), ts(2100, 6, 1, 12, 0, 0, 1)],
         label="timestamp(us, America/New_York)"),
    Case("timestamp_kolkata_ms", pa.timestamp("ms", "+05:30"),
         [ts(1950, 1, 1), ts(2000, 2, 29, 23, 59, 59, 999000), ts(2038, 1, 19, 3, 14, 8)],
         label="timestamp(ms, +05:30)"),
    Case("timestamp_naive", pa.timestamp("us"), [dt.datetime(1900, 1, 1), dt.datetime(1970, 1, 1),
                                                  dt.datetime(2024, 3, 10, 2, 30, 0, 5), dt.datetime(9999, 1, 1)],
         label="timestamp(us) naive"),
    Case("date", pa.date32(), [dt.date(1, 1, 1), dt.date(1582, 10, 4), dt.date(1900, 1, 1), dt.date(1969, 12, 31),
                               dt.date(1970, 1, 1), dt.date(2262, 4, 12), dt.date(2300, 1, 1), dt.date(9999, 12, 31)]),
    Case("decimal_9_2", pa.decimal128(9, 2), [D("9999999.99"), D("-9999999.99"), D("0.00"), D("0.01")],
         label="decimal(9,2)"),
    Case("decimal_18_4", pa.decimal128(18, 4), [D("99999999999999.9999"), D("-99999999999999.9999"), D("0.0001"), D("0")],
         label="decimal(18,4)"),
    Case("decimal_38_10", pa.decimal128(38, 10),
         [D("999999999999999999.9999999999"), D("-999999999999999999.9999999999"), D("0.0000000001"), D("1")],
         label="decimal(38,10)"),
    Case("decimal_38_0", pa.decimal128(38, 0),
         [D(10**38 - 1), D(-(10**38 - 1)), D(2**96 - 1), D(0)], label="decimal(38,0)"),
    Case("uuid", pa.uuid(), [uuidlib.UUID(int=0).bytes, uuidlib.UUID(int=2**128 - 1).bytes,
                             uuidlib.UUID("123e4567-e89b-12d3-a456-426614174000").bytes], kind="uuid"),
    Case("dictionary", STATUS, ["Pending", "shipped", "Delivered", "Pending"], label="enum (dictionary)"),
    Case("list", pa.list_(pa.int32()), [[], [1, 2, 3], [-2**31], [0] * 10], label="list<i32>"),
    Case("list_of_option", pa.list_(pa.float64()), [[], [None], [1.5, None, float("nan")], [-0.0]],
         label="list<Option<f64>>"),
    Case("list_of_string", pa.list_(pa.string()), [[], ["", "ü"], ["a,b", "[x]", "\n"]], label="list<string>"),
    Case("list_of_list", pa.list_(pa.list_(pa.int64())), [[], [[]], [[1], [2, 3]], [[I64_MAX]]],
         label="list<list<i64>>"),
    Case("nested", INNER, [{"city": "Zürich", "zip": 8001, "codes": b"\x01"},
                           {"city": "", "zip": None, "codes": b""},
                           {"city": "São Paulo", "zip": 2**32 - 1, "codes": b"\x00\xff"}],
         opt=False, label="nested struct"),
    Case("map", pa.map_(pa.string(), pa.int64()), [[("a", 1), ("b", -1)], [], [("ü", I64_MAX)]],
         rust=False, label="map<string, i64>"),
    Case("hive_partition", pa.string(),
         ["plain", "with space", "a/b", "100%", "k=v", "ünï 日本", "", "Hive%2Fescaped", "quote'\"", "dot.", None],
         opt=False, partition=True, label="hive partition values (string)"),
]

# The dataset the delete / save / compact states are read with (`id` and a payload `v`).
STATE_CASE = Case("state", pa.string(), [], opt=False)

# What readers that list a folder's files see after each operation; rendered below the table.
STATE_NOTES = (
    "A `delete` or `save` rewrites files and leaves the replaced ones on disk until `vacuum`; a "
    "reader that lists the folder's `*.parquet` files (every tool here but soa-persist, which "
    "reads its log) sees the replaced rows too until then. `compact` replaces files with "
    "merged ones holding the same rows, so such a reader sees each row twice until `vacuum`."
)

# Cells the matrix found failing that were fixed in the library: (cells, the fix).
FIXES = [
    ("timestamp(s) and its Option, written by soa-persist, read by pyarrow, pandas, DuckDB, Spark or chdb",
     "Parquet has no seconds unit and the encoder stored `Timestamp(Second)` as a bare INT64, which "
     "pyarrow, pandas, DuckDB, Spark and chdb read as integers; such columns are now stored as "
     "milliseconds (exact) and read back into the struct's unit (`seconds_as_millis` in "
     "`backends/parquet/write.rs`)"),
    ("spark -> soa-persist, u64 and its Option",
     "Spark writes UInt64 as decimal(20,0) and a `u64` field refused the column; integer fields now also "
     "load whole decimals (scale 0), each value range-checked (`decode_integer` in "
     "`soa-persist-core/src/bridge/primitive.rs`)"),
]

# Every cell that is not equal needs a line here: (writer, reader, type) as fnmatch patterns
# over writer names, reader names and type labels (or case names), the reason, and for lines
# that cover every writer, a regular expression the cell's difference must match (so the line
# can't hide another difference of that reader). A cell takes the first line that matches it.
EXCEPTIONS = [
    # soa-persist
    ("soa-persist*", "*", "map", "the derive has no map type: there is no struct to write one from"),
    ("*", "soa-persist", "map", "the derive has no map type: there is no struct to load one into"),
    ("soa-persist*", "*", "*decimal(38,0)*", "rust_decimal's Decimal holds 96 bits (28 digits): a 38-digit "
     "value is a typed error at the load, so there is no struct to write it from"),
    ("*", "soa-persist", "*decimal(38,0)*", "rust_decimal's Decimal holds 96 bits (28 digits): loading a "
     "38-digit value is a typed error naming the column and row"),
    ("soa-persist (spark_compatible)", "*", "*u64*",
     "the Spark profile stores UInt64 as Int64 and refuses a value above i64::MAX (a typed error, "
     "nothing written); the default profile writes it (Spark reads that as decimal(20,0))"),
    ("soa-persist (spark_compatible)", "*", "*timestamp(ns*",
     "the Spark profile stores microseconds and refuses a value with nanoseconds (a typed error, "
     "nothing written)"),
    # readers, by reader
    ("*", "spark", "*timestamp(ns*", "Spark has no nanosecond timestamps: it refuses INT64 TIMESTAMP(NANOS) "
     "(write them with `spark_compatible`, which stores microseconds)", r'TIMESTAMP\(NANOS'),
    ("*", "spark", "*u64*", "Spark has no unsigned types: it reads UInt64 as decimal(20,0), same values", r'\{"decimal"'),
    ("*", "spark", "*uuid*", "Spark has no UUID type: it refuses the UUID logical type (its users keep UUIDs as text)", r'\(UUID\)'),
    ("*", "spark", "hive_partition", "the dataset has an empty-string partition value (folder `v=`): Spark "
     "refuses it (EMPTY_PARTITION_COLUMN_VALUE); Spark itself writes \"\" as null", r'EMPTY_PARTITION_COLUMN_VALUE'),
    ("*", "pandas", "hive_partition", "pandas (pyarrow's dataset, partition values as a dictionary) can't read "
     "a Hive dataset with a null partition value: 'Cannot yet unify dictionaries with nulls'", r'unify dictionaries'),
    ("*", "pandas", "Option<[iuf]*", "pandas' default dtypes have no null: an integer column with nulls "
     "becomes float64 (NaN for null; inexact above 2^53), a missing float reads as NaN", r'"(NaN|-?\d+\.\d+(e[+-]\d+)?)" != '),
    ("*", "pandas", "Option<string>", "pandas reads a missing string as NaN", r'"NaN" != null'),
    ("*", "pandas", "Option<enum*", "pandas reads a missing category as NaN", r'"NaN" != null'),
    ("*", "pandas", "*list<Option<f64>>*", "pandas reads a list as a NumPy array: a null float in it is NaN", r'"NaN"'),
    ("*", "pandas", "nested", "pandas reads a struct as dicts: an integer field with nulls becomes float64", r'"zip": "\d+\.0"'),
    ("*", "polars", "*+05:30*", "Polars has IANA time zones only: it refuses a column whose zone is a "
     "fixed offset (+05:30)", r'time zone'),
    ("*", "chdb", "hive_partition", "ClickHouse does not percent-decode Hive folder values "
     "(`with%20space` reads as is)", r'"[^"]*%[0-9A-F]{2}[^"]*" != '),
    ("*", "chdb", "*binary*", "ClickHouse has one String type for text and bytes: it reads binary as "
     "String, which its Arrow output labels text", r'!= \{"(hex|uuid)"'),
    ("polars", "chdb", "*uuid*", "Polars writes a UUID as plain 16-byte binary, which ClickHouse reads as String"),
    ("*", "chdb", "nested", "the struct has a binary field, which ClickHouse reads as String (see binary)", r'UnicodeDecodeError'),
    ("*", "chdb", "Option<list*", "ClickHouse has no Nullable(Array): a null list reads as empty", r'\[\] != null'),
    ("*", "chdb", "Option<map*", "ClickHouse has no Nullable(Map): a null map reads as empty", r'\[\] != null'),
    ("*", "datafusion", "hive_partition", "DataFusion takes __HIVE_DEFAULT_PARTITION__ literally "
     "(no null partition values)", r'"__HIVE_DEFAULT_PARTITION__" != null'),
    # writers, by writer
    ("pandas", "*", "*f32*", "pandas takes NaN for missing: it writes NaN as null"),
    ("pandas", "*", "*f64*", "pandas takes NaN for missing: it writes NaN as null"),
    ("pandas", "*", "nested", "pandas holds a struct as dicts: an integer field with nulls is written as float64"),
    ("pandas", "*", "map", "pandas holds a map as a list of pairs, which pyarrow can't convert back: the write fails"),
    ("polars", "*", "*+05:30*", "Polars has IANA time zones only: it can't hold a fixed-offset zone, the write fails"),
    ("polars", "*", "hive_partition", "Polars keeps the partition column inside the files too (large_string) and "
     "leaves `'` unescaped: readers that merge file and folder see a conflict"),
    ("spark", "*", "*timestamp(ns*", "Spark has microseconds only: its users' nanoseconds are truncated"),
    ("spark", "*", "*timestamp*", "Spark writes timestamps as INT96 (its default "
     "`spark.sql.parquet.outputTimestampType`): readers that decode INT96 to nanoseconds wrap, saturate or "
     "refuse instants outside 1677-2262 (soa-persist refuses them as inexact)"),
    ("spark", "*", "*u64*", "Spark has no unsigned types: its users write u64 as decimal(20,0), same values "
     "(soa-persist loads them into its u64 field)"),
    ("spark", "*", "hive_partition", "Spark writes an empty-string partition value as null "
     "(__HIVE_DEFAULT_PARTITION__)"),
    ("chdb", "*", "*binary*", "ClickHouse has one String type: it writes binary as UTF-8-annotated strings that "
     "are not UTF-8, which strict readers refuse"),
    ("chdb", "*", "nested", "the struct has a binary field, written as a UTF-8-annotated string (see binary)"),
    ("chdb", "*", "Option<list*", "ClickHouse has no Nullable(Array): it writes a null list as empty"),
    ("chdb", "*", "Option<map*", "ClickHouse has no Nullable(Map): it writes a null map as empty"),
    ("chdb", "*", "hive_partition", "ClickHouse's file() writes no Hive layout (emulated with `v={_partition_id}` "
     "folders) and refuses a null partition value"),
    ("datafusion", "*", "*timestamp(s*", "DataFusion stores second timestamps as bare INT64 (Parquet has no "
     "seconds unit): readers without its Arrow schema see integers"),
    ("datafusion", "*", "hive_partition", "DataFusion writes a null partition value as an empty folder value "
     "(`v=`, read back as \"\") and escapes some characters only (`v=with space`)"),
]
