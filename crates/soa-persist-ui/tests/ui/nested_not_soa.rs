use soa_persist::prelude::*;

#[derive(Clone, Debug, PartialEq)]
pub struct Address {
    city: String,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Order {
    id: u64,
    #[soa(nested)]
    ship_to: Address,
}

fn main() {}
