//! Connections to one DuckDB database: a root connection that every other is cloned from
//! (`try_clone` shares the database), an idle pool so each task gets its own connection, the
//! blocking-thread runner, transactions, and the mapping of DuckDB errors to `PersistError`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use duckdb::{AccessMode, Config, Connection};

use super::scan::{ARROW_SCAN, ParallelArrowScan};
use crate::persist::PersistError;

pub(crate) const NAME: &str = "duckdb";
/// Idle connections kept for reuse; more are cloned on demand and dropped when returned.
const MAX_IDLE: usize = 16;

/// How a database is opened.
#[derive(Clone, Debug)]
pub(crate) struct OpenConfig {
    pub read_only: bool,
    pub threads: Option<usize>,
    pub memory_limit: Option<String>,
    pub preserve_insertion_order: bool,
}

/// Databases open in this process, by canonical path: a second `open` of the same file shares
/// the first's database (two DuckDB instances on one file would each believe they own it).
static OPEN: LazyLock<Mutex<HashMap<PathBuf, Weak<Db>>>> = LazyLock::new(Default::default);

/// The canonical form of a database path that may not exist yet.
fn canonical(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            parent
                .canonicalize()
                .map(|p| p.join(name))
                .unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

pub(crate) struct Db {
    root: Mutex<Connection>,
    idle: Mutex<Vec<Connection>>,
    path: Option<PathBuf>,
    read_only: bool,
}

impl Db {
    pub fn open(path: Option<&Path>, cfg: &OpenConfig) -> Result<Arc<Self>, PersistError> {
        let Some(path) = path else {
            return Self::open_new(None, cfg);
        };
        let key = canonical(path);
        let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
        open.retain(|_, db| db.strong_count() > 0);
        if let Some(db) = open.get(&key).and_then(Weak::upgrade) {
            if db.read_only != cfg.read_only {
                return Err(PersistError::Backend {
                    backend: NAME,
                    message: format!(
                        "{} is already open {} in this process",
                        path.display(),
                        if db.read_only {
                            "read-only"
                        } else {
                            "read-write"
                        }
                    ),
                    retryable: false,
                });
            }
            return Ok(db);
        }
        let db = Self::open_new(Some(path), cfg)?;
        open.insert(key, Arc::downgrade(&db));
        Ok(db)
    }

    fn open_new(path: Option<&Path>, cfg: &OpenConfig) -> Result<Arc<Self>, PersistError> {
        let config = || -> duckdb::Result<Config> {
            // Lossless Arrow export: UUIDs as 16-byte arrow.uuid, not text.
            let mut c = Config::default().with("arrow_lossless_conversion", "true")?;
            if cfg.read_only {
                c = c.access_mode(AccessMode::ReadOnly)?;
            }
            if let Some(n) = cfg.threads {
                c = c.threads(n as i64)?;
            }
            if !cfg.preserve_insertion_order {
                c = c.with("preserve_insertion_order", "false")?;
            }
            if let Some(limit) = &cfg.memory_limit {
                c = c.max_memory(limit)?;
            }
            Ok(c)
        };
        let config = config().map_err(|e| PersistError::Backend {
            backend: NAME,
            message: format!("invalid DuckDB settings: {e}"),
            retryable: false,
        })?;
        let root = match path {
            Some(p) => Connection::open_with_flags(p, config),
            None => Connection::open_in_memory_with_flags(config),
        }
        .map_err(|e| open_error(path, e))?;
        root.register_table_function::<ParallelArrowScan>(ARROW_SCAN)
            .map_err(db_error)?;
        Ok(Arc::new(Self {
            root: Mutex::new(root),
            idle: Mutex::new(Vec::new()),
            path: path.map(Path::to_path_buf),
            read_only: cfg.read_only,
        }))
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// A connection of this task's own: an idle one, or a fresh clone of the root.
    pub fn get(self: &Arc<Self>) -> Result<Pooled, PersistError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(c) => c,
            None => self
                .root
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .try_clone()
                .map_err(db_error)?,
        };
        Ok(Pooled {
            conn: Some(conn),
            db: self.clone(),
        })
    }

    /// Runs `f` on a pooled connection in a blocking thread (DuckDB calls block).
    pub async fn run<R, F>(self: &Arc<Self>, f: F) -> Result<R, PersistError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, PersistError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| PersistError::Backend {
            backend: NAME,
            message: format!("DuckDB task failed: {e}"),
            retryable: false,
        })?
    }
}

/// A connection that goes back to the idle pool when dropped, unless it is mid-transaction
/// (a failure left it there), in which case it is closed instead.
pub(crate) struct Pooled {
    conn: Option<Connection>,
    db: Arc<Db>,
}

impl std::ops::Deref for Pooled {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && conn.is_autocommit()
        {
            let mut idle = self.db.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
    }
}

/// Runs `f` inside one transaction: committed if it returns `Ok`, rolled back otherwise.
pub(crate) fn in_transaction<R>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<R, PersistError>,
) -> Result<R, PersistError> {
    conn.execute_batch("BEGIN TRANSACTION").map_err(db_error)?;
    match f(conn) {
        Ok(r) => match conn.execute_batch("COMMIT") {
            Ok(()) => Ok(r),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(db_error(e))
            }
        },
        Err(e) => {
            // A failed statement may already have aborted the transaction; either way it ends.
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Maps a DuckDB error by its class (DuckDB prefixes every message with one).
pub(crate) fn db_error(e: duckdb::Error) -> PersistError {
    let message = e.to_string();
    if message.contains("Constraint Error") {
        return PersistError::Constraint {
            backend: NAME,
            detail: message,
        };
    }
    if message.contains("TransactionContext Error") && message.contains("onflict") {
        return PersistError::Conflict {
            backend: NAME,
            detail: message,
        };
    }
    if message.contains("Could not set lock") || message.contains("Conflicting lock") {
        // Another process holds the database file; it may let go.
        return PersistError::Backend {
            backend: NAME,
            message,
            retryable: true,
        };
    }
    if message.contains("Conversion Error") {
        return PersistError::Constraint {
            backend: NAME,
            detail: message,
        };
    }
    let retryable = message.contains("INTERRUPT");
    PersistError::Backend {
        backend: NAME,
        message,
        retryable,
    }
}

/// Errors of opening a database file: not a DuckDB file is `Corrupt`, file-system refusals
/// are `Io` naming the path.
fn open_error(path: Option<&Path>, e: duckdb::Error) -> PersistError {
    let message = e.to_string();
    let lower = message.to_ascii_lowercase();
    if lower.contains("not a valid duckdb database")
        || lower.contains("not a duckdb")
        || lower.contains("invalid magic")
        || lower.contains("corrupt")
    {
        return PersistError::Corrupt {
            backend: NAME,
            detail: format!(
                "{}: {message}",
                path.map(|p| p.display().to_string()).unwrap_or_default()
            ),
        };
    }
    let kind = if lower.contains("permission denied") || lower.contains("read-only") {
        Some(std::io::ErrorKind::PermissionDenied)
    } else if lower.contains("no such file") || lower.contains("does not exist") {
        Some(std::io::ErrorKind::NotFound)
    } else if lower.contains("io error") && !lower.contains("lock") {
        Some(std::io::ErrorKind::Other)
    } else {
        None
    };
    match kind {
        Some(kind) => PersistError::Io {
            backend: NAME,
            path: path.map(Path::to_path_buf),
            source: std::io::Error::new(kind, message),
        },
        None => db_error(e),
    }
}
