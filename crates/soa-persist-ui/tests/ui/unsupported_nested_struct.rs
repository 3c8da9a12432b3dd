use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Address {
    city: String,
}

// A struct field needs #[soa(nested)] to be stored column-wise.
#[derive(SoA)]
pub struct Order {
    id: u64,
    ship_to: Address,
}

fn main() {}
