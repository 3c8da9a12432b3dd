//! The interoperability matrix, docs/interop.md: soa-persist, pyarrow, pandas, Polars, DuckDB,
//! Spark, chdb and DataFusion each write every type and each reads every writer's files, row
//! for row; a dataset after delete, save and compact is read before and after vacuum. The
//! Python side is tests/interop/ (run in the virtualenv of `scripts/setup.sh`); this file plays
//! soa-persist as writer and reader, and fails on a failing cell or a stale docs/interop.md
//! (`SOA_INTEROP_BLESS=1` rewrites it; `SOA_INTEROP_DIR=<dir>` keeps the files and the JSON
//! of every cell there).
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod common;
#[allow(dead_code)] // only `venv()` is needed here
mod tools;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Inner, Status};
use soa_persist::ParquetOptions;
use soa_persist::prelude::*;
use soa_persist::rust_decimal::Decimal;
use soa_persist::uuid::Uuid;
use soa_persist::{Micros, Millis, Nanos, Seconds};

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Nested {
    #[soa(key)]
    id: i64,
    #[soa(nested)]
    v: Inner,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct HivePartition {
    #[soa(key)]
    id: i64,
    #[soa(partition)]
    v: Option<String>,
}

/// The dataset read after delete, save and compact.
#[derive(SoA, Clone, Debug, PartialEq)]
pub struct State {
    #[soa(key)]
    id: i64,
    v: String,
}

/// One struct per case of tests/interop/cases.py: a key, the value and its Option; and
/// `copy_case`, which loads a case's folder into its struct and saves it to another.
macro_rules! cases {
    ($($ty_name:ident = $name:literal: $(#[$attr:meta])* $ty:ty;)*) => {
        $(
            #[derive(SoA, Clone, Debug, PartialEq)]
            pub struct $ty_name {
                #[soa(key)]
                id: i64,
                $(#[$attr])*
                v: $ty,
                $(#[$attr])*
                o: Option<$ty>,
            }
        )*

        async fn copy_case(case: &str, from: &Path, to: &Path, options: ParquetOptions) -> Result<(), String> {
            match case {
                $($name => copy::<$ty_name>(from, to, options).await,)*
                "nested" => copy::<Nested>(from, to, options).await,
                "hive_partition" => copy::<HivePartition>(from, to, options).await,
                _ => Err("the derive has no such type".into()),
            }
        }
    };
}

cases! {
    Bool = "bool": bool;
    I8 = "i8": i8;
    I16 = "i16": i16;
    I32 = "i32": i32;
    I64 = "i64": i64;
    U8 = "u8": u8;
    U16 = "u16": u16;
    U32 = "u32": u32;
    U64 = "u64": u64;
    F32 = "f32": f32;
    F64 = "f64": f64;
    Text = "string": String;
    Binary = "binary": Vec<u8>;
    FixedBinary = "fixed_binary": [u8; 4];
    TsSeconds = "timestamp_s": Timestamp<Seconds>;
    TsMillis = "timestamp_ms": Timestamp<Millis>;
    TsMicros = "timestamp_us": Timestamp<Micros>;
    TsNanos = "timestamp_ns": Timestamp<Nanos>;
    TsNewYork = "timestamp_new_york": DateTime<Utc>;
    TsKolkata = "timestamp_kolkata_ms": #[soa(timestamp = "ms")] DateTime<Utc>;
    TsNaive = "timestamp_naive": NaiveDateTime;
    Date = "date": NaiveDate;
    Decimal9 = "decimal_9_2": #[soa(decimal(9, 2))] Decimal;
    Decimal18 = "decimal_18_4": #[soa(decimal(18, 4))] Decimal;
    Decimal38 = "decimal_38_10": #[soa(decimal(38, 10))] Decimal;
    Decimal38Whole = "decimal_38_0": #[soa(decimal(38, 0))] Decimal;
    Uuids = "uuid": Uuid;
    Dictionary = "dictionary": Status;
    List = "list": Vec<i32>;
    ListOfOption = "list_of_option": Vec<Option<f64>>;
    ListOfString = "list_of_string": Vec<String>;
    ListOfList = "list_of_list": Vec<Vec<i64>>;
}

async fn copy<T: SoA>(from: &Path, to: &Path, options: ParquetOptions) -> Result<(), String> {
    let rows = ParquetPersistence::<T>::open(from)
        .map_err(|e| e.to_string())?
        .load()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no rows")?;
    ParquetPersistence::<T>::open(to)
        .map_err(|e| e.to_string())?
        .with_options(options)
        .save(rows)
        .await
        .map_err(|e| e.to_string())
}

/// Our two writers: the default profile and the one for Spark/Hive readers.
fn our_writers() -> [(&'static str, ParquetOptions); 2] {
    [
        ("soa-persist", ParquetOptions::default()),
        (
            "soa-persist (spark_compatible)",
            ParquetOptions {
                spark_compatible: true,
                ..ParquetOptions::default()
            },
        ),
    ]
}

fn subdirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn write_json(path: &Path, value: serde_json::Value) {
    std::fs::write(path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
}

/// soa-persist as writer: every case's rows (loaded from the driver's reference file, whose
/// loading is itself the `pyarrow -> soa-persist` cell) saved with each of our profiles.
async fn write_ours(root: &Path) {
    let mut outcome: BTreeMap<&str, BTreeMap<String, Option<String>>> = BTreeMap::new();
    for case in subdirs(&root.join("ref")) {
        for (writer, options) in our_writers() {
            let to = root.join("w").join(writer).join(&case);
            let result = copy_case(&case, &root.join("ref").join(&case), &to, options).await;
            outcome
                .entry(writer)
                .or_default()
                .insert(case.clone(), result.err());
        }
    }
    write_json(&root.join("rust-writes.json"), serde_json::json!(outcome));
}

/// soa-persist as reader: every writer's files loaded into the case's struct, then saved to
/// `r/<writer>/<case>` for the driver to compare (a failed load is the cell's note).
async fn read_all(root: &Path) {
    let mut outcome: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for writer in subdirs(&root.join("w")) {
        for case in subdirs(&root.join("w").join(&writer)) {
            // A copy: loading adopts the folder, and the other readers must see it untouched.
            let from = root.join("rust-in").join(&writer).join(&case);
            copy_dir(&root.join("w").join(&writer).join(&case), &from);
            let to = root.join("r").join(&writer).join(&case);
            if let Err(e) = copy_case(&case, &from, &to, ParquetOptions::default()).await {
                outcome.entry(writer.clone()).or_default().insert(case, e);
            }
        }
    }
    write_json(&root.join("rust-reads.json"), serde_json::json!(outcome));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn state_rows(ids: impl Iterator<Item = i64>) -> StateSoA {
    ids.map(|id| State {
        id,
        v: format!("row {id}"),
    })
    .collect()
}

/// A dataset after two appends, a delete, a save and a compact, each state copied to
/// `states/<state>` and, vacuumed, to `states/<state>, vacuumed`; the live ids of each in
/// `states/expected.json`.
async fn write_states(root: &Path) {
    let states = root.join("states");
    let base = root.join("state-dataset");
    let p = ParquetPersistence::<State>::open(&base).unwrap();
    let mut expected: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut snapshot = async |name: &str, live: Vec<i64>| {
        copy_dir(&base, &states.join(name));
        let vacuumed = format!("{name}, vacuumed");
        copy_dir(&base, &states.join(&vacuumed));
        ParquetPersistence::<State>::open(states.join(&vacuumed))
            .unwrap()
            .vacuum(Duration::ZERO, 0)
            .await
            .unwrap();
        expected.insert(name.to_string(), live.clone());
        expected.insert(vacuumed, live);
    };
    p.append(state_rows(0..10)).await.unwrap();
    p.append(state_rows(10..20)).await.unwrap();
    snapshot("1 two appends", (0..20).collect()).await;
    p.delete(&State::fields().id.is_in([3i64, 13]))
        .await
        .unwrap();
    let live: Vec<i64> = (0..20).filter(|i| *i != 3 && *i != 13).collect();
    snapshot("2 delete", live).await;
    p.save(state_rows(100..110)).await.unwrap();
    snapshot("3 save", (100..110).collect()).await;
    p.append(state_rows(110..120)).await.unwrap();
    p.compact().await.unwrap();
    snapshot("4 append, compact", (100..120).collect()).await;
    write_json(&states.join("expected.json"), serde_json::json!(expected));
}

fn driver(python: &Path, root: &Path, args: &[&str]) -> Command {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/interop.py");
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .arg(args[0])
        .arg(root)
        .args(&args[1..])
        .env("TZ", "UTC")
        .env("PYTHONHASHSEED", "0")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

fn wait(step: &str, child: Child) {
    let out = child.wait_with_output().expect("wait for python");
    assert!(
        out.status.success(),
        "interop.py {step} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run(python: &Path, root: &Path, args: &[&str]) {
    wait(
        args[0],
        driver(python, root, args).spawn().expect("run python"),
    );
}

fn doc_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/interop.md")
}

#[tokio::test]
#[ignore = "needs the Python tools of scripts/setup.sh: cargo test --release -p soa-persist --test parquet_interop -- --include-ignored"]
async fn every_engine_reads_every_type_row_for_row() {
    let python = tools::venv().join("bin/python");
    assert!(
        python.exists(),
        "no {}: run scripts/setup.sh (the interop matrix needs its Python tools)",
        python.display()
    );
    let dir = tempfile::tempdir().unwrap();
    // SOA_INTEROP_DIR: keep the files and the driver's JSON there, to look into a cell.
    let kept = std::env::var_os("SOA_INTEROP_DIR").map(PathBuf::from);
    if let Some(kept) = &kept {
        let _ = std::fs::remove_dir_all(kept);
        std::fs::create_dir_all(kept).unwrap();
    }
    let root = kept.as_deref().unwrap_or(dir.path());

    run(&python, root, &["write"]);
    write_ours(root).await;
    read_all(root).await;
    write_states(root).await;

    // Spark in one process (its JVM is a core's worth), every other reader in another.
    let others = [
        "soa-persist",
        "pyarrow",
        "pandas",
        "polars",
        "duckdb",
        "chdb",
        "datafusion",
    ];
    let spark = driver(&python, root, &["read", "spark"])
        .spawn()
        .expect("run python");
    let mut args = vec!["read"];
    args.extend(others);
    run(&python, root, &args);
    wait("read spark", spark);
    run(&python, root, &["report"]);

    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("results.json")).unwrap()).unwrap();
    let cells = results["cells"].as_array().unwrap();
    let count = |status: &str| cells.iter().filter(|c| c["status"] == status).count();
    let failing: Vec<String> = cells
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| {
            format!(
                "{} -> {}, {}: {}",
                c["writer"].as_str().unwrap(),
                c["reader"].as_str().unwrap(),
                c["type"].as_str().unwrap(),
                c["note"].as_str().unwrap()
            )
        })
        .collect();
    eprintln!(
        "interop: {} cells, {} equal, {} documented, {} failing",
        cells.len(),
        count("equal"),
        count("documented"),
        count("fail")
    );
    let rendered = std::fs::read_to_string(root.join("interop.md")).unwrap();
    if std::env::var_os("SOA_INTEROP_BLESS").is_some() {
        std::fs::write(doc_path(), &rendered).unwrap();
    }
    assert!(
        failing.is_empty(),
        "{} failing cells (each needs a fix or a documented reason in tests/interop/cases.py):\n{}",
        failing.len(),
        failing.join("\n")
    );
    let checked_in = std::fs::read_to_string(doc_path()).unwrap_or_default();
    assert!(
        checked_in == rendered,
        "docs/interop.md differs from this run's matrix; rerun with SOA_INTEROP_BLESS=1 and \
         review the difference"
    );
}
