//! Every error path of `from_record_batch` / `to_record_batch`: a typed error naming the
//! column (and row, and both types) — never a panic — plus the lossless alternative encodings
//! that must be accepted.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::sync::Arc;

use soa_persist::arrow::array::{
    ArrayRef, BinaryArray, DictionaryArray, Float64Array, Int32Array, Int64Array, LargeStringArray,
    ListArray, RecordBatch, StringArray, StringViewArray, StructArray, TimestampNanosecondArray,
    TimestampSecondArray, UInt64Array, new_null_array,
};
use soa_persist::arrow::datatypes::{DataType, Field, Int32Type};
use soa_persist::prelude::*;
use soa_persist::rust_decimal::Decimal;
use soa_persist::{ConvertError, Micros};

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq)]
pub enum Status {
    Pending,
    Shipped,
}

fn default_region() -> String {
    "eu".into()
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Row {
    id: u64,
    name: String,
    status: Status,
    at: DateTime<Utc>,
    raw: Timestamp<Micros>,
    small: i16,
    note: Option<String>,
    #[soa(default)]
    score: f64,
    #[soa(default = "default_region")]
    region: String,
}

fn a(array: impl soa_persist::arrow::array::Array + 'static) -> ArrayRef {
    Arc::new(array)
}

/// A valid two-row batch with `replace` swapping in columns by name (None drops the column).
fn batch(replace: &[(&str, Option<ArrayRef>)]) -> RecordBatch {
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        ("id", a(UInt64Array::from(vec![1, 2]))),
        ("name", a(StringArray::from(vec!["a", "b"]))),
        ("status", a(StringArray::from(vec!["Pending", "Shipped"]))),
        (
            "at",
            a(TimestampSecondArray::from(vec![1, 2]).with_timezone("UTC")),
        ),
        (
            "raw",
            a(TimestampNanosecondArray::from(vec![1000, 2000]).with_timezone("UTC")),
        ),
        ("small", a(Int64Array::from(vec![-5, 7]))),
    ];
    for (name, array) in replace {
        cols.retain(|(n, _)| n != name);
        if let Some(array) = array {
            cols.push((name, array.clone()));
        }
    }
    RecordBatch::try_from_iter(cols.into_iter().map(|(n, a)| (n.to_string(), a))).unwrap()
}

fn err(replace: &[(&str, Option<ArrayRef>)]) -> ConvertError {
    let b = batch(replace);
    let copied = RowSoA::from_record_batch(&b).expect_err("must fail");
    let owned = RowSoA::from_owned_record_batch(b).expect_err("owned must fail too");
    assert_eq!(copied.to_string(), owned.to_string());
    copied
}

#[test]
fn alternative_encodings_and_missing_optional_columns_are_accepted() {
    let rows = RowSoA::from_record_batch(&batch(&[])).unwrap();
    assert_eq!(rows.small, [-5, 7]); // Int64 -> i16, values in range
    assert_eq!(rows.status, [Status::Pending, Status::Shipped]); // plain strings -> enum
    assert_eq!(rows.at[1], DateTime::from_timestamp(2, 0).unwrap()); // seconds -> DateTime
    assert_eq!(rows.raw[0], Timestamp::new(1)); // exact ns -> µs
    assert_eq!(rows.note, [None, None]); // missing Option column
    assert_eq!(rows.score, [0.0, 0.0]); // #[soa(default)]
    assert_eq!(rows.region, ["eu", "eu"]); // #[soa(default = "...")]

    let large = a(LargeStringArray::from(vec!["x", "y"]));
    let view = a(StringViewArray::from(vec!["p", "q"]));
    let dict = a(DictionaryArray::<Int32Type>::new(
        Int32Array::from(vec![1, 0]),
        a(StringArray::from(vec!["Pending", "Shipped"])),
    ));
    let rows = RowSoA::from_record_batch(&batch(&[
        ("name", Some(large)),
        ("note", Some(view)),
        ("status", Some(dict)),
    ]))
    .unwrap();
    assert_eq!(rows.name, ["x", "y"]);
    assert_eq!(rows.note, [Some("p".to_string()), Some("q".to_string())]);
    assert_eq!(rows.status, [Status::Shipped, Status::Pending]);
}

#[test]
fn extra_columns_and_column_order_do_not_matter() {
    let b = batch(&[
        ("zzz", Some(a(Float64Array::from(vec![1.0, 2.0])))),
        ("id", Some(a(UInt64Array::from(vec![9, 8])))),
    ]);
    assert_eq!(b.schema().field(0).name(), "name");
    assert_eq!(RowSoA::from_record_batch(&b).unwrap().id, [9, 8]);
}

#[test]
fn missing_required_column() {
    let e = err(&[("name", None)]);
    assert!(
        matches!(&e, ConvertError::MissingColumn { field } if field == "name"),
        "{e}"
    );
}

#[test]
fn wrong_type_names_field_and_both_types() {
    let e = err(&[("id", Some(a(StringArray::from(vec!["1", "2"]))))]);
    match e {
        ConvertError::TypeMismatch {
            field,
            expected,
            found,
        } => {
            assert_eq!(
                (field.as_str(), expected, found),
                ("id", DataType::UInt64, DataType::Utf8)
            );
        }
        e => panic!("{e}"),
    }
}

#[test]
fn null_in_non_option_field() {
    let e = err(&[("name", Some(a(StringArray::from(vec![Some("a"), None]))))]);
    assert!(
        matches!(&e, ConvertError::UnexpectedNull { field, row: 1 } if field == "name"),
        "{e}"
    );
    let e = err(&[("id", Some(new_null_array(&DataType::UInt64, 2)))]);
    assert!(
        matches!(&e, ConvertError::UnexpectedNull { field, row: 0 } if field == "id"),
        "{e}"
    );
}

#[test]
fn integer_out_of_range_is_not_truncated() {
    let e = err(&[("small", Some(a(Int64Array::from(vec![1, 40_000]))))]);
    assert!(
        matches!(&e, ConvertError::InvalidValue { field, row: 1, .. } if field == "small"),
        "{e}"
    );
    assert!(e.to_string().contains("40000"), "{e}");
    let e = err(&[("id", Some(a(Int64Array::from(vec![-1, 2]))))]);
    assert!(
        matches!(&e, ConvertError::InvalidValue { field, row: 0, .. } if field == "id"),
        "{e}"
    );
}

#[test]
fn unknown_enum_variant_lists_the_known_ones() {
    let e = err(&[(
        "status",
        Some(a(StringArray::from(vec!["Pending", "Lost"]))),
    )]);
    assert!(
        matches!(&e, ConvertError::InvalidValue { field, row: 1, .. } if field == "status"),
        "{e}"
    );
    assert!(
        e.to_string().contains("Lost") && e.to_string().contains("Pending, Shipped"),
        "{e}"
    );
}

#[test]
fn inexact_timestamp_unit_is_an_error() {
    let e = err(&[(
        "raw",
        Some(a(
            TimestampNanosecondArray::from(vec![1000, 1001]).with_timezone("UTC")
        )),
    )]);
    assert!(
        matches!(&e, ConvertError::InvalidValue { field, row: 1, .. } if field == "raw"),
        "{e}"
    );
}

#[test]
fn length_mismatch_in_a_hand_edited_container() {
    let mut rows = RowSoA::from_record_batch(&batch(&[])).unwrap();
    rows.name.push("extra".into());
    assert!(!rows.is_consistent());
    let e = rows.to_record_batch().expect_err("inconsistent lengths");
    assert!(
        matches!(&e, ConvertError::LengthMismatch { field, expected: 2, found: 3 } if field == "name"),
        "{e}"
    );
    assert_eq!(
        rows.swap_remove(0),
        None,
        "no partial removal from an inconsistent container"
    );
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Priced {
    #[soa(decimal(5, 2))]
    price: Decimal,
    tags: Vec<String>,
    fixed: [u8; 4],
    #[soa(nested)]
    inner: Inner,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Inner {
    city: String,
}

fn priced(price: Decimal) -> PricedSoA {
    std::iter::once(Priced {
        price,
        tags: vec![],
        fixed: [1; 4],
        inner: Inner { city: "x".into() },
    })
    .collect()
}

#[test]
fn decimal_that_does_not_fit_is_an_error_not_rounded() {
    for bad in [
        Decimal::new(123_456, 3),
        Decimal::new(100_000, 2),
        Decimal::new(1_000, 0),
    ] {
        let e = priced(bad).to_record_batch().expect_err("must not round");
        assert!(
            matches!(&e, ConvertError::InvalidValue { field, row: 0, .. } if field == "price"),
            "{bad}: {e}"
        );
    }
    let ok = priced(Decimal::new(15, 1)).to_record_batch().unwrap();
    let back = PricedSoA::from_record_batch(&ok).unwrap();
    assert_eq!(back.price[0], Decimal::new(150, 2)); // 1.5 at the column's scale
}

#[test]
fn nested_and_list_errors_carry_the_full_path() {
    let good = priced(Decimal::ONE).to_record_batch().unwrap();
    let city_less = StructArray::from(vec![(
        Arc::new(Field::new("town", DataType::Utf8, false)),
        a(StringArray::from(vec!["x"])),
    )]);
    let b = RecordBatch::try_from_iter([
        ("price", good.column(0).clone()),
        ("tags", good.column(1).clone()),
        ("fixed", good.column(2).clone()),
        ("inner", a(city_less)),
    ])
    .unwrap();
    let e = PricedSoA::from_record_batch(&b).unwrap_err();
    assert!(
        matches!(&e, ConvertError::MissingColumn { field } if field == "inner.city"),
        "{e}"
    );

    let ints = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
    let b = RecordBatch::try_from_iter([
        ("price", good.column(0).clone()),
        ("tags", a(ints)),
        ("fixed", good.column(2).clone()),
        ("inner", good.column(3).clone()),
    ])
    .unwrap();
    let e = PricedSoA::from_record_batch(&b).unwrap_err();
    assert!(
        matches!(&e, ConvertError::TypeMismatch { field, .. } if field == "tags[]"),
        "{e}"
    );
}

#[test]
fn fixed_size_binary_checks_length() {
    let good = priced(Decimal::ONE).to_record_batch().unwrap();
    let b = RecordBatch::try_from_iter([
        ("price", good.column(0).clone()),
        ("tags", good.column(1).clone()),
        ("fixed", a(BinaryArray::from(vec![&b"abc"[..]]))),
        ("inner", good.column(3).clone()),
    ])
    .unwrap();
    let e = PricedSoA::from_record_batch(&b).unwrap_err();
    assert!(
        matches!(&e, ConvertError::InvalidValue { field, row: 0, .. } if field == "fixed"),
        "{e}"
    );
}

/// Any column of any of these types in any field's place: an error or a value, never a panic.
#[test]
fn garbage_columns_never_panic() {
    let n = 2;
    let samples: Vec<ArrayRef> = vec![
        a(UInt64Array::from(vec![u64::MAX, 0])),
        a(Int32Array::from(vec![i32::MIN, 5])),
        a(Float64Array::from(vec![f64::NAN, 1.0])),
        a(StringArray::from(vec![Some("x"), None])),
        a(BinaryArray::from(vec![&b"\xff"[..], b""])),
        a(TimestampNanosecondArray::from(vec![i64::MIN, i64::MAX])),
        a(TimestampSecondArray::from(vec![i64::MAX, i64::MIN])),
        new_null_array(&DataType::Utf8, n),
        a(DictionaryArray::<Int32Type>::new(
            Int32Array::from(vec![None, None]),
            a(StringArray::from(Vec::<&str>::new())),
        )),
        a(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1)]),
            None,
        ])),
    ];
    for name in [
        "id", "name", "status", "at", "raw", "small", "note", "score", "region",
    ] {
        for sample in &samples {
            let b = batch(&[(name, Some(sample.clone()))]);
            let _ = RowSoA::from_record_batch(&b);
            let _ = RowSoA::from_owned_record_batch(b);
        }
    }
}
