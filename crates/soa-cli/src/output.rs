//! Query results on stdout, batch by batch: an aligned table (collected: the widths need every
//! row), CSV (RFC 4180, a header line, nulls empty) or JSON lines (one object per row).
// Only `sql` prints rows, and it needs DuckDB or ClickHouse: without them only `Format` is used.
#![cfg_attr(not(any(feature = "duckdb", feature = "clickhouse")), allow(dead_code))]

use std::io::Write;

use clap::ValueEnum;
use serde_json::{Map, Value};
use soa_persist::arrow::array::RecordBatch;
use soa_persist::arrow::datatypes::SchemaRef;

use crate::format::{json_values, table, texts};

/// How rows are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// An aligned table, for people.
    Table,
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Prints batches of one schema in `format`.
pub(crate) struct RowWriter {
    format: Format,
    schema: SchemaRef,
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    /// Rows kept for the table.
    rows: Vec<Vec<String>>,
    pub(crate) count: u64,
}

fn io_error(e: std::io::Error) -> String {
    format!("writing the output: {e}")
}

/// `text` as one CSV field: quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

impl RowWriter {
    pub(crate) fn new(format: Format, schema: SchemaRef) -> Result<Self, String> {
        let mut w = Self {
            format,
            out: std::io::BufWriter::new(std::io::stdout().lock()),
            rows: Vec::new(),
            count: 0,
            schema,
        };
        if format == Format::Csv {
            let header: Vec<String> = w
                .schema
                .fields()
                .iter()
                .map(|f| csv_field(f.name()))
                .collect();
            writeln!(w.out, "{}", header.join(",")).map_err(io_error)?;
        }
        Ok(w)
    }

    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), String> {
        self.count += batch.num_rows() as u64;
        match self.format {
            Format::Table | Format::Csv => {
                let columns = batch
                    .columns()
                    .iter()
                    .map(texts)
                    .collect::<Result<Vec<_>, _>>()?;
                for row in 0..batch.num_rows() {
                    let cells: Vec<String> = columns.iter().map(|c| c[row].clone()).collect();
                    if self.format == Format::Table {
                        self.rows.push(cells);
                    } else {
                        let line: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
                        writeln!(self.out, "{}", line.join(",")).map_err(io_error)?;
                    }
                }
            }
            Format::Jsonl => {
                let columns = batch
                    .columns()
                    .iter()
                    .map(json_values)
                    .collect::<Result<Vec<_>, _>>()?;
                for row in 0..batch.num_rows() {
                    let object: Map<String, Value> = self
                        .schema
                        .fields()
                        .iter()
                        .zip(&columns)
                        .map(|(f, c)| (f.name().clone(), c[row].clone()))
                        .collect();
                    writeln!(self.out, "{}", Value::Object(object)).map_err(io_error)?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<(), String> {
        if self.format == Format::Table {
            let mut t = table(self.schema.fields().iter().map(|f| f.name().as_str()));
            for row in std::mem::take(&mut self.rows) {
                t.add_row(row);
            }
            writeln!(self.out, "{t}").map_err(io_error)?;
            writeln!(self.out, "({} rows)", self.count).map_err(io_error)?;
        }
        self.out.flush().map_err(io_error)
    }
}
