use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Reading {
    id: u64,
}

fn main() {
    // An integer column compares with integers only.
    let _ = Reading::fields().id.ge(1.5);
}
