use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Order {
    #[soa(primary)]
    id: u64,
}

fn main() {}
