//! Reads: `SELECT`s with pushed-down predicates streamed back as Arrow batches in the struct's
//! schema, and free SQL.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use duckdb::Connection;
use futures::stream;
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::datatypes::{Schema, SchemaRef};
use soa_persist_core::convert::ToArrow;
use soa_persist_core::query::{Expr, Predicate};
use soa_persist_core::soa::SoA;

use super::ddl::{ident, string_literal};
use super::dialect::{Where, where_clause};
use super::error::db_error;
use super::pool::NAME;
use super::{DuckDBPersistence, META_TABLE, SqlValue};
use soa_persist_api::exec::project_schema;
use soa_persist_api::exec::{Coalesce, cast_to_schema, select_by_name, split_rows};
use soa_persist_api::{BatchStream, PersistError, Scan, Stats};

impl<T: SoA> DuckDBPersistence<T> {
    /// Runs SQL and returns its result as Arrow batches.
    pub async fn sql(&self, query: &str) -> Result<Vec<RecordBatch>, PersistError> {
        self.sql_with(query, Vec::new()).await
    }

    /// Runs SQL with `?` parameters bound to `params`.
    pub async fn sql_with(
        &self,
        query: &str,
        params: Vec<SqlValue>,
    ) -> Result<Vec<RecordBatch>, PersistError> {
        let query = query.to_string();
        self.table
            .db
            .run(move |conn| {
                let mut stmt = conn.prepare(&query).map_err(db_error)?;
                stmt.execute(duckdb::params_from_iter(params))
                    .map_err(db_error)?;
                let mut batches = Vec::new();
                while let Some(array) = stmt.step().map_err(db_error)? {
                    batches.push(RecordBatch::from(&array));
                }
                Ok(batches)
            })
            .await
    }

    /// Runs SQL and reads its result as rows of `R`, a `#[derive(SoA)]` struct whose fields
    /// name the result's columns (matched by name; types converted where exact).
    pub async fn sql_as<R: SoA>(
        &self,
        query: &str,
        params: Vec<SqlValue>,
    ) -> Result<R::Container, PersistError> {
        let target = R::arrow_schema();
        let mut out = R::Container::default();
        for batch in self.sql_with(query, params).await? {
            let batch = select_by_name(&batch, &target, NAME)?;
            let mut part = R::Container::from_owned_record_batch(batch)?;
            soa_persist_core::column::Column::append(&mut out, &mut part);
        }
        Ok(out)
    }

    /// `scan` as a `SELECT` of its columns with its predicate as `WHERE`, streamed.
    pub(super) fn scan_stream(&self, scan: Scan<T>) -> Result<BatchStream, PersistError> {
        let target = project_schema(&self.table.schema, scan.projection.as_deref(), NAME)?;
        let columns = column_list(&target);
        let (sql, params) = self.select(&columns, scan.predicate.expr())?;
        Ok(self.stream(sql, params, target, scan.batch_size, false))
    }

    pub(super) async fn count_rows(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        let (sql, params) = self.select("count(*)", predicate.expr())?;
        self.table
            .db
            .run(move |conn| {
                let n: i64 = conn
                    .query_row(&sql, duckdb::params_from_iter(params), |r| r.get(0))
                    .map_err(db_error)?;
                Ok(n as u64)
            })
            .await
    }

    pub(super) fn select(
        &self,
        columns: &str,
        expr: &Expr,
    ) -> Result<(String, Vec<SqlValue>), PersistError> {
        let Where { sql, params } = where_clause(expr, &self.table.schema, &self.table.name)?;
        let filter = if matches!(expr, Expr::True) {
            String::new()
        } else {
            format!(" WHERE {sql}")
        };
        Ok((
            format!("SELECT {columns} FROM {}{filter}", ident(&self.table.name)),
            params,
        ))
    }

    pub(super) async fn is_written(&self) -> Result<bool, PersistError> {
        if self.table.written.load(Ordering::Acquire) {
            return Ok(true);
        }
        let table = self.table.arc().clone();
        let written = self
            .table
            .db
            .run(move |conn| {
                // Our record table is missing only in a database this library never wrote
                // (opened read-only); any other failure to read it is an error.
                let has_meta: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? \
                         AND schema_name = current_schema() AND database_name = current_database()",
                        [META_TABLE],
                        |r| r.get(0),
                    )
                    .map_err(db_error)?;
                if has_meta > 0 {
                    let recorded: i64 = conn
                        .query_row(
                            &format!("SELECT count(*) FROM {} WHERE name = ?", ident(META_TABLE)),
                            [&table.name],
                            |r| r.get(0),
                        )
                        .map_err(db_error)?;
                    if recorded > 0 {
                        return Ok(true);
                    }
                }
                // A table written by someone else (no record of ours): stored if non-empty.
                let any = scalar(
                    conn,
                    &format!(
                        "SELECT count(*) FROM (SELECT 1 FROM {} LIMIT 1)",
                        ident(&table.name)
                    ),
                )?;
                Ok(any > 0)
            })
            .await?;
        if written {
            self.table.written.store(true, Ordering::Release);
        }
        Ok(written)
    }

    /// Streams the result of `sql` converted to `target`, in batches of `read_batch_rows`
    /// (at most `limit` rows each when set). `materialize` runs the query to completion first
    /// (in parallel; for results the caller keeps whole anyway), otherwise DuckDB produces
    /// rows as they are read (memory bounded by a few chunks).
    pub(super) fn stream(
        &self,
        sql: String,
        params: Vec<SqlValue>,
        target: SchemaRef,
        limit: Option<usize>,
        materialize: bool,
    ) -> BatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, PersistError>>(2);
        let error_tx = tx.clone();
        let db = self.table.db.clone();
        let merge_to = limit.unwrap_or(self.table.options.read_batch_rows.max(1));
        tokio::task::spawn_blocking(move || {
            let run = move || -> Result<(), PersistError> {
                let conn = db.get()?;
                let mut stmt = conn.prepare(&sql).map_err(db_error)?;
                let mut merged = Coalesce::new(merge_to);
                // Takes one DuckDB chunk; false when the reader is gone.
                let mut take = |chunk: RecordBatch| match merged.push(chunk)? {
                    Some(batch) => send(&tx, batch, &target, merge_to),
                    None => Ok(true),
                };
                if materialize {
                    // DuckDB runs the whole query on all threads, then hands out chunks.
                    stmt.execute(duckdb::params_from_iter(params))
                        .map_err(db_error)?;
                    while let Some(array) = stmt.step().map_err(db_error)? {
                        if !take(RecordBatch::from(&array))? {
                            return Ok(());
                        }
                    }
                } else {
                    let chunks = stmt
                        .stream_arrow(duckdb::params_from_iter(params))
                        .map_err(db_error)?;
                    for chunk in chunks {
                        if !take(chunk.map_err(db_error)?)? {
                            return Ok(());
                        }
                    }
                }
                // Give the connection back before the last batch: once a reader has seen the
                // end, the database may be closed and reopened (by another process, too).
                drop(stmt);
                drop(conn);
                drop(db);
                if let Some(batch) = merged.finish()? {
                    send(&tx, batch, &target, merge_to)?;
                }
                Ok(())
            };
            if let Err(e) = run() {
                let _ = error_tx.blocking_send(Err(e));
            }
        });
        Box::pin(stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }))
    }

    /// Rows, row groups, memory and file sizes; any failure to find them out is an error.
    pub(super) async fn stats_now(&self) -> Result<Stats, PersistError> {
        let table = self.table.arc().clone();
        self.table
            .db
            .run(move |conn| {
                let rows = scalar(
                    conn,
                    &format!("SELECT count(*) FROM {}", ident(&table.name)),
                )?;
                // Row groups, from the storage layer (DuckDB does not report column sizes).
                let row_groups = scalar(
                    conn,
                    &format!(
                        "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info({})",
                        string_literal(&table.name)
                    ),
                )?;
                let row_groups = row_groups as u64;
                let memory = scalar(
                    conn,
                    "SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory()",
                )?;
                let disk = match table.db.path() {
                    Some(p) => Some(file_size(p)? + file_size(&wal_path(p))?),
                    None => None,
                };
                Ok(Stats {
                    backend: NAME,
                    rows: rows as u64,
                    batches: row_groups,
                    files: table.db.path().map(|_| 1),
                    row_groups: Some(row_groups),
                    bytes_in_memory: memory as u64,
                    bytes_on_disk: disk,
                    buffered_rows: 0,
                    columns: Vec::new(),
                })
            })
            .await
    }
}

/// Hands `batch`, in `target`'s types, to the reader in slices of at most `size` rows; false
/// when the reader went away.
fn send(
    tx: &tokio::sync::mpsc::Sender<Result<RecordBatch, PersistError>>,
    batch: RecordBatch,
    target: &SchemaRef,
    size: usize,
) -> Result<bool, PersistError> {
    let batch = cast_to_schema(batch, target, NAME)?;
    for part in split_rows(batch, Some(size)) {
        if tx.blocking_send(Ok(part)).is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `"a", "b", ...`: a schema's columns, quoted.
pub(super) fn column_list(schema: &Schema) -> String {
    let names: Vec<String> = schema.fields().iter().map(|f| ident(f.name())).collect();
    names.join(", ")
}

/// The one integer a query returns.
fn scalar(conn: &Connection, sql: &str) -> Result<i64, PersistError> {
    conn.query_row(sql, [], |r| r.get(0)).map_err(db_error)
}

/// The size of a file; a missing one (no write-ahead log right now) is empty.
fn file_size(p: &Path) -> Result<u64, PersistError> {
    match std::fs::metadata(p) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(source) => Err(PersistError::Io {
            backend: NAME,
            path: Some(p.to_path_buf()),
            source,
        }),
    }
}

fn wal_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".wal");
    PathBuf::from(s)
}
