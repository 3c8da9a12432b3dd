use soa_persist::prelude::*;

#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
pub struct Order {
    #[soa(key)]
    id: Option<u64>,
}

fn main() {}
