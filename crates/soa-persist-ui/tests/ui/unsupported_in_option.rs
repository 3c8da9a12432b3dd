use soa_persist::prelude::*;

#[derive(SoA)]
pub struct Order {
    id: u64,
    discount: Option<u128>,
}

fn main() {}
