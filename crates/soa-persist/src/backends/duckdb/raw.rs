//! DuckDB's C API where the duckdb crate has no door: the database opened by us (the crate's
//! connections are then opened on it), and connections of our own on which DuckDB scans an
//! Arrow stream with its own reader (`duckdb_arrow_scan`) inside a write's transaction.

use std::ffi::{CStr, CString, c_char};
use std::path::Path;
use std::ptr;

use duckdb::ffi;
use soa_persist_core::arrow::array::RecordBatchReader;
use soa_persist_core::arrow::ffi_stream::FFI_ArrowArrayStream;

/// A DuckDB error with its message, as the crate reports them (so `db_error` classifies both).
fn failure(message: String) -> duckdb::Error {
    duckdb::Error::DuckDBFailure(ffi::Error::new(ffi::DuckDBError), Some(message))
}

fn c_string(text: &str) -> Result<CString, duckdb::Error> {
    CString::new(text).map_err(|_| failure(format!("{text:?} holds a NUL byte")))
}

/// A database opened through the C API; closed when dropped (after every connection on it).
pub(crate) struct RawDb(ffi::duckdb_database);

// SAFETY: a DuckDB database handle may be used from any thread; DuckDB synchronises inside.
unsafe impl Send for RawDb {}
// SAFETY: as above; `connect` is the only call made through a shared reference.
unsafe impl Sync for RawDb {}

impl RawDb {
    /// Opens `path` (in memory when `None`) with the settings `(name, value)`.
    pub(crate) fn open(
        path: Option<&Path>,
        settings: &[(&str, String)],
    ) -> Result<Self, duckdb::Error> {
        let path = match path {
            Some(p) => c_string(&p.to_string_lossy())?,
            None => c_string(":memory:")?,
        };
        let mut config: ffi::duckdb_config = ptr::null_mut();
        // SAFETY: `config` is an out pointer; it is destroyed below on every path.
        if unsafe { ffi::duckdb_create_config(&mut config) } != ffi::DuckDBSuccess {
            return Err(failure("could not create a DuckDB configuration".into()));
        }
        let mut set = Ok(());
        for (name, value) in settings {
            let (n, v) = (c_string(name)?, c_string(value)?);
            // SAFETY: `config` is live; both strings outlive the call.
            if unsafe { ffi::duckdb_set_config(config, n.as_ptr(), v.as_ptr()) }
                != ffi::DuckDBSuccess
            {
                set = Err(failure(format!(
                    "Invalid Input Error: invalid setting {name} = {value}"
                )));
                break;
            }
        }
        let mut db: ffi::duckdb_database = ptr::null_mut();
        let mut error: *mut c_char = ptr::null_mut();
        let state = match set {
            // SAFETY: `path` and `config` are live; `db` and `error` are out pointers.
            Ok(()) => unsafe { ffi::duckdb_open_ext(path.as_ptr(), &mut db, config, &mut error) },
            Err(_) => ffi::DuckDBError,
        };
        // SAFETY: created above, destroyed once.
        unsafe { ffi::duckdb_destroy_config(&mut config) };
        set?;
        if state != ffi::DuckDBSuccess {
            let message = if error.is_null() {
                "could not open the database".to_string()
            } else {
                // SAFETY: DuckDB hands a NUL-terminated message that we must free.
                let m = unsafe { CStr::from_ptr(error) }
                    .to_string_lossy()
                    .into_owned();
                unsafe { ffi::duckdb_free(error.cast()) };
                m
            };
            return Err(failure(message));
        }
        Ok(Self(db))
    }

    /// The handle, for `duckdb::Connection::open_from_raw` (which does not close it).
    pub(crate) fn handle(&self) -> ffi::duckdb_database {
        self.0
    }

    /// A connection of our own.
    pub(crate) fn connect(&self) -> Result<RawConn, duckdb::Error> {
        let mut conn: ffi::duckdb_connection = ptr::null_mut();
        // SAFETY: the database is open until `self` drops; `conn` is an out pointer.
        if unsafe { ffi::duckdb_connect(self.0, &mut conn) } != ffi::DuckDBSuccess {
            return Err(failure("could not connect to the database".into()));
        }
        Ok(RawConn(conn))
    }
}

impl Drop for RawDb {
    fn drop(&mut self) {
        // SAFETY: opened by `open`, closed once; the crate's connections on it are gone (`Db`
        // drops this last).
        unsafe { ffi::duckdb_close(&mut self.0) };
    }
}

/// A value bound to a statement parameter.
pub(crate) enum Param<'a> {
    Text(&'a str),
    U64(u64),
}

/// One connection of our own; disconnected when dropped.
pub(crate) struct RawConn(ffi::duckdb_connection);

/// A query result, destroyed when dropped.
struct Answer(ffi::duckdb_result);

impl Drop for Answer {
    fn drop(&mut self) {
        // SAFETY: filled by a query call (success or not), destroyed once.
        unsafe { ffi::duckdb_destroy_result(&mut self.0) };
    }
}

impl Answer {
    fn check(mut self, state: ffi::duckdb_state) -> Result<Self, duckdb::Error> {
        if state == ffi::DuckDBSuccess {
            return Ok(self);
        }
        // SAFETY: the result of a failed query holds its message until destroyed.
        let message = unsafe { ffi::duckdb_result_error(&mut self.0) };
        Err(failure(if message.is_null() {
            "query failed".to_string()
        } else {
            unsafe { CStr::from_ptr(message) }
                .to_string_lossy()
                .into_owned()
        }))
    }
}

impl RawConn {
    /// The first column of the first row of `sql`'s answer, as text.
    pub(crate) fn first_text(&self, sql: &str) -> Result<String, duckdb::Error> {
        let mut answer = self.run(sql, &[])?;
        // SAFETY: a successful result; row 0 is read only when it exists; the string DuckDB
        // allocates is freed after copying.
        unsafe {
            if ffi::duckdb_row_count(&mut answer.0) == 0 {
                return Err(failure(format!("{sql}: no row")));
            }
            let text = ffi::duckdb_value_varchar(&mut answer.0, 0, 0);
            if text.is_null() {
                return Err(failure(format!("{sql}: null")));
            }
            let owned = CStr::from_ptr(text).to_string_lossy().into_owned();
            ffi::duckdb_free(text.cast());
            Ok(owned)
        }
    }

    fn run(&self, sql: &str, params: &[Param<'_>]) -> Result<Answer, duckdb::Error> {
        let text = c_string(sql)?;
        let mut answer = Answer(unsafe { std::mem::zeroed() });
        if params.is_empty() {
            // SAFETY: the connection is open; `text` outlives the call.
            let state = unsafe { ffi::duckdb_query(self.0, text.as_ptr(), &mut answer.0) };
            return answer.check(state);
        }
        let mut stmt: ffi::duckdb_prepared_statement = ptr::null_mut();
        // SAFETY: as above; `stmt` is destroyed below on every path.
        let prepared = unsafe { ffi::duckdb_prepare(self.0, text.as_ptr(), &mut stmt) };
        let result = (|| {
            if prepared != ffi::DuckDBSuccess {
                // SAFETY: a failed statement holds its message until destroyed.
                let m = unsafe { ffi::duckdb_prepare_error(stmt) };
                return Err(failure(if m.is_null() {
                    "prepare failed".into()
                } else {
                    unsafe { CStr::from_ptr(m) }.to_string_lossy().into_owned()
                }));
            }
            for (i, p) in params.iter().enumerate() {
                let at = (i + 1) as ffi::idx_t;
                // SAFETY: a prepared statement; text is bound by pointer and length and copied.
                let bound = unsafe {
                    match p {
                        Param::Text(t) => ffi::duckdb_bind_varchar_length(
                            stmt,
                            at,
                            t.as_ptr().cast(),
                            t.len() as ffi::idx_t,
                        ),
                        Param::U64(v) => ffi::duckdb_bind_uint64(stmt, at, *v),
                    }
                };
                if bound != ffi::DuckDBSuccess {
                    return Err(failure(format!(
                        "Binder Error: could not bind parameter {at}"
                    )));
                }
            }
            // SAFETY: a prepared statement with every parameter bound.
            let state = unsafe { ffi::duckdb_execute_prepared(stmt, &mut answer.0) };
            Ok(state)
        })();
        // SAFETY: prepared above (even when preparing failed), destroyed once.
        unsafe { ffi::duckdb_destroy_prepare(&mut stmt) };
        answer.check(result?)
    }

    /// Makes `reader`'s batches scannable as the view `name` by DuckDB's own Arrow reader until
    /// the returned stream is dropped (drop the view first). Several batches let DuckDB's
    /// threads convert them in parallel.
    pub(crate) fn scan_arrow(
        &self,
        name: &str,
        reader: Box<dyn RecordBatchReader + Send>,
    ) -> Result<Box<FFI_ArrowArrayStream>, duckdb::Error> {
        let mut stream = Box::new(FFI_ArrowArrayStream::new(reader));
        let name = c_string(name)?;
        // SAFETY: the stream lives in a box the caller keeps until the view is dropped; DuckDB
        // does not take ownership of it (it calls no release on it).
        let state = unsafe {
            ffi::duckdb_arrow_scan(
                self.0,
                name.as_ptr(),
                (&mut *stream as *mut FFI_ArrowArrayStream).cast(),
            )
        };
        if state != ffi::DuckDBSuccess {
            return Err(failure(format!("could not scan Arrow data as {name:?}")));
        }
        Ok(stream)
    }
}

impl Drop for RawConn {
    fn drop(&mut self) {
        // SAFETY: connected by `RawDb::connect`, disconnected once.
        unsafe { ffi::duckdb_disconnect(&mut self.0) };
    }
}

/// The statements a write runs, on the crate's connections or on one of our own.
pub(crate) trait Sql {
    /// Runs `sql` with `params`; the rows it changed.
    fn exec(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, duckdb::Error>;
    /// The first column of the first row of `sql`'s answer (`None`: no row, or null).
    fn first_u64(&self, sql: &str, params: &[Param<'_>]) -> Result<Option<u64>, duckdb::Error>;
}

fn values(params: &[Param<'_>]) -> Vec<duckdb::types::Value> {
    params
        .iter()
        .map(|p| match p {
            Param::Text(t) => duckdb::types::Value::Text(t.to_string()),
            Param::U64(v) => duckdb::types::Value::UBigInt(*v),
        })
        .collect()
}

impl Sql for duckdb::Connection {
    fn exec(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, duckdb::Error> {
        if params.is_empty() {
            return self.execute_batch(sql).map(|()| 0);
        }
        let n = self.execute(sql, duckdb::params_from_iter(values(params)))?;
        Ok(n as u64)
    }

    fn first_u64(&self, sql: &str, params: &[Param<'_>]) -> Result<Option<u64>, duckdb::Error> {
        use duckdb::OptionalExt;
        let row = self
            .query_row(sql, duckdb::params_from_iter(values(params)), |r| {
                r.get::<_, Option<u64>>(0)
            })
            .optional()?;
        Ok(row.flatten())
    }
}

impl Sql for RawConn {
    fn exec(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, duckdb::Error> {
        let mut answer = self.run(sql, params)?;
        // SAFETY: a successful result.
        Ok(unsafe { ffi::duckdb_rows_changed(&mut answer.0) })
    }

    fn first_u64(&self, sql: &str, params: &[Param<'_>]) -> Result<Option<u64>, duckdb::Error> {
        let mut answer = self.run(sql, params)?;
        // SAFETY: a successful result; row 0 is read only when it exists.
        unsafe {
            if ffi::duckdb_row_count(&mut answer.0) == 0
                || ffi::duckdb_value_is_null(&mut answer.0, 0, 0)
            {
                return Ok(None);
            }
            Ok(Some(ffi::duckdb_value_uint64(&mut answer.0, 0, 0)))
        }
    }
}
