//! The `soa` binary run as a process on datasets the library wrote: output, `--json` and exit
//! codes of inspect, history, head (of an older version), verify (clean and damaged), and
//! bad input (not a dataset, an unknown version, a bad flag).
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod common;

use common::*;
use serde_json::Value;
use soa_persist::prelude::*;

#[test]
fn inspect_shows_schema_types_partitions_and_sizes() {
    let (_dir, path, _) = fixture();
    let path = path.as_str();
    let o = soa(&["inspect", path]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    for expected in [
        "Sale",
        "amount",
        "Float64",
        "f64",
        "Option<String>",
        "region=north",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    let v = json(&soa(&["inspect", path, "--json"]));
    assert_eq!(v["rows"], 6);
    assert_eq!(v["struct"], "Sale");
    let columns = v["columns"].as_array().unwrap();
    let note = columns.iter().find(|c| c["name"] == "note").unwrap();
    assert_eq!(note["rust_type"], "Option<String>");
    assert_eq!(note["nulls"], 4); // ids 2..8 without a multiple of 3: 2, 4, 5, 7
    let amount = columns.iter().find(|c| c["name"] == "amount").unwrap();
    assert!(amount["compressed_bytes"].as_u64().unwrap() > 0);
    let partitions = v["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 2);
    assert_eq!(
        partitions
            .iter()
            .map(|p| p["rows"].as_u64().unwrap())
            .sum::<u64>(),
        6
    );
}

#[test]
fn history_lists_appends_the_delete_and_the_compact() {
    let (_dir, path, _) = fixture();
    let path = path.as_str();
    let o = soa(&["history", path]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    prints(&o, "compact");
    let v = json(&soa(&["history", path, "--json"]));
    assert_eq!(v["complete"], true);
    let ops: Vec<&str> = v["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        &ops[ops.len() - 4..],
        ["append", "append", "delete", "compact"]
    );
}

#[test]
fn head_of_an_older_version_returns_exactly_its_rows() {
    let (_dir, path, first) = fixture();
    let (path, first) = (path.as_str(), first.to_string());
    let v = json(&soa(&["head", path, "--version", &first, "--json"]));
    let ids = sorted_ids(&v);
    assert_eq!(ids, [0, 1, 2, 3]);
    let now = json(&soa(&["head", path, "-n", "3", "--json"]));
    assert_eq!(now.as_array().unwrap().len(), 3);
    let o = soa(&["head", path, "--version", &first]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    prints(&o, "| id");
    prints(&o, "2023-11-14T22:13:20Z");
}

#[test]
fn verify_is_clean_then_exits_1_naming_a_truncated_file() {
    let (dir, path, _) = fixture();
    let path = path.as_str();
    for args in [&["verify", path][..], &["verify", path, "--pages"]] {
        let o = soa(args);
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    }
    let files = json(&soa(&["inspect", path, "--json"]))["files"].clone();
    let victim = files[0]["path"].as_str().unwrap().to_string();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join(&victim))
        .unwrap();
    f.set_len(20).unwrap();
    let o = soa(&["verify", path]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    prints(&o, &victim);
    let o = soa(&["verify", path, "--pages", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["problems"][0]["path"], victim.as_str());
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().to_str().unwrap();
    one_line_error(&soa(&["inspect", empty]), "not a dataset");
    let missing = dir.path().join("missing");
    one_line_error(
        &soa(&["history", missing.to_str().unwrap()]),
        "not a folder",
    );
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    write_dataset(&data);
    one_line_error(
        &soa(&["head", data.to_str().unwrap(), "--version", "999"]),
        "version 999 does not exist",
    );
    let url = format!("file://{}", data.display());
    assert_eq!(json(&soa(&["verify", &url, "--json"]))["ok"], true);
    one_line_error(&soa(&["inspect", "memory://"]), "not a dataset");
    one_line_error(&soa(&["inspect", "nope://x/y"]), "can't open nope://x/y");
    let o = soa(&["head", data.to_str().unwrap(), "--bogus"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn every_command_has_help_with_an_example() {
    for command in ["inspect", "history", "head", "verify"] {
        let o = soa(&[command, "--help"]);
        assert_eq!(o.status.code(), Some(0));
        prints(&o, &format!("soa {command} "));
        if command == "head" {
            prints(&o, "--where 'amount > 100");
        }
    }
}

#[test]
fn head_where_filters_rows_and_points_at_a_bad_token() {
    let (_dir, path, _) = fixture();
    let path = path.as_str();
    let filter = r#"amount > 5 and (region = "north" or note is not null)"#;
    let v = json(&soa(&["head", path, "--where", filter, "--json"]));
    let ids = sorted_ids(&v);
    // Live ids 2..8; amount = 1.5 * id > 5 keeps 4..8; north is even, a note every third.
    assert_eq!(ids, [4, 6]);
    let limited = json(&soa(&[
        "head", path, "-n", "1", "--where", "id >= 2", "--json",
    ]));
    assert_eq!(limited.as_array().unwrap().len(), 1);
    one_line_error(
        &soa(&["head", path, "--where", "amount > > 3"]),
        "position 10, found `>`",
    );
    one_line_error(
        &soa(&["head", path, "--where", "amont > 3"]),
        "no column `amont`",
    );
    one_line_error(
        &soa(&["head", path, "--where", "amount > abc"]),
        "`abc` is not a Float64",
    );
}

#[test]
fn head_as_of_a_time_reads_the_version_current_then() {
    let (_dir, path, first) = fixture();
    let path = path.as_str();
    let history = json(&soa(&["history", path, "--json"]));
    let commits = history["commits"].as_array().unwrap();
    let ms = commits.iter().find(|c| c["version"] == first).unwrap()["timestamp_ms"]
        .as_i64()
        .unwrap();
    // Commits may share a millisecond: the newest at that time is the one read.
    let expected = commits
        .iter()
        .filter(|c| c["timestamp_ms"].as_i64().unwrap() <= ms)
        .map(|c| c["version"].as_u64().unwrap())
        .max()
        .unwrap()
        .to_string();
    let time = DateTime::from_timestamp_millis(ms).unwrap().to_rfc3339();
    let rows = json(&soa(&["head", path, "--as-of", &time, "--json"]));
    assert_eq!(
        rows,
        json(&soa(&["head", path, "--version", &expected, "--json"]))
    );
    one_line_error(
        &soa(&["head", path, "--as-of", "2000-01-01T00:00:00Z"]),
        "no version that early",
    );
    one_line_error(&soa(&["head", path, "--as-of", "yesterday"]), "RFC 3339");
}

#[test]
fn history_after_vacuum_retired_records_says_where_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let p = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
        for i in 0..101 {
            p.append(sales(i..i + 1)).await.unwrap();
        }
        p.vacuum(std::time::Duration::ZERO, 0).await.unwrap();
    });
    let path = dir.path().to_str().unwrap();
    let o = soa(&["history", path]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    prints(&o, "versions before 100");
    let v = json(&soa(&["history", path, "--json"]));
    assert_eq!(
        (v["complete"].clone(), v["first_version"].clone()),
        (false.into(), 100.into())
    );
    one_line_error(&soa(&["head", path, "--version", "5"]), "vacuum");
}
