use soa_persist::prelude::*;

#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
pub struct Order {
    #[soa(key)]
    id: u64,
    #[soa(key)]
    other: u64,
}

fn main() {}
