use soa_persist::prelude::*;

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status { Pending, Shipped }

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Address { city: String, zip: Option<u32> }

#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
pub struct Order {
    #[soa(key)] order_id: u64,
    customer: String,
    amount: f64,
    #[soa(partition)] status: Status,
    placed_at: DateTime<Utc>,
    note: Option<String>,
    #[soa(nested)] ship_to: Address,
    tags: Vec<String>,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Tick<P: SoAField> { price: P, ts: i64 }

#[test]
fn smoke() {
    let mut s = OrderSoA::new();
    s.push(Order { order_id: 1, customer: "a".into(), amount: 1.0, status: Status::Shipped, placed_at: DateTime::from_timestamp_micros(5).unwrap(), note: None, ship_to: Address { city: "x".into(), zip: Some(3) }, tags: vec!["t".into()] });
    let b = s.to_record_batch().unwrap();
    println!("{:?}", b.schema());
    assert_eq!(OrderSoA::from_record_batch(&b).unwrap(), s);
    let mut t = TickSoA::<f32>::new();
    t.push(Tick { price: 1.5, ts: 3 });
    assert_eq!(TickSoA::<f32>::from_owned_record_batch(t.clone().into_record_batch().unwrap()).unwrap(), t);
}
