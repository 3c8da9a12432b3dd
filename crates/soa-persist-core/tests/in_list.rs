//! `is_in` with long value lists (evaluated by hashing) selects exactly the rows that `=` on
//! each value does (floats by total order: NaN matches NaN, -0.0 is not 0.0; a null row is
//! unknown, also under `not`), for integers, floats and strings.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::sync::Arc;

use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::bridge::{BaseField, FieldOptions, SoAField};
use soa_persist_core::fields::Col;
use soa_persist_core::query::{Comparable, IntoLiteral, Predicate};

fn batch<V: BaseField>(values: &[Option<V>]) -> RecordBatch {
    let array = <Option<V> as SoAField>::to_array(values, &FieldOptions::DEFAULT).unwrap();
    RecordBatch::try_from_iter([("x", Arc::clone(&array))]).unwrap()
}

fn col<V>() -> Col<(), Option<V>> {
    Col::new(&[], "x", FieldOptions::DEFAULT)
}

/// Which rows match (an unknown comparison, a null row, does not).
fn matches(p: &Predicate<()>, batch: &RecordBatch) -> Vec<bool> {
    p.evaluate(batch)
        .unwrap()
        .iter()
        .map(|m| m == Some(true))
        .collect()
}

/// The long list against the same values checked four at a time (the `=` path), and against
/// `same` as the reference.
fn check<V>(values: &[Option<V>], wanted: &[V], same: impl Fn(&V, &V) -> bool)
where
    V: BaseField + IntoLiteral<V>,
    Option<V>: Comparable<Value = V>,
{
    assert!(wanted.len() >= 8, "long enough to take the hashed path");
    let batch = batch(values);
    let long = col::<V>().is_in(wanted.iter().cloned());
    let short = wanted
        .chunks(4)
        .map(|c| col::<V>().is_in(c.iter().cloned()))
        .reduce(|a, b| a.or(b))
        .unwrap();
    let found: Vec<Option<bool>> = values
        .iter()
        .map(|v| v.as_ref().map(|v| wanted.iter().any(|w| same(v, w))))
        .collect();
    let reference: Vec<bool> = found.iter().map(|f| *f == Some(true)).collect();
    assert_eq!(matches(&long, &batch), reference, "hashed IN vs reference");
    assert_eq!(
        matches(&short, &batch),
        reference,
        "= per value vs reference"
    );
    let negated: Vec<bool> = found.iter().map(|f| *f == Some(false)).collect();
    assert_eq!(
        matches(&long.not(), &batch),
        negated,
        "NOT IN: a null row stays out"
    );
}

#[test]
fn integers() {
    let values: Vec<Option<u64>> = (0..500u64)
        .map(|i| (i % 7 != 0).then_some(i * 2654435761 % 1000))
        .chain([Some(u64::MAX), None])
        .collect();
    let wanted: Vec<u64> = (0..40).map(|i| i * 25).chain([u64::MAX]).collect();
    check(&values, &wanted, |a, b| a == b);
}

#[test]
fn floats_by_total_order() {
    let specials = [f64::NAN, -0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY, 1.5];
    let values: Vec<Option<f64>> = (0..300)
        .map(|i| match i % 9 {
            0 => None,
            k if k < 7 => Some(specials[k as usize - 1]),
            _ => Some(i as f64 / 4.0),
        })
        .collect();
    let wanted: Vec<f64> = vec![f64::NAN, 0.0, 1.5, 2.0, 3.25, 7.0, 8.0, 9.5, 100.0];
    check(&values, &wanted, |a, b| a.total_cmp(b).is_eq());
}

#[test]
fn strings() {
    let words = ["", "a", "é", "emoji😀", "x\ny", "'q'", "long word here"];
    let values: Vec<Option<String>> = (0..200)
        .map(|i| (i % 11 != 0).then(|| format!("{}{}", words[i % words.len()], i % 3)))
        .collect();
    let wanted: Vec<String> = words
        .iter()
        .flat_map(|w| [format!("{w}0"), format!("{w}2")])
        .collect();
    check(&values, &wanted, |a, b| a == b);
}
