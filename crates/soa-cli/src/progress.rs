//! Progress of long work (`compact`, `vacuum`, `verify`) on stderr: a bar with files, rows/s and
//! bytes/s when stderr is a terminal; otherwise a plain line at most every second and one at
//! the end (none with `--json`, whose readers want stdout alone).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use soa_persist::backends::parquet::Progress;

use crate::format::size;

/// How often a plain line is printed, at most.
const LINE_EVERY: Duration = Duration::from_secs(1);

enum Mode {
    Bar(ProgressBar),
    Lines,
    Quiet,
}

#[derive(Default)]
struct Counts {
    total_files: u64,
    files: u64,
    rows: u64,
    bytes: u64,
    last_line: Option<Instant>,
}

/// A `Progress` shown to the person running the command.
pub(crate) struct Display {
    what: &'static str,
    mode: Mode,
    started: Instant,
    counts: Mutex<Counts>,
}

impl Display {
    pub(crate) fn new(what: &'static str, as_json: bool) -> Self {
        let mode = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} files  {msg}  ({elapsed})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(what);
            Mode::Bar(bar)
        } else if as_json {
            Mode::Quiet
        } else {
            Mode::Lines
        };
        Self {
            what,
            mode,
            started: Instant::now(),
            counts: Mutex::new(Counts::default()),
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `rows`, bytes, and their rates since the start.
    fn rates(&self, c: &Counts) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rows = if c.rows > 0 {
            format!("{} rows, {:.0} rows/s, ", c.rows, c.rows as f64 / secs)
        } else {
            String::new()
        };
        format!(
            "{rows}{}, {}/s",
            size(c.bytes),
            size((c.bytes as f64 / secs) as u64)
        )
    }

    /// The work is over: the bar goes, a last plain line says what was done.
    pub(crate) fn finish(&self) {
        let c = self.counts();
        match &self.mode {
            Mode::Bar(bar) => bar.finish_and_clear(),
            Mode::Lines => eprintln!(
                "{}: {}/{} files, {}, done in {:.1} s",
                self.what,
                c.files,
                c.total_files,
                self.rates(&c),
                self.started.elapsed().as_secs_f64()
            ),
            Mode::Quiet => {}
        }
    }
}

impl Progress for Display {
    fn start(&self, files: u64, _rows: u64, _bytes: u64) {
        self.counts().total_files = files;
        if let Mode::Bar(bar) = &self.mode {
            bar.set_length(files);
        }
    }

    fn advance(&self, files: u64, rows: u64, bytes: u64) {
        let mut c = self.counts();
        c.files += files;
        c.rows += rows;
        c.bytes += bytes;
        match &self.mode {
            Mode::Bar(bar) => {
                bar.set_position(c.files);
                bar.set_message(self.rates(&c));
            }
            Mode::Lines => {
                let due = c.last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY)
                    && self.started.elapsed() >= LINE_EVERY;
                if due {
                    c.last_line = Some(Instant::now());
                    eprintln!(
                        "{}: {}/{} files, {}",
                        self.what,
                        c.files,
                        c.total_files,
                        self.rates(&c)
                    );
                }
            }
            Mode::Quiet => {}
        }
    }
}
