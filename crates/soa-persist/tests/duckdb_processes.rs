//! DuckDB across OS processes: a database file held open by one process is refused to another
//! with a typed, retryable error (whatever the path says), which succeeds once the holder is
//! gone; several processes that open, append once and close in turns, retrying on that error,
//! end with exactly the union of their rows. Children are this test binary, re-run on an
//! ignored test selected by name, with their task in environment variables.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API
#![cfg(feature = "duckdb")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use soa_persist::prelude::*;
use soa_persist::testing::{ConfOrder, orders};
use soa_persist::{DuckDBOptions, WriteId};

/// Starts the ignored test `name` of this binary as a child process with `env`.
fn spawn(name: &str, env: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        name,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn child")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Waits (without a deadline: the child's own failure ends it) until `path` exists or `child`
/// has exited.
fn wait_for(path: &Path, child: &mut Child) {
    while !path.exists() {
        if let Some(status) = child.try_wait().expect("child status") {
            panic!("child exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
#[ignore = "run by a_database_held_by_another_process_is_a_retryable_error"]
fn holder_child() {
    let Ok(dir) = std::env::var("SOA_HOLD_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    runtime().block_on(async {
        let p = DuckDBPersistence::<ConfOrder>::open(dir.join("db.duckdb")).expect("open");
        p.append(orders(0..10)).await.expect("append");
        std::fs::write(dir.join("holding"), b"").expect("signal");
        while !dir.join("release").exists() {
            std::thread::sleep(Duration::from_millis(5));
        }
    });
}

#[test]
fn a_database_held_by_another_process_is_a_retryable_error() {
    let base = tempfile::tempdir().unwrap();
    // The path names a lock and corruption: neither may sway the classification.
    let dir = base
        .path()
        .join("Corrupt database file, not a valid DuckDB database file");
    std::fs::create_dir(&dir).unwrap();
    let mut holder = spawn(
        "holder_child",
        &[("SOA_HOLD_DIR", dir.display().to_string())],
    );
    wait_for(&dir.join("holding"), &mut holder);

    let path = dir.join("db.duckdb");
    for read_only in [false, true] {
        let options = DuckDBOptions {
            read_only,
            ..DuckDBOptions::default()
        };
        let err = DuckDBPersistence::<ConfOrder>::open_with(Some(&path), options)
            .expect_err("the file is held by another process");
        assert!(
            matches!(err, PersistError::Backend { .. }) && err.is_retryable(),
            "read_only={read_only}: {err:?}"
        );
    }

    std::fs::write(dir.join("release"), b"").unwrap();
    assert!(holder.wait().unwrap().success());
    let p = DuckDBPersistence::<ConfOrder>::open(&path).expect("open after the holder exited");
    let rows = runtime().block_on(p.load()).unwrap().unwrap();
    assert_eq!(rows.len(), 10);
}

/// Writers, and appends per writer, of the many-processes test.
const WRITERS: u64 = 3;
const APPENDS: u64 = 25;
const ROWS: u64 = 20;

/// Opens `path`, retrying while another process holds it.
fn open_when_free(path: &Path, read_only: bool) -> DuckDBPersistence<ConfOrder> {
    let mut backoff = 1u64;
    loop {
        let options = DuckDBOptions {
            read_only,
            ..DuckDBOptions::default()
        };
        match DuckDBPersistence::<ConfOrder>::open_with(Some(path), options) {
            Ok(p) => return p,
            Err(e) if e.is_retryable() => {
                // Jittered, so that processes that collided do not collide again.
                let jitter = u64::from(std::process::id()) % 7;
                std::thread::sleep(Duration::from_millis(backoff + jitter));
                backoff = (backoff * 2).min(40);
            }
            Err(e) => panic!("open: {e}"),
        }
    }
}

#[test]
#[ignore = "run by processes_taking_turns_append_every_batch_once"]
fn turn_taking_writer_child() {
    let (Ok(path), Ok(writer)) = (
        std::env::var("SOA_TURN_DB"),
        std::env::var("SOA_TURN_WRITER"),
    ) else {
        return;
    };
    let w: u64 = writer.parse().expect("writer number");
    runtime().block_on(async {
        for seq in 1..=APPENDS {
            let first = (w * APPENDS + seq) * ROWS;
            let batch = orders(first..first + ROWS)
                .into_record_batch()
                .expect("batch");
            let id = WriteId::new(format!("writer {w}"), seq);
            // A retryable failure after opening (a conflict) is retried on a fresh handle.
            loop {
                let p = open_when_free(Path::new(&path), false);
                match p.append_batches_once(vec![batch.clone()], &id).await {
                    Ok(_) => break,
                    Err(e) if e.is_retryable() => continue,
                    Err(e) => panic!("append: {e}"),
                }
            }
        }
    });
}

#[test]
fn processes_taking_turns_append_every_batch_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("turns.duckdb");
    drop(open_when_free(&path, false));
    let mut writers: Vec<Child> = (0..WRITERS)
        .map(|w| {
            spawn(
                "turn_taking_writer_child",
                &[
                    ("SOA_TURN_DB", path.display().to_string()),
                    ("SOA_TURN_WRITER", w.to_string()),
                ],
            )
        })
        .collect();
    // Meanwhile this process reads whenever it gets the file: counts never go down.
    let rt = runtime();
    let mut last = 0;
    let mut reads = 0;
    while writers.iter_mut().any(|c| c.try_wait().unwrap().is_none()) {
        let p = open_when_free(&path, true);
        let n = rt.block_on(p.count(&Predicate::all())).expect("count");
        drop(p);
        assert!(n >= last, "count went down from {last} to {n}");
        last = n;
        reads += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    for mut c in writers {
        assert!(c.wait().unwrap().success(), "a writer failed");
    }
    let p = open_when_free(&path, true);
    let rows = rt.block_on(p.load()).unwrap().unwrap();
    let mut ids = rows.id.clone();
    ids.sort_unstable();
    let expected: Vec<u64> = (0..WRITERS)
        .flat_map(|w| {
            (1..=APPENDS).flat_map(move |s| (w * APPENDS + s) * ROWS..(w * APPENDS + s + 1) * ROWS)
        })
        .collect();
    assert_eq!(
        ids, expected,
        "exactly the union of every writer's rows, once"
    );
    eprintln!(
        "{WRITERS} processes x {APPENDS} appends of {ROWS} rows; {reads} reads by a 4th process"
    );
}
