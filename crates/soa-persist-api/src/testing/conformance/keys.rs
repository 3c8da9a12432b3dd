//! The key contract, the same on every backend: a flush refuses every row whose key is stored
//! (all of them named in one `DuplicateKeys`, nothing written, the rows set aside, the next
//! flush writes the rest); `get` finds the one row; `upsert` replaces and inserts by key (the
//! last of equal keys wins); `update` changes one row; `delete_keys` deletes exactly those.

use soa_persist_core::query::Predicate;

use super::super::model::{ConfOrder, assert_same_rows, ids, order, orders};
use crate::{FlushPolicy, PersistError, PersistentStore, SoAPersistence};

/// How many rows `p` holds.
async fn stored<P: SoAPersistence<ConfOrder>>(p: &P) -> u64 {
    p.count(&Predicate::all()).await.expect("count")
}

/// A flush with stored keys writes nothing, names them all, sets them aside; the next writes
/// the rest, and `get` still finds the first row of each key.
pub async fn flush_refuses_stored_keys<P: SoAPersistence<ConfOrder>>(p: P) {
    let mut store = PersistentStore::with_persistence(p).with_flush_policy(FlushPolicy::Manual);
    store.add_many((0..10).map(order)).await.expect("add");
    store.flush().await.expect("first flush");
    let mut changed: Vec<ConfOrder> = (5..15).map(order).collect();
    for row in &mut changed {
        row.amount = 1_000.0 + row.id as f64;
    }
    store
        .add_many(changed)
        .await
        .expect("buffered: keys are new to the buffer");
    match store.flush().await {
        Err(PersistError::DuplicateKeys { field, keys, .. }) => {
            assert_eq!(field, "id");
            let mut keys = keys;
            keys.sort();
            assert_eq!(keys, ["5", "6", "7", "8", "9"], "every stored key, once");
        }
        other => panic!("a flush with stored keys must be DuplicateKeys, got {other:?}"),
    }
    assert_eq!(stored(store.backend()).await, 10);
    assert_eq!(
        ids(store.rejected()),
        (5..10).collect::<Vec<_>>(),
        "rejected rows"
    );
    assert_eq!(store.buffered(), 5, "the new keys stay buffered");
    store.flush().await.expect("the next flush writes the rest");
    assert_eq!(stored(store.backend()).await, 15);
    let seven = store.get(&7).await.expect("get").expect("stored");
    assert_eq!(seven, order(7), "the stored row, not the refused one");
    let twelve = store.get(&12).await.expect("get").expect("stored");
    assert_eq!(twelve.amount, 1_012.0);
    assert_eq!(store.take_rejected().len(), 5);
    assert!(store.rejected().is_empty());
}

/// `contains_keys` flags exactly the stored keys, in order.
pub async fn contains_keys_flags_stored<P: SoAPersistence<ConfOrder>>(p: &P) {
    assert_eq!(
        p.contains_keys(&[1, 2]).await.expect("empty"),
        [false, false]
    );
    p.append(orders(0..3000)).await.expect("append");
    let probe: Vec<u64> = (2990..3010).chain([0, 1500]).collect();
    let want: Vec<bool> = probe.iter().map(|k| *k < 3000).collect();
    assert_eq!(p.contains_keys(&probe).await.expect("contains"), want);
}

/// `upsert` replaces stored and buffered rows by key and inserts new ones; the last of equal
/// keys wins; a retry changes nothing more.
pub async fn upsert_replaces_by_key<P: SoAPersistence<ConfOrder>>(p: P) {
    let mut store = PersistentStore::with_persistence(p).with_flush_policy(FlushPolicy::Manual);
    store.add_many((0..10).map(order)).await.expect("add");
    store.flush().await.expect("flush");
    store.add(order(10)).await.expect("buffered");
    let changed = |id: u64, amount: f64| ConfOrder {
        amount,
        ..order(id)
    };
    let rows = [
        changed(3, 1.0),
        changed(10, 2.0),
        changed(20, 3.0),
        changed(3, 4.0),
    ];
    store.upsert(rows.clone()).await.expect("upsert");
    store.upsert(rows).await.expect("a retry");
    let mut want = orders(0..10);
    want.retain(|r| *r.id != 3);
    want.push(changed(3, 4.0));
    want.push(changed(10, 2.0));
    want.push(changed(20, 3.0));
    let got = store.backend().load().await.expect("load").expect("stored");
    assert_same_rows(got, want, "after upsert");
    assert_eq!(
        store.buffered(),
        0,
        "the buffered row was replaced, not flushed"
    );
}

/// `update` changes one row; a missing key is `NotFound`; changing the key is refused.
pub async fn update_changes_one_row<P: SoAPersistence<ConfOrder>>(p: P) {
    let mut store = PersistentStore::with_persistence(p).with_flush_policy(FlushPolicy::Manual);
    store.add_many((0..10).map(order)).await.expect("add");
    store.flush().await.expect("flush");
    store
        .update(&4, |r| r.amount = 999.0)
        .await
        .expect("update");
    assert_eq!(
        store.get(&4).await.expect("get").expect("row").amount,
        999.0
    );
    assert_eq!(stored(store.backend()).await, 10);
    let missing = store.update(&99, |r| r.amount = 1.0).await;
    assert!(
        matches!(missing, Err(PersistError::Store(_))),
        "NotFound, got {missing:?}"
    );
    let rekey = store.update(&5, |r| r.id = 6).await;
    assert!(
        matches!(rekey, Err(PersistError::InvalidInput { .. })),
        "a changed key is refused, got {rekey:?}"
    );
    assert_eq!(store.get(&5).await.expect("get"), Some(order(5)));
    assert_eq!(store.get(&6).await.expect("get"), Some(order(6)));
}

/// `delete_keys` deletes exactly those keys, stored and buffered.
pub async fn delete_keys_deletes_exactly<P: SoAPersistence<ConfOrder>>(p: P) {
    let mut store = PersistentStore::with_persistence(p).with_flush_policy(FlushPolicy::Manual);
    store.add_many((0..2000).map(order)).await.expect("add");
    store.flush().await.expect("flush");
    store.add(order(2000)).await.expect("buffered");
    let doomed: Vec<u64> = (0..2001).filter(|i| i % 3 == 0).chain([5000]).collect();
    let deleted = store.delete_keys(&doomed).await.expect("delete_keys");
    assert_eq!(deleted, 667, "stored and buffered rows with those keys");
    let all = store.load_store().await.expect("load");
    assert_eq!(all.len(), 2001 - 667);
    assert!(all.get(&3).is_none() && all.get(&4).is_some());
}

/// `append` of batches with a key that is stored, or repeated in them, is refused whole, for
/// backends that check keys on every append (memory's index, DuckDB's primary key).
pub async fn append_refuses_stored_keys<P: SoAPersistence<ConfOrder>>(p: &P) {
    p.append(orders(0..10)).await.expect("append");
    let refused = p.append(orders(8..12)).await;
    assert!(
        matches!(
            refused,
            Err(PersistError::DuplicateKeys { .. } | PersistError::Constraint { .. })
        ),
        "a stored key, got {refused:?}"
    );
    let mut twice = orders(20..22);
    twice.push(order(20));
    let refused = p.append(twice).await;
    assert!(refused.is_err(), "a key twice in one append");
    assert_eq!(stored(p).await, 10, "nothing written");
}

/// Two stores over one backend flush the same new key at once: on a backend whose append
/// refuses stored keys, exactly one stores it and the other gets `DuplicateKeys` with the row
/// set aside.
pub async fn concurrent_adds_of_one_key<P>(p: P)
where
    P: SoAPersistence<ConfOrder> + Clone + 'static,
{
    let store = |p: P| PersistentStore::with_persistence(p).with_flush_policy(FlushPolicy::Manual);
    let (mut a, mut b) = (store(p.clone()), store(p.clone()));
    a.add(order(1)).await.expect("buffered");
    b.add(ConfOrder {
        amount: 2.0,
        ..order(1)
    })
    .await
    .expect("buffered");
    let (ra, rb) = futures::join!(a.flush(), b.flush());
    let refused = [&ra, &rb]
        .iter()
        .filter(|r| matches!(r, Err(PersistError::DuplicateKeys { .. })))
        .count();
    assert!(
        ra.is_ok() != rb.is_ok() && refused == 1,
        "one flush stores the key, the other is refused: {ra:?} / {rb:?}"
    );
    assert_eq!(stored(&p).await, 1);
    assert_eq!(
        a.rejected().len() + b.rejected().len(),
        1,
        "the loser's row set aside"
    );
}
