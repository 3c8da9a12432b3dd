//! Table helpers for the server tests: create a table with the columns a schema maps to on the
//! connected server (fallback notes as column comments), select its columns in order, read
//! `Row`s back checking every batch's schema.
#![allow(dead_code)]

use futures::TryStreamExt;
use soa_persist::arrow::array::RecordBatch;
use soa_persist::arrow::datatypes::{Schema, SchemaRef};
use soa_persist::backends::clickhouse::*;
use soa_persist::prelude::*;

use super::model::{Row, RowSoA};

/// Creates `table` with the columns `schema` maps to on this server; the encoder for it.
pub async fn create_table(
    client: &ClickHouseClient,
    table: &str,
    schema: &SchemaRef,
    opts: &TypeOptions,
) -> BlockEncoder {
    let columns = table_columns(schema, client.caps(), opts).unwrap();
    let defs: Vec<String> = columns
        .iter()
        .map(|c| {
            let comment = c
                .note
                .as_deref()
                .map(|n| format!(" COMMENT {}", quote_string(n)))
                .unwrap_or_default();
            format!("{} {}{comment}", quote_identifier(&c.name), c.ch_type)
        })
        .collect();
    let sql = format!(
        "CREATE TABLE {table} ({}) ENGINE = MergeTree ORDER BY id",
        defs.join(", ")
    );
    client
        .execute(&sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    BlockEncoder::new(
        schema.clone(),
        columns.into_iter().map(|c| c.ch_type).collect(),
    )
    .unwrap()
}

pub fn select(schema: &Schema, table: &str) -> String {
    let names: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| quote_identifier(f.name()))
        .collect();
    format!("SELECT {} FROM {table} ORDER BY id", names.join(", "))
}

pub async fn read_rows(client: &ClickHouseClient, table: &str) -> (RowSoA, usize) {
    let batches: Vec<RecordBatch> = client
        .query_batches(&select(&Row::arrow_schema(), table), Row::arrow_schema())
        .try_collect()
        .await
        .unwrap();
    let mut all = RowSoA::new();
    for b in &batches {
        assert_eq!(b.schema(), Row::arrow_schema());
        all.append(&mut RowSoA::from_record_batch(b).unwrap());
    }
    (all, batches.len())
}
