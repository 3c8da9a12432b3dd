//! Writes: each one transaction that hands whole Arrow batches to DuckDB (an Arrow scan or the
//! appender), upserts by key, and appends applied at most once per `WriteId`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::column::Column;
use soa_persist_core::convert::ToArrow;
use soa_persist_core::query::Predicate;
use soa_persist_core::schema::{META_STRUCT, key_field};
use soa_persist_core::soa::SoA;

use super::ddl::ident;
use super::dialect::{Where, where_clause};
use super::error::db_error;
use super::ingest::{Ingest, LazyBatches, STREAM_BATCH_ROWS, Streams, insert, insert_view, slices};
use super::pool::{NAME, in_transaction};
use super::raw::{Param, Sql};
use super::{DuckDBPersistence, META_TABLE, Table, WRITES_TABLE};
use soa_persist_api::exec::{ContainerBatches, cast_to_schema, conform};
use soa_persist_api::{PersistError, WriteId};

impl<T: SoA> DuckDBPersistence<T> {
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
        self.write(batches, Mode::Upsert, None).await.map(drop)
    }

    /// `DELETE ... WHERE` the predicate, in the writers' turn.
    pub(super) async fn delete_rows(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
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

    /// One write in one transaction. With `once`, the write id is checked and recorded in the
    /// same transaction: when this table already holds `once` (or a later write of its writer),
    /// nothing is written and the result is `false`.
    pub(super) async fn write(
        &self,
        batches: Vec<RecordBatch>,
        mode: Mode,
        once: Option<WriteId>,
    ) -> Result<bool, PersistError> {
        self.write_rows(Rows::Batches(batches), mode, once).await
    }

    /// An append of a container: through DuckDB's Arrow reader, converted to Arrow a batch at
    /// a time as DuckDB reads it (see `LazyBatches`); otherwise converted whole first.
    pub(super) async fn append_container(&self, rows: T::Container) -> Result<(), PersistError> {
        let rows = if self.own_ingest(Mode::Append) {
            Rows::Container(rows)
        } else {
            Rows::Batches(vec![rows.into_record_batch()?])
        };
        self.write_rows(rows, Mode::Append, None).await.map(drop)
    }

    /// Whether a write of `mode` goes through DuckDB's own Arrow reader, on a connection of our
    /// own (the crate's connections can't hand it a stream).
    fn own_ingest(&self, mode: Mode) -> bool {
        mode != Mode::Upsert
            && self.table.options.ingest == Ingest::ArrowScan
            && !self.table.db.read_only()
    }

    async fn write_rows(
        &self,
        rows: Rows<T>,
        mode: Mode,
        once: Option<WriteId>,
    ) -> Result<bool, PersistError> {
        let (prepared, container) = match rows {
            Rows::Batches(batches) => (
                batches
                    .into_iter()
                    .filter(|b| b.num_rows() > 0)
                    .map(|b| self.prepare(b))
                    .collect::<Result<Vec<_>, _>>()?,
                None,
            ),
            Rows::Container(rows) if rows.is_empty() => (Vec::new(), None),
            Rows::Container(rows) => (Vec::new(), Some(rows)),
        };
        let _turn = self.table.writer.lock().await;
        let table = self.table.arc().clone();
        let own = self.own_ingest(mode);
        let schema = self.table.ingest_schema.clone();
        self.table
            .db
            .run(move |conn| {
                let _bookkeeping = (once.is_some() || !table.written.load(Ordering::Acquire))
                    .then(|| table.db.bookkeeping());
                let wrote = if own {
                    let raw = table.db.connect_raw()?;
                    let failed = Arc::new(Mutex::new(None));
                    let streams = match container {
                        Some(rows) => {
                            let n = rows.len() as u64;
                            let cast = schema.clone();
                            // A container converted whole (Arrow-layout columns) is one
                            // batch: sliced, so DuckDB's threads share it.
                            let batches = ContainerBatches::<T>::new(rows, STREAM_BATCH_ROWS)
                                .flat_map(|b| match b {
                                    Ok(b) => slices(&b).into_iter().map(Ok).collect(),
                                    Err(e) => vec![Err(e)],
                                })
                                .map(move |b| cast_to_schema(b?, &cast, NAME));
                            let reader = LazyBatches::new(batches, schema, failed.clone());
                            Streams::register_readers(&raw, vec![(Box::new(reader), n)])?
                        }
                        None => Streams::register(&raw, prepared)?,
                    };
                    let wrote = in_transaction(&raw, |c| {
                        apply(c, &table, &once, mode, streams.views(), |c, view| {
                            insert_view(c, &table, view)
                        })
                    });
                    // A conversion that failed inside DuckDB's scan: its own typed error.
                    match failed.lock().unwrap_or_else(PoisonError::into_inner).take() {
                        Some(e) if wrote.is_err() => return Err(e),
                        _ => wrote?,
                    }
                } else {
                    in_transaction(&*conn, |c| {
                        apply(c, &table, &once, mode, prepared, |c, b| {
                            insert(c, &table, b, mode)
                        })
                    })?
                };
                table.written.store(true, Ordering::Release);
                Ok(wrote)
            })
            .await
    }

    /// `batch` conformed to the struct, then in the form DuckDB is handed.
    fn prepare(&self, batch: RecordBatch) -> Result<RecordBatch, PersistError> {
        cast_to_schema(conform::<T>(batch)?, &self.table.ingest_schema, NAME)
    }
}

/// What a write inserts: batches, or a container converted as DuckDB reads it.
enum Rows<T: SoA> {
    Batches(Vec<RecordBatch>),
    Container(T::Container),
}

/// A write's statements inside its transaction: the write id claimed, the old rows deleted
/// for a replacement, the table recorded as ours, then the batches inserted.
fn apply<C: Sql, B>(
    c: &C,
    table: &Table,
    once: &Option<WriteId>,
    mode: Mode,
    batches: Vec<B>,
    insert: impl Fn(&C, B) -> Result<(), PersistError>,
) -> Result<bool, PersistError> {
    if let Some(id) = once
        && !claim(c, &table.name, id)?
    {
        return Ok(false);
    }
    if mode == Mode::Replace {
        c.exec(&format!("DELETE FROM {}", ident(&table.name)), &[])
            .map_err(db_error)?;
    }
    if !table.written.load(Ordering::Acquire) {
        mark_written(c, table)?;
    }
    for batch in batches {
        insert(c, batch)?;
    }
    Ok(true)
}

/// Records `id` as the last write of its writer to `table`, unless this or a later write of
/// the writer is already recorded (then `false`). Runs inside the write's transaction, so the
/// record commits with the rows or not at all, under the database's bookkeeping lock, so that
/// no other write checks the same id before this one commits.
fn claim<C: Sql>(conn: &C, table: &str, id: &WriteId) -> Result<bool, PersistError> {
    let stored = conn
        .first_u64(
            &format!(
                "SELECT seq FROM {} WHERE table_name = ? AND writer = ?",
                ident(WRITES_TABLE)
            ),
            &[Param::Text(table), Param::Text(&id.writer)],
        )
        .map_err(db_error)?;
    if stored.is_some_and(|s| s >= id.seq) {
        return Ok(false);
    }
    conn.exec(
        &format!(
            "INSERT INTO {} (table_name, writer, seq) VALUES (?, ?, ?) \
             ON CONFLICT (table_name, writer) DO UPDATE SET seq = excluded.seq",
            ident(WRITES_TABLE)
        ),
        &[
            Param::Text(table),
            Param::Text(&id.writer),
            Param::U64(id.seq),
        ],
    )
    .map_err(bookkeeping_error)?;
    Ok(true)
}

/// An error of a write to our own bookkeeping tables: a duplicate key there can only be a
/// concurrent transaction's uncommitted row (DuckDB reports it as a constraint violation,
/// even under `ON CONFLICT`), so it is a retryable conflict.
fn bookkeeping_error(e: duckdb::Error) -> PersistError {
    match db_error(e) {
        PersistError::Constraint {
            backend,
            detail,
            source,
        } => PersistError::Conflict {
            backend,
            detail,
            source,
        },
        other => other,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    Append,
    Replace,
    Upsert,
}

fn mark_written<C: Sql>(conn: &C, table: &Table) -> Result<(), PersistError> {
    let struct_name = table
        .schema
        .metadata()
        .get(META_STRUCT)
        .cloned()
        .unwrap_or_default();
    conn.exec(
        &format!(
            "INSERT INTO {} VALUES (?, ?) ON CONFLICT DO NOTHING",
            ident(META_TABLE)
        ),
        &[Param::Text(&table.name), Param::Text(&struct_name)],
    )
    .map_err(bookkeeping_error)?;
    Ok(())
}
