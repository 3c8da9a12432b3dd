//! Bad Native input as typed errors, never a panic or a hang: every truncation of a block,
//! garbage and random mutations, wrong or unknown type strings, row counts and offsets that
//! don't add up, a bound on block size, and ClickHouse's exception text after a 200 (the
//! blocks before it are delivered, then the server's error, classified by its code), while
//! user text that merely reads like an exception stays data.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod clickhouse;
mod tools;

use std::sync::Arc;

use clickhouse::codec::*;
use clickhouse::model::*;
use soa_persist::arrow::array::RecordBatch;
use soa_persist::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use soa_persist::backends::clickhouse::*;
use soa_persist::prelude::*;

fn is_corrupt(r: &Result<Vec<RecordBatch>, PersistError>) -> bool {
    matches!(r, Err(PersistError::Corrupt { .. }))
}

#[test]
fn every_truncation_is_corrupt() {
    let bytes = encode_blocks(&rows(5, 3), &ServerCaps::modern(), 100);
    for cut in 1..bytes.len() {
        let r = decode_blocks(&bytes[..cut], Row::arrow_schema());
        assert!(is_corrupt(&r), "cut at {cut}: {:?}", r.map(|b| b.len()));
        assert!(!r.unwrap_err().is_retryable());
    }
}

#[test]
fn garbage_and_mutations_are_errors_never_panics() {
    let valid = encode_blocks(&rows(8, 5), &ServerCaps::legacy(), 3);
    let mut rng = Rng(42);
    for _ in 0..3_000 {
        let mut bytes = valid.clone();
        for _ in 0..1 + rng.below(3) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.below(bytes.len() as u64) as usize;
            match rng.below(3) {
                0 => bytes[at] ^= 1 << rng.below(8),
                1 => bytes[at] = rng.next() as u8,
                _ => bytes.truncate(at),
            }
        }
        let _ = decode_chunked(&bytes, Row::arrow_schema(), 1 + rng.below(64) as usize);
    }
    for len in [1, 2, 10, 1000] {
        let garbage: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        assert!(decode_blocks(&garbage, Row::arrow_schema()).is_err());
    }
}

fn block(columns: &[(&str, &str, &[u8])], rows: u8) -> Vec<u8> {
    let mut out = vec![columns.len() as u8, rows];
    for (name, ty, data) in columns {
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.push(ty.len() as u8);
        out.extend_from_slice(ty.as_bytes());
        out.extend_from_slice(data);
    }
    out
}

fn schema_of(fields: Vec<Field>) -> SchemaRef {
    Arc::new(Schema::new(fields))
}

#[test]
fn wrong_types_and_counts_are_typed_errors() {
    let x = schema_of(vec![Field::new("x", DataType::UInt8, false)]);
    let decode = |bytes: Vec<u8>, s: &SchemaRef| decode_blocks(&bytes, s.clone());
    // A type the target can't hold, an unknown type, an unparseable one.
    assert!(matches!(
        decode(block(&[("x", "Int64", &[0; 8])], 1), &x),
        Err(PersistError::SchemaMismatch { .. })
    ));
    assert!(matches!(
        decode(block(&[("x", "Int128", &[0; 16])], 1), &x),
        Err(PersistError::SchemaMismatch { .. })
    ));
    assert!(is_corrupt(&decode(block(&[("x", "(Int8", &[0])], 1), &x)));
    // Another column name, a missing column.
    assert!(matches!(
        decode(block(&[("y", "UInt8", &[0])], 1), &x),
        Err(PersistError::SchemaMismatch { .. })
    ));
    assert!(matches!(
        decode(block(&[], 1), &x),
        Err(PersistError::SchemaMismatch { .. })
    ));
    // More rows than data, fewer rows than data (the rest is no block).
    assert!(is_corrupt(&decode(
        block(&[("x", "UInt8", &[1, 2])], 3),
        &x
    )));
    assert!(is_corrupt(&decode(
        block(&[("x", "UInt8", &[1, 2, 3])], 1),
        &x
    )));
    // Array offsets that decrease; a LowCardinality index beyond its keys.
    let list = schema_of(vec![Field::new(
        "a",
        DataType::List(Arc::new(Field::new("item", DataType::UInt8, false))),
        false,
    )]);
    let mut offsets = Vec::new();
    offsets.extend_from_slice(&2u64.to_le_bytes());
    offsets.extend_from_slice(&1u64.to_le_bytes());
    offsets.extend_from_slice(&[7, 7]);
    assert!(is_corrupt(&decode(
        block(&[("a", "Array(UInt8)", &offsets)], 2),
        &list
    )));
    let s = schema_of(vec![Field::new("s", DataType::Utf8, false)]);
    let mut lc = Vec::new();
    for v in [1u64, 0x600, 1] {
        lc.extend_from_slice(&v.to_le_bytes());
    }
    lc.extend_from_slice(&[1, b'a']);
    lc.extend_from_slice(&1u64.to_le_bytes());
    lc.push(5);
    assert!(is_corrupt(&decode(
        block(&[("s", "LowCardinality(String)", &lc)], 1),
        &s
    )));
    // A null in a column whose field is not nullable; a boolean that is neither 0 nor 1.
    assert!(matches!(
        decode(block(&[("x", "Nullable(UInt8)", &[1, 0])], 1), &x),
        Err(PersistError::SchemaMismatch { .. })
    ));
    let b = schema_of(vec![Field::new("b", DataType::Boolean, false)]);
    assert!(is_corrupt(&decode(block(&[("b", "UInt8", &[2])], 1), &b)));
    // Invalid UTF-8 in a String read as Utf8.
    assert!(is_corrupt(&decode(
        block(&[("s", "String", &[1, 0xff])], 1),
        &s
    )));
}

#[test]
fn an_exception_after_a_200_is_the_servers_error() {
    let valid = encode_blocks(&rows(20, 9), &ServerCaps::legacy(), 4);
    let cases = [
        // 18.16's wording; throwIf is not retryable, a memory limit is.
        (
            "Code: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' function is non zero, e.what() = DB::Exception\n",
            false,
            "395",
        ),
        (
            "Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded, e.what() = DB::Exception\n",
            true,
            "241",
        ),
        // A current server's wording.
        (
            "Code: 159. DB::Exception: Timeout exceeded: elapsed 1.2 seconds. (TIMEOUT_EXCEEDED) (version 24.8.1.1 (official build))\n",
            true,
            "159",
        ),
    ];
    for (text, retryable, code) in cases {
        for chunk in [1, 7, 4096] {
            let mut body = valid.clone();
            body.extend_from_slice(text.as_bytes());
            let mut decoder = BlockDecoder::new(Row::arrow_schema());
            let mut rows_before = 0;
            let mut result = Ok(());
            'feed: for piece in body.chunks(chunk).map(Some).chain([None]) {
                match piece {
                    Some(p) => decoder.push(p),
                    None => decoder.finish(),
                }
                loop {
                    match decoder.next_batch() {
                        Ok(Some(b)) => rows_before += b.num_rows(),
                        Ok(None) => break,
                        Err(e) => {
                            result = Err(e);
                            break 'feed;
                        }
                    }
                }
            }
            let err = result.expect_err("the exception must surface");
            assert_eq!(
                rows_before, 20,
                "the blocks before the exception are delivered"
            );
            assert_eq!(err.is_retryable(), retryable, "{err}");
            assert!(err.to_string().contains(code), "{err}");
        }
    }
    let modern =
        "Code: 60. DB::Exception: Table db.t does not exist. (UNKNOWN_TABLE) (version 24.8.1.1)\n";
    let mut body = valid.clone();
    body.extend_from_slice(modern.as_bytes());
    assert!(matches!(
        decode_blocks(&body, Row::arrow_schema()),
        Err(PersistError::SchemaMismatch { .. })
    ));
}

#[test]
fn a_block_larger_than_the_bound_is_refused() {
    let bytes = encode_blocks(&rows(200, 2), &ServerCaps::legacy(), 200);
    let mut decoder = BlockDecoder::new(Row::arrow_schema()).with_max_block_bytes(1000);
    let mut failure = None;
    for piece in bytes.chunks(100) {
        decoder.push(piece);
        if let Err(e) = decoder.next_batch() {
            failure = Some(e);
            break;
        }
    }
    let err = failure.expect("refused before the block is complete");
    assert!(err.to_string().contains("larger than 1000 bytes"), "{err}");
}

#[test]
fn user_text_that_reads_like_an_exception_is_data() {
    let mut want = rows(30, 4);
    for (i, text) in want.text.iter_mut().enumerate() {
        *text = format!("Code: {i}. DB::Exception: only a value\n");
    }
    let bytes = encode_blocks(&want, &ServerCaps::legacy(), 7);
    for chunk in [1, 5, 64, 100_000] {
        assert!(same(
            &to_rows(&decode_chunked(&bytes, Row::arrow_schema(), chunk).unwrap()),
            &want
        ));
    }
}
