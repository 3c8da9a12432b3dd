use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Address {
    city: String,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Order {
    id: u64,
    #[soa(nested)]
    ship_to: Option<Address>,
}

fn main() {}
