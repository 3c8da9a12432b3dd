//! The harness of the kill -9 tests: the parent runs one of this test binary's ignored tests
//! as a child process and kills it with SIGKILL after a random pause; the child acknowledges
//! each durable write in a side file, which the parent reads back.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Kills per loop: `SOA_CRASH_KILLS`, or `default`.
pub fn kills(default: usize) -> usize {
    std::env::var("SOA_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A xorshift generator.
pub struct Rng(u64);

impl Rng {
    /// Seeded by `seed()`, printed with `label` so that a failure can be replayed.
    pub fn seeded(label: &str) -> Self {
        let seed = seed();
        eprintln!("{label}: SOA_CRASH_SEED={seed}");
        Self::from_seed(seed)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Starts the ignored test `child` with `SOA_CRASH_DIR` and `SOA_CRASH_START` set, waits
/// `pause`, and kills it with SIGKILL. Acknowledgements of earlier children are cleared first.
pub fn run_and_kill(child: &str, dir: &Path, start: u64, pause: Duration) {
    let _ = std::fs::remove_file(dir.join("acked"));
    let exe = std::env::current_exe().expect("test binary");
    let mut process = Command::new(exe)
        .args([
            "--exact",
            child,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SOA_CRASH_DIR", dir)
        .env("SOA_CRASH_START", start.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    std::thread::sleep(pause);
    process.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
    let _ = process.wait();
}

/// What the killed child acknowledged, in order: only complete lines count (a kill may cut
/// the last one short).
pub fn acked(dir: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(dir.join("acked")).unwrap_or_default();
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    complete.lines().filter_map(|l| l.parse().ok()).collect()
}

/// The child's side: its folder and first id (`None` when not run as a child), and the file
/// it acknowledges writes in.
pub fn child() -> Option<(String, u64, Acks)> {
    let dir = std::env::var("SOA_CRASH_DIR").ok()?;
    let start = std::env::var("SOA_CRASH_START").ok()?.parse().ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{dir}/acked"))
        .expect("ack file");
    Some((dir, start, Acks(file)))
}

/// Runs the child's write loop on a single-threaded runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

pub struct Acks(std::fs::File);

impl Acks {
    /// Records `value` durably; call only after the write it stands for has returned.
    pub fn ack(&mut self, value: u64) {
        writeln!(self.0, "{value}").expect("ack");
        self.0.sync_data().expect("ack sync");
    }
}

impl Rng {
    /// A generator replaying `seed` (xorshift can't start from 0, so 0 becomes 1).
    pub fn from_seed(seed: u64) -> Self {
        Self(seed.max(1))
    }
}

/// The seed of a randomized run: `SOA_CRASH_SEED` replays one; otherwise the wall clock
/// mixed with the pid, so two runs started together still differ.
pub fn seed() -> u64 {
    if let Some(seed) = std::env::var("SOA_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return seed;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // splitmix64 finalizer: spreads nearby clocks over the whole range.
    let mut z = nanos ^ (u64::from(std::process::id()) << 32);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)).max(1)
}
