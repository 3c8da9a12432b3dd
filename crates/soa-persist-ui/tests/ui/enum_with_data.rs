use soa_persist::prelude::*;

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    Point,
    Circle(f64),
}

fn main() {}
