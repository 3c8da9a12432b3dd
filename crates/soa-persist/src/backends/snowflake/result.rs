//! A query's answer: its columns (`rowtype`), the first rows inline as an Arrow IPC stream
//! (`rowsetBase64`), further chunks at URLs fetched one at a time as the stream is read (so a
//! large result is never held whole), and for DML the affected row counts (`rowset`, JSON).

use std::io::Cursor;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use serde_json::Value;
use soa_persist_core::arrow::array::{Array, RecordBatch};
use soa_persist_core::arrow::ipc::reader::StreamReader;
use soa_persist_core::arrow::util::display::{ArrayFormatter, FormatOptions};

use super::client::SnowflakeClient;
use super::error::protocol_error;
use soa_persist_api::{BatchStream, PersistError};

/// The answer to one statement.
pub(crate) struct QueryResult {
    /// Arrow batches decoded from the inline rowset.
    first: Vec<RecordBatch>,
    /// URLs of the remaining chunks, in order.
    chunks: Vec<String>,
    /// Headers each chunk request needs (`chunkHeaders`, or the key `qrmk` names).
    headers: Vec<(String, String)>,
    /// A JSON rowset (DML counts, or results in JSON format).
    rowset: Vec<Vec<Option<String>>>,
    /// The stage a `PUT` is to upload to: its presigned URL.
    pub(crate) upload_url: Option<String>,
    /// The stage's location type, when a `PUT` names one.
    pub(crate) location_type: Option<String>,
}

impl QueryResult {
    /// Reads the `data` object of an answer.
    pub(crate) fn parse(data: Value) -> Result<Self, PersistError> {
        let stage = &data["stageInfo"];
        let format = data["queryResultFormat"].as_str().unwrap_or("arrow");
        let mut first = Vec::new();
        if let Some(rowset) = data["rowsetBase64"].as_str().filter(|r| !r.is_empty()) {
            let bytes = STANDARD
                .decode(rowset)
                .map_err(|e| protocol_error(format!("rowsetBase64: {e}")))?;
            first = decode_ipc(&bytes)?;
        } else if format != "json" && format != "arrow" {
            return Err(protocol_error(format!("result format {format:?}")));
        }
        let rowset = data["rowset"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| {
                        r.as_array()
                            .map(|cells| cells.iter().map(cell_text).collect())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let chunks = data["chunks"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter_map(|c| c["url"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut headers: Vec<(String, String)> = data["chunkHeaders"]
            .as_object()
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        if headers.is_empty()
            && let Some(key) = data["qrmk"].as_str()
        {
            headers.push((
                "x-amz-server-side-encryption-customer-algorithm".into(),
                "AES256".into(),
            ));
            headers.push((
                "x-amz-server-side-encryption-customer-key".into(),
                key.into(),
            ));
        }
        Ok(Self {
            first,
            chunks,
            headers,
            rowset,
            upload_url: stage["presignedUrl"].as_str().map(str::to_string),
            location_type: stage["locationType"].as_str().map(str::to_string),
        })
    }

    /// The rows a DML statement affected: the sum of its first row (Snowflake answers
    /// `number of rows inserted` / `deleted` / `updated`, one column each).
    pub(crate) fn affected_rows(&self) -> Result<u64, PersistError> {
        let mut n = 0u64;
        let cells = self.rowset.first().map(Vec::as_slice).unwrap_or_default();
        for cell in cells.iter().flatten() {
            n += cell
                .parse::<u64>()
                .map_err(|_| protocol_error(format!("a row count {cell:?}")))?;
        }
        Ok(n)
    }

    /// The inline rows as text (a JSON rowset, or Arrow cells through Arrow's display), for
    /// small answers: catalogue lookups and counts.
    pub(crate) fn text_rows(&self) -> Result<Vec<Vec<Option<String>>>, PersistError> {
        if self.first.is_empty() {
            return Ok(self.rowset.clone());
        }
        let mut rows = Vec::new();
        for batch in &self.first {
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &FormatOptions::default()))
                .collect::<Result<Vec<_>, _>>()?;
            for i in 0..batch.num_rows() {
                rows.push(
                    batch
                        .columns()
                        .iter()
                        .zip(&formatters)
                        .map(|(c, f)| (!c.is_null(i)).then(|| f.value(i).to_string()))
                        .collect(),
                );
            }
        }
        Ok(rows)
    }

    /// The first cell of the first row as a count.
    pub(crate) fn single_u64(&self) -> Result<u64, PersistError> {
        let rows = self.text_rows()?;
        let cell = rows.first().and_then(|r| r.first()).cloned().flatten();
        cell.as_deref()
            .unwrap_or("0")
            .parse()
            .map_err(|_| protocol_error(format!("a count {cell:?}")))
    }

    /// An error when rows came as a JSON rowset instead of Arrow (a session whose result
    /// format is JSON): reads decode Arrow only, and must not return nothing in its place.
    pub(crate) fn require_arrow(&self) -> Result<(), PersistError> {
        if self.first.is_empty() && !self.rowset.is_empty() {
            return Err(protocol_error(
                "rows came as JSON, not Arrow: set the session's query result format to ARROW \
                 (with_session_parameter)",
            ));
        }
        Ok(())
    }

    /// Every batch: the inline ones, then each chunk, fetched when the stream reaches it.
    pub(crate) fn into_stream(self, client: SnowflakeClient) -> BatchStream {
        let first = futures::stream::iter(self.first.into_iter().map(Ok));
        let headers = std::sync::Arc::new(self.headers);
        let rest = futures::stream::iter(self.chunks)
            .then(move |url| {
                let (client, headers) = (client.clone(), headers.clone());
                async move {
                    let bytes = client.fetch_chunk(&url, &headers).await?;
                    decode_ipc(&bytes)
                }
            })
            .flat_map(|batches| {
                futures::stream::iter(match batches {
                    Ok(b) => b.into_iter().map(Ok).collect::<Vec<_>>(),
                    Err(e) => vec![Err(e)],
                })
            });
        Box::pin(first.chain(rest))
    }
}

fn cell_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The batches of an Arrow IPC stream; a damaged one is an error, never a panic.
pub(crate) fn decode_ipc(bytes: &[u8]) -> Result<Vec<RecordBatch>, PersistError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let reader = StreamReader::try_new(Cursor::new(bytes), None)
        .map_err(|e| protocol_error(format!("Arrow result: {e}")))?;
    reader
        .map(|b| b.map_err(|e| protocol_error(format!("Arrow result: {e}"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;

    use futures::StreamExt;
    use soa_persist_core::arrow::array::Int64Array;
    use soa_persist_core::arrow::datatypes::{DataType, Field, Schema};
    use soa_persist_core::arrow::ipc::writer::StreamWriter;

    use super::*;
    use crate::backends::snowflake::{Auth, SnowflakeConfig};

    fn ipc(values: &[i64]) -> Vec<u8> {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(values.to_vec()))],
        )
        .unwrap();
        let mut writer = StreamWriter::try_new(Vec::new(), &schema).unwrap();
        writer.write(&batch).unwrap();
        writer.into_inner().unwrap()
    }

    /// A server answering every request once with `body` (status 200).
    fn serve_once(body: &'static [u8]) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/chunk", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(body);
            }
        });
        url
    }

    fn client() -> SnowflakeClient {
        let config =
            SnowflakeConfig::new("http://127.0.0.1:9", "a", "u", Auth::Password("p".into()));
        SnowflakeClient::unconnected(config).unwrap()
    }

    async fn read_all(chunk_url: &str) -> Vec<Result<RecordBatch, PersistError>> {
        let data = serde_json::json!({
            "queryResultFormat": "arrow",
            "rowsetBase64": STANDARD.encode(ipc(&[1, 2, 3])),
            "chunks": [{ "url": chunk_url, "rowCount": 2 }],
            "qrmk": "key",
        });
        let result = QueryResult::parse(data).unwrap();
        result.into_stream(client()).collect().await
    }

    #[tokio::test]
    async fn a_damaged_chunk_mid_result_is_an_error_after_the_rows_before_it() {
        let got = read_all(&serve_once(b"not arrow")).await;
        assert_eq!(got.len(), 2, "the inline rows, then the error");
        assert_eq!(got[0].as_ref().unwrap().num_rows(), 3);
        let err = got[1].as_ref().unwrap_err();
        assert!(err.to_string().contains("Arrow result"), "{err}");
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn a_chunk_that_cant_be_fetched_is_a_retryable_error_naming_its_url() {
        // A port nothing listens on.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/chunk");
        let got = read_all(&url).await;
        assert_eq!(got[0].as_ref().unwrap().num_rows(), 3);
        let err = got[1].as_ref().unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert!(err.to_string().contains(&url), "{err}");
    }

    #[test]
    fn rows_in_json_are_refused_by_reads_not_taken_for_none() {
        let data = serde_json::json!({ "queryResultFormat": "json", "rowset": [["1", "a"]] });
        let err = QueryResult::parse(data)
            .unwrap()
            .require_arrow()
            .unwrap_err();
        assert!(err.to_string().contains("JSON"), "{err}");
        let empty = serde_json::json!({ "queryResultFormat": "arrow", "rowsetBase64": "" });
        assert!(QueryResult::parse(empty).unwrap().require_arrow().is_ok());
    }

    #[tokio::test]
    async fn a_chunk_is_decoded_after_the_inline_rows() {
        let body: &'static [u8] = Box::leak(ipc(&[4, 5]).into_boxed_slice());
        let got = read_all(&serve_once(body)).await;
        let rows: Vec<usize> = got.iter().map(|b| b.as_ref().unwrap().num_rows()).collect();
        assert_eq!(rows, vec![3, 2]);
    }
}
