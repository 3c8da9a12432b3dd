//! Where the client's time goes: each step of an insert and of a full load timed alone (no
//! server involved where it can be left out), so the note can tell encode from conversion from
//! round trips from waiting for the server.

use std::time::Instant;

use soa_persist::backends::clickhouse::{
    BlockEncoder, ClickHouseClient, ClickHousePersistence, TypeOptions, decode_blocks,
};
use soa_persist::prelude::*;
use soa_persist_benches::{Order, OrderSoA, ms, order};

/// Rows per block, as `append` sends them.
const BLOCK: usize = 65_536;

fn time<R>(f: impl FnOnce() -> R) -> (f64, R) {
    let start = Instant::now();
    let r = f();
    (ms(start.elapsed()), r)
}

/// The insert's client-side steps: the container -> Arrow conversion (whole, and block by
/// block as `append` does it now), the Native encoding of every block, dropping the rows, and
/// the round trips of a one-row `append` and `append_batches_once` (the fixed cost per call).
pub fn insert_split(rt: &tokio::runtime::Runtime, client: &ClickHouseClient, rows: &OrderSoA) {
    let n = rows.order_id.len();
    let (whole, batch) = time(|| rows.clone().into_record_batch().expect("to Arrow"));
    let (by_block, batches) = time(|| {
        (0..n)
            .step_by(BLOCK)
            .map(|at| {
                rows.to_record_batch_range(at..at + BLOCK)
                    .expect("plain columns convert by range")
                    .expect("to Arrow")
            })
            .collect::<Vec<_>>()
    });
    let copy = rows.clone();
    let (drop_rows, ()) = time(|| drop(copy));
    let encoder = BlockEncoder::for_schema(
        Order::arrow_schema(),
        client.caps(),
        &TypeOptions::default(),
    )
    .expect("encoder");
    let (encode, bytes) = time(|| {
        let mut total = 0;
        for at in (0..n).step_by(BLOCK) {
            let mut out = Vec::new();
            encoder
                .encode(&batch.slice(at, BLOCK.min(n - at)), &mut out)
                .expect("encode");
            total += out.len();
        }
        total
    });
    drop((batch, batches));
    let one: OrderSoA = std::iter::once(order(0)).collect();
    let handle = rt
        .block_on(ClickHousePersistence::<Order>::open(
            client.clone(),
            Some("split_one"),
        ))
        .expect("open");
    // The first append also records the table as written (one more statement).
    let first = time(|| rt.block_on(handle.append(one.clone())).expect("append")).0;
    let best = |f: &mut dyn FnMut() -> f64| (0..5).map(|_| f()).fold(f64::MAX, f64::min);
    let append = best(&mut || time(|| rt.block_on(handle.append(one.clone())).expect("append")).0);
    let mut seq = 0;
    let once = best(&mut || {
        seq += 1;
        let id = WriteId::new("split", seq);
        let batch = one.to_record_batch().expect("to Arrow");
        time(|| {
            rt.block_on(handle.append_batches_once(vec![batch], &id))
                .expect("append once")
        })
        .0
    });
    rt.block_on(client.execute("DROP TABLE split_one"))
        .expect("drop");
    println!(
        "  insert split (client work, each timed alone): OrderSoA -> Arrow whole {whole:.1} ms, \
         by {BLOCK}-row ranges {by_block:.1} ms; Native encode {encode:.1} ms ({:.0} MB); \
         dropping the rows {drop_rows:.1} ms; a 1-row append {append:.2} ms (first {first:.2} ms: \
         + the written mark), a 1-row append_batches_once {once:.2} ms (write-id protocol)",
        bytes as f64 / 1e6
    );
}

/// The full load's client-side steps: receiving the Native bytes alone (the server's pace), then
/// decoding them into Arrow, then Arrow -> `OrderSoA`.
pub fn load_split(rt: &tokio::runtime::Runtime, client: &ClickHouseClient, table: &str) {
    let schema = Order::arrow_schema();
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("`{}`", f.name()))
        .collect();
    let sql = format!("SELECT {} FROM `{table}`", columns.join(", "));
    let (receive, bytes) = time(|| {
        rt.block_on(async {
            let mut cursor = client
                .raw()
                .query_raw(&sql)
                .fetch_bytes("Native")
                .expect("query");
            let mut chunks = Vec::new();
            while let Some(chunk) = cursor.next().await.expect("chunk") {
                chunks.push(chunk);
            }
            chunks.concat()
        })
    });
    let (decode, batches) = time(|| decode_blocks(&bytes, schema.clone()).expect("decode"));
    drop(bytes);
    let (convert, rows) = time(|| {
        let mut all = OrderSoA::default();
        for batch in batches {
            all.append(&mut OrderSoA::from_owned_record_batch(batch).expect("from Arrow"));
        }
        all
    });
    let (drop_rows, ()) = time(|| drop(rows));
    println!(
        "  load split (each timed alone): receiving the Native bytes (polled from this thread, \
         no read-ahead) {receive:.1} ms, decoding \
         them {decode:.1} ms, Arrow -> OrderSoA {convert:.1} ms, dropping the rows {drop_rows:.1} ms"
    );
}
