//! The predicate's expression tree: comparison operators, literals carrying their Arrow type,
//! and `Expr` with its SQL-like `Display`.

use std::fmt;

use arrow::array::ArrayRef;

use crate::bridge::{BaseField, FieldOptions};

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator in SQL.
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
    pub(super) fn new<V: BaseField>(value: V, opts: &FieldOptions) -> Self {
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
    /// `column op value`.
    Compare {
        /// The column's path (nested fields after their parent).
        column: Vec<&'static str>,
        /// The comparison.
        op: CmpOp,
        /// The value compared with.
        value: Literal,
    },
    /// `column BETWEEN low AND high` (both ends included).
    Between {
        /// The column's path.
        column: Vec<&'static str>,
        /// The lower end.
        low: Literal,
        /// The upper end.
        high: Literal,
    },
    /// `column IN (values)`; an empty list matches nothing.
    In {
        /// The column's path.
        column: Vec<&'static str>,
        /// The values.
        values: Vec<Literal>,
    },
    /// The column is null.
    IsNull(Vec<&'static str>),
    /// The column is not null.
    IsNotNull(Vec<&'static str>),
    /// The column's text starts with `prefix`.
    StartsWith {
        /// The column's path.
        column: Vec<&'static str>,
        /// The prefix.
        prefix: String,
    },
    /// The column's text contains `needle` (no wildcards).
    Contains {
        /// The column's path.
        column: Vec<&'static str>,
        /// The text searched for.
        needle: String,
    },
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// The inner predicate is false (null stays unknown).
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
