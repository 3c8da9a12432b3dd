//! A small keyed struct with a partition column, shared by the history and maintenance tests.
#![allow(dead_code)] // each test file uses its own part

use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Sale {
    #[soa(key)]
    pub id: u64,
    #[soa(partition)]
    pub region: String,
    pub amount: f64,
}

/// Sales with these ids: even ones in the north, odd ones in the south.
pub fn sales(ids: std::ops::Range<u64>) -> SaleSoA {
    ids.map(|id| Sale {
        id,
        region: if id % 2 == 0 { "north" } else { "south" }.into(),
        amount: id as f64 * 1.5,
    })
    .collect()
}
