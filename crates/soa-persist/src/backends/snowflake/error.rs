//! Snowflake's failures as `PersistError`s. A response names a failure by a code: login codes
//! (bad credentials, a refused JWT) are never retryable; an expired or unknown session is
//! renewed by the client; an SQL error keeps Snowflake's code and message; HTTP 5xx, 429 and
//! network trouble are retryable and name the URL.

use super::NAME;
use soa_persist_api::PersistError;

/// Codes of a session that has expired or that the server no longer knows: log in again.
pub(crate) const SESSION_GONE: &[&str] = &["390111", "390112", "390104", "390114"];

/// Codes of a query still running: its result is fetched from `getResultUrl`.
pub(crate) const IN_PROGRESS: &[&str] = &["333333", "333334"];

/// Login refusals: wrong user or password, a JWT the account refuses, a locked user.
const BAD_CREDENTIALS: &[&str] = &[
    "390100", // incorrect username or password
    "390101", // user temporarily locked
    "390102", // user disabled
    "390144", // JWT token is invalid
    "394304", // key-pair authentication failed
    "390190", // the account needs another authenticator
];

/// SQL errors caused by a concurrent transaction, which a retry can get past.
const CONFLICTS: &[&str] = &[
    "000625", // statement aborted because its locks were not granted
    "000604", // statement aborted
    "000630", // deadlock
];

/// SQL errors that mean a table or column doesn't fit the statement.
const SCHEMA: &[&str] = &[
    "002003", // object does not exist
    "000904", // invalid identifier
    "002023", // expression type does not match column data type
];

/// The error of a failed login answered with `code` and `message`.
pub(crate) fn login_error(code: &str, message: &str) -> PersistError {
    let retryable = !BAD_CREDENTIALS.contains(&code);
    PersistError::backend(
        NAME,
        format!("login refused ({code}): {message}"),
        retryable,
    )
}

/// The error of a statement Snowflake refused with `code`, `sql_state` and `message`.
pub(crate) fn sql_error(code: &str, sql_state: &str, message: &str, sql: &str) -> PersistError {
    let statement: String = sql.chars().take(300).collect();
    let detail = format!("SQL error {code} ({sql_state}): {message} [in: {statement}]");
    if CONFLICTS.contains(&code) {
        PersistError::conflict(NAME, detail)
    } else if SCHEMA.contains(&code) {
        PersistError::SchemaMismatch {
            backend: NAME,
            detail,
        }
    } else {
        PersistError::backend(NAME, detail, false)
    }
}

/// A request that got no answer (connection refused, reset, timed out): retryable.
pub(crate) fn network_error(url: &str, e: reqwest::Error) -> PersistError {
    PersistError::backend(NAME, format!("no answer from {url}: {e}"), true).with_source(e)
}

/// An HTTP status other than success, with the start of the body.
pub(crate) fn status_error(url: &str, status: u16, body: &[u8]) -> PersistError {
    let text: String = String::from_utf8_lossy(body).chars().take(500).collect();
    PersistError::Server {
        backend: NAME,
        status,
        message: format!("{url}: {text}"),
    }
}

/// An answer that isn't what the protocol says (bad JSON, a missing field, bad Arrow).
pub(crate) fn protocol_error(detail: impl Into<String>) -> PersistError {
    PersistError::backend(NAME, format!("unexpected answer: {}", detail.into()), false)
}
