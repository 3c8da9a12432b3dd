//! `verify`: reads the footer of every file the newest version names and checks it against the
//! log (present, size, readable, row count, schema fingerprint), changing nothing;
//! `verify_pages` also decodes every page.

use std::collections::HashMap;

use bytes::Bytes;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};

use soa_persist_api::PersistError;
use soa_persist_core::schema::META_FINGERPRINT;

use super::history::ParquetDataset;
use super::log::{get_opt, parse_record, record_path};
use super::progress::Progress;
use super::version::footer_of;

/// One thing `verify` found wrong with one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file, inside the dataset.
    pub path: String,
    /// What is wrong, in one line.
    pub detail: String,
}

/// What `verify` checked and found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// The version checked (the newest).
    pub version: u64,
    /// Files checked.
    pub files: usize,
    /// Rows the log counts in them.
    pub rows: u64,
    /// Problems found, by file; empty for a healthy dataset.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether nothing was found wrong.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl ParquetDataset {
    /// Reads every live file's footer and checks it against the log: the file is there, has
    /// the size and row count the log recorded, and carries the schema fingerprint of the
    /// commit that added it (when that record is still in the log). Changes nothing.
    pub async fn verify(&self) -> Result<VerifyReport, PersistError> {
        self.verify_with(false, &()).await
    }

    /// Like [`verify`](Self::verify), and also decodes every page of every file, counting the
    /// rows it holds (finds damaged data, not just damaged footers; reads every byte).
    pub async fn verify_pages(&self) -> Result<VerifyReport, PersistError> {
        self.verify_with(true, &()).await
    }

    /// [`verify`](Self::verify), or [`verify_pages`](Self::verify_pages) when `pages`, telling
    /// `progress` of each file checked.
    pub async fn verify_with(
        &self,
        pages: bool,
        progress: &dyn Progress,
    ) -> Result<VerifyReport, PersistError> {
        let current = self.current().await?;
        let fingerprints = self.fingerprints().await?;
        let mut report = VerifyReport {
            version: current.version(),
            files: 0,
            rows: current.rows(),
            problems: Vec::new(),
        };
        let files = current.files();
        progress.start(
            files.len() as u64,
            current.rows(),
            files.iter().map(|f| f.bytes).sum(),
        );
        for f in files {
            progress.advance(1, f.rows, f.bytes);
            report.files += 1;
            let mut problem = |detail: String| {
                report.problems.push(Problem {
                    path: f.path.clone(),
                    detail,
                })
            };
            let Some(bytes) = get_opt(self.storage.as_ref(), &f.path).await? else {
                problem("missing".into());
                continue;
            };
            if f.bytes > 0 && bytes.len() as u64 != f.bytes {
                problem(format!("{} bytes, the log says {}", bytes.len(), f.bytes));
            }
            let footer = match footer_of(&f.path, &bytes) {
                Ok(footer) => footer,
                Err(e) => {
                    problem(format!("unreadable footer: {e}"));
                    continue;
                }
            };
            let rows = footer.metadata().file_metadata().num_rows().max(0) as u64;
            if rows != f.rows {
                problem(format!("{rows} rows, the log says {}", f.rows));
            }
            if pages {
                match decoded_rows(bytes.clone(), footer.clone()) {
                    Ok(n) if n == rows => {}
                    Ok(n) => problem(format!("{n} rows decoded, the footer says {rows}")),
                    Err(e) => problem(format!("unreadable data: {e}")),
                }
            }
            let stored = footer.schema().metadata().get(META_FINGERPRINT);
            if let (Some(stored), Some(logged)) = (stored, fingerprints.get(&f.path))
                && !logged.is_empty()
                && stored != logged
            {
                problem(format!(
                    "schema fingerprint {stored}, the commit that added it says {logged}"
                ));
            }
        }
        Ok(report)
    }

    /// For each file a readable record added: that record's schema fingerprint.
    async fn fingerprints(&self) -> Result<HashMap<String, String>, PersistError> {
        let (records, _) = self.log.listed().await?;
        let mut out = HashMap::new();
        for v in records {
            let path = record_path(v);
            let Some(bytes) = get_opt(self.storage.as_ref(), &path).await? else {
                continue;
            };
            let record = parse_record(&path, v, &bytes)?;
            let added = record.files.iter().flatten().chain(&record.add);
            for f in added {
                out.insert(f.path.clone(), record.fingerprint.clone());
            }
        }
        Ok(out)
    }
}

/// Rows in every page of the file; an error (a decoder panic included) for damaged data.
fn decoded_rows(bytes: Bytes, footer: ArrowReaderMetadata) -> Result<u64, String> {
    let decode = move || -> Result<u64, String> {
        let mut reader = ParquetRecordBatchReaderBuilder::new_with_metadata(bytes, footer)
            .build()
            .map_err(|e| e.to_string())?;
        reader.try_fold(0u64, |n, b| {
            b.map(|b| n + b.num_rows() as u64)
                .map_err(|e| e.to_string())
        })
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode))
        .unwrap_or_else(|_| Err("the decoder panicked".into()))
}
