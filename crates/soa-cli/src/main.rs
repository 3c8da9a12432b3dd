//! `soa`: look at, look after, query and copy the data soa-persist writes, without writing
//! Rust. Commands: `inspect`, `history`, `head`, `verify`; `repair`, `compact`, `vacuum`,
//! `restore`; `gen` (a struct's source), `sql`, `convert`. Exit codes: 0 ok, 1 problems found,
//! 2 usage error or bad input; errors are one line on stderr.

mod convert;
mod filter;
mod format;
mod r#gen;
mod head;
mod inspect;
mod inspect_tables;
mod maintain;
mod output;
mod progress;
mod report;
mod source;
#[cfg(any(feature = "duckdb", feature = "clickhouse"))]
mod sql;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "soa",
    version,
    about = "Inspect, read, check, maintain, query and copy soa-persist Parquet datasets",
    after_help = "Examples:\n  soa inspect data/orders\n  soa history data/orders --json\n  soa head data/orders -n 5 --version 3\n  soa verify data/orders\n  soa vacuum data/orders --retention 7d"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Schema (Arrow and Rust types), partitions, files, version and column sizes; of a DuckDB
    /// file or a ClickHouse database, each table's rows, key and columns.
    #[command(
        after_help = "Examples:\n  soa inspect data/orders\n  soa inspect data/orders --json\n  \
                      soa inspect shop.duckdb                        (feature duckdb)\n  \
                      soa inspect clickhouse:http://127.0.0.1:8123#shop   (feature clickhouse)"
    )]
    Inspect {
        /// The dataset: a folder, `file:///…`, or `s3://…` with the `s3` feature; or a
        /// database: `shop.duckdb`, `duckdb:<file>`, `clickhouse:<url>[#<database>]`.
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
    /// Prints the `#[derive(SoA)]` Rust struct that reads a dataset, a file or a DuckDB table.
    #[command(
        after_help = "Types follow the README's type table; dictionary and ENUM columns become \
                      `SoAEnum`s, struct columns nested structs, partition folders \
                      #[soa(partition)] fields, a recorded key or a one-column PRIMARY KEY \
                      #[soa(key)].\n\nExamples:\n  soa gen data/orders > src/order.rs\n  \
                      soa gen data/orders --name Order\n  \
                      soa gen shop.duckdb --table orders     (feature duckdb)\n  \
                      soa gen duckdb:shop.duckdb#orders      (feature duckdb)"
    )]
    Gen {
        /// A Parquet dataset (a folder or a URL), one `.parquet` file, or a DuckDB table:
        /// `duckdb:<file>#<table>`, or a `.duckdb` / `.db` file with `--table`.
        source: String,
        /// The DuckDB table, for a database file given by name.
        #[arg(long)]
        table: Option<String>,
        /// The struct's name (default: the one the files record, or the folder's or table's).
        #[arg(long)]
        name: Option<String>,
    },
    /// Runs SQL (DuckDB's) over Parquet datasets and DuckDB files, or on a ClickHouse server.
    #[command(
        after_help = "Each --attach name=<dataset> is a view of the dataset's current \
                      version (partition columns included); name=<file>.duckdb attaches a \
                      database read-only (its tables are name.table).\n\nExamples:\n  \
                      soa sql \"SELECT status, sum(amount) FROM o GROUP BY 1\" --attach o=data/orders\n  \
                      soa sql \"SELECT * FROM o JOIN c USING (customer)\" --attach o=data/orders \
                      --attach c=data/customers --format csv\n  \
                      soa sql \"SELECT * FROM shop.orders\" --attach shop=shop.duckdb --format jsonl\n  \
                      soa sql \"SELECT * FROM o WHERE amount > 100\" --attach o=data/orders --out big.parquet\n  \
                      soa sql \"SELECT count() FROM orders\" --clickhouse http://127.0.0.1:8123   (feature clickhouse)"
    )]
    Sql {
        /// The query.
        query: String,
        /// `name=<dataset folder>` (a view) or `name=<file>.duckdb` (a database); repeatable.
        #[arg(long, value_name = "NAME=SOURCE")]
        attach: Vec<String>,
        /// How rows are printed.
        #[arg(long, value_enum, default_value_t = output::Format::Table)]
        format: output::Format,
        /// Write the result to this Parquet file instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<String>,
        /// Run the query on this ClickHouse server instead (feature `clickhouse`).
        #[arg(long, value_name = "URL")]
        clickhouse: Option<String>,
    },
    /// Copies a dataset or a DuckDB table into a new dataset or table, batch by batch.
    #[command(
        after_help = "A DuckDB table is written duckdb:<file>#<table> (feature duckdb), \
                      a ClickHouse table clickhouse:<url>#<database>.<table> (feature \
                      clickhouse). \
                      A Parquet copy keeps the source's partition columns unless \
                      --partition-by or --no-partition says otherwise, and is made live by one \
                      commit at the end; a DuckDB table is created (it must not exist) and \
                      dropped again if the copy fails. Progress goes to stderr every \
                      --progress-every rows.\n\nExamples:\n  \
                      soa convert data/orders data/orders-by-day --partition-by day\n  \
                      soa convert data/orders /tmp/orders-spark --spark --compression snappy\n  \
                      soa convert data/orders duckdb:shop.duckdb#orders\n  \
                      soa convert duckdb:shop.duckdb#orders data/orders-copy --compression zstd:9\n  \
                      soa convert data/orders clickhouse:http://127.0.0.1:8123#shop.orders"
    )]
    Convert {
        /// A Parquet dataset (a folder or a URL), `duckdb:<file>#<table>` or
        /// `clickhouse:<url>#<database>.<table>`.
        source: String,
        /// A new dataset (an empty or missing folder, or a URL), DuckDB or ClickHouse table.
        target: String,
        #[command(flatten)]
        settings: convert::Settings,
    },
}

/// What a command asks the process to exit with, short of an error.
enum Outcome {
    Ok,
    Problems,
}

async fn run(command: Command) -> Result<Outcome, String> {
    let open = |dataset: &String| source::open_dataset(dataset);
    match command {
        Command::Inspect { dataset, json } if inspect_tables::is_database(&dataset) => {
            inspect_tables::run(&dataset, json).await
        }
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
        Command::Gen {
            source,
            table,
            name,
        } => r#gen::run(&source, table.as_deref(), name.as_deref()).await,
        Command::Convert {
            source,
            target,
            settings,
        } => convert::run(&source, &target, settings).await,
        #[cfg(any(feature = "duckdb", feature = "clickhouse"))]
        Command::Sql {
            query,
            attach,
            format,
            out,
            clickhouse,
        } => {
            let request = sql::Request {
                query: &query,
                attachments: &attach,
                format,
                out: out.as_deref(),
                clickhouse: clickhouse.as_deref(),
            };
            sql::run(request).await
        }
        #[cfg(not(any(feature = "duckdb", feature = "clickhouse")))]
        Command::Sql { .. } => {
            Err("sql needs DuckDB: this soa was built without the `duckdb` feature".into())
        }
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
