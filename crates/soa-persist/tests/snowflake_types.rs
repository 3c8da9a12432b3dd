//! Every scalar field type through Snowflake and back, on the `fakesnow` emulator: a property
//! test over random rows through both write paths (`INSERT` with array bindings, and Parquet
//! staged then `COPY INTO`), and rows of extremes (integer bounds, NaN, infinities, `-0.0`,
//! subnormals, empty and unicode text, years 1 and 9999) through the stage.
//!
//! The emulator's limits bound the generated values, not the backend: it stores timestamps
//! in microseconds (so nanosecond fields get whole microseconds), and it turns a bound
//! timestamp into a float of microseconds (exact only within about 1685-2255, so the
//! `INSERT` path's instants stay there). Snowflake parses the bound nanosecond count exactly.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod snowflake;
mod tools;

use proptest::prelude::*;
use snowflake::Emulator;
use soa_persist::backends::snowflake::SnowflakePersistence;
use soa_persist::prelude::*;
use soa_persist::rust_decimal::Decimal;
use soa_persist::uuid::Uuid;
use soa_persist::{Micros, Timestamp};

#[derive(SoAEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    Low,
    #[soa(rename = "HIGH")]
    High,
}

#[derive(SoA, SoAStore, Clone, Debug, PartialEq)]
pub struct Scalars {
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
    pub opt_flag: Option<bool>,
    pub at: DateTime<Utc>,
    #[soa(timestamp = "ns")]
    pub at_ns: DateTime<Utc>,
    #[soa(timestamp = "s")]
    pub at_s: NaiveDateTime,
    pub day: NaiveDate,
    pub opt_at: Option<DateTime<Utc>>,
    pub raw_us: Timestamp<Micros>,
    #[soa(decimal(18, 4))]
    pub price: Decimal,
    pub opt_price: Option<Decimal>,
    pub uuid: Uuid,
    pub opt_uuid: Option<Uuid>,
    pub level: Level,
    pub opt_level: Option<Level>,
}

/// Whole microseconds between `lo` and `hi` seconds since the epoch.
fn micros(lo: i64, hi: i64) -> impl Strategy<Value = i64> {
    (lo * 1_000_000..hi * 1_000_000).prop_map(|us| us)
}

/// 1700-2250: where the emulator's bound timestamps are exact.
const NEAR: (i64, i64) = (-8_520_000_000, 8_830_000_000);

prop_compose! {
    fn numbers()(flag: bool, small: i8, short: i16, int: i32, long: i64, byte: u8, ushort: u16,
                 uint: u32, float: f32, double: f64)
        -> (bool, i8, i16, i32, i64, u8, u16, u32, f32, f64) {
        (flag, small, short, int, long, byte, ushort, uint, float, double)
    }
}

prop_compose! {
    fn texts()(text in "\\PC{0,12}", bytes in prop::collection::vec(any::<u8>(), 0..6),
               fixed: [u8; 4], opt_long: Option<i64>, opt_text in proptest::option::of("\\PC{0,6}"),
               opt_double: Option<f64>,
               opt_bytes in proptest::option::of(prop::collection::vec(any::<u8>(), 0..4)),
               opt_flag: Option<bool>)
        -> (String, Vec<u8>, [u8; 4], Option<i64>, Option<String>, Option<f64>, Option<Vec<u8>>, Option<bool>) {
        (text, bytes, fixed, opt_long, opt_text, opt_double, opt_bytes, opt_flag)
    }
}

prop_compose! {
    fn row()(n in numbers(), t in texts(), at in micros(NEAR.0, NEAR.1),
             at_ns in micros(NEAR.0, NEAR.1), at_s in NEAR.0..NEAR.1, day in -100_000i32..100_000,
             opt_at in proptest::option::of(micros(NEAR.0, NEAR.1)), raw_us in micros(NEAR.0, NEAR.1),
             price in -999_999_999_999_999i64..999_999_999_999_999, opt_price: Option<i32>,
             uuid: u128, opt_uuid: Option<u128>, level: bool, opt_level: Option<bool>)
        -> Scalars {
        let instant = |us: i64| DateTime::from_timestamp_micros(us).unwrap_or_default();
        let level_of = |high: bool| if high { Level::High } else { Level::Low };
        Scalars {
            id: 0,
            flag: n.0, small: n.1, short: n.2, int: n.3, long: n.4, byte: n.5, ushort: n.6,
            uint: n.7, float: n.8, double: n.9,
            text: t.0, bytes: t.1, fixed: t.2, opt_long: t.3, opt_text: t.4, opt_double: t.5,
            opt_bytes: t.6, opt_flag: t.7,
            at: instant(at),
            at_ns: instant(at_ns),
            at_s: DateTime::from_timestamp(at_s, 0).unwrap_or_default().naive_utc(),
            day: NaiveDate::from_num_days_from_ce_opt(719_163 + day).unwrap_or_default(),
            opt_at: opt_at.map(instant),
            raw_us: Timestamp::new(raw_us),
            price: Decimal::new(price, 4),
            // The field's scale is the default 10: a value read back carries it.
            opt_price: opt_price.map(|p| {
                let mut d = Decimal::new(i64::from(p), 4);
                d.rescale(10);
                d
            }),
            uuid: Uuid::from_u128(uuid),
            opt_uuid: opt_uuid.map(Uuid::from_u128),
            level: level_of(level),
            opt_level: opt_level.map(level_of),
        }
    }
}

/// `hi` on odd rows, `lo` on even ones.
fn pick<V>(top: bool, lo: V, hi: V) -> V {
    if top { hi } else { lo }
}

fn extremes(i: u64) -> Scalars {
    let far = |y: i32| {
        NaiveDate::from_ymd_opt(y, if y == 1 { 1 } else { 12 }, if y == 1 { 1 } else { 31 })
            .unwrap_or_default()
    };
    let at = |y: i32| {
        far(y)
            .and_hms_micro_opt(23, 59, 59, 999_999)
            .unwrap_or_default()
    };
    let top = i % 2 == 1;
    Scalars {
        id: pick(top, 0, u64::MAX),
        flag: top,
        small: pick(top, i8::MIN, i8::MAX),
        short: pick(top, i16::MIN, i16::MAX),
        int: pick(top, i32::MIN, i32::MAX),
        long: pick(top, i64::MIN, i64::MAX),
        byte: pick(top, 0, u8::MAX),
        ushort: pick(top, 0, u16::MAX),
        uint: pick(top, 0, u32::MAX),
        float: [f32::NAN, f32::INFINITY, -0.0, f32::MIN_POSITIVE / 2.0][i as usize % 4],
        double: [f64::NEG_INFINITY, f64::NAN, f64::MAX, 5e-324][i as usize % 4],
        text: pick(top, String::new(), "é 😀 \u{202e} 'q' \"d\" \\".into()),
        bytes: pick(top, Vec::new(), vec![0, 255, 10, 13]),
        fixed: [0, 1, 254, 255],
        opt_long: None,
        opt_text: Some(String::new()),
        opt_double: Some(f64::NAN),
        opt_bytes: Some(Vec::new()),
        opt_flag: None,
        at: at(pick(top, 1, 9999)).and_utc(),
        at_ns: at(pick(top, 1678, 2261)).and_utc(),
        at_s: far(pick(top, 1, 9999))
            .and_hms_opt(0, 0, 1)
            .unwrap_or_default(),
        day: far(pick(top, 1, 9999)),
        opt_at: None,
        raw_us: Timestamp::new(pick(top, -1, 0)),
        price: Decimal::new(
            pick(top, -999_999_999_999_999_999, 999_999_999_999_999_999),
            4,
        ),
        opt_price: None,
        uuid: Uuid::from_u128(pick(top, 0, u128::MAX)),
        opt_uuid: None,
        level: Level::High,
        opt_level: None,
    }
}

/// `rows` through a fresh table (bulk from `bulk` rows on) and back, sorted by key.
async fn round_trip(emulator: &Emulator, rows: &[Scalars], bulk: usize) -> Vec<Scalars> {
    let config = emulator.config().with_bulk_rows(bulk);
    let p = SnowflakePersistence::<Scalars>::connect(config)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    p.append(rows.iter().cloned().collect())
        .await
        .unwrap_or_else(|e| panic!("append: {e}\n{}", emulator.log_tail()));
    let mut back: Vec<Scalars> = p.load().await.unwrap().unwrap().into_iter().collect();
    back.sort_by_key(|r| r.id);
    back
}

/// Equal field by field, NaN equal to NaN and `-0.0` told from `0.0` (by their text).
fn assert_same(got: &[Scalars], want: &[Scalars]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(format!("{g:?}"), format!("{w:?}"));
    }
}

/// A property test on one emulator (starting one per case would dominate the run).
#[test]
fn every_scalar_type_round_trips_both_ways() {
    let Some(emulator) = Emulator::start() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = ProptestConfig {
        cases: 12,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&prop::collection::vec(row(), 1..12), |rows| {
        let rows: Vec<Scalars> = rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| Scalars { id: i as u64, ..r })
            .collect();
        for bulk in [usize::MAX, 1] {
            let back = runtime.block_on(round_trip(&emulator, &rows, bulk));
            assert_same(&back, &rows);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extremes_round_trip_through_the_stage() {
    let Some(emulator) = Emulator::start() else {
        return;
    };
    let rows: Vec<Scalars> = (0..4).map(extremes).collect();
    let mut want = rows.clone();
    want.sort_by_key(|r| r.id);
    let back = round_trip(&emulator, &rows, 1).await;
    assert_same(&back, &want);
}
