//! The model row of the conformance suite and fault tests: nulls, unicode, quotes and SQL
//! comment markers in its strings, a NaN among its floats and an enum partition column, so that
//! backends meet the awkward cases too.

use soa_persist_core::chrono::{DateTime, Utc};
use soa_persist_core::column::Column;
use soa_persist_macros::{SoA, SoAEnum, SoAStore};

/// The model's partition column: an enum.
#[derive(SoAEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[soa(crate = "crate")]
pub enum ConfStatus {
    /// Not shipped yet.
    Pending,
    /// On its way.
    Shipped,
    /// Arrived.
    Delivered,
    /// Sent back.
    Returned,
}

/// The row every backend must store and query correctly.
#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
#[soa(crate = "crate")]
pub struct ConfOrder {
    /// The key.
    #[soa(key)]
    pub id: u64,
    /// Text with quotes, SQL comment markers and unicode.
    pub customer: String,
    /// A float, NaN for every 101st row.
    pub amount: f64,
    /// The partition column.
    #[soa(partition)]
    pub status: ConfStatus,
    /// An instant with microseconds.
    pub placed_at: DateTime<Utc>,
    /// Null for every third row.
    pub note: Option<String>,
    /// Null for every fifth row; negative values too.
    pub qty: Option<i32>,
}

const CUSTOMERS: [&str; 6] = ["ada", "bob's", "c;-- x", "dé", "\"quoted\"", "emoji😀"];

/// A deterministic row; `i % 101 == 0` has a NaN amount.
pub fn order(i: u64) -> ConfOrder {
    ConfOrder {
        id: i,
        customer: format!("{}{}", CUSTOMERS[(i % 6) as usize], i % 17),
        amount: if i.is_multiple_of(101) {
            f64::NAN
        } else {
            ((i * 37) % 1000) as f64 / 10.0
        },
        status: [
            ConfStatus::Pending,
            ConfStatus::Shipped,
            ConfStatus::Delivered,
            ConfStatus::Returned,
        ][(i % 4) as usize],
        placed_at: DateTime::from_timestamp_micros(1_700_000_000_000_000 + i as i64 * 1_000_001)
            .unwrap_or_default(),
        note: (!i.is_multiple_of(3)).then(|| format!("n{i}")),
        qty: (!i.is_multiple_of(5)).then_some((i % 11) as i32 - 3),
    }
}

/// The rows `order(i)` for `i` in `ids`.
pub fn orders(ids: std::ops::Range<u64>) -> ConfOrderSoA {
    ids.map(order).collect()
}

pub(crate) fn ids(rows: &ConfOrderSoA) -> Vec<u64> {
    let mut ids = rows.id.clone();
    ids.sort_unstable();
    ids
}

pub(crate) fn sorted(rows: ConfOrderSoA) -> ConfOrderSoA {
    let mut rows = rows;
    rows.sort_by_key(|r| *r.id);
    rows
}

/// Compares rows by value with NaN equal to NaN.
pub(crate) fn assert_same_rows(got: ConfOrderSoA, want: ConfOrderSoA, what: &str) {
    let (got, want) = (sorted(got), sorted(want));
    assert_eq!(got.len(), want.len(), "{what}: row count");
    assert_eq!(
        format!("{got:?}"),
        format!("{want:?}"),
        "{what}: rows differ"
    );
}
