//! `DuckDBPersistence`: rows of a struct in a table of an embedded DuckDB database (a file or
//! in memory), with SQL analytics over them.
//!
//! Writes hand whole Arrow batches to DuckDB (an Arrow table scan or the Arrow appender, never
//! row by row), each write in one transaction: a constraint violation (duplicate key) rolls it
//! back entirely. Reads push typed predicates down as `WHERE` clauses with bound parameters and
//! stream DuckDB's Arrow results back in the struct's schema. Each task gets its own
//! connection (`try_clone`), so readers run in parallel; writers of one handle take turns.

mod cast;
mod database;
mod ddl;
mod dialect;
mod error;
mod ingest;
mod options;
mod pool;
mod raw;
mod read;
#[cfg(feature = "parquet")]
mod views;
mod write;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::datatypes::{Schema, SchemaRef};
use soa_persist_core::query::{Expr, Predicate};
use soa_persist_core::schema::META_STRUCT;
use soa_persist_core::schema::key_field;
use soa_persist_core::soa::SoA;
use soa_persist_core::store::Keyed;

pub use duckdb::types::Value as SqlValue;

pub use self::database::{DuckDBDatabase, TableColumn};
pub use self::ingest::Ingest;
pub use self::options::DuckDBOptions;

use self::cast::ingest_field;
use self::ddl::ident;
use self::error::db_error;
use self::pool::{Db, NAME, OpenConfig};
use self::read::column_list;
use self::write::Mode;
use soa_persist_api::Handle;
use soa_persist_api::exec::collect;
use soa_persist_api::{BatchStream, PersistError, Scan, SoAPersistence, Stats, WriteId};

/// Records which tables were ever written, so that `load` can tell "never stored" (`None`)
/// from "stored, now empty".
const META_TABLE: &str = "_soa_tables";
/// The last write id committed per table and writer (`append_batches_once`).
const WRITES_TABLE: &str = "_soa_writes";

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
    table: Handle<Table, T>,
}

soa_persist_api::clone_handle!(DuckDBPersistence, table);

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
                wal_autocheckpoint: options.wal_autocheckpoint.clone(),
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
            soa_persist_api::sql::default_table_name(
                schema
                    .metadata()
                    .get(META_STRUCT)
                    .map(String::as_str)
                    .unwrap_or("rows"),
            )
        });
        if name.is_empty() || name.contains('\0') {
            return Err(PersistError::invalid_input(
                NAME,
                format!("invalid table name {name:?}"),
            ));
        }
        let conn = db.get()?;
        if !db.read_only() {
            conn.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {} (name VARCHAR PRIMARY KEY, struct VARCHAR); \
                 CREATE TABLE IF NOT EXISTS {} (table_name VARCHAR, writer VARCHAR, \
                 seq UBIGINT NOT NULL, PRIMARY KEY (table_name, writer))",
                ident(META_TABLE),
                ident(WRITES_TABLE)
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
            table: Handle::new(Table {
                db,
                name,
                schema,
                ingest_schema,
                columns,
                options,
                writer: tokio::sync::Mutex::new(()),
                written: AtomicBool::new(false),
            }),
        })
    }

    /// The table's name.
    pub fn table_name(&self) -> &str {
        &self.table.name
    }

    /// The database file, `None` in memory. Every path to one file opened in this process
    /// shares one database, named by the path it was first opened with.
    pub fn path(&self) -> Option<&Path> {
        self.table.db.path()
    }

    /// Folds the write-ahead log into the database file (commits are durable without it).
    pub async fn checkpoint(&self) -> Result<(), PersistError> {
        self.table
            .db
            .run(|conn| conn.execute_batch("CHECKPOINT").map_err(db_error))
            .await
    }
}

impl<T: SoA> SoAPersistence<T> for DuckDBPersistence<T> {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn save_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        self.write(batches, Mode::Replace, None).await.map(drop)
    }

    async fn append_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        self.write(batches, Mode::Append, None).await.map(drop)
    }

    /// Converted to Arrow a batch at a time while DuckDB inserts the batches before.
    async fn append(&self, rows: T::Container) -> Result<(), PersistError> {
        self.append_container(rows).await
    }

    /// The write id is recorded in the table `_soa_writes` in the same transaction as the rows.
    async fn append_batches_once(
        &self,
        batches: Vec<RecordBatch>,
        id: &WriteId,
    ) -> Result<bool, PersistError> {
        self.write(batches, Mode::Append, Some(id.clone())).await
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
        self.scan_stream(scan)
    }

    async fn query(&self, predicate: &Predicate<T>) -> Result<T::Container, PersistError> {
        let (sql, params) = self.select(&self.table.columns, predicate.expr())?;
        let schema = self.table.schema.clone();
        collect::<T>(self.stream(sql, params, schema, None, true)).await
    }

    async fn count(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        self.count_rows(predicate).await
    }

    async fn delete(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        self.delete_rows(predicate).await
    }

    /// The table's primary key refuses a stored key.
    fn refuses_duplicate_keys(&self) -> bool {
        key_field(&self.table.schema).is_some()
    }

    /// `INSERT OR REPLACE` in one transaction.
    async fn upsert_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError>
    where
        T: Keyed,
    {
        // The inherent method of the same name (no `Keyed` bound) does the work.
        DuckDBPersistence::upsert_batches(self, batches).await
    }

    async fn clear(&self) -> Result<(), PersistError> {
        self.write(Vec::new(), Mode::Replace, None).await.map(drop)
    }

    async fn flush(&self) -> Result<(), PersistError> {
        // Every write commits, and DuckDB syncs its write-ahead log at commit.
        Ok(())
    }

    async fn stats(&self) -> Result<Stats, PersistError> {
        self.stats_now().await
    }
}
