//! Pruning: whether a file (from its partition values) or a row group (from its min/max
//! statistics) may hold a row matching a predicate. Conservative: "may" whenever unsure, so
//! pruning never changes a result; exact filtering happens after decoding.

use soa_persist_core::arrow::array::{Array, ArrayRef, BooleanArray, Scalar};
use soa_persist_core::arrow::compute::concat;
use soa_persist_core::arrow::compute::kernels::cmp::{eq, gt, gt_eq, lt, lt_eq};
use soa_persist_core::arrow::datatypes::DataType;
use soa_persist_core::arrow::row::{RowConverter, SortField};
use soa_persist_core::query::{CmpOp, Expr, Literal, unpack_dictionary};

/// Min, max (one-value arrays in the column's type) and null count of a column in a unit.
pub(super) struct ColumnRange {
    pub min: ArrayRef,
    pub max: ArrayRef,
    pub null_count: Option<u64>,
    pub rows: u64,
}

/// `kernel(a, b)` on one-value arrays; `None` when unknown (a null, or incomparable types).
fn test(
    a: &ArrayRef,
    b: &ArrayRef,
    kernel: fn(
        &dyn soa_persist_core::arrow::array::Datum,
        &dyn soa_persist_core::arrow::array::Datum,
    ) -> Result<BooleanArray, soa_persist_core::arrow::error::ArrowError>,
) -> Option<bool> {
    let (a, b) = (unpack_dictionary(a).ok()?, unpack_dictionary(b).ok()?);
    if a.data_type() != b.data_type() || a.is_null(0) || b.is_null(0) {
        return None;
    }
    let r = kernel(&a, &Scalar::new(b)).ok()?;
    r.is_valid(0).then(|| r.value(0))
}

fn may_compare(range: &ColumnRange, op: CmpOp, lit: &Literal) -> bool {
    let v = lit.array();
    let check = match op {
        CmpOp::Eq => test(&range.min, v, lt_eq)
            .zip(test(&range.max, v, gt_eq))
            .map(|(a, b)| a && b),
        CmpOp::Ne => test(&range.min, v, eq)
            .zip(test(&range.max, v, eq))
            .map(|(a, b)| !(a && b)),
        CmpOp::Lt => test(&range.min, v, lt),
        CmpOp::Le => test(&range.min, v, lt_eq),
        CmpOp::Gt => test(&range.max, v, gt),
        CmpOp::Ge => test(&range.max, v, gt_eq),
    };
    // All-null units can't satisfy a comparison.
    let all_null = range
        .null_count
        .is_some_and(|n| n == range.rows && range.rows > 0);
    !all_null && check.unwrap_or(true)
}

/// Whether rows matching `expr` may exist, given the ranges `range(column path)` knows.
pub(super) fn may_match(
    expr: &Expr,
    range: &dyn Fn(&[&'static str]) -> Option<ColumnRange>,
) -> bool {
    match expr {
        Expr::True => true,
        Expr::Compare { column, op, value } => {
            range(column).is_none_or(|r| may_compare(&r, *op, value))
        }
        Expr::Between { column, low, high } => range(column)
            .is_none_or(|r| may_compare(&r, CmpOp::Ge, low) && may_compare(&r, CmpOp::Le, high)),
        Expr::In { column, values } => {
            range(column).is_none_or(|r| values.iter().any(|v| may_compare(&r, CmpOp::Eq, v)))
        }
        Expr::IsNull(column) => range(column).is_none_or(|r| r.null_count.is_none_or(|n| n > 0)),
        Expr::IsNotNull(column) => {
            range(column).is_none_or(|r| r.null_count.is_none_or(|n| n < r.rows))
        }
        Expr::StartsWith { .. } | Expr::Contains { .. } | Expr::Not(_) => true,
        Expr::And(a, b) => may_match(a, range) && may_match(b, range),
        Expr::Or(a, b) => may_match(a, range) || may_match(b, range),
    }
}

/// `expr` with each long `IN` list replaced by the range from its least to its greatest value,
/// computed once per scan instead of per file and row group. Pruning with it is still sound:
/// `may_match` is monotone in every position but under `NOT`, where it always says "may".
pub(super) fn pruning_form(expr: &Expr) -> Expr {
    match expr {
        Expr::In { column, values } if values.len() >= LONG_LIST => match bounds(values) {
            Some((low, high)) => Expr::Between {
                column: column.clone(),
                low,
                high,
            },
            None => expr.clone(),
        },
        Expr::And(a, b) => Expr::And(Box::new(pruning_form(a)), Box::new(pruning_form(b))),
        Expr::Or(a, b) => Expr::Or(Box::new(pruning_form(a)), Box::new(pruning_form(b))),
        other => other.clone(),
    }
}

/// From this many values on, an `IN` list prunes by its range.
const LONG_LIST: usize = 8;

/// The least and greatest of `values` (one type, no nulls), by the row format's order: the
/// order of the comparison kernels (floats by total order, strings by bytes).
fn bounds(values: &[Literal]) -> Option<(Literal, Literal)> {
    let arrays = values
        .iter()
        .map(|v| unpack_dictionary(v.array()).ok())
        .collect::<Option<Vec<_>>>()?;
    let data_type = arrays.first()?.data_type().clone();
    if arrays
        .iter()
        .any(|a| a.data_type() != &data_type || a.null_count() > 0)
    {
        return None;
    }
    let converter = RowConverter::new(vec![SortField::new(data_type)]).ok()?;
    let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
    let rows = converter.convert_columns(&[concat(&refs).ok()?]).ok()?;
    let low = (0..rows.num_rows()).min_by_key(|&i| rows.row(i))?;
    let high = (0..rows.num_rows()).max_by_key(|&i| rows.row(i))?;
    Some((values[low].clone(), values[high].clone()))
}

/// Float statistics leave NaN out while the predicates order NaN above every number, so a
/// float column's min/max can't prune.
pub(super) fn prunable(data_type: &DataType) -> bool {
    !matches!(
        data_type,
        DataType::Float16 | DataType::Float32 | DataType::Float64
    )
}
