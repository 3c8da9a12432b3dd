//! Integer fields load whole decimals (scale 0, the type Spark writes for `u64`): every value
//! range-checked into the field's type, nulls kept; a decimal with a fraction is refused.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::sync::Arc;

use soa_persist_core::arrow::array::{ArrayRef, Decimal128Array};
use soa_persist_core::bridge::{BaseField, FieldOptions, SoAField};

fn decimals(values: &[Option<i128>], precision: u8, scale: i8) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(values.to_vec())
            .with_precision_and_scale(precision, scale)
            .unwrap(),
    )
}

#[test]
fn whole_decimals_load_into_every_integer_width() {
    let max = i128::from(u64::MAX);
    let array = decimals(&[Some(0), Some(i128::from(i64::MAX) + 1), Some(max)], 20, 0);
    let got = <u64 as BaseField>::decode(&array, &FieldOptions::DEFAULT).unwrap();
    assert_eq!(got, [0, i64::MAX as u64 + 1, u64::MAX]);

    let array = decimals(&[Some(-5), None, Some(127)], 3, 0);
    let got = <Option<i8> as SoAField>::from_array(&array, &FieldOptions::DEFAULT).unwrap();
    assert_eq!(got, [Some(-5), None, Some(127)]);
}

#[test]
fn out_of_range_and_fractional_decimals_are_refused() {
    let too_big = decimals(&[Some(i128::from(u64::MAX) + 1)], 21, 0);
    assert!(<u64 as BaseField>::decode(&too_big, &FieldOptions::DEFAULT).is_err());
    let negative = decimals(&[Some(-1)], 20, 0);
    assert!(<u64 as BaseField>::decode(&negative, &FieldOptions::DEFAULT).is_err());
    let fraction = decimals(&[Some(150)], 10, 2);
    assert!(<i64 as BaseField>::decode(&fraction, &FieldOptions::DEFAULT).is_err());
}
