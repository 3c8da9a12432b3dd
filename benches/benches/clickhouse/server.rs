//! `clickhouse-server` processes for the bench: a generated config on free loopback ports with
//! `system.query_log` on, a temporary data folder, killed and reaped on drop (adapted from the
//! test harness in `crates/soa-persist/tests/clickhouse/mod.rs`).

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CLUSTER: &str = "soa_two_shards";

pub struct Server {
    child: Child,
    http: u16,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join("clickhouse-server"))
        .find(|c| c.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

use super::ch_config::{config_xml as config, users_xml};

impl Server {
    /// One server on free ports (`ports` = (http, tcp) when given); waits for `/ping`.
    pub fn start(binary: &Path, cluster: Option<(u16, u16, &str)>) -> Self {
        let mut last = String::new();
        for _ in 0..5 {
            let (http, tcp, remote) = cluster.unwrap_or_else(|| (free_port(), free_port(), ""));
            match Self::spawn(binary, http, tcp, remote) {
                Ok(s) => return s,
                Err(e) => last = e,
            }
            if cluster.is_some() {
                break;
            }
        }
        panic!("clickhouse-server did not start: {last}");
    }

    fn spawn(binary: &Path, http: u16, tcp: u16, remote: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let config_path = dir.path().join("config.xml");
        std::fs::write(&config_path, config(dir.path(), http, tcp, remote))
            .map_err(|e| e.to_string())?;
        std::fs::write(dir.path().join("users.xml"), users_xml()).map_err(|e| e.to_string())?;
        let out =
            std::fs::File::create(dir.path().join("stdout.log")).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(binary)
            .arg(format!("--config-file={}", config_path.display()))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("can't run {}: {e}", binary.display()))?;
        let mut server = Self { child, http, dir };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = server.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!("exited with {status}: {}", server.log_tail()));
            }
            if server.ping() {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err(format!("no answer on port {http}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn ping(&self) -> bool {
        super::ch_config::ping(self.http)
    }

    fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("server.err.log")).unwrap_or_default();
        let start = log.len().saturating_sub(2000);
        log.get(start..).unwrap_or(&log).to_string()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }
}

/// Two servers, each configured with `CLUSTER` = both of them as shards.
pub struct Cluster {
    pub shards: Vec<Server>,
}

impl Cluster {
    pub fn start(binary: &Path) -> Self {
        let ports = [free_port(), free_port(), free_port(), free_port()];
        let shard = |tcp: u16| {
            format!("<shard><replica><host>127.0.0.1</host><port>{tcp}</port></replica></shard>")
        };
        let remote = format!(
            "<{CLUSTER}>{}{}</{CLUSTER}>",
            shard(ports[1]),
            shard(ports[3])
        );
        let first = Server::start(binary, Some((ports[0], ports[1], &remote)));
        let second = Server::start(binary, Some((ports[2], ports[3], &remote)));
        Self {
            shards: vec![first, second],
        }
    }
}
