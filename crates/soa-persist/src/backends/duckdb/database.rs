//! `DuckDBDatabase`: a DuckDB database without a struct, for tools: free SQL (whole or streamed
//! chunk by chunk), a table's columns, primary key and enum values, Parquet datasets as views,
//! and tables created and filled from Arrow batches. It shares the process-wide database of a
//! file with every `DuckDBPersistence` on it.

use std::path::Path;
use std::sync::Arc;

use futures::stream;
use soa_persist_api::exec::cast_to_schema;
use soa_persist_api::sql;
use soa_persist_api::{BatchStream, PersistError};
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::datatypes::{Schema, SchemaRef};

use super::cast::ingest_field;
use super::ddl::{existing_columns, ident};
use super::dialect::DuckDialect;
use super::error::db_error;
use super::ingest::{ARROW_SCAN, Registered};
use super::pool::{Db, NAME, OpenConfig};

/// A DuckDB database opened without a struct; a cheap clonable handle.
#[derive(Clone)]
pub struct DuckDBDatabase {
    db: Arc<Db>,
}

impl std::fmt::Debug for DuckDBDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckDBDatabase")
            .field("path", &self.db.path())
            .finish()
    }
}

/// One column of a table, as DuckDB's catalog describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableColumn {
    /// The column's name.
    pub name: String,
    /// DuckDB's spelling of its type (`BIGINT`, `ENUM('a', 'b')`, `STRUCT(x INTEGER)`, ...).
    pub data_type: String,
    /// Whether it takes NULL.
    pub nullable: bool,
}

fn config(read_only: bool) -> OpenConfig {
    OpenConfig {
        read_only,
        threads: None,
        memory_limit: None,
        preserve_insertion_order: true,
        wal_autocheckpoint: None,
    }
}

impl DuckDBDatabase {
    /// The database file at `path`: an existing one (an error names a missing file) when
    /// `read_only`, created if missing otherwise.
    pub fn open(path: impl AsRef<Path>, read_only: bool) -> Result<Self, PersistError> {
        let path = path.as_ref();
        if read_only && !path.is_file() {
            return Err(PersistError::invalid_input(
                NAME,
                format!("{} is not a DuckDB database file", path.display()),
            ));
        }
        Ok(Self {
            db: Db::open(Some(path), &config(read_only))?,
        })
    }

    /// A fresh in-memory database.
    pub fn in_memory() -> Result<Self, PersistError> {
        Ok(Self {
            db: Db::open(None, &config(false))?,
        })
    }

    /// Runs `query` to completion: the result's schema (also with no rows) and its batches.
    pub async fn sql(&self, query: &str) -> Result<(SchemaRef, Vec<RecordBatch>), PersistError> {
        let query = query.to_string();
        self.db
            .run(move |conn| {
                let mut stmt = conn.prepare(&query).map_err(db_error)?;
                let arrow = stmt.query_arrow([]).map_err(db_error)?;
                let schema = arrow.get_schema();
                Ok((schema, arrow.collect()))
            })
            .await
    }

    /// Runs one statement that returns no rows (`ATTACH`, `COPY … TO`, DDL): the rows it changed.
    pub async fn execute(&self, statement: &str) -> Result<usize, PersistError> {
        let statement = statement.to_string();
        self.db
            .run(move |conn| conn.execute(&statement, []).map_err(db_error))
            .await
    }

    /// Runs `query` and streams its result chunk by chunk as DuckDB produces it (memory bounded
    /// by a few chunks): the schema first, then the batches.
    pub async fn sql_stream(&self, query: &str) -> Result<(SchemaRef, BatchStream), PersistError> {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, PersistError>>(2);
        let (schema_tx, schema_rx) = tokio::sync::oneshot::channel();
        let db = self.db.clone();
        let query = query.to_string();
        tokio::task::spawn_blocking(move || {
            let conn = match db.get() {
                Ok(c) => c,
                Err(e) => return drop(schema_tx.send(Err(e))),
            };
            let mut stmt = match conn.prepare(&query) {
                Ok(s) => s,
                Err(e) => return drop(schema_tx.send(Err(db_error(e)))),
            };
            let chunks = match stmt.stream_arrow([]) {
                Ok(c) => c,
                Err(e) => return drop(schema_tx.send(Err(db_error(e)))),
            };
            if schema_tx.send(Ok(chunks.get_schema())).is_err() {
                return;
            }
            for chunk in chunks {
                if tx.blocking_send(chunk.map_err(db_error)).is_err() {
                    return;
                }
            }
        });
        let schema = schema_rx.await.map_err(|_| {
            PersistError::backend(NAME, "the DuckDB query task ended early", false)
        })??;
        let batches: BatchStream = Box::pin(stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }));
        Ok((schema, batches))
    }

    /// The tables of the current schema, by name.
    pub async fn tables(&self) -> Result<Vec<String>, PersistError> {
        self.strings(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = current_schema() \
             AND database_name = current_database() AND NOT internal ORDER BY 1",
            Vec::new(),
        )
        .await
    }

    /// The columns of `table`, in order; an `InvalidInput` error naming the tables there are
    /// when it does not exist.
    pub async fn table_columns(&self, table: &str) -> Result<Vec<TableColumn>, PersistError> {
        let name = table.to_string();
        let columns: Vec<TableColumn> = self
            .db
            .run(move |conn| existing_columns(conn, &name))
            .await?
            .into_iter()
            .map(|c| TableColumn {
                name: c.name,
                data_type: c.data_type,
                nullable: c.nullable,
            })
            .collect();
        if columns.is_empty() {
            let tables = self.tables().await?;
            return Err(PersistError::invalid_input(
                NAME,
                format!(
                    "no table {} in {} (tables: {})",
                    ident(table),
                    self.location(),
                    if tables.is_empty() {
                        "none".to_string()
                    } else {
                        tables.join(", ")
                    }
                ),
            ));
        }
        Ok(columns)
    }

    /// The Arrow schema DuckDB reads `table` in (every column nullable: see
    /// [`table_columns`](Self::table_columns) for the catalog's `NOT NULL`).
    pub async fn table_schema(&self, table: &str) -> Result<SchemaRef, PersistError> {
        self.table_columns(table).await?;
        let query = format!("SELECT * FROM {} LIMIT 0", ident(table));
        Ok(self.sql(&query).await?.0)
    }

    /// The columns of `table`'s primary key (empty when it has none).
    pub async fn primary_key(&self, table: &str) -> Result<Vec<String>, PersistError> {
        self.strings(
            "SELECT unnest(constraint_column_names) FROM duckdb_constraints() \
             WHERE table_name = ? AND constraint_type = 'PRIMARY KEY' \
             AND schema_name = current_schema() AND database_name = current_database()",
            vec![table.to_string()],
        )
        .await
    }

    /// The values of an `ENUM(…)` type, as [`TableColumn::data_type`] spells it, in order.
    pub async fn enum_values(&self, data_type: &str) -> Result<Vec<String>, PersistError> {
        // The type comes from DuckDB's own catalog, so it is a valid type expression.
        let query = format!("SELECT unnest(enum_range(CAST(NULL AS {data_type})))::VARCHAR");
        self.strings(&query, Vec::new()).await
    }

    /// Where the database is: its file, or `:memory:`.
    pub fn location(&self) -> String {
        self.db
            .path()
            .map_or(":memory:".to_string(), |p| p.display().to_string())
    }

    /// Creates table `table` for rows of `schema` (`NOT NULL`, `PRIMARY KEY` from `soa.key`,
    /// `ENUM`s as `DuckDBPersistence` declares them); an error if it exists.
    pub async fn create_table(&self, table: &str, schema: &Schema) -> Result<(), PersistError> {
        let ddl = sql::create_table(&DuckDialect, table, schema)?;
        self.db
            .run(move |conn| conn.execute_batch(&ddl).map_err(db_error))
            .await
    }

    /// Inserts `batch` into `table`, columns by name, in one statement.
    pub async fn append(&self, table: &str, batch: RecordBatch) -> Result<(), PersistError> {
        let schema = batch.schema();
        let ingest = Arc::new(Schema::new(
            schema
                .fields()
                .iter()
                .map(|f| ingest_field(f))
                .collect::<Vec<_>>(),
        ));
        let batch = cast_to_schema(batch, &ingest, NAME)?;
        let columns: Vec<String> = schema.fields().iter().map(|f| ident(f.name())).collect();
        let columns = columns.join(", ");
        let sql = format!(
            "INSERT INTO {} ({columns}) SELECT {columns} FROM {ARROW_SCAN}(?)",
            ident(table)
        );
        self.db
            .run(move |conn| {
                let reg = Registered::new(batch);
                conn.execute(&sql, [&reg]).map(drop).map_err(db_error)
            })
            .await
    }

    /// Makes version `version` of the local Parquet dataset at `root` queryable as view `view`
    /// (partition columns as text, as the version's schema has them).
    #[cfg(feature = "parquet")]
    pub async fn attach_dataset(
        &self,
        view: &str,
        root: &Path,
        version: &crate::backends::parquet::DatasetVersion,
    ) -> Result<(), PersistError> {
        let files: Vec<crate::LiveFile> = version
            .files()
            .into_iter()
            .map(|f| crate::LiveFile {
                path: root.join(&f.path),
                rows: f.rows,
                partition: f.partition,
            })
            .collect();
        let schema = version
            .schema()
            .await?
            .unwrap_or_else(|| Arc::new(Schema::empty()));
        let sql = super::views::parquet_view_sql(view, &schema, &files)?;
        self.db
            .run(move |conn| conn.execute_batch(&sql).map_err(db_error))
            .await
    }

    async fn strings(&self, query: &str, params: Vec<String>) -> Result<Vec<String>, PersistError> {
        let query = query.to_string();
        self.db
            .run(move |conn| {
                let mut stmt = conn.prepare(&query).map_err(db_error)?;
                let rows = stmt
                    .query_map(duckdb::params_from_iter(params), |r| r.get::<_, String>(0))
                    .map_err(db_error)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(db_error)
            })
            .await
    }
}
