use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Reading {
    id: u64,
}

fn main() {
    // An unsuffixed literal is an i32; a larger one needs a suffix (5_000_000_000u64).
    let _ = Reading::fields().id.ge(5_000_000_000);
}
