//! The transport: Snowflake's REST protocol as its own connectors speak it, kept to what the
//! backend needs. `POST /session/v1/login-request` (password or key-pair JWT) opens a session;
//! `POST /queries/v1/query-request` runs one statement with bound values; a presigned URL
//! takes a stage upload. Sessions (`session.rs`) are pooled here: each operation checks one
//! out, so a transaction owns its session while reads run on others.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::config::{Auth, SnowflakeConfig};
use super::error::{
    IN_PROGRESS, SESSION_GONE, login_error, network_error, protocol_error, sql_error, status_error,
};
use super::jwt::key_pair_jwt;
use super::session::Session;
use soa_persist_api::PersistError;

/// A connection to one Snowflake account (or emulator): a pool of sessions; cheap to clone.
#[derive(Clone)]
pub struct SnowflakeClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: SnowflakeConfig,
    idle: Mutex<Vec<String>>,
    /// Set once the database and schema are known to exist.
    schema_ready: AtomicBool,
}

impl std::fmt::Debug for SnowflakeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnowflakeClient")
            .field("url", &self.inner.config.url)
            .field("user", &self.inner.config.user)
            .finish()
    }
}

impl SnowflakeClient {
    /// Connects: logs in once (so bad credentials fail here, not at the first query) and
    /// creates the config's database and schema if they are missing.
    pub async fn connect(config: SnowflakeConfig) -> Result<Self, PersistError> {
        let client = Self::unconnected(config)?;
        drop(client.session().await?);
        Ok(client)
    }

    /// A client that has not logged in yet.
    pub(crate) fn unconnected(config: SnowflakeConfig) -> Result<Self, PersistError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| PersistError::invalid_input(super::NAME, format!("HTTP client: {e}")))?;
        let client = Self {
            inner: Arc::new(Inner {
                http,
                config,
                idle: Mutex::new(Vec::new()),
                schema_ready: AtomicBool::new(false),
            }),
        };
        Ok(client)
    }

    /// The settings this client was made with.
    pub fn config(&self) -> &SnowflakeConfig {
        &self.inner.config
    }

    /// Runs one statement (values bound, never formatted in) on a pooled session and returns
    /// every result batch as Snowflake sent it (its Arrow types, column metadata included).
    pub async fn sql(
        &self,
        sql: &str,
        bindings: Option<Value>,
    ) -> Result<Vec<soa_persist_core::arrow::array::RecordBatch>, PersistError> {
        use futures::TryStreamExt;
        let mut session = self.session().await?;
        let result = session.run(sql, bindings.as_ref()).await?;
        drop(session);
        result.into_stream(self.clone()).try_collect().await
    }

    /// Puts a session's token back in the pool.
    pub(crate) fn release(&self, token: String) {
        if let Ok(mut idle) = self.inner.idle.lock() {
            idle.push(token);
        }
    }

    /// Logs the pooled sessions out (the server would expire them anyway).
    pub async fn close(&self) {
        let tokens: Vec<String> = self
            .inner
            .idle
            .lock()
            .map(|mut idle| idle.drain(..).collect())
            .unwrap_or_default();
        for token in tokens {
            self.logout(&token).await;
        }
    }

    /// A session from the pool, or a new one.
    pub(crate) async fn session(&self) -> Result<Session, PersistError> {
        let pooled = self.inner.idle.lock().ok().and_then(|mut idle| idle.pop());
        let token = match pooled {
            Some(token) => token,
            None => self.login().await?,
        };
        Ok(Session::new(self.clone(), token))
    }

    /// Logs in and points the session at the config's schema (creating it the first time).
    pub(crate) async fn login(&self) -> Result<String, PersistError> {
        let c = &self.inner.config;
        let mut data = json!({
            "ACCOUNT_NAME": c.account,
            "LOGIN_NAME": c.user,
            "CLIENT_APP_ID": "soa-persist",
            "CLIENT_APP_VERSION": env!("CARGO_PKG_VERSION"),
            "SESSION_PARAMETERS": { "TIMEZONE": "UTC" },
        });
        for (name, value) in &c.session_parameters {
            data["SESSION_PARAMETERS"][name] = json!(value);
        }
        match &c.auth {
            Auth::Password(password) => data["PASSWORD"] = json!(password),
            Auth::KeyPair { private_key_pem } => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                data["AUTHENTICATOR"] = json!("SNOWFLAKE_JWT");
                data["TOKEN"] = json!(key_pair_jwt(&c.account, &c.user, private_key_pem, now)?);
            }
        }
        let mut query = vec![
            ("databaseName", c.database.as_str()),
            ("schemaName", c.schema.as_str()),
        ];
        if let Some(w) = &c.warehouse {
            query.push(("warehouse", w));
        }
        if let Some(r) = &c.role {
            query.push(("roleName", r));
        }
        let url = with_query(&format!("{}/session/v1/login-request", c.url), &query);
        let response = self
            .inner
            .http
            .post(&url)
            .header("Accept", "application/json")
            .json_body(&json!({ "data": data }))
            .send()
            .await
            .map_err(|e| network_error(&url, e))?;
        let body = read_json(&url, response).await?;
        if body["success"] != json!(true) {
            let code = body["code"].as_str().unwrap_or("");
            return Err(login_error(code, body["message"].as_str().unwrap_or("")));
        }
        let token = body["data"]["token"]
            .as_str()
            .ok_or_else(|| protocol_error("a login answer without a token"))?
            .to_string();
        self.use_schema(&token).await?;
        Ok(token)
    }

    /// One statement on a fresh session, outside the pool (a login's own set-up).
    async fn setup(&self, token: &str, sql: &str) -> Result<(), PersistError> {
        match self.request(token, sql, None).await? {
            Answer::Done(_) => Ok(()),
            Answer::SessionGone(message) => Err(PersistError::backend(
                super::NAME,
                format!("the new session ended at once: {message}"),
                true,
            )),
        }
    }

    /// `USE SCHEMA`, creating the database and schema when they don't exist yet.
    async fn use_schema(&self, token: &str) -> Result<(), PersistError> {
        let c = &self.inner.config;
        let (db, schema) = (quote(&c.database), quote(&c.schema));
        let use_it = format!("USE SCHEMA {db}.{schema}");
        if self.inner.schema_ready.load(Ordering::Acquire) {
            return self.setup(token, &use_it).await;
        }
        if self.setup(token, &use_it).await.is_err() {
            self.setup(token, &format!("CREATE DATABASE IF NOT EXISTS {db}"))
                .await?;
            self.setup(token, &format!("CREATE SCHEMA IF NOT EXISTS {db}.{schema}"))
                .await?;
            self.setup(token, &use_it).await?;
        }
        self.inner.schema_ready.store(true, Ordering::Release);
        Ok(())
    }

    pub(crate) async fn logout(&self, token: &str) {
        let url = format!("{}/session?delete=true", self.inner.config.url);
        let _ = self
            .inner
            .http
            .post(&url)
            .header("Authorization", auth_header(token))
            .send()
            .await;
    }

    /// Sends `body` to a stage's presigned URL (the upload of a `PUT`).
    pub(crate) async fn upload(&self, url: &str, body: Vec<u8>) -> Result<(), PersistError> {
        let response = self
            .inner
            .http
            .put(url)
            .body(body)
            .send()
            .await
            .map_err(|e| network_error(url, e))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.unwrap_or_default();
            return Err(status_error(url, status.as_u16(), &body));
        }
        Ok(())
    }

    /// The bytes at a result chunk's URL, with the headers the result named.
    pub(crate) async fn fetch_chunk(
        &self,
        url: &str,
        headers: &[(String, String)],
    ) -> Result<Vec<u8>, PersistError> {
        let mut request = self.inner.http.get(url);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let response = request.send().await.map_err(|e| network_error(url, e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| network_error(url, e))?;
        if !status.is_success() {
            return Err(status_error(url, status.as_u16(), &body));
        }
        Ok(body.to_vec())
    }
}

/// What the server said to a statement: its `data`, or that it no longer knows the session.
pub(crate) enum Answer {
    Done(Value),
    SessionGone(String),
}

impl SnowflakeClient {
    /// Sends one statement on the session of `token`; polls while Snowflake says it runs.
    pub(crate) async fn request(
        &self,
        token: &str,
        sql: &str,
        bindings: Option<&Value>,
    ) -> Result<Answer, PersistError> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let url = with_query(
            &format!("{}/queries/v1/query-request", self.inner.config.url),
            &[("requestId", &request_id)],
        );
        let mut body = json!({ "sqlText": sql, "asyncExec": false, "sequenceId": 1 });
        if let Some(b) = bindings {
            body["bindings"] = b.clone();
        }
        let response = self
            .inner
            .http
            .post(&url)
            .header("Authorization", auth_header(token))
            .header("Accept", "application/snowflake")
            .json_body(&body)
            .send()
            .await
            .map_err(|e| network_error(&url, e))?;
        let mut answer = read_json(&url, response).await?;
        loop {
            let code = answer["code"].as_str().unwrap_or("").to_string();
            if answer["success"] == json!(true) {
                return Ok(Answer::Done(answer["data"].take()));
            }
            let message = answer["message"].as_str().unwrap_or("").to_string();
            if SESSION_GONE.contains(&code.as_str()) {
                return Ok(Answer::SessionGone(format!("{code}: {message}")));
            }
            if !IN_PROGRESS.contains(&code.as_str()) {
                let state = answer["data"]["sqlState"].as_str().unwrap_or("");
                return Err(sql_error(&code, state, &message, sql));
            }
            // Still running: Snowflake hands out a URL to ask again.
            let path = answer["data"]["getResultUrl"]
                .as_str()
                .ok_or_else(|| protocol_error("a running query without getResultUrl"))?;
            let poll = format!("{}{path}", self.inner.config.url);
            tokio::time::sleep(Duration::from_millis(200)).await;
            let response = self
                .inner
                .http
                .get(&poll)
                .header("Authorization", auth_header(token))
                .header("Accept", "application/snowflake")
                .send()
                .await
                .map_err(|e| network_error(&poll, e))?;
            answer = read_json(&poll, response).await?;
        }
    }
}

/// The body of an answer as JSON: 401 answers carry a code too (an unknown session); other
/// non-success statuses are `Server` errors (5xx and 429 retryable).
async fn read_json(url: &str, response: reqwest::Response) -> Result<Value, PersistError> {
    let status = response.status();
    let body = response.bytes().await.map_err(|e| network_error(url, e))?;
    if !status.is_success() && status.as_u16() != 401 {
        return Err(status_error(url, status.as_u16(), &body));
    }
    serde_json::from_slice(&body).map_err(|e| {
        if status.is_success() {
            protocol_error(format!("{url} sent no JSON: {e}"))
        } else {
            status_error(url, status.as_u16(), &body)
        }
    })
}

/// `base?k=v&…`, values percent-encoded.
fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        query.append_pair(k, v);
    }
    format!("{base}?{}", query.finish())
}

fn auth_header(token: &str) -> String {
    format!("Snowflake Token=\"{token}\"")
}

/// A quoted identifier (the dialect's rule, for the client's own statements).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A JSON body without reqwest's `json` feature.
trait JsonBody {
    fn json_body(self, body: &Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, body: &Value) -> Self {
        self.header("Content-Type", "application/json")
            .body(body.to_string())
    }
}
