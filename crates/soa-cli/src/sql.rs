//! `soa sql`: SQL over Parquet datasets (each attached as a DuckDB view of its current version's
//! files, partition columns included) and DuckDB database files (attached read-only), run by an
//! in-memory DuckDB; the result printed as a table, CSV or JSON lines, or written to Parquet.

use futures::StreamExt;
use soa_persist::backends::duckdb::DuckDBDatabase;

use crate::Outcome;
use crate::output::{Format, RowWriter};
use crate::source::open_dataset;

/// `'text'` as a DuckDB string constant.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `"name"` as a DuckDB identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Attaches `name=<dataset>` (a view) or `name=<file>.duckdb` (a database, read-only).
async fn attach(db: &DuckDBDatabase, spec: &str) -> Result<(), String> {
    let (name, target) = spec
        .split_once('=')
        .filter(|(n, t)| !n.is_empty() && !t.is_empty())
        .ok_or_else(|| {
            format!("--attach {spec}: expected name=<dataset folder or .duckdb file>")
        })?;
    let file = target.strip_prefix("duckdb:").unwrap_or(target);
    if file != target || file.ends_with(".duckdb") || file.ends_with(".db") {
        if !std::path::Path::new(file).is_file() {
            return Err(format!(
                "--attach {spec}: {file} is not a DuckDB database file"
            ));
        }
        let statement = format!("ATTACH {} AS {} (READ_ONLY)", quoted(file), ident(name));
        db.execute(&statement).await.map_err(|e| e.to_string())?;
        return Ok(());
    }
    if target.contains("://") && !target.starts_with("file://") {
        return Err(format!(
            "--attach {spec}: only datasets on local disk can be attached"
        ));
    }
    let dataset = open_dataset(target)?;
    let version = dataset.current().await.map_err(|e| e.to_string())?;
    let root = std::path::PathBuf::from(target.strip_prefix("file://").unwrap_or(target));
    db.attach_dataset(name, &root, &version)
        .await
        .map_err(|e| format!("--attach {spec}: {e}"))
}

pub(crate) async fn run(
    query: &str,
    attachments: &[String],
    format: Format,
    out: Option<&str>,
) -> Result<Outcome, String> {
    let db = DuckDBDatabase::in_memory().map_err(|e| e.to_string())?;
    for spec in attachments {
        attach(&db, spec).await?;
    }
    let query = query.trim().trim_end_matches(';');
    if let Some(path) = out {
        let statement = format!("COPY ({query}) TO {} (FORMAT parquet)", quoted(path));
        let rows = db.execute(&statement).await.map_err(|e| e.to_string())?;
        eprintln!("wrote {rows} rows to {path}");
        return Ok(Outcome::Ok);
    }
    let (schema, mut batches) = db.sql_stream(query).await.map_err(|e| e.to_string())?;
    let mut writer = RowWriter::new(format, schema)?;
    while let Some(batch) = batches.next().await {
        writer.write(&batch.map_err(|e| e.to_string())?)?;
    }
    writer.finish()?;
    Ok(Outcome::Ok)
}
