use soa_persist::prelude::*;

#[derive(SoA)]
pub enum Status {
    Pending,
    Shipped,
}

fn main() {}
