//! The ClickHouse Native codec in process (no server): encode -> decode is the identity for every
//! field type on both an 18.16-era and a current server's mapping, fed whole or in chunks of any
//! size; the mapping table itself; type strings as servers print them; refused columns and
//! values. Bad input is in `clickhouse_corrupt.rs`, the real server in `clickhouse_server.rs`,
//! chdb in `clickhouse_chdb.rs`.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod clickhouse;
mod tools;

use std::sync::Arc;

use clickhouse::codec::*;
use clickhouse::model::*;
use proptest::prelude::*;
use soa_persist::arrow::array::{
    Array, ArrayRef, Decimal128Array, DictionaryArray, Int32Array, RecordBatch, StringArray,
};
use soa_persist::arrow::datatypes::{DataType, Field, Int8Type, Schema};
use soa_persist::backends::clickhouse::*;
use soa_persist::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_is_the_identity(n in 0u64..40, seed in any::<u64>(), block in 1usize..50, chunk in 1usize..5000, modern in any::<bool>()) {
        let caps = if modern { ServerCaps::modern() } else { ServerCaps::legacy() };
        let want = rows(n, seed);
        let bytes = encode_blocks(&want, &caps, block);
        let got = to_rows(&decode_chunked(&bytes, Row::arrow_schema(), chunk).map_err(|e| TestCaseError::fail(e.to_string()))?);
        prop_assert!(same(&got, &want));
    }
}

#[test]
fn many_rows_in_many_blocks_round_trip_on_both_mappings() {
    let want = rows(5_000, 11);
    for caps in [ServerCaps::legacy(), ServerCaps::modern()] {
        let bytes = encode_blocks(&want, &caps, 777);
        assert!(same(
            &to_rows(&decode_blocks(&bytes, Row::arrow_schema()).unwrap()),
            &want
        ));
        // A body that arrives a few bytes at a time decodes the same.
        assert!(same(
            &to_rows(&decode_chunked(&bytes, Row::arrow_schema(), 13).unwrap()),
            &want
        ));
    }
}

#[test]
fn no_rows_encode_to_an_empty_block_and_decode_to_nothing() {
    let bytes = encode_blocks(&rows(0, 1), &ServerCaps::legacy(), 10);
    assert!(bytes.is_empty());
    let enc = encoder(&ServerCaps::modern());
    let empty = enc
        .encode_to_vec(&RecordBatch::new_empty(Row::arrow_schema()))
        .unwrap();
    assert!(
        decode_blocks(&empty, Row::arrow_schema())
            .unwrap()
            .is_empty()
    );
    assert!(decode_blocks(&[], Row::arrow_schema()).unwrap().is_empty());
}

fn types_of(caps: &ServerCaps) -> Vec<(String, String, Option<String>)> {
    table_columns(&Row::arrow_schema(), caps, &TypeOptions::default())
        .unwrap()
        .into_iter()
        .map(|c| (c.name, c.ch_type.to_string(), c.note))
        .collect()
}

fn type_of(types: &[(String, String, Option<String>)], name: &str) -> String {
    types
        .iter()
        .find(|t| t.0 == name)
        .map(|t| t.1.clone())
        .unwrap()
}

#[test]
fn the_mapping_depends_on_what_the_server_offers() {
    let old = types_of(&ServerCaps::legacy());
    let new = types_of(&ServerCaps::modern());
    let expect = [
        ("flag", "UInt8", "Bool"),
        ("opt_flag", "Nullable(UInt8)", "Nullable(Bool)"),
        ("ulong", "UInt64", "UInt64"),
        ("text", "String", "String"),
        ("bytes", "String", "String"),
        ("fixed", "FixedString(3)", "FixedString(3)"),
        ("uuid", "UUID", "UUID"),
        ("price", "Decimal(18, 4)", "Decimal(18, 4)"),
        (
            "opt_price",
            "Nullable(Decimal(38, 10))",
            "Nullable(Decimal(38, 10))",
        ),
        ("day", "Int32", "Date32"),
        ("at", "Int64", "DateTime64(6, 'UTC')"),
        ("at_ns", "Int64", "DateTime64(9, 'UTC')"),
        ("at_s", "Int64", "DateTime64(0)"),
        (
            "opt_raw_ns",
            "Nullable(Int64)",
            "Nullable(DateTime64(9, 'UTC'))",
        ),
        (
            "color",
            r#"Enum8('Red' = 0, 'it\'s "green"' = 1, 'Blue' = 2)"#,
            r#"Enum8('Red' = 0, 'it\'s "green"' = 1, 'Blue' = 2)"#,
        ),
        (
            "maybe",
            "Array(Nullable(Float64))",
            "Array(Nullable(Float64))",
        ),
        ("nested", "Array(Array(Int64))", "Array(Array(Int64))"),
        (
            "place",
            "Tuple(String, Nullable(UInt32), String)",
            "Tuple(`city` String, `zip` Nullable(UInt32), `codes` String)",
        ),
    ];
    for (name, legacy, modern) in expect {
        assert_eq!(type_of(&old, name), legacy, "{name} on 18.16");
        assert_eq!(type_of(&new, name), modern, "{name} on a current server");
    }
    // Fallbacks say what they hold; native types need no note.
    let note = |types: &[(String, String, Option<String>)], name: &str| {
        types.iter().find(|t| t.0 == name).unwrap().2.clone()
    };
    assert_eq!(
        note(&old, "at").as_deref(),
        Some(
            "soa: Timestamp(Microsecond, UTC) as Int64 microseconds since 1970-01-01 00:00:00 UTC"
        )
    );
    assert_eq!(
        note(&old, "day").as_deref(),
        Some("soa: Date32 as Int32 days since 1970-01-01")
    );
    assert_eq!(note(&new, "at"), None);
    // Every type string parses back to the same type.
    for (_, t, _) in old.iter().chain(&new) {
        assert_eq!(ChType::parse(t).unwrap().to_string(), *t);
    }
}

#[test]
fn type_strings_as_servers_print_them_parse() {
    let cases = [
        (
            "Tuple(\n    city String,\n    zip UInt32)",
            "Tuple(`city` String, `zip` UInt32)",
        ),
        ("Decimal64(4)", "Decimal(18, 4)"),
        ("Decimal(9,2)", "Decimal(9, 2)"),
        ("DateTime('Europe/Berlin')", "DateTime('Europe/Berlin')"),
        (
            "Enum16('a' = -300, 'b\\\\c' = 2)",
            "Enum16('a' = -300, 'b\\\\c' = 2)",
        ),
        (
            "LowCardinality(Nullable(String))",
            "LowCardinality(Nullable(String))",
        ),
        ("Array(Tuple(String, UInt8))", "Array(Tuple(String, UInt8))"),
        ("Nullable(Nothing)", "Nullable(Nothing)"),
    ];
    for (text, printed) in cases {
        assert_eq!(ChType::parse(text).unwrap().to_string(), printed, "{text}");
    }
    for bad in [
        "Int128",
        "Map(String, UInt8)",
        "Array(",
        "Decimal(80, 2)",
        "Enum8('a' = 300)",
        "String)",
    ] {
        assert!(ChType::parse(bad).is_err(), "{bad}");
    }
}

#[derive(SoA, Clone, Debug, PartialEq)]
struct OptionalList {
    id: u64,
    opt_list: Option<Vec<u16>>,
}

#[test]
fn columns_clickhouse_cannot_hold_are_refused_by_name() {
    let caps = ServerCaps::modern();
    let err =
        BlockEncoder::for_schema(OptionalList::arrow_schema(), &caps, &TypeOptions::default())
            .unwrap_err();
    assert!(matches!(err, PersistError::SchemaMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains("`opt_list`") && err.to_string().contains("Nullable(Array"),
        "{err}"
    );
    let inner = Field::new("a", DataType::Int32, false);
    let odd = [
        Field::new("s", DataType::Struct(vec![inner].into()), true),
        Field::new("h", DataType::Float16, false),
        Field::new("neg", DataType::Decimal128(10, -2), false),
    ];
    for field in odd {
        let name = field.name().clone();
        let schema = Arc::new(Schema::new(vec![field]));
        let err = BlockEncoder::for_schema(schema, &caps, &TypeOptions::default()).unwrap_err();
        assert!(err.to_string().contains(&format!("`{name}`")), "{err}");
        assert!(!err.is_retryable());
    }
    // An explicit type that doesn't fit the column is refused before anything is encoded.
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Utf8, false)]));
    let err = BlockEncoder::new(schema, vec![ChType::Int32]).unwrap_err();
    assert!(
        err.to_string()
            .contains("Arrow Utf8 can't be written as ClickHouse Int32"),
        "{err}"
    );
}

fn one_column(name: &str, array: ArrayRef, ty: ChType) -> Result<Vec<u8>, PersistError> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        name,
        array.data_type().clone(),
        true,
    )]));
    let batch = RecordBatch::try_new(schema.clone(), vec![array]).unwrap();
    BlockEncoder::new(schema, vec![ty])?.encode_to_vec(&batch)
}

#[test]
fn values_that_do_not_fit_are_refused_with_column_and_row() {
    let wide = Decimal128Array::from(vec![1, 10_000_000_000])
        .with_precision_and_scale(38, 2)
        .unwrap();
    let err = one_column(
        "amount",
        Arc::new(wide),
        ChType::Decimal {
            precision: 9,
            scale: 2,
        },
    )
    .unwrap_err();
    assert!(
        matches!(&err, PersistError::Convert(e) if e.field() == "amount"),
        "{err}"
    );
    assert!(err.to_string().contains("row 1"), "{err}");

    let names = StringArray::from(vec!["Red", "Purple"]);
    let dict = DictionaryArray::<Int8Type>::try_new(vec![0i8, 1].into(), Arc::new(names)).unwrap();
    let err = one_column(
        "color",
        Arc::new(dict),
        ChType::Enum8(vec![("Red".into(), 0)]),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("`Purple`") && err.to_string().contains("row 1"),
        "{err}"
    );

    let with_null = Int32Array::from(vec![Some(1), None]);
    let err = one_column("qty", Arc::new(with_null), ChType::Int32).unwrap_err();
    assert!(err.to_string().contains("null at row 1"), "{err}");
}
