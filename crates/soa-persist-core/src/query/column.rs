//! The predicate methods of a column handle (`eq`, `lt`, `between`, `is_in`, `starts_with`, ...),
//! and the traits that decide which of them a column type offers.

use super::{CmpOp, Expr, IntoLiteral, Literal, LiteralValue, Predicate};
use crate::bridge::{BaseField, SoAField};
use crate::fields::Col;

/// The non-null value type a column of `Self` is compared with: `T` for `T` and `Option<T>`.
pub trait Comparable: SoAField {
    /// The non-null value type compared with (`T` for `Option<T>`).
    type Value: BaseField;
}
impl<T: BaseField> Comparable for T {
    type Value = T;
}
impl<T: BaseField> Comparable for Option<T> {
    type Value = T;
}

/// Types with an order that every backend agrees on (numbers, strings, times, decimals), so
/// `lt`/`gt`/`between` are offered only for them. Enums, bytes and UUIDs support equality only.
pub trait Ordered {}
macro_rules! ordered {
    ($($t:ty),*) => {$( impl Ordered for $t {} )*};
}
ordered!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, String);
impl<U: crate::bridge::TimestampUnit> Ordered for crate::bridge::Timestamp<U> {}
#[cfg(feature = "chrono")]
impl Ordered for chrono::DateTime<chrono::Utc> {}
#[cfg(feature = "chrono")]
impl Ordered for chrono::NaiveDateTime {}
#[cfg(feature = "chrono")]
impl Ordered for chrono::NaiveDate {}
#[cfg(feature = "decimal")]
impl Ordered for rust_decimal::Decimal {}

/// Predicates on a column. Values are anything that is [`IntoLiteral`] for the column's type:
/// its own values, lossless conversions, and plain integer and float literals, compared exactly
/// (a literal out of the column's range matches as the mathematics says: `id.ge(-1)` on a `u64`
/// column is true for every non-null row, `id.eq(-1)` for none). Comparisons with a null are
/// unknown, so a row whose column is null never matches, not even under `not`.
///
/// ```
/// # use std::sync::Arc;
/// # use soa_persist_core::arrow::array::{ArrayRef, Float64Array, RecordBatch, UInt64Array, UInt8Array};
/// use soa_persist_core::bridge::FieldOptions;
/// use soa_persist_core::fields::Col;
///
/// struct Reading; // a `#[derive(SoA)]` struct's `Reading::fields()` builds these handles
/// let id = Col::<Reading, u64>::new(&[], "id", FieldOptions::DEFAULT);
/// let qty = Col::<Reading, Option<u8>>::new(&[], "qty", FieldOptions::DEFAULT);
/// let amount = Col::<Reading, f64>::new(&[], "amount", FieldOptions::DEFAULT);
///
/// let batch = RecordBatch::try_from_iter([
///     ("id", Arc::new(UInt64Array::from(vec![0, 1_000, 1_999, 2_000])) as ArrayRef),
///     ("qty", Arc::new(UInt8Array::from(vec![Some(3), None, Some(250), Some(3)])) as ArrayRef),
///     ("amount", Arc::new(Float64Array::from(vec![0.5, 1.0, 1.5, 2.0])) as ArrayRef),
/// ])?;
/// assert_eq!(id.clone().ge(0).count(&batch)?, 4);
/// assert_eq!(id.clone().between(1000, 1999).count(&batch)?, 2);
/// assert_eq!(id.clone().is_in([1, 2, 2_000]).count(&batch)?, 1);
/// assert_eq!(qty.clone().eq(3).count(&batch)?, 2);
/// assert_eq!(amount.clone().gt(1).count(&batch)?, 2);
/// // Out of range: every row holds a u64 >= -1, none equals -1; every u8 is below 300.
/// assert_eq!(id.clone().ge(-1).count(&batch)?, 4);
/// assert_eq!(id.clone().eq(-1).count(&batch)?, 0);
/// assert_eq!(qty.clone().lt(300).count(&batch)?, 3); // the null row is unknown
/// assert_eq!(qty.lt(300).not().count(&batch)?, 0);
/// # Ok::<(), soa_persist_core::error::ConvertError>(())
/// ```
impl<R, V: Comparable> Col<R, V> {
    fn literal(&self, value: V::Value) -> Literal {
        Literal::new(value, self.options())
    }

    fn compare_exact(&self, op: CmpOp, value: V::Value) -> Expr {
        Expr::Compare {
            column: self.path().to_vec(),
            op,
            value: self.literal(value),
        }
    }

    /// `column op value` as a comparison with values the column can hold. A value outside the
    /// column's range or between two of its values becomes the comparison with its neighbour
    /// that selects the same rows (and stays unknown for null rows, so `not` keeps SQL meaning).
    fn compare_value(&self, op: CmpOp, value: LiteralValue<V::Value>) -> Expr {
        use CmpOp::{Eq, Ge, Gt, Le, Lt, Ne};
        match value {
            LiteralValue::Exact(v) => self.compare_exact(op, v),
            LiteralValue::BelowMin(min) => match op {
                Lt | Le | Eq => self.compare_exact(Lt, min),
                Gt | Ge | Ne => self.compare_exact(Ge, min),
            },
            LiteralValue::AboveMax(max) => match op {
                Gt | Ge | Eq => self.compare_exact(Gt, max),
                Lt | Le | Ne => self.compare_exact(Le, max),
            },
            LiteralValue::Between(below, above) => match op {
                Lt | Le => self.compare_exact(Le, below),
                Gt | Ge => self.compare_exact(Ge, above),
                Eq => self.empty_range(below, above),
                Ne => Expr::Not(Box::new(self.empty_range(below, above))),
            },
        }
    }

    /// `above <= column <= below` with `below < above`: false for every value, unknown for null.
    fn empty_range(&self, below: V::Value, above: V::Value) -> Expr {
        Expr::Between {
            column: self.path().to_vec(),
            low: self.literal(above),
            high: self.literal(below),
        }
    }

    fn compare(self, op: CmpOp, value: impl IntoLiteral<V::Value>) -> Predicate<R> {
        Predicate::from_expr(self.compare_value(op, value.into_literal()))
    }

    /// Rows whose value equals `value`.
    pub fn eq(self, value: impl IntoLiteral<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Eq, value)
    }

    /// Rows whose value differs from `value` (nulls excluded).
    pub fn ne(self, value: impl IntoLiteral<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Ne, value)
    }

    /// The column equals one of `values` (an empty list matches nothing).
    pub fn is_in<I: IntoIterator>(self, values: I) -> Predicate<R>
    where
        I::Item: IntoLiteral<V::Value>,
    {
        let mut exact = Vec::new();
        let mut never = None;
        for value in values {
            match value.into_literal() {
                LiteralValue::Exact(v) => exact.push(self.literal(v)),
                // Equal to no value of the column: it adds nothing to the others.
                other => {
                    never.get_or_insert(other);
                }
            }
        }
        let expr = match never {
            // Only such values: no row matches, and null rows stay unknown.
            Some(value) if exact.is_empty() => self.compare_value(CmpOp::Eq, value),
            _ => Expr::In {
                column: self.path().to_vec(),
                values: exact,
            },
        };
        Predicate::from_expr(expr)
    }

    /// Rows where the value is null.
    pub fn is_null(self) -> Predicate<R> {
        Predicate::from_expr(Expr::IsNull(self.path().to_vec()))
    }

    /// Rows where the value is not null.
    pub fn is_not_null(self) -> Predicate<R> {
        Predicate::from_expr(Expr::IsNotNull(self.path().to_vec()))
    }
}

impl<R, V: Comparable> Col<R, V>
where
    V::Value: Ordered,
{
    /// Rows whose value is less than `value`.
    pub fn lt(self, value: impl IntoLiteral<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Lt, value)
    }
    /// Rows whose value is at most `value`.
    pub fn le(self, value: impl IntoLiteral<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Le, value)
    }
    /// Rows whose value is greater than `value`.
    pub fn gt(self, value: impl IntoLiteral<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Gt, value)
    }
    /// Rows whose value is at least `value`.
    pub fn ge(self, value: impl IntoLiteral<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Ge, value)
    }
    /// `low <= column <= high`.
    pub fn between(
        self,
        low: impl IntoLiteral<V::Value>,
        high: impl IntoLiteral<V::Value>,
    ) -> Predicate<R> {
        // The least column value >= low and the greatest <= high; `Err` when there is none.
        let low = match low.into_literal() {
            LiteralValue::Exact(v) | LiteralValue::BelowMin(v) | LiteralValue::Between(_, v) => {
                Ok(v)
            }
            none @ LiteralValue::AboveMax(_) => Err(none),
        };
        let high = match high.into_literal() {
            LiteralValue::Exact(v) | LiteralValue::AboveMax(v) | LiteralValue::Between(v, _) => {
                Ok(v)
            }
            none @ LiteralValue::BelowMin(_) => Err(none),
        };
        let expr = match (low, high) {
            (Ok(low), Ok(high)) => Expr::Between {
                column: self.path().to_vec(),
                low: self.literal(low),
                high: self.literal(high),
            },
            // No value of the column is in range: false for every row, unknown for null.
            (Err(none), _) | (_, Err(none)) => self.compare_value(CmpOp::Eq, none),
        };
        Predicate::from_expr(expr)
    }
}

impl<R, V: Comparable<Value = String>> Col<R, V> {
    /// Rows whose text starts with `prefix`.
    pub fn starts_with(self, prefix: impl Into<String>) -> Predicate<R> {
        Predicate::from_expr(Expr::StartsWith {
            column: self.path().to_vec(),
            prefix: prefix.into(),
        })
    }
    /// Rows whose text contains `needle` (`%` and `_` are plain characters).
    pub fn contains(self, needle: impl Into<String>) -> Predicate<R> {
        Predicate::from_expr(Expr::Contains {
            column: self.path().to_vec(),
            needle: needle.into(),
        })
    }
}
