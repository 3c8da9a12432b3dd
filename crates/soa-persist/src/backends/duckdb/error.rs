//! The mapping of DuckDB errors to `PersistError`. The duckdb crate reports every engine
//! failure as one variant with a message; DuckDB starts each message with its exception class
//! (`IO Error: `, `Constraint Error: `, ...), so the class decides. The text after it may quote
//! user values and the database path, which never take part in the decision: the path is cut
//! out of the text first and quoted spans are ignored.

use std::path::Path;

use super::pool::NAME;
use soa_persist_api::PersistError;

/// DuckDB's own words for a failure: its class and the text after the class, with the
/// database path and anything quoted removed.
struct Classified {
    class: String,
    text: String,
}

impl Classified {
    fn of(e: &duckdb::Error, path: Option<&Path>) -> Option<Self> {
        let duckdb::Error::DuckDBFailure(_, Some(message)) = e else {
            return None;
        };
        let (class, rest) = message.split_once(": ")?;
        let class = class.strip_suffix(" Error")?;
        let mut text = rest.to_string();
        if let Some(path) = path {
            for variant in path_spellings(path) {
                if !variant.is_empty() {
                    text = text.replace(&variant, "");
                }
            }
        }
        Some(Self {
            class: class.to_string(),
            text: unquoted(&text),
        })
    }

    fn is(&self, class: &str) -> bool {
        self.class == class
    }

    /// The text starts with DuckDB's `prefix` (compared without quoted spans).
    fn says(&self, prefix: &str) -> bool {
        self.text.starts_with(&unquoted(prefix))
    }
}

/// The ways DuckDB may spell the database path in a message: as given and canonical.
fn path_spellings(path: &Path) -> Vec<String> {
    let mut out = vec![path.display().to_string()];
    if let Ok(c) = path.canonicalize() {
        out.push(c.display().to_string());
    }
    // Longest first, so that a spelling containing another is removed whole.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// `text` without its `"..."` and `'...'` spans (identifiers, values and paths DuckDB quotes).
fn unquoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<char> = None;
    for c in text.chars() {
        match open {
            Some(q) if c == q => open = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => open = Some(c),
            None => out.push(c),
        }
    }
    out
}

/// Maps an error of a statement on an open database.
pub(crate) fn db_error(e: duckdb::Error) -> PersistError {
    classify(e, None)
}

/// The error for `e`, keeping `e` as its `source()`.
fn classify(e: duckdb::Error, path: Option<&Path>) -> PersistError {
    let message = e.to_string();
    let error = match Classified::of(&e, path) {
        Some(c) => by_class(&c, path, message),
        // The appender reports a key violation without a class ("Failed to append: ...").
        None if message.contains("violates primary key constraint") => {
            PersistError::constraint(NAME, message)
        }
        None => PersistError::backend(NAME, message, false),
    };
    error.with_source(e)
}

fn by_class(c: &Classified, path: Option<&Path>, message: String) -> PersistError {
    if c.is("Constraint") || c.is("Conversion") {
        return PersistError::constraint(NAME, message);
    }
    let lower = c.text.to_ascii_lowercase();
    // A key a concurrent transaction committed first, found at commit.
    if c.is("TransactionContext") && lower.contains("constraint violation") {
        return PersistError::constraint(NAME, message);
    }
    if c.is("TransactionContext") && lower.contains("conflict") {
        return PersistError::conflict(NAME, message);
    }
    if c.is("Data Corruption") {
        return corrupt(path, message);
    }
    let retryable =
        // Another process holds the database file; it may let go.
        (c.is("IO") && c.says("Could not set lock on file"))
            || c.is("INTERRUPT");
    PersistError::backend(NAME, message, retryable)
}

fn corrupt(path: Option<&Path>, message: String) -> PersistError {
    PersistError::corrupt(
        NAME,
        match path {
            Some(p) => format!("{}: {message}", p.display()),
            None => message,
        },
    )
}

/// Errors of opening a database file: not a DuckDB file (or a damaged one) is `Corrupt`,
/// file-system refusals are `Io` naming the path, a lock held by another process is a
/// retryable `Backend` error.
pub(crate) fn open_error(path: Option<&Path>, e: duckdb::Error) -> PersistError {
    let Some(c) = Classified::of(&e, path) else {
        return classify(e, path);
    };
    if c.is("IO")
        && (c.says("The file \"\" exists, but it is not a valid DuckDB database file")
            || c.says("The file is not a valid DuckDB database file")
            || c.says("Corrupt database file"))
    {
        return corrupt(path, e.to_string()).with_source(e);
    }
    if !c.is("IO") || c.says("Could not set lock on file") {
        return classify(e, path);
    }
    let lower = c.text.to_ascii_lowercase();
    let kind = if lower.contains("no such file") || lower.contains("does not exist") {
        std::io::ErrorKind::NotFound
    } else if lower.contains("permission denied") || lower.contains("read-only file system") {
        std::io::ErrorKind::PermissionDenied
    } else {
        std::io::ErrorKind::Other
    };
    PersistError::Io {
        backend: NAME,
        path: path.map(Path::to_path_buf),
        // The I/O error wraps DuckDB's: same text, and `source()` still reaches it.
        source: std::io::Error::new(kind, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(message: &str) -> duckdb::Error {
        duckdb::Error::DuckDBFailure(
            duckdb::ffi::Error::new(duckdb::ffi::DuckDBError),
            Some(message.to_string()),
        )
    }

    #[test]
    fn a_lock_held_elsewhere_is_retryable_whatever_the_path_says() {
        let path = Path::new("/tmp/Corrupt database file: not a valid DuckDB database file/x.db");
        let e = failure(&format!(
            "IO Error: Could not set lock on file \"{}\": Conflicting lock is held in /bin/x (PID 7)",
            path.display()
        ));
        let err = open_error(Some(path), e);
        assert!(
            matches!(
                err,
                PersistError::Backend {
                    retryable: true,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_missing_folder_named_like_a_lock_or_corruption_is_not_found() {
        let path = Path::new("/tmp/Could not set lock on file/Corrupt/x.db");
        let e = failure(&format!(
            "IO Error: Cannot open file \"{}\": No such file or directory",
            path.display()
        ));
        match open_error(Some(path), e) {
            PersistError::Io { source, .. } => {
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_quoted_value_does_not_change_the_class() {
        let err = db_error(failure(
            "Binder Error: Table \"Constraint Error conflict\" does not exist",
        ));
        assert!(
            matches!(
                err,
                PersistError::Backend {
                    retryable: false,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = db_error(failure(
            "TransactionContext Error: Catalog write-write conflict on create with \"t\"",
        ));
        assert!(matches!(err, PersistError::Conflict { .. }), "{err:?}");
        let err = db_error(failure("Constraint Error: Duplicate key \"id: 1\""));
        assert!(matches!(err, PersistError::Constraint { .. }), "{err:?}");
        let err = db_error(failure(
            "Failed to append: Duplicate key \"id: 5\" violates primary key constraint.",
        ));
        assert!(matches!(err, PersistError::Constraint { .. }), "{err:?}");
    }

    #[test]
    fn not_a_database_is_corrupt() {
        let path = Path::new("/tmp/Could not set lock on file/notes.db");
        let e = failure(&format!(
            "IO Error: The file \"{}\" exists, but it is not a valid DuckDB database file!",
            path.display()
        ));
        assert!(matches!(
            open_error(Some(path), e),
            PersistError::Corrupt { .. }
        ));
    }
}
