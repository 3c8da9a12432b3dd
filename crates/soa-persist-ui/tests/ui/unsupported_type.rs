use soa_persist::prelude::*;
use std::collections::HashMap;

#[derive(SoA)]
pub struct Order {
    id: u64,
    attributes: HashMap<String, i32>,
}

fn main() {}
