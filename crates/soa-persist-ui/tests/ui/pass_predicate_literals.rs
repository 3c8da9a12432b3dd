// Plain integer and float literals on integer and float columns, compared exactly.
use soa_persist::prelude::*;

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Probe,
    Manual,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Reading {
    id: u64,
    qty: u8,
    amount: f64,
    customer: String,
    kind: Kind,
    note: Option<i16>,
}

fn reading(id: u64, qty: u8, amount: f64, customer: &str, kind: Kind, note: Option<i16>) -> Reading {
    let customer = customer.to_string();
    Reading { id, qty, amount, customer, kind, note }
}

fn ids(p: &Predicate<Reading>, batch: &soa_persist::arrow::array::RecordBatch) -> Vec<u64> {
    let rows = ReadingSoA::from_record_batch(&p.filter(batch).unwrap()).unwrap();
    rows.id
}

fn main() {
    let rows: ReadingSoA = [
        reading(1, 3, 0.5, "ada", Kind::Probe, Some(-5)),
        reading(2, 255, 1.0, "bob", Kind::Manual, None),
        reading(1000, 3, 1.5, "ada", Kind::Probe, Some(7)),
        reading(1999, 0, 2.0, "cy", Kind::Manual, Some(300)),
        reading(5_000_000_000, 7, -1.0, "dé", Kind::Probe, None),
    ]
    .into_iter()
    .collect();
    let batch = rows.to_record_batch().unwrap();
    let f = Reading::fields;
    let all = vec![1, 2, 1000, 1999, 5_000_000_000];

    assert_eq!(ids(&f().id.ge(0), &batch), all);
    assert_eq!(ids(&f().id.between(1000, 1999), &batch), [1000, 1999]);
    assert_eq!(ids(&f().qty.eq(3), &batch), [1, 1000]);
    assert_eq!(ids(&f().amount.gt(1), &batch), [1000, 1999]);
    assert_eq!(ids(&f().id.is_in([1, 2, 3]), &batch), [1, 2]);
    // Suffixed, typed and converted values as before.
    assert_eq!(ids(&f().id.ge(5_000_000_000u64), &batch), [5_000_000_000]);
    assert_eq!(ids(&f().id.ge(5_000_000_000i64), &batch), [5_000_000_000]);
    let some_id: u64 = 1999;
    assert_eq!(ids(&f().id.eq(some_id), &batch), [1999]);
    assert_eq!(ids(&f().id.lt(2u32), &batch), [1]);
    assert_eq!(ids(&f().amount.le(0.5), &batch), [1, 5_000_000_000]);
    assert_eq!(ids(&f().customer.eq("ada"), &batch), [1, 1000]);
    assert_eq!(ids(&f().kind.eq(Kind::Manual), &batch), [2, 1999]);
    assert_eq!(ids(&f().note.gt(0), &batch), [1000, 1999]);
    // Out of range: exact, never wrapped; null rows stay unknown, also under `not`.
    assert_eq!(ids(&f().id.ge(-1), &batch), all);
    assert_eq!(ids(&f().id.eq(-1), &batch), Vec::<u64>::new());
    assert_eq!(ids(&f().id.ne(-1), &batch), all);
    assert_eq!(ids(&f().qty.lt(300), &batch), all);
    assert_eq!(ids(&f().qty.between(-10, 1000), &batch), all);
    assert_eq!(ids(&f().qty.is_in([256, -1]), &batch), Vec::<u64>::new());
    assert_eq!(ids(&f().note.lt(40_000), &batch), [1, 1000, 1999]);
    assert_eq!(ids(&f().note.lt(40_000).not(), &batch), Vec::<u64>::new());
    assert_eq!(ids(&f().note.ne(-40_000), &batch), [1, 1000, 1999]);
    timestamps_and_decimals();
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Sale {
    id: u64,
    at: DateTime<Utc>,
    #[soa(decimal(10, 2))]
    price: soa_persist::rust_decimal::Decimal,
}

fn timestamps_and_decimals() {
    use soa_persist::rust_decimal::Decimal;
    let at = |s: i64| DateTime::<Utc>::from_timestamp(s, 0).unwrap();
    let sales: SaleSoA = [
        Sale { id: 1, at: at(100), price: Decimal::new(250, 2) },
        Sale { id: 2, at: at(200), price: Decimal::new(300, 2) },
    ]
    .into_iter()
    .collect();
    let batch = sales.to_record_batch().unwrap();
    let count = |p: Predicate<Sale>| p.count(&batch).unwrap();
    assert_eq!(count(Sale::fields().at.ge(at(150))), 1);
    assert_eq!(count(Sale::fields().at.between(at(100), at(200))), 2);
    assert_eq!(count(Sale::fields().price.eq(3)), 1);
    assert_eq!(count(Sale::fields().price.gt(Decimal::new(25, 1))), 1);
    assert_eq!(count(Sale::fields().id.is_in([2u64])), 1);
}
