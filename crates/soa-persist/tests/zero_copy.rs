//! Zero-copy is a claim: these tests prove it by pointer identity, in both directions, and
//! check that a shared or sliced buffer is copied instead (never aliased mutably).
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use soa_persist::Micros;
use soa_persist::arrow::array::{Array, AsArray};
use soa_persist::arrow::datatypes::{Float64Type, Int32Type, TimestampMicrosecondType, UInt64Type};
use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Tick {
    id: u64,
    price: f64,
    qty: i32,
    at: Timestamp<Micros>,
    venue: String,
}

fn ticks(n: usize) -> TickSoA {
    (0..n)
        .map(|i| Tick {
            id: i as u64,
            price: i as f64 * 0.5,
            qty: -(i as i32),
            at: Timestamp::new(i as i64 * 1000),
            venue: format!("v{}", i % 3),
        })
        .collect()
}

#[test]
fn into_record_batch_moves_primitive_and_timestamp_buffers() {
    let soa = ticks(1000);
    let (id, price, qty, at) = (
        soa.id.as_ptr() as usize,
        soa.price.as_ptr() as usize,
        soa.qty.as_ptr() as usize,
        soa.at.as_ptr() as usize,
    );
    let batch = soa.into_record_batch().unwrap();
    assert_eq!(
        batch
            .column(0)
            .as_primitive::<UInt64Type>()
            .values()
            .as_ptr() as usize,
        id
    );
    assert_eq!(
        batch
            .column(1)
            .as_primitive::<Float64Type>()
            .values()
            .as_ptr() as usize,
        price
    );
    assert_eq!(
        batch
            .column(2)
            .as_primitive::<Int32Type>()
            .values()
            .as_ptr() as usize,
        qty
    );
    assert_eq!(
        batch
            .column(3)
            .as_primitive::<TimestampMicrosecondType>()
            .values()
            .as_ptr() as usize,
        at
    );
}

#[test]
fn from_owned_record_batch_reuses_unshared_buffers() {
    let batch = ticks(1000).into_record_batch().unwrap();
    let id = batch
        .column(0)
        .as_primitive::<UInt64Type>()
        .values()
        .as_ptr() as usize;
    let price = batch
        .column(1)
        .as_primitive::<Float64Type>()
        .values()
        .as_ptr() as usize;
    let at = batch
        .column(3)
        .as_primitive::<TimestampMicrosecondType>()
        .values()
        .as_ptr() as usize;
    let soa = TickSoA::from_owned_record_batch(batch).unwrap();
    assert_eq!(soa.id.as_ptr() as usize, id);
    assert_eq!(soa.price.as_ptr() as usize, price);
    assert_eq!(soa.at.as_ptr() as usize, at);
    assert_eq!(soa, ticks(1000));
}

#[test]
fn round_trip_through_arrow_keeps_the_same_allocation() {
    let soa = ticks(4096);
    let before = soa.price.as_ptr() as usize;
    let back = TickSoA::from_owned_record_batch(soa.into_record_batch().unwrap()).unwrap();
    assert_eq!(back.price.as_ptr() as usize, before);
}

#[test]
fn shared_buffers_are_copied_not_aliased() {
    let batch = ticks(100).into_record_batch().unwrap();
    let keep = batch.clone(); // a second owner of every buffer
    let id = keep
        .column(0)
        .as_primitive::<UInt64Type>()
        .values()
        .as_ptr() as usize;
    let mut soa = TickSoA::from_owned_record_batch(batch).unwrap();
    assert_ne!(
        soa.id.as_ptr() as usize,
        id,
        "a shared buffer must be copied"
    );
    soa.id[0] = 999; // must not show through the other owner
    assert_eq!(keep.column(0).as_primitive::<UInt64Type>().value(0), 0);
}

#[test]
fn sliced_buffers_are_copied() {
    let batch = ticks(100).into_record_batch().unwrap();
    let tail = batch.slice(10, 90);
    drop(batch);
    let soa = TickSoA::from_owned_record_batch(tail).unwrap();
    assert_eq!(soa.len(), 90);
    assert_eq!(soa.id[0], 10);
    assert_eq!(soa.id.capacity(), 90);
}

#[test]
fn copying_conversion_leaves_the_container_usable() {
    let soa = ticks(10);
    let batch = soa.to_record_batch().unwrap();
    assert_ne!(
        batch
            .column(0)
            .as_primitive::<UInt64Type>()
            .values()
            .as_ptr() as usize,
        soa.id.as_ptr() as usize
    );
    assert_eq!(batch.num_rows(), soa.len());
    assert_eq!(batch.column(4).as_string::<i32>().value(2), "v2");
    assert_eq!(batch.column(0).null_count(), 0);
}
