//! `soa history` and `soa verify`: the log's commits, and the files checked against the log.

use serde_json::{Value, json};
use soa_persist::backends::parquet::{Commit, ParquetDataset};

use crate::Outcome;
use crate::format::{print_json, table, time};

pub(crate) async fn history(dataset: &ParquetDataset, as_json: bool) -> Result<Outcome, String> {
    let history = dataset.history().await.map_err(|e| e.to_string())?;
    if as_json {
        let commits: Vec<Value> = history.commits.iter().map(commit_json).collect();
        print_json(&json!({
            "first_version": history.first_version,
            "complete": history.is_complete(),
            "commits": commits,
        }));
        return Ok(Outcome::Ok);
    }
    let mut t = table([
        "version",
        "time (UTC)",
        "operation",
        "rows +",
        "rows -",
        "files +",
        "files -",
        "write id",
    ]);
    for c in &history.commits {
        t.add_row([
            c.version.to_string(),
            time(c.timestamp_ms),
            c.operation.clone(),
            c.rows_added.to_string(),
            c.rows_removed.map_or("?".into(), |r| r.to_string()),
            c.files_added.to_string(),
            c.files_removed.to_string(),
            c.write_id.clone().unwrap_or_default(),
        ]);
    }
    println!("{t}");
    if !history.is_complete() {
        println!(
            "(versions before {} were folded into a checkpoint and their records retired by vacuum)",
            history.first_version
        );
    }
    Ok(Outcome::Ok)
}

fn commit_json(c: &Commit) -> Value {
    json!({
        "version": c.version,
        "timestamp_ms": c.timestamp_ms,
        "time": time(c.timestamp_ms),
        "operation": c.operation,
        "rows_added": c.rows_added,
        "rows_removed": c.rows_removed,
        "files_added": c.files_added,
        "files_removed": c.files_removed,
        "write_id": c.write_id,
    })
}

pub(crate) async fn verify(
    dataset: &ParquetDataset,
    pages: bool,
    as_json: bool,
) -> Result<Outcome, String> {
    let report = if pages {
        dataset.verify_pages().await
    } else {
        dataset.verify().await
    }
    .map_err(|e| e.to_string())?;
    if as_json {
        let problems: Vec<Value> = report
            .problems
            .iter()
            .map(|p| json!({"path": p.path, "problem": p.detail}))
            .collect();
        print_json(&json!({
            "version": report.version,
            "files": report.files,
            "rows": report.rows,
            "ok": report.is_clean(),
            "problems": problems,
        }));
    } else {
        println!(
            "version {}: {} files, {} rows checked",
            report.version, report.files, report.rows
        );
        for p in &report.problems {
            println!("PROBLEM {}: {}", p.path, p.detail);
        }
        if report.is_clean() {
            println!("ok");
        }
    }
    Ok(if report.is_clean() {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}
