//! `DuckDBPersistence`: rows of a struct in a table of an embedded DuckDB database (a file or
//! in memory), with SQL analytics over them.
//!
//! Writes hand whole Arrow batches to DuckDB (an Arrow table scan or the Arrow appender, never
//! row by row), each write in one transaction: a constraint violation (duplicate key) rolls it
//! back entirely. Reads push typed predicates down as `WHERE` clauses with bound parameters and
//! stream DuckDB's Arrow results back in the struct's schema. Each task gets its own
//! connection (`try_clone`), so readers run in parallel; writers of one handle take turns.

mod ddl;
mod filter;
mod pool;
mod scan;

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use duckdb::Connection;
use futures::stream;
use soa_persist_core::arrow::array::{
    ArrayData, ArrayRef, RecordBatch, RecordBatchOptions, UInt64Array, make_array,
};
use soa_persist_core::arrow::compute::{CastOptions, cast_with_options, concat_batches};
use soa_persist_core::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use soa_persist_core::convert::ToArrow;
use soa_persist_core::query::{Expr, Predicate};
use soa_persist_core::schema::{META_STRUCT, key_field};
use soa_persist_core::soa::SoA;

pub use duckdb::types::Value as SqlValue;

use self::ddl::{ident, sql_type, string_literal};
use self::filter::{Where, where_clause};
use self::pool::{Db, NAME, OpenConfig, db_error, in_transaction};
use self::scan::{ARROW_SCAN, Registered};
use crate::persist::{BatchStream, PersistError, Scan, SoAPersistence, Stats, collect, conform};

/// Records which tables were ever written, so that `load` can tell "never stored" (`None`)
/// from "stored, now empty".
const META_TABLE: &str = "_soa_tables";
/// DuckDB produces 2048-row chunks; reads merge them up to this many rows per batch.
const DEFAULT_READ_BATCH_ROWS: usize = 64 * 1024;

/// How writes hand Arrow batches to DuckDB (both in one transaction per write; the bench
/// `duckdb` measures them against each other).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ingest {
    /// `INSERT INTO t SELECT * FROM <arrow scan of the batch>`: DuckDB casts, checks and
    /// inserts in its own pipeline. The default.
    #[default]
    ArrowScan,
    /// DuckDB's appender fed with data chunks converted from the batch.
    Appender,
}

/// Settings of a `DuckDBPersistence`.
#[derive(Clone, Debug)]
pub struct DuckDBOptions {
    /// The table's name; by default the struct's name in snake_case (`OrderLine` ->
    /// `order_line`). Any string works: it is always quoted.
    pub table: Option<String>,
    pub ingest: Ingest,
    /// Opens the database read-only: reads and `sql` work, writes fail.
    pub read_only: bool,
    /// DuckDB worker threads (all cores by default).
    pub threads: Option<usize>,
    /// DuckDB's memory limit, e.g. `"4GB"` (80% of RAM by default).
    pub memory_limit: Option<String>,
    /// Rows per batch returned by reads when the caller does not ask for a size.
    pub read_batch_rows: usize,
    /// Keep rows in the order they were written (DuckDB's `preserve_insertion_order`). Off
    /// lets large writes convert and insert on all threads; reads have no order either way
    /// unless the SQL says `ORDER BY`.
    pub preserve_insertion_order: bool,
}

impl Default for DuckDBOptions {
    fn default() -> Self {
        Self {
            table: None,
            ingest: Ingest::default(),
            read_only: false,
            threads: None,
            memory_limit: None,
            read_batch_rows: DEFAULT_READ_BATCH_ROWS,
            preserve_insertion_order: true,
        }
    }
}

struct Table {
    db: Arc<Db>,
    name: String,
    /// The struct's schema (what users see).
    schema: SchemaRef,
    /// What DuckDB is handed on writes: enums as their names, nanosecond instants without zone.
    ingest_schema: SchemaRef,
    /// `"a", "b", ...`: every statement names its columns, so the table may order them
    /// differently or carry extra optional ones.
    columns: String,
    options: DuckDBOptions,
    writer: tokio::sync::Mutex<()>,
    written: AtomicBool,
}

/// Rows of `T` in a DuckDB table; a cheap clonable handle (clones share the database).
pub struct DuckDBPersistence<T> {
    table: Arc<Table>,
    _rows: PhantomData<fn() -> T>,
}

impl<T> Clone for DuckDBPersistence<T> {
    fn clone(&self) -> Self {
        Self {
            table: self.table.clone(),
            _rows: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for DuckDBPersistence<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckDBPersistence")
            .field("path", &self.table.db.path())
            .field("table", &self.table.name)
            .finish()
    }
}

impl<T: SoA> DuckDBPersistence<T> {
    /// The database file at `path` (created if missing), table named after the struct.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, PersistError> {
        Self::open_with(Some(path.as_ref()), DuckDBOptions::default())
    }

    /// A fresh in-memory database (shared by this handle's clones, gone when the last drops).
    pub fn in_memory() -> Result<Self, PersistError> {
        Self::open_with(None, DuckDBOptions::default())
    }

    /// A file database (`Some(path)`) or an in-memory one (`None`) with these settings.
    pub fn open_with(path: Option<&Path>, options: DuckDBOptions) -> Result<Self, PersistError> {
        let db = Db::open(
            path,
            &OpenConfig {
                read_only: options.read_only,
                threads: options.threads,
                memory_limit: options.memory_limit.clone(),
                preserve_insertion_order: options.preserve_insertion_order,
            },
        )?;
        Self::on(db, options)
    }

    /// A handle for another struct's table in the same database.
    pub fn table_for<U: SoA>(
        &self,
        table: Option<&str>,
    ) -> Result<DuckDBPersistence<U>, PersistError> {
        let options = DuckDBOptions {
            table: table.map(str::to_string),
            ..self.table.options.clone()
        };
        DuckDBPersistence::<U>::on(self.table.db.clone(), options)
    }

    fn on(db: Arc<Db>, options: DuckDBOptions) -> Result<Self, PersistError> {
        let schema = T::arrow_schema();
        let name = options.table.clone().unwrap_or_else(|| {
            ddl::snake_case(
                schema
                    .metadata()
                    .get(META_STRUCT)
                    .map(String::as_str)
                    .unwrap_or("rows"),
            )
        });
        if name.is_empty() || name.contains('\0') {
            return Err(PersistError::SchemaMismatch {
                backend: NAME,
                detail: format!("invalid table name {name:?}"),
            });
        }
        let conn = db.get()?;
        if !db.read_only() {
            conn.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {} (name VARCHAR PRIMARY KEY, struct VARCHAR)",
                ident(META_TABLE)
            ))
            .map_err(db_error)?;
        }
        ddl::ensure_table(&conn, &name, &schema, db.read_only())?;
        drop(conn);
        let ingest_schema = Arc::new(Schema::new(
            schema
                .fields()
                .iter()
                .map(|f| ingest_field(f))
                .collect::<Vec<_>>(),
        ));
        let columns = column_list(&schema);
        Ok(Self {
            table: Arc::new(Table {
                db,
                name,
                schema,
                ingest_schema,
                columns,
                options,
                writer: tokio::sync::Mutex::new(()),
                written: AtomicBool::new(false),
            }),
            _rows: PhantomData,
        })
    }

    /// The table's name.
    pub fn table_name(&self) -> &str {
        &self.table.name
    }

    /// The database file, `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.table.db.path()
    }

    /// Inserts `rows`, replacing stored rows with the same key (the last of equal keys in
    /// `rows` wins), in one transaction. Needs a `#[soa(key)]` field.
    pub async fn upsert(&self, rows: T::Container) -> Result<(), PersistError> {
        self.upsert_batches(vec![rows.into_record_batch()?]).await
    }

    /// `upsert` of Arrow batches in the struct's schema.
    pub async fn upsert_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        if key_field(&self.table.schema).is_none() {
            return Err(PersistError::SchemaMismatch {
                backend: NAME,
                detail: format!(
                    "upsert into {} needs a #[soa(key)] field",
                    ident(&self.table.name)
                ),
            });
        }
        self.write(batches, Mode::Upsert).await
    }

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
            let batch = by_name(batch, &target)?;
            let mut part = R::Container::from_owned_record_batch(batch)?;
            soa_persist_core::column::Column::append(&mut out, &mut part);
        }
        Ok(out)
    }

    /// Makes the files of a Parquet dataset queryable as the view `view` (its current
    /// snapshot: re-attach after later writes), partition columns included, so SQL runs over
    /// the files directly. Local datasets only.
    #[cfg(feature = "parquet")]
    pub async fn attach_parquet<U: SoA>(
        &self,
        view: &str,
        dataset: &crate::ParquetPersistence<U>,
    ) -> Result<(), PersistError> {
        let files = dataset
            .live_files()
            .await?
            .ok_or_else(|| PersistError::Backend {
                backend: NAME,
                message: format!(
                    "attach_parquet: dataset {} is not on local disk",
                    dataset.location()
                ),
                retryable: false,
            })?;
        let sql = parquet_view_sql(view, &U::arrow_schema(), &files)?;
        self.table
            .db
            .run(move |conn| conn.execute_batch(&sql).map_err(db_error))
            .await
    }

    /// Folds the write-ahead log into the database file (commits are durable without it).
    pub async fn checkpoint(&self) -> Result<(), PersistError> {
        self.table
            .db
            .run(|conn| conn.execute_batch("CHECKPOINT").map_err(db_error))
            .await
    }

    async fn write(&self, batches: Vec<RecordBatch>, mode: Mode) -> Result<(), PersistError> {
        let prepared = batches
            .into_iter()
            .filter(|b| b.num_rows() > 0)
            .map(|b| self.prepare(b))
            .collect::<Result<Vec<_>, _>>()?;
        let _turn = self.table.writer.lock().await;
        let table = self.table.clone();
        self.table
            .db
            .run(move |conn| {
                in_transaction(conn, |c| {
                    if mode == Mode::Replace {
                        c.execute(&format!("DELETE FROM {}", ident(&table.name)), [])
                            .map_err(db_error)?;
                    }
                    if !table.written.load(Ordering::Acquire) {
                        mark_written(c, &table)?;
                    }
                    for batch in prepared {
                        insert(c, &table, batch, mode)?;
                    }
                    Ok(())
                })?;
                table.written.store(true, Ordering::Release);
                Ok(())
            })
            .await
    }

    /// `batch` conformed to the struct, then in the form DuckDB is handed.
    fn prepare(&self, batch: RecordBatch) -> Result<RecordBatch, PersistError> {
        to_target(conform::<T>(batch)?, &self.table.ingest_schema)
    }

    fn select(&self, columns: &str, expr: &Expr) -> Result<(String, Vec<SqlValue>), PersistError> {
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

    async fn is_written(&self) -> Result<bool, PersistError> {
        if self.table.written.load(Ordering::Acquire) {
            return Ok(true);
        }
        let table = self.table.clone();
        let written = self
            .table
            .db
            .run(move |conn| {
                let meta: Result<i64, _> = conn.query_row(
                    &format!("SELECT count(*) FROM {} WHERE name = ?", ident(META_TABLE)),
                    [&table.name],
                    |r| r.get(0),
                );
                if meta.is_ok_and(|n| n > 0) {
                    return Ok(true);
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
    fn stream(
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
                let mut pending: Vec<RecordBatch> = Vec::new();
                let mut rows = 0;
                let send = |pending: &mut Vec<RecordBatch>| -> Result<bool, PersistError> {
                    let Some(first) = pending.first() else {
                        return Ok(true);
                    };
                    let merged = concat_batches(&first.schema(), pending.iter())?;
                    pending.clear();
                    let merged = to_target(merged, &target)?;
                    let mut offset = 0;
                    while offset < merged.num_rows() {
                        let len = merge_to.min(merged.num_rows() - offset);
                        if tx.blocking_send(Ok(merged.slice(offset, len))).is_err() {
                            return Ok(false); // the reader went away
                        }
                        offset += len;
                    }
                    Ok(true)
                };
                // Takes one DuckDB chunk; false when the reader is gone.
                let mut take = |chunk: RecordBatch| -> Result<bool, PersistError> {
                    if chunk.num_rows() == 0 {
                        return Ok(true);
                    }
                    rows += chunk.num_rows();
                    pending.push(chunk);
                    if rows < merge_to {
                        return Ok(true);
                    }
                    rows = 0;
                    send(&mut pending)
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
                send(&mut pending)?;
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Append,
    Replace,
    Upsert,
}

fn mark_written(conn: &Connection, table: &Table) -> Result<(), PersistError> {
    let struct_name = table
        .schema
        .metadata()
        .get(META_STRUCT)
        .cloned()
        .unwrap_or_default();
    conn.execute(
        &format!(
            "INSERT INTO {} VALUES (?, ?) ON CONFLICT DO NOTHING",
            ident(META_TABLE)
        ),
        [&table.name, &struct_name],
    )
    .map_err(db_error)?;
    Ok(())
}

const ORDINAL: &str = "__soa_ordinal";

fn insert(
    conn: &Connection,
    table: &Table,
    batch: RecordBatch,
    mode: Mode,
) -> Result<(), PersistError> {
    let qtable = ident(&table.name);
    let cols = &table.columns;
    match (mode, table.options.ingest) {
        (Mode::Upsert, _) => {
            // Number the rows so that, of equal keys, the last one is kept.
            let key = key_field(&table.schema).unwrap_or_default();
            let mut fields: Vec<Field> = batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            fields.push(Field::new(ORDINAL, DataType::UInt64, false));
            let mut columns = batch.columns().to_vec();
            columns.push(
                Arc::new(UInt64Array::from_iter_values(0..batch.num_rows() as u64)) as ArrayRef,
            );
            let numbered = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
            let reg = Registered::new(numbered);
            let sql = format!(
                "INSERT OR REPLACE INTO {qtable} ({cols}) SELECT {cols} FROM {ARROW_SCAN}(?) \
                 QUALIFY row_number() OVER (PARTITION BY {} ORDER BY {} DESC) = 1",
                ident(key),
                ident(ORDINAL)
            );
            conn.execute(&sql, [&reg]).map_err(db_error)?;
        }
        (_, Ingest::ArrowScan) => {
            let reg = Registered::new(batch);
            let sql = format!("INSERT INTO {qtable} ({cols}) SELECT {cols} FROM {ARROW_SCAN}(?)");
            conn.execute(&sql, [&reg]).map_err(db_error)?;
        }
        (_, Ingest::Appender) => {
            let names: Vec<&str> = table
                .schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            let mut appender = conn
                .appender_with_columns(&table.name, &names)
                .map_err(db_error)?;
            appender.append_record_batch(batch).map_err(db_error)?;
            appender.flush().map_err(db_error)?;
        }
    }
    Ok(())
}

/// The field as DuckDB is handed it: enum dictionaries as their names, nanosecond instants
/// without a zone (stored as `TIMESTAMP_NS`); nested types likewise.
fn ingest_field(field: &Field) -> Field {
    field.clone().with_data_type(ingest_type(field.data_type()))
}

fn ingest_type(dt: &DataType) -> DataType {
    match dt {
        DataType::Dictionary(_, value) => ingest_type(value),
        DataType::Timestamp(TimeUnit::Nanosecond, Some(_)) => {
            DataType::Timestamp(TimeUnit::Nanosecond, None)
        }
        DataType::List(item) => DataType::List(Arc::new(ingest_field(item))),
        DataType::LargeList(item) => DataType::LargeList(Arc::new(ingest_field(item))),
        DataType::FixedSizeList(item, n) => {
            DataType::FixedSizeList(Arc::new(ingest_field(item)), *n)
        }
        DataType::Struct(children) => {
            DataType::Struct(children.iter().map(|c| Arc::new(ingest_field(c))).collect())
        }
        other => other.clone(),
    }
}

/// Casts that must not lose anything (errors instead of producing nulls).
fn cast_exact(column: &ArrayRef, to: &DataType) -> Result<ArrayRef, PersistError> {
    if column.data_type() == to {
        return Ok(column.clone());
    }
    if same_but_zone(column.data_type(), to) {
        // Every instant here is UTC: only the label changes (and Arrow's cast would need a
        // time-zone database to move between "UTC" and no zone).
        return Ok(make_array(retype(column.to_data(), to)?));
    }
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    Ok(cast_with_options(column, to, &options)?)
}

/// Whether `a` and `b` differ at most in timestamp zones (same physical layout).
fn same_but_zone(a: &DataType, b: &DataType) -> bool {
    use DataType::*;
    match (a, b) {
        (Timestamp(ua, _), Timestamp(ub, _)) => ua == ub,
        (List(fa), List(fb)) | (LargeList(fa), LargeList(fb)) => {
            same_but_zone(fa.data_type(), fb.data_type())
        }
        (FixedSizeList(fa, na), FixedSizeList(fb, nb)) => {
            na == nb && same_but_zone(fa.data_type(), fb.data_type())
        }
        (Struct(ca), Struct(cb)) => {
            ca.len() == cb.len()
                && ca.iter().zip(cb.iter()).all(|(x, y)| {
                    x.name() == y.name() && same_but_zone(x.data_type(), y.data_type())
                })
        }
        _ => a == b,
    }
}

/// `data` relabelled as `to` (which `same_but_zone` accepted), children included.
fn retype(data: ArrayData, to: &DataType) -> Result<ArrayData, PersistError> {
    let children: Vec<&DataType> = match to {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            vec![f.data_type()]
        }
        DataType::Struct(fields) => fields.iter().map(|f| f.data_type()).collect(),
        _ => Vec::new(),
    };
    let child_data = data
        .child_data()
        .iter()
        .zip(children)
        .map(|(c, t)| retype(c.clone(), t))
        .collect::<Result<Vec<_>, _>>()?;
    let builder = data.into_builder().data_type(to.clone());
    let builder = if child_data.is_empty() {
        builder
    } else {
        builder.child_data(child_data)
    };
    Ok(builder.build()?)
}

/// A batch (columns in `target`'s order) given `target`'s types and schema: results read
/// back, and conformed batches on their way in.
fn to_target(batch: RecordBatch, target: &SchemaRef) -> Result<RecordBatch, PersistError> {
    if batch.num_columns() != target.fields().len() {
        return Err(PersistError::SchemaMismatch {
            backend: NAME,
            detail: format!(
                "query returned {} columns, expected {}",
                batch.num_columns(),
                target.fields().len()
            ),
        });
    }
    let columns = batch
        .columns()
        .iter()
        .zip(target.fields())
        .map(|(c, f)| cast_exact(c, f.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        target.clone(),
        columns,
        &options,
    )?)
}

/// Picks `target`'s columns from a SQL result by name (optional ones may be missing).
fn by_name(batch: RecordBatch, target: &SchemaRef) -> Result<RecordBatch, PersistError> {
    let mut columns = Vec::with_capacity(target.fields().len());
    let mut fields = Vec::with_capacity(target.fields().len());
    for field in target.fields() {
        match batch.column_by_name(field.name()) {
            Some(c) => {
                columns.push(cast_exact(c, field.data_type())?);
                fields.push(field.clone());
            }
            None if field.is_nullable() => {}
            None => {
                return Err(PersistError::SchemaMismatch {
                    backend: NAME,
                    detail: format!("the query result has no column `{}`", field.name()),
                });
            }
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new_with_metadata(fields, target.metadata().clone())),
        columns,
        &options,
    )?)
}

/// `CREATE OR REPLACE VIEW` over a dataset's files: one `read_parquet` per partition, the
/// partition values added as typed constants, columns in the struct's order.
#[cfg(feature = "parquet")]
fn parquet_view_sql(
    view: &str,
    schema: &Schema,
    files: &[crate::backends::parquet::LiveFile],
) -> Result<String, PersistError> {
    // Files grouped by their partition values, in first-seen order.
    type Partition = [(String, Option<String>)];
    let mut groups: Vec<(&Partition, Vec<String>)> = Vec::new();
    for f in files {
        let path = string_literal(&f.path.display().to_string());
        match groups
            .iter_mut()
            .find(|(p, _)| *p == f.partition.as_slice())
        {
            Some((_, paths)) => paths.push(path),
            None => groups.push((&f.partition, vec![path])),
        }
    }
    let mut branches = Vec::new();
    for (partition, paths) in &groups {
        let mut select = Vec::new();
        for field in schema.fields() {
            let ty = sql_type(field)?;
            let value = match partition.iter().find(|(k, _)| k == field.name()) {
                Some((_, Some(v))) => format!("CAST({} AS {ty})", string_literal(v)),
                Some((_, None)) => format!("CAST(NULL AS {ty})"),
                None => format!("CAST({} AS {ty})", ident(field.name())),
            };
            select.push(format!("{value} AS {}", ident(field.name())));
        }
        branches.push(format!(
            "SELECT {} FROM read_parquet([{}], union_by_name = true)",
            select.join(", "),
            paths.join(", ")
        ));
    }
    if branches.is_empty() {
        let select: Result<Vec<String>, PersistError> = schema
            .fields()
            .iter()
            .map(|f| {
                Ok(format!(
                    "CAST(NULL AS {}) AS {}",
                    sql_type(f)?,
                    ident(f.name())
                ))
            })
            .collect();
        branches.push(format!("SELECT {} LIMIT 0", select?.join(", ")));
    }
    Ok(format!(
        "CREATE OR REPLACE VIEW {} AS {}",
        ident(view),
        branches.join(" UNION ALL ")
    ))
}

impl<T: SoA> SoAPersistence<T> for DuckDBPersistence<T> {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn save_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        self.write(batches, Mode::Replace).await
    }

    async fn append_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        self.write(batches, Mode::Append).await
    }

    async fn load_batches(&self) -> Result<Option<Vec<RecordBatch>>, PersistError> {
        use futures::TryStreamExt;
        if !self.is_written().await? {
            return Ok(None);
        }
        let (sql, params) = self.select(&self.table.columns, &Expr::True)?;
        let batches: Vec<RecordBatch> = self
            .stream(sql, params, self.table.schema.clone(), None, true)
            .try_collect()
            .await?;
        Ok(Some(batches))
    }

    async fn scan(&self, scan: Scan<T>) -> Result<BatchStream, PersistError> {
        let target = match &scan.projection {
            None => self.table.schema.clone(),
            Some(names) => {
                let indices = names
                    .iter()
                    .map(|n| {
                        self.table
                            .schema
                            .index_of(n)
                            .map_err(|_| PersistError::SchemaMismatch {
                                backend: NAME,
                                detail: format!(
                                    "projected column `{n}` is not a field of the struct"
                                ),
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Arc::new(self.table.schema.project(&indices)?)
            }
        };
        let columns = column_list(&target);
        let (sql, params) = self.select(&columns, scan.predicate.expr())?;
        Ok(self.stream(sql, params, target, scan.batch_size, false))
    }

    async fn query(&self, predicate: &Predicate<T>) -> Result<T::Container, PersistError> {
        let (sql, params) = self.select(&self.table.columns, predicate.expr())?;
        let schema = self.table.schema.clone();
        collect::<T>(self.stream(sql, params, schema, None, true)).await
    }

    async fn count(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
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

    async fn delete(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        let Where { sql, params } =
            where_clause(predicate.expr(), &self.table.schema, &self.table.name)?;
        let sql = format!("DELETE FROM {} WHERE {sql}", ident(&self.table.name));
        let _turn = self.table.writer.lock().await;
        self.table
            .db
            .run(move |conn| {
                let n = conn
                    .execute(&sql, duckdb::params_from_iter(params))
                    .map_err(db_error)?;
                Ok(n as u64)
            })
            .await
    }

    async fn clear(&self) -> Result<(), PersistError> {
        self.write(Vec::new(), Mode::Replace).await
    }

    async fn flush(&self) -> Result<(), PersistError> {
        // Every write commits, and DuckDB syncs its write-ahead log at commit.
        Ok(())
    }

    async fn stats(&self) -> Result<Stats, PersistError> {
        let table = self.table.clone();
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
                let memory: i64 = conn
                    .query_row(
                        "SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory()",
                        [],
                        |r| r.get(0),
                    )
                    .unwrap_or(0);
                let disk = table
                    .db
                    .path()
                    .map(|p| file_size(p) + file_size(&wal_path(p)));
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

/// `"a", "b", ...`: a schema's columns, quoted.
fn column_list(schema: &Schema) -> String {
    let names: Vec<String> = schema.fields().iter().map(|f| ident(f.name())).collect();
    names.join(", ")
}

/// The one integer a query returns.
fn scalar(conn: &Connection, sql: &str) -> Result<i64, PersistError> {
    conn.query_row(sql, [], |r| r.get(0)).map_err(db_error)
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn wal_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".wal");
    PathBuf::from(s)
}
