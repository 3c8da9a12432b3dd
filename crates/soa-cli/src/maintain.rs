//! `soa repair`, `soa compact`, `soa vacuum` and `soa restore`: the library's maintenance of a
//! dataset, run without its struct, each saying what it did (or as JSON).

use std::time::Duration;

use serde_json::json;
use soa_persist::backends::parquet::{ParquetDataset, RepairReport};

use crate::Outcome;
use crate::format::{Paint, print_json, size};
use crate::progress::Display;

/// A humane duration for `--retention`: `7d`, `12h`, `30min`, `1week 2days`, `0s`.
pub(crate) fn parse_retention(text: &str) -> Result<Duration, String> {
    if text.trim_start().starts_with('-') {
        return Err(format!("`{text}`: a retention can't be negative"));
    }
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration such as 7d, 12h or 0s ({e})"))
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The newest version, its rows and its files, for the summary line every command ends with.
async fn state(dataset: &ParquetDataset) -> Result<(u64, u64, usize), String> {
    let current = dataset.current().await.map_err(text)?;
    Ok((current.version(), current.rows(), current.files().len()))
}

pub(crate) async fn repair(dataset: &ParquetDataset, as_json: bool) -> Result<Outcome, String> {
    let report = dataset.repair().await.map_err(text)?;
    let (version, rows, files) = state(dataset).await?;
    if as_json {
        print_json(&json!({
            "repaired": !report.is_clean(),
            "adopted_files": report.adopted_files,
            "missing_files": report.missing_files,
            "rows_lost": report.rows_lost,
            "version": version,
            "rows": rows,
            "files": files,
        }));
        return Ok(Outcome::Ok);
    }
    print_repair(&report);
    println!("version {version}: {rows} rows in {files} files");
    Ok(Outcome::Ok)
}

fn print_repair(report: &RepairReport) {
    if report.is_clean() {
        println!("{}", "nothing to repair".good());
        return;
    }
    if !report.adopted_files.is_empty() {
        println!(
            "{} the log was lost: adopted {} files as version 0 (rows that an earlier save, \
             delete or compact replaced may be among them again)",
            "repaired:".warn(),
            report.adopted_files.len()
        );
        for f in &report.adopted_files {
            println!("  adopted {f}");
        }
    }
    if !report.missing_files.is_empty() {
        println!(
            "{} dropped {} missing files from the newest version: {} rows lost",
            "repaired:".warn(),
            report.missing_files.len(),
            report.rows_lost
        );
        for f in &report.missing_files {
            println!("  missing {f}");
        }
    }
}

pub(crate) async fn compact(dataset: &ParquetDataset, as_json: bool) -> Result<Outcome, String> {
    state(dataset).await?; // not a dataset: said before any progress is shown
    let progress = Display::new("compact", as_json);
    let (before, after) = dataset.compact_with(&progress).await.map_err(text)?;
    progress.finish();
    let (version, rows, _) = state(dataset).await?;
    if as_json {
        print_json(&json!({
            "files_before": before,
            "files_after": after,
            "compacted": after < before,
            "version": version,
            "rows": rows,
        }));
    } else if after < before {
        println!(
            "{} {before} -> {after} files; version {version}: {rows} rows \
             (the replaced files stay until `soa vacuum`)",
            "compacted:".good()
        );
    } else {
        println!("nothing to compact: {before} files, at most one per partition of one schema");
    }
    Ok(Outcome::Ok)
}

/// What `vacuum` keeps.
pub(crate) struct Keep {
    /// Files younger than this stay.
    pub(crate) retention: Duration,
    /// Files of the newest this-many versions before the newest stay.
    pub(crate) versions: u64,
}

pub(crate) async fn vacuum(
    dataset: &ParquetDataset,
    keep: Keep,
    as_json: bool,
) -> Result<Outcome, String> {
    state(dataset).await?;
    let before = disk_use(dataset).await?;
    let progress = Display::new("vacuum", as_json);
    let removed = dataset
        .vacuum_with(keep.retention, keep.versions, &progress)
        .await
        .map_err(text)?;
    progress.finish();
    let (version, _, _) = state(dataset).await?;
    let readable_from = version.saturating_sub(keep.versions);
    if as_json {
        print_json(&json!({
            "removed_files": removed,
            "retention_secs": keep.retention.as_secs(),
            "keep_versions": keep.versions,
            "version": version,
            "bytes_before": before,
            "bytes_after": disk_use(dataset).await?,
        }));
        return Ok(Outcome::Ok);
    }
    println!(
        "{} {removed} files ({} -> {}); kept files younger than {} and those of versions \
         {readable_from}..={version}",
        "vacuum removed".good(),
        size(before),
        size(disk_use(dataset).await?),
        humantime::format_duration(keep.retention),
    );
    Ok(Outcome::Ok)
}

/// Bytes of every file in the dataset's folder (or prefix), log included.
async fn disk_use(dataset: &ParquetDataset) -> Result<u64, String> {
    let entries = dataset.storage().list("").await.map_err(text)?;
    Ok(entries.iter().map(|e| e.size).sum())
}

pub(crate) async fn restore(
    dataset: &ParquetDataset,
    version: u64,
    as_json: bool,
) -> Result<Outcome, String> {
    let new = dataset.restore(version).await.map_err(text)?;
    let view = dataset.at_version(new).await.map_err(text)?;
    let (rows, files) = (view.rows(), view.files().len());
    if as_json {
        print_json(&json!({
            "restored": version,
            "version": new,
            "rows": rows,
            "files": files,
        }));
    } else {
        println!(
            "{} version {version} as version {new}: {rows} rows in {files} files",
            "restored".good()
        );
    }
    Ok(Outcome::Ok)
}
