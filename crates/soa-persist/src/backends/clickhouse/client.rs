//! The transport: a thin layer over the official `clickhouse` crate (HTTP, connection pooling,
//! credentials, LZ4 request bodies). It probes the server once at `connect` (`ServerCaps`),
//! runs statements, streams batches into a table as Native blocks (a stream one block in
//! memory at a time; batches in memory encoded on a thread of their own, a few blocks ahead of
//! the request body) and streams query results back as batches of a target schema (the body
//! read ahead by a task of its own, decoded a block at a time). Every failure is a
//! `PersistError` (see `error.rs`).

use std::sync::Arc;

use bytes::Bytes;
use clickhouse::insert_formatted::{CompressedData, InsertFormatted};
use futures::{Stream, StreamExt};
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::datatypes::SchemaRef;

use super::NAME;
use super::error::{client_error, redact_url, task_failed};
use super::native::{BlockDecoder, BlockEncoder, ServerCaps, quote_identifier};
use soa_persist_api::{BatchStream, PersistError};

/// Default rows per inserted Native block.
pub const DEFAULT_BLOCK_ROWS: usize = 65_536;

/// Where and how to reach a server (its `Debug` hides the password).
#[derive(Clone)]
pub struct ClickHouseConfig {
    /// `http://host:8123` (HTTPS needs one of the client crate's TLS features).
    pub url: String,
    /// The user to authenticate as (the server's default user when `None`).
    pub user: Option<String>,
    /// The user's password (never printed: `Debug` hides it).
    pub password: Option<String>,
    /// The database statements run in (the server's default when `None`).
    pub database: Option<String>,
    /// Server settings sent with every request.
    pub settings: Vec<(String, String)>,
    /// Rows per Native block an insert sends (larger batches are split).
    pub block_rows: usize,
    /// Compress insert bodies with LZ4 (ClickHouse's `decompress=1` framing). On by default,
    /// off for a loopback server, where compressing costs more time than it saves (the bench:
    /// about a third of an insert's time on 127.0.0.1).
    pub lz4_inserts: bool,
    /// How long `_soa_writes` keeps the records of a writer whose writes are all done, counted
    /// from its last record (24 hours by default). A retry of a write is recognized as done
    /// only within it; a write started and not done keeps its records whatever their age.
    pub write_id_retention: std::time::Duration,
}

/// Default `ClickHouseConfig::write_id_retention`.
pub const DEFAULT_WRITE_ID_RETENTION: std::time::Duration =
    std::time::Duration::from_secs(24 * 60 * 60);

impl std::fmt::Debug for ClickHouseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseConfig")
            .field("url", &redact_url(&self.url))
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("database", &self.database)
            .field("settings", &self.settings)
            .field("block_rows", &self.block_rows)
            .field("lz4_inserts", &self.lz4_inserts)
            .field("write_id_retention", &self.write_id_retention)
            .finish()
    }
}

impl ClickHouseConfig {
    /// A configuration for the server at `url` (e.g. `http://127.0.0.1:8123`), default user and database.
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        Self {
            lz4_inserts: !is_loopback(&url),
            url,
            user: None,
            password: None,
            database: None,
            settings: Vec::new(),
            block_rows: DEFAULT_BLOCK_ROWS,
            write_id_retention: DEFAULT_WRITE_ID_RETENTION,
        }
    }

    /// Authenticates as `user` with `password`.
    pub fn with_user(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self.password = Some(password.into());
        self
    }

    /// Works in `database` instead of the server's default one.
    pub fn with_database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// Sends the server setting `name = value` with every query.
    pub fn with_setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// Keeps the write-id records of finished writers for `retention` after their last record
    /// (see the field).
    pub fn with_write_id_retention(mut self, retention: std::time::Duration) -> Self {
        self.write_id_retention = retention;
        self
    }

    /// Rows per Native block sent in an insert (at least 1); bounds an insert's memory.
    pub fn with_block_rows(mut self, rows: usize) -> Self {
        self.block_rows = rows.max(1);
        self
    }
}

/// A connection to one server (cheap to clone: clones share the connection pool).
#[derive(Clone, Debug)]
pub struct ClickHouseClient {
    /// Without a database, for the probe and `with_database`.
    base: clickhouse::Client,
    client: clickhouse::Client,
    config: Arc<ClickHouseConfig>,
    caps: ServerCaps,
}

/// One query answers every question the type mapping asks (18.16 has all these tables).
const PROBE: &str = "SELECT version(), \
    (SELECT groupArray(name) FROM system.data_type_families WHERE alias_to = ''), \
    (SELECT count() FROM system.formats WHERE name = 'RowBinaryWithNamesAndTypes'), \
    (SELECT groupArray(value) FROM system.settings WHERE name = 'allow_experimental_low_cardinality_type') \
    FORMAT TabSeparated";

impl ClickHouseClient {
    /// Connects and probes the server; a server that is down is a retryable error naming the
    /// URL, refused credentials a non-retryable one.
    pub async fn connect(config: ClickHouseConfig) -> Result<Self, PersistError> {
        let mut base = clickhouse::Client::default().with_url(&config.url);
        if let Some(user) = &config.user {
            base = base.with_user(user);
        }
        if let Some(password) = &config.password {
            base = base.with_password(password);
        }
        for (name, value) in &config.settings {
            base = base.with_setting(name, value);
        }
        base = base.with_compression(if config.lz4_inserts {
            clickhouse::Compression::Lz4
        } else {
            clickhouse::Compression::None
        });
        let answer = text(&base, PROBE, &config.url).await?;
        let caps = parse_probe(&answer)?;
        let base = base.with_validation(caps.row_binary_with_types);
        let client = match &config.database {
            Some(db) => base.clone().with_database(db),
            None => base.clone(),
        };
        Ok(Self {
            base,
            client,
            config: Arc::new(config),
            caps,
        })
    }

    /// The same server and credentials, statements running in `database`.
    pub fn with_database(&self, database: &str) -> Self {
        let mut config = (*self.config).clone();
        config.database = Some(database.to_string());
        Self {
            base: self.base.clone(),
            client: self.base.clone().with_database(database),
            config: Arc::new(config),
            caps: self.caps.clone(),
        }
    }

    /// The same server, `name = value` sent with every request of the copy.
    pub(crate) fn with_query_setting(&self, name: &str, value: &str) -> Self {
        Self {
            base: self.base.clone(),
            client: self.client.clone().with_setting(name, value),
            config: self.config.clone(),
            caps: self.caps.clone(),
        }
    }

    /// What the server offers (probed once at `connect`).
    pub fn caps(&self) -> &ServerCaps {
        &self.caps
    }

    /// The configuration the client was built from.
    pub fn config(&self) -> &ClickHouseConfig {
        &self.config
    }

    /// The server's URL, credentials removed.
    pub fn url(&self) -> &str {
        &self.config.url
    }

    /// The official client underneath (row validation switched off where the server lacks
    /// `RowBinaryWithNamesAndTypes`).
    pub fn raw(&self) -> &clickhouse::Client {
        &self.client
    }

    /// Runs a statement that returns nothing (DDL, `INSERT ... SELECT`, `ALTER`). The SQL is
    /// sent as it is: no `?` placeholders.
    pub async fn execute(&self, sql: &str) -> Result<(), PersistError> {
        self.client
            .query_raw(sql)
            .execute()
            .await
            .map_err(|e| client_error(e, self.url()))
    }

    /// The whole answer of a small query as text (add `FORMAT TabSeparated` or any text format;
    /// the server's default otherwise).
    pub async fn query_text(&self, sql: &str) -> Result<String, PersistError> {
        text(&self.client, sql, self.url()).await
    }

    /// The result of `sql` (without a `FORMAT` clause) as batches of `target`'s schema, read
    /// as Native and decoded while it streams.
    pub fn query_batches(&self, sql: &str, target: SchemaRef) -> BatchStream {
        self.query_decoded(sql, BlockDecoder::new(target))
    }

    /// The result of `sql` as batches whose schema is the result's own columns, each read as
    /// its natural Arrow type (for free SQL).
    pub fn query_batches_inferred(&self, sql: &str) -> BatchStream {
        self.query_decoded(sql, BlockDecoder::inferring())
    }

    fn query_decoded(&self, sql: &str, decoder: BlockDecoder) -> BatchStream {
        let url = self.config.url.clone();
        let cursor = match self.client.query_raw(sql).fetch_bytes("Native") {
            Ok(c) => c,
            Err(e) => {
                let e = client_error(e, &url);
                return Box::pin(futures::stream::once(async move { Err(e) }));
            }
        };
        let state = (Chunks::Cursor(cursor), decoder, false);
        Box::pin(futures::stream::try_unfold(
            state,
            move |(mut chunks, mut decoder, mut ended)| {
                let url = url.clone();
                async move {
                    loop {
                        if let Some(batch) = decoder.next_batch()? {
                            return Ok(Some((batch, (chunks, decoder, ended))));
                        }
                        if ended {
                            return Ok(None);
                        }
                        match chunks.next(&url).await? {
                            Some(chunk) => decoder.push(&chunk),
                            None => {
                                decoder.finish();
                                ended = true;
                            }
                        }
                    }
                }
            },
        ))
    }

    /// Inserts `batches` into `table` (an already quoted name, `db`.`t` or `t`) as Native
    /// blocks of at most `block_rows` rows, encoded one at a time as the stream yields them;
    /// returns the rows sent. Columns are named in the statement, so the table may have more
    /// (they get their defaults). Nothing is sent for no rows. A failure part-way leaves the
    /// blocks the server already took: an insert is atomic only as one block.
    pub async fn insert_batches<S>(
        &self,
        table: &str,
        encoder: &BlockEncoder,
        batches: S,
    ) -> Result<u64, PersistError>
    where
        S: Stream<Item = Result<RecordBatch, PersistError>>,
    {
        let sql = insert_sql(table, encoder);
        let mut insert = None;
        let mut rows = 0u64;
        let mut last_size = 0;
        let mut batches = std::pin::pin!(batches);
        while let Some(batch) = batches.next().await {
            let batch = batch?;
            let mut offset = 0;
            while offset < batch.num_rows() {
                let len = self.config.block_rows.min(batch.num_rows() - offset);
                let mut block = Vec::with_capacity(last_size);
                encoder.encode(&batch.slice(offset, len), &mut block)?;
                last_size = block.len();
                let insert =
                    insert.get_or_insert_with(|| self.client.insert_formatted_with(sql.clone()));
                insert
                    .send(Bytes::from(block))
                    .await
                    .map_err(|e| client_error(e, self.url()))?;
                offset += len;
                rows += len as u64;
            }
        }
        self.end_insert(insert).await?;
        Ok(rows)
    }

    /// `insert_batches` over batches already in memory (encoded as `insert_rows` does).
    pub async fn insert(
        &self,
        table: &str,
        encoder: &BlockEncoder,
        batches: &[RecordBatch],
    ) -> Result<u64, PersistError> {
        let batches: Vec<RecordBatch> = batches.to_vec();
        self.insert_rows(table, encoder, batches.into_iter().map(Ok))
            .await
    }

    /// Inserts the batches `source` yields into `table` like `insert_batches`, but produced and
    /// encoded on a thread of their own, at most `BLOCKS_IN_FLIGHT` encoded blocks ahead of the
    /// request body: the client's work overlaps the server's parsing instead of adding to it
    /// (the source may convert rows as it goes). The INSERT is ended normally only after the
    /// last block: when the source fails (or the thread panics) it is ended with a block the
    /// server rejects, so the server fails it instead of storing the blocks before (those it
    /// has not written as parts yet: it writes one per `min_insert_block_size_rows`). The source is
    /// dropped on that thread once its last block is handed over, and the insert returns
    /// without waiting for it: freeing the caller's rows is no part of storing them.
    pub(crate) async fn insert_rows<I>(
        &self,
        table: &str,
        encoder: &BlockEncoder,
        mut source: I,
    ) -> Result<u64, PersistError>
    where
        I: Iterator<Item = Result<RecordBatch, PersistError>> + Send + 'static,
    {
        let sql = insert_sql(table, encoder);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Produced>(BLOCKS_IN_FLIGHT);
        let (encoder, block_rows) = (encoder.clone(), self.config.block_rows);
        let (lz4, url) = (self.config.lz4_inserts, self.url().to_string());
        let producer = tokio::task::spawn_blocking(move || {
            let send = |item| tx.blocking_send(item).is_ok();
            let rows = encode_blocks(&mut source, &encoder, block_rows, |b| {
                // An LZ4 body is compressed here too, not on the task that sends.
                Ok(send(if lz4 {
                    Produced::Compressed(
                        CompressedData::new(&b, clickhouse::Compression::Lz4)
                            .map_err(|e| client_error(e, &url))?,
                    )
                } else {
                    Produced::Block(b)
                }))
            })?;
            send(Produced::Done(rows));
            drop(source);
            Ok::<u64, PersistError>(rows)
        });
        let failed = match self.send_blocks(sql, &mut rx).await {
            Ok(rows) => return Ok(rows),
            Err(e) => e,
        };
        // A failed send drops the receiver, which stops the producer at its next block.
        drop(rx);
        let produced = producer.await.map_err(task_failed("encoding"))?;
        // The producer's error (bad rows) explains an aborted body better than the send's.
        produced?;
        Err(failed)
    }

    /// Ends `insert` (if a block was sent, which started it) and waits for the server's answer.
    async fn end_insert(&self, insert: Option<InsertFormatted>) -> Result<(), PersistError> {
        match insert {
            Some(insert) => insert.end().await.map_err(|e| client_error(e, self.url())),
            None => Ok(()),
        }
    }

    /// Sends the blocks `rx` yields as one `INSERT ... FORMAT Native`, ended once the
    /// producer says it is done (nothing is sent for no blocks); the request is dropped
    /// (aborted) if the producer stops without saying so.
    async fn send_blocks(
        &self,
        sql: String,
        rx: &mut tokio::sync::mpsc::Receiver<Produced>,
    ) -> Result<u64, PersistError> {
        let mut insert = None;
        let rows = loop {
            match rx.recv().await {
                Some(Produced::Block(block)) => insert
                    .get_or_insert_with(|| self.client.insert_formatted_with(sql.clone()))
                    .send(block)
                    .await
                    .map_err(|e| client_error(e, self.url()))?,
                Some(Produced::Compressed(block)) => insert
                    .get_or_insert_with(|| self.client.insert_formatted_with(sql.clone()))
                    .send_compressed(block)
                    .await
                    .map_err(|e| client_error(e, self.url()))?,
                Some(Produced::Done(rows)) => break rows,
                None => {
                    // Dropping the request alone may let the server take the blocks it has
                    // as the whole body; ending it with a block the server can't parse makes
                    // it fail the INSERT (its answer, that error, is expected).
                    if let Some(mut insert) = insert.take()
                        && insert.send(Bytes::from_static(POISON_BLOCK)).await.is_ok()
                    {
                        let _ = insert.end().await;
                    }
                    return Err(PersistError::Backend {
                        backend: NAME,
                        message: "the encoding task stopped before the last block".into(),
                        retryable: false,
                        source: None,
                    });
                }
            }
        };
        self.end_insert(insert).await?;
        Ok(rows)
    }
}

/// Chunks of a response body read ahead of its decoder.
const CHUNKS_AHEAD: usize = 64;

/// A response body: once its first chunk is asked for, read by a task of its own up to
/// `CHUNKS_AHEAD` chunks ahead, so the server keeps sending while the caller decodes or
/// converts (the connection reads only when its body is polled). Dropping it stops the task
/// at its next chunk.
enum Chunks {
    Cursor(clickhouse::query::BytesCursor),
    Read(tokio::sync::mpsc::Receiver<Result<Option<Bytes>, PersistError>>),
    Taken,
}

impl Chunks {
    async fn next(&mut self, url: &str) -> Result<Option<Bytes>, PersistError> {
        if matches!(self, Self::Cursor(_))
            && let Self::Cursor(mut cursor) = std::mem::replace(self, Self::Taken)
        {
            let (tx, rx) = tokio::sync::mpsc::channel(CHUNKS_AHEAD);
            let url = url.to_string();
            tokio::spawn(async move {
                loop {
                    // A dropped stream stops the reading at once, not when the server sends
                    // its next chunk (a slow query would run on until then).
                    let chunk = tokio::select! {
                        chunk = cursor.next() => chunk.map_err(|e| client_error(e, &url)),
                        () = tx.closed() => break,
                    };
                    let last = !matches!(chunk, Ok(Some(_)));
                    if tx.send(chunk).await.is_err() || last {
                        break;
                    }
                }
            });
            *self = Self::Read(rx);
        }
        let stopped = || PersistError::Backend {
            backend: NAME,
            message: "the task reading the response stopped before its end".into(),
            retryable: true,
            source: None,
        };
        match self {
            Self::Read(rx) => rx.recv().await.unwrap_or_else(|| Err(stopped())),
            Self::Cursor(_) | Self::Taken => Err(stopped()),
        }
    }
}

/// A Native block the server rejects (one row of one column of an unknown type), sent at a
/// block boundary to fail an INSERT whose rows could not all be produced.
const POISON_BLOCK: &[u8] = b"\x01\x01\x00\x0a_soa_abort";

/// What the encoding thread of `insert_rows` hands to the request body.
enum Produced {
    Block(Bytes),
    /// A block compressed on the encoding thread (an LZ4 body).
    Compressed(CompressedData),
    /// Every block was handed over (this many rows): the INSERT may end.
    Done(u64),
}

/// How many encoded blocks `insert_rows` keeps ready ahead of the request body.
const BLOCKS_IN_FLIGHT: usize = 2;

/// `INSERT INTO table (the encoder's columns) FORMAT Native`.
fn insert_sql(table: &str, encoder: &BlockEncoder) -> String {
    let columns: Vec<String> = encoder
        .schema()
        .fields()
        .iter()
        .map(|f| quote_identifier(f.name()))
        .collect();
    format!("INSERT INTO {table} ({}) FORMAT Native", columns.join(", "))
}

/// Encodes the batches of `source` as Native blocks of at most `block_rows` rows and hands
/// each to `send` (false: the receiver is gone, stop); returns the rows encoded. Blocks are
/// the same whether the rows arrive as one batch or many.
fn encode_blocks<I>(
    source: &mut I,
    encoder: &BlockEncoder,
    block_rows: usize,
    mut send: impl FnMut(Bytes) -> Result<bool, PersistError>,
) -> Result<u64, PersistError>
where
    I: Iterator<Item = Result<RecordBatch, PersistError>>,
{
    let mut rows = 0u64;
    let mut last_size = 0;
    for batch in source {
        let batch = batch?;
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = block_rows.min(batch.num_rows() - offset);
            let mut block = Vec::with_capacity(last_size);
            encoder.encode(&batch.slice(offset, len), &mut block)?;
            last_size = block.len();
            if !send(Bytes::from(block))? {
                return Ok(rows);
            }
            offset += len;
            rows += len as u64;
        }
    }
    Ok(rows)
}

/// Whether `url` names this machine (`localhost`, `127.x.x.x`, `[::1]`).
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn text(client: &clickhouse::Client, sql: &str, url: &str) -> Result<String, PersistError> {
    let mut cursor = client
        .query_raw(sql)
        .fetch_bytes("TabSeparated")
        .map_err(|e| client_error(e, url))?;
    let bytes = cursor.collect().await.map_err(|e| client_error(e, url))?;
    String::from_utf8(bytes.to_vec()).map_err(|_| PersistError::Corrupt {
        backend: NAME,
        detail: format!("{} answered text that is not UTF-8", redact_url(url)),
        source: None,
    })
}

/// `['a','b']` as TabSeparated prints an array of plain names.
fn names(array: &str) -> Vec<String> {
    array
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|s| s.trim().trim_matches('\'').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_probe(answer: &str) -> Result<ServerCaps, PersistError> {
    let cells: Vec<&str> = answer.trim_end_matches('\n').split('\t').collect();
    let [version, families, row_binary, low_card] = cells[..] else {
        return Err(PersistError::Backend {
            backend: NAME,
            message: format!("unexpected answer to the server probe: {answer:?}"),
            retryable: false,
            source: None,
        });
    };
    let low_card = names(low_card);
    ServerCaps::from_probe(
        version,
        &names(families),
        row_binary.trim() != "0",
        low_card.first().map(String::as_str),
    )
}
