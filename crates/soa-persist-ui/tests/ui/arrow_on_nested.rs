// `#[soa(arrow)]` belongs on the nested struct, not on the `#[soa(nested)]` field.
use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Address {
    pub city: String,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Customer {
    #[soa(nested, arrow)]
    pub address: Address,
}

fn main() {}
