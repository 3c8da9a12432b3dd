//! Evaluation of the predicate tree over Arrow batches with compute kernels (SQL's
//! three-valued logic), and the column lookups that evaluation, pruning and SQL share.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, Scalar};
use arrow::compute::kernels::boolean::{and_kleene, not, or_kleene};
use arrow::compute::kernels::cmp::{eq, gt, gt_eq, lt, lt_eq, neq};
use arrow::compute::kernels::comparison::{contains, starts_with};
use arrow::compute::{filter_record_batch, is_not_null, is_null};
use arrow::datatypes::{DataType, Field, Fields, Schema};
use arrow::error::ArrowError;
use arrow::row::{RowConverter, SortField};

use super::{CmpOp, Expr, Literal};
use crate::error::ConvertError;

/// Where `expr` is true for each row of `batch`: false where it is false or unknown (null).
pub fn mask(expr: &Expr, batch: &RecordBatch) -> Result<BooleanArray, ConvertError> {
    let mask = eval(expr, batch)?;
    // Unknown (null) counts as not matching.
    Ok(match mask.nulls() {
        Some(_) => BooleanArray::from_iter(mask.iter().map(|v| Some(v == Some(true)))),
        None => mask,
    })
}

/// The rows of `batch` for which `expr` is true.
pub fn filter(expr: &Expr, batch: &RecordBatch) -> Result<RecordBatch, ConvertError> {
    if matches!(expr, Expr::True) {
        return Ok(batch.clone());
    }
    Ok(filter_record_batch(batch, &mask(expr, batch)?)?)
}

/// How many rows of `batch` `expr` is true for.
pub fn count(expr: &Expr, batch: &RecordBatch) -> Result<usize, ConvertError> {
    if matches!(expr, Expr::True) {
        return Ok(batch.num_rows());
    }
    Ok(mask(expr, batch)?.true_count())
}

/// Where a (possibly nested) column path leads among `fields`: the index at each level (a
/// nested path walks struct children) and the field. The one path lookup of predicate
/// evaluation, statistics pruning and SQL generation.
pub fn field_path<'a>(fields: &'a Fields, path: &[&str]) -> Option<(Vec<usize>, &'a Field)> {
    let (first, rest) = path.split_first()?;
    let (i, mut field) = fields.find(first)?;
    let mut indices = vec![i];
    for name in rest {
        let DataType::Struct(children) = field.data_type() else {
            return None;
        };
        let (i, child) = children.find(name)?;
        indices.push(i);
        field = child;
    }
    Some((indices, field.as_ref()))
}

/// The field of a (possibly nested) column of `schema`.
pub fn resolve_field<'a>(schema: &'a Schema, path: &[&str]) -> Option<&'a Field> {
    field_path(schema.fields(), path).map(|(_, field)| field)
}

/// Finds a (possibly nested) column of `batch`.
pub fn resolve_column(
    batch: &RecordBatch,
    path: &[&'static str],
) -> Result<ArrayRef, ConvertError> {
    let missing = || ConvertError::MissingColumn {
        field: path.join("."),
    };
    let (indices, _) = field_path(batch.schema_ref().fields(), path).ok_or_else(missing)?;
    let (first, rest) = indices.split_first().ok_or_else(missing)?;
    let mut array = batch.column(*first).clone();
    for &i in rest {
        array = array
            .as_struct_opt()
            .map(|s| s.column(i).clone())
            .ok_or_else(missing)?;
    }
    Ok(array)
}

/// A dictionary array (an enum column) as its values; any other array as it is. Enums are
/// compared by their names, so predicates and statistics look through the dictionary.
pub fn unpack_dictionary(array: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    match array.data_type() {
        DataType::Dictionary(_, value) => arrow::compute::cast(array, value),
        _ => Ok(array.clone()),
    }
}

fn compare(column: &ArrayRef, op: CmpOp, literal: &Literal) -> Result<BooleanArray, ConvertError> {
    let left = unpack_dictionary(column)?;
    let right = unpack_dictionary(literal.array())?;
    let right = Scalar::new(right);
    let result = match op {
        CmpOp::Eq => eq(&left, &right),
        CmpOp::Ne => neq(&left, &right),
        CmpOp::Lt => lt(&left, &right),
        CmpOp::Le => lt_eq(&left, &right),
        CmpOp::Gt => gt(&left, &right),
        CmpOp::Ge => gt_eq(&left, &right),
    };
    Ok(result?)
}

/// `column IN values`: one hash probe per row for long lists (a flush's key check sends
/// thousands), one `=` per value for short ones; the same answers either way.
fn in_list(column: &ArrayRef, values: &[Literal], n: usize) -> Result<BooleanArray, ConvertError> {
    const HASHED_FROM: usize = 8;
    let left = unpack_dictionary(column)?;
    let wanted = values
        .iter()
        .map(|v| unpack_dictionary(v.array()))
        .collect::<Result<Vec<_>, _>>()?;
    // A null literal (a value its column can't hold) makes the answer unknown, as `=` does.
    let hashable = values.len() >= HASHED_FROM
        && wanted
            .iter()
            .all(|w| w.data_type() == left.data_type() && w.null_count() == 0);
    if !hashable {
        let mut acc = BooleanArray::from(vec![false; n]);
        for v in values {
            acc = or_kleene(&acc, &compare(column, CmpOp::Eq, v)?)?;
        }
        return Ok(acc);
    }
    // The row format encodes floats by total order, so this agrees with the `=` kernel.
    let converter = RowConverter::new(vec![SortField::new(left.data_type().clone())])?;
    let refs: Vec<&dyn Array> = wanted.iter().map(|w| w.as_ref()).collect();
    let wanted = converter.convert_columns(&[arrow::compute::concat(&refs)?])?;
    let set: HashSet<&[u8], foldhash::fast::RandomState> =
        wanted.iter().map(|r| r.data()).collect();
    let rows = converter.convert_columns(std::slice::from_ref(&left))?;
    Ok((0..left.len())
        .map(|i| (!left.is_null(i)).then(|| set.contains(rows.row(i).data())))
        .collect())
}

fn string_match(
    column: &ArrayRef,
    pattern: &str,
    kernel: fn(
        &dyn arrow::array::Datum,
        &dyn arrow::array::Datum,
    ) -> Result<BooleanArray, arrow::error::ArrowError>,
) -> Result<BooleanArray, ConvertError> {
    let column = unpack_dictionary(column)?;
    let pattern: ArrayRef = match column.data_type() {
        DataType::LargeUtf8 => Arc::new(arrow::array::LargeStringArray::from(vec![pattern])),
        DataType::Utf8View => Arc::new(arrow::array::StringViewArray::from(vec![pattern])),
        _ => Arc::new(arrow::array::StringArray::from(vec![pattern])),
    };
    Ok(kernel(&column, &Scalar::new(pattern))?)
}

fn eval(expr: &Expr, batch: &RecordBatch) -> Result<BooleanArray, ConvertError> {
    let n = batch.num_rows();
    Ok(match expr {
        Expr::True => BooleanArray::from(vec![true; n]),
        Expr::Compare { column, op, value } => {
            compare(&resolve_column(batch, column)?, *op, value)?
        }
        Expr::Between { column, low, high } => {
            let c = resolve_column(batch, column)?;
            and_kleene(
                &compare(&c, CmpOp::Ge, low)?,
                &compare(&c, CmpOp::Le, high)?,
            )?
        }
        Expr::In { column, values } => in_list(&resolve_column(batch, column)?, values, n)?,
        Expr::IsNull(column) => is_null(&resolve_column(batch, column)?)?,
        Expr::IsNotNull(column) => is_not_null(&resolve_column(batch, column)?)?,
        Expr::StartsWith { column, prefix } => {
            string_match(&resolve_column(batch, column)?, prefix, starts_with)?
        }
        Expr::Contains { column, needle } => {
            string_match(&resolve_column(batch, column)?, needle, contains)?
        }
        Expr::And(a, b) => and_kleene(&eval(a, batch)?, &eval(b, batch)?)?,
        Expr::Or(a, b) => or_kleene(&eval(a, batch)?, &eval(b, batch)?)?,
        Expr::Not(a) => not(&eval(a, batch)?)?,
    })
}

/// Keeps only the named top-level columns of `batch` (in the order given).
pub fn project(batch: &RecordBatch, columns: &[String]) -> Result<RecordBatch, ConvertError> {
    let indices = columns
        .iter()
        .map(|name| {
            batch
                .schema()
                .index_of(name)
                .map_err(|_| ConvertError::MissingColumn {
                    field: name.clone(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(batch.project(&indices)?)
}
