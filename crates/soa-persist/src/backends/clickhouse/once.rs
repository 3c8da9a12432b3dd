//! Exactly-once appends (`append_batches_once`) on servers without insert deduplication
//! (18.16 has neither `insert_deduplication_token` nor deduplication on plain MergeTree).
//!
//! A write is cut into units: the rows of one block (at most `block_rows`), one shard and one
//! partition. A unit is one Native block that the server writes as one part (it squashes small
//! blocks together but never splits one, and a block of one partition is one part), whole or
//! not at all. Each unit carries the write id in the hidden columns `_soa_write`
//! (`seq/writer`) and `_soa_block` (the unit's number in the write), so rows and the proof that
//! they landed commit together. `_soa_writes` records a write as started (before any row is
//! sent) and as done (after). A write never started has no rows anywhere, so the common path
//! costs one small query; only a write started and not done (its outcome unknown: a kill, a
//! lost answer) looks up which of its units are stored (a scan of `_soa_write`) and sends
//! the others. Rows are never deleted (18.16's mutations can stall after a kill); the records
//! of writers whose writes are all done go after a retention (`sweep_writes`), so
//! `_soa_writes` stays bounded by the writers of the retention window plus those that died
//! mid-write. Units are numbered by position, so a retry must send the same batches through a
//! handle with the same block size and shards (a `PersistentStore` retries through its own
//! handle).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use soa_persist_api::exec::conform;
use soa_persist_api::{PersistError, WriteId};
use soa_persist_core::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt32Array};
use soa_persist_core::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use soa_persist_core::schema::{key_field, partition_fields};
use soa_persist_core::soa::SoA;

use super::NAME;
use super::ddl::{BLOCK_COLUMN, WRITE_COLUMN, WRITES_TABLE, unescape_tsv};
use super::dialect::string_literal;
use super::persistence::ClickHousePersistence;
use super::shard::{by_partition, split};
use super::write::parse_u64;

/// The longest a handle waits between two sweeps of `_soa_writes`.
const SWEEP_EVERY: Duration = Duration::from_secs(600);
/// The most writers one sweep deletes the records of (one mutation, a bounded statement).
const SWEEP_WRITERS: usize = 1000;

/// What `_soa_writes` says of a writer.
struct WriteState {
    /// Its highest write known done (0 for none).
    done: u64,
    /// Whether this write (or a later one) was started: some of its units may be stored.
    started: bool,
}

/// `schema` with the hidden write-id columns after the struct's.
pub(crate) fn with_id_columns(schema: &Schema) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(WRITE_COLUMN, DataType::Utf8, false));
    fields.push(Field::new(BLOCK_COLUMN, DataType::UInt32, false));
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// One part's worth of a write: rows of one block, shard and partition, with the id columns.
struct Unit {
    shard: usize,
    rows: RecordBatch,
}

impl<T: SoA> ClickHousePersistence<T> {
    /// The body of `append_batches_once` (the caller holds the `once` lock and a turn).
    pub(crate) async fn append_once(
        &self,
        batches: Vec<RecordBatch>,
        id: &WriteId,
    ) -> Result<bool, PersistError> {
        let state = self.write_state(id).await?;
        if state.done >= id.seq {
            return Ok(false);
        }
        let units = self.units(batches, id)?;
        let (send, wrote) = if state.started {
            let send = self.missing_units(id, units).await?;
            let wrote = !send.is_empty();
            (send, wrote)
        } else {
            self.record(id, false).await?;
            (units, true)
        };
        let t = &self.table;
        let mut per_shard: Vec<Vec<RecordBatch>> = vec![Vec::new(); t.shards.len()];
        for unit in send {
            per_shard[unit.shard].push(unit.rows);
        }
        self.send_to_shards(&t.local, &t.id_encoder, per_shard)
            .await?;
        self.mark_written().await?;
        self.record(id, true).await?;
        // Housekeeping after the write is done and recorded: its failure changes nothing the
        // caller asked for, so it is not reported (the next sweep tries again).
        let _ = self.sweep_writes().await;
        Ok(wrote)
    }

    /// Deletes from `_soa_writes` the records of this table's writers whose writes are all
    /// done (highest done >= highest started) and whose last record is older than the
    /// retention: at most once per `SWEEP_EVERY` per handle (every write when the retention is
    /// shorter), at most `SWEEP_WRITERS` writers at a time, and not while an earlier sweep's
    /// mutation is still pending. Only rows up to each writer's done write go (`seq <= done`),
    /// so a write it started since is kept, and a write started and never done keeps its
    /// records forever: its retry still finds it in doubt.
    async fn sweep_writes(&self) -> Result<(), PersistError> {
        let t = &self.table;
        let retention = t.client.config().write_id_retention;
        {
            let mut last = t.last_sweep.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if !sweep_due(*last, now, retention) {
                return Ok(());
            }
            *last = Some(now);
        }
        let writes = self.ident(WRITES_TABLE);
        let sql = format!(
            "SELECT writer, maxIf(seq, done = 1) AS finished FROM {writes} \
             WHERE table_name = {table} GROUP BY writer \
             HAVING finished > 0 AND finished >= maxIf(seq, done = 0) \
             AND max(at) <= now() - {secs} LIMIT {SWEEP_WRITERS} FORMAT TabSeparated",
            table = string_literal(t.name.as_bytes()),
            secs = retention.as_secs(),
        );
        let answer = t.client.query_text(&sql).await?;
        let mut finished = Vec::new();
        for line in answer.lines() {
            let Some((writer, seq)) = line.split_once('\t') else {
                continue;
            };
            finished.push(format!(
                "(writer = {} AND seq <= {})",
                string_literal(unescape_tsv(writer).as_bytes()),
                parse_u64(seq)?
            ));
        }
        if finished.is_empty() {
            return Ok(());
        }
        let pending = format!(
            "SELECT count() FROM system.mutations WHERE database = currentDatabase() \
             AND table = {} AND is_done = 0 FORMAT TabSeparated",
            string_literal(WRITES_TABLE.as_bytes())
        );
        if parse_u64(&t.client.query_text(&pending).await?)? > 0 {
            return Ok(());
        }
        t.client
            .execute(&format!(
                "ALTER TABLE {writes} DELETE WHERE table_name = {} AND ({})",
                string_literal(t.name.as_bytes()),
                finished.join(" OR ")
            ))
            .await
    }

    async fn write_state(&self, id: &WriteId) -> Result<WriteState, PersistError> {
        let sql = format!(
            "SELECT maxIf(seq, done = 1), countIf(done = 0 AND seq >= {}) FROM {} \
             WHERE table_name = {} AND writer = {} FORMAT TabSeparated",
            id.seq,
            self.ident(WRITES_TABLE),
            string_literal(self.table.name.as_bytes()),
            string_literal(id.writer.as_bytes())
        );
        let answer = self.table.client.query_text(&sql).await?;
        let (done, started) = answer.trim().split_once('\t').unwrap_or((&answer, ""));
        Ok(WriteState {
            done: parse_u64(done)?,
            started: parse_u64(started)? > 0,
        })
    }

    /// Records the write `id` as started or as done.
    async fn record(&self, id: &WriteId, done: bool) -> Result<(), PersistError> {
        let sql = format!(
            "INSERT INTO {} (table_name, writer, seq, done) VALUES ({}, {}, {}, {})",
            self.ident(WRITES_TABLE),
            string_literal(self.table.name.as_bytes()),
            string_literal(id.writer.as_bytes()),
            id.seq,
            u8::from(done)
        );
        self.table.client.execute(&sql).await
    }

    /// The write's rows (conformed to `T`) cut into units, numbered in order; the cut depends
    /// only on the batches, the block size and the shard count, so a retry of the same batches
    /// numbers its units the same.
    fn units(&self, batches: Vec<RecordBatch>, id: &WriteId) -> Result<Vec<Unit>, PersistError> {
        let t = &self.table;
        let key = key_field(&t.schema).and_then(|k| t.schema.index_of(k).ok());
        let partitions: Vec<usize> = partition_fields(&t.schema)
            .iter()
            .filter_map(|f| t.schema.index_of(f).ok())
            .collect();
        let write = write_key(id);
        let step = t.client.config().block_rows;
        let mut units = Vec::new();
        for batch in batches.into_iter().filter(|b| b.num_rows() > 0) {
            let batch = conform::<T>(batch)?;
            for at in (0..batch.num_rows()).step_by(step) {
                let block = batch.slice(at, step.min(batch.num_rows() - at));
                for (shard, piece) in split(&block, key, t.shards.len())?.iter().enumerate() {
                    for rows in by_partition(piece, &partitions)? {
                        if rows.num_rows() > 0 {
                            let index = u32::try_from(units.len()).map_err(|_| too_many())?;
                            let rows = self.with_id(rows, &write, index)?;
                            units.push(Unit { shard, rows });
                        }
                    }
                }
            }
        }
        Ok(units)
    }

    /// `rows` with the id columns: the write and the unit's number.
    fn with_id(
        &self,
        rows: RecordBatch,
        write: &str,
        index: u32,
    ) -> Result<RecordBatch, PersistError> {
        let n = rows.num_rows();
        let mut columns: Vec<ArrayRef> = rows.columns().to_vec();
        columns.push(Arc::new(StringArray::from_iter_values(
            std::iter::repeat_n(write, n),
        )));
        columns.push(Arc::new(UInt32Array::from_value(index, n)));
        let schema = self.table.id_encoder.schema().clone();
        RecordBatch::try_new(schema, columns).map_err(|e| PersistError::Backend {
            backend: NAME,
            message: format!("adding the write id to a block: {e}"),
            retryable: false,
            source: None,
        })
    }

    /// The units of a write in doubt that are not stored. A unit is one part, so any of its
    /// rows found means all of them landed (fewer than sent: a `delete` since).
    async fn missing_units(
        &self,
        id: &WriteId,
        units: Vec<Unit>,
    ) -> Result<Vec<Unit>, PersistError> {
        // Shard by shard: the `Distributed` table has no hidden columns.
        let sql = format!(
            "SELECT DISTINCT {} FROM {} WHERE {} = {} FORMAT TabSeparated",
            self.ident(BLOCK_COLUMN),
            self.ident(&self.table.local),
            self.ident(WRITE_COLUMN),
            string_literal(write_key(id).as_bytes()),
        );
        let mut stored = HashSet::new();
        for shard in &self.table.shards {
            for line in shard.query_text(&sql).await?.lines() {
                stored.insert(parse_u64(line)?);
            }
        }
        Ok(units
            .into_iter()
            .enumerate()
            .filter(|(index, _)| !stored.contains(&(*index as u64)))
            .map(|(_, unit)| unit)
            .collect())
    }
}

/// Whether a handle that last swept at `last` sweeps again at `now`: the first time, then
/// every `retention` or `SWEEP_EVERY`, whichever is shorter.
fn sweep_due(last: Option<Instant>, now: Instant, retention: Duration) -> bool {
    last.is_none_or(|at| now.duration_since(at) >= retention.min(SWEEP_EVERY))
}

/// The value of `_soa_write` for `id`: the number first, so no two writers' ids collide.
fn write_key(id: &WriteId) -> String {
    format!("{}/{}", id.seq, id.writer)
}

fn too_many() -> PersistError {
    PersistError::invalid_input(NAME, "one write of more than 2^32 parts")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_sweeps_first_then_every_retention_or_ten_minutes() {
        let t = Instant::now();
        let day = Duration::from_secs(86_400);
        assert!(sweep_due(None, t, day));
        assert!(!sweep_due(Some(t), t + Duration::from_secs(599), day));
        assert!(sweep_due(Some(t), t + Duration::from_secs(600), day));
        assert!(!sweep_due(
            Some(t),
            t + Duration::from_secs(4),
            Duration::from_secs(5)
        ));
        assert!(sweep_due(
            Some(t),
            t + Duration::from_secs(5),
            Duration::from_secs(5)
        ));
        assert!(sweep_due(Some(t), t, Duration::ZERO));
    }
}
