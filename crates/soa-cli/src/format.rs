//! Output helpers shared by the commands: tables, sizes, times, Arrow values as text and JSON,
//! and the Rust type a column's Arrow type maps to.

use comfy_table::{Table, presets};
use serde_json::Value;
use soa_persist::arrow::array::{Array, ArrayRef};
use soa_persist::arrow::compute::cast;
use soa_persist::arrow::datatypes::{DataType, Field};
use soa_persist::arrow::util::display::{ArrayFormatter, FormatOptions};
use soa_persist::chrono::DateTime;

/// An aligned table with a header row.
pub(crate) fn table<I, S>(header: I) -> Table
where
    I: IntoIterator<Item = S>,
    S: Into<comfy_table::Cell>,
{
    let mut t = Table::new();
    t.load_preset(presets::ASCII_MARKDOWN).set_header(header);
    t
}

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// Bytes in B, KiB, MiB, GiB.
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Milliseconds since the epoch as UTC RFC 3339 (seconds).
pub(crate) fn time(ms: u64) -> String {
    DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// An RFC 3339 time given on the command line.
pub(crate) fn parse_time(text: &str) -> Result<std::time::SystemTime, String> {
    DateTime::parse_from_rfc3339(text)
        .map(std::time::SystemTime::from)
        .map_err(|e| format!("--as-of: `{text}` is not an RFC 3339 time ({e})"))
}

/// The Rust field type that derives to `field`'s Arrow type (what `soa gen` would write: an
/// enum or nested struct is named after its column), or why there is none.
pub(crate) fn rust_type(field: &Field) -> String {
    soa_persist::codegen::rust_type(field).unwrap_or_else(|why| format!("({why})"))
}

/// Instants with a named time zone as UTC offsets (the same values): named zones would need
/// the zone database to print or parse, and the stored values are UTC anyway.
pub(crate) fn in_utc(array: &ArrayRef) -> Result<ArrayRef, String> {
    match array.data_type() {
        DataType::Timestamp(unit, Some(_)) => {
            let target = DataType::Timestamp(*unit, Some("+00:00".into()));
            cast(array, &target).map_err(|e| e.to_string())
        }
        _ => Ok(array.clone()),
    }
}

/// Every value of `array` as display text ("" for nulls), instants in UTC.
pub(crate) fn texts(array: &ArrayRef) -> Result<Vec<String>, String> {
    let array = in_utc(array)?;
    let options = FormatOptions::default();
    let f = ArrayFormatter::try_new(array.as_ref(), &options).map_err(|e| e.to_string())?;
    Ok((0..array.len())
        .map(|i| {
            if array.is_null(i) {
                String::new()
            } else {
                f.value(i).to_string()
            }
        })
        .collect())
}

/// Every value of `array` as JSON: numbers and booleans as such, nulls as null, the rest text.
pub(crate) fn json_values(array: &ArrayRef) -> Result<Vec<Value>, String> {
    let numeric = array.data_type().is_numeric();
    let boolean = array.data_type() == &DataType::Boolean;
    Ok(texts(array)?
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            if array.is_null(i) {
                Value::Null
            } else if boolean {
                Value::Bool(text == "true")
            } else if numeric {
                serde_json::from_str::<serde_json::Number>(&text)
                    .map(Value::Number)
                    .unwrap_or(Value::String(text))
            } else {
                Value::String(text)
            }
        })
        .collect())
}

/// Colour for words that say how things went, only when stdout is a terminal (and `NO_COLOR`
/// is not set): piped output stays plain text.
pub(crate) trait Paint {
    /// Went well.
    fn good(&self) -> String;
    /// Done, but worth a look.
    fn warn(&self) -> String;
    /// Something is wrong.
    fn bad(&self) -> String;
}

impl Paint for str {
    fn good(&self) -> String {
        paint(self, anstyle::AnsiColor::Green)
    }

    fn warn(&self) -> String {
        paint(self, anstyle::AnsiColor::Yellow)
    }

    fn bad(&self) -> String {
        paint(self, anstyle::AnsiColor::Red)
    }
}

fn paint(text: &str, colour: anstyle::AnsiColor) -> String {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || std::env::var_os("NO_COLOR").is_some() {
        return text.to_string();
    }
    let style = anstyle::Style::new().fg_color(Some(colour.into())).bold();
    format!("{style}{text}{style:#}")
}

/// Output into a pipe whose reader has gone (`soa head … | head -1`) ends the process quietly,
/// as with other Unix tools, instead of failing a write (which `println!` turns into a panic).
pub(crate) fn end_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called at the start of `main`, before any other thread exists; restoring the
    // default disposition of SIGPIPE touches no memory of this program and installs no handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
