//! Test support for backends (feature `testing`; a backend enables it in its dev-dependencies):
//! the shared [`conformance`] suite, its model row, and [`FaultyPersistence`], a wrapper that
//! makes any backend fail on demand so that every backend's failure paths are tested by the
//! same code.

pub mod conformance;
mod faulty;
mod model;

pub use faulty::{Fault, FaultyPersistence, Op};
pub use model::{ConfOrder, ConfOrderSoA, ConfStatus, order, orders};
