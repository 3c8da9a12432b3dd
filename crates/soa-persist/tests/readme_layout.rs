//! The README's layout table matches the tree: every path it names exists, every file or folder
//! named in a row exists under that row's path, and every entry of a backend's folder is named
//! in its row (a new file has to be placed in the map).
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `(path, description)` of each row of the table under `## Layout`.
fn layout_rows() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let section = readme
        .split("\n## Layout\n")
        .nth(1)
        .expect("a ## Layout section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let path = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((path.to_string(), cells.get(2)?.to_string()))
        })
        .collect()
}

/// The backticked words of a description that name a file (`x.rs`) or folder (`x/`).
fn named_entries(description: &str) -> Vec<String> {
    description
        .split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|quoted| quoted.split(" / "))
        .map(str::trim)
        .filter(|w| !w.contains([' ', '<']) && (w.ends_with(".rs") || w.ends_with('/')))
        .map(str::to_string)
        .collect()
}

/// Every file and folder below `dir`, as paths relative to it.
fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("readable folder") {
        let path = entry.expect("entry").path();
        let rel = path.strip_prefix(base).expect("below base");
        let mut rel = rel.to_string_lossy().replace('\\', "/");
        if path.is_dir() {
            rel.push('/');
            out.push(rel);
            walk(&path, base, out);
        } else {
            out.push(rel);
        }
    }
}

#[test]
fn every_path_in_the_layout_table_exists() {
    let rows = layout_rows();
    assert!(rows.len() >= 8, "the layout table was not found: {rows:?}");
    for (path, description) in &rows {
        let dir = root().join(path);
        assert!(
            dir.exists(),
            "README layout names {path}, which does not exist"
        );
        if !dir.is_dir() {
            continue;
        }
        let mut tree = Vec::new();
        walk(&dir, &dir, &mut tree);
        for name in named_entries(description) {
            let found = tree
                .iter()
                .any(|p| p == &name || p.ends_with(&format!("/{name}")));
            assert!(
                found,
                "README layout row {path} names `{name}`, not found below it"
            );
        }
    }
}

#[test]
fn every_backend_file_is_named_in_its_row() {
    let rows = layout_rows();
    let backends: Vec<_> = rows
        .iter()
        .filter(|(p, _)| p.starts_with("crates/soa-persist/src/backends/") && p.ends_with('/'))
        .collect();
    assert!(backends.len() >= 3, "backend rows: {backends:?}");
    for (path, description) in backends {
        let named = named_entries(description);
        for entry in std::fs::read_dir(root().join(path)).expect("backend folder") {
            let entry = entry.expect("entry");
            let mut name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() {
                name.push('/');
            }
            assert!(
                named.contains(&name),
                "{path}{name} is not named in the README's layout row for {path}"
            );
        }
    }
}
