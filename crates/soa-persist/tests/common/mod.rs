//! Test model shared by the round-trip, schema and error tests: one struct using every
//! supported field type, and proptest strategies that produce values exact in their units.
#![allow(dead_code)]

use proptest::prelude::*;
use soa_persist::prelude::*;
use soa_persist::rust_decimal::Decimal;
use soa_persist::uuid::Uuid;
use soa_persist::{Micros, Nanos};

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Pending,
    #[soa(rename = "shipped")]
    Shipped,
    Delivered,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Inner {
    pub city: String,
    pub zip: Option<u32>,
    pub codes: Vec<u8>,
}

#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
pub struct AllTypes {
    #[soa(key)]
    pub id: u64,
    pub flag: bool,
    pub small: i8,
    pub short: i16,
    pub int: i32,
    pub long: i64,
    pub byte: u8,
    pub ushort: u16,
    pub uint: u32,
    pub float: f32,
    pub double: f64,
    pub text: String,
    pub bytes: Vec<u8>,
    pub fixed: [u8; 4],
    pub opt_long: Option<i64>,
    pub opt_text: Option<String>,
    pub opt_double: Option<f64>,
    pub opt_bytes: Option<Vec<u8>>,
    pub opt_fixed: Option<[u8; 4]>,
    pub opt_flag: Option<bool>,
    pub at: DateTime<Utc>,
    #[soa(timestamp = "ns")]
    pub at_ns: DateTime<Utc>,
    #[soa(timestamp = "s", rename = "at_seconds")]
    pub at_s: NaiveDateTime,
    pub day: NaiveDate,
    pub opt_at: Option<DateTime<Utc>>,
    pub raw_us: Timestamp<Micros>,
    pub opt_raw_ns: Option<Timestamp<Nanos>>,
    #[soa(decimal(18, 4))]
    pub price: Decimal,
    pub opt_price: Option<Decimal>,
    pub uuid: Uuid,
    pub opt_uuid: Option<Uuid>,
    #[soa(partition)]
    pub status: Status,
    pub opt_status: Option<Status>,
    pub ints: Vec<i32>,
    pub words: Vec<String>,
    pub maybe_floats: Vec<Option<f64>>,
    pub opt_list: Option<Vec<u16>>,
    pub nested_list: Vec<Vec<i64>>,
    pub statuses: Vec<Status>,
    #[soa(nested)]
    pub inner: Inner,
}

pub fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Pending),
        Just(Status::Shipped),
        Just(Status::Delivered)
    ]
}

/// Microsecond instants within chrono's range.
pub fn instant_us() -> impl Strategy<Value = DateTime<Utc>> {
    (-8_000_000_000_000_000i64..8_000_000_000_000_000i64)
        .prop_map(|us| DateTime::from_timestamp_micros(us).unwrap_or_default())
}

pub fn instant_ns() -> impl Strategy<Value = DateTime<Utc>> {
    any::<i64>().prop_map(DateTime::from_timestamp_nanos)
}

/// Decimals at the column's scale (a decimal read back carries its column's scale).
pub fn decimal(max_mantissa: i64, scale: u32) -> impl Strategy<Value = Decimal> {
    (-max_mantissa..=max_mantissa).prop_map(move |m| Decimal::new(m, scale))
}

pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "\\PC{0,12}", "[a-z]{1,4}"]
}

prop_compose! {
    pub fn inner()(city in text(), zip in any::<Option<u32>>(), codes in prop::collection::vec(any::<u8>(), 0..4)) -> Inner {
        Inner { city, zip, codes }
    }
}

prop_compose! {
    fn ints()(id in any::<u64>(), flag in any::<bool>(), small in any::<i8>(), short in any::<i16>(),
              int in any::<i32>(), long in any::<i64>(), byte in any::<u8>())
        -> (u64, bool, i8, i16, i32, i64, u8) {
        (id, flag, small, short, int, long, byte)
    }
}

prop_compose! {
    fn scalars()(i in ints(), ushort in any::<u16>(), uint in any::<u32>(), float in any::<f32>(),
                 double in any::<f64>(), text in text(), bytes in prop::collection::vec(any::<u8>(), 0..6),
                 fixed in any::<[u8; 4]>())
        -> ((u64, bool, i8, i16, i32, i64, u8), (u16, u32, f32, f64, String, Vec<u8>, [u8; 4])) {
        (i, (ushort, uint, float, double, text, bytes, fixed))
    }
}

prop_compose! {
    fn optionals()(opt_long in any::<Option<i64>>(), opt_text in proptest::option::of(text()),
                   opt_double in any::<Option<f64>>(),
                   opt_bytes in proptest::option::of(prop::collection::vec(any::<u8>(), 0..5)),
                   opt_fixed in any::<Option<[u8; 4]>>(), opt_flag in any::<Option<bool>>())
        -> (Option<i64>, Option<String>, Option<f64>, Option<Vec<u8>>, Option<[u8; 4]>, Option<bool>) {
        (opt_long, opt_text, opt_double, opt_bytes, opt_fixed, opt_flag)
    }
}

prop_compose! {
    fn temporals()(at in instant_us(), at_ns in instant_ns(),
                   secs in -60_000_000_000i64..60_000_000_000i64,
                   days in -700_000i32..2_000_000i32, opt_at in proptest::option::of(instant_us()),
                   raw_us in any::<i64>(), opt_raw_ns in any::<Option<i64>>())
        -> (DateTime<Utc>, DateTime<Utc>, NaiveDateTime, NaiveDate, Option<DateTime<Utc>>, Timestamp<Micros>, Option<Timestamp<Nanos>>) {
        let at_s = DateTime::from_timestamp(secs, 0).unwrap_or_default().naive_utc();
        let day = NaiveDate::from_num_days_from_ce_opt(days + 719_163).unwrap_or_default();
        (at, at_ns, at_s, day, opt_at, Timestamp::new(raw_us), opt_raw_ns.map(Timestamp::new))
    }
}

prop_compose! {
    fn keyed()(price in decimal(99_999_999_999_999, 4), opt_price in proptest::option::of(decimal(i64::MAX, 10)),
               uuid in any::<u128>(), opt_uuid in any::<Option<u128>>(), status in status(),
               opt_status in proptest::option::of(status()), ints in prop::collection::vec(any::<i32>(), 0..4))
        -> (Decimal, Option<Decimal>, Uuid, Option<Uuid>, Status, Option<Status>, Vec<i32>) {
        (price, opt_price, Uuid::from_u128(uuid), opt_uuid.map(Uuid::from_u128), status, opt_status, ints)
    }
}

prop_compose! {
    fn lists()(words in prop::collection::vec(text(), 0..3),
               maybe_floats in prop::collection::vec(any::<Option<f64>>(), 0..3),
               opt_list in proptest::option::of(prop::collection::vec(any::<u16>(), 0..3)),
               nested_list in prop::collection::vec(prop::collection::vec(any::<i64>(), 0..3), 0..3),
               statuses in prop::collection::vec(status(), 0..3), inner in inner())
        -> (Vec<String>, Vec<Option<f64>>, Option<Vec<u16>>, Vec<Vec<i64>>, Vec<Status>, Inner) {
        (words, maybe_floats, opt_list, nested_list, statuses, inner)
    }
}

prop_compose! {
    pub fn all_types()(s in scalars(), o in optionals(), t in temporals(), k in keyed(), l in lists()) -> AllTypes {
        let ((id, flag, small, short, int, long, byte), (ushort, uint, float, double, text, bytes, fixed)) = s;
        let (opt_long, opt_text, opt_double, opt_bytes, opt_fixed, opt_flag) = o;
        let (at, at_ns, at_s, day, opt_at, raw_us, opt_raw_ns) = t;
        let (price, opt_price, uuid, opt_uuid, status, opt_status, ints) = k;
        let (words, maybe_floats, opt_list, nested_list, statuses, inner) = l;
        AllTypes { id, flag, small, short, int, long, byte, ushort, uint, float, double, text, bytes, fixed,
            opt_long, opt_text, opt_double, opt_bytes, opt_fixed, opt_flag, at, at_ns, at_s, day, opt_at,
            raw_us, opt_raw_ns, price, opt_price, uuid, opt_uuid, status, opt_status, ints, words,
            maybe_floats, opt_list, nested_list, statuses, inner }
    }
}

/// Bit-exact comparison that treats NaN like any other value (`{:?}` prints every float
/// distinctly enough: NaN, -0.0, subnormals).
pub fn same<T: std::fmt::Debug>(a: &T, b: &T) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

/// A row with extreme values everywhere.
pub fn extreme_row(id: u64) -> AllTypes {
    AllTypes {
        id,
        flag: true,
        small: i8::MIN,
        short: i16::MAX,
        int: i32::MIN,
        long: i64::MIN,
        byte: u8::MAX,
        ushort: u16::MAX,
        uint: u32::MAX,
        float: f32::from_bits(1), // smallest subnormal
        double: f64::NAN,
        text: "ünï😀\u{0}code".into(),
        bytes: vec![0, 255],
        fixed: [255; 4],
        opt_long: Some(i64::MAX),
        opt_text: Some(String::new()),
        opt_double: Some(f64::NEG_INFINITY),
        opt_bytes: Some(Vec::new()),
        opt_fixed: None,
        opt_flag: Some(false),
        at: DateTime::from_timestamp_micros(-1).unwrap_or_default(),
        at_ns: DateTime::from_timestamp_nanos(i64::MAX),
        at_s: DateTime::<Utc>::MIN_UTC.naive_utc(),
        day: NaiveDate::MAX,
        opt_at: None,
        raw_us: Timestamp::new(i64::MIN),
        opt_raw_ns: Some(Timestamp::new(i64::MAX)),
        price: Decimal::new(-99_999_999_999_999, 4),
        // 28 digits at scale 10: near rust_decimal's 96-bit limit, inside Decimal128(38, 10).
        opt_price: Some(Decimal::from_i128_with_scale(
            -7_922_816_251_426_433_759_354_395_033,
            10,
        )),
        uuid: Uuid::max(),
        opt_uuid: Some(Uuid::nil()),
        status: Status::Delivered,
        opt_status: None,
        ints: vec![i32::MIN, 0, i32::MAX],
        words: vec![String::new(), "x".into()],
        maybe_floats: vec![None, Some(-0.0), Some(f64::MIN_POSITIVE / 2.0)],
        opt_list: Some(Vec::new()),
        nested_list: vec![vec![], vec![i64::MIN]],
        statuses: vec![Status::Shipped],
        inner: Inner {
            city: "Zürich".into(),
            zip: None,
            codes: vec![],
        },
    }
}

/// Arrow-layout columns: a container that converts to Arrow only whole (O(1)).
#[derive(SoA, Clone, Debug, PartialEq)]
#[soa(arrow)]
pub struct Note {
    #[soa(key)]
    pub id: u64,
    pub text: String,
}

/// Notes `note {id}` for each id in `ids`.
pub fn note_rows(ids: std::ops::Range<u64>) -> NoteSoA {
    ids.map(|id| Note {
        id,
        text: format!("note {id}"),
    })
    .collect()
}

/// A decimal column, whose values the conversion range-checks (a bad row fails it).
#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Priced {
    #[soa(key)]
    pub id: u64,
    #[soa(decimal(5, 2))]
    pub price: Decimal,
}
