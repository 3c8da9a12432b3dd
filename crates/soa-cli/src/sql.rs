//! `soa sql`: SQL over Parquet datasets (each attached as a DuckDB view of its current version's
//! files, partition columns included) and DuckDB database files (attached read-only), run by an
//! in-memory DuckDB (feature `duckdb`), or on a ClickHouse server (`--clickhouse`, feature
//! `clickhouse`); the result printed as a table, CSV or JSON lines, or written to Parquet.

use futures::StreamExt;
#[cfg(feature = "duckdb")]
use soa_persist::backends::duckdb::DuckDBDatabase;

use crate::Outcome;
use crate::output::{Format, RowWriter};
#[cfg(feature = "duckdb")]
use crate::source::open_dataset;

/// `'text'` as a DuckDB string constant.
#[cfg(feature = "duckdb")]
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `"name"` as a DuckDB identifier.
#[cfg(feature = "duckdb")]
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(feature = "duckdb")]
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

/// What `soa sql` was asked.
pub(crate) struct Request<'a> {
    pub(crate) query: &'a str,
    pub(crate) attachments: &'a [String],
    pub(crate) format: Format,
    pub(crate) out: Option<&'a str>,
    pub(crate) clickhouse: Option<&'a str>,
}

pub(crate) async fn run(r: Request<'_>) -> Result<Outcome, String> {
    let query = r.query.trim().trim_end_matches(';');
    if let Some(url) = r.clickhouse {
        if !r.attachments.is_empty() || r.out.is_some() {
            return Err("--clickhouse runs the query on the server: no --attach or --out".into());
        }
        return on_clickhouse(url, query, r.format).await;
    }
    #[cfg(feature = "duckdb")]
    return on_duckdb(query, r.attachments, r.format, r.out).await;
    #[cfg(not(feature = "duckdb"))]
    Err(
        "sql without --clickhouse needs DuckDB: this soa was built without the `duckdb` feature"
            .into(),
    )
}

#[cfg(feature = "clickhouse")]
async fn on_clickhouse(url: &str, query: &str, format: Format) -> Result<Outcome, String> {
    let client = crate::source::clickhouse_client(url, None).await?;
    let mut batches = client.query_batches_inferred(query);
    let first = batches
        .next()
        .await
        .transpose()
        .map_err(|e| e.to_string())?;
    let schema = first.as_ref().map_or_else(
        || std::sync::Arc::new(soa_persist::arrow::datatypes::Schema::empty()),
        |b| b.schema(),
    );
    let mut writer = RowWriter::new(format, schema)?;
    if let Some(batch) = first {
        writer.write(&batch)?;
    }
    while let Some(batch) = batches.next().await {
        writer.write(&batch.map_err(|e| e.to_string())?)?;
    }
    writer.finish()?;
    Ok(Outcome::Ok)
}

#[cfg(not(feature = "clickhouse"))]
async fn on_clickhouse(_: &str, _: &str, _: Format) -> Result<Outcome, String> {
    Err("--clickhouse: this soa was built without the `clickhouse` feature".into())
}

#[cfg(feature = "duckdb")]
async fn on_duckdb(
    query: &str,
    attachments: &[String],
    format: Format,
    out: Option<&str>,
) -> Result<Outcome, String> {
    let db = DuckDBDatabase::in_memory().map_err(|e| e.to_string())?;
    for spec in attachments {
        attach(&db, spec).await?;
    }
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
