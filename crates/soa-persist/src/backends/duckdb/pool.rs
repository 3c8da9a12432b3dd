//! Connections to one DuckDB database: a root connection that every other is cloned from
//! (`try_clone` shares the database), an idle pool so each task gets its own connection, the
//! blocking-thread runner, transactions, and the process-wide registry that makes every open of
//! one database file in this process share one DuckDB instance.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError, Weak};

use duckdb::Connection;

use super::error::{db_error, open_error};
use super::ingest::{ARROW_SCAN, ParallelArrowScan};
use super::raw::{RawConn, RawDb, Sql};
use soa_persist_api::PersistError;

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
    pub wal_autocheckpoint: Option<String>,
}

/// Databases open in this process, by the identity of their file (device, inode): every path
/// that reaches one file (symlinks, hard links, `..`) shares one database, since two DuckDB
/// instances on one file would each believe they own it (and DuckDB's file lock does not stop
/// a second instance in the same process).
static OPEN: LazyLock<Mutex<HashMap<FileId, Weak<Db>>>> = LazyLock::new(Default::default);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity of the file `path` leads to (symlinks followed).
    fn of(path: &Path) -> std::io::Result<Self> {
        let m = std::fs::metadata(path)?;
        Ok(Self {
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

pub(crate) struct Db {
    root: Mutex<Connection>,
    idle: Mutex<Vec<Connection>>,
    /// Held by writes that touch our bookkeeping tables (write ids, written tables) from their
    /// first statement to their commit, so that checking and recording are one step. Only
    /// one process can have a database open for writing, so this is every such writer.
    bookkeeping: Mutex<()>,
    path: Option<PathBuf>,
    read_only: bool,
    /// The database itself; declared last, so it closes after every connection above.
    raw: RawDb,
}

impl Db {
    pub(super) fn open(path: Option<&Path>, cfg: &OpenConfig) -> Result<Arc<Self>, PersistError> {
        let Some(path) = path else {
            return Self::open_new(None, cfg);
        };
        // The registry stays locked until the new database is in it: two opens of a file that
        // does not exist yet must not both create an instance.
        let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
        open.retain(|_, db| db.strong_count() > 0);
        let existing = match FileId::of(path) {
            Ok(id) => Some(id),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(PersistError::Io {
                    backend: NAME,
                    path: Some(path.to_path_buf()),
                    source,
                });
            }
        };
        if let Some(db) = existing
            .and_then(|id| open.get(&id))
            .and_then(Weak::upgrade)
        {
            if db.read_only != cfg.read_only {
                return Err(PersistError::invalid_input(
                    NAME,
                    format!(
                        "{} is already open {} in this process",
                        path.display(),
                        if db.read_only {
                            "read-only"
                        } else {
                            "read-write"
                        }
                    ),
                ));
            }
            return Ok(db);
        }
        let db = Self::open_new(Some(path), cfg)?;
        // DuckDB created the file if it was missing (through a dangling symlink, at its target).
        let id = match existing {
            Some(id) => id,
            None => FileId::of(path).map_err(|source| PersistError::Io {
                backend: NAME,
                path: Some(path.to_path_buf()),
                source,
            })?,
        };
        open.insert(id, Arc::downgrade(&db));
        Ok(db)
    }

    fn open_new(path: Option<&Path>, cfg: &OpenConfig) -> Result<Arc<Self>, PersistError> {
        // Lossless Arrow export: UUIDs as 16-byte arrow.uuid, not text.
        let mut settings = vec![("arrow_lossless_conversion", "true".to_string())];
        if cfg.read_only {
            settings.push(("access_mode", "READ_ONLY".into()));
        }
        if let Some(n) = cfg.threads {
            settings.push(("threads", n.to_string()));
        }
        if !cfg.preserve_insertion_order {
            settings.push(("preserve_insertion_order", "false".into()));
        }
        if let Some(limit) = &cfg.memory_limit {
            settings.push(("max_memory", limit.clone()));
        }
        if let Some(size) = &cfg.wal_autocheckpoint {
            settings.push(("checkpoint_threshold", size.clone()));
        }
        // Opened through the C API, so that writes can also connect on their own (see `raw`).
        let raw = RawDb::open(path, &settings).map_err(|e| match &e {
            duckdb::Error::DuckDBFailure(_, Some(m))
                if m.starts_with("Invalid Input Error: invalid setting") =>
            {
                PersistError::invalid_input(NAME, format!("invalid DuckDB settings: {e}"))
                    .with_source(e)
            }
            _ => open_error(path, e),
        })?;
        // SAFETY: `raw` is open and outlives this connection and its clones: `Db` drops it
        // last, and every connection handed out holds the `Db`.
        let root =
            unsafe { Connection::open_from_raw(raw.handle()) }.map_err(|e| open_error(path, e))?;
        root.register_table_function::<ParallelArrowScan>(ARROW_SCAN)
            .map_err(db_error)?;
        Ok(Arc::new(Self {
            root: Mutex::new(root),
            idle: Mutex::new(Vec::new()),
            bookkeeping: Mutex::new(()),
            path: path.map(Path::to_path_buf),
            read_only: cfg.read_only,
            raw,
        }))
    }

    /// A connection of our own on this database (for DuckDB's own Arrow scan).
    pub(super) fn connect_raw(&self) -> Result<RawConn, PersistError> {
        self.raw.connect().map_err(db_error)
    }

    pub(super) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Taken on the blocking thread of a write, so it lasts until the commit even when the
    /// caller stops waiting.
    pub(super) fn bookkeeping(&self) -> MutexGuard<'_, ()> {
        self.bookkeeping
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn read_only(&self) -> bool {
        self.read_only
    }

    /// A connection of this task's own: an idle one, or a fresh clone of the root.
    pub(super) fn get(self: &Arc<Self>) -> Result<Pooled, PersistError> {
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
    pub(super) async fn run<R, F>(self: &Arc<Self>, f: F) -> Result<R, PersistError>
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
        .map_err(|e| {
            PersistError::backend(NAME, format!("DuckDB task failed: {e}"), false).with_source(e)
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
pub(crate) fn in_transaction<C: Sql, R>(
    conn: &C,
    f: impl FnOnce(&C) -> Result<R, PersistError>,
) -> Result<R, PersistError> {
    conn.exec("BEGIN TRANSACTION", &[]).map_err(db_error)?;
    match f(conn) {
        Ok(r) => match conn.exec("COMMIT", &[]) {
            Ok(_) => Ok(r),
            Err(e) => {
                let _ = conn.exec("ROLLBACK", &[]);
                Err(db_error(e))
            }
        },
        Err(e) => {
            // A failed statement may already have aborted the transaction; either way it ends.
            let _ = conn.exec("ROLLBACK", &[]);
            Err(e)
        }
    }
}
