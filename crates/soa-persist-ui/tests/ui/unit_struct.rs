use soa_persist::prelude::*;

#[derive(SoA)]
pub struct Nothing;

fn main() {}
