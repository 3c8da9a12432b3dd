//! `soa`: look at and look after the Parquet datasets soa-persist writes, without writing Rust.
//! Commands: `inspect`, `history`, `head`, `verify`; `repair`, `compact`, `vacuum`, `restore`.
//! Exit codes: 0 ok, 1 problems found, 2 usage error or bad input; errors are one line on
//! stderr.

mod filter;
mod format;
mod head;
mod inspect;
mod maintain;
mod progress;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use soa_persist::backends::parquet::ParquetDataset;

#[derive(Parser)]
#[command(
    name = "soa",
    version,
    about = "Inspect, read, check and maintain soa-persist Parquet datasets",
    after_help = "Examples:\n  soa inspect data/orders\n  soa history data/orders --json\n  soa head data/orders -n 5 --version 3\n  soa verify data/orders\n  soa vacuum data/orders --retention 7d"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Schema (Arrow and Rust types), partitions, files, version and column sizes.
    #[command(after_help = "Example:\n  soa inspect data/orders\n  soa inspect data/orders --json")]
    Inspect {
        /// The dataset: a folder, `file:///…`, or `s3://…` with the `s3` feature.
        dataset: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// The commits in the dataset's log: version, time, operation, rows and files changed.
    #[command(after_help = "Example:\n  soa history data/orders\n  soa history data/orders --json")]
    History {
        /// The dataset: a folder, `file:///…`, or `s3://…` with the `s3` feature.
        dataset: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// The first rows, as an aligned table; of an older version with `--version`.
    #[command(
        after_help = "Examples:\n  soa head data/orders -n 5\n  soa head data/orders --version 3 --json\n  \
                      soa head data/orders --as-of 2026-01-31T12:00:00Z\n  \
                      soa head data/orders --where 'amount > 100 and status = \"Shipped\"'"
    )]
    Head {
        /// The dataset: a folder, `file:///…`, or `s3://…` with the `s3` feature.
        dataset: String,
        /// How many rows.
        #[arg(short = 'n', long = "rows", default_value_t = 20)]
        rows: usize,
        /// Read this version instead of the newest.
        #[arg(long)]
        version: Option<u64>,
        /// Read the version current at this time (RFC 3339, e.g. 2026-01-31T12:00:00Z).
        #[arg(long, value_name = "TIME", conflicts_with = "version")]
        as_of: Option<String>,
        /// Only rows matching: `col op value` (= != < <= > >=), `col is [not] null`,
        /// joined by `and` / `or`, with parentheses; strings in quotes.
        #[arg(long = "where", value_name = "FILTER")]
        filter: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Checks every committed file's footer against the log; exit code 1 on problems.
    #[command(
        after_help = "Example:\n  soa verify data/orders && echo healthy\n  soa verify data/orders --pages --json"
    )]
    Verify {
        /// The dataset: a folder, `file:///…`, or `s3://…` with the `s3` feature.
        dataset: String,
        /// Also decode every page of every file (reads every byte).
        #[arg(long)]
        pages: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Fixes a damaged dataset and says what it did: a lost log (files adopted), files the
    /// log names that are gone (dropped, rows lost reported).
    #[command(
        after_help = "Example:\n  soa verify data/orders || soa repair data/orders\n  soa repair data/orders --json"
    )]
    Repair {
        /// The dataset: a folder, `file:///…`, or `s3://…` with the `s3` feature.
        dataset: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Merges each partition's files into as few as possible, in one commit (files of an
    /// older schema are left as they are). The replaced files stay until `vacuum`.
    #[command(after_help = "Example:\n  soa compact data/orders\n  soa compact data/orders --json")]
    Compact {
        /// The dataset: a folder, `file:///…`, or `s3://…` with the `s3` feature.
        dataset: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Deletes the dataset's files that no kept version needs, once older than the retention;
    /// older versions whose files it removes can no longer be read.
    #[command(after_help = "Examples:\n  soa vacuum data/orders --retention 7d\n  \
                      soa vacuum data/orders --retention 12h --keep-versions 10 --json\n  \
                      soa vacuum data/orders --retention 0s   # everything the newest version does not need")]
    Vacuum {
        /// The dataset: a folder, `file:///…`, or `s3://…` with the `s3` feature.
        dataset: String,
        /// Keep files younger than this: `7d`, `12h`, `30min`, `1week 2days`, `0s`.
        #[arg(
            long,
            value_name = "DURATION",
            default_value = "7d",
            allow_hyphen_values = true,
            value_parser = maintain::parse_retention
        )]
        retention: std::time::Duration,
        /// Also keep the files of this many versions before the newest.
        #[arg(long, value_name = "N", default_value_t = 0)]
        keep_versions: u64,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Commits an older version's state again as the newest version (operation `restore`);
    /// the versions in between stay in the history.
    #[command(
        after_help = "Example:\n  soa history data/orders\n  soa restore data/orders 3\n  soa restore data/orders 3 --json"
    )]
    Restore {
        /// The dataset: a folder, `file:///…`, or `s3://…` with the `s3` feature.
        dataset: String,
        /// The version to bring back (see `soa history`).
        version: u64,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// What a command asks the process to exit with, short of an error.
enum Outcome {
    Ok,
    Problems,
}

async fn run(command: Command) -> Result<Outcome, String> {
    let open = |source: &String| {
        if source.contains("://") {
            ParquetDataset::open_url(source)
        } else {
            ParquetDataset::open(source)
        }
        .map_err(|e| e.to_string())
    };
    match command {
        Command::Inspect { dataset, json } => inspect::run(&open(&dataset)?, json).await,
        Command::History { dataset, json } => report::history(&open(&dataset)?, json).await,
        Command::Head {
            dataset,
            rows,
            version,
            as_of,
            filter,
            json,
        } => {
            let as_of = as_of.as_deref().map(format::parse_time).transpose()?;
            let filter = filter.as_deref().map(filter::Filter::parse).transpose()?;
            let what = head::Rows {
                limit: rows,
                version,
                as_of,
                filter,
            };
            head::run(&open(&dataset)?, what, json).await
        }
        Command::Verify {
            dataset,
            pages,
            json,
        } => report::verify(&open(&dataset)?, pages, json).await,
        Command::Repair { dataset, json } => maintain::repair(&open(&dataset)?, json).await,
        Command::Compact { dataset, json } => maintain::compact(&open(&dataset)?, json).await,
        Command::Vacuum {
            dataset,
            retention,
            keep_versions,
            json,
        } => {
            let keep = maintain::Keep {
                retention,
                versions: keep_versions,
            };
            maintain::vacuum(&open(&dataset)?, keep, json).await
        }
        Command::Restore {
            dataset,
            version,
            json,
        } => maintain::restore(&open(&dataset)?, version, json).await,
    }
}

fn main() -> ExitCode {
    format::end_quietly_on_closed_pipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return report::usage(e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("soa: can't start: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        Err(message) => {
            eprintln!("soa: {}", message.replace('\n', " "));
            ExitCode::from(2)
        }
    }
}
