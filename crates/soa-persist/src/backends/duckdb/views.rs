//! Parquet datasets as DuckDB views: SQL over a dataset's files, partition columns included.

use soa_persist_core::arrow::datatypes::Schema;
use soa_persist_core::soa::SoA;

use super::DuckDBPersistence;
use super::ddl::{ident, string_literal};
use super::dialect::sql_type;
use super::error::db_error;
use super::pool::NAME;
use soa_persist_api::PersistError;

impl<T: SoA> DuckDBPersistence<T> {
    /// Makes the files of a Parquet dataset queryable as the view `view` (its current
    /// snapshot: re-attach after later writes), partition columns included, so SQL runs over
    /// the files directly. Local datasets only.
    pub async fn attach_parquet<U: SoA>(
        &self,
        view: &str,
        dataset: &crate::ParquetPersistence<U>,
    ) -> Result<(), PersistError> {
        let files = dataset.live_files().await?.ok_or_else(|| {
            PersistError::backend(
                NAME,
                format!(
                    "attach_parquet: dataset {} is not on local disk",
                    dataset.location()
                ),
                false,
            )
        })?;
        let sql = parquet_view_sql(view, &U::arrow_schema(), &files)?;
        self.table
            .db
            .run(move |conn| conn.execute_batch(&sql).map_err(db_error))
            .await
    }
}

/// `CREATE OR REPLACE VIEW` over a dataset's files: one `read_parquet` per partition, the
/// partition values added as typed constants, columns in the struct's order.
pub(super) fn parquet_view_sql(
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
