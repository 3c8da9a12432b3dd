//! Codec helpers shared by the ClickHouse tests: encode `Row`s as blocks, decode a body fed in
//! chunks, and turn decoded batches back into rows (checking their schema).
#![allow(dead_code)]

use soa_persist::arrow::array::RecordBatch;
use soa_persist::arrow::datatypes::SchemaRef;
use soa_persist::backends::clickhouse::{BlockDecoder, BlockEncoder, ServerCaps, TypeOptions};
use soa_persist::prelude::*;

use super::model::{Row, RowSoA};

pub fn encoder(caps: &ServerCaps) -> BlockEncoder {
    BlockEncoder::for_schema(Row::arrow_schema(), caps, &TypeOptions::default()).expect("Row maps")
}

/// Decodes `bytes` fed in chunks of `chunk` bytes, as a body arrives.
pub fn decode_chunked(
    bytes: &[u8],
    schema: SchemaRef,
    chunk: usize,
) -> Result<Vec<RecordBatch>, PersistError> {
    let mut decoder = BlockDecoder::new(schema);
    let mut out = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        decoder.push(piece);
        while let Some(b) = decoder.next_batch()? {
            out.push(b);
        }
    }
    decoder.finish();
    while let Some(b) = decoder.next_batch()? {
        out.push(b);
    }
    Ok(out)
}

pub fn to_rows(batches: &[RecordBatch]) -> RowSoA {
    let mut all = RowSoA::new();
    for b in batches {
        assert_eq!(
            b.schema(),
            Row::arrow_schema(),
            "decoded batches carry the target schema"
        );
        all.append(&mut RowSoA::from_record_batch(b).expect("decoded batch converts"));
    }
    all
}

/// `rows` as blocks of at most `block` rows.
pub fn encode_blocks(rows: &RowSoA, caps: &ServerCaps, block: usize) -> Vec<u8> {
    let batch = rows.to_record_batch().expect("to arrow");
    let enc = encoder(caps);
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < batch.num_rows() {
        let len = block.min(batch.num_rows() - offset);
        enc.encode(&batch.slice(offset, len), &mut out)
            .expect("encode");
        offset += len;
    }
    out
}
