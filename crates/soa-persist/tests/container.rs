//! The generated container API (`OrderSoA`), generic structs, and the in-memory domain store
//! (`OrderStore`): every operation checked against the same operation on a `Vec<Order>`.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use proptest::prelude::*;
use soa_persist::StoreError;
use soa_persist::prelude::*;

#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
pub struct Order {
    #[soa(key)]
    order_id: u64,
    customer: String,
    amount: f64,
    #[soa(nested)]
    ship_to: Address,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Address {
    city: String,
    zip: Option<u32>,
}

fn order(i: u64) -> Order {
    Order {
        order_id: i,
        customer: format!("c{}", i % 7),
        amount: (i as f64) * 1.25 - 3.0,
        ship_to: Address {
            city: format!("city{}", i % 3),
            zip: i.is_multiple_of(2).then_some(i as u32),
        },
    }
}

fn orders(n: u64) -> Vec<Order> {
    (0..n).map(order).collect()
}

fn rows(soa: &OrderSoA) -> Vec<Order> {
    soa.iter().map(|r| r.to_row()).collect()
}

#[test]
fn columns_are_public_vecs_and_nested_columns_are_column_wise() {
    let soa: OrderSoA = orders(3).into_iter().collect();
    assert_eq!(soa.order_id, [0, 1, 2]);
    assert_eq!(soa.ship_to.city, ["city0", "city1", "city2"]);
    assert_eq!(soa.ship_to.zip, [Some(0), None, Some(2)]);
    let r = soa.get(1).unwrap();
    assert_eq!(
        (*r.order_id, r.customer.as_str(), r.ship_to.city.as_str()),
        (1, "c1", "city1")
    );
    assert_eq!(soa.row(2), Some(order(2)));
    assert!(soa.get(3).is_none() && soa.row(3).is_none());
}

#[test]
fn slices_cover_every_column() {
    let soa: OrderSoA = orders(10).into_iter().collect();
    let s = soa.slice(2..5).unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s.order_id, [2, 3, 4]);
    assert_eq!(s.ship_to.city, ["city2", "city0", "city1"]);
    assert!(soa.slice(8..11).is_none());
}

#[derive(Debug, Clone)]
enum Op {
    Push(u64),
    SwapRemove(usize),
    Remove(usize),
    Truncate(usize),
    Retain(u64),
    SortByAmountDesc,
    SortByCustomer,
    Append(u64),
    SplitOff(usize),
    Swap(usize, usize),
    Replace(usize, u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u64..1000).prop_map(Op::Push),
        (0usize..12).prop_map(Op::SwapRemove),
        (0usize..12).prop_map(Op::Remove),
        (0usize..12).prop_map(Op::Truncate),
        (1u64..4).prop_map(Op::Retain),
        Just(Op::SortByAmountDesc),
        Just(Op::SortByCustomer),
        (0u64..4).prop_map(Op::Append),
        (0usize..12).prop_map(Op::SplitOff),
        (0usize..12, 0usize..12).prop_map(|(a, b)| Op::Swap(a, b)),
        (0usize..12, 0u64..1000).prop_map(|(i, k)| Op::Replace(i, k)),
    ]
}

proptest! {
    /// Every container operation does to the columns what the same operation does to a Vec of rows.
    #[test]
    fn container_ops_match_vec_of_rows(start in 0u64..8, ops in prop::collection::vec(op(), 0..24)) {
        let mut model = orders(start);
        let mut soa: OrderSoA = model.iter().cloned().collect();
        for op in ops {
            match op {
                Op::Push(i) => { model.push(order(i)); soa.push(order(i)); }
                Op::SwapRemove(i) => {
                    let want = (i < model.len()).then(|| model.swap_remove(i));
                    prop_assert_eq!(soa.swap_remove(i), want);
                }
                Op::Remove(i) => {
                    let want = (i < model.len()).then(|| model.remove(i));
                    prop_assert_eq!(soa.remove(i), want);
                }
                Op::Truncate(n) => { model.truncate(n); soa.truncate(n); }
                Op::Retain(m) => { model.retain(|o| o.order_id % m == 0); soa.retain(|o| *o.order_id % m == 0); }
                Op::SortByAmountDesc => {
                    model.sort_by(|a, b| b.amount.total_cmp(&a.amount));
                    soa.sort_by(|a, b| b.amount.total_cmp(a.amount));
                }
                Op::SortByCustomer => {
                    model.sort_by_key(|o| o.customer.clone());
                    soa.sort_by_key(|o| o.customer.clone());
                }
                Op::Append(n) => {
                    let extra = orders(n);
                    model.extend(extra.iter().cloned());
                    let mut other: OrderSoA = extra.into_iter().collect();
                    soa.append(&mut other);
                    prop_assert!(other.is_empty());
                }
                Op::SplitOff(at) => {
                    let tail = model.split_off(at.min(model.len()));
                    prop_assert_eq!(rows(&soa.split_off(at)), tail);
                }
                Op::Swap(a, b) => {
                    if a < model.len() && b < model.len() { model.swap(a, b); }
                    soa.swap(a, b);
                }
                Op::Replace(i, k) => {
                    let want = if i < model.len() { Ok(std::mem::replace(&mut model[i], order(k))) } else { Err(order(k)) };
                    prop_assert_eq!(soa.replace(i, order(k)), want);
                }
            }
            prop_assert!(soa.is_consistent());
            prop_assert_eq!(rows(&soa), model.clone());
        }
        let back: Vec<Order> = soa.into_iter().collect();
        prop_assert_eq!(back, model);
    }

    /// The keyed store behaves like a map from key to row.
    #[test]
    fn store_matches_a_map(keys in prop::collection::vec(0u64..40, 0..60)) {
        let mut store = OrderStore::new();
        let mut model = std::collections::BTreeMap::new();
        for (step, k) in keys.into_iter().enumerate() {
            match step % 4 {
                0 | 1 => {
                    let added = store.add(order(k));
                    prop_assert_eq!(added.is_ok(), !model.contains_key(&k));
                    model.entry(k).or_insert_with(|| order(k));
                }
                2 => prop_assert_eq!(store.remove(&k), model.remove(&k)),
                _ => {
                    let mut row = order(k);
                    row.amount = step as f64;
                    prop_assert_eq!(store.upsert(row.clone()), model.insert(k, row));
                }
            }
            prop_assert_eq!(store.len(), model.len());
            for (k, row) in &model {
                let got = store.get_cloned(k);
                prop_assert_eq!(got.as_ref(), Some(row));
            }
        }
    }
}

#[test]
fn sort_applies_one_permutation_to_every_column() {
    let mut soa: OrderSoA = orders(50).into_iter().collect();
    soa.sort_unstable_by(|a, b| b.order_id.cmp(a.order_id));
    assert_eq!(soa.order_id.first(), Some(&49));
    for r in soa.iter() {
        assert_eq!(r.to_row(), order(*r.order_id));
    }
}

#[test]
fn store_rejects_duplicates_and_leaves_itself_unchanged() {
    let mut store = OrderStore::new();
    store.add_many(orders(5)).unwrap();
    let e = store.add(order(3)).unwrap_err();
    assert!(
        matches!(&e, StoreError::DuplicateKey { field: "order_id", key } if key == "3"),
        "{e}"
    );
    // all-or-nothing: one clash (or a key repeated inside the batch) adds nothing
    assert!(store.add_many([order(10), order(2)]).is_err());
    assert!(store.add_many([order(11), order(11)]).is_err());
    assert_eq!(store.len(), 5);
    assert!(!store.contains_key(&10) && !store.contains_key(&11));
}

#[test]
fn store_api() {
    let mut store = OrderStore::with_capacity(8);
    store.add_many(orders(6)).unwrap();
    assert_eq!(store.get(&4).map(|r| *r.amount), Some(2.0));
    assert_eq!(store.remove(&0), Some(order(0)));
    assert_eq!(
        store.get(&5).map(|r| *r.order_id),
        Some(5),
        "index follows the moved row"
    );
    let mut changed = order(5);
    changed.customer = "new".into();
    assert_eq!(store.update(changed.clone()).unwrap(), order(5));
    assert_eq!(store.get_cloned(&5), Some(changed));
    assert!(matches!(
        store.update(order(99)),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.filter(|r| *r.amount > 0.0).count(), 3);
    assert_eq!(
        store.find(|r| r.customer == "c2").map(|r| *r.order_id),
        Some(2)
    );
    store.retain(|r| *r.order_id % 2 == 1);
    let mut keys: Vec<u64> = store.iter().map(|r| *r.order_id).collect();
    keys.sort();
    assert_eq!(keys, [1, 3, 5]);
    assert_eq!(
        store.get(&3).map(|r| *r.order_id),
        Some(3),
        "index rebuilt after retain"
    );
    assert_eq!(store.as_soa().len(), 3);
    let dup: OrderSoA = [order(1), order(1)].into_iter().collect();
    assert!(OrderStore::from_soa(dup).is_err());
}

#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
pub struct Tick<P: SoAField> {
    #[soa(key)]
    seq: u64,
    price: P,
}

/// `Option<P>` needs `P: BaseField` (a non-null type), since `Option<Option<_>>` is not a field type.
#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Quote<P: soa_persist::BaseField> {
    bid: P,
    ask: Option<P>,
}

#[test]
fn generic_structs_work_and_have_a_schema_per_instantiation() {
    let mut a: TickSoA<f32> = TickSoA::new();
    a.push(Tick {
        seq: 1,
        price: 1.5f32,
    });
    let b: TickSoA<i64> = [Tick {
        seq: 2,
        price: 7i64,
    }]
    .into_iter()
    .collect();
    assert_eq!(
        Tick::<f32>::arrow_field_types()[1],
        soa_persist::arrow::datatypes::DataType::Float32
    );
    assert_eq!(
        Tick::<i64>::arrow_field_types()[1],
        soa_persist::arrow::datatypes::DataType::Int64
    );
    assert_ne!(
        Tick::<f32>::schema_fingerprint(),
        Tick::<i64>::schema_fingerprint()
    );
    assert_eq!(
        TickSoA::<f32>::from_record_batch(&a.to_record_batch().unwrap()).unwrap(),
        a
    );
    assert_eq!(
        TickSoA::<i64>::from_owned_record_batch(b.clone().into_record_batch().unwrap()).unwrap(),
        b
    );
    let mut store: TickStore<i64> = TickStore::new();
    store.add(Tick { seq: 9, price: 1 }).unwrap();
    assert!(store.contains_key(&9));
    let q: QuoteSoA<u16> = [
        Quote {
            bid: 1u16,
            ask: None,
        },
        Quote {
            bid: 2,
            ask: Some(3),
        },
    ]
    .into_iter()
    .collect();
    assert_eq!(
        QuoteSoA::<u16>::from_record_batch(&q.to_record_batch().unwrap()).unwrap(),
        q
    );
}

#[test]
fn typed_field_handles_know_their_paths() {
    let f = Order::fields();
    assert_eq!(f.amount.name(), "amount");
    assert_eq!(f.ship_to.city.path(), ["ship_to", "city"]);
    assert_eq!(f.ship_to.zip.name(), "ship_to.zip");
}
