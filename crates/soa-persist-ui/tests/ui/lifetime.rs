use soa_persist::prelude::*;

#[derive(SoA)]
pub struct Borrowed<'a> {
    name: &'a str,
}

fn main() {}
