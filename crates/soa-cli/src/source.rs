//! Where `gen`, `sql` and `convert` read from and write to: a Parquet dataset (a folder or a
//! URL), with the `duckdb` feature a DuckDB table, written `duckdb:<file>#<table>` (or a
//! `.duckdb` / `.db` file with `--table`), and with the `clickhouse` feature a ClickHouse table,
//! `clickhouse:<url>#[<database>.]<table>`.

use soa_persist::backends::parquet::ParquetDataset;

/// A source of rows.
pub(crate) enum Source {
    Parquet(ParquetDataset),
    #[cfg(feature = "duckdb")]
    DuckDB {
        db: soa_persist::backends::duckdb::DuckDBDatabase,
        table: String,
    },
    #[cfg(feature = "clickhouse")]
    ClickHouse {
        client: Box<soa_persist::backends::clickhouse::ClickHouseClient>,
        table: String,
    },
}

/// A ClickHouse server at `url`, in `database` if given.
#[cfg(feature = "clickhouse")]
pub(crate) async fn clickhouse_client(
    url: &str,
    database: Option<&str>,
) -> Result<soa_persist::backends::clickhouse::ClickHouseClient, String> {
    use soa_persist::backends::clickhouse::{ClickHouseClient, ClickHouseConfig};
    let mut config = ClickHouseConfig::new(url);
    if let Some(db) = database {
        config = config.with_database(db);
    }
    ClickHouseClient::connect(config)
        .await
        .map_err(|e| e.to_string())
}

/// `duckdb:<file>#<table>`, or a `.duckdb` / `.db` file with the table given apart: the file
/// and the table, if `text` names a DuckDB table at all.
pub(crate) fn duckdb_target(
    text: &str,
    table: Option<&str>,
) -> Result<Option<(String, String)>, String> {
    let (file, from_text) = match text.strip_prefix("duckdb:") {
        Some(rest) => match rest.rsplit_once('#') {
            Some((file, t)) => (file, Some(t)),
            None => (rest, None),
        },
        None if text.ends_with(".duckdb") || text.ends_with(".db") => (text, None),
        None => return Ok(None),
    };
    match from_text.or(table) {
        Some(t) if !t.is_empty() => Ok(Some((file.to_string(), t.to_string()))),
        _ => Err(format!(
            "{text} is a DuckDB database: name the table (`duckdb:{file}#orders` or --table orders)"
        )),
    }
}

/// `clickhouse:<url>#[<database>.]<table>`: the server, the database and the table, if `text`
/// names a ClickHouse table at all.
pub(crate) fn clickhouse_target(
    text: &str,
) -> Result<Option<(String, Option<String>, String)>, String> {
    let Some(rest) = text.strip_prefix("clickhouse:") else {
        return Ok(None);
    };
    let Some((url, table)) = rest.rsplit_once('#').filter(|(_, t)| !t.is_empty()) else {
        return Err(format!(
            "{text}: name the table, clickhouse:<url>#[<database>.]<table>"
        ));
    };
    let (database, table) = match table.split_once('.') {
        Some((db, t)) => (Some(db.to_string()), t),
        None => (None, table),
    };
    Ok(Some((url.to_string(), database, table.to_string())))
}

/// A Parquet dataset: a folder or a URL.
pub(crate) fn open_dataset(text: &str) -> Result<ParquetDataset, String> {
    if text.contains("://") {
        ParquetDataset::open_url(text)
    } else {
        ParquetDataset::open(text)
    }
    .map_err(|e| e.to_string())
}

impl Source {
    /// The source `text` names (`table` for a DuckDB file given by name).
    pub(crate) async fn parse(text: &str, table: Option<&str>) -> Result<Self, String> {
        if let Some((url, database, table)) = clickhouse_target(text)? {
            #[cfg(feature = "clickhouse")]
            {
                let client = clickhouse_client(&url, database.as_deref()).await?;
                return Ok(Self::ClickHouse {
                    client: Box::new(client),
                    table,
                });
            }
            #[cfg(not(feature = "clickhouse"))]
            return Err(format!(
                "{url}#{}{table} is a ClickHouse table: this soa was built without the \
                 `clickhouse` feature",
                database.map_or(String::new(), |d| d + ".")
            ));
        }
        match duckdb_target(text, table)? {
            None => Ok(Self::Parquet(open_dataset(text)?)),
            #[cfg(feature = "duckdb")]
            Some((file, table)) => {
                let db = soa_persist::backends::duckdb::DuckDBDatabase::open(&file, true)
                    .map_err(|e| e.to_string())?;
                Ok(Self::DuckDB { db, table })
            }
            #[cfg(not(feature = "duckdb"))]
            Some(_) => Err(format!(
                "{text} is a DuckDB table: this soa was built without the `duckdb` feature"
            )),
        }
    }
}
