//! The Native codec against chdb (ClickHouse 26.x in process, from the project's virtualenv),
//! for the types an 18.16 server lacks: Bool, Date32, DateTime64 at every precision,
//! LowCardinality (plain and nullable), named tuples. Both ways: blocks we write are read by
//! chdb (its type names and its own text of every value compared), blocks chdb writes (several
//! per file) are decoded here (values compared); and every field type of `Row` goes through chdb
//! and back. Without chdb the tests print a skip line, or fail when `SOA_REQUIRE_TOOLS=1`.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod clickhouse;
mod tools;

use clickhouse::Chdb;
use clickhouse::codec::{decode_chunked, encode_blocks, to_rows};
use clickhouse::model::*;
use soa_persist::backends::clickhouse::*;
use soa_persist::prelude::*;

/// Days and microseconds within what ClickHouse prints as dates (1900..2299, ..2262 for µs).
fn modern(id: u64, seed: u64) -> Modern {
    let mut r = Rng(seed ^ id.wrapping_mul(0x9E37_79B9));
    let span = |r: &mut Rng, lo: i64, hi: i64| lo + r.below((hi - lo) as u64) as i64;
    Modern {
        id,
        flag: r.chance(2),
        opt_flag: r.opt(|r| r.chance(2)),
        day: day(span(&mut r, -25_567, 120_529) as i32),
        at: micros(span(&mut r, -2_208_988_800_000_000, 9_000_000_000_000_000)),
        at_ns: DateTime::from_timestamp_nanos(r.next() as i64),
        at_ms: DateTime::from_timestamp_millis(span(&mut r, -2_208_988_800_000, 9_000_000_000_000))
            .unwrap(),
        at_s: DateTime::from_timestamp(span(&mut r, -2_208_988_800, 9_000_000_000), 0)
            .unwrap()
            .naive_utc(),
        opt_at: r.opt(|r| micros(span(r, 0, 4_000_000_000_000_000))),
        label: r.pick(&["", "a", "Zürich", "emoji 😀"]).to_string(),
        opt_label: r.opt(|r| format!("v{}", r.below(5))),
        color: r.color(),
        place: Place {
            city: r.text(),
            zip: r.opt(|r| r.next() as u32),
            codes: r.bytes(),
        },
    }
}

fn options() -> TypeOptions {
    TypeOptions {
        low_cardinality: vec!["label".into(), "opt_label".into()],
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn opt_text<T: ToString>(v: Option<T>) -> String {
    v.map_or("\\N".to_string(), |v| v.to_string())
}

#[test]
fn chdb_reads_the_blocks_we_write() {
    let Some(chdb) = Chdb::find() else { return };
    let want: Vec<Modern> = (0..60).map(|i| modern(i, 8)).collect();
    let soa: ModernSoA = want.iter().cloned().collect();
    let encoder =
        BlockEncoder::for_schema(Modern::arrow_schema(), &ServerCaps::modern(), &options())
            .unwrap();
    let batch = soa.to_record_batch().unwrap();
    let mut bytes = Vec::new();
    for (offset, len) in [(0, 0), (0, 25), (25, 35)] {
        encoder
            .encode(&batch.slice(offset, len), &mut bytes)
            .unwrap();
    }
    let file = chdb.path("ours.native");
    std::fs::write(&file, &bytes).unwrap();
    let source = format!("file('{}', Native)", file.display());

    // chdb sees the types we declared.
    let header = chdb.query_text(
        &format!("SELECT * FROM {source} LIMIT 0"),
        "TSVRawWithNamesAndTypes",
    );
    let mut lines = header.lines();
    let names: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let types: Vec<&str> = lines.next().unwrap().split('\t').collect();
    for ((name, ty), ours) in names.iter().zip(&types).zip(encoder.types()) {
        assert_eq!(
            ChType::parse(ty).unwrap(),
            *ours,
            "column {name}: chdb says {ty}"
        );
    }
    assert_eq!(types[1], "Bool");
    assert_eq!(types[3], "Date32");
    assert_eq!(types[4], "DateTime64(6, 'UTC')");
    assert_eq!(types[10], "LowCardinality(Nullable(String))");

    // ... and the values we meant, in its own words.
    let sql = format!(
        "SELECT id, toString(flag), toString(opt_flag), toInt32(day), toString(day), \
         toUnixTimestamp64Micro(at), toString(at), toUnixTimestamp64Nano(at_ns), toUnixTimestamp64Milli(at_ms), \
         toUnixTimestamp64Second(at_s), toString(toUnixTimestamp64Micro(opt_at)), hex(label), hex(ifNull(opt_label, '')), \
         isNull(opt_label), hex(toString(color)), hex(place.city), toString(place.zip), hex(place.codes) \
         FROM {source} ORDER BY id"
    );
    let text = chdb.query_text(&sql, "TSV");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), want.len());
    for (line, m) in lines.iter().zip(&want) {
        let expected = [
            m.id.to_string(),
            m.flag.to_string(),
            opt_text(m.opt_flag),
            m.day.signed_duration_since(day(0)).num_days().to_string(),
            m.day.format("%Y-%m-%d").to_string(),
            m.at.timestamp_micros().to_string(),
            m.at.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
            m.at_ns.timestamp_nanos_opt().unwrap().to_string(),
            m.at_ms.timestamp_millis().to_string(),
            m.at_s.and_utc().timestamp().to_string(),
            opt_text(m.opt_at.map(|t| t.timestamp_micros())),
            hex(m.label.as_bytes()),
            hex(m.opt_label.as_deref().unwrap_or("").as_bytes()),
            u8::from(m.opt_label.is_none()).to_string(),
            hex(m.color.variant_name().as_bytes()),
            hex(m.place.city.as_bytes()),
            opt_text(m.place.zip),
            hex(&m.place.codes),
        ];
        assert_eq!(
            line.split('\t').collect::<Vec<_>>(),
            expected,
            "row {}",
            m.id
        );
    }
}

#[test]
fn we_decode_the_blocks_chdb_writes() {
    let Some(chdb) = Chdb::find() else { return };
    let sql = r#"SELECT number AS id, CAST(number % 2 AS Bool) AS flag,
        if(number % 3 = 0, NULL, CAST(number % 2 AS Bool)) AS opt_flag,
        toDate32('1900-01-01') + number * 1000 AS day,
        fromUnixTimestamp64Micro(toInt64(number) * 123456789 - 1, 'UTC') AS at,
        fromUnixTimestamp64Nano(toInt64(number) * 987654321987 - 5, 'UTC') AS at_ns,
        fromUnixTimestamp64Milli(toInt64(number) * 86400001 - 2522880000000, 'UTC') AS at_ms,
        CAST(toInt64(number) * 100000 - 2000000000 AS DateTime64(0)) AS at_s,
        if(number % 4 = 0, NULL, fromUnixTimestamp64Micro(toInt64(number), 'UTC')) AS opt_at,
        CAST(['', 'a', 'Zürich'][number % 3 + 1] AS LowCardinality(String)) AS label,
        CAST(if(number % 2 = 0, NULL, concat('v', toString(number))) AS LowCardinality(Nullable(String))) AS opt_label,
        CAST(['Red', 'Blue', 'it\'s "green"'][number % 3 + 1] AS Enum8('Red' = 0, 'it\'s "green"' = 1, 'Blue' = 2)) AS color,
        CAST(tuple(concat('c', toString(number)), if(number % 2 = 0, NULL, toUInt32(number)), '')
             AS Tuple(city String, zip Nullable(UInt32), codes String)) AS place
        FROM numbers(10) SETTINGS max_block_size = 3"#;
    let bytes = chdb.query(sql, "Native");
    let want: Vec<Modern> = (0..10u64)
        .map(|n| {
            let i = n as i64;
            Modern {
                id: n,
                flag: n % 2 == 1,
                opt_flag: (n % 3 != 0).then_some(n % 2 == 1),
                day: day(-25_567 + 1000 * i as i32),
                at: micros(i * 123_456_789 - 1),
                at_ns: DateTime::from_timestamp_nanos(i * 987_654_321_987 - 5),
                at_ms: DateTime::from_timestamp_millis(i * 86_400_001 - 2_522_880_000_000).unwrap(),
                at_s: DateTime::from_timestamp(i * 100_000 - 2_000_000_000, 0)
                    .unwrap()
                    .naive_utc(),
                opt_at: (n % 4 != 0).then(|| micros(i)),
                label: ["", "a", "Zürich"][(n % 3) as usize].to_string(),
                opt_label: (n % 2 == 1).then(|| format!("v{n}")),
                color: [Color::Red, Color::Blue, Color::Green][(n % 3) as usize],
                place: Place {
                    city: format!("c{n}"),
                    zip: (n % 2 == 1).then_some(n as u32),
                    codes: Vec::new(),
                },
            }
        })
        .collect();
    for chunk in [1, 50, 1 << 20] {
        let batches = decode_chunked(&bytes, Modern::arrow_schema(), chunk).unwrap();
        assert!(batches.len() >= 4, "chdb wrote {} blocks", batches.len());
        let got: Vec<Modern> = batches
            .iter()
            .flat_map(|b| ModernSoA::from_record_batch(b).unwrap())
            .collect();
        assert_eq!(got, want);
    }
}

#[test]
fn every_field_type_goes_through_chdb_and_back() {
    let Some(chdb) = Chdb::find() else { return };
    let want = rows(120, 21);
    for (caps, name) in [
        (ServerCaps::modern(), "modern"),
        (ServerCaps::legacy(), "legacy"),
    ] {
        let file = chdb.path(&format!("{name}.native"));
        std::fs::write(&file, encode_blocks(&want, &caps, 50)).unwrap();
        let back = chdb.query(
            &format!(
                "SELECT * FROM file('{}', Native) ORDER BY id",
                file.display()
            ),
            "Native",
        );
        let got = to_rows(&decode_chunked(&back, Row::arrow_schema(), 4096).unwrap());
        assert!(same(&got, &want), "rows differ after chdb ({name} mapping)");
    }
}
