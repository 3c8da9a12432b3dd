//! Predicate values: what `eq`, `lt`, `between`, `is_in`, ... accept for a column of `V`
//! values ([`IntoLiteral`]), and how a value that is not itself a `V` still compares exactly
//! ([`LiteralValue`]).
//!
//! An unsuffixed integer literal is an `i32` to Rust and a float literal an `f64` whenever more
//! than one type would fit, so `id.ge(0)` on a `u64` column passes an `i32`. Such a value is
//! converted exactly: `-1` is below every `u64`, `300` above every `u8`, `16_777_217` between
//! two `f32`s. The predicate then compares with the nearest values the column can hold, which
//! gives the same rows as the mathematical comparison, never a wrapped value and never a panic.

use std::borrow::Cow;

use crate::bridge::BaseField;

/// A predicate value in terms of a column's value type `V`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LiteralValue<V> {
    /// Exactly this value of `V`.
    Exact(V),
    /// Less than every value of `V`; holds `V`'s least value.
    BelowMin(V),
    /// Greater than every value of `V`; holds `V`'s greatest value.
    AboveMax(V),
    /// Strictly between two adjacent values of `V`: `(below, above)`, nothing of `V` in between.
    Between(V, V),
}

/// A value that a predicate on a column of `V` values accepts.
///
/// Implemented for `V` itself (every field type, enums included), for the types that convert
/// to `V` without loss (`u32` for a `u64` column, `&str` for a `String` column, `i64` for a
/// `Decimal` one), and for `i32`, the type of an unsuffixed integer literal, on every integer
/// and float column (and `i64` on every integer column). An integer literal beyond `i32` needs
/// a suffix: `id.ge(5_000_000_000u64)`.
///
/// ```
/// use soa_persist_core::query::{IntoLiteral, LiteralValue};
///
/// assert_eq!(IntoLiteral::<u64>::into_literal(7), LiteralValue::Exact(7u64));
/// assert_eq!(IntoLiteral::<u64>::into_literal(-1), LiteralValue::BelowMin(0u64));
/// assert_eq!(IntoLiteral::<u8>::into_literal(300), LiteralValue::AboveMax(255u8));
/// assert_eq!(
///     IntoLiteral::<f32>::into_literal(16_777_217),
///     LiteralValue::Between(16_777_216.0f32, 16_777_218.0f32),
/// );
/// ```
#[diagnostic::on_unimplemented(
    message = "a `{Self}` can't be compared with a column of `{V}`",
    label = "the column holds `{V}`: compare with a `{V}` or a type that converts to it without loss",
    note = "integer columns take integers, float columns numbers, String columns text, enum columns their variants"
)]
pub trait IntoLiteral<V> {
    /// The value as a literal of `V`, or the neighbour of `V`'s range it falls outside of.
    fn into_literal(self) -> LiteralValue<V>;
}

impl<V: BaseField> IntoLiteral<V> for V {
    fn into_literal(self) -> LiteralValue<V> {
        LiteralValue::Exact(self)
    }
}

/// Types with a `From` conversion to the column's type: exact by definition.
macro_rules! lossless {
    ($v:ty: $($s:ty),*) => {$(
        impl IntoLiteral<$v> for $s {
            fn into_literal(self) -> LiteralValue<$v> {
                LiteralValue::Exact(<$v>::from(self))
            }
        }
    )*};
}

lossless!(i16: i8, u8);
lossless!(i32: i8, i16, u8, u16);
lossless!(i64: i8, i16, i32, u8, u16, u32);
lossless!(u16: u8);
lossless!(u32: u8, u16);
lossless!(u64: u8, u16, u32);
lossless!(f32: i8, i16, u8, u16);
lossless!(f64: f32, i8, i16, i32, u8, u16, u32);
lossless!(String: &str, &String, Box<str>, Cow<'_, str>, char);
lossless!(Vec<u8>: &[u8], Box<[u8]>, &str, String);

impl<const N: usize> IntoLiteral<Vec<u8>> for [u8; N] {
    fn into_literal(self) -> LiteralValue<Vec<u8>> {
        LiteralValue::Exact(self.to_vec())
    }
}

impl<const N: usize> IntoLiteral<Vec<u8>> for &[u8; N] {
    fn into_literal(self) -> LiteralValue<Vec<u8>> {
        LiteralValue::Exact(self.to_vec())
    }
}

/// A signed integer on a narrower or unsigned integer column: range-checked. `i32` is an
/// unsuffixed literal's type; `i64` is what rustc suggests for a literal beyond `i32`.
macro_rules! range_checked {
    ($s:ty => $($v:ty),*) => {$(
        impl IntoLiteral<$v> for $s {
            fn into_literal(self) -> LiteralValue<$v> {
                match <$v>::try_from(self) {
                    Ok(v) => LiteralValue::Exact(v),
                    // Out of range: below the least value when negative, else above the greatest.
                    Err(_) if self < 0 => LiteralValue::BelowMin(<$v>::MIN),
                    Err(_) => LiteralValue::AboveMax(<$v>::MAX),
                }
            }
        }
    )*};
}

range_checked!(i32 => i8, i16, u8, u16, u32, u64);
range_checked!(i64 => i8, i16, i32, u8, u16, u32, u64);

/// An `i32` literal on an `f32` column: beyond 2^24 not every integer is an `f32`.
impl IntoLiteral<f32> for i32 {
    fn into_literal(self) -> LiteralValue<f32> {
        let near = self as f32; // the nearest f32
        // Exact: `near` is an integer of magnitude at most 2^31.
        let back = near as i64;
        match back.cmp(&i64::from(self)) {
            std::cmp::Ordering::Equal => LiteralValue::Exact(near),
            std::cmp::Ordering::Greater => LiteralValue::Between(near.next_down(), near),
            std::cmp::Ordering::Less => LiteralValue::Between(near, near.next_up()),
        }
    }
}

// `Decimal::from` of i128/u128 panics beyond 96 bits, so only the types that always fit.
#[cfg(feature = "decimal")]
lossless!(rust_decimal::Decimal: i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

#[cfg(feature = "chrono")]
mod chrono_impls {
    use chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveDateTime, Utc};

    use super::{IntoLiteral, LiteralValue};

    lossless!(DateTime<Utc>: DateTime<FixedOffset>, DateTime<Local>);
    lossless!(NaiveDateTime: NaiveDate);
    lossless!(NaiveDate: NaiveDateTime);

    /// Checked, unlike chrono's `From<SystemTime>`, which panics past chrono's range.
    impl IntoLiteral<DateTime<Utc>> for std::time::SystemTime {
        fn into_literal(self) -> LiteralValue<DateTime<Utc>> {
            let (after, offset) = match self.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => (true, d),
                Err(e) => (false, e.duration()),
            };
            let offset = chrono::Duration::from_std(offset).ok();
            let instant = offset.and_then(|d| match after {
                true => DateTime::<Utc>::UNIX_EPOCH.checked_add_signed(d),
                false => DateTime::<Utc>::UNIX_EPOCH.checked_sub_signed(d),
            });
            match (instant, after) {
                (Some(t), _) => LiteralValue::Exact(t),
                (None, true) => LiteralValue::AboveMax(DateTime::<Utc>::MAX_UTC),
                (None, false) => LiteralValue::BelowMin(DateTime::<Utc>::MIN_UTC),
            }
        }
    }
}
