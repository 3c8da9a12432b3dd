//! DuckDB benchmark (issue: DuckDB backend), 10M `Order` rows, same data, same run, each
//! write into a fresh database file with the same table (PRIMARY KEY included):
//! our `append` (Arrow scan and Arrow appender) vs the `duckdb` crate's row-by-row
//! `Appender::append_row` vs DuckDB's own `INSERT INTO ... SELECT * FROM read_parquet(...)` and
//! DuckDB's own Arrow scan of a pyarrow table from Python (`INSERT ... SELECT * FROM t`);
//! then a typed query and a GROUP BY through our API vs the same SQL run on a bare connection.
//! Run: `cargo bench -p soa-persist-benches --bench duckdb --features duckdb` (ROWS=... to
//! change 10M).

use std::path::Path;
use std::time::{Duration, Instant};

use duckdb::types::{TimeUnit, Value};
use soa_persist::prelude::*;
use soa_persist::{DuckDBOptions, Ingest};
use soa_persist_benches::{
    Order, OrderArrow, OrderArrowSoA, OrderSoA, Status, best_of, order, report, rows_from_env,
    runtime,
};

fn timed<R>(f: impl FnOnce() -> R) -> (Duration, R) {
    let start = Instant::now();
    let r = f();
    (start.elapsed(), r)
}

/// A fresh database file holding our (empty) `order` table.
fn fresh(dir: &Path, name: &str, ingest: Ingest) -> DuckDBPersistence<Order> {
    fresh_with(dir, name, ingest, true)
}

fn fresh_with(dir: &Path, name: &str, ingest: Ingest, ordered: bool) -> DuckDBPersistence<Order> {
    let path = dir.join(format!("{name}.duckdb"));
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(dir.join(format!("{name}.duckdb.wal")));
    let options = DuckDBOptions {
        ingest,
        preserve_insertion_order: ordered,
        ..DuckDBOptions::default()
    };
    DuckDBPersistence::<Order>::open_with(Some(&path), options).expect("open")
}

fn raw(p: DuckDBPersistence<Order>) -> duckdb::Connection {
    let path = p.path().expect("file").to_path_buf();
    drop(p);
    duckdb::Connection::open(path).expect("raw open")
}

fn main() {
    let n = rows_from_env(10_000_000);
    let rt = runtime();
    let work = tempfile::tempdir().expect("tempdir");
    println!("== duckdb, {n} Order rows, fresh file database per write ==");
    let rows: OrderSoA = (0..n).map(order).collect();

    // Ours, both ingest paths.
    let mut ours = Vec::new();
    for (name, ingest, ordered) in [
        ("arrow scan", Ingest::ArrowScan, true),
        ("arrow scan, unordered", Ingest::ArrowScan, false),
        ("appender", Ingest::Appender, true),
    ] {
        let p = fresh_with(work.path(), "ours", ingest, ordered);
        let batch = rows.clone();
        let (t, r) = timed(|| rt.block_on(p.append(batch)));
        r.expect("append");
        assert_eq!(rt.block_on(p.count(&Predicate::all())).expect("count"), n);
        println!("ours append ({name}): {:.2} s", t.as_secs_f64());
        ours.push((name, t));
    }

    // The same ingest without building Arrow from `String`s: from Arrow batches made before
    // the clock starts, and from the Arrow-layout `OrderArrowSoA` (its conversion is O(1)).
    {
        let p = fresh(work.path(), "ours", Ingest::ArrowScan);
        let batch = rows.to_record_batch().expect("batch");
        let (t, r) = timed(|| rt.block_on(p.append_batches(vec![batch])));
        r.expect("append");
        assert_eq!(rt.block_on(p.count(&Predicate::all())).expect("count"), n);
        ours.push(("arrow scan, from Arrow batches", t));
        drop(p);
        let path = work.path().join("ours_arrow.duckdb");
        let p = DuckDBPersistence::<OrderArrow>::open_with(Some(&path), DuckDBOptions::default())
            .expect("open");
        let input: OrderArrowSoA = (0..n).map(order).map(OrderArrow::from).collect();
        let (t, r) = timed(|| rt.block_on(p.append(input)));
        r.expect("append");
        ours.push(("arrow scan, from OrderArrowSoA", t));
    }

    // The same rows as a Parquet file, for DuckDB's native ingest.
    let parquet = work.path().join("orders.parquet");
    {
        let p = fresh(work.path(), "source", Ingest::ArrowScan);
        rt.block_on(p.append(rows.clone())).expect("append");
        let conn = raw(p);
        conn.execute_batch(&format!(
            "COPY \"order\" TO '{}' (FORMAT parquet)",
            parquet.display()
        ))
        .expect("copy");
    }
    let conn = raw(fresh(work.path(), "native", Ingest::ArrowScan));
    let (native, r) = timed(|| {
        conn.execute_batch(&format!(
            "INSERT INTO \"order\" SELECT * FROM read_parquet('{}')",
            parquet.display()
        ))
    });
    r.expect("read_parquet ingest");
    drop(conn);

    // DuckDB's own Arrow scan, driven from Python: the same rows as a pyarrow table in
    // memory, `INSERT ... SELECT` into the same table (skipped without the virtualenv).
    let python = std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default())
        .join(".cache/soa-persist/venv/bin/python");
    let py_arrow = python.exists().then(|| {
        let target = fresh(work.path(), "python", Ingest::ArrowScan);
        let path = target.path().expect("file").to_path_buf();
        drop(target);
        let script = "import sys, time, duckdb, pyarrow.parquet as pq\n\
                      t = pq.read_table(sys.argv[1])\n\
                      con = duckdb.connect(sys.argv[2])\n\
                      con.execute('SET enable_progress_bar = false')\n\
                      s = time.perf_counter()\n\
                      con.execute('INSERT INTO \"order\" SELECT * FROM t')\n\
                      print(time.perf_counter() - s)\n";
        let out = std::process::Command::new(&python)
            .arg("-c")
            .arg(script)
            .arg(&parquet)
            .arg(&path)
            .output()
            .expect("python");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The last line: DuckDB may print a progress bar before it.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let secs: f64 = stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("no time in the Python peer's output: {stdout}"));
        Duration::from_secs_f64(secs)
    });

    // Row by row through the duckdb crate's appender.
    let conn = raw(fresh(work.path(), "rows", Ingest::ArrowScan));
    let (row_by_row, r) = timed(|| -> duckdb::Result<()> {
        let mut app = conn.appender("order")?;
        for o in rows.iter() {
            let status = match o.status {
                Status::Pending => "Pending",
                Status::Shipped => "Shipped",
                Status::Delivered => "Delivered",
                Status::Cancelled => "Cancelled",
            };
            app.append_row(duckdb::params![
                *o.order_id,
                o.customer.as_str(),
                *o.amount,
                status,
                Value::Timestamp(TimeUnit::Microsecond, o.placed_at.timestamp_micros()),
                o.note.as_deref(),
            ])?;
        }
        app.flush()
    });
    r.expect("append_row");
    drop(conn);

    println!();
    for (name, t) in &ours {
        report(
            &format!("append {n} rows ({name})"),
            *t,
            "append_row",
            row_by_row,
        );
        report(
            &format!("append {n} rows ({name})"),
            *t,
            "read_parquet",
            native,
        );
        if let Some(py) = py_arrow {
            report(
                &format!("append {n} rows ({name})"),
                *t,
                "py Arrow scan",
                py,
            );
        }
    }

    // Queries: ours (typed, through the pool) vs the same SQL on a bare connection.
    let p = fresh(work.path(), "query", Ingest::ArrowScan);
    rt.block_on(p.append(rows.clone())).expect("append");
    drop(rows);
    let f = Order::fields();
    let predicate = f.status.eq(Status::Shipped).and(f.amount.gt(990.0));
    let (q_ours, got) = best_of(5, || rt.block_on(p.query(&predicate)).expect("query").len());
    let group = "SELECT status, count(*), sum(amount) FROM \"order\" GROUP BY 1";
    let (g_ours, groups) = best_of(5, || {
        rt.block_on(p.sql(group))
            .expect("sql")
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>()
    });
    let conn = raw(p);
    let (q_raw, raw_rows) = best_of(5, || {
        let mut stmt = conn
            .prepare("SELECT * FROM \"order\" WHERE status = ? AND amount > ?")
            .expect("prepare");
        stmt.query_arrow(duckdb::params!["Shipped", 990.0])
            .expect("query")
            .map(|b| b.num_rows())
            .sum::<usize>()
    });
    let (g_raw, raw_groups) = best_of(5, || {
        let mut stmt = conn.prepare(group).expect("prepare");
        stmt.query_arrow([])
            .expect("query")
            .map(|b| b.num_rows())
            .sum::<usize>()
    });
    assert_eq!(got, raw_rows, "same query, same rows");
    assert_eq!(groups, raw_groups);
    report(
        &format!("typed query ({got} rows, into OrderSoA)"),
        q_ours,
        "DuckDB Arrow",
        q_raw,
    );
    report("GROUP BY status via sql()", g_ours, "DuckDB Arrow", g_raw);
}
