//! The README's "adding a backend": a crate that depends on `soa-persist-api` alone derives its
//! test structs through it (`#[soa(crate = "soa_persist_api")]`) and gets the same containers.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use soa_persist_api::core_layers::convert::ToArrow;
use soa_persist_macros::SoA;

#[derive(SoA, Clone, Debug, PartialEq)]
#[soa(crate = "soa_persist_api")]
struct Reading {
    sensor: u32,
    value: f64,
}

#[test]
fn a_backend_crate_derives_through_the_api_crate() {
    let rows: ReadingSoA = (0..3)
        .map(|i| Reading {
            sensor: i,
            value: f64::from(i) / 2.0,
        })
        .collect();
    let batch = rows.to_record_batch().expect("to Arrow");
    assert_eq!(batch.num_rows(), 3);
    assert_eq!(ReadingSoA::from_record_batch(&batch).expect("back"), rows);
}
