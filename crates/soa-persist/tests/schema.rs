//! The generated Arrow schema, exactly (golden), and its metadata and fingerprint.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod common;

use soa_persist::arrow::datatypes::{DataType, TimeUnit};
use soa_persist::prelude::*;
use soa_persist::schema::{
    META_FINGERPRINT, META_KEY, META_PARTITION, META_STRUCT, key_field, partition_fields,
};

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq)]
pub enum Status {
    Pending,
    Shipped,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Order {
    #[soa(key)]
    order_id: u64,
    customer: String,
    amount: f64,
    #[soa(partition)]
    status: Status,
    placed_at: DateTime<Utc>,
    note: Option<String>,
}

mod v2 {
    use soa_persist::prelude::*;
    #[derive(SoAEnum, Clone, Copy, Debug, PartialEq)]
    pub enum Status {
        Pending,
        Shipped,
    }
    /// Same as `Order` but `amount` is f32: the fingerprint must change.
    #[derive(SoA, Clone, Debug, PartialEq)]
    #[soa(rename = "Order")]
    pub struct Order {
        #[soa(key)]
        order_id: u64,
        customer: String,
        amount: f32,
        #[soa(partition)]
        status: Status,
        placed_at: DateTime<Utc>,
        note: Option<String>,
    }
}

#[test]
fn order_schema_is_exactly_this() {
    let schema = Order::arrow_schema();
    let golden = "Field { name: \"order_id\", data_type: UInt64 }, \
Field { name: \"customer\", data_type: Utf8 }, \
Field { name: \"amount\", data_type: Float64 }, \
Field { name: \"status\", data_type: Dictionary(Int8, Utf8), \
metadata: {\"soa.enum.variants\": \"[\\\"Pending\\\",\\\"Shipped\\\"]\"} }, \
Field { name: \"placed_at\", data_type: Timestamp(Microsecond, Some(\"UTC\")) }, \
Field { name: \"note\", data_type: Utf8, nullable: true }";
    let fields: Vec<String> = schema.fields().iter().map(|f| format!("{f:?}")).collect();
    assert_eq!(fields.join(", "), golden);
    assert_eq!(schema.metadata()[META_STRUCT], "Order");
    assert_eq!(schema.metadata()[META_KEY], "order_id");
    assert_eq!(schema.metadata()[META_PARTITION], "status");
    assert_eq!(schema.metadata()[META_FINGERPRINT].len(), 16);
    assert_eq!(key_field(&schema), Some("order_id"));
    assert_eq!(partition_fields(&schema), ["status"]);
}

#[test]
fn names_and_types_follow_declaration_order() {
    assert_eq!(
        Order::arrow_field_names(),
        [
            "order_id",
            "customer",
            "amount",
            "status",
            "placed_at",
            "note"
        ]
    );
    assert_eq!(
        Order::arrow_field_types()[4],
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(OrderSoA::arrow_field_names(), Order::arrow_field_names());
}

#[test]
fn schema_is_built_once_and_shared() {
    assert!(std::sync::Arc::ptr_eq(
        &Order::arrow_schema(),
        &Order::arrow_schema()
    ));
}

#[test]
fn fingerprint_changes_with_a_field_type() {
    assert_ne!(Order::schema_fingerprint(), v2::Order::schema_fingerprint());
    assert_eq!(v2::Order::arrow_schema().metadata()[META_STRUCT], "Order");
}

#[test]
fn every_type_maps_to_the_expected_arrow_type() {
    let schema = common::AllTypes::arrow_schema();
    let ty = |name: &str| format!("{}", schema.field_with_name(name).unwrap().data_type());
    let expected = [
        ("flag", "Boolean"),
        ("small", "Int8"),
        ("ushort", "UInt16"),
        ("double", "Float64"),
        ("text", "Utf8"),
        ("bytes", "Binary"),
        ("fixed", "FixedSizeBinary(4)"),
        ("at", "Timestamp(µs, \"UTC\")"),
        ("at_ns", "Timestamp(ns, \"UTC\")"),
        ("at_seconds", "Timestamp(s)"),
        ("day", "Date32"),
        ("raw_us", "Timestamp(µs, \"UTC\")"),
        ("opt_raw_ns", "Timestamp(ns, \"UTC\")"),
        ("price", "Decimal128(18, 4)"),
        ("opt_price", "Decimal128(38, 10)"),
        ("uuid", "FixedSizeBinary(16)"),
        ("status", "Dictionary(Int8, Utf8)"),
        ("ints", "List(non-null Int32)"),
        ("maybe_floats", "List(Float64)"),
        ("nested_list", "List(non-null List(non-null Int64))"),
    ];
    for (name, want) in expected {
        assert_eq!(ty(name), want, "{name}");
    }
    let uuid = schema.field_with_name("uuid").unwrap();
    assert_eq!(uuid.metadata()["ARROW:extension:name"], "arrow.uuid");
    assert!(schema.field_with_name("opt_uuid").unwrap().is_nullable());
    assert!(!schema.field_with_name("uuid").unwrap().is_nullable());
    match schema.field_with_name("inner").unwrap().data_type() {
        DataType::Struct(fields) => {
            let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
            assert_eq!(names, ["city", "zip", "codes"]);
        }
        other => panic!("inner should be a struct, is {other}"),
    }
}
