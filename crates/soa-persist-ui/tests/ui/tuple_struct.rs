use soa_persist::prelude::*;

#[derive(SoA)]
pub struct Pair(u64, f64);

fn main() {}
