//! The README's transcript, kept true: the main job (the quickstart example, 2,000 rows) leaves a
//! Parquet dataset that `soa inspect`, `history`, `head`, `verify`, `compact`, `repair`,
//! `vacuum` and `restore` show as the README's "## CLI" section says.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// Runs the quickstart with `ROWS=2000` and its temporary folder under `tmp`; returns the
/// dataset it leaves. Cargo builds the example first (once; it is cached afterwards).
fn run_quickstart(tmp: &Path) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let o = Command::new(cargo)
        .current_dir(workspace)
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "soa-persist",
            "--example",
            "quickstart",
        ])
        .env("ROWS", "2000")
        .env("TMPDIR", tmp)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "the quickstart failed:\n{}{}",
        stdout(&o),
        stderr(&o)
    );
    let dataset = tmp.join("soa-persist-quickstart/orders");
    assert!(dataset.join("_soa_log").is_dir(), "{}", stdout(&o));
    dataset.to_str().unwrap().to_string()
}

#[test]
fn the_quickstart_leaves_the_dataset_the_readme_transcript_shows() {
    let tmp = tempfile::tempdir().unwrap();
    let data = run_quickstart(tmp.path());
    let data = data.as_str();

    let o = soa(&["inspect", data]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for line in [
        "version  2 (1501 rows in 3 files)",
        "struct   Order, key order_id",
        "| order_id  | UInt64               | u64                |",
        "| note      | Utf8                 | Option<String>     |",
        "| status    | Utf8                 | (partition folder) | 0 B        | 0 B          |       |",
        "| status=Delivered | 1     | 500  |",
        "| status=Pending   | 1     | 501  |",
        "| status=Shipped   | 1     | 500  |",
    ] {
        prints(&o, line);
    }
    let history = json(&soa(&["history", data, "--json"]));
    let commits: Vec<(String, u64, u64)> = history["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["operation"].as_str().unwrap().to_string(),
                c["rows_added"].as_u64().unwrap(),
                c["rows_removed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        commits,
        [
            ("create".into(), 0, 0),
            ("append".into(), 2000, 0),
            ("delete".into(), 0, 499)
        ]
    );
    let o = soa(&["head", data, "-n", "2"]);
    prints(
        &o,
        "| 0        | customer-00000 | 0.0    | 2023-11-14T22:13:20Z | gift wrap #0 | Pending |",
    );
    prints(
        &o,
        "| 3        | customer-03839 | 438.39 | 2023-11-14T22:13:41Z |              | Pending |",
    );
    let o = soa(&["verify", data]);
    assert_eq!(o.status.code(), Some(0));
    prints(&o, "version 2: 3 files, 1501 rows checked\nok\n");
    one_line_error(
        &soa(&["head", data, "--version", "1"]),
        "soa: parquet: invalid input: version 1 can't be read: vacuum removed its file status=Cancelled/part-",
    );

    // The maintenance part of the transcript.
    prints(
        &soa(&["compact", data]),
        "nothing to compact: 3 files, at most one per partition of one schema",
    );
    prints(
        &soa(&["repair", data]),
        "nothing to repair\nversion 2: 1501 rows in 3 files",
    );
    let o = soa(&["vacuum", data, "--retention", "7d"]);
    prints(&o, "vacuum removed 0 files (");
    prints(
        &o,
        "kept files younger than 7days and those of versions 2..=2",
    );
    one_line_error(
        &soa(&["restore", data, "1"]),
        "can't restore version 1: version 1 can't be read: vacuum removed its file status=Cancelled/",
    );
    let o = soa(&["restore", data, "0"]);
    prints(&o, "restored version 0 as version 3: 0 rows in 0 files");
    prints(
        &soa(&["restore", data, "2"]),
        "restored version 2 as version 4: 1501 rows in 3 files",
    );
    let o = soa(&["history", data]);
    prints(&o, "| 3       |");
    prints(&o, "| restore of 0 | 0      | 1501   | 0       | 3       |");
    prints(&o, "| restore of 2 | 1501   | 0      | 3       | 0       |");
}
