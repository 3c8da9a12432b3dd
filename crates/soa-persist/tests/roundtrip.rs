//! Property tests: SoA -> Arrow -> SoA is the identity for every supported type, through the
//! copying and the consuming (zero-copy) paths, for 0, 1 and many rows.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod common;

use common::*;
use proptest::prelude::*;
use soa_persist::arrow::compute::concat_batches;
use soa_persist::prelude::*;

fn roundtrip_all_paths(rows: Vec<AllTypes>) -> Result<(), TestCaseError> {
    let soa: AllTypesSoA = rows.iter().cloned().collect();
    prop_assert_eq!(soa.len(), rows.len());

    let batch = soa
        .to_record_batch()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(batch.num_rows(), rows.len());
    prop_assert_eq!(batch.schema(), AllTypes::arrow_schema());
    let back =
        AllTypesSoA::from_record_batch(&batch).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(same(&back, &soa), "copying path differs");

    let owned = soa
        .clone()
        .into_record_batch()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(
        same(&owned, &batch),
        "into_record_batch differs from to_record_batch"
    );
    let back = AllTypesSoA::from_owned_record_batch(owned)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(same(&back, &soa), "consuming path differs");

    // Any range converts alone to the rows of the whole batch's slice (its ends clamped).
    let n = rows.len();
    for (a, b) in [(0, n), (n / 3, n / 2 + 1), (n / 2, n + 5), (n + 1, n + 9)] {
        let part = soa
            .to_record_batch_range(a..b)
            .expect("plain and nested columns convert by range")
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (a, b) = (a.min(n), b.min(n));
        prop_assert!(same(&part, &batch.slice(a, b - a)), "rows {a}..{b} differ");
    }

    let rows_back: Vec<AllTypes> = back.into_iter().collect();
    prop_assert!(same(&rows_back, &rows), "rows differ");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_type_round_trips(rows in prop::collection::vec(all_types(), 0..24)) {
        roundtrip_all_paths(rows)?;
    }

    #[test]
    fn one_row_round_trips(row in all_types()) {
        roundtrip_all_paths(vec![row])?;
    }

    /// Slices of a batch (non-zero offsets in every buffer) decode to the matching rows.
    #[test]
    fn sliced_batches_round_trip(rows in prop::collection::vec(all_types(), 1..16), cut in 0usize..16) {
        let soa: AllTypesSoA = rows.iter().cloned().collect();
        let batch = soa.to_record_batch().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let cut = cut % rows.len();
        let tail = batch.slice(cut, rows.len() - cut);
        let back = AllTypesSoA::from_owned_record_batch(tail).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let want: AllTypesSoA = rows[cut..].iter().cloned().collect();
        prop_assert!(same(&back, &want));
    }

    /// Batches concatenated by Arrow decode to the concatenated rows.
    #[test]
    fn concatenated_batches_round_trip(a in prop::collection::vec(all_types(), 0..8), b in prop::collection::vec(all_types(), 0..8)) {
        let (sa, sb): (AllTypesSoA, AllTypesSoA) = (a.iter().cloned().collect(), b.iter().cloned().collect());
        let batches = [sa.to_record_batch().unwrap(), sb.to_record_batch().unwrap()];
        let joined = concat_batches(&AllTypes::arrow_schema(), &batches).unwrap();
        let back = AllTypesSoA::from_record_batch(&joined).unwrap();
        let mut want = sa;
        want.append(&mut sb.clone());
        prop_assert!(same(&back, &want));
    }
}

#[test]
fn extremes_round_trip() {
    let rows: Vec<AllTypes> = (0..3).map(extreme_row).collect();
    roundtrip_all_paths(rows).unwrap();
}

#[test]
fn empty_store_round_trips() {
    roundtrip_all_paths(Vec::new()).unwrap();
}

#[test]
fn many_rows_round_trip() {
    let rows: Vec<AllTypes> = (0..20_000)
        .map(|i| {
            let mut r = extreme_row(i);
            r.long = i as i64;
            r.text = format!("row {i}");
            r
        })
        .collect();
    roundtrip_all_paths(rows).unwrap();
}
