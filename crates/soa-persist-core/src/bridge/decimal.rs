//! `rust_decimal::Decimal` as Arrow `Decimal128(precision, scale)`, `(38, 10)` unless
//! `#[soa(decimal(p, s))]` says otherwise. A value that does not fit the declared precision and
//! scale exactly is an error, never rounded.

use arrow::array::{Array, ArrayRef, AsArray, Decimal128Array};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Decimal128Type};
use rust_decimal::Decimal;

use super::{BaseField, FieldOptions, ListItem, arc, valid_at};
use crate::error::ConvertError;

const DEFAULT: (u8, i8) = (38, 10);
/// rust_decimal keeps at most 28 digits after the point.
const MAX_SCALE: i32 = 28;

fn precision_scale(opts: &FieldOptions) -> (u8, i8) {
    opts.decimal.unwrap_or(DEFAULT)
}

/// The unscaled Decimal128 value of `d` at `scale`, checked against `precision`.
fn to_unscaled(row: usize, d: &Decimal, precision: u8, scale: i8) -> Result<i128, ConvertError> {
    let (m, e) = (d.mantissa(), d.scale() as i32);
    let shift = i32::from(scale) - e;
    let v = if shift >= 0 {
        10i128
            .checked_pow(shift as u32)
            .and_then(|f| m.checked_mul(f))
    } else {
        let f = 10i128.checked_pow((-shift) as u32);
        f.and_then(|f| (m % f == 0).then_some(m / f))
    };
    let limit = 10i128
        .checked_pow(u32::from(precision))
        .unwrap_or(i128::MAX);
    match v {
        Some(v) if v.unsigned_abs() < limit.unsigned_abs() => Ok(v),
        _ => Err(ConvertError::invalid(
            row,
            format!("{d} does not fit Decimal128({precision}, {scale}) exactly"),
        )),
    }
}

fn from_unscaled(row: usize, mut v: i128, scale: i8) -> Result<Decimal, ConvertError> {
    let mut scale = i32::from(scale);
    while scale < 0 {
        v = v
            .checked_mul(10)
            .ok_or_else(|| ConvertError::invalid(row, "decimal overflows"))?;
        scale += 1;
    }
    while scale > MAX_SCALE && v % 10 == 0 {
        v /= 10;
        scale -= 1;
    }
    if scale > MAX_SCALE {
        return Err(ConvertError::invalid(
            row,
            format!("scale {scale} exceeds rust_decimal's 28"),
        ));
    }
    // rust_decimal holds 96 bits of mantissa; trailing zeros can be dropped without loss.
    loop {
        match Decimal::try_from_i128_with_scale(v, scale as u32) {
            Ok(d) => return Ok(d),
            Err(_) if scale > 0 && v % 10 == 0 => {
                v /= 10;
                scale -= 1;
            }
            Err(e) => return Err(ConvertError::invalid(row, format!("{v}e-{scale}: {e}"))),
        }
    }
}

fn encode(
    values: impl ExactSizeIterator<Item = Option<Decimal>>,
    opts: &FieldOptions,
) -> Result<ArrayRef, ConvertError> {
    let (p, s) = precision_scale(opts);
    let mut raw = Vec::with_capacity(values.len());
    let mut valid = Vec::with_capacity(values.len());
    for (row, v) in values.enumerate() {
        valid.push(v.is_some());
        raw.push(match v {
            Some(d) => to_unscaled(row, &d, p, s)?,
            None => 0,
        });
    }
    let nulls = NullBuffer::from(valid);
    let array = Decimal128Array::new(
        ScalarBuffer::from(raw),
        (nulls.null_count() > 0).then_some(nulls),
    )
    .with_precision_and_scale(p, s)?;
    Ok(arc(array))
}

impl BaseField for Decimal {
    fn data_type(opts: &FieldOptions) -> DataType {
        let (p, s) = precision_scale(opts);
        DataType::Decimal128(p, s)
    }
    fn placeholder() -> Self {
        Decimal::ZERO
    }
    fn validate(&self, opts: &FieldOptions) -> Result<(), ConvertError> {
        let (p, s) = precision_scale(opts);
        to_unscaled(0, self, p, s).map(|_| ())
    }
    fn encode(values: &[Self], opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        encode(values.iter().map(|d| Some(*d)), opts)
    }
    fn encode_opt(values: &[Option<Self>], opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        encode(values.iter().copied(), opts)
    }
    fn decode(array: &ArrayRef, opts: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        let scale = match array.data_type() {
            DataType::Decimal128(_, s) => *s,
            DataType::Decimal32(_, s) | DataType::Decimal64(_, s) | DataType::Decimal256(_, s) => {
                // Widen (or narrow, erroring on overflow rather than nulling) to Decimal128.
                let strict = CastOptions {
                    safe: false,
                    ..Default::default()
                };
                let widened = cast_with_options(array, &DataType::Decimal128(38, *s), &strict)?;
                return Self::decode(&widened, opts);
            }
            other => {
                return Err(ConvertError::type_mismatch(
                    <Self as BaseField>::data_type(opts),
                    other,
                ));
            }
        };
        let array = array.as_primitive::<Decimal128Type>();
        let nulls = array.nulls();
        array
            .values()
            .iter()
            .enumerate()
            .map(|(row, &v)| {
                if valid_at(nulls, row) {
                    from_unscaled(row, v, scale)
                } else {
                    Ok(Decimal::ZERO)
                }
            })
            .collect()
    }
}

impl ListItem for Decimal {}
