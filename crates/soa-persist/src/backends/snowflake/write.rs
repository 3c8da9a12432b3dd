//! Writes, each one transaction on a session of its own: below the bulk size one `INSERT`
//! whose values are array bindings built from the Arrow columns; from it on the batches as a
//! Parquet file written by the `parquet` crate, uploaded to the internal stage (`PUT`, then
//! the upload to the URL the answer names) before the transaction, and one `COPY INTO`
//! (Snowflake's bulk path) inside it. `save` deletes first, `upsert` deletes the keys first,
//! `append_batches_once` checks and records the write id; all of it commits together. Lists
//! and nested structs travel as JSON text on both paths (`json.rs`) and are `PARSE_JSON`ed.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use soa_persist_api::exec::conform;
use soa_persist_api::{PersistError, WriteId};
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::query::Expr;
use soa_persist_core::schema::META_STRUCT;
use soa_persist_core::soa::SoA;

use super::NAME;
use super::bind::column_binding;
use super::ddl::{META_TABLE, STAGE, WRITES_TABLE, ident};
use super::dialect::{sql_type, where_clause};
use super::json::{is_json, to_texts};
use super::persistence::SnowflakePersistence;
use super::session::Session;
use crate::backends::parquet::seconds_as_millis;

/// What a write does to the rows already stored.
#[derive(Debug)]
pub(crate) enum Mode {
    Append,
    Replace,
    /// Deletes the rows matching each condition (the keys), then appends.
    Upsert(Vec<Expr>),
}

impl<T: SoA> SnowflakePersistence<T> {
    /// One write in one transaction; with `once`, nothing is written (`false`) when this
    /// table already holds that write id or a later one of its writer.
    pub(crate) async fn write(
        &self,
        batches: Vec<RecordBatch>,
        mode: Mode,
        once: Option<WriteId>,
    ) -> Result<bool, PersistError> {
        let batches = batches
            .into_iter()
            .filter(|b| b.num_rows() > 0)
            .map(conform::<T>)
            .collect::<Result<Vec<_>, _>>()?;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let _turn = self.table.turns.lock().await;
        let client = &self.table.client;
        let staged = if rows >= client.config().bulk_rows {
            Some(self.stage(&batches).await?)
        } else {
            None
        };
        let mut session = client.session().await?;
        session.run("BEGIN TRANSACTION", None).await?;
        session.in_transaction = true;
        let outcome = self
            .in_transaction(&mut session, &batches, mode, once, staged.clone())
            .await;
        let end = if matches!(outcome, Ok(true)) {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        let ended = session.run(end, None).await;
        if ended.is_ok() {
            session.in_transaction = false;
        }
        if let (Some(prefix), false) = (&staged, matches!(outcome, Ok(true))) {
            // Not loaded, so not purged: best effort, the write's own error is the one to report.
            let _ = session
                .run(&format!("REMOVE @{STAGE}/{prefix}/"), None)
                .await;
        }
        let wrote = outcome?;
        ended?;
        if wrote {
            self.table.written.store(true, Ordering::Release);
        }
        Ok(wrote)
    }

    async fn in_transaction(
        &self,
        session: &mut Session,
        batches: &[RecordBatch],
        mode: Mode,
        once: Option<WriteId>,
        staged: Option<String>,
    ) -> Result<bool, PersistError> {
        let table = ident(&self.table.name);
        if let Some(id) = &once
            && !self.claim(session, id).await?
        {
            return Ok(false);
        }
        match mode {
            Mode::Append => {}
            Mode::Replace => {
                session.run(&format!("DELETE FROM {table}"), None).await?;
            }
            Mode::Upsert(deletes) => {
                for expr in deletes {
                    let (cond, bindings) =
                        where_clause(&expr, &self.table.schema, &self.table.name)?;
                    let sql = format!("DELETE FROM {table} WHERE {cond}");
                    session.run(&sql, Some(&bindings)).await?;
                }
            }
        }
        if !self.table.written.load(Ordering::Acquire) {
            self.mark_written(session).await?;
        }
        match staged {
            Some(prefix) => self.copy_into(session, &prefix).await?,
            None => {
                for batch in batches {
                    self.insert(session, batch).await?;
                }
            }
        }
        Ok(true)
    }

    /// `INSERT INTO t (columns) VALUES (?, …)` with one array binding per column. Snowflake
    /// binds no `ARRAY` / `OBJECT` and takes no `PARSE_JSON(?)` in `VALUES`: a table with
    /// such columns gets `INSERT INTO t (columns) SELECT column1, PARSE_JSON(column2), … FROM
    /// VALUES (?, …)`, its JSON bound as text (the form Snowflake's connectors document for
    /// array-bound semi-structured values).
    async fn insert(&self, session: &mut Session, batch: &RecordBatch) -> Result<(), PersistError> {
        let schema = batch.schema();
        let columns: Vec<String> = schema.fields().iter().map(|f| ident(f.name())).collect();
        let marks = vec!["?"; columns.len()].join(", ");
        let mut bindings = serde_json::Map::new();
        for (i, (column, field)) in batch.columns().iter().zip(schema.fields()).enumerate() {
            let binding = if is_json(field.data_type()) {
                json!({ "type": "TEXT", "value": to_texts(column, field.name())? })
            } else {
                column_binding(column)?
            };
            bindings.insert((i + 1).to_string(), binding);
        }
        let values = if schema.fields().iter().any(|f| is_json(f.data_type())) {
            let items: Vec<String> = schema
                .fields()
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    if is_json(f.data_type()) {
                        format!("PARSE_JSON(column{})", i + 1)
                    } else {
                        format!("column{}", i + 1)
                    }
                })
                .collect();
            format!("SELECT {} FROM VALUES ({marks})", items.join(", "))
        } else {
            format!("VALUES ({marks})")
        };
        let sql = format!(
            "INSERT INTO {} ({}) {values}",
            ident(&self.table.name),
            columns.join(", ")
        );
        let inserted = session
            .run(&sql, Some(&Value::Object(bindings)))
            .await?
            .affected_rows()?;
        if inserted != batch.num_rows() as u64 {
            return Err(PersistError::backend(
                NAME,
                format!("an INSERT of {} rows reported {inserted}", batch.num_rows()),
                false,
            ));
        }
        Ok(())
    }

    /// The batches as one Parquet file in a fresh folder of the stage; returns the folder.
    async fn stage(&self, batches: &[RecordBatch]) -> Result<String, PersistError> {
        let file = parquet_bytes(&self.table.schema, batches)?;
        let prefix = format!("soa-{}", uuid::Uuid::new_v4().simple());
        let mut session = self.table.client.session().await?;
        let put = format!(
            "PUT 'file:///part-0.parquet' @{STAGE}/{prefix} AUTO_COMPRESS = FALSE \
             SOURCE_COMPRESSION = NONE OVERWRITE = TRUE"
        );
        let answer = session.run(&put, None).await?;
        drop(session);
        let Some(url) = answer.upload_url else {
            return Err(PersistError::invalid_input(
                NAME,
                format!(
                    "the stage is on {} storage, whose uploads need its cloud credentials; \
                     only presigned-URL stages are supported (set a higher bulk size to write \
                     with INSERTs)",
                    answer.location_type.as_deref().unwrap_or("unknown")
                ),
            ));
        };
        self.table.client.upload(&url, file).await?;
        Ok(prefix)
    }

    /// `COPY INTO` the table from a staged folder, columns matched by name; the files are
    /// purged once loaded. A table with `ARRAY` / `OBJECT` columns is loaded with a
    /// transformation instead (its file holds their JSON as text, see `parquet_bytes`):
    /// `SELECT $1:"a"::TYPE, PARSE_JSON($1:"b"), …`, Parquet's logical types kept.
    async fn copy_into(&self, session: &mut Session, prefix: &str) -> Result<(), PersistError> {
        let fields = self.table.schema.fields();
        let sql = if fields.iter().any(|f| is_json(f.data_type())) {
            let columns: Vec<String> = fields.iter().map(|f| ident(f.name())).collect();
            let items = fields
                .iter()
                .map(|f| {
                    let item = format!("$1:{}", ident(f.name()));
                    Ok(if is_json(f.data_type()) {
                        format!("PARSE_JSON({item})")
                    } else {
                        format!("{item}::{}", sql_type(f)?)
                    })
                })
                .collect::<Result<Vec<_>, PersistError>>()?;
            format!(
                "COPY INTO {} ({}) FROM (SELECT {} FROM @{STAGE}/{prefix}/) \
                 FILE_FORMAT = (TYPE = PARQUET USE_LOGICAL_TYPE = TRUE) \
                 ON_ERROR = ABORT_STATEMENT PURGE = TRUE",
                ident(&self.table.name),
                columns.join(", "),
                items.join(", ")
            )
        } else {
            format!(
                "COPY INTO {} FROM @{STAGE}/{prefix}/ FILE_FORMAT = (TYPE = PARQUET) \
                 MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE ON_ERROR = ABORT_STATEMENT PURGE = TRUE",
                ident(&self.table.name)
            )
        };
        let rows = session.run(&sql, None).await?.text_rows()?;
        let refused = rows.iter().flatten().flatten().find(|c| {
            matches!(
                c.as_str(),
                "LOAD_SKIPPED" | "LOAD_FAILED" | "PARTIALLY_LOADED"
            )
        });
        if let Some(status) = refused {
            return Err(PersistError::backend(
                NAME,
                format!("COPY INTO from @{STAGE}/{prefix}: {status}"),
                false,
            ));
        }
        Ok(())
    }

    /// Records `id` as the last write of its writer to this table, unless this or a later
    /// write is recorded (then `false`).
    async fn claim(&self, session: &mut Session, id: &WriteId) -> Result<bool, PersistError> {
        let writes = ident(WRITES_TABLE);
        let key = json!({
            "1": { "type": "TEXT", "value": self.table.name },
            "2": { "type": "TEXT", "value": id.writer },
        });
        let sql = format!(
            "SELECT MAX(\"seq\") FROM {writes} WHERE \"table_name\" = ? AND \"writer\" = ?"
        );
        let stored = session.run(&sql, Some(&key)).await?.text_rows()?;
        let stored: Option<u64> = stored
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|s| s.parse().ok());
        if stored.is_some_and(|s| s >= id.seq) {
            return Ok(false);
        }
        let sql = format!("DELETE FROM {writes} WHERE \"table_name\" = ? AND \"writer\" = ?");
        session.run(&sql, Some(&key)).await?;
        let sql =
            format!("INSERT INTO {writes} (\"table_name\", \"writer\", \"seq\") VALUES (?, ?, ?)");
        let mut row = key;
        row["3"] = json!({ "type": "FIXED", "value": id.seq.to_string() });
        session.run(&sql, Some(&row)).await?;
        Ok(true)
    }

    async fn mark_written(&self, session: &mut Session) -> Result<(), PersistError> {
        let meta = ident(META_TABLE);
        let struct_name = self
            .table
            .schema
            .metadata()
            .get(META_STRUCT)
            .cloned()
            .unwrap_or_default();
        let sql = format!(
            "INSERT INTO {meta} (\"name\", \"struct\") SELECT ?, ? WHERE NOT EXISTS \
             (SELECT 1 FROM {meta} WHERE \"name\" = ?)"
        );
        let bindings = json!({
            "1": { "type": "TEXT", "value": self.table.name },
            "2": { "type": "TEXT", "value": struct_name },
            "3": { "type": "TEXT", "value": self.table.name },
        });
        session.run(&sql, Some(&bindings)).await?;
        Ok(())
    }

    /// `DELETE … WHERE` the predicate in a transaction of its own; the rows deleted.
    pub(crate) async fn delete_where(&self, expr: &Expr) -> Result<u64, PersistError> {
        let table = ident(&self.table.name);
        let (sql, bindings) = if matches!(expr, Expr::True) {
            (format!("DELETE FROM {table}"), None)
        } else {
            let (cond, b) = where_clause(expr, &self.table.schema, &self.table.name)?;
            (format!("DELETE FROM {table} WHERE {cond}"), Some(b))
        };
        let _turn = self.table.turns.lock().await;
        let mut session = self.table.client.session().await?;
        session.run(&sql, bindings.as_ref()).await?.affected_rows()
    }
}

/// `batch` with its list and struct columns as their JSON text (`Utf8`, null for a null row).
fn json_as_text(batch: &RecordBatch) -> Result<RecordBatch, PersistError> {
    use soa_persist_core::arrow::array::{ArrayRef, StringArray};
    use soa_persist_core::arrow::datatypes::{DataType, Schema};
    let schema = batch.schema();
    if !schema.fields().iter().any(|f| is_json(f.data_type())) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        if is_json(field.data_type()) {
            let texts = to_texts(column, field.name())?;
            columns.push(std::sync::Arc::new(StringArray::from(texts)) as ArrayRef);
            fields.push(field.as_ref().clone().with_data_type(DataType::Utf8));
        } else {
            columns.push(column.clone());
            fields.push(field.as_ref().clone());
        }
    }
    Ok(RecordBatch::try_new(
        std::sync::Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())),
        columns,
    )?)
}

/// `batches` as the bytes of one Parquet file (zstd), in the struct's schema.
fn parquet_bytes(
    schema: &soa_persist_core::arrow::datatypes::SchemaRef,
    batches: &[RecordBatch],
) -> Result<Vec<u8>, PersistError> {
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let to_error = |e: parquet::errors::ParquetError| {
        PersistError::backend(
            NAME,
            format!("writing the Parquet file to stage: {e}"),
            false,
        )
    };
    // Parquet has no seconds unit: such columns go as milliseconds, as the Parquet backend
    // stores them. Lists and nested structs go as their JSON text.
    let batches = batches
        .iter()
        .map(|b| seconds_as_millis(&json_as_text(b)?))
        .collect::<Result<Vec<_>, _>>()?;
    let schema = batches
        .first()
        .map_or_else(|| schema.clone(), |b| b.schema());
    let mut writer = ArrowWriter::try_new(Vec::new(), schema, Some(props)).map_err(to_error)?;
    for batch in &batches {
        writer.write(batch).map_err(to_error)?;
    }
    writer.into_inner().map_err(to_error)
}
