use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Order {
    amount: f64,
}

fn main() {
    let _ = Order::fields().amount.starts_with("1");
}
