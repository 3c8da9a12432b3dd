//! The rows the ClickHouse tests store: `Row` uses every field type the derive supports that
//! ClickHouse can hold (all but nullable lists), `Modern` the ones an 18.16 server lacks a
//! type for (Bool, Date32, DateTime64, LowCardinality, named tuples). Rows come from a seed,
//! with nulls, empty strings and lists, unicode and extremes mixed in.
#![allow(dead_code)]

use soa_persist::prelude::*;
use soa_persist::rust_decimal::Decimal;
use soa_persist::uuid::Uuid;
use soa_persist::{Micros, Nanos};

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Red,
    #[soa(rename = "it's \"green\"")]
    Green,
    Blue,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Place {
    pub city: String,
    pub zip: Option<u32>,
    pub codes: Vec<u8>,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Row {
    pub id: u64,
    pub flag: bool,
    pub opt_flag: Option<bool>,
    pub small: i8,
    pub short: i16,
    pub int: i32,
    pub long: i64,
    pub byte: u8,
    pub ushort: u16,
    pub uint: u32,
    pub ulong: u64,
    pub float: f32,
    pub double: f64,
    pub opt_double: Option<f64>,
    pub text: String,
    pub opt_text: Option<String>,
    pub bytes: Vec<u8>,
    pub opt_bytes: Option<Vec<u8>>,
    pub fixed: [u8; 3],
    pub opt_fixed: Option<[u8; 3]>,
    pub uuid: Uuid,
    pub opt_uuid: Option<Uuid>,
    #[soa(decimal(18, 4))]
    pub price: Decimal,
    pub opt_price: Option<Decimal>,
    #[soa(decimal(9, 2))]
    pub cents: Decimal,
    pub day: NaiveDate,
    pub opt_day: Option<NaiveDate>,
    pub at: DateTime<Utc>,
    #[soa(timestamp = "ns")]
    pub at_ns: DateTime<Utc>,
    #[soa(timestamp = "ms")]
    pub at_ms: DateTime<Utc>,
    #[soa(timestamp = "s")]
    pub at_s: NaiveDateTime,
    pub opt_at: Option<DateTime<Utc>>,
    pub raw_us: Timestamp<Micros>,
    pub opt_raw_ns: Option<Timestamp<Nanos>>,
    pub color: Color,
    pub opt_color: Option<Color>,
    pub ints: Vec<i32>,
    pub words: Vec<String>,
    pub maybe: Vec<Option<f64>>,
    pub nested: Vec<Vec<i64>>,
    pub colors: Vec<Color>,
    pub uuids: Vec<Uuid>,
    #[soa(nested)]
    pub place: Place,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Modern {
    pub id: u64,
    pub flag: bool,
    pub opt_flag: Option<bool>,
    pub day: NaiveDate,
    pub at: DateTime<Utc>,
    #[soa(timestamp = "ns")]
    pub at_ns: DateTime<Utc>,
    #[soa(timestamp = "ms")]
    pub at_ms: DateTime<Utc>,
    #[soa(timestamp = "s")]
    pub at_s: NaiveDateTime,
    pub opt_at: Option<DateTime<Utc>>,
    pub label: String,
    pub opt_label: Option<String>,
    pub color: Color,
    #[soa(nested)]
    pub place: Place,
}

/// A small deterministic generator (splitmix64).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }
    pub fn text(&mut self) -> String {
        self.pick(&[
            "",
            "a",
            "Zürich",
            "emoji 😀",
            "quote ' and \\",
            "nul \0 inside",
            "tab\tnew\nline",
            "€uro",
        ])
        .to_string()
    }
    pub fn bytes(&mut self) -> Vec<u8> {
        (0..self.below(5)).map(|_| self.next() as u8).collect()
    }
    pub fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.chance(3) { None } else { Some(f(self)) }
    }
    pub fn color(&mut self) -> Color {
        self.pick(&[Color::Red, Color::Green, Color::Blue])
    }
}

/// A day within chrono's range (`Date32` on a server holds any i32, chdb shows 1900..2299).
pub fn day(days: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(days + 719_163).unwrap_or_default()
}

pub fn micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

fn place(r: &mut Rng) -> Place {
    Place {
        city: r.text(),
        zip: r.opt(|r| r.next() as u32),
        codes: r.bytes(),
    }
}

/// Row `id` from `seed`: rows 0 and 1 hold the extremes, the others random values.
pub fn row(id: u64, seed: u64) -> Row {
    let mut r = Rng(seed ^ id.wrapping_mul(0x2545_F491_4F6C_DD1D));
    if id < 2 {
        return extreme(id, id == 0);
    }
    let n = r.next();
    Row {
        id,
        flag: r.chance(2),
        opt_flag: r.opt(|r| r.chance(2)),
        small: n as i8,
        short: (n >> 8) as i16,
        int: (n >> 16) as i32,
        long: r.next() as i64,
        byte: (n >> 3) as u8,
        ushort: (n >> 7) as u16,
        uint: (n >> 11) as u32,
        ulong: r.next(),
        float: f32::from_bits(r.next() as u32),
        double: f64::from_bits(r.next()),
        opt_double: r.opt(|r| r.pick(&[f64::NAN, -0.0, f64::INFINITY, 1.5])),
        text: r.text(),
        opt_text: r.opt(Rng::text),
        bytes: r.bytes(),
        opt_bytes: r.opt(Rng::bytes),
        fixed: [n as u8, (n >> 8) as u8, (n >> 16) as u8],
        opt_fixed: r.opt(|r| [r.next() as u8; 3]),
        uuid: Uuid::from_u128(u128::from(r.next()) << 64 | u128::from(r.next())),
        opt_uuid: r.opt(|r| Uuid::from_u128(u128::from(r.next()))),
        price: Decimal::new(
            (r.next() % 1_000_000_000_000_000_000) as i64 - 500_000_000_000_000_000,
            4,
        ),
        opt_price: r.opt(|r| Decimal::new(r.next() as i64, 10)),
        cents: Decimal::new((r.below(1_999_999_999) as i64) - 999_999_999, 2),
        day: day(r.below(200_000) as i32 - 100_000),
        opt_day: r.opt(|r| day(r.below(100_000) as i32)),
        at: micros((r.next() >> 8) as i64 - (1 << 54)),
        at_ns: DateTime::from_timestamp_nanos(r.next() as i64),
        at_ms: DateTime::from_timestamp_millis((r.next() >> 24) as i64).unwrap_or_default(),
        at_s: DateTime::from_timestamp((r.next() >> 30) as i64 - (1 << 33), 0)
            .unwrap_or_default()
            .naive_utc(),
        opt_at: r.opt(|r| micros((r.next() >> 12) as i64)),
        raw_us: Timestamp::new(r.next() as i64),
        opt_raw_ns: r.opt(|r| Timestamp::new(r.next() as i64)),
        color: r.color(),
        opt_color: r.opt(Rng::color),
        ints: (0..r.below(4)).map(|_| r.next() as i32).collect(),
        words: (0..r.below(3)).map(|_| r.text()).collect(),
        maybe: (0..r.below(3))
            .map(|_| r.opt(|r| r.next() as f64))
            .collect(),
        nested: (0..r.below(3))
            .map(|_| (0..r.below(3)).map(|_| r.next() as i64).collect())
            .collect(),
        colors: (0..r.below(3)).map(|_| r.color()).collect(),
        uuids: (0..r.below(2))
            .map(|_| Uuid::from_u128(u128::from(r.next())))
            .collect(),
        place: place(&mut r),
    }
}

fn pick<T>(low: bool, a: T, b: T) -> T {
    if low { a } else { b }
}

/// The smallest (`low`) or largest values of every field, nulls and empty lists.
fn extreme(id: u64, low: bool) -> Row {
    Row {
        id,
        flag: !low,
        opt_flag: None,
        small: pick(low, i8::MIN, i8::MAX),
        short: pick(low, i16::MIN, i16::MAX),
        int: pick(low, i32::MIN, i32::MAX),
        long: pick(low, i64::MIN, i64::MAX),
        byte: pick(low, 0, u8::MAX),
        ushort: pick(low, 0, u16::MAX),
        uint: pick(low, 0, u32::MAX),
        ulong: pick(low, 0, u64::MAX),
        float: pick(low, f32::MIN, f32::from_bits(1)),
        double: pick(low, f64::NEG_INFINITY, f64::NAN),
        opt_double: None,
        text: String::new(),
        opt_text: pick(low, None, Some(String::new())),
        bytes: Vec::new(),
        opt_bytes: pick(low, None, Some(Vec::new())),
        fixed: pick(low, [0; 3], [255; 3]),
        opt_fixed: None,
        uuid: pick(low, Uuid::nil(), Uuid::max()),
        opt_uuid: None,
        price: Decimal::new(
            pick(low, -999_999_999_999_999_999, 999_999_999_999_999_999),
            4,
        ),
        // 28 digits at scale 10, near rust_decimal's limit, inside Decimal(38, 10).
        opt_price: Some(Decimal::from_i128_with_scale(
            pick(low, -1, 1) * 7_922_816_251_426_433_759_354_395_033,
            10,
        )),
        cents: Decimal::new(pick(low, -999_999_999, 999_999_999), 2),
        day: pick(low, NaiveDate::MIN, NaiveDate::MAX),
        opt_day: None,
        at: micros(pick(low, -8_000_000_000_000_000, 8_000_000_000_000_000)),
        at_ns: DateTime::from_timestamp_nanos(pick(low, i64::MIN, i64::MAX)),
        at_ms: DateTime::from_timestamp_millis(pick(
            low,
            -8_000_000_000_000_000,
            8_000_000_000_000_000,
        ))
        .unwrap_or_default(),
        at_s: DateTime::from_timestamp(pick(low, -8_000_000_000_000, 8_000_000_000_000), 0)
            .unwrap_or_default()
            .naive_utc(),
        opt_at: None,
        raw_us: Timestamp::new(pick(low, i64::MIN, i64::MAX)),
        opt_raw_ns: Some(Timestamp::new(pick(low, i64::MIN, i64::MAX))),
        color: pick(low, Color::Red, Color::Blue),
        opt_color: None,
        ints: pick(low, Vec::new(), vec![i32::MIN, 0, i32::MAX]),
        words: pick(low, Vec::new(), vec![String::new(), "x".into()]),
        maybe: pick(low, Vec::new(), vec![None, Some(-0.0)]),
        nested: pick(low, Vec::new(), vec![vec![], vec![i64::MIN]]),
        colors: pick(low, Vec::new(), vec![Color::Green]),
        uuids: Vec::new(),
        place: Place {
            city: String::new(),
            zip: pick(low, None, Some(u32::MAX)),
            codes: Vec::new(),
        },
    }
}

/// Rows `0..n` of `seed`.
pub fn rows(n: u64, seed: u64) -> RowSoA {
    (0..n).map(|i| row(i, seed)).collect()
}

/// Bit-exact comparison through `Debug` (NaN equals NaN, -0.0 differs from 0.0).
pub fn same<T: std::fmt::Debug>(a: &T, b: &T) -> bool {
    format!("{a:?}") == format!("{b:?}")
}
