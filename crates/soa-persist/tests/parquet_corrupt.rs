//! Corrupt input never panics and is never mistaken for a transient failure: bit flips and
//! truncation at every offset of a small Parquet data file, a footer length of 2^31, damaged
//! or hostile commit records, and a mutation fuzz loop over data files, commit records and the
//! Arrow -> SoA conversion. Operations run on tokio tasks; a panic anywhere (the caller's task
//! or a blocking decoder thread) is caught and counted as a finding.
//!
//! SOA_FUZZ_SECS=<n> runs each fuzz loop for n seconds (default: a fixed 200 iterations);
//! SOA_FUZZ_SEED replays a run's seed.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use soa_persist::arrow::array::{
    Array, ArrayData, ArrayRef, RecordBatch, make_array, new_null_array,
};
use soa_persist::arrow::buffer::Buffer;
use soa_persist::arrow::datatypes::{DataType, Field, Schema};
use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Rec {
    id: u64,
    name: String,
    value: f64,
    qty: Option<i32>,
}

const ROWS: u64 = 16;

fn recs(ids: std::ops::Range<u64>) -> RecSoA {
    ids.map(|id| Rec {
        id,
        name: format!("name {id}"),
        value: id as f64 * 1.5,
        qty: (id % 3 != 0).then_some(id as i32 - 7),
    })
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Panic capture: threads named `soa-op-<test>` record panics quietly for that test.

static PANICS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            match thread.name() {
                Some(name) if name.starts_with("soa-op-") => PANICS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((name.to_string(), info.to_string())),
                _ => default(info),
            }
        }));
    });
}

/// Panics recorded so far on `thread`'s operation threads.
fn panics_of(thread: &str) -> Vec<String> {
    PANICS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(t, _)| t == thread)
        .map(|(_, m)| m.clone())
        .collect()
}

/// A runtime whose worker and blocking threads are all named `thread`.
fn op_runtime(thread: &str) -> tokio::runtime::Runtime {
    install_panic_hook();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(thread)
        .enable_all()
        .build()
        .expect("runtime")
}

// ---------------------------------------------------------------------------------------------
// The operations and how their outcomes are judged.

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Load,
    CountAll,
    CountWhere,
    Scan,
    Delete,
    Compact,
    Append,
}

const READS_AND_WRITES: [Op; 6] = [
    Op::Load,
    Op::CountAll,
    Op::CountWhere,
    Op::Scan,
    Op::Delete,
    Op::Compact,
];

async fn apply(p: ParquetPersistence<Rec>, op: Op) -> Result<String, PersistError> {
    let ids = |rows: RecSoA| {
        let mut ids = rows.id;
        ids.sort_unstable();
        format!("{ids:?}")
    };
    Ok(match op {
        Op::Load => p.load().await?.map(ids).unwrap_or_default(),
        Op::CountAll => p.count(&Predicate::all()).await?.to_string(),
        Op::CountWhere => p.count(&Rec::fields().id.gt(3u64)).await?.to_string(),
        Op::Scan => {
            let batches: Vec<RecordBatch> = p.scan(Scan::all()).await?.try_collect().await?;
            batches
                .iter()
                .map(|b| b.num_rows())
                .sum::<usize>()
                .to_string()
        }
        Op::Delete => p.delete(&Rec::fields().id.lt(4u64)).await?.to_string(),
        Op::Compact => format!("{:?}", p.compact().await?),
        Op::Append => {
            p.append(recs(1000..1002)).await?;
            String::new()
        }
    })
}

/// What a series of operations on damaged data came to.
#[derive(Default)]
struct Tally {
    runs: u64,
    ok: u64,
    /// `load` succeeded with other rows than were written (a flip into a still-valid value).
    ok_different: u64,
    corrupt: u64,
    /// Convert / SchemaMismatch: a damaged footer can describe another schema.
    schema_errors: u64,
    /// Io NotFound: a damaged record can name a file that does not exist.
    missing: u64,
    /// Panics inside a decoder that came back as a non-retryable `Corrupt` error.
    contained_panics: u64,
    findings: Vec<String>,
}

impl Tally {
    fn finding(&mut self, text: String) {
        if self.findings.len() < 5000 {
            self.findings.push(text);
        }
    }

    fn report(&self, what: &str) -> String {
        let mut s = format!(
            "{what}: {} operations: {} Ok ({} with other rows than written), {} Corrupt, \
             {} Convert/SchemaMismatch, {} NotFound, {} contained decoder panics, {} findings",
            self.runs,
            self.ok,
            self.ok_different,
            self.corrupt,
            self.schema_errors,
            self.missing,
            self.contained_panics,
            self.findings.len()
        );
        // One line per distinct failure, with how often and where it was first seen.
        // (Per operation; numbers are left out of the comparison: task ids, offsets.)
        let mut groups: Vec<(&str, &str, String, usize)> = Vec::new();
        for f in &self.findings {
            let (place, what) = f.split_once(": ").unwrap_or((f, ""));
            let op = place.rsplit(' ').next().unwrap_or("");
            let key: String = op
                .chars()
                .chain(what.chars().filter(|c| !c.is_ascii_digit()))
                .collect();
            match groups.iter_mut().find(|g| g.2 == key) {
                Some(g) => g.3 += 1,
                None => groups.push((place, what, key, 1)),
            }
        }
        for (place, what, _, n) in groups.iter().take(15) {
            let _ = write!(s, "\n  {n}x {what} (first: {place})");
        }
        s
    }
}

/// How an operation on damaged data is judged. Never a panic, never a retryable error.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Judge {
    /// Damaged data: `Ok` is fine (a flip can land in unused bytes or make another valid
    /// value); an error is `Corrupt` (or, for a damaged schema, `Convert`/`SchemaMismatch`; for
    /// a damaged record, NotFound of the file it names).
    Lenient,
    /// Like `Lenient`, but `Ok` only with the answer of the undamaged dataset.
    OkMustBeRight,
    /// A bad commit record: every operation fails `Corrupt`.
    Corrupt,
}

/// What `op` answers on an undamaged dataset of rows `0..rows` (`None`: not checked).
fn answer(op: Op, rows: u64) -> Option<String> {
    match op {
        Op::Load => Some(format!("{:?}", (0..rows).collect::<Vec<_>>())),
        Op::CountAll | Op::Scan => Some(rows.to_string()),
        Op::CountWhere => Some((rows - 4).to_string()),
        Op::Delete => Some("4".into()),
        Op::Compact | Op::Append => None,
    }
}

/// Runs `op` on the dataset at `dir` (rows `0..rows` before the damage) on a task of `rt` and
/// records the outcome in `tally`, a finding when `judge` does not accept it.
#[allow(clippy::too_many_arguments)]
fn run_op(
    rt: &tokio::runtime::Runtime,
    thread: &str,
    dir: &Path,
    op: Op,
    case: &str,
    judge: Judge,
    rows: u64,
    tally: &mut Tally,
) {
    let panics_before = panics_of(thread).len();
    let p = ParquetPersistence::<Rec>::open(dir).expect("open");
    let joined = rt.block_on(async move {
        tokio::time::timeout(Duration::from_secs(60), tokio::spawn(apply(p, op))).await
    });
    tally.runs += 1;
    // A panic inside a decoder (a dependency) is acceptable only when it is contained and
    // reported as a non-retryable `Corrupt` error; one that reaches the caller never is.
    let new_panics = panics_of(thread).split_off(panics_before);
    if let Some(first) = new_panics.first() {
        let first = first.replace('\n', " ");
        match &joined {
            Ok(Ok(Err(e @ PersistError::Corrupt { .. }))) if !e.is_retryable() => {
                tally.contained_panics += 1;
            }
            Ok(Err(_)) => {
                tally.finding(format!("{case} {op:?}: panic reached the caller: {first}"))
            }
            Ok(Ok(Err(e))) => tally.finding(format!(
                "{case} {op:?}: {first}, reported as {}: {e}",
                if e.is_retryable() {
                    "retryable"
                } else {
                    "not Corrupt"
                }
            )),
            _ => tally.finding(format!("{case} {op:?}: {first}, then {joined:?}")),
        }
        return;
    }
    match joined {
        Err(_) => tally.finding(format!("{case} {op:?}: did not finish in 60 s")),
        Ok(Err(e)) => tally.finding(format!("{case} {op:?}: task failed: {e}")),
        Ok(Ok(Ok(value))) => {
            tally.ok += 1;
            let wrong = answer(op, rows).is_some_and(|a| a != value);
            if wrong {
                tally.ok_different += 1;
            }
            if judge == Judge::Corrupt || (judge == Judge::OkMustBeRight && wrong) {
                tally.finding(format!("{case} {op:?}: Ok({value:.80}) instead of Corrupt"));
            }
        }
        Ok(Ok(Err(e))) => {
            let kind = match &e {
                PersistError::Corrupt { .. } => {
                    tally.corrupt += 1;
                    "Corrupt"
                }
                PersistError::Convert(_) | PersistError::SchemaMismatch { .. } => {
                    tally.schema_errors += 1;
                    "schema"
                }
                PersistError::Io { source, .. }
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    tally.missing += 1;
                    "missing"
                }
                _ => "other",
            };
            if e.is_retryable() {
                tally.finding(format!("{case} {op:?}: retryable error: {e}"));
            } else if kind == "other" || (judge == Judge::Corrupt && kind != "Corrupt") {
                tally.finding(format!("{case} {op:?}: not a Corrupt error: {e:?}"));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Folders.

/// Copies the folder `from` to `to` (replacing it).
fn copy_tree(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Every file under `dir`, recursively, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn data_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect()
}

/// The newest commit record: the greatest `*.json` name starting with a digit in `_soa_log/`.
fn newest_record(dir: &Path) -> PathBuf {
    files_under(&dir.join("_soa_log"))
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.ends_with(".json") && name.starts_with(|c: char| c.is_ascii_digit())
        })
        .max_by_key(|p| p.file_name().map(|n| n.to_os_string()))
        .expect("a commit record")
}

/// A dataset of one data file with `ROWS` rows.
fn pristine(root: &Path) -> PathBuf {
    let dir = root.join("pristine");
    let rt = op_runtime("soa-op-setup");
    rt.block_on(async {
        let p = ParquetPersistence::<Rec>::open(&dir).expect("open");
        p.save(recs(0..ROWS)).await.expect("save");
    });
    assert_eq!(data_files(&dir).len(), 1);
    dir
}

// ---------------------------------------------------------------------------------------------
// Damaged data files.

/// Replaces the data file's bytes with `mutate(original)` in a fresh copy, runs every operation.
#[allow(clippy::too_many_arguments)]
fn damaged_round(
    rt: &tokio::runtime::Runtime,
    thread: &str,
    pristine: &Path,
    scratch: &Path,
    bytes: &[u8],
    case: &str,
    ops: &[Op],
    tally: &mut Tally,
) {
    copy_tree(pristine, scratch);
    let file = data_files(scratch).remove(0);
    std::fs::write(&file, bytes).expect("write damaged file");
    for &op in ops {
        run_op(rt, thread, scratch, op, case, Judge::Lenient, ROWS, tally);
    }
}

#[test]
fn bit_flips_and_truncation_at_every_offset_give_typed_errors_never_panics() {
    const THREAD: &str = "soa-op-flips";
    let rt = op_runtime(THREAD);
    // Thousands of rounds of copy + write: on tmpfs where there is one (fsync is free there).
    let tmp = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .expect("tempdir");
    let pristine = pristine(tmp.path());
    let original = std::fs::read(data_files(&pristine).remove(0)).expect("read");
    let scratch = tmp.path().join("scratch");
    let len = original.len();
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut rng = Rng::new(0x5eed);
    for offset in 0..len {
        let mut bytes = original.clone();
        bytes[offset] ^= 1 << (offset % 8);
        let case = format!("flip bit {} at {offset}", offset % 8);
        damaged_round(
            &rt,
            THREAD,
            &pristine,
            &scratch,
            &bytes,
            &case,
            &READS_AND_WRITES,
            &mut tally,
        );
    }
    // Several bits at once on a sample of offsets: the whole byte, and a random value.
    for offset in (0..len).step_by(7) {
        for value in [!original[offset], rng.next_u64() as u8] {
            let mut bytes = original.clone();
            bytes[offset] = value;
            let case = format!("byte {offset} set to {value:#04x}");
            damaged_round(
                &rt,
                THREAD,
                &pristine,
                &scratch,
                &bytes,
                &case,
                &READS_AND_WRITES,
                &mut tally,
            );
        }
    }
    for cut in 0..len {
        let case = format!("truncated to {cut} bytes");
        damaged_round(
            &rt,
            THREAD,
            &pristine,
            &scratch,
            &original[..cut],
            &case,
            &READS_AND_WRITES,
            &mut tally,
        );
    }
    let report = tally.report(&format!(
        "file of {len} bytes, {} s",
        started.elapsed().as_secs()
    ));
    assert!(tally.findings.is_empty(), "{report}");
    eprintln!("{report}");
}

#[test]
fn a_huge_footer_length_is_a_corrupt_error() {
    const THREAD: &str = "soa-op-footer";
    let rt = op_runtime(THREAD);
    let tmp = tempfile::tempdir().expect("tempdir");
    let pristine = pristine(tmp.path());
    let original = std::fs::read(data_files(&pristine).remove(0)).expect("read");
    let scratch = tmp.path().join("scratch");
    let len = original.len();
    let mut tally = Tally::default();
    // The footer ends with its length (4 bytes, little-endian) and "PAR1".
    for footer_len in [1u32 << 31, u32::MAX, len as u32 - 7, 0] {
        let mut bytes = original.clone();
        bytes[len - 8..len - 4].copy_from_slice(&footer_len.to_le_bytes());
        let case = format!("footer length {footer_len}");
        for &op in &READS_AND_WRITES {
            copy_tree(&pristine, &scratch);
            std::fs::write(data_files(&scratch).remove(0), &bytes).expect("write");
            let judge = Judge::OkMustBeRight;
            run_op(&rt, THREAD, &scratch, op, &case, judge, ROWS, &mut tally);
        }
    }
    let report = tally.report("footer lengths");
    assert!(tally.findings.is_empty(), "{report}");
    eprintln!("{report}");
}

// ---------------------------------------------------------------------------------------------
// Damaged and hostile commit records. The log format is not assumed beyond "the newest record
// file is JSON that names the data files".

const ALL_OPS: [Op; 7] = [
    Op::Load,
    Op::CountAll,
    Op::CountWhere,
    Op::Scan,
    Op::Delete,
    Op::Compact,
    Op::Append,
];

/// A dataset of two commits (two data files), and beside it `outside/x.parquet`: a valid data
/// file of this schema with rows 500.. that a record pointing out of the dataset would reveal.
fn log_fixture(root: &Path) -> (PathBuf, PathBuf) {
    let dir = root.join("ds");
    let outside = root.join("outside");
    op_runtime("soa-op-setup").block_on(async {
        let p = ParquetPersistence::<Rec>::open(&dir).expect("open");
        p.append(recs(0..ROWS)).await.expect("append");
        p.append(recs(ROWS..2 * ROWS)).await.expect("append");
        let o = ParquetPersistence::<Rec>::open(root.join("other")).expect("open");
        o.append(recs(500..510)).await.expect("append");
    });
    std::fs::create_dir_all(&outside).expect("mkdir");
    let foreign = data_files(&root.join("other")).remove(0);
    std::fs::copy(foreign, outside.join("x.parquet")).expect("copy");
    (dir, outside.join("x.parquet"))
}

/// Applies `damage` to a fresh copy of the fixture and checks every operation fails `Corrupt`.
fn expect_corrupt(
    thread: &str,
    fixture: &Path,
    case: &str,
    tally: &mut Tally,
    damage: &dyn Fn(&Path),
) {
    let rt = op_runtime(thread);
    let scratch = fixture.with_file_name("scratch");
    for &op in &ALL_OPS {
        copy_tree(fixture, &scratch);
        damage(&scratch);
        run_op(
            &rt,
            thread,
            &scratch,
            op,
            case,
            Judge::Corrupt,
            2 * ROWS,
            tally,
        );
    }
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read record")).expect("record is JSON")
}

/// Replaces every string value for which `f` gives a replacement; returns how many.
fn map_strings(v: &mut serde_json::Value, f: &dyn Fn(&str) -> Option<String>) -> usize {
    match v {
        serde_json::Value::String(s) => match f(s) {
            Some(new) => {
                *s = new;
                1
            }
            None => 0,
        },
        serde_json::Value::Array(items) => items.iter_mut().map(|i| map_strings(i, f)).sum(),
        serde_json::Value::Object(map) => map.values_mut().map(|i| map_strings(i, f)).sum(),
        _ => 0,
    }
}

/// Sets every number under a key named `key` to `value`; returns how many.
fn set_numbers(v: &mut serde_json::Value, key: &str, value: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(items) => {
            items.iter_mut().map(|i| set_numbers(i, key, value)).sum()
        }
        serde_json::Value::Object(map) => map
            .iter_mut()
            .map(|(k, v)| {
                if k == key && v.is_number() {
                    *v = value.clone();
                    1
                } else {
                    set_numbers(v, key, value)
                }
            })
            .sum(),
        _ => 0,
    }
}

#[test]
fn damaged_commit_records_are_corrupt_errors() {
    const THREAD: &str = "soa-op-records";
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fixture, _) = log_fixture(tmp.path());
    let mut tally = Tally::default();
    expect_corrupt(THREAD, &fixture, "truncated record", &mut tally, &|dir| {
        let path = newest_record(dir);
        let bytes = std::fs::read(&path).expect("read");
        std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
    });
    expect_corrupt(
        THREAD,
        &fixture,
        "record of another version",
        &mut tally,
        &|dir| {
            // The newest record again under the next version's name: its content is not that
            // version's (a version inside disagrees, or its changes would apply twice).
            let path = newest_record(dir);
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
            let next = format!(
                "{:0width$}{}",
                digits.parse::<u64>().expect("version") + 1,
                &name[digits.len()..],
                width = digits.len()
            );
            std::fs::copy(&path, path.with_file_name(next)).expect("copy");
        },
    );
    let record = read_json(&newest_record(&fixture));
    let has = |key: &str| set_numbers(&mut record.clone(), key, &serde_json::json!(0)) > 0;
    if has("version") {
        expect_corrupt(
            THREAD,
            &fixture,
            "version inside changed",
            &mut tally,
            &|dir| {
                let path = newest_record(dir);
                let mut json = read_json(&path);
                set_numbers(&mut json, "version", &serde_json::json!(7));
                std::fs::write(&path, serde_json::to_vec(&json).unwrap()).expect("write");
            },
        );
    } else {
        eprintln!("the newest record has no `version` key: that case is skipped");
    }
    if has("rows") {
        for rows in [
            serde_json::json!(-1),
            serde_json::json!(u64::MAX),
            serde_json::json!(u64::MAX / 2 + 1),
            serde_json::json!(1e30),
        ] {
            let case = format!("row count {rows}");
            expect_corrupt(THREAD, &fixture, &case, &mut tally, &|dir| {
                let path = newest_record(dir);
                let mut json = read_json(&path);
                set_numbers(&mut json, "rows", &rows);
                std::fs::write(&path, serde_json::to_vec(&json).unwrap()).expect("write");
            });
        }
    } else {
        eprintln!("the newest record has no `rows` key: the row-count cases are skipped");
    }
    let report = tally.report("damaged commit records");
    assert!(tally.findings.is_empty(), "{report}");
    eprintln!("{report}");
}

#[test]
fn commit_records_naming_files_outside_the_dataset_are_corrupt_errors() {
    const THREAD: &str = "soa-op-paths";
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fixture, outside) = log_fixture(tmp.path());
    let mut tally = Tally::default();
    let hostile = [
        "/etc/passwd".to_string(),
        outside.display().to_string(),
        "../outside/x.parquet".to_string(),
        "../../x.parquet".to_string(),
        "_soa_log/../../outside/x.parquet".to_string(),
    ];
    for path in &hostile {
        let case = format!("record naming {path}");
        let mut json = read_json(&newest_record(&fixture));
        let replaced = map_strings(&mut json, &|s| {
            s.ends_with(".parquet").then(|| path.clone())
        });
        assert!(replaced > 0, "the newest record names no .parquet file");
        expect_corrupt(THREAD, &fixture, &case, &mut tally, &|dir| {
            std::fs::write(newest_record(dir), serde_json::to_vec(&json).unwrap()).expect("write");
        });
    }
    let report = tally.report("records naming outside paths");
    assert!(tally.findings.is_empty(), "{report}");
    eprintln!("{report}");
}

/// Only `<20 digits>.json` is a record: a `5.json`, `+5.json` or 29-digit name beside the log is
/// never taken for a version (readers probe exact names; they don't parse whatever is listed).
#[test]
fn non_canonical_record_names_are_never_taken_for_versions() {
    const THREAD: &str = "soa-op-names";
    let rt = op_runtime(THREAD);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fixture, _) = log_fixture(tmp.path());
    let scratch = fixture.with_file_name("scratch");
    let mut tally = Tally::default();
    for name in ["5.json", "+5.json", "00000000000000000000000000001.json"] {
        let case = format!("record named {name}");
        for &op in &READS_AND_WRITES {
            copy_tree(&fixture, &scratch);
            let newest = newest_record(&scratch);
            let mut json = read_json(&newest);
            map_strings(&mut json, &|s| {
                s.ends_with(".parquet").then(|| "../x.parquet".into())
            });
            std::fs::write(
                newest.with_file_name(name),
                serde_json::to_vec(&json).unwrap(),
            )
            .expect("write");
            run_op(
                &rt,
                THREAD,
                &scratch,
                op,
                &case,
                Judge::OkMustBeRight,
                2 * ROWS,
                &mut tally,
            );
        }
    }
    let report = tally.report("non-canonical record names");
    assert!(tally.findings.is_empty(), "{report}");
    eprintln!("{report}");
}

#[test]
fn adoption_does_not_follow_symlinks_out_of_the_folder() {
    const THREAD: &str = "soa-op-symlink";
    let rt = op_runtime(THREAD);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_, outside) = log_fixture(tmp.path());
    // A folder without a log whose only "data file" is a link to a file outside it.
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir_all(foreign.join("p=1")).expect("mkdir");
    std::os::unix::fs::symlink(&outside, foreign.join("a.parquet")).expect("symlink");
    std::os::unix::fs::symlink(
        outside.parent().unwrap(),
        foreign.join("p=1").join("linked"),
    )
    .expect("symlink");
    let p = ParquetPersistence::<Rec>::open(&foreign).expect("open");
    let result = rt.block_on(async move { tokio::spawn(async move { p.load().await }).await });
    match result.expect("load did not panic") {
        Ok(Some(rows)) => assert!(
            rows.id.iter().all(|&id| id < 500),
            "rows of a file outside the folder were read through a symlink: {:?}",
            rows.id
        ),
        Ok(None) => {}
        Err(e) => assert!(
            matches!(e, PersistError::Corrupt { .. }) && !e.is_retryable(),
            "{e:?}"
        ),
    }
    assert!(panics_of(THREAD).is_empty(), "{:?}", panics_of(THREAD));
}

// ---------------------------------------------------------------------------------------------
// Mutation fuzzing.

/// xorshift64*, seeded from SOA_FUZZ_SEED or the clock (the seed goes into the report).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    /// The generator and its seed.
    fn from_env() -> (Self, u64) {
        let seed = std::env::var("SOA_FUZZ_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    ^ u64::from(std::process::id())
            });
        (Self::new(seed), seed)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// Fuzz budget: SOA_FUZZ_SECS seconds, or 200 iterations when unset or 0.
struct Budget {
    deadline: Option<Instant>,
    done: u64,
}

impl Budget {
    fn new() -> Self {
        let secs: u64 = std::env::var("SOA_FUZZ_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Self {
            deadline: (secs > 0).then(|| Instant::now() + Duration::from_secs(secs)),
            done: 0,
        }
    }
    fn more(&mut self) -> bool {
        self.done += 1;
        match self.deadline {
            Some(d) => Instant::now() < d,
            None => self.done <= 200,
        }
    }
}

/// 1 to 4 random edits: bit flips, overwritten, inserted, deleted or duplicated ranges.
fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = out.len().max(1);
        let at = rng.below(len).min(out.len());
        let wide = rng.below(4) == 0;
        let span = 1 + rng.below(if wide { 64 } else { 4 });
        let end = (at + span).min(out.len());
        match rng.below(5) {
            0 if at < out.len() => out[at] ^= 1 << rng.below(8),
            1 => {
                let noise = rng.bytes(end - at);
                out[at..end].copy_from_slice(&noise);
            }
            2 => {
                let noise = rng.bytes(span);
                out.splice(at..at, noise);
            }
            3 => {
                out.drain(at..end);
            }
            _ => {
                let copy = out[at..end].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, copy);
            }
        }
    }
    out
}

#[test]
fn fuzz_data_files_and_commit_records_through_load() {
    const THREAD: &str = "soa-op-fuzz";
    let rt = op_runtime(THREAD);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fixture, _) = log_fixture(tmp.path());
    let scratch = tmp.path().join("scratch");
    let data = data_files(&fixture).remove(0);
    let data_rel = data.strip_prefix(&fixture).unwrap().to_path_buf();
    let record = newest_record(&fixture);
    let record_rel = record.strip_prefix(&fixture).unwrap().to_path_buf();
    let (data, record) = (std::fs::read(data).unwrap(), std::fs::read(record).unwrap());
    let (mut rng, seed) = Rng::from_env();
    let started = Instant::now();
    let mut report = String::new();
    let mut all_findings = 0;
    for (target, rel, original) in [
        ("data file", &data_rel, &data),
        ("commit record", &record_rel, &record),
    ] {
        let mut tally = Tally::default();
        let mut budget = Budget::new();
        while budget.more() {
            let bytes = mutate(&mut rng, original);
            copy_tree(&fixture, &scratch);
            std::fs::write(scratch.join(rel), &bytes).expect("write");
            let case = format!("{target} mutation {}", budget.done);
            for op in [Op::Load, Op::CountWhere] {
                run_op(
                    &rt,
                    THREAD,
                    &scratch,
                    op,
                    &case,
                    Judge::Lenient,
                    2 * ROWS,
                    &mut tally,
                );
            }
        }
        all_findings += tally.findings.len();
        let _ = writeln!(
            report,
            "{}",
            tally.report(&format!("fuzz {target}: {} executions", budget.done - 1))
        );
    }
    let _ = write!(
        report,
        "({} s; replay with SOA_FUZZ_SEED={seed})",
        started.elapsed().as_secs()
    );
    assert_eq!(all_findings, 0, "{report}");
    eprintln!("{report}");
}

/// A random array of `dt` built from random bytes (validated by Arrow; `None` if rejected).
fn random_array(rng: &mut Rng, dt: &DataType, n: usize) -> Option<ArrayRef> {
    let nulls = Buffer::from_vec(rng.bytes(n.div_ceil(8)));
    let builder = ArrayData::builder(dt.clone())
        .len(n)
        .null_bit_buffer((rng.below(2) == 0).then_some(nulls))
        .align_buffers(true);
    let offsets = |rng: &mut Rng, n: usize| {
        let mut at = 0i32;
        let mut offsets = vec![0i32];
        for _ in 0..n {
            at += rng.below(4) as i32;
            offsets.push(at);
        }
        (at as usize, Buffer::from_vec(offsets))
    };
    let data = match dt {
        DataType::Boolean => builder.add_buffer(Buffer::from_vec(rng.bytes(n.div_ceil(8)))),
        DataType::FixedSizeBinary(w) => {
            builder.add_buffer(Buffer::from_vec(rng.bytes(n * *w as usize)))
        }
        DataType::Utf8 | DataType::Binary => {
            let (total, offsets) = offsets(rng, n);
            let values: Vec<u8> = if rng.below(2) == 0 {
                (0..total).map(|_| b'a' + rng.below(26) as u8).collect()
            } else {
                rng.bytes(total)
            };
            builder
                .add_buffer(offsets)
                .add_buffer(Buffer::from_vec(values))
        }
        DataType::List(child) => {
            let (total, offsets) = offsets(rng, n);
            let values = random_array(rng, child.data_type(), total)?;
            builder.add_buffer(offsets).add_child_data(values.to_data())
        }
        DataType::Struct(fields) => {
            let mut b = builder;
            for f in fields {
                b = b.add_child_data(random_array(rng, f.data_type(), n)?.to_data());
            }
            b
        }
        DataType::Dictionary(key, value) => {
            let distinct = 1 + rng.below(4);
            let values = random_array(rng, value, distinct)?;
            let width = key.primitive_width()?;
            let keys: Vec<u8> = (0..n)
                .flat_map(|_| {
                    // Mostly in range; sometimes one past the end.
                    let k = rng.below(distinct + 1) as u64;
                    k.to_le_bytes()[..width].to_vec()
                })
                .collect();
            builder
                .add_buffer(Buffer::from_vec(keys))
                .add_child_data(values.to_data())
        }
        dt => match dt.primitive_width() {
            Some(w) => builder.add_buffer(Buffer::from_vec(rng.bytes(n * w))),
            None => return Some(new_null_array(dt, n)),
        },
    };
    data.build().ok().map(make_array)
}

#[test]
fn fuzz_arrow_to_soa_conversion() {
    use common::{AllTypesSoA, extreme_row};
    install_panic_hook();
    let (mut rng, seed) = Rng::from_env();
    let valid: AllTypesSoA = (0..6).map(extreme_row).collect();
    let valid = valid.into_record_batch().expect("valid batch");
    let schema = valid.schema();
    let fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let result = std::thread::Builder::new()
        .name("soa-op-convert".into())
        .spawn(move || {
            let mut budget = Budget::new();
            let (mut executions, mut rejected_by_arrow, mut ok, mut errors) = (0u64, 0, 0, 0);
            let mut findings = Vec::new();
            while budget.more() {
                let n = valid.num_rows();
                let mut cols: Vec<ArrayRef> = valid.columns().to_vec();
                let mut fs = fields.clone();
                let mut what = Vec::new();
                for _ in 0..1 + rng.below(3) {
                    let k = rng.below(cols.len());
                    match rng.below(5) {
                        // Random values of the right type.
                        0 | 1 => match random_array(&mut rng, fs[k].data_type(), n) {
                            Some(a) => {
                                cols[k] = a;
                                what.push(format!("random {}", fs[k].name()));
                            }
                            None => rejected_by_arrow += 1,
                        },
                        // Another field's type under this name.
                        2 => {
                            let other = rng.below(fields.len());
                            if let Some(a) = random_array(&mut rng, fields[other].data_type(), n) {
                                fs[k] = Field::new(fs[k].name(), a.data_type().clone(), true);
                                cols[k] = a;
                                what.push(format!("{} as {}", fs[k].name(), fields[other].name()));
                            }
                        }
                        // Nulls in a column that has none.
                        3 => {
                            cols[k] = new_null_array(fs[k].data_type(), n);
                            what.push(format!("nulls in {}", fs[k].name()));
                        }
                        _ => {
                            cols.remove(k);
                            what.push(format!("without {}", fs.remove(k).name()));
                        }
                    }
                }
                let fs: Vec<Field> = fs.into_iter().map(|f| f.with_nullable(true)).collect();
                let Ok(batch) = RecordBatch::try_new(Arc::new(Schema::new(fs)), cols) else {
                    rejected_by_arrow += 1;
                    continue;
                };
                executions += 1;
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let by_ref = AllTypesSoA::from_record_batch(&batch).map(|r| r.len());
                    let owned =
                        AllTypesSoA::from_owned_record_batch(batch.clone()).map(|r| r.len());
                    (by_ref, owned)
                }));
                match outcome {
                    Ok((Ok(_), Ok(_))) => ok += 1,
                    Ok(_) => errors += 1,
                    Err(_) => findings.push(format!("panic on {}", what.join(", "))),
                }
            }
            (executions, rejected_by_arrow, ok, errors, findings)
        })
        .expect("thread")
        .join()
        .expect("fuzz thread");
    let (executions, rejected, ok, errors, findings) = result;
    let panics = panics_of("soa-op-convert");
    let report = format!(
        "fuzz Arrow -> SoA: {executions} executions ({rejected} inputs rejected by Arrow), {ok} Ok, \
         {errors} typed errors, {} panics (replay with SOA_FUZZ_SEED={seed}){}",
        findings.len(),
        findings
            .iter()
            .zip(&panics)
            .take(8)
            .map(|(f, p)| format!("\n  {f}: {}", p.replace('\n', " ")))
            .collect::<String>()
    );
    assert!(findings.is_empty(), "{report}");
    eprintln!("{report}");
}
