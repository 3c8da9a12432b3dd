//! `ClickHousePersistence<T>`: rows of a struct in a `MergeTree` table of a ClickHouse server.
//!
//! | operation | on ClickHouse |
//! | --- | --- |
//! | `append_batches` | one `INSERT ... FORMAT Native`, block by block; atomic per block only |
//! | `append_batches_once` | `_soa_writes` checked, rows inserted, then the id recorded |
//! | `save_batches`, `clear` | a new table (`CREATE TABLE new AS t`) filled, `RENAME` swap, old dropped |
//! | `delete` | `ALTER TABLE ... DELETE WHERE` mutation, waited for; returns the count before |
//! | `load`, `scan`, `count` | `SELECT` with the predicate as `WHERE`, decoded as `T`'s schema |
//! | `flush` | nothing: an `INSERT` is durable once the server acknowledged it |
//! | `stats` | `system.parts` (rows, bytes on disk) and `system.columns` (bytes per column) |
//!
//! Writes of one handle (and its clones) take turns with `save`/`delete`/`clear`: appends run
//! concurrently with each other, never with a table swap or a mutation.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::datatypes::SchemaRef;
use soa_persist_core::query::Predicate;
use soa_persist_core::schema::META_STRUCT;
use soa_persist_core::soa::SoA;

use super::client::{ClickHouseClient, ClickHouseConfig};
use super::native::{BlockEncoder, TypeOptions};
use super::{NAME, ddl};
use soa_persist_api::{BatchStream, PersistError, Scan, SoAPersistence, Stats, WriteId};

pub(crate) struct Table {
    pub client: ClickHouseClient,
    pub name: String,
    pub schema: SchemaRef,
    pub encoder: BlockEncoder,
    /// Appends share it; a swap or a mutation takes it alone.
    pub turns: tokio::sync::RwLock<()>,
    /// `append_batches_once` checks and records ids one at a time.
    pub once: tokio::sync::Mutex<()>,
    pub written: AtomicBool,
}

/// Rows of `T` in a ClickHouse table; a cheap clonable handle (clones share the connection
/// pool and take turns as one writer).
pub struct ClickHousePersistence<T> {
    pub(crate) table: Arc<Table>,
    _rows: PhantomData<fn() -> T>,
}

impl<T> Clone for ClickHousePersistence<T> {
    fn clone(&self) -> Self {
        Self {
            table: self.table.clone(),
            _rows: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for ClickHousePersistence<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHousePersistence")
            .field("url", &self.table.client.config())
            .field("table", &self.table.name)
            .finish()
    }
}

impl<T: SoA> ClickHousePersistence<T> {
    /// Connects to the server of `config` and opens the table named after the struct
    /// (`OrderLine` -> `order_line`) in the config's database.
    pub async fn connect(config: ClickHouseConfig) -> Result<Self, PersistError> {
        Self::open(ClickHouseClient::connect(config).await?, None).await
    }

    /// Opens `table` (the struct's name in snake_case when `None`) through `client`: created
    /// from the struct's schema if missing, otherwise checked against it (new optional fields
    /// are added; a column of another type is a `SchemaMismatch` naming it).
    pub async fn open(client: ClickHouseClient, table: Option<&str>) -> Result<Self, PersistError> {
        let schema = T::arrow_schema();
        let name = table.map(str::to_string).unwrap_or_else(|| {
            soa_persist_api::sql::default_table_name(
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
        ddl::ensure_meta(&client).await?;
        ddl::ensure_table(&client, &name, &schema).await?;
        let encoder =
            BlockEncoder::for_schema(schema.clone(), client.caps(), &TypeOptions::default())?;
        Ok(Self {
            table: Arc::new(Table {
                client,
                name,
                schema,
                encoder,
                turns: tokio::sync::RwLock::new(()),
                once: tokio::sync::Mutex::new(()),
                written: AtomicBool::new(false),
            }),
            _rows: PhantomData,
        })
    }

    /// The table's name.
    pub fn table_name(&self) -> &str {
        &self.table.name
    }

    /// The client underneath (same server, database and credentials).
    pub fn client(&self) -> &ClickHouseClient {
        &self.table.client
    }
}

impl<T: SoA> SoAPersistence<T> for ClickHousePersistence<T> {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn save_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        self.replace(batches).await
    }

    async fn append_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        let _turn = self.table.turns.read().await;
        self.insert(batches).await
    }

    /// Checks `_soa_writes`, inserts, then records the id, in a task of its own: a caller
    /// that stops waiting (a deadline) does not stop it between the rows and the record, and
    /// its retry waits for it and finds the id. 18.16 has neither `insert_deduplication_token`
    /// nor insert deduplication on a non-replicated MergeTree, so the one unsafe moment left is
    /// a failure after the rows were acknowledged and before the id was: a retry then writes
    /// the rows again.
    async fn append_batches_once(
        &self,
        batches: Vec<RecordBatch>,
        id: &WriteId,
    ) -> Result<bool, PersistError> {
        let this = self.clone();
        let id = id.clone();
        let task = tokio::spawn(async move {
            let _once = this.table.once.lock().await;
            let _turn = this.table.turns.read().await;
            if this.applied_seq(&id.writer).await? >= id.seq {
                return Ok(false);
            }
            this.insert(batches).await?;
            this.record_write(&id).await?;
            Ok(true)
        });
        task.await.map_err(|e| PersistError::Backend {
            backend: NAME,
            message: format!("the write task failed: {e}"),
            retryable: false,
        })?
    }

    async fn load_batches(&self) -> Result<Option<Vec<RecordBatch>>, PersistError> {
        self.load_all().await
    }

    async fn scan(&self, scan: Scan<T>) -> Result<BatchStream, PersistError> {
        self.scan_stream(scan)
    }

    async fn count(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        self.count_where(predicate.expr()).await
    }

    async fn delete(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        self.delete_where(predicate.expr()).await
    }

    async fn clear(&self) -> Result<(), PersistError> {
        self.replace(Vec::new()).await
    }

    async fn flush(&self) -> Result<(), PersistError> {
        // An INSERT is acknowledged once its parts are written on the server: nothing buffers.
        Ok(())
    }

    async fn stats(&self) -> Result<Stats, PersistError> {
        self.stats_now().await
    }
}
