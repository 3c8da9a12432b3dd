//! `soa inspect` of a database rather than a dataset: a DuckDB file (feature `duckdb`) or a
//! ClickHouse server's database (feature `clickhouse`): each table's rows, key and columns
//! (the database's type, the Arrow type and the Rust type `soa gen` would write).

use serde_json::{Value, json};
use soa_persist::codegen::TableShape;

use crate::Outcome;
use crate::format::{print_json, rust_type, table};

/// A database `inspect` lists the tables of, when `text` names one: `duckdb:<file>`, a
/// `.duckdb` / `.db` file, or `clickhouse:<url>[#<database>]`.
pub(crate) fn is_database(text: &str) -> bool {
    text.starts_with("duckdb:")
        || text.starts_with("clickhouse:")
        || text.ends_with(".duckdb")
        || text.ends_with(".db")
}

/// One table as inspected.
struct TableInfo {
    name: String,
    rows: u64,
    shape: TableShape,
}

pub(crate) async fn run(text: &str, as_json: bool) -> Result<Outcome, String> {
    let tables = if let Some(rest) = text.strip_prefix("clickhouse:") {
        clickhouse_tables(rest).await?
    } else {
        duckdb_tables(text.strip_prefix("duckdb:").unwrap_or(text)).await?
    };
    if as_json {
        print_json(&json!({
            "location": text,
            "tables": tables.iter().map(to_json).collect::<Vec<_>>(),
        }));
    } else {
        print_text(text, &tables);
    }
    Ok(Outcome::Ok)
}

fn to_json(t: &TableInfo) -> Value {
    let columns: Vec<Value> = t
        .shape
        .schema
        .fields()
        .iter()
        .map(|f| {
            json!({
                "name": f.name(), "arrow_type": f.data_type().to_string(),
                "nullable": f.is_nullable(), "rust_type": rust_type(f),
                "partition": t.shape.partition.contains(f.name()),
            })
        })
        .collect();
    json!({"name": t.name, "rows": t.rows, "key": t.shape.key, "columns": columns})
}

fn print_text(location: &str, tables: &[TableInfo]) {
    println!("database {location}, {} tables", tables.len());
    for t in tables {
        println!();
        let key = t.shape.key.as_deref().unwrap_or("none");
        println!("table {}: {} rows, key {key}", t.name, t.rows);
        let mut out = table(["column", "arrow type", "rust type", "partition"]);
        for f in t.shape.schema.fields() {
            let partition = if t.shape.partition.contains(f.name()) {
                "yes"
            } else {
                ""
            };
            out.add_row([
                f.name().clone(),
                f.data_type().to_string(),
                rust_type(f),
                partition.to_string(),
            ]);
        }
        println!("{out}");
    }
}

#[cfg(feature = "duckdb")]
async fn duckdb_tables(file: &str) -> Result<Vec<TableInfo>, String> {
    use soa_persist::arrow::array::{Array, Int64Array};
    use soa_persist::backends::duckdb::DuckDBDatabase;
    use soa_persist::codegen::duckdb_shape;
    if !std::path::Path::new(file).is_file() {
        return Err(format!("{file}: no such DuckDB file"));
    }
    let err = |e: soa_persist::PersistError| e.to_string();
    let db = DuckDBDatabase::open(file, true).map_err(err)?;
    let mut out = Vec::new();
    for name in db.tables().await.map_err(err)? {
        let shape = duckdb_shape(&db, &name).await.map_err(err)?;
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        let (_, batches) = db
            .sql(&format!("SELECT count(*)::BIGINT FROM {quoted}"))
            .await
            .map_err(err)?;
        let rows = batches
            .first()
            .and_then(|b| b.column(0).as_any().downcast_ref::<Int64Array>().cloned())
            .filter(|a| !a.is_empty())
            .map_or(0, |a| a.value(0).max(0) as u64);
        out.push(TableInfo { name, rows, shape });
    }
    Ok(out)
}

#[cfg(not(feature = "duckdb"))]
async fn duckdb_tables(file: &str) -> Result<Vec<TableInfo>, String> {
    Err(format!(
        "{file} is a DuckDB database: this soa was built without the `duckdb` feature"
    ))
}

#[cfg(feature = "clickhouse")]
async fn clickhouse_tables(rest: &str) -> Result<Vec<TableInfo>, String> {
    use soa_persist::codegen::clickhouse_shape;
    let (url, database) = match rest.rsplit_once('#') {
        Some((url, db)) if !db.is_empty() => (url, Some(db)),
        Some((url, _)) => (url, None),
        None => (rest, None),
    };
    let client = crate::source::clickhouse_client(url, database).await?;
    let err = |e: soa_persist::PersistError| e.to_string();
    let names = client
        .query_text(
            "SELECT name FROM system.tables WHERE database = currentDatabase() \
             ORDER BY name FORMAT TabSeparated",
        )
        .await
        .map_err(err)?;
    let mut out = Vec::new();
    // Names with tabs, newlines or backslashes (escaped in TabSeparated) are not listed.
    for name in names.lines().filter(|l| !l.is_empty() && !l.contains('\\')) {
        let name = name.to_string();
        let shape = clickhouse_shape(&client, &name).await.map_err(err)?;
        let quoted = format!("`{}`", name.replace('`', "\\`"));
        let count = client
            .query_text(&format!("SELECT count() FROM {quoted} FORMAT TabSeparated"))
            .await
            .map_err(err)?;
        let rows = count.trim().parse().unwrap_or(0);
        out.push(TableInfo { name, rows, shape });
    }
    Ok(out)
}

#[cfg(not(feature = "clickhouse"))]
async fn clickhouse_tables(rest: &str) -> Result<Vec<TableInfo>, String> {
    Err(format!(
        "clickhouse:{rest} is a ClickHouse server: this soa was built without the `clickhouse` \
         feature"
    ))
}
