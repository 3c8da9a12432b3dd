//! How a write's batches reach DuckDB: `INSERT ... SELECT FROM soa_arrow_scan(?)` through an
//! Arrow table function (like the duckdb crate's own, but DuckDB may run it on all its
//! threads, each call converting the next vector-sized slice of the batch), DuckDB's
//! appender, or an upsert that keeps the last row of equal keys.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use duckdb::Connection;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::types::{ToSql, ToSqlOutput};
use duckdb::vtab::{
    BindInfo, InitInfo, TableFunctionInfo, VTab, record_batch_to_duckdb_data_chunk,
    to_duckdb_logical_type_for_field,
};
use soa_persist_api::PersistError;
use soa_persist_core::arrow::array::{
    ArrayRef, RecordBatch, RecordBatchIterator, RecordBatchReader, UInt64Array,
};
use soa_persist_core::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use soa_persist_core::arrow::error::ArrowError;
use soa_persist_core::schema::key_field;

use super::Table;
use super::ddl::ident;
use super::error::db_error;
use super::raw::{RawConn, Sql};
use super::write::Mode;
use soa_persist_core::arrow::ffi_stream::FFI_ArrowArrayStream;

pub(crate) const ARROW_SCAN: &str = "soa_arrow_scan";

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

/// Batches handed to DuckDB, by token, while their registration lives.
static BATCHES: LazyLock<Mutex<HashMap<u64, RecordBatch>>> = LazyLock::new(Default::default);
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// A batch scannable as `soa_arrow_scan(?)` (bind `&Registered`) until dropped.
pub(crate) struct Registered(u64);

impl Registered {
    pub(crate) fn new(batch: RecordBatch) -> Self {
        let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        BATCHES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token, batch);
        Self(token)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let removed = BATCHES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.0);
        drop(removed); // outside the lock
    }
}

impl ToSql for &Registered {
    fn to_sql(&self) -> duckdb::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0))
    }
}

pub(crate) struct ParallelArrowScan;

pub(crate) struct Bound {
    batch: RecordBatch,
}

pub(crate) struct Progress {
    next: AtomicUsize,
    vector: usize,
}

impl VTab for ParallelArrowScan {
    type BindData = Bound;
    type InitData = Progress;

    fn bind(bind: &BindInfo) -> Result<Bound, Box<dyn std::error::Error>> {
        let token = bind.get_parameter(0).to_uint64();
        let batch = BATCHES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&token)
            .cloned()
            .ok_or_else(|| format!("{ARROW_SCAN}: no batch registered as {token}"))?;
        for field in batch.schema().fields() {
            bind.add_result_column(field.name(), to_duckdb_logical_type_for_field(field)?);
        }
        Ok(Bound { batch })
    }

    fn init(init: &InitInfo) -> Result<Progress, Box<dyn std::error::Error>> {
        // Slices are independent: let every DuckDB thread take some.
        init.set_max_threads(u16::MAX as u64);
        // SAFETY: a constant of the linked library; no arguments, no state.
        let vector = unsafe { duckdb::ffi::duckdb_vector_size() } as usize;
        Ok(Progress {
            next: AtomicUsize::new(0),
            vector: vector.max(1),
        })
    }

    fn func(
        info: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let progress = info.get_init_data();
        let batch = &info.get_bind_data().batch;
        let offset = progress.next.fetch_add(progress.vector, Ordering::Relaxed);
        if offset >= batch.num_rows() {
            output.set_len(0);
            return Ok(());
        }
        let len = progress.vector.min(batch.num_rows() - offset);
        record_batch_to_duckdb_data_chunk(&batch.slice(offset, len), output)?;
        Ok(())
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::UBigint)])
    }
}

/// Rows per Arrow batch handed to DuckDB's own reader: its threads take one batch each, so a
/// large write is converted on all of them.
pub(super) const STREAM_BATCH_ROWS: usize = 122_880;

/// The in-memory database that holds the views over Arrow streams. DuckDB creates such a view
/// in the default database, where a commit would have to log it (it can't), so it is made
/// there, outside the write's transaction (which may write to one database only).
const SCRATCH: &str = "__soa_scratch";

/// A write's batches, each scannable by DuckDB's own Arrow reader (`duckdb_arrow_scan`) as a
/// view of the scratch database until this is dropped.
pub(super) struct Streams<'c> {
    conn: &'c RawConn,
    /// Each view's name, stream and row count.
    views: Vec<(String, Box<FFI_ArrowArrayStream>, u64)>,
}

impl<'c> Streams<'c> {
    /// Registers `batches` on `conn` (before its transaction begins).
    pub(super) fn register(
        conn: &'c RawConn,
        batches: Vec<RecordBatch>,
    ) -> Result<Self, PersistError> {
        let sources = batches
            .into_iter()
            .map(|batch| {
                let rows = batch.num_rows() as u64;
                let schema = batch.schema();
                let reader: Box<dyn RecordBatchReader + Send> = Box::new(RecordBatchIterator::new(
                    slices(&batch).into_iter().map(Ok),
                    schema,
                ));
                (reader, rows)
            })
            .collect();
        Self::register_readers(conn, sources)
    }

    /// Registers each reader, which yields the given number of rows, on `conn` (before its
    /// transaction begins).
    pub(super) fn register_readers(
        conn: &'c RawConn,
        sources: Vec<(Box<dyn RecordBatchReader + Send>, u64)>,
    ) -> Result<Self, PersistError> {
        let mut streams = Self {
            conn,
            views: Vec::new(),
        };
        if sources.is_empty() {
            return Ok(streams);
        }
        let database = conn
            .first_text("SELECT current_database()")
            .map_err(db_error)?;
        conn.exec(
            &format!("ATTACH IF NOT EXISTS ':memory:' AS {}", ident(SCRATCH)),
            &[],
        )
        .map_err(db_error)?;
        conn.exec(&format!("USE {}", ident(SCRATCH)), &[])
            .map_err(db_error)?;
        let mut made = Ok(());
        for (reader, rows) in sources {
            let view = format!("ingest_{}", NEXT_TOKEN.fetch_add(1, Ordering::Relaxed));
            match conn.scan_arrow(&view, reader) {
                Ok(stream) => streams.views.push((view, stream, rows)),
                Err(e) => {
                    made = Err(db_error(e));
                    break;
                }
            }
        }
        conn.exec(&format!("USE {}", ident(&database)), &[])
            .map_err(db_error)?;
        made.map(|()| streams)
    }

    /// The qualified names of the views and their row counts, in the order of the batches.
    pub(super) fn views(&self) -> Vec<(String, u64)> {
        self.views
            .iter()
            .map(|(v, _, rows)| (format!("{}.main.{}", ident(SCRATCH), ident(v)), *rows))
            .collect()
    }
}

impl Drop for Streams<'_> {
    fn drop(&mut self) {
        // The views go before their streams (best effort: the scratch database is in memory
        // and a leftover view is never read again).
        for (view, _, _) in &self.views {
            let _ = self.conn.exec(
                &format!(
                    "DROP VIEW IF EXISTS {}.main.{}",
                    ident(SCRATCH),
                    ident(view)
                ),
                &[],
            );
        }
        self.views.clear();
    }
}

/// `batch` as slices of `STREAM_BATCH_ROWS` rows (no copy), which DuckDB's threads scan in
/// parallel.
pub(super) fn slices(batch: &RecordBatch) -> Vec<RecordBatch> {
    (0..batch.num_rows())
        .step_by(STREAM_BATCH_ROWS)
        .map(|at| batch.slice(at, STREAM_BATCH_ROWS.min(batch.num_rows() - at)))
        .collect()
}

/// A container's rows for DuckDB's Arrow reader, converted a batch at a time when the reader
/// asks for the next one: on DuckDB's threads, while it inserts the batches before, instead of
/// all of them before the write starts. The first error is kept in `failed`, so the write
/// returns it typed rather than as DuckDB's text.
pub(super) struct LazyBatches {
    batches: Box<dyn Iterator<Item = Result<RecordBatch, PersistError>> + Send>,
    schema: SchemaRef,
    failed: Arc<Mutex<Option<PersistError>>>,
}

impl LazyBatches {
    /// `batches`, each of `schema`; errors go to `failed` too.
    pub(super) fn new(
        batches: impl Iterator<Item = Result<RecordBatch, PersistError>> + Send + 'static,
        schema: SchemaRef,
        failed: Arc<Mutex<Option<PersistError>>>,
    ) -> Self {
        Self {
            batches: Box::new(batches),
            schema,
            failed,
        }
    }
}

impl Iterator for LazyBatches {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        // DuckDB calls this through C: a panic must not unwind into it.
        let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.batches.next()))
            .unwrap_or_else(|_| {
            Some(Err(PersistError::backend(
                super::pool::NAME,
                "converting the rows for DuckDB panicked",
                false,
            )))
        })?;
        Some(next.map_err(|e| {
            let text = e.to_string();
            let mut failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
            failed.get_or_insert(e);
            ArrowError::ExternalError(text.into())
        }))
    }
}

impl RecordBatchReader for LazyBatches {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// Inserts the `rows` rows of `view` (one of `Streams::views`) in the write's transaction; a
/// scan that yields another number of rows fails the write (retryable: nothing is committed).
pub(super) fn insert_view(
    conn: &RawConn,
    table: &Table,
    (view, rows): (String, u64),
) -> Result<(), PersistError> {
    let cols = &table.columns;
    let inserted = conn
        .exec(
            &format!(
                "INSERT INTO {} ({cols}) SELECT {cols} FROM {view}",
                ident(&table.name)
            ),
            &[],
        )
        .map_err(db_error)?;
    if inserted != rows {
        return Err(PersistError::backend(
            super::pool::NAME,
            format!("DuckDB's Arrow scan read {inserted} of {rows} rows"),
            true,
        ));
    }
    Ok(())
}

const ORDINAL: &str = "__soa_ordinal";

pub(super) fn insert(
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
