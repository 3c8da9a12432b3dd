use soa_persist::prelude::*;

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq)]
pub enum Status {
    Pending,
    Shipped,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Order {
    status: Status,
}

fn main() {
    // Enums compare for equality only: their order differs between engines.
    let _ = Order::fields().status.lt(Status::Shipped);
}
