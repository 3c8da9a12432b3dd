//! The query layer: typed predicates built from column handles (`Order::fields().amount.gt(1.0)`)
//! as an inspectable expression tree, and their evaluation over Arrow batches with compute
//! kernels. Backends translate the same tree into statistics pruning or SQL.
//!
//! Semantics are SQL's: a comparison with a null is unknown, `and`/`or`/`not` use three-valued
//! logic, and a row matches only when the predicate is true. Floats compare by total order
//! (NaN equals NaN and sorts above every number), as Arrow and DuckDB do.

mod column;
pub mod eval;
mod expr;

use std::fmt;
use std::marker::PhantomData;

use arrow::array::{BooleanArray, RecordBatch};

use crate::error::ConvertError;
pub use crate::literal::{IntoLiteral, LiteralValue};

pub use column::{Comparable, Ordered};
pub use eval::{field_path, project, resolve_column, resolve_field, unpack_dictionary};
pub use expr::{CmpOp, Expr, Literal};

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

    /// The expression tree, for backends that translate it.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Rows matching both predicates.
    pub fn and(self, other: Self) -> Self {
        Self::from_expr(Expr::And(Box::new(self.expr), Box::new(other.expr)))
    }

    /// Rows matching either predicate.
    pub fn or(self, other: Self) -> Self {
        Self::from_expr(Expr::Or(Box::new(self.expr), Box::new(other.expr)))
    }

    #[allow(clippy::should_implement_trait)]
    /// Rows not matching (rows where the predicate is unknown stay excluded).
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
