use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Order {
    id: u64,
    #[soa(rename = "id")]
    other: u64,
}

fn main() {}
