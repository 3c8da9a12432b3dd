//! `ParquetPersistence` on a real S3-protocol server: moto's server mode (installed into the
//! virtualenv by `scripts/setup.sh`), started by each test on a free loopback port and killed
//! when the test ends, passed or failed. Covers the shared conformance suite, four independent
//! handles appending concurrently (the commit log's create-if-absent is what keeps every append
//! exactly once), that a second create of an existing commit record is refused by the server
//! and reported as such, and that a store without conditional puts is refused rather than
//! silently overwritten. Without moto the tests print a skip line, or fail when
//! `SOA_REQUIRE_TOOLS=1` (set by `scripts/test.sh`).
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod tools;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use soa_persist::backends::parquet::{ObjectStorage, Storage};
use soa_persist::prelude::*;
use soa_persist::testing::{ConfOrder, ConfOrderSoA, conformance, orders};

const BUCKET: &str = "soa";

/// moto's server checks `If-None-Match: *` and then writes, on several threads with no lock
/// between the two, so two concurrent creates of one key can both succeed and two commits win
/// one log version. S3 makes the check and the write one step; running each request under one
/// lock makes the emulator do the same. (One run of the four-writer test lost one append, which
/// is what such a double win does; the race itself was not reproduced in isolation.)
const SERIAL_MOTO: &str = r#"
import sys, threading
import moto.server as server
lock = threading.Lock()
run = server.run_simple
def serial(app):
    def handle(environ, start_response):
        with lock:
            return list(app(environ, start_response))
    return handle
server.run_simple = lambda host, port, app, **kw: run(host, port, serial(app), **kw)
server.main(sys.argv[1:])
"#;

/// A moto S3 server on 127.0.0.1; killed (and reaped) on drop.
struct Moto {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts a server, waits until it answers and creates the test bucket; `None` (after a
    /// skip line) when moto is not installed and tools are not required.
    fn start() -> Option<Self> {
        let server = tools::venv_bin("moto_server", "the S3 tests")?;
        // The free port can be taken between probing and binding: try a few.
        let mut last_error = String::new();
        for _ in 0..5 {
            match Self::spawn(&server) {
                Ok(moto) => {
                    moto.create_bucket(BUCKET);
                    return Some(moto);
                }
                Err(e) => last_error = e,
            }
        }
        panic!("moto S3 server did not start: {last_error}");
    }

    fn spawn(server: &std::path::Path) -> Result<Self, String> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let log = dir.path().join("moto.log");
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        // Through a launcher that serves one request at a time (see `SERIAL_MOTO`).
        let python = server.with_file_name("python");
        let child = Command::new(python)
            .args([
                "-c",
                SERIAL_MOTO,
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("can't run {}: {e}", server.display()))?;
        let mut moto = Self {
            child,
            port,
            log,
            _dir: dir,
        };
        let (log, port) = (moto.log.clone(), moto.port);
        let answers = || Moto::request_at(port, "GET", "/").is_ok();
        let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
        tools::wait_until_up(&mut moto.child, answers, log_text)?;
        Ok(moto)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// One unauthenticated HTTP/1.1 request; the response's status code.
    fn request(&self, method: &str, path: &str) -> std::io::Result<u16> {
        Self::request_at(self.port, method, path)
    }

    fn request_at(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        let head = String::from_utf8_lossy(&response);
        head.split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {head}")))
    }

    fn create_bucket(&self, bucket: &str) {
        let status = self
            .request("PUT", &format!("/{bucket}"))
            .expect("create bucket");
        assert_eq!(status, 200, "create bucket {bucket}: {}", self.log_text());
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The object-store settings for this server (object_store 0.14's key names). Conditional
    /// put `etag` (the default, spelled out) makes `PutMode::Create` send `If-None-Match: *`.
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("aws_endpoint", self.endpoint()),
            ("aws_allow_http", "true".into()),
            ("aws_access_key_id", "test".into()),
            ("aws_secret_access_key", "test".into()),
            ("aws_region", "us-east-1".into()),
            ("aws_conditional_put", "etag".into()),
        ]
    }

    fn open(&self, prefix: &str) -> ParquetPersistence<ConfOrder> {
        let url = format!("s3://{BUCKET}/{prefix}");
        ParquetPersistence::open_url_with(&url, self.options())
            .unwrap_or_else(|e| panic!("open {url}: {e}"))
    }

    /// The bucket through object_store directly, with the same settings as the datasets.
    fn store(&self) -> AmazonS3 {
        self.options()
            .into_iter()
            .fold(
                AmazonS3Builder::new().with_bucket_name(BUCKET),
                |b, (key, value)| b.with_config(key.parse::<AmazonS3ConfigKey>().unwrap(), value),
            )
            .build()
            .expect("S3 client")
    }
}

fn sorted_ids(rows: &ConfOrderSoA) -> Vec<u64> {
    let mut ids = rows.id.clone();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_passes_the_conformance_suite() {
    let Some(moto) = Moto::start() else { return };
    let n = AtomicUsize::new(0);
    conformance::run_all(|| {
        let p = moto.open(&format!("conf{}", n.fetch_add(1, Ordering::SeqCst)));
        async move { p }
    })
    .await;
}

const WRITERS: u64 = 4;
const APPENDS: u64 = 50;
const ROWS_PER_APPEND: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_handles_appending_concurrently_store_every_row_exactly_once() {
    let Some(moto) = Moto::start() else { return };
    let prefix = "many-writers";
    let writing = Arc::new(AtomicBool::new(true));

    // A reader on its own handle: every count succeeds, never goes down, and is a whole number
    // of appends (each append is visible entirely or not at all).
    let reader = {
        let p = moto.open(prefix);
        let writing = writing.clone();
        tokio::spawn(async move {
            let (mut last, mut reads) = (0u64, 0u64);
            while writing.load(Ordering::SeqCst) {
                let n = p
                    .count(&Predicate::all())
                    .await
                    .expect("count while writing");
                assert!(n >= last, "count went down from {last} to {n}");
                assert_eq!(n % ROWS_PER_APPEND, 0, "a partly visible append: {n} rows");
                (last, reads) = (n, reads + 1);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            reads
        })
    };

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            // Each writer opens its own handle from the URL, as a separate process would.
            let p = moto.open(prefix);
            tokio::spawn(async move {
                for a in 0..APPENDS {
                    let first = (w * APPENDS + a) * ROWS_PER_APPEND;
                    // Consecutive ids have different statuses: every append spans partitions.
                    p.append(orders(first..first + ROWS_PER_APPEND))
                        .await
                        .unwrap_or_else(|e| panic!("writer {w}, append {a}: {e}"));
                }
            })
        })
        .collect();
    let mut failures = Vec::new();
    for w in writers {
        if let Err(e) = w.await {
            failures.push(e.to_string());
        }
    }
    writing.store(false, Ordering::SeqCst);
    let reads = reader.await.expect("reader");
    assert!(failures.is_empty(), "writers failed: {failures:?}");

    let total = WRITERS * APPENDS * ROWS_PER_APPEND;
    let fresh = moto.open(prefix);
    let rows = fresh.load().await.unwrap().expect("rows stored");
    assert_eq!(
        sorted_ids(&rows),
        (0..total).collect::<Vec<_>>(),
        "the rows are exactly the union of every append (nothing lost, nothing doubled)"
    );
    let mut rows = rows;
    rows.sort_by_key(|r| *r.id);
    assert_eq!(
        format!("{rows:?}"),
        format!("{:?}", orders(0..total)),
        "values round-trip"
    );
    assert_eq!(fresh.count(&Predicate::all()).await.unwrap(), total);
    eprintln!(
        "{WRITERS} handles x {APPENDS} appends of {ROWS_PER_APPEND} rows: {total} rows, exact; \
         {reads} concurrent counts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_create_of_a_commit_record_is_refused() {
    let Some(moto) = Moto::start() else { return };
    let store = Arc::new(moto.store());

    // The server itself: `PutMode::Create` sends `If-None-Match: *` and moto honours it.
    let probe = ObjectPath::from("probe/once");
    let create = || PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    };
    store
        .put_opts(&probe, PutPayload::from_static(b"first"), create())
        .await
        .expect("first create");
    let second = store
        .put_opts(&probe, PutPayload::from_static(b"second"), create())
        .await;
    assert!(
        matches!(second, Err(object_store::Error::AlreadyExists { .. })),
        "second create must answer AlreadyExists, got {second:?}"
    );
    let kept = store.get(&probe).await.unwrap().bytes().await.unwrap();
    assert_eq!(
        &kept[..],
        b"first",
        "the refused create left the object alone"
    );

    // Through the dataset's storage API: every commit record it wrote is create-once.
    let storage = Arc::new(ObjectStorage::new(
        store.clone(),
        ObjectPath::from("records"),
        format!("s3://{BUCKET}/records"),
    ));
    let p = ParquetPersistence::<ConfOrder>::with_storage(storage.clone());
    p.append(orders(0..10)).await.unwrap();
    p.append(orders(10..20)).await.unwrap();
    let records: Vec<String> = storage
        .list("_soa_log")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .filter(|path| path.ends_with(".json") && !path.contains("/."))
        .collect();
    assert!(!records.is_empty(), "no commit records under _soa_log/");
    for record in &records {
        let before = storage.get(record).await.unwrap();
        for bytes in [
            before.clone(),
            Bytes::from_static(b"{\"not\":\"a record\"}"),
        ] {
            assert!(
                !storage.put_new(record, bytes).await.unwrap(),
                "put_new over the existing commit record {record} must report it exists"
            );
        }
        assert_eq!(
            storage.get(record).await.unwrap(),
            before,
            "{record} unchanged"
        );
    }
    assert!(storage.put_new("fresh/one", Bytes::new()).await.unwrap());
    assert!(!storage.put_new("fresh/one", Bytes::new()).await.unwrap());

    let rows = moto.open("records").load().await.unwrap().expect("rows");
    assert_eq!(sorted_ids(&rows), (0..20).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_without_conditional_put_is_refused_not_retried() {
    let Some(moto) = Moto::start() else { return };
    let url = format!("s3://{BUCKET}/unconditional");
    let options = moto.options().into_iter().map(|(k, v)| match k {
        "aws_conditional_put" => (k, "disabled".to_string()),
        _ => (k, v),
    });
    // Refused when opening (a probe) or at the first write; either way not worth retrying.
    let outcome = match ParquetPersistence::<ConfOrder>::open_url_with(&url, options) {
        Err(e) => Err(e),
        Ok(p) => p.append(orders(0..10)).await,
    };
    let err = outcome.expect_err("a commit log without create-if-absent must be refused");
    assert!(
        !err.is_retryable(),
        "no conditional put is permanent, not retryable: {err}"
    );
    assert!(
        moto.open("unconditional").load().await.unwrap().is_none(),
        "nothing became visible"
    );
}
