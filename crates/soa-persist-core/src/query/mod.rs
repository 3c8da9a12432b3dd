//! The query layer: typed predicates built from column handles (`Order::fields().amount.gt(1.0)`)
//! as an inspectable expression tree, and their evaluation over Arrow batches with compute
//! kernels. Backends translate the same tree into statistics pruning or SQL.
//!
//! Semantics are SQL's: a comparison with a null is unknown, `and`/`or`/`not` use three-valued
//! logic, and a row matches only when the predicate is true. Floats compare by total order
//! (NaN equals NaN and sorts above every number), as Arrow and DuckDB do.

pub mod eval;

use std::fmt;
use std::marker::PhantomData;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch};

use crate::bridge::{BaseField, FieldOptions, SoAField};
use crate::error::ConvertError;
use crate::fields::Col;

pub use eval::{field_path, project, resolve_column, resolve_field, unpack_dictionary};

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn sql(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "<>",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

/// One literal value, encoded exactly as its column is (a one-row Arrow array), so it can be
/// compared with the column by Arrow kernels or bound as a SQL parameter.
#[derive(Clone)]
pub struct Literal {
    array: ArrayRef,
    text: String,
}

impl Literal {
    fn new<V: BaseField>(value: V, opts: &FieldOptions) -> Self {
        let text = format!("{value:?}");
        // A one-value encode can only fail for a value its column can't hold either (a decimal
        // too precise, a timestamp out of range); the comparison then matches nothing.
        let array = V::encode(std::slice::from_ref(&value), opts)
            .unwrap_or_else(|_| arrow::array::new_null_array(&V::data_type(opts), 1));
        Self { array, text }
    }

    /// The value as a one-row array of the column's Arrow type.
    pub fn array(&self) -> &ArrayRef {
        &self.array
    }

    /// The value as written in Rust (`{:?}`), for messages.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The predicate expression tree.
#[derive(Clone, Debug)]
pub enum Expr {
    /// Every row (the empty predicate).
    True,
    Compare {
        column: Vec<&'static str>,
        op: CmpOp,
        value: Literal,
    },
    Between {
        column: Vec<&'static str>,
        low: Literal,
        high: Literal,
    },
    In {
        column: Vec<&'static str>,
        values: Vec<Literal>,
    },
    IsNull(Vec<&'static str>),
    IsNotNull(Vec<&'static str>),
    StartsWith {
        column: Vec<&'static str>,
        prefix: String,
    },
    Contains {
        column: Vec<&'static str>,
        needle: String,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

impl Expr {
    /// Every column path the expression reads.
    pub fn columns(&self) -> Vec<&[&'static str]> {
        let mut out = Vec::new();
        self.visit_columns(&mut |c| out.push(c));
        out
    }

    fn visit_columns<'a>(&'a self, f: &mut dyn FnMut(&'a [&'static str])) {
        match self {
            Self::True => {}
            Self::Compare { column, .. }
            | Self::Between { column, .. }
            | Self::In { column, .. }
            | Self::StartsWith { column, .. }
            | Self::Contains { column, .. }
            | Self::IsNull(column)
            | Self::IsNotNull(column) => f(column),
            Self::And(a, b) | Self::Or(a, b) => {
                a.visit_columns(f);
                b.visit_columns(f);
            }
            Self::Not(a) => a.visit_columns(f),
        }
    }
}

fn path_text(path: &[&'static str]) -> String {
    path.join(".")
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::True => f.write_str("TRUE"),
            Self::Compare { column, op, value } => {
                write!(f, "{} {} {:?}", path_text(column), op.sql(), value)
            }
            Self::Between { column, low, high } => {
                write!(f, "{} BETWEEN {low:?} AND {high:?}", path_text(column))
            }
            Self::In { column, values } => write!(f, "{} IN {values:?}", path_text(column)),
            Self::IsNull(c) => write!(f, "{} IS NULL", path_text(c)),
            Self::IsNotNull(c) => write!(f, "{} IS NOT NULL", path_text(c)),
            Self::StartsWith { column, prefix } => {
                write!(f, "{} STARTS WITH {prefix:?}", path_text(column))
            }
            Self::Contains { column, needle } => {
                write!(f, "{} CONTAINS {needle:?}", path_text(column))
            }
            Self::And(a, b) => write!(f, "({a} AND {b})"),
            Self::Or(a, b) => write!(f, "({a} OR {b})"),
            Self::Not(a) => write!(f, "NOT ({a})"),
        }
    }
}

/// A type-checked predicate over rows of struct `R`.
pub struct Predicate<R> {
    expr: Expr,
    _root: PhantomData<fn() -> R>,
}

impl<R> Clone for Predicate<R> {
    fn clone(&self) -> Self {
        Self::from_expr(self.expr.clone())
    }
}

impl<R> fmt::Debug for Predicate<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Predicate({})", self.expr)
    }
}

impl<R> fmt::Display for Predicate<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.expr, f)
    }
}

impl<R> Predicate<R> {
    fn from_expr(expr: Expr) -> Self {
        Self {
            expr,
            _root: PhantomData,
        }
    }

    /// The predicate that every row satisfies.
    pub fn all() -> Self {
        Self::from_expr(Expr::True)
    }

    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    pub fn and(self, other: Self) -> Self {
        Self::from_expr(Expr::And(Box::new(self.expr), Box::new(other.expr)))
    }

    pub fn or(self, other: Self) -> Self {
        Self::from_expr(Expr::Or(Box::new(self.expr), Box::new(other.expr)))
    }

    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        Self::from_expr(Expr::Not(Box::new(self.expr)))
    }

    /// Where the predicate is true for each row of `batch` (false for unknown).
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<BooleanArray, ConvertError> {
        eval::mask(&self.expr, batch)
    }

    /// The rows of `batch` for which the predicate is true.
    pub fn filter(&self, batch: &RecordBatch) -> Result<RecordBatch, ConvertError> {
        eval::filter(&self.expr, batch)
    }

    /// How many rows of `batch` match.
    pub fn count(&self, batch: &RecordBatch) -> Result<usize, ConvertError> {
        eval::count(&self.expr, batch)
    }
}

impl<R> std::ops::Not for Predicate<R> {
    type Output = Self;
    fn not(self) -> Self {
        Predicate::not(self)
    }
}

impl<R> std::ops::BitAnd for Predicate<R> {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        self.and(rhs)
    }
}

impl<R> std::ops::BitOr for Predicate<R> {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.or(rhs)
    }
}

/// The non-null value type a column of `Self` is compared with: `T` for `T` and `Option<T>`.
pub trait Comparable: SoAField {
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

impl<R, V: Comparable> Col<R, V> {
    fn literal(&self, value: V::Value) -> Literal {
        Literal::new(value, self.options())
    }

    fn compare(self, op: CmpOp, value: impl Into<V::Value>) -> Predicate<R> {
        let value = self.literal(value.into());
        Predicate::from_expr(Expr::Compare {
            column: self.path().to_vec(),
            op,
            value,
        })
    }

    pub fn eq(self, value: impl Into<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Eq, value)
    }

    pub fn ne(self, value: impl Into<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Ne, value)
    }

    /// The column equals one of `values` (an empty list matches nothing).
    pub fn is_in<I: IntoIterator>(self, values: I) -> Predicate<R>
    where
        I::Item: Into<V::Value>,
    {
        let values = values.into_iter().map(|v| self.literal(v.into())).collect();
        Predicate::from_expr(Expr::In {
            column: self.path().to_vec(),
            values,
        })
    }

    pub fn is_null(self) -> Predicate<R> {
        Predicate::from_expr(Expr::IsNull(self.path().to_vec()))
    }

    pub fn is_not_null(self) -> Predicate<R> {
        Predicate::from_expr(Expr::IsNotNull(self.path().to_vec()))
    }
}

impl<R, V: Comparable> Col<R, V>
where
    V::Value: Ordered,
{
    pub fn lt(self, value: impl Into<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Lt, value)
    }
    pub fn le(self, value: impl Into<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Le, value)
    }
    pub fn gt(self, value: impl Into<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Gt, value)
    }
    pub fn ge(self, value: impl Into<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Ge, value)
    }
    /// `low <= column <= high`.
    pub fn between(self, low: impl Into<V::Value>, high: impl Into<V::Value>) -> Predicate<R> {
        let (low, high) = (self.literal(low.into()), self.literal(high.into()));
        Predicate::from_expr(Expr::Between {
            column: self.path().to_vec(),
            low,
            high,
        })
    }
}

impl<R, V: Comparable<Value = String>> Col<R, V> {
    pub fn starts_with(self, prefix: impl Into<String>) -> Predicate<R> {
        Predicate::from_expr(Expr::StartsWith {
            column: self.path().to_vec(),
            prefix: prefix.into(),
        })
    }
    pub fn contains(self, needle: impl Into<String>) -> Predicate<R> {
        Predicate::from_expr(Expr::Contains {
            column: self.path().to_vec(),
            needle: needle.into(),
        })
    }
}
