//! `soa inspect`: what a dataset holds: version, schema (Arrow and Rust types), per-column
//! sizes and null counts, partitions and files.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use soa_persist::arrow::datatypes::FieldRef;
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

/// What `inspect` reports, gathered once for both output forms.
struct Summary {
    location: String,
    view: DatasetVersion,
    files: Vec<DataFile>,
    fields: Vec<FieldRef>,
    struct_name: Option<String>,
    key: Option<String>,
    totals: BTreeMap<String, ColumnTotals>,
    parts: BTreeMap<String, (usize, u64)>,
}

impl Summary {
    fn column(&self, name: &str) -> &ColumnTotals {
        const NONE: &ColumnTotals = &ColumnTotals {
            compressed: 0,
            uncompressed: 0,
            nulls: None,
        };
        self.totals.get(name).unwrap_or(NONE)
    }
}

pub(crate) async fn run(dataset: &ParquetDataset, as_json: bool) -> Result<Outcome, String> {
    let view = dataset.current().await.map_err(|e| e.to_string())?;
    let files = view.files();
    let schema = view.schema().await.map_err(|e| e.to_string())?;
    let meta = |key: &str| schema.as_ref().and_then(|s| s.metadata().get(key).cloned());
    let summary = Summary {
        location: dataset.location(),
        totals: totals(&view).await?,
        parts: partitions(&files),
        fields: schema
            .iter()
            .flat_map(|s| s.fields().iter().cloned())
            .collect(),
        struct_name: meta("soa.struct"),
        key: meta("soa.key"),
        view,
        files,
    };
    if as_json {
        print_json(&to_json(&summary));
    } else {
        print_text(&summary);
    }
    Ok(Outcome::Ok)
}

fn to_json(s: &Summary) -> Value {
    let columns: Vec<Value> = s
        .fields
        .iter()
        .map(|f| {
            let t = s.column(f.name());
            json!({
                "name": f.name(), "arrow_type": f.data_type().to_string(),
                "nullable": f.is_nullable(), "rust_type": rust_type(f),
                "compressed_bytes": t.compressed, "uncompressed_bytes": t.uncompressed,
                "nulls": t.nulls,
            })
        })
        .collect();
    let files: Vec<Value> = s
        .files
        .iter()
        .map(|f| json!({"path": f.path, "rows": f.rows, "bytes": f.bytes, "row_groups": f.row_groups}))
        .collect();
    let parts: Vec<Value> = s
        .parts
        .iter()
        .map(|(p, (n, rows))| json!({"partition": p, "files": n, "rows": rows}))
        .collect();
    json!({
        "location": s.location, "version": s.view.version(), "rows": s.view.rows(),
        "struct": s.struct_name, "key": s.key,
        "columns": columns, "partitions": parts, "files": files,
    })
}

fn print_text(s: &Summary) {
    println!("dataset  {}", s.location);
    println!(
        "version  {} ({} rows in {} files)",
        s.view.version(),
        s.view.rows(),
        s.files.len()
    );
    if let Some(name) = &s.struct_name {
        let key = s
            .key
            .as_ref()
            .map_or(String::new(), |k| format!(", key {k}"));
        println!("struct   {name}{key}");
    }
    let header = [
        "column",
        "arrow type",
        "rust type",
        "compressed",
        "uncompressed",
        "nulls",
    ];
    let mut t = table(header);
    for f in &s.fields {
        let c = s.column(f.name());
        // Partition columns live in folder names: no bytes, no statistics, text.
        let partition = c.nulls.is_none()
            && s.files
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
    if s.parts.keys().any(|p| !p.is_empty()) {
        let mut t = table(["partition", "files", "rows"]);
        for (p, (n, rows)) in &s.parts {
            t.add_row([p.clone(), n.to_string(), rows.to_string()]);
        }
        println!("\n{t}");
    }
    let mut t = table(["file", "rows", "size", "row groups"]);
    for f in &s.files {
        t.add_row([
            f.path.clone(),
            f.rows.to_string(),
            size(f.bytes),
            f.row_groups.to_string(),
        ]);
    }
    println!("\n{t}");
}
