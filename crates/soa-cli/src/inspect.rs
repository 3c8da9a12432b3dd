//! `soa inspect`: what a dataset holds: version, schema (Arrow and Rust types), per-column
//! sizes and null counts, partitions and files.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use soa_persist::backends::parquet::{DataFile, DatasetVersion, ParquetDataset};

use crate::Outcome;
use crate::format::{print_json, rust_type, size, table};

/// One column's totals over the live files.
#[derive(Default)]
struct ColumnTotals {
    compressed: u64,
    uncompressed: u64,
    nulls: Option<u64>,
}

/// Sizes from the log, null counts from the footers' statistics.
async fn totals(view: &DatasetVersion) -> Result<BTreeMap<String, ColumnTotals>, String> {
    let mut out: BTreeMap<String, ColumnTotals> = BTreeMap::new();
    for f in view.files() {
        for c in &f.columns {
            let t = out.entry(c.name.clone()).or_default();
            t.compressed += c.compressed;
            t.uncompressed += c.uncompressed;
        }
        let footer = view.footer(&f.path).await.map_err(|e| e.to_string())?;
        for rg in footer.metadata().row_groups() {
            for col in rg.columns() {
                let name = col.column_descr().path().parts()[0].clone();
                let nulls = col.statistics().and_then(|s| s.null_count_opt());
                let t = out.entry(name).or_default();
                t.nulls = Some(t.nulls.unwrap_or(0) + nulls.unwrap_or(0));
            }
        }
    }
    Ok(out)
}

/// Files and rows per partition, keyed by its folder path.
fn partitions(files: &[DataFile]) -> BTreeMap<String, (usize, u64)> {
    let mut out: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for f in files {
        let name = f
            .partition
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("(null)")))
            .collect::<Vec<_>>()
            .join("/");
        let p = out.entry(name).or_default();
        p.0 += 1;
        p.1 += f.rows;
    }
    out
}

pub(crate) async fn run(dataset: &ParquetDataset, as_json: bool) -> Result<Outcome, String> {
    let view = dataset.current().await.map_err(|e| e.to_string())?;
    let files = view.files();
    let schema = view.schema().await.map_err(|e| e.to_string())?;
    let totals = totals(&view).await?;
    let meta = |key: &str| schema.as_ref().and_then(|s| s.metadata().get(key).cloned());
    let fields: Vec<_> = schema
        .iter()
        .flat_map(|s| s.fields().iter().cloned())
        .collect();
    let none = ColumnTotals::default();
    let parts = partitions(&files);
    if as_json {
        let columns: Vec<Value> = fields
            .iter()
            .map(|f| {
                let t = totals.get(f.name()).unwrap_or(&none);
                json!({
                    "name": f.name(), "arrow_type": f.data_type().to_string(),
                    "nullable": f.is_nullable(), "rust_type": rust_type(f),
                    "compressed_bytes": t.compressed, "uncompressed_bytes": t.uncompressed,
                    "nulls": t.nulls,
                })
            })
            .collect();
        let file_list: Vec<Value> = files
            .iter()
            .map(|f| json!({"path": f.path, "rows": f.rows, "bytes": f.bytes, "row_groups": f.row_groups}))
            .collect();
        let part_list: Vec<Value> = parts
            .iter()
            .map(|(p, (n, rows))| json!({"partition": p, "files": n, "rows": rows}))
            .collect();
        print_json(&json!({
            "location": dataset.location(), "version": view.version(), "rows": view.rows(),
            "struct": meta("soa.struct"), "key": meta("soa.key"),
            "columns": columns, "partitions": part_list, "files": file_list,
        }));
        return Ok(Outcome::Ok);
    }
    println!("dataset  {}", dataset.location());
    println!(
        "version  {} ({} rows in {} files)",
        view.version(),
        view.rows(),
        files.len()
    );
    if let Some(name) = meta("soa.struct") {
        let key = meta("soa.key").map_or(String::new(), |k| format!(", key {k}"));
        println!("struct   {name}{key}");
    }
    let mut t = table([
        "column",
        "arrow type",
        "rust type",
        "compressed",
        "uncompressed",
        "nulls",
    ]);
    for f in &fields {
        let c = totals.get(f.name()).unwrap_or(&none);
        let partition = c.nulls.is_none()
            && files
                .iter()
                .any(|x| x.partition.iter().any(|(k, _)| k == f.name()));
        t.add_row([
            f.name().clone(),
            f.data_type().to_string(),
            if partition {
                "(partition folder)".into()
            } else {
                rust_type(f)
            },
            size(c.compressed),
            size(c.uncompressed),
            c.nulls.map_or(String::new(), |n| n.to_string()),
        ]);
    }
    println!("\n{t}");
    if parts.keys().any(|p| !p.is_empty()) {
        let mut t = table(["partition", "files", "rows"]);
        for (p, (n, rows)) in &parts {
            t.add_row([p.clone(), n.to_string(), rows.to_string()]);
        }
        println!("\n{t}");
    }
    let mut t = table(["file", "rows", "size", "row groups"]);
    for f in &files {
        t.add_row([
            f.path.clone(),
            f.rows.to_string(),
            size(f.bytes),
            f.row_groups.to_string(),
        ]);
    }
    println!("\n{t}");
    Ok(Outcome::Ok)
}
