//! ClickHouse failures as `PersistError`s. The server names each failure with a code
//! (`Code: 60. DB::Exception: ...` on current servers, `Code: 60, e.displayText() = ...` on old
//! ones) in the response body, after a 200 when a query fails mid-stream; the code decides the
//! class: authentication and schema problems are never retryable, overload, timeouts and
//! network trouble are. A server that can't be reached is a retryable error naming the URL.

use super::NAME;
use soa_persist_api::PersistError;

/// ClickHouse error codes a retry can get past (timeouts, overload, network, a replica or
/// keeper hiccup, an insert whose fate is unknown).
const RETRYABLE: &[u32] = &[
    3,   // UNEXPECTED_END_OF_FILE
    159, // TIMEOUT_EXCEEDED
    160, // TOO_SLOW
    202, // TOO_MANY_SIMULTANEOUS_QUERIES
    203, // NO_FREE_CONNECTION
    209, // SOCKET_TIMEOUT
    210, // NETWORK_ERROR
    236, // ABORTED
    241, // MEMORY_LIMIT_EXCEEDED
    242, // TABLE_IS_READ_ONLY (a replica without keeper, for a while)
    252, // TOO_MANY_PARTS
    279, // ALL_CONNECTION_TRIES_FAILED
    319, // UNKNOWN_STATUS_OF_INSERT
    394, // QUERY_WAS_CANCELLED
    425, // SYSTEM_ERROR
    999, // KEEPER_EXCEPTION
];

/// Codes that mean the credentials were refused.
const AUTHENTICATION: &[u32] = &[
    192, // UNKNOWN_USER
    193, // WRONG_PASSWORD
    194, // REQUIRED_PASSWORD
    516, // AUTHENTICATION_FAILED
];

/// Codes that mean the statement doesn't fit the tables: a schema problem, not a transient one.
const SCHEMA: &[u32] = &[
    8,   // THERE_IS_NO_COLUMN
    10,  // NOT_FOUND_COLUMN_IN_BLOCK
    16,  // NO_SUCH_COLUMN_IN_TABLE
    44,  // ILLEGAL_COLUMN
    47,  // UNKNOWN_IDENTIFIER
    50,  // UNKNOWN_TYPE
    53,  // TYPE_MISMATCH
    60,  // UNKNOWN_TABLE
    81,  // UNKNOWN_DATABASE
    368, // BAD_CAST (a Native column of another type than the table's, on old servers)
];

/// The code in an exception text (`Code: 60` followed by `.` or `,`).
pub fn exception_code(text: &str) -> Option<u32> {
    let rest = &text[text.find("Code: ")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The error for ClickHouse's exception `text`, classified by its code.
pub fn server_exception(text: &str) -> PersistError {
    let message: String = text.chars().take(2000).collect();
    match exception_code(text) {
        Some(code) if AUTHENTICATION.contains(&code) => PersistError::Backend {
            backend: NAME,
            message: format!("authentication failed: {message}"),
            retryable: false,
            source: None,
        },
        Some(code) if SCHEMA.contains(&code) => PersistError::SchemaMismatch {
            backend: NAME,
            detail: message,
        },
        code => PersistError::Backend {
            backend: NAME,
            retryable: code.is_some_and(|c| RETRYABLE.contains(&c)),
            message,
            source: None,
        },
    }
}

/// The error text with its sources (hyper nests the cause of a failed connect two deep).
fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// `url` without credentials in it (`http://user:password@host` -> `http://host`), for messages.
pub(super) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// A task of this backend (`what`: which one) that panicked or was cancelled, as an error.
pub(super) fn task_failed(what: &'static str) -> impl Fn(tokio::task::JoinError) -> PersistError {
    move |e| PersistError::Backend {
        backend: NAME,
        message: format!("the {what} task failed: {e}"),
        retryable: false,
        source: None,
    }
}

/// An error of the official client, for a request to `url`.
pub(super) fn client_error(e: clickhouse::error::Error, url: &str) -> PersistError {
    use clickhouse::error::Error as E;
    let url = &redact_url(url);
    match &e {
        E::BadResponse(text) if exception_code(text).is_some() => server_exception(text),
        // No exception text: only the HTTP status (`401 Unauthorized`, `503 Service Unavailable`).
        E::BadResponse(text) => {
            let status: u16 = text
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            PersistError::Backend {
                backend: NAME,
                message: format!("{url} answered {text}"),
                retryable: status == 408 || status == 429 || (500..600).contains(&status),
                source: None,
            }
        }
        E::Network(_) => PersistError::backend(
            NAME,
            format!("can't reach ClickHouse at {url}: {}", with_sources(&e)),
            true,
        )
        .with_source(e),
        E::TimedOut => PersistError::Backend {
            backend: NAME,
            message: format!("request to {url} timed out"),
            retryable: true,
            source: None,
        },
        _ => PersistError::backend(NAME, format!("{url}: {}", with_sources(&e)), false)
            .with_source(e),
    }
}
