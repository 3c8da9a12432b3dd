//! Every field type through Snowflake and back, on the `fakesnow` emulator: a property test
//! over random rows through both write paths (`INSERT` with array bindings, and Parquet staged
//! then `COPY INTO`), and rows of extremes (integer bounds, NaN, infinities, `-0.0`,
//! subnormals, empty and unicode text, years 1 and 9999) through the stage. The same for
//! lists of every scalar type and a nested struct (with a nested struct of its own), stored as
//! `ARRAY` / `OBJECT` JSON: random rows and extremes (empty lists, nulls in lists and in the
//! nested struct) through both paths.
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

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Geo {
    pub lat: f64,
    pub label: Option<String>,
    pub at: Option<NaiveDateTime>,
}

/// Every scalar kind inside an `OBJECT`, with lists and a nested struct of its own.
#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Place {
    pub city: String,
    pub zip: Option<u32>,
    pub long: i64,
    pub flag: bool,
    pub small: f32,
    pub code: Vec<u8>,
    pub fixed: [u8; 4],
    pub uuid: Uuid,
    pub at: DateTime<Utc>,
    #[soa(timestamp = "ns")]
    pub at_ns: DateTime<Utc>,
    pub day: NaiveDate,
    #[soa(decimal(38, 6))]
    pub price: Decimal,
    pub level: Level,
    pub opt_level: Option<Level>,
    pub scores: Vec<Option<i64>>,
    pub opt_codes: Option<Vec<i16>>,
    #[soa(nested)]
    pub geo: Geo,
}

/// Lists of every scalar kind (some of options, one optional, one of lists) and a nested
/// struct.
#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Lists {
    #[soa(key)]
    pub id: u64,
    pub at: DateTime<Utc>,
    pub small: Vec<i8>,
    pub big: Vec<u64>,
    pub longs: Vec<i64>,
    pub floats: Vec<f32>,
    pub doubles: Vec<Option<f64>>,
    pub flags: Option<Vec<bool>>,
    pub words: Vec<String>,
    pub blobs: Vec<Vec<u8>>,
    pub fixed: Vec<[u8; 4]>,
    pub uuids: Vec<Option<Uuid>>,
    pub days: Vec<NaiveDate>,
    pub instants: Vec<DateTime<Utc>>,
    #[soa(timestamp = "ns")]
    pub naive_ns: Vec<Option<NaiveDateTime>>,
    #[soa(timestamp = "s")]
    pub seconds: Vec<NaiveDateTime>,
    #[soa(decimal(38, 10))]
    pub prices: Vec<Decimal>,
    pub levels: Vec<Option<Level>>,
    pub grid: Vec<Vec<i64>>,
    #[soa(nested)]
    pub place: Place,
}

/// Years 1-9999 in whole microseconds (what ISO text in JSON holds, every digit kept).
const FAR: (i64, i64) = (-62_135_596_800, 253_402_300_799);

fn instant(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

fn level_of(high: bool) -> Level {
    if high { Level::High } else { Level::Low }
}

prop_compose! {
    fn geo()(lat: f64, label in proptest::option::of("\\PC{0,6}"),
             at in proptest::option::of(micros(FAR.0, FAR.1))) -> Geo {
        Geo { lat, label, at: at.map(|us| instant(us).naive_utc()) }
    }
}

prop_compose! {
    fn place()(city in "\\PC{0,10}", zip: Option<u32>, long: i64, flag: bool, small: f32,
               code in prop::collection::vec(any::<u8>(), 0..5), fixed: [u8; 4], uuid: u128,
               at in micros(FAR.0, FAR.1), at_ns: i64, day in -700_000i32..2_900_000,
               price: i64, level: bool, opt_level: Option<bool>,
               scores in prop::collection::vec(any::<Option<i64>>(), 0..4),
               opt_codes: Option<Vec<i16>>, geo in geo())
        -> Place {
        Place {
            city, zip, long, flag, small, code, fixed,
            uuid: Uuid::from_u128(uuid),
            at: instant(at),
            at_ns: DateTime::from_timestamp_nanos(at_ns),
            day: NaiveDate::from_num_days_from_ce_opt(719_163 + day).unwrap_or_default(),
            price: Decimal::new(price, 6),
            level: level_of(level),
            opt_level: opt_level.map(level_of),
            scores,
            opt_codes,
            geo,
        }
    }
}

prop_compose! {
    fn lists_a()(small: Vec<i8>, big: Vec<u64>, longs: Vec<i64>, floats: Vec<f32>,
                 doubles: Vec<Option<f64>>, flags: Option<Vec<bool>>,
                 words in prop::collection::vec("\\PC{0,6}", 0..4),
                 blobs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..4), 0..3),
                 fixed in prop::collection::vec(any::<[u8; 4]>(), 0..3),
                 uuids in prop::collection::vec(any::<Option<u128>>(), 0..3))
        -> (Vec<i8>, Vec<u64>, Vec<i64>, Vec<f32>, Vec<Option<f64>>, Option<Vec<bool>>,
            Vec<String>, Vec<Vec<u8>>, Vec<[u8; 4]>, Vec<Option<Uuid>>) {
        (small, big, longs, floats, doubles, flags, words, blobs, fixed,
         uuids.into_iter().map(|u| u.map(Uuid::from_u128)).collect())
    }
}

prop_compose! {
    fn lists_row()(a in lists_a(),
                   days in prop::collection::vec(-700_000i32..2_900_000, 0..3),
                   instants in prop::collection::vec(micros(FAR.0, FAR.1), 0..3),
                   naive_ns in prop::collection::vec(any::<Option<i64>>(), 0..3),
                   seconds in prop::collection::vec(FAR.0..FAR.1, 0..3),
                   prices in prop::collection::vec(any::<i64>(), 0..3),
                   levels in prop::collection::vec(any::<Option<bool>>(), 0..3),
                   grid in prop::collection::vec(prop::collection::vec(any::<i64>(), 0..3), 0..3),
                   place in place(), at in micros(NEAR.0, NEAR.1))
        -> Lists {
        Lists {
            id: 0,
            at: instant(at),
            small: a.0, big: a.1, longs: a.2, floats: a.3, doubles: a.4, flags: a.5, words: a.6,
            blobs: a.7, fixed: a.8, uuids: a.9,
            days: days.into_iter()
                .map(|d| NaiveDate::from_num_days_from_ce_opt(719_163 + d).unwrap_or_default())
                .collect(),
            instants: instants.into_iter().map(instant).collect(),
            naive_ns: naive_ns.into_iter()
                .map(|n| n.map(|n| DateTime::from_timestamp_nanos(n).naive_utc()))
                .collect(),
            seconds: seconds.into_iter()
                .map(|s| DateTime::from_timestamp(s, 0).unwrap_or_default().naive_utc())
                .collect(),
            prices: prices.into_iter().map(|p| Decimal::new(p, 10)).collect(),
            levels: levels.into_iter().map(|l| l.map(level_of)).collect(),
            grid,
            place,
        }
    }
}

/// Rows of extremes: bounds, NaN, infinities, `-0.0`, empty lists and text, nulls everywhere
/// they may be, years 1 and 9999, text that JSON escapes.
fn lists_extremes(i: u64) -> Lists {
    let top = i % 2 == 1;
    let far = |y: i32| {
        NaiveDate::from_ymd_opt(y, if y == 1 { 1 } else { 12 }, if y == 1 { 1 } else { 31 })
            .unwrap_or_default()
    };
    let at = |y: i32| {
        far(y)
            .and_hms_micro_opt(23, 59, 59, 999_999)
            .unwrap_or_default()
    };
    let nasty = "\\ \" ' \n\t \u{0} é 😀 \u{202e} {\"a\": [1]}".to_string();
    Lists {
        id: i,
        at: instant(0),
        small: pick(top, vec![], vec![i8::MIN, 0, i8::MAX]),
        big: pick(top, vec![], vec![0, u64::MAX]),
        longs: vec![i64::MIN, -1, i64::MAX],
        floats: vec![
            f32::NAN,
            f32::INFINITY,
            -0.0,
            f32::MIN_POSITIVE / 2.0,
            f32::MAX,
        ],
        doubles: vec![
            Some(f64::NEG_INFINITY),
            None,
            Some(f64::NAN),
            Some(5e-324),
            Some(f64::MAX),
            Some(0.1),
            Some(-0.0),
        ],
        flags: pick(top, None, Some(vec![true, false])),
        words: pick(top, vec![], vec![String::new(), nasty.clone()]),
        blobs: vec![vec![], vec![0, 255, 10]],
        fixed: vec![[0, 1, 254, 255]],
        uuids: vec![None, Some(Uuid::from_u128(u128::MAX))],
        days: vec![far(1), far(9999)],
        instants: vec![at(1).and_utc(), at(9999).and_utc()],
        naive_ns: vec![
            Some(DateTime::from_timestamp_nanos(i64::MIN).naive_utc()),
            None,
            Some(DateTime::from_timestamp_nanos(i64::MAX).naive_utc()),
        ],
        seconds: vec![far(1).and_hms_opt(0, 0, 0).unwrap_or_default()],
        prices: vec![
            Decimal::from_i128_with_scale(-79_228_162_514_264_337_593_543_950_335, 10),
            Decimal::new(1, 10),
        ],
        levels: vec![None, Some(Level::High), Some(Level::Low)],
        grid: pick(top, vec![], vec![vec![], vec![i64::MIN]]),
        place: Place {
            city: pick(top, String::new(), nasty),
            zip: pick(top, None, Some(u32::MAX)),
            long: i64::MIN,
            flag: top,
            small: f32::NAN,
            code: vec![],
            fixed: [255; 4],
            uuid: Uuid::from_u128(0),
            at: at(pick(top, 1, 9999)).and_utc(),
            at_ns: DateTime::from_timestamp_nanos(pick(top, i64::MIN, i64::MAX)),
            day: far(pick(top, 1, 9999)),
            price: Decimal::from_i128_with_scale(
                pick(top, -1, 79_228_162_514_264_337_593_543_950_335),
                6,
            ),
            level: Level::High,
            opt_level: None,
            scores: pick(top, vec![], vec![None, Some(i64::MAX)]),
            opt_codes: pick(top, None, Some(vec![])),
            geo: Geo {
                lat: pick(top, f64::INFINITY, -0.0),
                label: None,
                at: pick(top, None, Some(at(1))),
            },
        },
    }
}

/// `rows` through a fresh table (bulk from `bulk` rows on) and back, sorted by key.
async fn lists_round_trip(emulator: &Emulator, rows: &[Lists], bulk: usize) -> Vec<Lists> {
    let config = emulator.config().with_bulk_rows(bulk);
    let p = SnowflakePersistence::<Lists>::connect(config)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    p.append(rows.iter().cloned().collect())
        .await
        .unwrap_or_else(|e| panic!("append (bulk {bulk}): {e}\n{}", emulator.log_tail()));
    let mut back: Vec<Lists> = p
        .load()
        .await
        .unwrap_or_else(|e| panic!("load (bulk {bulk}): {e}"))
        .unwrap()
        .into_iter()
        .collect();
    back.sort_by_key(|r| r.id);
    back
}

/// Equal value by value, NaN equal to NaN and `-0.0` told from `0.0` (by their text).
fn assert_same_lists(got: &[Lists], want: &[Lists]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(format!("{g:?}"), format!("{w:?}"));
    }
}

#[test]
fn lists_and_nested_structs_of_every_type_round_trip_both_ways() {
    let Some(emulator) = Emulator::start() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = ProptestConfig {
        cases: 10,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&prop::collection::vec(lists_row(), 1..6), |rows| {
        let rows: Vec<Lists> = rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| Lists { id: i as u64, ..r })
            .collect();
        for bulk in [usize::MAX, 1] {
            let back = runtime.block_on(lists_round_trip(&emulator, &rows, bulk));
            assert_same_lists(&back, &rows);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_nested_extremes_round_trip_both_ways() {
    let Some(emulator) = Emulator::start() else {
        return;
    };
    let rows: Vec<Lists> = (0..2).map(lists_extremes).collect();
    for bulk in [usize::MAX, 1] {
        let back = lists_round_trip(&emulator, &rows, bulk).await;
        assert_same_lists(&back, &rows);
    }
}
