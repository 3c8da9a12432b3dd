//! Bloom-filter pruning: a row group whose key bloom filter (written when the struct has a
//! `#[soa(key)]`, see `ParquetOptions::key_bloom_filter`) holds none of the values that an `=`
//! or `IN` predicate asks for is skipped. A filter can only say "maybe" or "no", so pruning
//! with it never changes a result.

use parquet::bloom_filter::Sbbf;
use soa_persist_core::arrow::array::{Array, ArrayRef, AsArray};
use soa_persist_core::arrow::datatypes::{
    DataType, Date32Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use soa_persist_core::query::{CmpOp, Expr, Literal};

use super::footer::Footer;

/// Whether row group `row_group` may hold rows matching `expr`, by its bloom filters.
pub(super) fn may_hold(footer: &Footer, row_group: usize, expr: &Expr) -> bool {
    match expr {
        Expr::Compare {
            column,
            op: CmpOp::Eq,
            value,
        } => any_may_be_in(footer, row_group, column, std::slice::from_ref(value)),
        Expr::In { column, values } => any_may_be_in(footer, row_group, column, values),
        Expr::And(a, b) => may_hold(footer, row_group, a) && may_hold(footer, row_group, b),
        Expr::Or(a, b) => may_hold(footer, row_group, a) || may_hold(footer, row_group, b),
        _ => true,
    }
}

fn any_may_be_in(
    footer: &Footer,
    row_group: usize,
    column: &[&'static str],
    values: &[Literal],
) -> bool {
    let [name] = column else { return true };
    let Some(filter) = footer.bloom(row_group, name) else {
        return true;
    };
    // The file's Arrow type must be the literal's: a Spark-profile file stores other types.
    let Ok(field) = footer.metadata.schema().field_with_name(name) else {
        return true;
    };
    values
        .iter()
        .any(|v| v.array().data_type() != field.data_type() || may_contain(filter, v.array()))
}

/// `filter.check` on the value as the Parquet writer hashed it (its physical type: narrow
/// integers widened to INT32, 64-bit ones and timestamps as INT64, strings as their bytes);
/// `true` for a null or a type this doesn't know.
pub(super) fn may_contain(filter: &Sbbf, one: &ArrayRef) -> bool {
    if one.is_empty() || one.is_null(0) {
        return true;
    }
    match one.data_type() {
        DataType::Int8 => filter.check(&i32::from(one.as_primitive::<Int8Type>().value(0))),
        DataType::Int16 => filter.check(&i32::from(one.as_primitive::<Int16Type>().value(0))),
        DataType::Int32 => filter.check(&one.as_primitive::<Int32Type>().value(0)),
        DataType::Date32 => filter.check(&one.as_primitive::<Date32Type>().value(0)),
        DataType::UInt8 => filter.check(&i32::from(one.as_primitive::<UInt8Type>().value(0))),
        DataType::UInt16 => filter.check(&i32::from(one.as_primitive::<UInt16Type>().value(0))),
        DataType::UInt32 => filter.check(&(one.as_primitive::<UInt32Type>().value(0) as i32)),
        DataType::Int64 => filter.check(&one.as_primitive::<Int64Type>().value(0)),
        DataType::UInt64 => filter.check(&(one.as_primitive::<UInt64Type>().value(0) as i64)),
        DataType::Timestamp(..) => match one.to_data().buffers().first() {
            Some(values) => filter.check(&values.typed_data::<i64>()[one.offset()]),
            None => true,
        },
        DataType::Utf8 => filter.check(one.as_string::<i32>().value(0)),
        DataType::LargeUtf8 => filter.check(one.as_string::<i64>().value(0)),
        DataType::Binary => filter.check(one.as_binary::<i32>().value(0)),
        DataType::FixedSizeBinary(_) => filter.check(one.as_fixed_size_binary().value(0)),
        _ => true,
    }
}
