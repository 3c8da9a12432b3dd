//! `ClickHousePersistence<T>`: rows of a struct in a `MergeTree` table of a ClickHouse server.
//!
//! | operation | on ClickHouse |
//! | --- | --- |
//! | `append_batches` | one `INSERT ... FORMAT Native`, block by block; atomic per block only |
//! | `append_batches_once` | the write id in hidden columns of each part's rows, `_soa_writes` for started / done (`once.rs`) |
//! | `save_batches`, `clear` | a new table (`CREATE TABLE new AS t`) filled, `RENAME` swap, old dropped |
//! | `delete` | `ALTER TABLE ... DELETE WHERE` mutation, waited for; returns the count before |
//! | `load`, `scan`, `count` | `SELECT` with the predicate as `WHERE`, decoded as `T`'s schema |
//! | `flush` | nothing: an `INSERT` is durable once the server acknowledged it |
//! | `stats` | `system.parts` (rows, bytes on disk) and `system.columns` (bytes per column) |
//!
//! On a cluster (`cluster`), each of these runs per shard on the `MergeTree` table `<table>_local`;
//! reads go through the `Distributed` table `<table>`; appends and `save` are cut by key on the
//! client and sent to every shard at once (`shard.rs`), a `save` swapped in shard by shard.
//!
//! Writes of one handle (and its clones) take turns with `save`/`delete`/`clear`: appends run
//! concurrently with each other, never with a table swap or a mutation.

use std::sync::atomic::AtomicBool;

use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::datatypes::SchemaRef;
use soa_persist_core::query::Predicate;
use soa_persist_core::soa::SoA;

use super::client::{ClickHouseClient, ClickHouseConfig};
use super::error::task_failed;
use super::native::{BlockEncoder, TypeOptions};
use super::once::with_id_columns;
use super::{NAME, ddl};
use soa_persist_api::Handle;
use soa_persist_api::{BatchStream, PersistError, Scan, SoAPersistence, Stats, WriteId};

pub(crate) struct Table {
    /// Where reads, inserts and the bookkeeping go (the first shard of a cluster).
    pub client: ClickHouseClient,
    /// The table reads and inserts name (a `Distributed` table on a cluster).
    pub name: String,
    /// The `MergeTree` table holding the parts, on every shard (`name` on one server).
    pub local: String,
    /// Each shard's server, for swaps, mutations and stats (the one server otherwise).
    pub shards: Vec<ClickHouseClient>,
    /// The cluster's name, when the rows are spread over shards.
    pub cluster: Option<String>,
    pub schema: SchemaRef,
    pub encoder: BlockEncoder,
    /// The struct's columns and the hidden write-id columns.
    pub id_encoder: BlockEncoder,
    /// Appends share it; a swap or a mutation takes it alone.
    pub turns: tokio::sync::RwLock<()>,
    /// `append_batches_once` checks and records ids one at a time.
    pub once: tokio::sync::Mutex<()>,
    /// When this handle last swept finished writers' records from `_soa_writes`.
    pub last_sweep: std::sync::Mutex<Option<std::time::Instant>>,
    pub written: AtomicBool,
    /// On a cluster: appends go to every shard at once (else through the `Distributed` table).
    pub per_shard: AtomicBool,
}

/// Rows of `T` in a ClickHouse table; a cheap clonable handle (clones share the connection
/// pool and take turns as one writer).
pub struct ClickHousePersistence<T> {
    pub(crate) table: Handle<Table, T>,
}

soa_persist_api::clone_handle!(ClickHousePersistence, table);

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
        let name = table_name::<T>(table)?;
        ddl::ensure_meta(&client).await?;
        ddl::ensure_table(&client, &name, &T::arrow_schema(), true).await?;
        let shards = vec![client.clone()];
        Self::build(client, name.clone(), name, shards, None)
    }

    /// Rows spread over the shards of `cluster` (a name in the servers' `remote_servers`):
    /// a `MergeTree` table `<table>_local` on each of `shards` (clients on the same database
    /// name), and a `Distributed` table `<table>` on the first, sharded by a hash of the key
    /// (at random without one). Appends cut rows by the same hash and insert into every
    /// shard at once (see `set_per_shard_inserts`), so rows are on their shards when an append
    /// returns; reads go through the `Distributed` table. `save`,
    /// `clear` and `delete` act on every shard in turn: a reader during one of them can see
    /// some shards before it and some after.
    pub async fn cluster(
        shards: Vec<ClickHouseClient>,
        cluster: &str,
        table: Option<&str>,
    ) -> Result<Self, PersistError> {
        let Some(first) = shards.first() else {
            return Err(PersistError::SchemaMismatch {
                backend: NAME,
                detail: "a cluster needs at least one shard".into(),
            });
        };
        let name = table_name::<T>(table)?;
        let local = format!("{name}_local");
        let schema = T::arrow_schema();
        for shard in &shards {
            ddl::ensure_table(shard, &local, &schema, true).await?;
        }
        let config = first
            .config()
            .clone()
            .with_setting("insert_distributed_sync", "1");
        let client = ClickHouseClient::connect(config).await?;
        ddl::ensure_meta(&client).await?;
        ddl::ensure_distributed(&client, cluster, &name, &local, &schema).await?;
        Self::build(client, name, local, shards, Some(cluster.to_string()))
    }

    fn build(
        client: ClickHouseClient,
        name: String,
        local: String,
        shards: Vec<ClickHouseClient>,
        cluster: Option<String>,
    ) -> Result<Self, PersistError> {
        let schema = T::arrow_schema();
        let options = TypeOptions::default();
        let encoder = BlockEncoder::for_schema(schema.clone(), client.caps(), &options)?;
        let id_encoder =
            BlockEncoder::for_schema(with_id_columns(&schema), client.caps(), &options)?;
        Ok(Self {
            table: Handle::new(Table {
                client,
                name,
                local,
                shards,
                cluster,
                schema,
                encoder,
                id_encoder,
                turns: tokio::sync::RwLock::new(()),
                once: tokio::sync::Mutex::new(()),
                last_sweep: std::sync::Mutex::new(None),
                written: AtomicBool::new(false),
                per_shard: AtomicBool::new(true),
            }),
        })
    }

    /// On a cluster, whether appends cut rows by key on the client and insert into every
    /// shard's table at once (the default: faster, see the bench) or go through the
    /// `Distributed` table. For this handle and its clones; `append_batches_once` always cuts.
    pub fn set_per_shard_inserts(&self, on: bool) {
        self.table
            .per_shard
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// The table's name.
    pub fn table_name(&self) -> &str {
        &self.table.name
    }

    /// Each shard's server (the one server when not on a cluster).
    pub fn shards(&self) -> &[ClickHouseClient] {
        &self.table.shards
    }

    /// The client underneath (same server, database and credentials).
    pub fn client(&self) -> &ClickHouseClient {
        &self.table.client
    }
}

/// `table`, or the struct's name in snake_case (`OrderLine` -> `order_line`).
fn table_name<T: SoA>(table: Option<&str>) -> Result<String, PersistError> {
    soa_persist_api::sql::table_name(&T::arrow_schema(), table, NAME)
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

    /// The rows are converted to Arrow a block at a time on the encoding thread, while the
    /// server parses the blocks before (not all of them before the first is sent).
    async fn append(&self, rows: T::Container) -> Result<(), PersistError> {
        let _turn = self.table.turns.read().await;
        self.insert_container(rows).await
    }

    /// Each part's rows carry the write id in hidden columns, so rows and proof commit
    /// together; a retry of a write whose outcome is unknown sends only the parts not stored
    /// (see `once.rs`). It runs in a task of its own: a caller that stops waiting (a deadline)
    /// does not stop it halfway, and its retry waits for it.
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
            this.append_once(batches, &id).await
        });
        task.await.map_err(task_failed("write"))?
    }

    async fn load_batches(&self) -> Result<Option<Vec<RecordBatch>>, PersistError> {
        self.load_all().await
    }

    /// Each block is converted into rows of the container as it arrives, while the server
    /// sends the next one (not after the last).
    async fn load(&self) -> Result<Option<T::Container>, PersistError> {
        self.load_container().await
    }

    /// As `load`: the blocks are converted into rows while the next ones are received.
    async fn query(&self, predicate: &Predicate<T>) -> Result<T::Container, PersistError> {
        self.query_container(Scan::filter(predicate.clone())).await
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
