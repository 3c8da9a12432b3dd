use soa_persist::prelude::*;
use std::collections::BTreeMap;

#[derive(SoA)]
pub struct Order {
    id: u64,
    attributes: BTreeMap<String, i32>,
    line: usize,
}

fn main() {}
