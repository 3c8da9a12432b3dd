//! `soa convert`: copies rows from a Parquet dataset or a DuckDB table into a new Parquet dataset
//! (re-partitioned, re-compressed, Spark profile) or a new DuckDB table, batch by batch: memory
//! holds one batch (and, from Parquet, one source file's bytes), never the whole source.

use std::io::IsTerminal;
use std::sync::Arc;

use soa_persist::arrow::array::RecordBatch;
use soa_persist::arrow::datatypes::{Schema, SchemaRef};
use soa_persist::backends::parquet::DatasetWriter;
use soa_persist::{Compression, ParquetOptions};

use crate::Outcome;
use crate::source::{Source, duckdb_target};

/// How the copy is written (the command's flags).
#[derive(clap::Args)]
pub(crate) struct Settings {
    /// Partition the copy by these columns (repeatable; default: the source's).
    #[arg(long, value_name = "COLUMN")]
    partition_by: Vec<String>,
    /// Write the copy without partition folders.
    #[arg(long, conflicts_with = "partition_by")]
    no_partition: bool,
    /// `zstd[:level]` (default `zstd:3`), `gzip[:level]`, `snappy`, `lz4` or `none`.
    #[arg(long)]
    compression: Option<String>,
    /// Spark/Hive profile: unsigned integers and nanoseconds written as types Spark reads.
    #[arg(long)]
    spark: bool,
    /// Rows per batch read and written (memory holds about one batch).
    #[arg(long, default_value_t = 65_536)]
    batch_rows: usize,
    /// A progress line on stderr every this many rows.
    #[arg(long, default_value_t = 1_000_000)]
    progress_every: u64,
}

/// `zstd`, `zstd:9`, `snappy`, `lz4`, `gzip`, `gzip:6`, `none`.
fn compression(text: &str) -> Result<Compression, String> {
    let (name, level) = match text.split_once(':') {
        Some((n, l)) => {
            let l: i32 = l
                .parse()
                .map_err(|_| format!("--compression {text}: the level is not a number"))?;
            (n, Some(l))
        }
        None => (text, None),
    };
    Ok(match (name, level) {
        ("zstd", l) => Compression::Zstd(l.unwrap_or(3)),
        ("gzip", l) => Compression::Gzip(l.unwrap_or(6).max(0) as u32),
        ("snappy", None) => Compression::Snappy,
        ("lz4" | "lz4_raw", None) => Compression::Lz4Raw,
        ("none" | "uncompressed", None) => Compression::None,
        _ => {
            return Err(format!(
                "--compression {text}: expected zstd[:level], gzip[:level], snappy, lz4 or none"
            ));
        }
    })
}

/// Where the rows go.
enum Target {
    Parquet(Box<DatasetWriter>),
    #[cfg(feature = "duckdb")]
    DuckDB {
        db: soa_persist::backends::duckdb::DuckDBDatabase,
        table: String,
    },
    #[cfg(feature = "clickhouse")]
    ClickHouse {
        client: Box<soa_persist::backends::clickhouse::ClickHouseClient>,
        table: String,
        encoder: Box<soa_persist::backends::clickhouse::BlockEncoder>,
    },
}

/// `schema` with `partition` as its `soa.partition` columns (a SQL table's `PARTITION BY`).
#[cfg(feature = "clickhouse")]
fn with_partition(schema: SchemaRef, partition: &[String]) -> SchemaRef {
    let mut meta = schema.metadata().clone();
    meta.remove(soa_persist::schema::META_PARTITION);
    if !partition.is_empty() {
        meta.insert(
            soa_persist::schema::META_PARTITION.to_string(),
            partition.join(","),
        );
    }
    Arc::new(Schema::new(schema.fields().clone()).with_metadata(meta))
}

/// Counts rows and reports every `every` of them on stderr: a line each when stderr is not a
/// terminal (logs, pipes), one line rewritten in place when it is.
struct Progress {
    rows: u64,
    next: u64,
    every: u64,
    terminal: bool,
}

impl Progress {
    fn new(every: u64) -> Self {
        let every = every.max(1);
        Self {
            rows: 0,
            next: every,
            every,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn add(&mut self, rows: usize) {
        self.rows += rows as u64;
        while self.rows >= self.next {
            if self.terminal {
                eprint!("\rconverted {} rows", self.rows);
            } else {
                eprintln!("converted {} rows", self.rows);
            }
            self.next += self.every;
        }
    }
}

impl Target {
    async fn open(
        text: &str,
        schema: SchemaRef,
        partition: &[String],
        s: &Settings,
    ) -> Result<Self, String> {
        if let Some((url, database, table)) = crate::source::clickhouse_target(text)? {
            #[cfg(feature = "clickhouse")]
            {
                use soa_persist::backends::clickhouse::{BlockEncoder, TypeOptions};
                if s.compression.is_some() || s.spark {
                    return Err(
                        "--compression and --spark apply to Parquet targets, not ClickHouse tables"
                            .into(),
                    );
                }
                let client = crate::source::clickhouse_client(&url, database.as_deref()).await?;
                let schema = with_partition(schema, partition);
                let encoder = BlockEncoder::for_schema(
                    schema.clone(),
                    client.caps(),
                    &TypeOptions::default(),
                )
                .map_err(|e| e.to_string())?;
                client
                    .create_table(&table, &schema)
                    .await
                    .map_err(|e| e.to_string())?;
                return Ok(Self::ClickHouse {
                    client: Box::new(client),
                    table,
                    encoder: Box::new(encoder),
                });
            }
            #[cfg(not(feature = "clickhouse"))]
            return Err(format!(
                "{url}#{}{table} is a ClickHouse table: this soa was built without the \
                 `clickhouse` feature",
                database.map_or(String::new(), |d| d + ".")
            ));
        }
        match duckdb_target(text, None)? {
            None => {
                let mut options = ParquetOptions {
                    spark_compatible: s.spark,
                    ..ParquetOptions::default()
                };
                if let Some(c) = &s.compression {
                    options.compression = compression(c)?;
                }
                let writer = DatasetWriter::create(text, schema, partition, options)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Self::Parquet(Box::new(writer)))
            }
            #[cfg(feature = "duckdb")]
            Some((file, table)) => {
                if !s.partition_by.is_empty() || s.compression.is_some() || s.spark {
                    return Err("--partition-by, --compression and --spark apply to Parquet targets, not DuckDB tables".into());
                }
                let db = soa_persist::backends::duckdb::DuckDBDatabase::open(&file, false)
                    .map_err(|e| e.to_string())?;
                if db.table_columns(&table).await.is_ok() {
                    return Err(format!(
                        "table {table:?} already exists in {file}: convert creates a new table"
                    ));
                }
                db.create_table(&table, &schema)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Self::DuckDB { db, table })
            }
            #[cfg(not(feature = "duckdb"))]
            Some(_) => Err(format!(
                "{text} is a DuckDB table: this soa was built without the `duckdb` feature"
            )),
        }
    }

    async fn write(&mut self, batch: RecordBatch) -> Result<(), String> {
        match self {
            Self::Parquet(w) => w.write(batch).await.map_err(|e| e.to_string()),
            #[cfg(feature = "duckdb")]
            Self::DuckDB { db, table } => db
                .append(table, batch)
                .await
                .map_err(|e| format!("inserting into table {table:?}: {e}")),
            #[cfg(feature = "clickhouse")]
            Self::ClickHouse {
                client,
                table,
                encoder,
            } => {
                let quoted = soa_persist::backends::clickhouse::quote_identifier(table);
                client
                    .insert(&quoted, encoder, &[batch])
                    .await
                    .map(drop)
                    .map_err(|e| format!("inserting into table {table:?}: {e}"))
            }
        }
    }

    async fn finish(self, ok: bool) -> Result<String, String> {
        match self {
            Self::Parquet(w) if ok => {
                let version = w.commit().await.map_err(|e| e.to_string())?;
                Ok(format!("version {version}"))
            }
            // Files never committed are invisible; `vacuum` removes them.
            Self::Parquet(_) => Ok(String::new()),
            #[cfg(feature = "duckdb")]
            Self::DuckDB { db, table } if !ok => {
                // Nothing half-copied stays behind.
                let drop = format!("DROP TABLE \"{}\"", table.replace('"', "\"\""));
                let _ = db.execute(&drop).await;
                Ok(String::new())
            }
            #[cfg(feature = "duckdb")]
            Self::DuckDB { table, .. } => Ok(format!("table {table:?}")),
            #[cfg(feature = "clickhouse")]
            Self::ClickHouse { client, table, .. } if !ok => {
                let quoted = soa_persist::backends::clickhouse::quote_identifier(&table);
                let _ = client.execute(&format!("DROP TABLE {quoted}")).await;
                Ok(String::new())
            }
            #[cfg(feature = "clickhouse")]
            Self::ClickHouse { table, .. } => Ok(format!("table {table:?}")),
        }
    }
}

/// Writes every batch of `batches` to `out`; the first error ends the copy.
#[cfg(any(feature = "duckdb", feature = "clickhouse"))]
async fn copy(
    mut batches: soa_persist::BatchStream,
    out: &mut Target,
    progress: &mut Progress,
) -> Result<(), String> {
    use futures::StreamExt;
    while let Some(batch) = batches.next().await {
        let batch = batch.map_err(|e| e.to_string())?;
        progress.add(batch.num_rows());
        out.write(batch).await?;
    }
    Ok(())
}

/// The schema with `soa.key` set to `key`, for a DuckDB table's primary key.
#[cfg(feature = "duckdb")]
fn with_key(schema: SchemaRef, key: &[String]) -> SchemaRef {
    let [key] = key else { return schema };
    let mut meta = schema.metadata().clone();
    meta.insert(soa_persist::schema::META_KEY.to_string(), key.clone());
    Arc::new(Schema::new(schema.fields().clone()).with_metadata(meta))
}

pub(crate) async fn run(source: &str, target: &str, s: Settings) -> Result<Outcome, String> {
    let mut progress = Progress::new(s.progress_every);
    let batch_rows = s.batch_rows.max(1);
    let choose = |source_partition: Vec<String>| {
        if s.no_partition {
            Vec::new()
        } else if s.partition_by.is_empty() {
            source_partition
        } else {
            s.partition_by.clone()
        }
    };
    let (out, result) = match Source::parse(source, None).await? {
        Source::Parquet(dataset) => {
            let view = dataset.current().await.map_err(|e| e.to_string())?;
            let schema = view.schema().await.map_err(|e| e.to_string())?;
            let schema = schema.unwrap_or_else(|| Arc::new(Schema::empty()));
            let files = view.files();
            let mut partition: Vec<String> = Vec::new();
            for (k, _) in files.iter().flat_map(|f| &f.partition) {
                if !partition.contains(k) {
                    partition.push(k.clone());
                }
            }
            let mut out = Target::open(target, schema.clone(), &choose(partition), &s).await?;
            let result = async {
                for f in &files {
                    let batches = view
                        .file_batches(&f.path, schema.clone(), batch_rows)
                        .await
                        .map_err(|e| e.to_string())?;
                    for batch in batches {
                        let batch = batch.map_err(|e| e.to_string())?;
                        progress.add(batch.num_rows());
                        out.write(batch).await?;
                    }
                }
                Ok::<(), String>(())
            }
            .await;
            (out, result)
        }
        #[cfg(feature = "duckdb")]
        Source::DuckDB { db, table } => {
            db.table_columns(&table).await.map_err(|e| e.to_string())?;
            let key = db.primary_key(&table).await.map_err(|e| e.to_string())?;
            let query = format!("SELECT * FROM \"{}\"", table.replace('"', "\"\""));
            let (schema, batches) = db.sql_stream(&query).await.map_err(|e| e.to_string())?;
            let schema = with_key(schema, &key);
            let mut out = Target::open(target, schema, &choose(Vec::new()), &s).await?;
            let result = copy(batches, &mut out, &mut progress).await;
            (out, result)
        }
        #[cfg(feature = "clickhouse")]
        Source::ClickHouse { client, table } => {
            use soa_persist::backends::clickhouse::quote_identifier;
            // The table's own types and partition columns; rows read as free SQL reads them.
            let shape = soa_persist::codegen::clickhouse_shape(&client, &table)
                .await
                .map_err(|e| e.to_string())?;
            let query = format!("SELECT * FROM {}", quote_identifier(&table));
            let mut batches = client.query_batches_inferred(&query);
            let first = futures::StreamExt::next(&mut batches).await.transpose();
            let first = first.map_err(|e| e.to_string())?;
            let schema = first.as_ref().map_or(shape.schema, RecordBatch::schema);
            let mut out = Target::open(target, schema, &choose(shape.partition), &s).await?;
            let rest = futures::StreamExt::boxed(futures::stream::iter(first.map(Ok)));
            let all = Box::pin(futures::StreamExt::chain(rest, batches));
            let result = copy(all, &mut out, &mut progress).await;
            (out, result)
        }
    };
    if progress.terminal && progress.rows >= progress.every {
        eprintln!();
    }
    let done = out.finish(result.is_ok()).await;
    result?;
    println!(
        "converted {} rows: {source} -> {target} ({})",
        progress.rows, done?
    );
    Ok(Outcome::Ok)
}
