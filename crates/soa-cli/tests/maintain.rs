//! `soa repair`, `compact`, `vacuum` and `restore` run as processes on datasets the library
//! wrote: a damaged dataset reported by `verify` and fixed by `repair`, time travel that returns
//! exactly the rows written after appends, deletes and a compact, `vacuum` then an old version
//! refused by name, `restore` then the old rows and the restore in the history, progress lines
//! off a terminal, `--json`, exit codes and bad input.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};
use soa_persist::prelude::*;

/// A `head --json` row as the library wrote it.
fn row_json(s: &Sale) -> Value {
    json!({
        "id": s.id,
        "region": s.region,
        "amount": s.amount,
        "note": s.note,
        "at": s.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    })
}

fn rows_json(ids: impl IntoIterator<Item = u64>) -> Vec<Value> {
    ids.into_iter()
        .flat_map(|id| sales(id..id + 1).into_iter())
        .map(|s| row_json(&s))
        .collect()
}

/// Every row of `version` (newest when `None`), sorted by id, through `soa head --json`.
fn head_rows(path: &str, version: Option<u64>) -> Vec<Value> {
    let v = version.map(|v| v.to_string());
    let mut args = vec!["head", path, "-n", "100000", "--json"];
    if let Some(v) = &v {
        args.extend(["--version", v.as_str()]);
    }
    let mut rows = json(&soa(&args)).as_array().unwrap().clone();
    rows.sort_by_key(|r| r["id"].as_u64().unwrap());
    rows
}

async fn newest(p: &ParquetPersistence<Sale>) -> u64 {
    p.history().await.unwrap().commits.last().unwrap().version
}

/// The newest commit, as `soa history --json` lists it.
fn last_commit(path: &str) -> Value {
    let history = json(&soa(&["history", path, "--json"]));
    history["commits"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone()
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn time_travel_returns_exactly_the_rows_written_after_appends_deletes_and_a_compact() {
    let dir = tempfile::tempdir().unwrap();
    let path = text(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let p = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
    let mut expected: Vec<(u64, Vec<u64>)> = Vec::new();
    rt.block_on(async {
        p.append(sales(0..4)).await.unwrap();
        expected.push((newest(&p).await, (0..4).collect()));
        p.append(sales(4..8)).await.unwrap();
        expected.push((newest(&p).await, (0..8).collect()));
        p.delete(&Sale::fields().id.lt(2u64)).await.unwrap();
        expected.push((newest(&p).await, (2..8).collect()));
        p.append(sales(8..10)).await.unwrap();
        expected.push((newest(&p).await, (2..10).collect()));
    });
    let o = soa(&["compact", path]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    prints(&o, "compacted:");
    rt.block_on(async {
        expected.push((newest(&p).await, (2..10).collect()));
        p.delete(&Sale::fields().id.eq(5u64)).await.unwrap();
        expected.push((newest(&p).await, [2, 3, 4, 6, 7, 8, 9].into()));
    });
    let versions: Vec<u64> = expected.iter().map(|(v, _)| *v).collect();
    assert_eq!(versions.len(), 6);
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    for (version, ids) in expected {
        assert_eq!(
            head_rows(path, Some(version)),
            rows_json(ids),
            "version {version}"
        );
    }
}

#[test]
fn a_deleted_data_file_and_a_deleted_log_are_found_by_verify_and_fixed_by_repair() {
    let (dir, path, _) = fixture();
    let path = path.as_str();
    let o = soa(&["repair", path]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    prints(&o, "nothing to repair");

    let files = json(&soa(&["inspect", path, "--json"]))["files"].clone();
    let victim = files[0]["path"].as_str().unwrap().to_string();
    let victim_rows = files[0]["rows"].as_u64().unwrap();
    std::fs::remove_file(dir.path().join(&victim)).unwrap();
    let o = soa(&["verify", path]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    prints(&o, &format!("PROBLEM {victim}: missing"));
    prints(&o, "soa repair");

    let report = json(&soa(&["repair", path, "--json"]));
    assert_eq!(report["repaired"], true);
    assert_eq!(report["missing_files"], json!([victim]));
    assert_eq!(report["rows_lost"], victim_rows);
    assert_eq!(report["rows"], 6 - victim_rows);
    assert_eq!(json(&soa(&["verify", path, "--json"]))["ok"], true);
    assert_eq!(head_rows(path, None).len() as u64, 6 - victim_rows);

    std::fs::remove_dir_all(dir.path().join("_soa_log")).unwrap();
    let o = soa(&["verify", path]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    prints(&o, "no commit log");
    let o = soa(&["verify", path, "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let o = soa(&["repair", path]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    prints(&o, "the log was lost: adopted");
    let o = soa(&["verify", path]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let history = json(&soa(&["history", path, "--json"]));
    assert_eq!(history["commits"][0]["operation"], "repair");
}

#[test]
fn compact_merges_each_partition_and_tells_progress_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let path = text(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let p = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
        for i in 0..5 {
            p.append(sales(i * 4..i * 4 + 4)).await.unwrap();
        }
    });
    let before = head_rows(path, None);
    let o = soa(&["compact", path]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    prints(&o, "compacted: 10 -> 2 files");
    let progress = stderr(&o);
    for expected in ["compact: 10/10 files", "20 rows", "rows/s", "/s, done in"] {
        assert!(progress.contains(expected), "{expected} not in {progress}");
    }
    assert!(!stdout(&o).contains('\x1b'), "no colour off a terminal");
    assert_eq!(head_rows(path, None), before);
    assert_eq!(before, rows_json(0..20));

    let o = soa(&["compact", path, "--json"]);
    let v = json(&o);
    assert_eq!(
        (&v["files_before"], &v["files_after"], &v["compacted"]),
        (&json!(2), &json!(2), &json!(false))
    );
    assert_eq!(stderr(&o), "", "no progress lines with --json");
    let o = soa(&["verify", path]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("verify: 2/2 files"), "{}", stderr(&o));
    let last = last_commit(path);
    assert_eq!(
        (&last["operation"], &last["rows_added"]),
        (&json!("compact"), &json!(20))
    );
}

#[test]
fn vacuum_keeps_what_retention_asks_then_an_old_version_is_refused_naming_the_vacuum() {
    let (_dir, path, first) = fixture();
    let path = path.as_str();
    let first_rows = head_rows(path, Some(first));
    assert_eq!(first_rows, rows_json(0..4));

    // The default retention (7 days) keeps these fresh files; so do kept versions.
    let v = json(&soa(&["vacuum", path, "--json"]));
    assert_eq!(
        (&v["removed_files"], &v["retention_secs"]),
        (&json!(0), &json!(604800))
    );
    let v = json(&soa(&[
        "vacuum",
        path,
        "--retention",
        "0s",
        "--keep-versions",
        "100",
        "--json",
    ]));
    assert_eq!(v["removed_files"], 0);
    assert_eq!(head_rows(path, Some(first)), first_rows);

    let o = soa(&["vacuum", path, "--retention", "0s"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    prints(&o, "vacuum removed");
    let progress = stderr(&o);
    assert!(
        progress.starts_with("vacuum: ")
            && progress.contains("files, ")
            && progress.contains("done in"),
        "{progress}"
    );
    let removed: u64 = stdout(&o)
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(removed > 0, "{}", stdout(&o));
    one_line_error(
        &soa(&["head", path, "--version", &first.to_string()]),
        "vacuum removed its file",
    );
    one_line_error(
        &soa(&["restore", path, &first.to_string()]),
        "vacuum removed its file",
    );
    assert_eq!(
        head_rows(path, None),
        rows_json(2..8),
        "the newest is intact"
    );
    assert_eq!(json(&soa(&["verify", path, "--json"]))["ok"], true);
}

#[test]
fn restore_brings_back_the_old_rows_and_history_shows_the_restore() {
    let (_dir, path, first) = fixture();
    let path = path.as_str();
    let newest = last_commit(path)["version"].as_u64().unwrap();
    let o = soa(&["restore", path, &first.to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    prints(
        &o,
        &format!("restored version {first} as version {}: 4 rows", newest + 1),
    );
    assert_eq!(head_rows(path, None), rows_json(0..4));
    let last = last_commit(path);
    assert_eq!(last["operation"], "restore");
    assert_eq!(last["restored_from"], first);
    assert_eq!(last["version"], newest + 1);
    prints(&soa(&["history", path]), &format!("restore of {first}"));

    // Back to the compacted state, by its version, as JSON.
    let v = json(&soa(&["restore", path, &newest.to_string(), "--json"]));
    assert_eq!(
        (&v["restored"], &v["version"], &v["rows"]),
        (&json!(newest), &json!(newest + 2), &json!(6))
    );
    assert_eq!(head_rows(path, None), rows_json(2..8));
}

#[test]
fn bad_input_to_maintenance_exits_2_with_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let empty = text(dir.path());
    for command in ["repair", "compact", "vacuum"] {
        one_line_error(&soa(&[command, empty]), "not a dataset");
    }
    one_line_error(&soa(&["restore", empty, "1"]), "not a dataset");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written into a folder that is not a dataset"
    );
    let missing = dir.path().join("missing");
    one_line_error(&soa(&["compact", text(&missing)]), "not a folder");

    let (_data, path, _) = fixture();
    let path = path.as_str();
    let commits = json(&soa(&["history", path, "--json"]))["commits"].clone();
    one_line_error(
        &soa(&["restore", path, "999"]),
        "can't restore version 999: version 999 does not exist",
    );
    one_line_error(&soa(&["restore", path, "abc"]), "invalid value 'abc'");
    one_line_error(
        &soa(&["vacuum", path, "--retention", "7x"]),
        "`7x` is not a duration",
    );
    one_line_error(
        &soa(&["vacuum", path, "--retention", "-1d"]),
        "can't be negative",
    );
    one_line_error(
        &soa(&["vacuum", path, "--retention", "soon"]),
        "not a duration",
    );
    one_line_error(
        &soa(&["compact", path, "--bogus"]),
        "unexpected argument '--bogus'",
    );
    assert_eq!(
        json(&soa(&["history", path, "--json"]))["commits"],
        commits,
        "no commit from refused input"
    );
}

#[test]
fn every_maintenance_command_has_help_with_an_example() {
    for command in ["repair", "compact", "vacuum", "restore"] {
        let o = soa(&[command, "--help"]);
        assert_eq!(o.status.code(), Some(0));
        prints(&o, &format!("soa {command} "));
        prints(&o, "--json");
    }
    prints(&soa(&["vacuum", "--help"]), "--retention 7d");
    prints(&soa(&["--help"]), "soa vacuum");
}
