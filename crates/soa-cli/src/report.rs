//! `soa history` and `soa verify`: the log's commits, and the files checked against the log;
//! and how a command line that does not parse is reported (one line, exit code 2).

use std::process::ExitCode;

use clap::error::ErrorKind;
use serde_json::{Value, json};
use soa_persist::PersistError;
use soa_persist::backends::parquet::{Commit, ParquetDataset, Progress, VerifyReport};

use crate::Outcome;
use crate::format::{Paint, print_json, table, time};
use crate::progress::Display;

/// Help and version go to stdout (exit 0); any other parse error is one line on stderr, exit 2.
pub(crate) fn usage(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(2)
        }
        _ => {
            let text = e.render().to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("can't read the command line");
            eprintln!(
                "soa: {} (see `soa --help`)",
                first.trim_start_matches("error: ")
            );
            ExitCode::from(2)
        }
    }
}

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
            operation(c),
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

/// The operation, and for a restore the version it brought back.
fn operation(c: &Commit) -> String {
    match c.restored_from {
        Some(v) => format!("{} of {v}", c.operation),
        None => c.operation.clone(),
    }
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
        "restored_from": c.restored_from,
    })
}

pub(crate) async fn verify(
    dataset: &ParquetDataset,
    pages: bool,
    as_json: bool,
) -> Result<Outcome, String> {
    let progress = Display::new("verify", as_json);
    let report = match dataset.verify_with(pages, &progress as &dyn Progress).await {
        Ok(report) => report,
        // A dataset too damaged to read (a lost log) is a problem found, for `repair` to fix.
        Err(e @ PersistError::Corrupt { .. }) => VerifyReport {
            version: 0,
            files: 0,
            rows: 0,
            problems: vec![soa_persist::backends::parquet::Problem {
                path: "_soa_log/".into(),
                detail: e.to_string(),
            }],
        },
        Err(e) => return Err(e.to_string()),
    };
    if report.files > 0 {
        progress.finish();
    }
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
            println!("{} {}: {}", "PROBLEM".bad(), p.path, p.detail);
        }
        if report.is_clean() {
            println!("{}", "ok".good());
        } else {
            println!("`soa repair` fixes a lost log and missing files (it says what it changed)");
        }
    }
    Ok(if report.is_clean() {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}
