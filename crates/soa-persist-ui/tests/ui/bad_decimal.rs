use soa_persist::prelude::*;
use soa_persist::rust_decimal::Decimal;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Price {
    #[soa(decimal(40, 2))]
    amount: Decimal,
}

fn main() {}
