use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Event {
    #[soa(timestamp = "minutes")]
    at: DateTime<Utc>,
}

fn main() {}
