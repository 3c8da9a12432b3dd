//! Exactly-once appends (`append_batches_once`) on servers without insert deduplication
//! (18.16 has neither `insert_deduplication_token` nor deduplication on plain MergeTree).
//!
//! Each block of a write carries its id in the hidden columns `_soa_write` (`seq/writer`) and
//! `_soa_block` (its index in the write): a Native block is one part per partition, written
//! whole or not at all, so a block's rows and the proof that they landed commit together.
//! `_soa_writes` records a write as started (before any row is sent) and as done (after).
//! A write never started has no rows anywhere, so the common path costs one small query; only
//! a write started and not done (its outcome unknown: a kill, a lost answer) counts its rows
//! per block and sends the blocks that are missing, after deleting any block found in part (a
//! block split over partitions or shards can land in part).

use std::collections::HashMap;

use soa_persist_api::exec::conform;
use soa_persist_api::{PersistError, WriteId};
use soa_persist_core::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt32Array};
use soa_persist_core::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use soa_persist_core::soa::SoA;
use std::sync::Arc;

use super::NAME;
use super::ddl::{BLOCK_COLUMN, WRITE_COLUMN, WRITES_TABLE};
use super::dialect::string_literal;
use super::persistence::ClickHousePersistence;
use super::write::parse_u64;

/// What `_soa_writes` says of a writer.
struct WriteState {
    /// Its highest write known done (0 for none).
    done: u64,
    /// Whether this write (or a later one) was started: its rows may be stored, in part.
    started: bool,
}

/// `schema` with the hidden write-id columns after the struct's.
pub(crate) fn with_id_columns(schema: &Schema) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(WRITE_COLUMN, DataType::Utf8, false));
    fields.push(Field::new(BLOCK_COLUMN, DataType::UInt32, false));
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
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
        let blocks = self.id_blocks(batches, id)?;
        let (send, wrote) = if state.started {
            let send = self.missing_blocks(id, &blocks).await?;
            let wrote = !send.is_empty();
            (send, wrote)
        } else {
            self.record(id, false).await?;
            (blocks, true)
        };
        let t = &self.table;
        self.insert_parts(&t.local, &t.id_encoder, send).await?;
        self.mark_written().await?;
        self.record(id, true).await?;
        Ok(wrote)
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

    /// The write's rows (conformed to `T`) as the blocks an insert sends, each with the id
    /// columns; the cut depends only on the batches and the block size, so a retry of the
    /// same batches numbers its blocks the same.
    fn id_blocks(
        &self,
        batches: Vec<RecordBatch>,
        id: &WriteId,
    ) -> Result<Vec<RecordBatch>, PersistError> {
        let schema = self.table.id_encoder.schema().clone();
        let write = write_key(id);
        let step = self.table.client.config().block_rows;
        let mut blocks = Vec::new();
        for batch in batches.into_iter().filter(|b| b.num_rows() > 0) {
            let batch = conform::<T>(batch)?;
            for at in (0..batch.num_rows()).step_by(step) {
                let part = batch.slice(at, step.min(batch.num_rows() - at));
                let rows = part.num_rows();
                let index = u32::try_from(blocks.len()).map_err(|_| too_many_blocks())?;
                let mut columns: Vec<ArrayRef> = part.columns().to_vec();
                columns.push(Arc::new(StringArray::from_iter_values(
                    std::iter::repeat_n(write.as_str(), rows),
                )));
                columns.push(Arc::new(UInt32Array::from_value(index, rows)));
                blocks.push(RecordBatch::try_new(schema.clone(), columns).map_err(|e| {
                    PersistError::Backend {
                        backend: NAME,
                        message: format!("adding the write id to a block: {e}"),
                        retryable: false,
                        source: None,
                    }
                })?);
            }
        }
        Ok(blocks)
    }

    /// The blocks of a write in doubt not stored whole; those stored in part are deleted
    /// first, so sending them again stores each row once.
    async fn missing_blocks(
        &self,
        id: &WriteId,
        blocks: &[RecordBatch],
    ) -> Result<Vec<RecordBatch>, PersistError> {
        let write = string_literal(write_key(id).as_bytes());
        // Shard by shard: the `Distributed` table has no hidden columns.
        let sql = format!(
            "SELECT {block}, count() FROM {} WHERE {} = {write} GROUP BY {block} \
             FORMAT TabSeparated",
            self.ident(&self.table.local),
            self.ident(WRITE_COLUMN),
            block = self.ident(BLOCK_COLUMN),
        );
        let mut stored = HashMap::new();
        for shard in &self.table.shards {
            for line in shard.query_text(&sql).await?.lines() {
                if let Some((block, rows)) = line.split_once('\t') {
                    *stored.entry(parse_u64(block)?).or_insert(0) += parse_u64(rows)?;
                }
            }
        }
        let mut partial = Vec::new();
        let mut send = Vec::new();
        for (index, block) in blocks.iter().enumerate() {
            let have = stored.get(&(index as u64)).copied().unwrap_or(0);
            if have == block.num_rows() as u64 {
                continue;
            }
            if have > 0 {
                partial.push(index.to_string());
            }
            send.push(block.clone());
        }
        if !partial.is_empty() {
            let sql = format!(
                "ALTER TABLE {} DELETE WHERE {} = {write} AND {} IN ({})",
                self.ident(&self.table.local),
                self.ident(WRITE_COLUMN),
                self.ident(BLOCK_COLUMN),
                partial.join(", ")
            );
            for shard in &self.table.shards {
                shard.execute(&sql).await?;
                self.wait_for_mutations(shard).await?;
            }
        }
        Ok(send)
    }
}

/// The value of `_soa_write` for `id`: the number first, so no two writers' ids collide.
fn write_key(id: &WriteId) -> String {
    format!("{}/{}", id.seq, id.writer)
}

fn too_many_blocks() -> PersistError {
    PersistError::invalid_input(NAME, "one write of more than 2^32 blocks")
}
