//! `soa head`: the first rows of a version as an aligned table or JSON objects.

use std::time::SystemTime;

use serde_json::{Map, Value};
use soa_persist::arrow::array::{ArrayRef, RecordBatch};
use soa_persist::backends::parquet::ParquetDataset;

use crate::Outcome;
use crate::filter::Filter;
use crate::format::{json_values, print_json, table, texts};

/// Which rows `head` shows.
pub(crate) struct Rows {
    pub(crate) limit: usize,
    pub(crate) version: Option<u64>,
    pub(crate) as_of: Option<SystemTime>,
    pub(crate) filter: Option<Filter>,
}

pub(crate) async fn run(
    dataset: &ParquetDataset,
    what: Rows,
    json: bool,
) -> Result<Outcome, String> {
    let view = match (what.version, what.as_of) {
        (Some(v), _) => dataset.at_version(v).await,
        (None, Some(t)) => dataset.as_of(t).await,
        (None, None) => dataset.current().await,
    }
    .map_err(|e| e.to_string())?;
    let batches = match &what.filter {
        None => view
            .read(Some(what.limit))
            .await
            .map_err(|e| e.to_string())?,
        Some(filter) => {
            if let Some(schema) = view.schema().await.map_err(|e| e.to_string())? {
                filter.check(&schema)?;
            }
            let mut left = what.limit;
            let mut out = Vec::new();
            for batch in view.read(None).await.map_err(|e| e.to_string())? {
                let kept = filter.apply(&batch)?;
                let kept = kept.slice(0, kept.num_rows().min(left));
                left -= kept.num_rows();
                out.push(kept);
            }
            out
        }
    };
    if json {
        print_json(&Value::Array(json_rows(&batches)?));
        return Ok(Outcome::Ok);
    }
    let Some(first) = batches.first() else {
        println!("(no rows at version {})", view.version());
        return Ok(Outcome::Ok);
    };
    let schema = first.schema();
    let mut t = table(schema.fields().iter().map(|f| f.name().as_str()));
    for row in cells(&batches, texts)? {
        t.add_row(row);
    }
    println!("{t}");
    Ok(Outcome::Ok)
}

/// Every row of `batches` as its cells, each column rendered by `render`.
fn cells<V>(
    batches: &[RecordBatch],
    render: fn(&ArrayRef) -> Result<Vec<V>, String>,
) -> Result<Vec<Vec<V>>, String> {
    let mut out = Vec::new();
    for batch in batches {
        let mut columns = batch
            .columns()
            .iter()
            .map(|c| render(c).map(Vec::into_iter))
            .collect::<Result<Vec<_>, _>>()?;
        for _ in 0..batch.num_rows() {
            out.push(columns.iter_mut().filter_map(Iterator::next).collect());
        }
    }
    Ok(out)
}

fn json_rows(batches: &[RecordBatch]) -> Result<Vec<Value>, String> {
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let schema = first.schema();
    Ok(cells(batches, json_values)?
        .into_iter()
        .map(|row| {
            let object: Map<String, Value> = schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .zip(row)
                .collect();
            Value::Object(object)
        })
        .collect())
}
