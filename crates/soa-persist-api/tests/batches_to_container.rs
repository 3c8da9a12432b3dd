//! `batches_to_container`, the conversion every `load` ends with: batches of one schema joined
//! column by column on several threads, mixed schemas converted one by one; both give the rows
//! in order, as appending each batch's container would.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::sync::Arc;

use soa_persist_api::arrow::array::{Array, RecordBatch};
use soa_persist_api::arrow::datatypes::Schema;
use soa_persist_api::core_layers::convert::ToArrow;
use soa_persist_api::exec::batches_to_container;
use soa_persist_macros::SoA;

#[derive(SoA, Clone, Debug, PartialEq)]
#[soa(crate = "soa_persist_api")]
struct Row {
    id: u64,
    name: String,
    score: f64,
    note: Option<String>,
}

fn row(i: u64) -> Row {
    Row {
        id: i,
        name: format!("n{}", i % 97),
        score: i as f64 / 4.0,
        note: i.is_multiple_of(3).then(|| format!("note {i}")),
    }
}

/// `n` rows cut into batches of the given sizes.
fn batches(sizes: &[u64]) -> (Vec<Row>, Vec<RecordBatch>) {
    let mut start = 0;
    let mut all = Vec::new();
    let mut out = Vec::new();
    for &size in sizes {
        let rows: Vec<Row> = (start..start + size).map(row).collect();
        start += size;
        let soa: RowSoA = rows.iter().cloned().collect();
        out.push(soa.to_record_batch().expect("to Arrow"));
        all.extend(rows);
    }
    (all, out)
}

fn rows(soa: &RowSoA) -> Vec<Row> {
    soa.iter().map(|r| r.to_row()).collect()
}

#[test]
fn batches_of_one_schema_join_in_order_above_and_below_the_parallel_threshold() {
    for sizes in [
        &[3u64, 0, 5][..],
        &[40_000, 1, 30_000, 0, 25_000][..], // 95,001 rows: the threaded join
        &[70_000][..],
    ] {
        let (want, input) = batches(sizes);
        let got = batches_to_container::<Row>(input).expect("convert");
        assert_eq!(got.len(), want.len(), "{sizes:?}");
        assert!(rows(&got) == want, "{sizes:?}");
    }
    assert!(
        batches_to_container::<Row>(Vec::new())
            .expect("empty")
            .is_empty()
    );
}

#[test]
fn batches_of_mixed_schemas_convert_one_by_one() {
    let (mut want, mut input) = batches(&[50_000, 40_000]);
    // A batch written before `note` existed: the column is missing, so every note is None.
    let old = &input[1];
    let keep: Vec<usize> = (0..3).collect();
    let fields: Vec<_> = keep
        .iter()
        .map(|&i| old.schema().field(i).clone())
        .collect();
    let columns = keep.iter().map(|&i| old.column(i).clone()).collect();
    input[1] = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch");
    for r in &mut want[50_000..] {
        r.note = None;
    }
    let got = batches_to_container::<Row>(input).expect("convert");
    assert!(rows(&got) == want);
}

#[test]
fn a_bad_column_is_a_typed_error_on_the_threaded_path() {
    let (_, mut input) = batches(&[40_000, 40_000]);
    // `score` as strings in every batch: one schema, so the threaded join runs, and the
    // conversion then refuses the column by name.
    for b in &mut input {
        let mut columns = b.columns().to_vec();
        columns[2] = columns[1].clone();
        let mut fields: Vec<_> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields[2] = fields[1].clone().with_name("score");
        *b = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch");
    }
    assert_eq!(input[0].column(2).len(), 40_000);
    let err = batches_to_container::<Row>(input).expect_err("wrong type");
    assert!(err.to_string().contains("score"), "{err}");
}
