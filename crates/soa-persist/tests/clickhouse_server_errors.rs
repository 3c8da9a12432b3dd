//! Failures against a real `clickhouse-server` as typed errors: a query that fails after the
//! server has sent a 200 and megabytes of blocks (the blocks arrive, then the server's error,
//! classified by its code, then the end of the stream); a server that is down (retryable, the
//! URL named); wrong credentials (not retryable); an unknown table (a schema mismatch); bad
//! SQL; a block whose column type differs from the table's (refused, nothing stored); a result
//! dropped while its server is still working closes the response at once (a stalled fake server).
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod clickhouse;
mod tools;

use std::sync::Arc;

use clickhouse::Server;
use clickhouse::model::*;
use futures::TryStreamExt;
use soa_persist::arrow::array::{Int32Array, RecordBatch};
use soa_persist::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use soa_persist::backends::clickhouse::*;
use soa_persist::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_after_a_200_is_the_servers_error() {
    let Some(server) = Server::start() else {
        return;
    };
    let config = server.config().with_setting("max_block_size", "10000");
    let client = ClickHouseClient::connect(config).await.unwrap();
    let schema: SchemaRef = Arc::new(Schema::new(vec![
        Field::new("n", DataType::UInt64, false),
        Field::new("t", DataType::UInt8, false),
    ]));
    // About 2.7 MB of blocks go out (the status line with them) before row 300,000 throws.
    let sql = "SELECT number AS n, throwIf(number = 300000) AS t FROM system.numbers LIMIT 400000";
    let mut stream = client.query_batches(sql, schema);
    let mut rows = 0;
    let err = loop {
        match stream.try_next().await {
            Ok(Some(b)) => rows += b.num_rows(),
            Ok(None) => panic!("the query must fail"),
            Err(e) => break e,
        }
    };
    assert!(
        rows > 0 && rows <= 300_000,
        "{rows} rows arrived before the error"
    );
    assert!(
        err.to_string().contains("395") && err.to_string().contains("throwIf"),
        "{err}"
    );
    assert!(!err.is_retryable(), "{err}");
    assert!(
        stream.try_next().await.unwrap().is_none(),
        "the stream ends after its error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_failures_are_typed_errors() {
    let Some(server) = Server::start() else {
        return;
    };
    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let err = ClickHouseClient::connect(ClickHouseConfig::new(&url))
        .await
        .unwrap_err();
    assert!(
        err.is_retryable() && err.to_string().contains(&url),
        "{err}"
    );

    // Credentials never reach a message.
    let secret_url = format!("http://someone:hunter2@127.0.0.1:{port}");
    let config = ClickHouseConfig::new(&secret_url).with_user("tester", "hunter3");
    assert!(!format!("{config:?}").contains("hunter"), "{config:?}");
    let err = ClickHouseClient::connect(config).await.unwrap_err();
    assert!(
        err.is_retryable() && !err.to_string().contains("hunter"),
        "{err}"
    );

    let wrong = server.config().with_user("tester", "wrong");
    let err = ClickHouseClient::connect(wrong).await.unwrap_err();
    assert!(
        !err.is_retryable() && err.to_string().contains("authentication failed"),
        "{err}"
    );
    let right = ClickHouseClient::connect(server.config().with_user("tester", "secret"))
        .await
        .unwrap();
    assert_eq!(right.query_text("SELECT 1").await.unwrap().trim(), "1");

    let client = server.fresh_client("errors").await;
    let missing: Result<Vec<RecordBatch>, _> = client
        .query_batches("SELECT * FROM nowhere", Row::arrow_schema())
        .try_collect()
        .await;
    assert!(
        matches!(missing, Err(PersistError::SchemaMismatch { .. })),
        "{missing:?}"
    );
    let err = client.execute("SELEKT 1").await.unwrap_err();
    assert!(
        matches!(
            err,
            PersistError::Backend {
                retryable: false,
                ..
            }
        ),
        "{err}"
    );

    // A block whose column type differs from the table's is refused by the server.
    client
        .execute("CREATE TABLE wide (id Int64) ENGINE = MergeTree ORDER BY id")
        .await
        .unwrap();
    let narrow = Arc::new(Schema::new(vec![Field::new("id", DataType::Int32, false)]));
    let encoder = BlockEncoder::new(narrow.clone(), vec![ChType::Int32]).unwrap();
    let batch = RecordBatch::try_new(narrow, vec![Arc::new(Int32Array::from(vec![1]))]).unwrap();
    let err = client.insert("wide", &encoder, &[batch]).await.unwrap_err();
    assert!(matches!(err, PersistError::SchemaMismatch { .. }), "{err}");
    assert_eq!(
        client
            .query_text("SELECT count() FROM wide")
            .await
            .unwrap()
            .trim(),
        "0"
    );
}

/// A loopback HTTP server that answers the client's probe as an 18.16 server, and any other
/// request with one Native block (`n UInt64` = 7) and then nothing more, its response left
/// open like a slow query's; the receiver hears when the client closes such a connection.
async fn stalled_server() -> (String, tokio::sync::mpsc::Receiver<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (closed, heard) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let closed = closed.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    // One request: its head, then a body of Content-Length bytes.
                    let head_end = loop {
                        if let Some(at) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            break at + 4;
                        }
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&seen[..head_end]).to_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    while seen.len() < head_end + length {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let request: Vec<u8> = seen.drain(..head_end + length).collect();
                    let request = String::from_utf8_lossy(&request).into_owned();
                    if request.contains("version()") {
                        let body = "18.16.1\t['UInt64']\t0\t['0']\n";
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        socket.write_all(answer.as_bytes()).await.unwrap();
                        continue;
                    }
                    let mut block = b"\x01\x01\x01n\x06UInt64".to_vec();
                    block.extend_from_slice(&7u64.to_le_bytes());
                    let mut answer =
                        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                    answer.extend_from_slice(format!("{:x}\r\n", block.len()).as_bytes());
                    answer.extend_from_slice(&block);
                    answer.extend_from_slice(b"\r\n");
                    socket.write_all(&answer).await.unwrap();
                    // The rest never comes; wait for the client to hang up.
                    while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                    let _ = closed.send(()).await;
                    return;
                }
            });
        }
    });
    (url, heard)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_result_closes_its_response_at_once() {
    let (url, mut closed) = stalled_server().await;
    let client = ClickHouseClient::connect(ClickHouseConfig::new(&url))
        .await
        .unwrap();
    let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new("n", DataType::UInt64, false)]));
    let mut stream = client.query_batches("SELECT n FROM slow", schema);
    let first = stream.try_next().await.unwrap().expect("the first block");
    assert_eq!(first.num_rows(), 1);
    drop(stream);
    // Without waiting for a next chunk that the server may take minutes to send.
    tokio::time::timeout(std::time::Duration::from_secs(5), closed.recv())
        .await
        .expect("dropping the result closes its response");
}
