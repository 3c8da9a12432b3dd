//! `#[soa(arrow)]` columns: zero-copy both ways (proved by pointer identity, for strings,
//! binaries, enums, instants and the `Option` of each), the container API agreeing with the `Vec` struct
//! under random operations, Arrow round trips of sliced and shared arrays, and the Parquet and
//! in-memory backends reading and writing such a struct.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::sync::Arc;

use proptest::prelude::*;
use soa_persist::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use soa_persist::arrow::datatypes::{Int8Type, TimestampMicrosecondType};
use soa_persist::arrow_col::StrColumn;
use soa_persist::prelude::*;
use soa_persist::{ArrowPersistence, Column};

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Alpha,
    Beta,
    Gamma,
}

/// The same fields twice: plain `Vec` columns, and Arrow-layout columns (struct attribute).
macro_rules! row_struct {
    ($(#[$attr:meta])* $name:ident) => {
        #[derive(SoA, Clone, Debug, PartialEq)]
        $(#[$attr])*
        pub struct $name {
            #[soa(key)]
            pub id: u64,
            pub name: String,
            pub note: Option<String>,
            #[soa(partition)]
            pub kind: Kind,
            pub maybe_kind: Option<Kind>,
            pub at: DateTime<Utc>,
            pub seen: Option<DateTime<Utc>>,
            pub blob: Vec<u8>,
            pub maybe_blob: Option<Vec<u8>>,
        }
    };
}
row_struct!(Plain);
row_struct!(
    #[soa(arrow)]
    Arrowed
);

/// Arrow layout chosen per field; `amount` stays a `Vec<f64>`.
#[derive(SoA, Clone, Debug, PartialEq)]
pub struct PerField {
    #[soa(arrow)]
    pub name: String,
    #[soa(arrow)]
    pub note: Option<String>,
    pub amount: f64,
    #[soa(arrow, timestamp = "ms")]
    pub at: DateTime<Utc>,
}

/// A `#[soa(arrow)]` struct keeps `Vec<T>` for types without an Arrow-layout column, and for
/// a nanosecond `DateTime` (an instant column could not hold every `DateTime` in nanoseconds).
#[derive(SoA, Clone, Debug, PartialEq)]
#[soa(arrow)]
pub struct Mixed {
    pub id: i64,
    pub flags: Vec<i32>,
    #[soa(timestamp = "ns")]
    pub at: DateTime<Utc>,
    pub name: String,
}

/// An Arrow-layout column converts only whole: a range of a container holding one is `None`,
/// so a caller cutting it into batches converts it once instead.
#[test]
fn a_container_with_arrow_layout_columns_has_no_ranges() {
    let rows: PerFieldSoA = (0..3)
        .map(|i| PerField {
            name: format!("n{i}"),
            note: None,
            amount: f64::from(i),
            at: instant(i64::from(i)),
        })
        .collect();
    assert!(rows.to_record_batch_range(0..2).is_none());
    assert_eq!(rows.to_record_batch().unwrap().num_rows(), 3);
}

type Tuple = (
    u64,
    String,
    Option<String>,
    Kind,
    Option<Kind>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Vec<u8>,
    Option<Vec<u8>>,
);

fn plain(t: &Tuple) -> Plain {
    let t = t.clone();
    Plain {
        id: t.0,
        name: t.1,
        note: t.2,
        kind: t.3,
        maybe_kind: t.4,
        at: t.5,
        seen: t.6,
        blob: t.7,
        maybe_blob: t.8,
    }
}

fn arrowed(t: &Tuple) -> Arrowed {
    let t = t.clone();
    Arrowed {
        id: t.0,
        name: t.1,
        note: t.2,
        kind: t.3,
        maybe_kind: t.4,
        at: t.5,
        seen: t.6,
        blob: t.7,
        maybe_blob: t.8,
    }
}

fn plain_rows(s: &PlainSoA) -> Vec<Tuple> {
    s.iter()
        .map(|r| {
            (
                *r.id,
                r.name.clone(),
                r.note.clone(),
                *r.kind,
                *r.maybe_kind,
                *r.at,
                *r.seen,
                r.blob.clone(),
                r.maybe_blob.clone(),
            )
        })
        .collect()
}

fn arrowed_rows(s: &ArrowedSoA) -> Vec<Tuple> {
    s.iter()
        .map(|r| {
            (
                *r.id,
                r.name.to_owned(),
                r.note.map(str::to_owned),
                *r.kind,
                r.maybe_kind.copied(),
                r.at,
                r.seen,
                r.blob.to_vec(),
                r.maybe_blob.map(<[u8]>::to_vec),
            )
        })
        .collect()
}

fn instant(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap()
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Alpha), Just(Kind::Beta), Just(Kind::Gamma)]
}

fn tuple() -> impl Strategy<Value = Tuple> {
    (
        any::<u64>(),
        "\\PC{0,6}",
        prop::option::of("[a-zé漢 ]{0,4}"),
        kind(),
        prop::option::of(kind()),
        -8_000_000_000_000_000i64..8_000_000_000_000_000,
        prop::option::of(-1_000_000_000_000i64..1_000_000_000_000),
        prop::collection::vec(any::<u8>(), 0..5),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..3)),
    )
        .prop_map(|(id, name, note, kind, mk, at, seen, blob, mb)| {
            (
                id,
                name,
                note,
                kind,
                mk,
                instant(at),
                seen.map(instant),
                blob,
                mb,
            )
        })
}

#[derive(Clone, Debug)]
enum Op {
    Push(Tuple),
    Replace(usize, Tuple),
    SwapRemove(usize),
    Remove(usize),
    Truncate(usize),
    Swap(usize, usize),
    SortByName,
    SortByKindThenAt,
    SortUnstableById,
    Retain(u64),
    SplitOffAndAppend(usize),
    SplitOffAndKeep(usize),
    Append(Vec<Tuple>),
    ArrowRoundTrip,
    OwnedArrowRoundTrip,
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => tuple().prop_map(Op::Push),
        2 => (any::<usize>(), tuple()).prop_map(|(i, t)| Op::Replace(i, t)),
        1 => any::<usize>().prop_map(Op::SwapRemove),
        1 => any::<usize>().prop_map(Op::Remove),
        1 => (0usize..40).prop_map(Op::Truncate),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Swap(a, b)),
        1 => Just(Op::SortByName),
        1 => Just(Op::SortByKindThenAt),
        1 => Just(Op::SortUnstableById),
        1 => (2u64..5).prop_map(Op::Retain),
        1 => any::<usize>().prop_map(Op::SplitOffAndAppend),
        1 => any::<usize>().prop_map(Op::SplitOffAndKeep),
        1 => prop::collection::vec(tuple(), 0..4).prop_map(Op::Append),
        1 => Just(Op::ArrowRoundTrip),
        1 => Just(Op::OwnedArrowRoundTrip),
        1 => Just(Op::Clear),
    ]
}

fn apply(p: &mut PlainSoA, a: &mut ArrowedSoA, op: &Op) -> Result<(), TestCaseError> {
    let len = p.len().max(1);
    match op {
        Op::Push(t) => {
            p.push(plain(t));
            a.push(arrowed(t));
        }
        Op::Replace(i, t) => {
            let i = i % (len + 1);
            let old_p = p.replace(i, plain(t)).map_err(|_| ());
            let old_a = a.replace(i, arrowed(t)).map_err(|_| ());
            prop_assert_eq!(old_p.is_ok(), old_a.is_ok());
            if let (Ok(x), Ok(y)) = (old_p, old_a) {
                prop_assert_eq!(x.name, y.name);
                prop_assert_eq!(x.note, y.note);
                prop_assert_eq!(x.seen, y.seen);
                prop_assert_eq!(x.maybe_kind, y.maybe_kind);
            }
        }
        Op::SwapRemove(i) => {
            let i = i % (len + 1);
            let (x, y) = (p.swap_remove(i), a.swap_remove(i));
            prop_assert_eq!(x.map(|r| (r.name, r.note)), y.map(|r| (r.name, r.note)));
        }
        Op::Remove(i) => {
            let i = i % (len + 1);
            let (x, y) = (p.remove(i), a.remove(i));
            prop_assert_eq!(x.map(|r| (r.id, r.seen)), y.map(|r| (r.id, r.seen)));
        }
        Op::Truncate(n) => {
            p.truncate(*n);
            a.truncate(*n);
        }
        Op::Swap(x, y) => {
            p.swap(x % len, y % (len + 1));
            a.swap(x % len, y % (len + 1));
        }
        Op::SortByName => {
            p.sort_by(|x, y| x.name.cmp(y.name).then(x.note.cmp(y.note)));
            a.sort_by(|x, y| x.name.cmp(y.name).then(x.note.cmp(&y.note)));
        }
        Op::SortByKindThenAt => {
            p.sort_by_key(|r| (*r.kind, *r.at));
            a.sort_by_key(|r| (*r.kind, r.at));
        }
        Op::SortUnstableById => {
            // Ties broken by every column, so the unstable order is the same on both sides.
            p.sort_unstable_by(|x, y| {
                (x.id, x.name, x.note, x.seen, x.maybe_kind, x.at, x.kind).cmp(&(
                    y.id,
                    y.name,
                    y.note,
                    y.seen,
                    y.maybe_kind,
                    y.at,
                    y.kind,
                ))
            });
            a.sort_unstable_by(|x, y| {
                (x.id, x.name, x.note, x.seen, x.maybe_kind, x.at, x.kind).cmp(&(
                    y.id,
                    y.name,
                    y.note,
                    y.seen,
                    y.maybe_kind,
                    y.at,
                    y.kind,
                ))
            });
        }
        Op::Retain(k) => {
            p.retain(|r| {
                r.id % k != 0 && r.note.as_ref().is_some_and(|n| !n.is_empty()) || *r.id % 7 == 1
            });
            a.retain(|r| r.id % k != 0 && r.note.is_some_and(|n| !n.is_empty()) || *r.id % 7 == 1);
        }
        Op::SplitOffAndAppend(at) => {
            let at = at % (len + 1);
            let (mut tp, mut ta) = (p.split_off(at), a.split_off(at));
            prop_assert_eq!(plain_rows(&tp), arrowed_rows(&ta));
            p.append(&mut tp);
            a.append(&mut ta);
            prop_assert!(tp.is_empty() && ta.is_empty());
        }
        Op::SplitOffAndKeep(at) => {
            let at = at % (len + 1);
            let (tp, ta) = (p.split_off(at), a.split_off(at));
            prop_assert_eq!(plain_rows(&tp), arrowed_rows(&ta));
        }
        Op::Append(rows) => {
            let mut tp: PlainSoA = rows.iter().map(plain).collect();
            let mut ta: ArrowedSoA = rows.iter().map(arrowed).collect();
            p.append(&mut tp);
            a.append(&mut ta);
        }
        Op::ArrowRoundTrip => {
            let batch = a
                .to_record_batch()
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            *a = ArrowedSoA::from_record_batch(&batch)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        Op::OwnedArrowRoundTrip => {
            let batch = std::mem::take(a)
                .into_record_batch()
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            *a = ArrowedSoA::from_owned_record_batch(batch)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        Op::Clear => {
            p.clear();
            a.clear();
        }
    }
    Ok(())
}

/// Every observable of the two containers agrees.
fn agree(p: &PlainSoA, a: &ArrowedSoA) -> Result<(), TestCaseError> {
    prop_assert_eq!(p.len(), a.len());
    let rows = plain_rows(p);
    prop_assert_eq!(&rows, &arrowed_rows(a));
    for (i, t) in rows.iter().enumerate() {
        prop_assert_eq!(a.row(i), Some(arrowed(t)));
        prop_assert_eq!(a.get(i).map(|r| r.name), Some(t.1.as_str()));
    }
    prop_assert!(a.get(rows.len()).is_none());
    prop_assert_eq!(
        a.note.null_count(),
        rows.iter().filter(|t| t.2.is_none()).count()
    );
    prop_assert_eq!(
        a.seen.null_count(),
        rows.iter().filter(|t| t.6.is_none()).count()
    );
    let mid = rows.len() / 2;
    let slice = a.slice(mid..rows.len()).expect("in range");
    prop_assert_eq!(slice.len(), rows.len() - mid);
    prop_assert_eq!(
        slice.name.iter().map(str::to_owned).collect::<Vec<_>>(),
        rows[mid..].iter().map(|t| t.1.clone()).collect::<Vec<_>>()
    );
    prop_assert!(a.slice(0..rows.len() + 1).is_none());
    // Same Arrow encoding: schema and every value.
    let (bp, ba) = (
        p.to_record_batch()
            .map_err(|e| TestCaseError::fail(e.to_string()))?,
        a.to_record_batch()
            .map_err(|e| TestCaseError::fail(e.to_string()))?,
    );
    prop_assert_eq!(bp.schema().fields().clone(), ba.schema().fields().clone());
    prop_assert_eq!(bp.columns(), ba.columns());
    let owned: Vec<Tuple> = a
        .clone()
        .into_iter()
        .map(|r| {
            (
                r.id,
                r.name,
                r.note,
                r.kind,
                r.maybe_kind,
                r.at,
                r.seen,
                r.blob,
                r.maybe_blob,
            )
        })
        .collect();
    prop_assert_eq!(owned, rows);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Random sequences of container operations give the same rows on the `Vec` struct and
    /// on the `#[soa(arrow)]` struct, and the same Arrow batch.
    #[test]
    fn container_api_matches_vec_columns(
        start in prop::collection::vec(tuple(), 0..12),
        ops in prop::collection::vec(op(), 0..24),
    ) {
        let mut p: PlainSoA = start.iter().map(plain).collect();
        let mut a: ArrowedSoA = start.iter().map(arrowed).collect();
        agree(&p, &a)?;
        for op in &ops {
            apply(&mut p, &mut a, op)?;
            agree(&p, &a)?;
        }
    }

    /// A sliced batch (non-zero offsets in every buffer, shared with the whole batch) reads
    /// into the rows of the slice, and stays correct when edited afterwards.
    #[test]
    fn sliced_and_shared_batches_round_trip(
        rows in prop::collection::vec(tuple(), 1..20),
        cut in any::<usize>(),
        extra in tuple(),
    ) {
        let whole: PlainSoA = rows.iter().map(plain).collect();
        let batch = whole.to_record_batch().unwrap();
        let start = cut % rows.len();
        let len = (cut / 7) % (rows.len() - start + 1);
        let sliced = batch.slice(start, len);
        let mut a = ArrowedSoA::from_record_batch(&sliced).unwrap();
        prop_assert_eq!(arrowed_rows(&a), rows[start..start + len].to_vec());
        // Editing the column copies the shared buffers: the batch is unchanged.
        a.push(arrowed(&extra));
        a.swap_remove(0);
        let mut want = rows[start..start + len].to_vec();
        want.push(extra.clone());
        want.swap_remove(0);
        prop_assert_eq!(arrowed_rows(&a), want);
        prop_assert_eq!(
            plain_rows(&PlainSoA::from_record_batch(&batch).unwrap()),
            rows.clone()
        );
    }

    /// Any sequence of operations on columns read from a slice of a shared batch (the first
    /// write of each kind starting from shared, offset buffers) agrees with the `Vec` struct,
    /// and leaves the batch as it was.
    #[test]
    fn operations_on_a_sliced_shared_batch_match_vec_columns(
        rows in prop::collection::vec(tuple(), 1..16),
        cut in any::<usize>(),
        ops in prop::collection::vec(op(), 1..8),
    ) {
        let whole: PlainSoA = rows.iter().map(plain).collect();
        let batch = whole.to_record_batch().unwrap();
        let start = cut % rows.len();
        let len = (cut / 7) % (rows.len() - start + 1);
        let sliced = batch.slice(start, len);
        let mut p = PlainSoA::from_record_batch(&sliced).unwrap();
        let mut a = ArrowedSoA::from_record_batch(&sliced).unwrap();
        for op in &ops {
            apply(&mut p, &mut a, op)?;
            agree(&p, &a)?;
        }
        prop_assert_eq!(plain_rows(&PlainSoA::from_record_batch(&batch).unwrap()), rows);
    }
}

/// The Arrow schema does not depend on the column layout.
#[test]
fn schema_is_the_same_as_the_vec_structs() {
    assert_eq!(
        Plain::arrow_schema().fields(),
        Arrowed::arrow_schema().fields()
    );
}

fn arrowed_fixture(n: usize) -> ArrowedSoA {
    (0..n)
        .map(|i| {
            arrowed(&(
                i as u64,
                format!("name-{i}-é"),
                (i % 3 != 0).then(|| format!("note {i}")),
                [Kind::Alpha, Kind::Beta, Kind::Gamma][i % 3],
                (i % 4 != 0).then_some(Kind::Gamma),
                instant(i as i64 * 1_000_003),
                (i % 5 != 0).then(|| instant(-(i as i64))),
                vec![i as u8, 0, 255],
                (i % 6 != 0).then(|| vec![i as u8; i % 4]),
            ))
        })
        .collect()
}

fn ptr(bytes: &[u8]) -> usize {
    bytes.as_ptr() as usize
}

/// The buffer addresses of every Arrow-layout column of an `Arrowed` container.
fn column_ptrs(a: &ArrowedSoA) -> Vec<usize> {
    vec![
        ptr(a.name.value_bytes()),
        ptr(a.note.values().value_bytes()),
        ptr(a.note.validity_bytes().expect("has nulls")),
        ptr(a.kind.raw_bytes()),
        ptr(a.maybe_kind.values().raw_bytes()),
        ptr(a.maybe_kind.validity_bytes().expect("has nulls")),
        ptr(a.at.raw_bytes()),
        ptr(a.seen.values().raw_bytes()),
        ptr(a.seen.validity_bytes().expect("has nulls")),
        ptr(a.blob.value_bytes()),
        ptr(a.maybe_blob.values().value_bytes()),
        ptr(a.maybe_blob.validity_bytes().expect("has nulls")),
    ]
}

/// The buffer addresses of the same columns in a batch of `Arrowed`.
fn batch_ptrs(batch: &RecordBatch) -> Vec<usize> {
    let col = |name: &str| batch.column_by_name(name).unwrap().clone();
    let (name, note) = (col("name"), col("note"));
    let (kind, maybe_kind) = (col("kind"), col("maybe_kind"));
    let (at, seen) = (col("at"), col("seen"));
    let (blob, maybe_blob) = (col("blob"), col("maybe_blob"));
    let validity = |a: &ArrayRef| a.nulls().unwrap().buffer().as_ptr() as usize;
    let keys = |a: &ArrayRef| a.as_dictionary::<Int8Type>().keys().values().as_ptr() as usize;
    let times = |a: &ArrayRef| {
        a.as_primitive::<TimestampMicrosecondType>()
            .values()
            .as_ptr() as usize
    };
    vec![
        name.as_string::<i32>().values().as_ptr() as usize,
        note.as_string::<i32>().values().as_ptr() as usize,
        validity(&note),
        keys(&kind),
        keys(&maybe_kind),
        validity(&maybe_kind),
        times(&at),
        times(&seen),
        validity(&seen),
        blob.as_binary::<i32>().values().as_ptr() as usize,
        maybe_blob.as_binary::<i32>().values().as_ptr() as usize,
        validity(&maybe_blob),
    ]
}

#[test]
fn into_record_batch_moves_every_arrow_column() {
    let a = arrowed_fixture(1000);
    let before = column_ptrs(&a);
    let offsets = a.name.offsets().as_ptr() as usize;
    let batch = a.into_record_batch().unwrap();
    assert_eq!(batch_ptrs(&batch), before);
    let name = batch.column_by_name("name").unwrap();
    assert_eq!(
        name.as_string::<i32>().offsets().as_ptr() as usize,
        offsets,
        "string offsets moved too"
    );
}

#[test]
fn from_record_batch_shares_every_arrow_column() {
    let batch = arrowed_fixture(1000).to_record_batch().unwrap();
    let want = batch_ptrs(&batch);
    let borrowed = ArrowedSoA::from_record_batch(&batch).unwrap();
    assert_eq!(
        column_ptrs(&borrowed),
        want,
        "borrowed batch: buffers shared"
    );
    let owned = ArrowedSoA::from_owned_record_batch(batch.clone()).unwrap();
    assert_eq!(column_ptrs(&owned), want, "owned batch: buffers taken");
    // And back out again: still the same buffers, end to end.
    assert_eq!(batch_ptrs(&owned.into_record_batch().unwrap()), want);
}

#[test]
fn a_sliced_batch_is_shared_not_copied() {
    let batch = arrowed_fixture(100).to_record_batch().unwrap();
    let values = batch
        .column_by_name("name")
        .unwrap()
        .as_string::<i32>()
        .values()
        .as_ptr() as usize;
    let sliced = batch.slice(10, 50);
    let a = ArrowedSoA::from_record_batch(&sliced).unwrap();
    assert_eq!(ptr(a.name.value_bytes()), values);
    assert_eq!(a.name.get(0), Some("name-10-é"));
    assert_eq!(a.len(), 50);
}

#[test]
fn no_validity_bitmap_while_every_row_is_valid() {
    let mut soa = PerFieldSoA::new();
    soa.push(PerField {
        name: "a".into(),
        note: Some("n".into()),
        amount: 0.0,
        at: instant(0),
    });
    assert!(soa.note.validity_bytes().is_none());
    soa.note.push(None);
    assert!(soa.note.validity_bytes().is_some());
    assert_eq!(soa.note.null_count(), 1);
}

#[test]
fn first_write_reuses_an_unshared_buffer_and_copies_a_shared_one() {
    let batch = arrowed_fixture(100).into_record_batch().unwrap();
    let name_ptr = batch
        .column_by_name("name")
        .unwrap()
        .as_string::<i32>()
        .values()
        .as_ptr() as usize;
    // Shared with `batch`: a write copies, and the batch keeps its values.
    let mut shared = ArrowedSoA::from_record_batch(&batch).unwrap();
    shared.name.push("new".to_string());
    assert_ne!(ptr(shared.name.value_bytes()), name_ptr);
    assert_eq!(
        batch
            .column_by_name("name")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "name-0-é"
    );
    // The only holder: the write happens in the same allocation.
    let mut only = ArrowedSoA::from_owned_record_batch(batch).unwrap();
    only.name.truncate(10);
    assert_eq!(ptr(only.name.value_bytes()), name_ptr);
    assert_eq!(&only.name[9], "name-9-é");
}

#[test]
fn per_field_attribute_and_timestamp_unit() {
    let rows = [PerField {
        name: "é".into(),
        note: None,
        amount: 1.5,
        at: instant(1_234_567_891),
    }];
    let soa: PerFieldSoA = rows.iter().cloned().collect();
    let _: &StrColumn = &soa.name;
    let _: &Vec<f64> = &soa.amount;
    let batch = soa.into_record_batch().unwrap();
    assert_eq!(batch.schema(), PerField::arrow_schema());
    // Milliseconds: the value is floored to the unit.
    let back = PerFieldSoA::from_record_batch(&batch).unwrap();
    assert_eq!(back.at.get(0), Some(instant(1_234_567_000)));
    assert_eq!(back.row(0).unwrap().name, "é");
}

#[test]
fn types_without_an_arrow_column_stay_vec_in_an_arrow_struct() {
    let row = Mixed {
        id: -1,
        flags: vec![1, -2],
        at: instant(5),
        name: "x".into(),
    };
    let soa: MixedSoA = std::iter::once(row.clone()).collect();
    let _: &Vec<i64> = &soa.id;
    let _: &Vec<Vec<i32>> = &soa.flags;
    let _: &Vec<DateTime<Utc>> = &soa.at;
    let _: &StrColumn = &soa.name;
    let back = MixedSoA::from_owned_record_batch(soa.into_record_batch().unwrap()).unwrap();
    assert_eq!(back.row(0), Some(row));
}

#[test]
fn strings_from_other_encodings_and_nulls_in_a_non_null_column() {
    let large: ArrayRef = Arc::new(soa_persist::arrow::array::LargeStringArray::from(vec![
        "a", "", "ü",
    ]));
    let col =
        <StrColumn as soa_persist::ArrowColumn>::from_array(&large, &Default::default()).unwrap();
    assert_eq!(col.iter().collect::<Vec<_>>(), ["a", "", "ü"]);
    let with_null: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
    let err = <StrColumn as soa_persist::ArrowColumn>::from_array(&with_null, &Default::default())
        .unwrap_err();
    assert!(
        matches!(err, ConvertError::UnexpectedNull { row: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn an_unknown_enum_name_is_an_error_and_a_foreign_dictionary_is_remapped() {
    use soa_persist::arrow::array::DictionaryArray;
    let dict: DictionaryArray<Int8Type> = vec!["Gamma", "Alpha", "Gamma"].into_iter().collect();
    let array: ArrayRef = Arc::new(dict);
    let col = <soa_persist::arrow_col::EnumColumn<Kind> as soa_persist::ArrowColumn>::from_array(
        &array,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(
        col.iter().copied().collect::<Vec<_>>(),
        [Kind::Gamma, Kind::Alpha, Kind::Gamma]
    );
    let bad: DictionaryArray<Int8Type> = vec!["Alpha", "Delta"].into_iter().collect();
    let array: ArrayRef = Arc::new(bad);
    let err = <soa_persist::arrow_col::EnumColumn<Kind> as soa_persist::ArrowColumn>::from_array(
        &array,
        &Default::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("Delta"), "{err}");
}

#[test]
fn an_instant_outside_chronos_range_is_an_error() {
    use soa_persist::arrow::array::TimestampSecondArray;
    let array: ArrayRef =
        Arc::new(TimestampSecondArray::from(vec![0, i64::MAX]).with_timezone("UTC"));
    let err = <soa_persist::arrow_col::InstantColumn<soa_persist::Seconds> as soa_persist::ArrowColumn>::from_array(
        &array,
        &Default::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ConvertError::InvalidValue { row: 1, .. }),
        "{err:?}"
    );
    // Under a null, any value is accepted (and never read).
    let masked: ArrayRef = Arc::new(
        TimestampSecondArray::new(
            vec![0, i64::MAX].into(),
            Some(soa_persist::arrow::buffer::NullBuffer::from(vec![
                true, false,
            ])),
        )
        .with_timezone("UTC"),
    );
    let col = <soa_persist::arrow_col::Nullable<
        soa_persist::arrow_col::InstantColumn<soa_persist::Seconds>,
    > as soa_persist::ArrowColumn>::from_array(&masked, &Default::default())
    .unwrap();
    assert_eq!(col.get(0), Some(Some(instant(0))));
    assert_eq!(col.get(1), Some(None));
}

#[tokio::test]
async fn parquet_dataset_round_trips_an_arrow_layout_struct() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<Arrowed>::open(dir.path()).unwrap();
    let rows = arrowed_fixture(500);
    p.save(rows.clone()).await.unwrap();
    let mut back = p.load().await.unwrap().expect("saved");
    back.sort_by_key(|r| *r.id);
    assert_eq!(back, rows);
    // Written by the plain struct, read by the Arrow-layout one: the files are the same.
    let plain = ParquetPersistence::<Plain>::open(dir.path()).unwrap();
    let mut as_plain = plain.load().await.unwrap().expect("saved");
    as_plain.sort_by_key(|r| *r.id);
    assert_eq!(
        as_plain.to_record_batch().unwrap().columns(),
        back.to_record_batch().unwrap().columns()
    );
}

#[tokio::test]
async fn memory_backend_round_trips_an_arrow_layout_struct() {
    let p = ArrowPersistence::<Arrowed>::new();
    let rows = arrowed_fixture(50);
    p.save(rows.clone()).await.unwrap();
    assert_eq!(p.load().await.unwrap(), Some(rows));
}
