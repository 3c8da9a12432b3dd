//! Values that would break SQL written by string formatting (quotes, comment markers,
//! backslashes, `%` and `_`, control characters, unicode) stored and found again as data: a
//! check for the SQL backends, each calling it with the strings its engine can hold.

use soa_persist_core::query::Predicate;
use soa_persist_core::soa::SoA;

use super::super::model::{ConfOrder, order};
use crate::SoAPersistence;

/// Saves one row per string of `hostile` (as `customer`, and with `\'` appended as `note`),
/// then finds each by `eq`, `starts_with` and `contains`, and deletes the first by `eq`.
pub async fn hostile_values<P: SoAPersistence<ConfOrder>>(p: &P, hostile: &[&str]) {
    let mut rows: Vec<ConfOrder> = (0..hostile.len() as u64).map(order).collect();
    for (row, text) in rows.iter_mut().zip(hostile) {
        row.customer = text.to_string();
        row.note = Some(format!("{text}\\'"));
    }
    p.save(rows.iter().cloned().collect()).await.expect("save");
    let f = <ConfOrder as SoA>::fields;
    for row in &rows {
        let got = p
            .query(&f().customer.eq(row.customer.as_str()))
            .await
            .expect("query");
        assert_eq!(got.id, vec![row.id], "customer = {:?}", row.customer);
        let note = row.note.clone().unwrap_or_default();
        let got = p.query(&f().note.eq(note.as_str())).await.expect("query");
        assert_eq!(got.note, vec![Some(note.clone())], "note = {note:?}");
        let n = p
            .count(&f().customer.starts_with(row.customer.as_str()))
            .await
            .expect("count");
        assert_eq!(n, 1, "starts_with {:?}", row.customer);
        let n = p
            .count(&f().note.contains(note.as_str()))
            .await
            .expect("count");
        assert_eq!(n, 1, "contains {note:?}");
    }
    let back = p.load().await.expect("load").unwrap_or_default();
    let mut customers = back.customer.clone();
    customers.sort();
    let mut want: Vec<String> = hostile.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(customers, want);
    let first = hostile.first().copied().unwrap_or_default();
    assert_eq!(p.delete(&f().customer.eq(first)).await.expect("delete"), 1);
    assert_eq!(
        p.count(&Predicate::all()).await.expect("count"),
        hostile.len() as u64 - 1
    );
}
