//! Native bytes -> `RecordBatch`es of a target schema, as a streaming decoder: feed it chunks as
//! they arrive (an HTTP body), take each block as soon as it is complete. Memory stays bounded
//! by about two blocks (a parse is retried only once the buffer has doubled, so a block that
//! arrives in many small chunks costs linear time, and one larger than `max_block_bytes` is an
//! error). Columns are matched to the target by name; their types must read exactly (see
//! `read.rs`). Input that is not a valid block is `Corrupt`, a valid block of other columns or
//! types is `SchemaMismatch`, and ClickHouse's exception text after a 200 (`Code: NNN. ...
//! DB::Exception: ...`, written into the body when a query fails mid-stream) is the server's
//! error, classified like any other.

use soa_persist_core::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use soa_persist_core::arrow::datatypes::{Field, Schema, SchemaRef};

use super::chtype::ChType;
use super::infer::natural_field;
use super::read_nested::{read_column, read_prefix};
use super::wire::{Reader, WireError, WireResult, corrupt, mismatch};
use crate::backends::clickhouse::NAME;
use crate::backends::clickhouse::error::server_exception;
use soa_persist_api::PersistError;

/// Default bound on one block's size (`BlockDecoder::with_max_block_bytes`).
pub const DEFAULT_MAX_BLOCK_BYTES: usize = 256 << 20;

/// How far past the start of an exception text the decoder waits for the rest of it.
const MAX_EXCEPTION_BYTES: usize = 64 << 10;

/// A streaming Native decoder (see the module docs).
pub struct BlockDecoder {
    /// `None` until the first block when the schema is taken from the blocks (`inferring`).
    target: Option<SchemaRef>,
    /// Input received; `buf[start..]` is not decoded yet.
    buf: Vec<u8>,
    start: usize,
    /// Undecoded length below which a parse is not retried (it doubles after each attempt).
    retry_at: usize,
    /// The last block's size: the next one is likely as large, so a parse waits for that much.
    last_block: usize,
    ended: bool,
    max_block_bytes: usize,
    blocks: u64,
    rows: u64,
}

impl BlockDecoder {
    /// A decoder producing batches of exactly `target`'s schema.
    pub fn new(target: SchemaRef) -> Self {
        Self {
            target: Some(target),
            buf: Vec::new(),
            start: 0,
            retry_at: 0,
            last_block: 0,
            ended: false,
            max_block_bytes: DEFAULT_MAX_BLOCK_BYTES,
            blocks: 0,
            rows: 0,
        }
    }

    /// A decoder whose schema is the first block's columns, each read as its natural Arrow
    /// type (for free SQL, whose result types the caller does not know).
    pub fn inferring() -> Self {
        Self {
            target: None,
            ..Self::new(std::sync::Arc::new(Schema::empty()))
        }
    }

    /// Refuses blocks larger than `bytes` instead of buffering them.
    pub fn with_max_block_bytes(mut self, bytes: usize) -> Self {
        self.max_block_bytes = bytes;
        self
    }

    /// Appends the next chunk of input.
    pub fn push(&mut self, chunk: &[u8]) {
        // Decoded bytes are dropped once they are half the buffer: amortized linear.
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Declares the end of input: the next `next_batch` calls decode what is left and fail if
    /// it is not whole blocks.
    pub fn finish(&mut self) {
        self.ended = true;
    }

    /// Rows decoded so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The next complete block with rows, or `None` when more input is needed (or, after
    /// `finish`, when the input is exhausted). Blocks of no rows are checked and skipped.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>, PersistError> {
        loop {
            let pending = self.pending().len();
            if pending == 0 || (!self.ended && pending < self.retry_at) {
                return Ok(None);
            }
            match parse_block(self.pending(), self.target.as_ref()) {
                Ok((batch, used)) => {
                    if self.target.is_none() {
                        self.target = Some(batch.schema());
                    }
                    self.start += used;
                    self.last_block = used;
                    // A server's blocks are alike: first try the next one once it may be whole.
                    self.retry_at = used;
                    self.blocks += 1;
                    if batch.num_rows() > 0 {
                        self.rows += batch.num_rows() as u64;
                        return Ok(Some(batch));
                    }
                }
                Err(e) => return self.failed(e),
            }
        }
    }

    /// What a failed parse means: wait for more input, the server's exception, or an error.
    /// Exception text is looked for only once the bytes can't be a block (or the input ended
    /// inside one), so user data that reads like an exception never stops a valid block.
    fn failed(&mut self, e: WireError) -> Result<Option<RecordBatch>, PersistError> {
        let block = self.blocks + 1;
        if matches!(e, WireError::Incomplete) && !self.ended {
            if self.pending().len() > self.max_block_bytes {
                return Err(PersistError::Corrupt {
                    backend: NAME,
                    detail: format!(
                        "Native block {block} is larger than {} bytes",
                        self.max_block_bytes
                    ),
                    source: None,
                });
            }
            self.retry_at = self.pending().len().saturating_mul(2).max(self.last_block);
            return Ok(None);
        }
        if let Some(at) = exception_start(self.pending(), self.ended) {
            if self.ended {
                let text = String::from_utf8_lossy(&self.pending()[at..]);
                return Err(server_exception(text.trim()));
            }
            // Wait for the rest of the text (the server closes the body after it).
            self.retry_at = self.pending().len() + 1;
            return Ok(None);
        }
        Err(match e {
            WireError::Incomplete => PersistError::Corrupt {
                backend: NAME,
                detail: format!(
                    "Native input ends inside block {block} ({} bytes left undecoded after {} rows)",
                    self.pending().len(),
                    self.rows
                ),
                source: None,
            },
            WireError::Corrupt(d) => PersistError::Corrupt {
                backend: NAME,
                detail: format!("Native block {block}: {d}"),
                source: None,
            },
            WireError::Mismatch(d) => PersistError::SchemaMismatch {
                backend: NAME,
                detail: format!("Native block {block}: {d}"),
            },
        })
    }
}

/// Decodes complete Native input (every block) into batches of `target`'s schema.
pub fn decode_blocks(bytes: &[u8], target: SchemaRef) -> Result<Vec<RecordBatch>, PersistError> {
    let mut decoder = BlockDecoder::new(target);
    decoder.push(bytes);
    decoder.finish();
    let mut out = Vec::new();
    while let Some(batch) = decoder.next_batch()? {
        out.push(batch);
    }
    Ok(out)
}

/// Where ClickHouse's exception text starts in `buf`: `Code: ` and a digit (or a newer
/// server's `__exception__` marker), with only text from there to the end, at most
/// `MAX_EXCEPTION_BYTES` of it, mentioning `Exception` unless it starts the undecoded bytes (a
/// block boundary), and, once the input has `ended`, ending with the server's newline. User
/// strings inside a block are followed by more binary block data, so they don't qualify unless
/// the input is cut right after one (then the error names that text instead of a truncation).
fn exception_start(buf: &[u8], ended: bool) -> Option<usize> {
    const CODE: &[u8] = b"Code: ";
    const MARKER: &[u8] = b"__exception__";
    let qualifies = |at: usize| {
        let tail = &buf[at..];
        let texty = tail.len() <= MAX_EXCEPTION_BYTES
            && std::str::from_utf8(tail).is_ok()
            && tail
                .iter()
                .all(|&c| c >= 0x20 || matches!(c, b'\n' | b'\r' | b'\t'));
        let named = at == 0 || find(tail, b"Exception").is_some() || find(tail, MARKER).is_some();
        texty && named && (!ended || tail.ends_with(b"\n"))
    };
    let start = buf.len().saturating_sub(MAX_EXCEPTION_BYTES);
    (start..buf.len()).find(|&at| {
        let rest = &buf[at..];
        let code = rest.starts_with(CODE) && rest.get(CODE.len()).is_some_and(u8::is_ascii_digit);
        (code || rest.starts_with(MARKER)) && qualifies(at)
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One block at the start of `buf`: the batch and the bytes it took. Without a `target`, the
/// block's own columns (natural types) are the schema.
fn parse_block(buf: &[u8], target: Option<&SchemaRef>) -> WireResult<(RecordBatch, usize)> {
    let mut r = Reader::new(buf);
    let columns = r.count("column count", 1 << 20)?;
    let rows = r.count("row count", u64::from(u32::MAX))?;
    let mut inferred: Vec<Field> = Vec::new();
    let width = target.map_or(columns, |t| t.fields().len());
    let mut arrays: Vec<Option<ArrayRef>> = vec![None; width];
    for _ in 0..columns {
        let name = std::str::from_utf8(r.string()?)
            .or_else(|_| corrupt("a column name is not UTF-8"))?
            .to_string();
        let type_text = std::str::from_utf8(r.string()?)
            .or_else(|_| corrupt(format!("the type of `{name}` is not UTF-8")))?;
        let ty = ChType::parse(type_text).map_err(|e| {
            if e.contains("unsupported ClickHouse type") {
                WireError::Mismatch(format!("column `{name}`: {e}"))
            } else {
                WireError::Corrupt(format!("column `{name}`: {e}"))
            }
        })?;
        let (index, field) = match target {
            Some(t) => {
                let Ok(index) = t.index_of(&name) else {
                    let expected: Vec<&str> =
                        t.fields().iter().map(|f| f.name().as_str()).collect();
                    return mismatch(format!(
                        "column `{name}` is not in the target schema ({})",
                        expected.join(", ")
                    ));
                };
                (index, t.fields()[index].as_ref().clone())
            }
            None => {
                let field = natural_field(&name, &ty)
                    .map_err(|e| WireError::Mismatch(format!("column `{name}`: {e}")))?;
                inferred.push(field.clone());
                (inferred.len() - 1, field)
            }
        };
        if arrays[index].is_some() {
            return corrupt(format!("column `{name}` appears twice"));
        }
        // A block of no rows carries no data, not even the column's prefix.
        let array = if rows == 0 {
            read_column(&mut Reader::new(&[]), &ty, 0, &field)
        } else {
            read_prefix(&mut r, &ty).and_then(|()| read_column(&mut r, &ty, rows, &field))
        }
        .map_err(|e| e.context(format!("column `{name}` ({ty})")))?;
        arrays[index] = Some(array);
    }
    let schema = match target {
        Some(t) => t.clone(),
        None => std::sync::Arc::new(Schema::new(inferred)),
    };
    if columns == 0 && rows == 0 {
        return Ok((RecordBatch::new_empty(schema), r.pos()));
    }
    let mut out = Vec::with_capacity(arrays.len());
    for (field, array) in schema.fields().iter().zip(arrays) {
        match array {
            Some(a) => out.push(a),
            None => return mismatch(format!("the block has no column `{}`", field.name())),
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let batch = RecordBatch::try_new_with_options(schema, out, &options)
        .map_err(|e| WireError::Mismatch(e.to_string()))?;
    Ok((batch, r.pos()))
}
