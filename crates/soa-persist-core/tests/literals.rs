//! Predicates whose values are not exactly the column's type (an `i32` literal on a `u8`, `u64`
//! or `f32` column): every comparison selects the same rows as the exact mathematical one, with
//! SQL nulls (a null row never matches, not even under `not`), and its literal has the column's
//! Arrow type.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::cmp::Ordering;
use std::sync::Arc;

use soa_persist_core::arrow::array::{Array, RecordBatch};
use soa_persist_core::arrow::datatypes::DataType;
use soa_persist_core::bridge::{BaseField, FieldOptions, SoAField};
use soa_persist_core::fields::Col;
use soa_persist_core::query::{Comparable, Expr, IntoLiteral, LiteralValue, Ordered, Predicate};

/// A small deterministic generator (no dependency needed for a sweep of values).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 1) as i64 ^ ((self.0 << 62) as i64)
    }
}

fn batch<V: BaseField>(values: &[Option<V>]) -> RecordBatch {
    let array = <Option<V> as SoAField>::to_array(values, &FieldOptions::DEFAULT).unwrap();
    RecordBatch::try_from_iter([("x", Arc::clone(&array))]).unwrap()
}

fn col<V>() -> Col<(), Option<V>> {
    Col::new(&[], "x", FieldOptions::DEFAULT)
}

/// Checks `predicate` and its negation against `truth` (None: the row is null).
fn check(p: Predicate<()>, batch: &RecordBatch, truth: &[Option<bool>], what: &str) {
    let got = p.evaluate(batch).unwrap();
    let want: Vec<bool> = truth.iter().map(|t| *t == Some(true)).collect();
    assert_eq!(
        got.iter().map(|b| b == Some(true)).collect::<Vec<_>>(),
        want,
        "{what}"
    );
    let got = p.not().evaluate(batch).unwrap();
    let want: Vec<bool> = truth.iter().map(|t| *t == Some(false)).collect();
    assert_eq!(
        got.iter().map(|b| b == Some(true)).collect::<Vec<_>>(),
        want,
        "NOT {what}"
    );
}

/// An operator's name, its meaning as an order, and the predicate built for it.
type Case = (&'static str, fn(Ordering) -> bool, Predicate<()>);

/// Every operator, `between` and `is_in` with literal `l` (of type `L`) on `values`, against
/// `cmp(value, literal)`, the exact order.
fn sweep<V, L>(values: &[Option<V>], literals: &[L], cmp: impl Fn(&V, &L) -> Ordering)
where
    V: BaseField + Ordered,
    Option<V>: Comparable<Value = V>,
    L: IntoLiteral<V> + Copy + std::fmt::Debug,
{
    let batch = batch(values);
    let truth = |f: &dyn Fn(&V) -> bool| -> Vec<Option<bool>> {
        values.iter().map(|v| v.as_ref().map(f)).collect()
    };
    for &l in literals {
        let ops: [Case; 6] = [
            ("=", Ordering::is_eq, col::<V>().eq(l)),
            ("<>", Ordering::is_ne, col::<V>().ne(l)),
            ("<", Ordering::is_lt, col::<V>().lt(l)),
            ("<=", Ordering::is_le, col::<V>().le(l)),
            (">", Ordering::is_gt, col::<V>().gt(l)),
            (">=", Ordering::is_ge, col::<V>().ge(l)),
        ];
        for (name, holds, p) in ops {
            check(
                p,
                &batch,
                &truth(&|v| holds(cmp(v, &l))),
                &format!("x {name} {l:?}"),
            );
        }
        let in_list = truth(&|v| cmp(v, &l).is_eq());
        check(
            col::<V>().is_in([l]),
            &batch,
            &in_list,
            &format!("x IN [{l:?}]"),
        );
        for &h in literals {
            let t = truth(&|v| cmp(v, &l).is_ge() && cmp(v, &h).is_le());
            let what = format!("x BETWEEN {l:?} AND {h:?}");
            check(col::<V>().between(l, h), &batch, &t, &what);
            let t = truth(&|v| cmp(v, &l).is_eq() || cmp(v, &h).is_eq());
            check(
                col::<V>().is_in([l, h]),
                &batch,
                &t,
                &format!("x IN [{l:?}, {h:?}]"),
            );
        }
    }
}

/// Literals around every integer type's bounds, plus a seeded spread.
fn int_literals(seed: u64) -> Vec<i64> {
    let mut out = vec![0, 1, -1, i64::MIN, i64::MAX];
    for b in [
        i8::MAX as i64,
        i16::MAX as i64,
        i32::MAX as i64,
        u8::MAX as i64,
    ] {
        out.extend([b - 1, b, b + 1, -b - 2, -b - 1, -b]);
    }
    out.extend([
        u16::MAX as i64,
        u16::MAX as i64 + 1,
        u32::MAX as i64,
        u32::MAX as i64 + 1,
    ]);
    let mut rng = Lcg(seed);
    out.extend((0..6).map(|i| rng.next() >> (i * 9)));
    out
}

fn int_values<V: TryFrom<i64> + Copy>(literals: &[i64], min: V, max: V) -> Vec<Option<V>> {
    let mut out: Vec<Option<V>> = vec![None, Some(min), Some(max)];
    out.extend(
        literals
            .iter()
            .filter_map(|&l| V::try_from(l).ok())
            .map(Some),
    );
    out
}

macro_rules! int_sweep {
    ($($name:ident: $v:ty),*) => {$(
        #[test]
        fn $name() {
            let literals = int_literals(<$v>::MAX as u64);
            let values = int_values::<$v>(&literals, <$v>::MIN, <$v>::MAX);
            let exact = |v: &$v, l: &i64| i128::from(*v).cmp(&i128::from(*l));
            sweep(&values, &literals, exact);
            let small: Vec<i32> = literals.iter().filter_map(|&l| i32::try_from(l).ok()).collect();
            sweep(&values, &small, |v: &$v, l: &i32| i128::from(*v).cmp(&i128::from(*l)));
        }
    )*};
}

int_sweep!(u8_column: u8, i8_column: i8, u16_column: u16, i16_column: i16,
           u32_column: u32, i32_column: i32, u64_column: u64, i64_column: i64);

#[test]
fn every_u8_against_i32_literals() {
    let values: Vec<Option<u8>> = (0..=255).map(Some).chain([None]).collect();
    let literals = [-300, -1, 0, 1, 128, 254, 255, 256, 300, i32::MIN, i32::MAX];
    sweep(&values, &literals, |v: &u8, l: &i32| i32::from(*v).cmp(l));
}

#[test]
fn f32_column_against_i32_literals() {
    // 2^24 + 1 and neighbours are not f32s; NaN sorts above every number (total order).
    let big = 16_777_216.0f32;
    let values: Vec<Option<f32>> = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        big,
        big + 2.0,
        -big,
        -big - 2.0,
        2147483648.0,
        -2147483648.0,
        2147483520.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        0.5,
        f32::MAX,
    ]
    .into_iter()
    .map(Some)
    .chain([None])
    .collect();
    let literals = [
        0,
        1,
        -1,
        16_777_217,
        -16_777_217,
        16_777_219,
        16_777_218,
        i32::MAX,
        i32::MIN,
        i32::MAX - 64,
        2147483583,
        -2147483583,
    ];
    let exact = |v: &f32, l: &i32| f64::from(*v).total_cmp(&f64::from(*l));
    sweep(&values, &literals, exact);
}

#[test]
fn f64_column_takes_int_and_float_literals() {
    let values: Vec<Option<f64>> = [0.5, 1.0, 1.5, -2.0, f64::NAN].map(Some).into();
    sweep(&values, &[1, -2, 0], |v: &f64, l: &i32| {
        v.total_cmp(&f64::from(*l))
    });
    sweep(&values, &[1.0f64, 1.25], |v: &f64, l: &f64| v.total_cmp(l));
}

#[test]
fn literals_are_encoded_as_the_column_type() {
    let types = |p: Predicate<()>| -> Vec<DataType> {
        fn walk(e: &Expr, out: &mut Vec<DataType>) {
            match e {
                Expr::Compare { value, .. } => out.push(value.array().data_type().clone()),
                Expr::Between { low, high, .. } => {
                    out.push(low.array().data_type().clone());
                    out.push(high.array().data_type().clone());
                }
                Expr::In { values, .. } => {
                    out.extend(values.iter().map(|v| v.array().data_type().clone()))
                }
                Expr::Not(a) => walk(a, out),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(p.expr(), &mut out);
        out
    };
    let u64s = [DataType::UInt64];
    assert_eq!(types(col::<u64>().ge(-1)), u64s);
    assert_eq!(types(col::<u64>().eq(7)), u64s);
    assert_eq!(
        types(col::<u64>().is_in([1, 2])),
        [DataType::UInt64, DataType::UInt64]
    );
    assert_eq!(
        types(col::<u8>().between(-5, 300)),
        [DataType::UInt8, DataType::UInt8]
    );
    assert_eq!(
        types(col::<f32>().ne(16_777_217)),
        [DataType::Float32, DataType::Float32]
    );
    assert_eq!(types(col::<f64>().gt(1)), [DataType::Float64]);
}

#[test]
fn conversions() {
    assert_eq!(
        IntoLiteral::<u64>::into_literal(-1i64),
        LiteralValue::BelowMin(0)
    );
    assert_eq!(
        IntoLiteral::<i8>::into_literal(128),
        LiteralValue::AboveMax(127)
    );
    assert_eq!(
        IntoLiteral::<i8>::into_literal(-129),
        LiteralValue::BelowMin(-128)
    );
    assert_eq!(
        IntoLiteral::<u64>::into_literal(3u32),
        LiteralValue::Exact(3)
    );
    assert_eq!(
        IntoLiteral::<String>::into_literal("ada"),
        LiteralValue::Exact("ada".into())
    );
    let bytes: LiteralValue<Vec<u8>> = b"ab".into_literal();
    assert_eq!(bytes, LiteralValue::Exact(b"ab".to_vec()));
    assert_eq!(
        IntoLiteral::<f32>::into_literal(i32::MAX),
        LiteralValue::Between(2147483520.0, 2147483648.0)
    );
    assert_eq!(
        IntoLiteral::<f32>::into_literal(-16_777_216),
        LiteralValue::Exact(-16_777_216.0)
    );
}

#[cfg(feature = "chrono")]
#[test]
fn system_time_is_checked() {
    use soa_persist_core::chrono::{DateTime, Utc};
    let t = std::time::UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 123_456_789);
    assert_eq!(
        IntoLiteral::<DateTime<Utc>>::into_literal(t),
        LiteralValue::Exact(DateTime::<Utc>::from(t))
    );
    let before = std::time::UNIX_EPOCH - std::time::Duration::new(86_400, 5);
    assert_eq!(
        IntoLiteral::<DateTime<Utc>>::into_literal(before),
        LiteralValue::Exact(DateTime::<Utc>::from(before))
    );
}
