//! Hostile partition values: each value of a `#[soa(partition)] String` column either round
//! trips (our `load` and DuckDB's hive-partitioned read both give back exactly what was
//! written) or is refused with a typed, non-retryable error and nothing written to the folder.
//! A hive folder whose value does not parse as its column's type is an error naming the value.
//! DuckDB runs in the virtualenv of `scripts/setup.sh`, like tests/parquet_interop.rs.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod tools;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Tagged {
    id: u32,
    #[soa(partition)]
    tag: String,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Yearly {
    id: i32,
    #[soa(partition)]
    year: i32,
}

fn python() -> Option<PathBuf> {
    tools::venv_bin("python", "the DuckDB checks")
}

/// Runs `script` (Python, with the dataset folder as `sys.argv[1]`) and returns its stdout.
fn run_python(python: &Path, script: &str, dir: &Path) -> Result<String, String> {
    let out = Command::new(python)
        .args(["-c", script])
        .arg(dir)
        .output()
        .expect("run python");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// (id, tag) of every row DuckDB reads from the folder with hive partitioning.
const DUCKDB_READ: &str = r#"
import duckdb, json, sys
root = sys.argv[1].replace("'", "''")
rows = duckdb.sql(
    f"select id, tag from read_parquet('{root}/**/*.parquet', hive_partitioning = true, "
    "hive_types = {'tag': 'VARCHAR'}) order by id"
).fetchall()
print(json.dumps(rows))
"#;

/// Every file and folder under `dir` (relative paths), recursively.
fn listing(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            out.insert(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

fn rows(pairs: &[(u32, &str)]) -> TaggedSoA {
    pairs
        .iter()
        .map(|&(id, tag)| Tagged {
            id,
            tag: tag.to_string(),
        })
        .collect()
}

/// Writes `values` (with a plain row in another partition) after a first plain commit, and
/// checks the outcome; `Err` describes what went wrong.
async fn check_values(
    python: Option<&Path>,
    dir: &Path,
    values: &[&str],
) -> Result<String, String> {
    let p = ParquetPersistence::<Tagged>::open(dir).map_err(|e| format!("open: {e}"))?;
    p.append(rows(&[(0, "plain")]))
        .await
        .map_err(|e| format!("first plain append failed: {e}"))?;
    let before = listing(dir);
    let mut written = vec![(0u32, "plain")];
    written.extend(values.iter().enumerate().map(|(i, v)| (i as u32 + 1, *v)));
    written.push((values.len() as u32 + 1, "other"));
    if let Err(e) = p.append(rows(&written[1..])).await {
        let after = listing(dir);
        let new: Vec<&String> = after.difference(&before).collect();
        if !new.is_empty() {
            return Err(format!("refused ({e}) but left {new:?}"));
        }
        if e.is_retryable() || matches!(e, PersistError::Io { .. }) {
            return Err(format!("refused with an unclear error: {e:?}"));
        }
        // The error names the value (checked where it prints as itself).
        for v in values {
            let prefix: String = v.chars().take(8).collect();
            let plain = !prefix.is_empty() && prefix.chars().all(char::is_alphanumeric);
            if plain && !e.to_string().contains(&prefix) {
                return Err(format!("refused without naming the value: {e}"));
            }
        }
        return Ok(format!("refused: {e}"));
    }
    let mut back = p
        .load()
        .await
        .map_err(|e| format!("load failed: {e}"))?
        .unwrap_or_default();
    back.sort_by_key(|r| *r.id);
    let want = rows(&written);
    if back != want {
        return Err(format!("load gave {:?}, wrote {:?}", back.tag, want.tag));
    }
    for (i, v) in values.iter().enumerate() {
        let hits = p
            .query(&Tagged::fields().tag.eq(*v))
            .await
            .map_err(|e| format!("query {v:?} failed: {e}"))?;
        if !hits.id.contains(&(i as u32 + 1)) {
            return Err(format!("query tag = {v:?} gave ids {:?}", hits.id));
        }
    }
    let Some(python) = python else {
        return Ok("round trip (DuckDB not checked)".into());
    };
    let out = run_python(python, DUCKDB_READ, dir).map_err(|e| format!("DuckDB failed: {e}"))?;
    let seen: Vec<(u32, Option<String>)> =
        serde_json::from_str(out.trim()).map_err(|e| format!("DuckDB output {out:?}: {e}"))?;
    let want: Vec<(u32, Option<String>)> = written
        .iter()
        .map(|&(id, tag)| (id, Some(tag.to_string())))
        .collect();
    if seen != want {
        return Err(format!("DuckDB read {seen:?}"));
    }
    Ok("round trip, DuckDB reads the same".into())
}

#[tokio::test]
async fn hostile_partition_values_round_trip_or_are_refused_with_nothing_written() {
    let python = python();
    let tmp = tempfile::tempdir().expect("tempdir");
    let long_ascii = "x".repeat(300);
    let cjk = "中".repeat(100);
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("300 ASCII bytes", vec![long_ascii.as_str()]),
        ("100 CJK characters", vec![cjk.as_str()]),
        ("Hive's null name", vec!["__HIVE_DEFAULT_PARTITION__"]),
        ("empty", vec![""]),
        ("dot", vec!["."]),
        ("dot dot", vec![".."]),
        ("escaped slash", vec!["%2F"]),
        ("backslash", vec!["a\\b"]),
        ("NUL", vec!["\0"]),
        ("A and a", vec!["A", "a"]),
    ];
    let mut failures = Vec::new();
    for (i, (name, values)) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("ds{i}"));
        match check_values(python.as_deref(), &dir, values).await {
            Ok(outcome) => eprintln!("{name}: {outcome}"),
            Err(e) => {
                eprintln!("{name}: FAILED: {e}");
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_folder_value_that_is_not_of_the_column_type_is_an_error_naming_it() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("foreign");
    // Another tool's hive folders: `year=2024` and, added by hand, `year=abc`.
    let script = r#"
import duckdb, os, sys
root = sys.argv[1]
for year, id in [("2024", 1), ("abc", 2)]:
    os.makedirs(f"{root}/year={year}", exist_ok=True)
    duckdb.sql(f"copy (select {id}::integer as id) to '{root}/year={year}/data.parquet' (format parquet)")
"#;
    run_python(&python, script, &dir).expect("write the foreign folder");
    let p = ParquetPersistence::<Yearly>::open(&dir).expect("open");
    match p.load().await {
        Err(e) => assert!(
            e.to_string().contains("abc") && !e.is_retryable(),
            "the error does not name the value `abc`: {e}"
        ),
        Ok(rows) => panic!(
            "year=abc loaded: {:?}",
            rows.map(|r| (r.id, r.year)).unwrap_or_default()
        ),
    }
    match p.count(&Yearly::fields().year.eq(2024)).await {
        Err(e) => assert!(e.to_string().contains("abc"), "{e}"),
        Ok(n) => assert_eq!(n, 1, "only the valid folder matches"),
    }
}
