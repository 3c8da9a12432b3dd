//! The Snowflake emulator for the tests: `fakesnow -s` (installed into the virtualenv by
//! `scripts/setup.sh`) on a free loopback port, killed and reaped on drop; a fresh database
//! per store, so tests sharing one emulator never see each other's tables. Without fakesnow
//! the tests print a skip line, or fail when `SOA_REQUIRE_TOOLS=1` (the test command).
#![allow(dead_code)] // each test file uses part of the harness

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use soa_persist::backends::snowflake::{Auth, SnowflakeConfig};

use crate::tools;

/// fakesnow 0.12.1 converts each bound value by its type and fails on a null one
/// (`int(None)` for a `FIXED` null), where Snowflake stores `NULL`: a null in an array binding
/// is how Snowflake's own connectors send it. And a `COPY` with a transformation
/// (`SELECT $1:"name" … FROM @stage`) becomes a DuckDB query naming each Parquet column
/// unquoted, which fails for a name DuckDB reserves (`at`, `inner`, …) or one with a space;
/// Snowflake reads any quoted name. The launcher passes nulls through, quotes those names, and
/// serves the emulator's app as `fakesnow -s -p PORT` does; nothing else changes.
const LAUNCHER: &str = r#"
import importlib, sys
import uvicorn
from sqlglot import exp
converter = importlib.import_module("fakesnow.converter")
server = importlib.import_module("fakesnow.server")
copy_into = importlib.import_module("fakesnow.copy_into")
plain = converter.from_binding
def from_binding(binding):
    return None if binding.get("value") is None else plain(binding)
converter.from_binding = from_binding
server.from_binding = from_binding
def strip_json_extract(select):
    dollar1 = exp.Parameter(this=exp.Literal(this="1", is_string=False))
    for p in select.find_all(exp.Parameter):
        if p == dollar1 and p.parent and (key := p.parent.expression.find(exp.JSONPathKey)):
            p.parent.parent.args["this"] = exp.Identifier(this=key.this, quoted=True)
    return select
copy_into._strip_json_extract = strip_json_extract
uvicorn.run(server.app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info")
"#;

/// A `fakesnow` server on 127.0.0.1.
pub struct Emulator {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Emulator {
    /// Starts one and waits until it answers; `None` (after a skip line) when fakesnow is not
    /// installed and tools are not required.
    pub fn start() -> Option<Self> {
        let bin = tools::venv_bin("fakesnow", "the Snowflake tests")?;
        let mut last = String::new();
        // The free port can be taken between probing and binding: try a few.
        for _ in 0..5 {
            match Self::spawn(&bin) {
                Ok(e) => return Some(e),
                Err(e) => last = e,
            }
        }
        panic!("fakesnow did not start: {last}");
    }

    /// Starts one on `port` (free again after an earlier emulator there stopped).
    pub fn start_on(port: u16) -> Option<Self> {
        let bin = tools::venv_bin("fakesnow", "the Snowflake tests")?;
        Some(Self::spawn_on(&bin, port).unwrap_or_else(|e| panic!("fakesnow on {port}: {e}")))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn spawn(bin: &Path) -> Result<Self, String> {
        Self::spawn_on(bin, free_port()?)
    }

    fn spawn_on(bin: &Path, port: u16) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let log = dir.path().join("fakesnow.log");
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let python = bin.with_file_name("python");
        let child = Command::new(python)
            .args(["-c", LAUNCHER, &port.to_string()])
            .env("TMPDIR", dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("can't run {}: {e}", bin.display()))?;
        let mut emulator = Self {
            child,
            port,
            log,
            _dir: dir,
        };
        let (log, port) = (emulator.log.clone(), emulator.port);
        let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
        tools::wait_until_up(&mut emulator.child, || answers(port), log_text)?;
        Ok(emulator)
    }

    /// The end of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let skip = text.chars().count().saturating_sub(4000);
        text.chars().skip(skip).collect()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Settings for a fresh database of this emulator (user and password are not checked).
    pub fn config(&self) -> SnowflakeConfig {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let db = format!("TEST_{}", NEXT.fetch_add(1, Ordering::Relaxed));
        SnowflakeConfig::new(
            &self.url(),
            "test",
            "tester",
            Auth::Password("secret".into()),
        )
        .with_database(&db, "PUBLIC")
    }
}

/// Whether a server on `port` answers HTTP at all.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = Vec::new();
    stream.read_to_end(&mut response).is_ok() && response.starts_with(b"HTTP/1.1")
}

/// A loopback port nobody listens on now.
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// A one-request HTTP server on loopback answering `status` with the JSON `body`; its URL.
/// For answers the emulator never gives (a refused login, an overloaded server).
pub fn answer_once(status: u16, body: &'static str) -> String {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = [0u8; 8192];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    url
}
