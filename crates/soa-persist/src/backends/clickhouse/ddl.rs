//! The table of a struct in ClickHouse: `CREATE TABLE` through the shared SQL layer, the check
//! of an existing table against the struct (`system.columns`: new optional fields are added,
//! a column of another type is a `SchemaMismatch` naming it), the hidden write-id columns, and
//! the bookkeeping tables.

use soa_persist_api::PersistError;
use soa_persist_api::sql::{self, Dialect};
use soa_persist_core::arrow::datatypes::Schema;
use soa_persist_core::schema::key_field;

use super::NAME;
use super::client::ClickHouseClient;
use super::dialect::{ClickHouseDialect, string_literal};
use super::native::ChType;

/// Tables ever written (so `load` tells "never stored" from "stored, now empty").
pub(crate) const META_TABLE: &str = "_soa_tables";
/// The write ids started and done per table and writer (`append_batches_once`).
pub(crate) const WRITES_TABLE: &str = "_soa_writes";
/// Hidden column: the write id (`seq/writer`) of the rows, `''` for plain appends.
pub(crate) const WRITE_COLUMN: &str = "_soa_write";
/// Hidden column: the rows' unit (one part's worth) within their write.
pub(crate) const BLOCK_COLUMN: &str = "_soa_block";
/// `MATERIALIZED`: absent from `SELECT *` and from inserts that do not name them.
const HIDDEN: [(&str, &str); 2] = [
    (WRITE_COLUMN, "String MATERIALIZED ''"),
    (BLOCK_COLUMN, "UInt32 MATERIALIZED 0"),
];

/// Creates the bookkeeping tables if missing.
pub(crate) async fn ensure_meta(client: &ClickHouseClient) -> Result<(), PersistError> {
    let d = ClickHouseDialect::new(client.caps());
    client
        .execute(&format!(
            "CREATE TABLE IF NOT EXISTS {} (name String) ENGINE = MergeTree ORDER BY name",
            d.quote_ident(META_TABLE)
        ))
        .await?;
    // Merges keep, per writer, its highest started and its highest done write: all that
    // `append_batches_once` asks, as a writer's numbers only grow. `at` (when the record was
    // written) lets finished writers' records go after the retention (`once.rs`).
    let writes = d.quote_ident(WRITES_TABLE);
    client
        .execute(&format!(
            "CREATE TABLE IF NOT EXISTS {writes} (table_name String, writer String, seq UInt64, \
             done UInt8 DEFAULT 1, at DateTime DEFAULT now()) ENGINE = ReplacingMergeTree(seq) \
             ORDER BY (table_name, writer, done)"
        ))
        .await?;
    let columns = existing_columns(client, WRITES_TABLE).await?;
    // A table from before `done` holds finished writes only.
    if !columns.iter().any(|(name, _)| name == "done") {
        client
            .execute(&format!(
                "ALTER TABLE {writes} ADD COLUMN done UInt8 DEFAULT 1"
            ))
            .await?;
    }
    // Rows from before `at` get `now()` when read or merged, never an age from before the
    // upgrade: they are kept at least a retention from it.
    if !columns.iter().any(|(name, _)| name == "at") {
        client
            .execute(&format!(
                "ALTER TABLE {writes} ADD COLUMN at DateTime DEFAULT now()"
            ))
            .await?;
    }
    Ok(())
}

/// `(name, type)` of each column of `table` in the client's database, in order.
pub(crate) async fn existing_columns(
    client: &ClickHouseClient,
    table: &str,
) -> Result<Vec<(String, String)>, PersistError> {
    let text = client
        .query_text(&format!(
            "SELECT name, type FROM system.columns WHERE database = currentDatabase() \
             AND table = {} FORMAT TabSeparated",
            string_literal(table.as_bytes())
        ))
        .await?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let (name, ty) = line.split_once('\t')?;
            Some((unescape_tsv(name), unescape_tsv(ty)))
        })
        .collect())
}

/// A TabSeparated cell as the text it stands for.
pub(crate) fn unescape_tsv(cell: &str) -> String {
    let mut out = String::with_capacity(cell.len());
    let mut chars = cell.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Whether `name` is one of the backend's hidden columns.
pub(crate) fn is_hidden(name: &str) -> bool {
    HIDDEN.iter().any(|(n, _)| *n == name)
}

impl ClickHouseClient {
    /// Creates table `table` for rows of `schema` as the backend does for a struct (MergeTree
    /// ordered by the `soa.key` column, partitioned by the `soa.partition` ones, types by the
    /// server's capabilities) but without the write-id columns, for tools that copy rows in.
    /// A table that exists already is an `InvalidInput` error naming it.
    pub async fn create_table(&self, table: &str, schema: &Schema) -> Result<(), PersistError> {
        if !existing_columns(self, table).await?.is_empty() {
            return Err(PersistError::invalid_input(
                NAME,
                format!("table {table:?} already exists"),
            ));
        }
        ensure_table(self, table, schema, false).await
    }
}

/// Creates `table` if missing; otherwise checks it against `schema`, adding new optional
/// columns with `ALTER TABLE ... ADD COLUMN`. A parts table (`hidden`) gets the write-id
/// columns too.
pub(crate) async fn ensure_table(
    client: &ClickHouseClient,
    table: &str,
    schema: &Schema,
    hidden: bool,
) -> Result<(), PersistError> {
    let d = ClickHouseDialect::new(client.caps()).with_schema(schema);
    let mismatch = |detail: String| PersistError::SchemaMismatch {
        backend: NAME,
        detail: format!("table {}: {detail}", d.quote_ident(table)),
    };
    if let Some(f) = schema.fields().iter().find(|f| is_hidden(f.name())) {
        return Err(mismatch(format!(
            "the field {} has a name the backend keeps for itself",
            f.name()
        )));
    }
    let mut existing = existing_columns(client, table).await?;
    if existing.is_empty() {
        client
            .execute(&sql::create_table(&d, table, schema)?)
            .await?;
        existing = existing_columns(client, table).await?;
    }
    let mut to_add = Vec::new();
    for (name, ty) in HIDDEN.iter().filter(|_| hidden) {
        if !existing.iter().any(|(n, _)| n == name) {
            to_add.push(format!(
                "ALTER TABLE {} ADD COLUMN {} {ty}",
                d.quote_ident(table),
                d.quote_ident(name)
            ));
        }
    }
    for field in schema.fields() {
        let wanted = d.ch_type(field)?;
        match existing.iter().find(|(n, _)| n == field.name()) {
            Some((_, ty)) if ChType::parse(ty).ok().as_ref() != Some(&wanted) => {
                return Err(mismatch(format!(
                    "column {} is {ty} but the struct's field needs {wanted}",
                    d.quote_ident(field.name())
                )));
            }
            Some(_) => {}
            None if field.is_nullable() => to_add.push(format!(
                "ALTER TABLE {} ADD COLUMN {}",
                d.quote_ident(table),
                d.column_definition(field)?
            )),
            None => {
                return Err(mismatch(format!(
                    "column {} is missing, and the struct's field is not an Option that could be added",
                    d.quote_ident(field.name())
                )));
            }
        }
    }
    for statement in to_add {
        client.execute(&statement).await?;
    }
    Ok(())
}

/// The `Distributed` table `name` over `local` on every shard of `cluster`, created if
/// missing (sharded by a hash of the key), otherwise given the struct's new optional columns.
pub(crate) async fn ensure_distributed(
    client: &ClickHouseClient,
    cluster: &str,
    name: &str,
    local: &str,
    schema: &Schema,
) -> Result<(), PersistError> {
    if !existing_columns(client, name).await?.is_empty() {
        return ensure_table(client, name, schema, false).await;
    }
    client
        .execute(&distributed_ddl(client, cluster, name, local, schema)?)
        .await
}

/// `CREATE TABLE name (the struct's columns) ENGINE = Distributed(cluster, db, local, sharding
/// key)`. Not `AS local`: the 18.16 `Distributed` engine would forward the hidden
/// `MATERIALIZED` columns, which the shards refuse to take.
pub(crate) fn distributed_ddl(
    client: &ClickHouseClient,
    cluster: &str,
    name: &str,
    local: &str,
    schema: &Schema,
) -> Result<String, PersistError> {
    let d = ClickHouseDialect::new(client.caps()).with_schema(schema);
    let columns = schema
        .fields()
        .iter()
        .map(|f| d.column_definition(f))
        .collect::<Result<Vec<_>, _>>()?;
    let database = client.config().database.as_deref().unwrap_or("default");
    let key = key_field(schema)
        .map(|k| format!("sipHash64({})", d.quote_ident(k)))
        .unwrap_or_else(|| "rand()".into());
    Ok(format!(
        "CREATE TABLE {} ({}) ENGINE = Distributed({}, {}, {}, {key})",
        d.quote_ident(name),
        columns.join(", "),
        d.quote_ident(cluster),
        d.quote_ident(database),
        d.quote_ident(local),
    ))
}
