//! Reads: `SELECT`s with the predicate as `WHERE` (values as typed literals), streamed back as
//! Native and decoded into `T`'s schema; counts; stats from the system tables; free SQL.

use std::sync::atomic::Ordering;

use futures::{StreamExt, TryStreamExt};
use soa_persist_api::ColumnStats;
use soa_persist_api::exec::conform;
use soa_persist_api::exec::project_schema;
use soa_persist_api::{BatchStream, PersistError, Scan, Stats};
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::datatypes::Schema;
use soa_persist_core::column::Column;
use soa_persist_core::convert::ToArrow;
use soa_persist_core::query::Expr;
use soa_persist_core::soa::SoA;

use super::NAME;
use super::client::ClickHouseClient;
use super::ddl::{META_TABLE, is_hidden, unescape_tsv};
use super::dialect::{string_literal, where_sql};
use super::error::task_failed;
use super::persistence::ClickHousePersistence;
use super::write::parse_u64;

impl<T: SoA> ClickHousePersistence<T> {
    /// Runs `query` and returns its result as Arrow batches, each column as its natural Arrow
    /// type (`String` as Utf8, enums as names, `DateTime` as seconds).
    pub async fn sql(&self, query: &str) -> Result<Vec<RecordBatch>, PersistError> {
        self.table
            .client
            .query_batches_inferred(query)
            .try_collect()
            .await
    }

    /// `SELECT columns FROM table [WHERE ...]`.
    fn select(&self, schema: &Schema, expr: &Expr) -> Result<String, PersistError> {
        let columns: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| self.ident(f.name()))
            .collect();
        Ok(format!(
            "SELECT {} FROM {}{}",
            columns.join(", "),
            self.ident(&self.table.name),
            self.filter(expr)?
        ))
    }

    fn filter(&self, expr: &Expr) -> Result<String, PersistError> {
        if matches!(expr, Expr::True) {
            return Ok(String::new());
        }
        let t = &self.table;
        Ok(format!(
            " WHERE {}",
            where_sql(t.client.caps(), expr, &t.schema, &t.name)?
        ))
    }

    /// Whether the table was ever written (this handle knows, or `_soa_tables` says so).
    async fn is_written(&self) -> Result<bool, PersistError> {
        if self.table.written.load(Ordering::Acquire) {
            return Ok(true);
        }
        let sql = format!(
            "SELECT count() FROM {} WHERE name = {} FORMAT TabSeparated",
            self.ident(META_TABLE),
            string_literal(self.table.name.as_bytes())
        );
        let written = parse_u64(&self.table.client.query_text(&sql).await?)? > 0;
        if written {
            self.table.written.store(true, Ordering::Release);
        }
        Ok(written)
    }

    pub(crate) async fn load_all(&self) -> Result<Option<Vec<RecordBatch>>, PersistError> {
        if !self.is_written().await? {
            return Ok(None);
        }
        let stream = self.scan_stream(Scan::all())?;
        Ok(Some(stream.try_collect().await?))
    }

    pub(crate) async fn load_container(&self) -> Result<Option<T::Container>, PersistError> {
        if !self.is_written().await? {
            return Ok(None);
        }
        Ok(Some(self.query_container(Scan::all()).await?))
    }

    /// The rows `scan` selects, converted on a thread as the blocks arrive.
    pub(crate) async fn query_container(
        &self,
        scan: Scan<T>,
    ) -> Result<T::Container, PersistError> {
        collect_on_thread::<T>(self.scan_stream(scan)?).await
    }

    pub(crate) fn scan_stream(&self, scan: Scan<T>) -> Result<BatchStream, PersistError> {
        let schema = &self.table.schema;
        let target = project_schema(schema, scan.projection.as_deref(), NAME)?;
        let whole = scan.projection.is_none();
        let sql = self.select(&target, scan.predicate.expr())?;
        let stream = self.table.client.query_batches(&sql, target);
        let size = scan.batch_size;
        Ok(Box::pin(stream.flat_map(move |batch| {
            let parts = batch
                .and_then(|b| if whole { conform::<T>(b) } else { Ok(b) })
                .map(|b| split(b, size));
            futures::stream::iter(match parts {
                Ok(parts) => parts.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            })
        })))
    }

    pub(crate) async fn count_where(&self, expr: &Expr) -> Result<u64, PersistError> {
        let sql = format!(
            "SELECT count() FROM {}{} FORMAT TabSeparated",
            self.ident(&self.table.name),
            self.filter(expr)?
        );
        parse_u64(&self.table.client.query_text(&sql).await?)
    }

    /// Rows, parts and bytes on disk from `system.parts` (active parts), and each column's
    /// compressed and uncompressed bytes from `system.columns`.
    pub(crate) async fn stats_now(&self) -> Result<Stats, PersistError> {
        let mut stats = Stats {
            backend: NAME,
            bytes_on_disk: Some(0),
            files: Some(0),
            ..Stats::default()
        };
        for shard in &self.table.shards {
            self.add_shard_stats(shard, &mut stats).await?;
        }
        Ok(stats)
    }

    /// Adds one server's active parts of the parts table and its column sizes to `stats`.
    async fn add_shard_stats(
        &self,
        shard: &ClickHouseClient,
        stats: &mut Stats,
    ) -> Result<(), PersistError> {
        let table = string_literal(self.table.local.as_bytes());
        let parts = shard
            .query_text(&format!(
                "SELECT sum(rows), count(), sum(bytes_on_disk) FROM system.parts WHERE active \
                 AND database = currentDatabase() AND table = {table} FORMAT TabSeparated"
            ))
            .await?;
        let cells: Vec<&str> = parts.trim().split('\t').collect();
        let [rows, count, disk] = cells[..] else {
            return Err(PersistError::Backend {
                backend: NAME,
                message: format!("unexpected answer from system.parts: {parts:?}"),
                retryable: false,
                source: None,
            });
        };
        let count = parse_u64(count)?;
        stats.rows += parse_u64(rows)?;
        stats.batches += count;
        stats.files = Some(stats.files.unwrap_or(0) + count);
        stats.bytes_on_disk = Some(stats.bytes_on_disk.unwrap_or(0) + parse_u64(disk)?);
        let columns = shard
            .query_text(&format!(
                "SELECT name, data_compressed_bytes, data_uncompressed_bytes FROM system.columns \
                 WHERE database = currentDatabase() AND table = {table} FORMAT TabSeparated"
            ))
            .await?;
        for line in columns.lines() {
            let cells: Vec<&str> = line.split('\t').collect();
            let [name, compressed, uncompressed] = cells[..] else {
                continue;
            };
            let (compressed, uncompressed) = (parse_u64(compressed)?, parse_u64(uncompressed)?);
            stats.bytes_in_memory += uncompressed;
            let name = unescape_tsv(name);
            if is_hidden(&name) {
                continue;
            }
            let column = match stats.columns.iter_mut().position(|c| c.name == name) {
                Some(i) => &mut stats.columns[i],
                None => {
                    stats.columns.push(ColumnStats {
                        name,
                        bytes_on_disk: Some(0),
                        ..ColumnStats::default()
                    });
                    let last = stats.columns.len() - 1;
                    &mut stats.columns[last]
                }
            };
            column.bytes_in_memory += uncompressed;
            let disk = column.bytes_on_disk.unwrap_or(0) + compressed;
            column.bytes_on_disk = Some(disk);
            column.compression_ratio =
                (disk > 0).then(|| column.bytes_in_memory as f64 / disk as f64);
        }
        Ok(())
    }
}

/// Batches `collect_on_thread` lets wait for the converting thread.
const BATCHES_AHEAD: usize = 4;

/// Drains `stream` into one container like `collect`, but each batch is converted to rows
/// (a `String` per string, ...) and appended on a thread of its own, while this task keeps
/// receiving and decoding the next blocks: the conversion overlaps the transfer instead of
/// holding up the reads of the response.
async fn collect_on_thread<T: SoA>(mut stream: BatchStream) -> Result<T::Container, PersistError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<RecordBatch>(BATCHES_AHEAD);
    let builder = tokio::task::spawn_blocking(move || {
        let mut out: Option<T::Container> = None;
        while let Some(batch) = rx.blocking_recv() {
            let mut part = T::Container::from_owned_record_batch(batch)?;
            match &mut out {
                Some(out) => out.append(&mut part),
                None => out = Some(part),
            }
        }
        Ok::<_, PersistError>(out.unwrap_or_default())
    });
    let mut received = Ok(());
    while let Some(batch) = stream.next().await {
        match batch {
            // A closed channel: the thread failed, and says why below.
            Ok(batch) => {
                if tx.send(batch).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                received = Err(e);
                break;
            }
        }
    }
    drop(tx);
    let built = builder.await.map_err(task_failed("converting"))?;
    received?;
    built
}

/// `batch` in slices of at most `size` rows (whole when `None`).
fn split(batch: RecordBatch, size: Option<usize>) -> Vec<RecordBatch> {
    match size {
        Some(n) if batch.num_rows() > n => (0..batch.num_rows())
            .step_by(n)
            .map(|at| batch.slice(at, n.min(batch.num_rows() - at)))
            .collect(),
        _ => vec![batch],
    }
}
