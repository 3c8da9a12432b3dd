use soa_persist::prelude::*;

#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
pub struct Reading {
    #[soa(key)]
    value: f64,
}

fn main() {}
