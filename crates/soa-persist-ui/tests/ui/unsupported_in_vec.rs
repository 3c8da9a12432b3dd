use soa_persist::prelude::*;

#[derive(SoA)]
pub struct Order {
    id: u64,
    initials: Vec<char>,
}

fn main() {}
