//! Writes: appends as Native inserts (with their write ids for `append_batches_once`), `save` and
//! `clear` as a table swap, and `delete` as a mutation that is waited for.

use std::sync::atomic::Ordering;
use std::time::Duration;

use soa_persist_api::PersistError;
use soa_persist_api::exec::{ContainerBatches, conform};
use soa_persist_api::sql::Dialect;
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::column::Column;
use soa_persist_core::convert::ToArrow;
use soa_persist_core::query::Expr;
use soa_persist_core::schema::key_field;
use soa_persist_core::soa::SoA;

use super::NAME;
use super::client::ClickHouseClient;
use super::ddl::META_TABLE;
use super::dialect::{ClickHouseDialect, string_literal, where_sql};
use super::native::BlockEncoder;
use super::persistence::ClickHousePersistence;
use super::shard::split;

/// How long `delete` waits for its mutation before giving up (retryable: it may still finish).
const MUTATION_WAIT: Duration = Duration::from_secs(300);

impl<T: SoA> ClickHousePersistence<T> {
    pub(crate) fn ident(&self, name: &str) -> String {
        ClickHouseDialect::new(self.table.client.caps()).quote_ident(name)
    }

    /// One INSERT of every row of `batches` (conformed to `T`) into `table`.
    async fn insert_into(
        &self,
        table: &str,
        batches: Vec<RecordBatch>,
    ) -> Result<(), PersistError> {
        let t = &self.table;
        t.client
            .insert(&self.ident(table), &t.encoder, &conformed::<T>(batches)?)
            .await?;
        Ok(())
    }

    /// Appends `batches` (the caller holds a turn) and marks the table written: on a cluster
    /// inserting into every shard at once unless told to go through the `Distributed` table.
    pub(crate) async fn insert(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        let t = &self.table;
        if t.cluster.is_some() && t.per_shard.load(Ordering::Relaxed) {
            self.insert_parts(&t.local, conformed::<T>(batches)?)
                .await?;
        } else {
            self.insert_into(&t.name, batches).await?;
        }
        self.mark_written().await
    }

    /// Appends the rows of a container (the caller holds a turn): on one server (or through
    /// the `Distributed` table) converted to Arrow block by block on the encoding thread.
    pub(crate) async fn insert_container(&self, rows: T::Container) -> Result<(), PersistError> {
        let t = &self.table;
        if t.cluster.is_some() && t.per_shard.load(Ordering::Relaxed) {
            return self.insert(vec![rows.into_record_batch()?]).await;
        }
        if rows.is_empty() {
            return self.mark_written().await;
        }
        let blocks = ContainerBatches::<T>::new(rows, t.client.config().block_rows);
        t.client
            .insert_rows(&self.ident(&t.name), &t.encoder, blocks)
            .await?;
        self.mark_written().await
    }

    /// Records once per handle that the table was written (`load` is `None` until then).
    pub(crate) async fn mark_written(&self) -> Result<(), PersistError> {
        if self.table.written.load(Ordering::Acquire) {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO {} (name) VALUES ({})",
            self.ident(META_TABLE),
            string_literal(self.table.name.as_bytes())
        );
        self.table.client.execute(&sql).await?;
        self.table.written.store(true, Ordering::Release);
        Ok(())
    }

    /// Inserts `batches` into the parts table `local`: on a cluster each batch is cut by key
    /// and every shard takes its pieces at once.
    async fn insert_parts(
        &self,
        local: &str,
        batches: Vec<RecordBatch>,
    ) -> Result<(), PersistError> {
        let t = &self.table;
        let key = key_field(&t.schema).and_then(|k| t.schema.index_of(k).ok());
        let mut per_shard: Vec<Vec<RecordBatch>> = vec![Vec::new(); t.shards.len()];
        for batch in batches {
            for (shard, piece) in per_shard
                .iter_mut()
                .zip(split(&batch, key, t.shards.len())?)
            {
                if piece.num_rows() > 0 {
                    shard.push(piece);
                }
            }
        }
        self.send_to_shards(local, &t.encoder, per_shard).await
    }

    /// Inserts each shard's batches into its table `local`, all shards at once. Batches with
    /// the hidden write-id columns (`encoder` writes them) are allowed to fill them.
    pub(crate) async fn send_to_shards(
        &self,
        local: &str,
        encoder: &BlockEncoder,
        per_shard: Vec<Vec<RecordBatch>>,
    ) -> Result<(), PersistError> {
        let t = &self.table;
        let table = self.ident(local);
        let ids = encoder.schema().fields().len() > t.schema.fields().len();
        let inserts = t.shards.iter().zip(&per_shard).map(|(shard, batches)| {
            let shard = match ids {
                true => shard.with_query_setting("insert_allow_materialized_columns", "1"),
                false => shard.clone(),
            };
            let table = table.clone();
            async move { shard.insert(&table, encoder, batches).await }
        });
        futures::future::try_join_all(inserts).await?;
        Ok(())
    }

    /// Replaces the table's rows: a copy of the parts table's structure is filled (on a
    /// cluster each shard's copy directly with its rows), then swapped in with one `RENAME`
    /// per shard and the old table dropped, so readers of one server see the old rows or the
    /// new ones; on a cluster, between two shards' renames, a reader of the `Distributed`
    /// table sees the new rows of the shards already renamed and the old rows of the others.
    pub(crate) async fn replace(&self, batches: Vec<RecordBatch>) -> Result<(), PersistError> {
        let _turn = self.table.turns.write().await;
        let t = &self.table;
        let (fresh, old) = (
            format!("{}__soa_new", t.local),
            format!("{}__soa_old", t.local),
        );
        let (local_q, fresh_q, old_q) =
            (self.ident(&t.local), self.ident(&fresh), self.ident(&old));
        for shard in &t.shards {
            // Left over by a save that failed part-way: never holds anything readers need.
            shard
                .execute(&format!("DROP TABLE IF EXISTS {fresh_q}"))
                .await?;
            shard
                .execute(&format!("DROP TABLE IF EXISTS {old_q}"))
                .await?;
            shard
                .execute(&format!("CREATE TABLE {fresh_q} AS {local_q}"))
                .await?;
        }
        // On a cluster the rows are cut by key on the client and each shard's new table
        // takes its own (as appends do), with no staging `Distributed` table.
        if t.cluster.is_some() {
            self.insert_parts(&fresh, conformed::<T>(batches)?).await?;
        } else {
            self.insert_into(&fresh, batches).await?;
        }
        self.mark_written().await?;
        // One `RENAME` per shard, in turn: atomic on each server, not across them.
        for shard in &t.shards {
            shard
                .execute(&format!(
                    "RENAME TABLE {local_q} TO {old_q}, {fresh_q} TO {local_q}"
                ))
                .await?;
            shard
                .execute(&format!("DROP TABLE IF EXISTS {old_q}"))
                .await?;
        }
        Ok(())
    }

    /// Deletes the matching rows with a mutation and waits until it is done; the count is
    /// taken just before (under this handle's exclusive turn).
    pub(crate) async fn delete_where(&self, expr: &Expr) -> Result<u64, PersistError> {
        let _turn = self.table.turns.write().await;
        let n = self.count_where(expr).await?;
        if n == 0 {
            return Ok(0);
        }
        let filter = where_sql(
            self.table.client.caps(),
            expr,
            &self.table.schema,
            &self.table.name,
        )?;
        // A mutation deletes where its condition is not false, so an unknown (NULL) one is
        // made false here: SQL semantics keep those rows, as `count` and `SELECT` do.
        let sql = format!(
            "ALTER TABLE {} DELETE WHERE ifNull({filter}, 0)",
            self.ident(&self.table.local)
        );
        for shard in &self.table.shards {
            shard.execute(&sql).await?;
        }
        for shard in &self.table.shards {
            self.wait_for_mutations(shard).await?;
        }
        Ok(n)
    }

    async fn wait_for_mutations(&self, shard: &ClickHouseClient) -> Result<(), PersistError> {
        let sql = format!(
            "SELECT count() FROM system.mutations WHERE database = currentDatabase() \
             AND table = {} AND is_done = 0 FORMAT TabSeparated",
            string_literal(self.table.local.as_bytes())
        );
        let start = std::time::Instant::now();
        let mut pause = Duration::from_millis(5);
        while parse_u64(&shard.query_text(&sql).await?)? > 0 {
            if start.elapsed() > MUTATION_WAIT {
                return Err(PersistError::Backend {
                    backend: NAME,
                    message: format!(
                        "the delete mutation on {} is not done after {MUTATION_WAIT:?}",
                        self.ident(&self.table.local)
                    ),
                    retryable: true,
                    source: None,
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
        Ok(())
    }
}

/// The rows of `batches` as `T`'s schema, empty batches left out.
fn conformed<T: SoA>(batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>, PersistError> {
    batches
        .into_iter()
        .filter(|b| b.num_rows() > 0)
        .map(conform::<T>)
        .collect()
}

/// The one number a `FORMAT TabSeparated` answer holds.
pub(crate) fn parse_u64(text: &str) -> Result<u64, PersistError> {
    text.trim().parse().map_err(|_| PersistError::Backend {
        backend: NAME,
        message: format!("expected a number from the server, got {text:?}"),
        retryable: false,
        source: None,
    })
}
