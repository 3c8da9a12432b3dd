//! `KeyIndex` against a plain set: appends of growing, overlapping and repeated keys, with
//! deletes (rebuilds) between them, for integer keys (held exactly) and string keys (hashed).

use std::collections::HashSet;
use std::sync::Arc;

use soa_persist_core::arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};

use super::key_index::KeyIndex;

fn batch(keys: &ArrayRef) -> RecordBatch {
    RecordBatch::try_from_iter([("k", keys.clone())]).unwrap()
}

/// Appends batches drawn by `draw` (growing, overlapping, repeating keys), with a delete
/// now and then, against a plain set: the index refuses exactly what the set says.
fn against_a_set(draw: impl Fn(u64, usize) -> Vec<i64>, to_array: impl Fn(&[i64]) -> ArrayRef) {
    let probe_type = to_array(&[0]).data_type().clone();
    let mut index = KeyIndex::new(0, &probe_type).unwrap();
    let mut stored: Vec<RecordBatch> = Vec::new();
    let mut model: HashSet<i64> = HashSet::new();
    for round in 0..200u64 {
        let keys = draw(round, (round % 7) as usize * 13 + 1);
        let array = to_array(&keys);
        let mut seen = HashSet::new();
        let want: Vec<usize> = (0..keys.len())
            .filter(|&i| model.contains(&keys[i]) || !seen.insert(keys[i]))
            .collect();
        let flags = index.lookup(&stored, &array).unwrap();
        let stored_flags: Vec<bool> = keys.iter().map(|k| model.contains(k)).collect();
        assert_eq!(flags, stored_flags, "lookup, round {round}");
        let bad = index.add_new(&stored, &array).unwrap();
        assert_eq!(bad, want, "add_new, round {round}");
        if bad.is_empty() {
            stored.push(batch(&array));
            model.extend(keys);
        }
        if round % 50 == 49 {
            // A delete: keep every other batch, and rebuild.
            stored = stored.into_iter().step_by(2).collect();
            model.clear();
            index.invalidate();
            for b in &stored {
                let keys: Vec<i64> = (0..b.num_rows()).map(|i| key_of(b.column(0), i)).collect();
                model.extend(keys);
            }
        }
    }
}

fn key_of(array: &ArrayRef, i: usize) -> i64 {
    if let Some(a) = array.as_any().downcast_ref::<Int32Array>() {
        return i64::from(a.value(i));
    }
    let a = array.as_any().downcast_ref::<StringArray>().unwrap();
    a.value(i).trim_start_matches("key-").parse().unwrap()
}

fn draw(round: u64, n: usize) -> Vec<i64> {
    let mut x = round.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Mostly growing ids; every third round draws from the whole range.
            if round.is_multiple_of(3) {
                (x % 3000) as i64 - 1000
            } else {
                (round * 100 + i as u64) as i64
            }
        })
        .collect()
}

#[test]
fn integer_keys_match_a_set() {
    against_a_set(draw, |keys| {
        Arc::new(Int32Array::from_iter_values(keys.iter().map(|k| *k as i32))) as ArrayRef
    });
}

#[test]
fn string_keys_match_a_set() {
    against_a_set(draw, |keys| {
        Arc::new(StringArray::from_iter_values(
            keys.iter().map(|k| format!("key-{k}")),
        )) as ArrayRef
    });
}
