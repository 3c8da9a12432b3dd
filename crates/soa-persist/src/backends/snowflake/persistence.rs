//! `SnowflakePersistence<T>`: rows of a struct in a Snowflake table.
//!
//! | operation | on Snowflake |
//! | --- | --- |
//! | `append_batches` | one transaction: below the config's bulk size one `INSERT` with array bindings, from it on Parquet files uploaded to the internal stage and one `COPY INTO` |
//! | `append_batches_once` | the same, with the write id checked and recorded in `_soa_writes` in the transaction |
//! | `save_batches`, `clear` | `DELETE` then the insert, one transaction |
//! | `upsert_batches` | `DELETE … WHERE key IN (…)` then the insert, one transaction |
//! | `delete` | `DELETE … WHERE` with bound values, one transaction |
//! | `load`, `scan`, `count` | `SELECT` with the predicate as `WHERE`, Arrow chunks decoded as `T`'s schema |
//! | `flush` | nothing: a committed transaction is durable |
//! | `stats` | `INFORMATION_SCHEMA.TABLES`: rows and bytes (unknown when the server says 0) |
//!
//! Writes of one handle (and its clones) take turns; each runs on a session of its own.

use std::sync::atomic::AtomicBool;

use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::datatypes::SchemaRef;
use soa_persist_core::query::Predicate;
use soa_persist_core::soa::SoA;
use soa_persist_core::store::Keyed;

use super::client::SnowflakeClient;
use super::config::SnowflakeConfig;
use super::write::Mode;
use super::{NAME, ddl};
use soa_persist_api::Handle;
use soa_persist_api::{BatchStream, PersistError, Scan, SoAPersistence, Stats, WriteId};

pub(crate) struct Table {
    pub client: SnowflakeClient,
    pub name: String,
    pub schema: SchemaRef,
    /// Writes of this handle take turns.
    pub turns: tokio::sync::Mutex<()>,
    pub written: AtomicBool,
}

/// Rows of `T` in a Snowflake table; a cheap clonable handle (clones share the session pool
/// and take turns as one writer).
pub struct SnowflakePersistence<T> {
    pub(crate) table: Handle<Table, T>,
}

soa_persist_api::clone_handle!(SnowflakePersistence, table);

impl<T> std::fmt::Debug for SnowflakePersistence<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnowflakePersistence")
            .field("client", &self.table.client)
            .field("table", &self.table.name)
            .finish()
    }
}

impl<T: SoA> SnowflakePersistence<T> {
    /// Connects with `config` and opens the table named after the struct
    /// (`OrderLine` -> `order_line`) in the config's database and schema.
    pub async fn connect(config: SnowflakeConfig) -> Result<Self, PersistError> {
        Self::open(SnowflakeClient::connect(config).await?, None).await
    }

    /// Opens `table` (the struct's name in snake_case when `None`) through `client`: created
    /// from the struct's schema if missing, otherwise checked against it (new optional fields
    /// are added; a column of another type is a `SchemaMismatch` naming it).
    pub async fn open(client: SnowflakeClient, table: Option<&str>) -> Result<Self, PersistError> {
        let schema = T::arrow_schema();
        let name = soa_persist_api::sql::table_name(&schema, table, NAME)?;
        check_column_names(&schema)?;
        let mut session = client.session().await?;
        ddl::ensure_meta(&mut session).await?;
        let db_schema = client.config().schema().to_string();
        ddl::ensure_table(&mut session, &db_schema, &name, &schema).await?;
        drop(session);
        Ok(Self {
            table: Handle::new(Table {
                client,
                name,
                schema,
                turns: tokio::sync::Mutex::new(()),
                written: AtomicBool::new(false),
            }),
        })
    }

    /// The table's name.
    pub fn table_name(&self) -> &str {
        &self.table.name
    }

    /// The client underneath (same account, user and schema).
    pub fn client(&self) -> &SnowflakeClient {
        &self.table.client
    }
}

/// `COPY INTO … MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE` can't tell apart two columns whose
/// names differ only in case: such a struct is refused up front.
fn check_column_names(schema: &SchemaRef) -> Result<(), PersistError> {
    let mut seen = std::collections::HashSet::new();
    for f in schema.fields() {
        if !seen.insert(f.name().to_uppercase()) {
            return Err(PersistError::SchemaMismatch {
                backend: NAME,
                detail: format!(
                    "field `{}`: another field has the same name but for case, which Snowflake's \
                     bulk load can't tell apart",
                    f.name()
                ),
            });
        }
    }
    Ok(())
}

impl<T: SoA> SoAPersistence<T> for SnowflakePersistence<T> {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn save_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        self.write(batches, Mode::Replace, None).await.map(drop)
    }

    async fn append_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        self.write(batches, Mode::Append, None).await.map(drop)
    }

    /// The write id is checked and recorded in `_soa_writes` in the rows' transaction.
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
        let stream = self.scan_stream(Scan::all()).await?;
        Ok(Some(stream.try_collect().await?))
    }

    async fn scan(&self, scan: Scan<T>) -> Result<BatchStream, PersistError> {
        self.scan_stream(scan).await
    }

    async fn count(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        self.count_where(predicate.expr()).await
    }

    async fn delete(&self, predicate: &Predicate<T>) -> Result<u64, PersistError> {
        self.delete_where(predicate.expr()).await
    }

    /// A `DELETE` of the keys and the insert, in one transaction.
    async fn upsert_batches(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError>
    where
        T: Keyed,
    {
        use soa_persist_api::exec::{KEYS_PER_QUERY, key_predicate, key_values};
        let batches = soa_persist_api::exec::last_of_equal_keys::<T>(batches)?;
        let keys = key_values::<T>(&batches)?;
        let deletes = keys
            .chunks(KEYS_PER_QUERY)
            .map(|chunk| key_predicate::<T>(chunk).expr().clone())
            .collect();
        self.write(batches, Mode::Upsert(deletes), None)
            .await
            .map(drop)
    }

    async fn clear(&self) -> Result<(), PersistError> {
        self.write(Vec::new(), Mode::Replace, None).await.map(drop)
    }

    async fn flush(&self) -> Result<(), PersistError> {
        // Every write commits its transaction before returning.
        Ok(())
    }

    async fn stats(&self) -> Result<Stats, PersistError> {
        self.stats_now().await
    }
}
