//! Test harness for the ClickHouse backend: real `clickhouse-server` processes on loopback and
//! chdb (ClickHouse in-process, from the project's virtualenv) for the types an old server
//! lacks. Used by test files through `mod tools; mod clickhouse;`.
//!
//! - `Server::start()`: one server on free ports (HTTP and native TCP) with a generated
//!   `config.xml` / `users.xml` and a temporary data folder; returns once `/ping` answers; killed
//!   and reaped on drop; `kill()` (SIGKILL) and `restart()` keep its data folder and ports.
//!   Users: `default` (no password) and `tester` / `secret`.
//! - `Cluster::start()`: two servers whose `remote_servers` config names both as the shards of
//!   `CLUSTER`, so a `Distributed` table spans them; `fresh_databases()` one database on each.
//! - `Server::fresh_client()`: a client on a new database of its own (unique per call), so tests
//!   never collide.
//! - `Chdb::find()`: runs chdb queries in a fresh folder, returning the raw output.
//!
//! A missing tool prints a `SKIPPED` line (the caller returns), or fails the test when
//! `SOA_REQUIRE_TOOLS` / `CI` is set (`scripts/test.sh` sets it; `scripts/setup.sh` installs both).
#![allow(dead_code)]

mod config;
use config::{config_xml, users_xml};

pub mod codec;
pub mod model;
pub mod tables;

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use soa_persist::backends::clickhouse::{ClickHouseClient, ClickHouseConfig};

use crate::tools;

/// The cluster name `Cluster` configures.
pub const CLUSTER: &str = "soa_two_shards";

/// A `clickhouse-server` on 127.0.0.1; killed and reaped on drop.
pub struct Server {
    child: Child,
    pub http_port: u16,
    pub tcp_port: u16,
    dir: tempfile::TempDir,
    binary: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `clickhouse-server` from PATH (or Debian's `/usr/sbin`), or `None` after a skip line; a
/// failure when tools are required.
pub fn server_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs =
        std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")]);
    for dir in dirs {
        let candidate = dir.join("clickhouse-server");
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    assert!(
        !tools::required(),
        "no clickhouse-server on PATH: run scripts/setup.sh"
    );
    eprintln!("SKIPPED the ClickHouse server tests: no clickhouse-server (run scripts/setup.sh)");
    None
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

impl Server {
    /// One server; `None` (after a skip line) without clickhouse-server.
    pub fn start() -> Option<Self> {
        let binary = server_binary()?;
        Some(retry_ports(|| {
            let (http, tcp) = (free_port()?, free_port()?);
            Self::spawn(&binary, http, tcp, "")
        }))
    }

    fn spawn(binary: &Path, http: u16, tcp: u16, remote_servers: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let config = dir.path().join("config.xml");
        std::fs::write(&config, config_xml(dir.path(), http, tcp, remote_servers))
            .map_err(|e| e.to_string())?;
        std::fs::write(dir.path().join("users.xml"), users_xml()).map_err(|e| e.to_string())?;
        let child = launch(binary, dir.path())?;
        let mut server = Self {
            child,
            http_port: http,
            tcp_port: tcp,
            dir,
            binary: binary.to_path_buf(),
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// Waits for `/ping`, with a bound, so a server that never answers fails the test instead
    /// of hanging.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!("exited with {status}: {}", self.log_tail()));
            }
            if self.ping() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no answer on port {}: {}",
                    self.http_port,
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the server with SIGKILL and reaps it; its data folder and ports stay for `restart`.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same config, ports and data folder (after `kill`);
    /// returns once `/ping` answers.
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        // The ports can stay busy for a moment after the kill: retry the start a few times.
        let mut last = String::new();
        for _ in 0..20 {
            self.child = launch(&self.binary, self.dir.path())?;
            match self.wait_ready() {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            self.kill();
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(format!("did not restart: {last}"))
    }

    /// Whether `GET /ping` answers `Ok.`.
    fn ping(&self) -> bool {
        config::ping(self.http_port)
    }

    /// The end of the server's logs, for failure messages.
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        for name in ["stdout.log", "server.err.log"] {
            let log = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
            let start = log.len().saturating_sub(4000);
            text.push_str(log.get(start..).unwrap_or(&log));
        }
        text
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The config for this server (user `default`), to adjust before connecting.
    pub fn config(&self) -> ClickHouseConfig {
        ClickHouseConfig::new(self.url())
    }

    /// A client on the default database.
    pub async fn client(&self) -> ClickHouseClient {
        ClickHouseClient::connect(self.config())
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}\n{}", self.url(), self.log_tail()))
    }

    /// A client on a new database of its own.
    pub async fn fresh_client(&self, prefix: &str) -> ClickHouseClient {
        fresh_database(&self.client().await, prefix).await
    }
}

/// `clickhouse-server` on the config of `dir` (`config.xml`), its output in `stdout.log`.
fn launch(binary: &Path, dir: &Path) -> Result<Child, String> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("stdout.log"))
        .map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    Command::new(binary)
        .arg(format!(
            "--config-file={}",
            dir.join("config.xml").display()
        ))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("can't run {}: {e}", binary.display()))
}

/// A new database (a name no other test or run uses) and a client on it.
pub async fn fresh_database(client: &ClickHouseClient, prefix: &str) -> ClickHouseClient {
    let name = unique_name(prefix);
    client
        .execute(&format!("CREATE DATABASE `{name}`"))
        .await
        .unwrap_or_else(|e| panic!("create database {name}: {e}"));
    client.with_database(&name)
}

/// Rows of `table` on the server of `client` (one shard of a cluster, say).
pub async fn count_rows(client: &ClickHouseClient, table: &str) -> u64 {
    let text = client
        .query_text(&format!("SELECT count() FROM {table}"))
        .await
        .unwrap_or_else(|e| panic!("count {table}: {e}"));
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("count {table}: {text:?}: {e}"))
}

/// `prefix` with the process id, a counter and the time: unique across tests and runs.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// Runs `start` until it succeeds (a free port can be taken between probing and binding).
fn retry_ports<T>(mut start: impl FnMut() -> Result<T, String>) -> T {
    let mut last = String::new();
    for _ in 0..5 {
        match start() {
            Ok(v) => return v,
            Err(e) => last = e,
        }
    }
    panic!("clickhouse-server did not start: {last}");
}

/// Two servers, each configured with `CLUSTER` = both of them as shards.
pub struct Cluster {
    pub shards: Vec<Server>,
}

impl Cluster {
    pub fn start() -> Option<Self> {
        let binary = server_binary()?;
        Some(retry_ports(|| {
            let ports = [free_port()?, free_port()?, free_port()?, free_port()?];
            let shard = |tcp: u16| {
                format!(
                    "<shard><replica><host>127.0.0.1</host><port>{tcp}</port></replica></shard>"
                )
            };
            let remote = format!(
                "<{CLUSTER}>{}{}</{CLUSTER}>",
                shard(ports[1]),
                shard(ports[3])
            );
            let first = Server::spawn(&binary, ports[0], ports[1], &remote)?;
            let second = Server::spawn(&binary, ports[2], ports[3], &remote)?;
            Ok(Self {
                shards: vec![first, second],
            })
        }))
    }

    /// A client per shard on a new database of the same name on each.
    pub async fn fresh_databases(&self, prefix: &str) -> Vec<ClickHouseClient> {
        fresh_databases(&self.shards, prefix).await
    }
}

/// A client per server on a new database of the same name on each (as a cluster's
/// `Distributed` table requires).
pub async fn fresh_databases(servers: &[Server], prefix: &str) -> Vec<ClickHouseClient> {
    let db = unique_name(prefix);
    let mut clients = Vec::new();
    for server in servers {
        let client = server.client().await;
        client
            .execute(&format!("CREATE DATABASE `{db}`"))
            .await
            .unwrap_or_else(|e| panic!("create database {db}: {e}"));
        clients.push(client.with_database(&db));
    }
    clients
}

/// chdb (ClickHouse in-process) through the virtualenv's Python, run in a folder of its own
/// (chdb reads a `config.xml` from its working folder when there is one).
pub struct Chdb {
    python: PathBuf,
    dir: tempfile::TempDir,
}

const CHDB_SCRIPT: &str = "import sys, chdb\nres = chdb.query(sys.argv[1], sys.argv[2])\nsys.stdout.buffer.write(res.bytes())\n";

impl Chdb {
    /// `None` (after a skip line) without chdb; a failure when tools are required.
    pub fn find() -> Option<Self> {
        let python = tools::venv_bin("python", "the chdb cross-checks")?;
        let dir = tempfile::tempdir().expect("temp dir");
        let ok = Command::new(&python)
            .args(["-c", "import chdb"])
            .current_dir(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            assert!(
                !tools::required(),
                "no chdb in the virtualenv: run scripts/setup.sh"
            );
            eprintln!(
                "SKIPPED the chdb cross-checks: no chdb in the virtualenv (run scripts/setup.sh)"
            );
            return None;
        }
        Some(Self { python, dir })
    }

    /// A path in chdb's own temporary folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The raw output of `sql` in `format`; panics with chdb's error when it fails.
    pub fn query(&self, sql: &str, format: &str) -> Vec<u8> {
        let out = Command::new(&self.python)
            .args(["-c", CHDB_SCRIPT, sql, format])
            .current_dir(self.dir.path())
            .output()
            .expect("run chdb");
        assert!(
            out.status.success(),
            "chdb failed on {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// The output as text.
    pub fn query_text(&self, sql: &str, format: &str) -> String {
        String::from_utf8(self.query(sql, format)).expect("chdb text output")
    }
}
