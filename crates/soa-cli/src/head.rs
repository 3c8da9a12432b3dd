//! `soa head`: the first rows of a version as an aligned table or JSON objects.

use serde_json::{Map, Value};
use soa_persist::arrow::array::RecordBatch;
use soa_persist::backends::parquet::ParquetDataset;

use crate::Outcome;
use crate::format::{json_values, print_json, table, texts};

pub(crate) async fn run(
    dataset: &ParquetDataset,
    rows: usize,
    version: Option<u64>,
    json: bool,
) -> Result<Outcome, String> {
    let view = match version {
        Some(v) => dataset.at_version(v).await,
        None => dataset.current().await,
    }
    .map_err(|e| e.to_string())?;
    let batches = view.read(Some(rows)).await.map_err(|e| e.to_string())?;
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
    for batch in &batches {
        let columns = batch
            .columns()
            .iter()
            .map(|c| texts(c.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            t.add_row(columns.iter().map(|c| c[row].as_str()));
        }
    }
    println!("{t}");
    Ok(Outcome::Ok)
}

fn json_rows(batches: &[RecordBatch]) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        let columns = batch
            .columns()
            .iter()
            .map(|c| json_values(c.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            let object: Map<String, Value> = schema
                .fields()
                .iter()
                .zip(&columns)
                .map(|(f, c)| (f.name().clone(), c[row].clone()))
                .collect();
            out.push(Value::Object(object));
        }
    }
    Ok(out)
}
