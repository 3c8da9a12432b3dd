//! `append_batches_once` across kill -9 of the server: a task appends batches in a loop, each
//! with its write id, retrying a failed write with the same id until it is acknowledged; the
//! test kills `clickhouse-server` with SIGKILL mid-stream and restarts it on the same data
//! folder and ports. At the end every acknowledged batch is in the table exactly once, no batch
//! is there in part (a batch is one block, written as one part per partition and shard), and
//! every error the writer saw in between was retryable. The same on a two-shard cluster, killing each shard in turn (a
//! block is cut over both shards, so a kill can leave it on one and not the other). SOA_CRASH_KILLS sets the number of kills (3 by default); the
//! test prints how many retries found their write already stored (a kill after the rows landed:
//! the retries that wrote rows twice before write ids went into the rows' own blocks).
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod clickhouse;
mod tools;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clickhouse::{CLUSTER, Cluster, Server, fresh_database, fresh_databases};
use soa_persist::backends::clickhouse::ClickHousePersistence;
use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct CrashRow {
    #[soa(key)]
    id: u64,
    /// The write's number: a batch is whole when all its `BATCH` rows are there.
    batch: u64,
    /// Three partitions: the server writes a batch as three parts, one at a time, so a kill can
    /// leave a batch in part until its retry.
    #[soa(partition)]
    bucket: u8,
    payload: String,
}

/// Rows per batch: well below the rows per Native block (65,536), so one block per batch.
const BATCH: u64 = 2000;

fn batch(seq: u64) -> Vec<soa_persist::arrow::array::RecordBatch> {
    let rows: CrashRowSoA = ((seq - 1) * BATCH..seq * BATCH)
        .map(|id| CrashRow {
            id,
            batch: seq,
            bucket: (id % 3) as u8,
            payload: format!("row {id} {}", "x".repeat((id % 40) as usize)),
        })
        .collect();
    vec![rows.into_record_batch().expect("to Arrow")]
}

fn kills() -> usize {
    std::env::var("SOA_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// What the writer saw: the last acknowledged write, and the errors in between.
#[derive(Default)]
struct Seen {
    acked: AtomicU64,
    /// Retries that found their write already stored (`Ok(false)`).
    found_stored: AtomicU64,
    errors: std::sync::Mutex<Vec<String>>,
    not_retryable: std::sync::Mutex<Vec<String>>,
}

/// No acknowledged write lost, none in part, none twice, every error retryable.
#[test]
fn acknowledged_appends_survive_kill_9_exactly_once() {
    let Some(server) = Server::start() else {
        return;
    };
    run(vec![server]);
}

/// The same on two shards, each killed in turn.
#[test]
fn acknowledged_appends_survive_kill_9_exactly_once_on_a_cluster() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    run(cluster.shards);
}

fn run(mut servers: Vec<Server>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let p = rt.block_on(open(&servers));
    let seen = Arc::new(Seen::default());
    let stop = Arc::new(AtomicBool::new(false));
    let writer = rt.spawn(write_loop(p.clone(), seen.clone(), stop.clone()));
    let kills = kills();
    for k in 0..kills {
        // Let some writes through, then kill mid-stream (a pause that varies per round).
        let before = seen.acked.load(Ordering::Acquire);
        let wait = Instant::now() + Duration::from_secs(30);
        while seen.acked.load(Ordering::Acquire) < before + 3 + k as u64 && Instant::now() < wait {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(37 * (k as u64 % 5)));
        let n = servers.len();
        let server = &mut servers[k % n];
        server.kill();
        std::thread::sleep(Duration::from_millis(300));
        server
            .restart()
            .unwrap_or_else(|e| panic!("restart after kill {}: {e}", k + 1));
    }
    // A few writes after the last restart, then stop.
    let last = seen.acked.load(Ordering::Acquire);
    let wait = Instant::now() + Duration::from_secs(60);
    while seen.acked.load(Ordering::Acquire) < last + 3 && Instant::now() < wait {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Release);
    rt.block_on(writer).expect("writer task");
    let errors = seen.errors.lock().unwrap().clone();
    eprintln!(
        "{kills} kills of {} server(s), {} writes acknowledged, {} errors retried, {} retries \
         found their write stored; first errors: {:?}",
        servers.len(),
        seen.acked.load(Ordering::Acquire),
        errors.len(),
        seen.found_stored.load(Ordering::Relaxed),
        errors.iter().take(3).collect::<Vec<_>>()
    );
    let not_retryable = seen.not_retryable.lock().unwrap().clone();
    assert!(
        not_retryable.is_empty(),
        "errors that were not retryable: {not_retryable:?}"
    );
    rt.block_on(check(&p, seen.acked.load(Ordering::Acquire)))
        .unwrap_or_else(|e| panic!("read back: {e}\n{}", servers[0].log_tail()));
}

/// The table on one server, or over the shards of a cluster.
async fn open(servers: &[Server]) -> ClickHousePersistence<CrashRow> {
    let opened = match servers {
        [one] => {
            let client = fresh_database(&one.client().await, "crash").await;
            ClickHousePersistence::open(client, None).await
        }
        _ => {
            let shards = fresh_databases(servers, "crash").await;
            ClickHousePersistence::cluster(shards, CLUSTER, None).await
        }
    };
    opened.unwrap_or_else(|e| panic!("open: {e}\n{}", servers[0].log_tail()))
}

/// Writes 1, 2, ... each retried with its id until acknowledged (within a bound).
async fn write_loop(p: ClickHousePersistence<CrashRow>, seen: Arc<Seen>, stop: Arc<AtomicBool>) {
    let mut seq = 1;
    while !stop.load(Ordering::Acquire) {
        let id = WriteId::new("crash-writer", seq);
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            match p.append_batches_once(batch(seq), &id).await {
                Ok(wrote) => {
                    if !wrote {
                        seen.found_stored.fetch_add(1, Ordering::Relaxed);
                    }
                    break;
                }
                Err(e) => {
                    record(&seen, &e);
                    assert!(
                        Instant::now() < deadline,
                        "write {seq} never succeeded: {e}"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        seen.acked.store(seq, Ordering::Release);
        seq += 1;
    }
}

/// Each acknowledged write there whole and once, nothing else there.
async fn check(p: &ClickHousePersistence<CrashRow>, acked: u64) -> Result<(), PersistError> {
    let answer = p
        .client()
        .query_text(&format!(
            "SELECT batch, count(), uniqExact(id) FROM `{}` GROUP BY batch ORDER BY batch \
             FORMAT TabSeparated",
            p.table_name()
        ))
        .await?;
    let counts: BTreeMap<u64, (u64, u64)> = answer
        .lines()
        .map(|line| {
            let cells: Vec<u64> = line.split('\t').map(|c| c.parse().unwrap()).collect();
            (cells[0], (cells[1], cells[2]))
        })
        .collect();
    let mut twice = Vec::new();
    for seq in 1..=acked {
        let Some(&(rows, ids)) = counts.get(&seq) else {
            panic!("acknowledged write {seq} is missing");
        };
        assert_eq!(
            ids, BATCH,
            "acknowledged write {seq} in part: {ids} of {BATCH} ids"
        );
        if rows > BATCH {
            twice.push((seq, rows as f64 / BATCH as f64));
        }
    }
    for seq in counts.keys() {
        assert!(*seq <= acked, "write {seq} was never attempted");
    }
    let rows: u64 = counts.values().map(|(rows, _)| rows).sum();
    assert_eq!(p.count(&Predicate::all()).await?, rows);
    assert!(twice.is_empty(), "writes applied more than once: {twice:?}");
    Ok(())
}

fn record(seen: &Seen, e: &PersistError) {
    if !e.is_retryable() {
        seen.not_retryable.lock().unwrap().push(e.to_string());
    }
    seen.errors.lock().unwrap().push(e.to_string());
}
