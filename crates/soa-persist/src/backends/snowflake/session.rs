//! One session: statements run on it in order, and a transaction lives on it. An expired
//! session is renewed by logging in again, except inside a transaction (whose work the server
//! dropped with the session): that is a retryable error. A session goes back to the client's
//! pool when dropped, unless a transaction or a statement was still open on it.

use serde_json::Value;

use super::client::{Answer, SnowflakeClient};
use super::result::QueryResult;
use soa_persist_api::PersistError;

/// One logged-in session, back in the pool when dropped, unless a transaction is open on it
/// or a statement was still running (a caller stopped waiting): then it is logged out, which
/// makes the server roll the transaction back, and no one else sends to it meanwhile.
pub(crate) struct Session {
    client: SnowflakeClient,
    token: Option<String>,
    pub(crate) in_transaction: bool,
    busy: bool,
}

impl Drop for Session {
    fn drop(&mut self) {
        let Some(token) = self.token.take() else {
            return;
        };
        if !self.in_transaction && !self.busy {
            self.client.release(token);
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let client = self.client.clone();
            runtime.spawn(async move { client.logout(&token).await });
        }
    }
}

impl Session {
    pub(crate) fn new(client: SnowflakeClient, token: String) -> Self {
        Self {
            client,
            token: Some(token),
            in_transaction: false,
            busy: false,
        }
    }

    /// Runs `sql` with `bindings` (Snowflake's `{"1": {"type", "value"}}` form) and returns its
    /// result; a session the server forgot is replaced once, outside a transaction.
    pub(crate) async fn run(
        &mut self,
        sql: &str,
        bindings: Option<&Value>,
    ) -> Result<QueryResult, PersistError> {
        self.busy = true;
        let result = self.run_once(sql, bindings).await;
        self.busy = false;
        result
    }

    async fn run_once(
        &mut self,
        sql: &str,
        bindings: Option<&Value>,
    ) -> Result<QueryResult, PersistError> {
        let mut renewed = false;
        loop {
            let token = self.token.clone().unwrap_or_default();
            match self.client.request(&token, sql, bindings).await? {
                Answer::Done(data) => return QueryResult::parse(data),
                Answer::SessionGone(_) if !renewed && !self.in_transaction => {
                    renewed = true;
                    self.token = Some(self.client.login().await?);
                }
                Answer::SessionGone(message) => {
                    self.token = None;
                    return Err(PersistError::backend(
                        super::NAME,
                        format!(
                            "the session ended{}: {message}",
                            if self.in_transaction {
                                " inside a transaction, which was not committed"
                            } else {
                                ""
                            }
                        ),
                        true,
                    ));
                }
            }
        }
    }
}
