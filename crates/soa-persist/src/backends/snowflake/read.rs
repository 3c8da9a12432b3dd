//! Reads: `SELECT`s with the predicate as a `WHERE` of bound values (timestamps selected as
//! epoch counts in their unit), each result's Arrow
//! chunks decoded into `T`'s schema as they arrive (`decode.rs`) and cut to the scan's batch
//! size; counts; whether the table was ever written.

use std::sync::atomic::Ordering;

use futures::StreamExt;
use serde_json::{Value, json};
use soa_persist_api::exec::{conform, project_schema, split_rows};
use soa_persist_api::{BatchStream, PersistError, Scan, Stats};
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::datatypes::{DataType, Field, TimeUnit};
use soa_persist_core::query::Expr;
use soa_persist_core::soa::SoA;

use super::NAME;
use super::ddl::{META_TABLE, ident};
use super::decode::to_schema;
use super::dialect::where_clause;
use super::persistence::SnowflakePersistence;

impl<T: SoA> SnowflakePersistence<T> {
    /// Runs `sql` with `bindings` and returns its result as Snowflake's Arrow batches (its
    /// encodings: see `decode.rs`).
    pub async fn sql(
        &self,
        sql: &str,
        bindings: Option<Value>,
    ) -> Result<Vec<RecordBatch>, PersistError> {
        self.table.client.sql(sql, bindings).await
    }

    /// ` WHERE …` and its bindings, or nothing for every row.
    fn filter(&self, expr: &Expr) -> Result<(String, Option<Value>), PersistError> {
        if matches!(expr, Expr::True) {
            return Ok((String::new(), None));
        }
        let (sql, bindings) = where_clause(expr, &self.table.schema, &self.table.name)?;
        Ok((format!(" WHERE {sql}"), Some(bindings)))
    }

    /// Whether the table was ever written (this handle knows, or `_soa_tables` says so).
    pub(crate) async fn is_written(&self) -> Result<bool, PersistError> {
        if self.table.written.load(Ordering::Acquire) {
            return Ok(true);
        }
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE \"name\" = ?",
            ident(META_TABLE)
        );
        let bindings = json!({ "1": { "type": "TEXT", "value": self.table.name } });
        let mut session = self.table.client.session().await?;
        let written = session.run(&sql, Some(&bindings)).await?.single_u64()? > 0;
        if written {
            self.table.written.store(true, Ordering::Release);
        }
        Ok(written)
    }

    pub(crate) async fn scan_stream(&self, scan: Scan<T>) -> Result<BatchStream, PersistError> {
        let target = project_schema(&self.table.schema, scan.projection.as_deref(), NAME)?;
        let whole = scan.projection.is_none();
        let columns: Vec<String> = target.fields().iter().map(|f| select_item(f)).collect();
        let (filter, bindings) = self.filter(scan.predicate.expr())?;
        let sql = format!(
            "SELECT {} FROM {}{filter}",
            columns.join(", "),
            ident(&self.table.name)
        );
        let mut session = self.table.client.session().await?;
        let result = session.run(&sql, bindings.as_ref()).await?;
        drop(session);
        result.require_arrow()?;
        let size = scan.batch_size;
        let stream = result.into_stream(self.table.client.clone());
        Ok(Box::pin(stream.flat_map(move |batch| {
            let parts = batch
                .and_then(|b| to_schema(&b, &target))
                .and_then(|b| if whole { conform::<T>(b) } else { Ok(b) })
                .map(|b| split_rows(b, size));
            futures::stream::iter(match parts {
                Ok(parts) => parts.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            })
        })))
    }

    pub(crate) async fn count_where(&self, expr: &Expr) -> Result<u64, PersistError> {
        let (filter, bindings) = self.filter(expr)?;
        let sql = format!("SELECT COUNT(*) FROM {}{filter}", ident(&self.table.name));
        let mut session = self.table.client.session().await?;
        session.run(&sql, bindings.as_ref()).await?.single_u64()
    }

    /// Rows and bytes as `INFORMATION_SCHEMA.TABLES` reports them; bytes are left unknown
    /// (`None`) when the server reports none for a table with rows (the emulator always does).
    pub(crate) async fn stats_now(&self) -> Result<Stats, PersistError> {
        let rows = self.count_where(&Expr::True).await?;
        let sql = "SELECT \"BYTES\" FROM INFORMATION_SCHEMA.TABLES \
                   WHERE \"TABLE_SCHEMA\" = ? AND \"TABLE_NAME\" = ?";
        let bindings = json!({
            "1": { "type": "TEXT", "value": self.table.client.config().schema() },
            "2": { "type": "TEXT", "value": self.table.name },
        });
        let mut session = self.table.client.session().await?;
        let bytes = session.run(sql, Some(&bindings)).await?.single_u64()?;
        Ok(Stats {
            backend: NAME,
            rows,
            bytes_on_disk: (bytes > 0 || rows == 0).then_some(bytes),
            ..Stats::default()
        })
    }
}

/// A column as selected: timestamps as their count of the field's unit since the epoch
/// (`DATE_PART(EPOCH_MICROSECOND, …)`: one integer, exact, null where the value is), the rest
/// as they are.
fn select_item(field: &Field) -> String {
    let column = ident(field.name());
    match field.data_type() {
        DataType::Timestamp(unit, _) => {
            let part = match unit {
                TimeUnit::Second => "EPOCH_SECOND",
                TimeUnit::Millisecond => "EPOCH_MILLISECOND",
                TimeUnit::Microsecond => "EPOCH_MICROSECOND",
                TimeUnit::Nanosecond => "EPOCH_NANOSECOND",
            };
            format!("DATE_PART({part}, {column}) AS {column}")
        }
        _ => column,
    }
}
