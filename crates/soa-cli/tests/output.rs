//! What every `soa` command promises about its output: `--json` that parses, with nothing on
//! stderr; no colour when stdout is not a terminal; a reader that stops early (`| head -1`)
//! ends the process quietly, never with a panic.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::*;
use soa_persist::prelude::*;

#[test]
fn every_command_that_reports_takes_json_and_says_nothing_else() {
    let (_dir, path, first) = fixture();
    let (path, first) = (path.as_str(), first.to_string());
    let commands: [&[&str]; 9] = [
        &["inspect", path],
        &["history", path],
        &["head", path, "-n", "2"],
        &["verify", path],
        &["verify", path, "--pages"],
        &["repair", path],
        &["compact", path],
        &["vacuum", path, "--retention", "1h"],
        &["restore", path, &first],
    ];
    for args in commands {
        let mut args = args.to_vec();
        args.push("--json");
        let o = soa(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let v = json(&o);
        assert!(v.is_object() || v.is_array(), "{args:?}: {v}");
        assert_eq!(stderr(&o), "", "{args:?}");
        assert!(!stdout(&o).contains('\x1b'), "{args:?}: no colour codes");
    }
}

#[test]
fn plain_output_has_no_colour_off_a_terminal() {
    let (_dir, path, _) = fixture();
    for command in ["verify", "repair", "compact", "history"] {
        let o = soa(&[command, path.as_str()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(!stdout(&o).contains('\x1b'), "{command}: {}", stdout(&o));
    }
}

#[test]
fn a_reader_that_stops_early_ends_head_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let p = ParquetPersistence::<Sale>::open(dir.path()).unwrap();
        p.append(sales(0..5000)).await.unwrap();
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_soa"))
        .args(["head", dir.path().to_str().unwrap(), "-n", "5000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The pipe's reader is gone; the rest of the table (far more than a pipe buffers) can't go.
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err, "", "ends without a message");
    assert_ne!(o.status.code(), Some(0), "the output did not all go out");
}

/// `soa` run on a pseudo-terminal (`script`, from util-linux), both output streams together.
fn on_a_terminal(args: &str, no_color: bool) -> String {
    let mut command = Command::new("script");
    command.args([
        "-qec",
        &format!("{} {args}", env!("CARGO_BIN_EXE_soa")),
        "/dev/null",
    ]);
    if no_color {
        command.env("NO_COLOR", "1");
    } else {
        command.env_remove("NO_COLOR");
    }
    let o = command
        .output()
        .expect("`script` (util-linux) runs soa on a terminal");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn on_a_terminal_long_work_shows_a_bar_and_results_have_colour() {
    let (_dir, path, _) = fixture();
    let out = on_a_terminal(&format!("verify {path}"), false);
    assert!(out.contains("verify ["), "a bar: {out:?}");
    assert!(out.contains(" files"), "{out:?}");
    assert!(out.contains("\x1b[32mok"), "green ok: {out:?}");
    let out = on_a_terminal(&format!("verify {path}"), true);
    assert!(
        out.contains("ok") && !out.contains("\x1b[32m"),
        "NO_COLOR: {out:?}"
    );
    let out = on_a_terminal(&format!("compact {path}"), false);
    assert!(out.contains("compact ["), "a bar: {out:?}");
    assert!(
        !out.contains("done in"),
        "no plain lines on a terminal: {out:?}"
    );
}
