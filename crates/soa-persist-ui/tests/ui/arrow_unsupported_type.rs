// `#[soa(arrow)]` on a field whose type has no Arrow-layout column: an error on that field's
// type that says which types have one.
use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Order {
    #[soa(arrow)]
    pub name: String,
    #[soa(arrow)]
    pub amount: f64,
}

fn main() {}
