//! Where and as whom to connect: the account's URL (or an emulator's `http://host:port`), the
//! account and user, a password or a key pair, the database and schema, and when writes go
//! through a stage instead of an `INSERT`.

use std::time::Duration;

/// How the client proves who it is.
#[derive(Clone)]
pub enum Auth {
    /// A user's password (Snowflake refuses it for service users that must use key pairs).
    Password(String),
    /// Key-pair authentication: a JWT signed with this RSA private key (PKCS#8 or PKCS#1 PEM,
    /// unencrypted) whose public key is registered on the user (`RSA_PUBLIC_KEY`).
    KeyPair {
        /// The private key, PEM.
        private_key_pem: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret.
        f.write_str(match self {
            Auth::Password(_) => "Password(..)",
            Auth::KeyPair { .. } => "KeyPair(..)",
        })
    }
}

/// The connection settings of a [`SnowflakeClient`](super::SnowflakeClient).
#[derive(Clone, Debug)]
pub struct SnowflakeConfig {
    pub(crate) url: String,
    pub(crate) account: String,
    pub(crate) user: String,
    pub(crate) auth: Auth,
    pub(crate) database: String,
    pub(crate) schema: String,
    pub(crate) warehouse: Option<String>,
    pub(crate) role: Option<String>,
    pub(crate) bulk_rows: usize,
    pub(crate) timeout: Duration,
    pub(crate) session_parameters: Vec<(String, String)>,
}

/// Rows from which a write goes through a stage and `COPY INTO` instead of one `INSERT` with
/// array bindings: above the emulator's measured crossover (4-16 rows, see the README), not a
/// measurement on Snowflake; `with_bulk_rows` changes it.
pub const DEFAULT_BULK_ROWS: usize = 64;

impl SnowflakeConfig {
    /// The account `account` (its identifier, e.g. `myorg-myaccount` or a locator) at
    /// `https://<account>.snowflakecomputing.com`.
    pub fn account(account: &str, user: &str, auth: Auth) -> Self {
        let url = format!("https://{account}.snowflakecomputing.com");
        Self::new(&url, account, user, auth)
    }

    /// A server at `url` (`https://…` for Snowflake, `http://127.0.0.1:port` for an emulator)
    /// for `account`; database `SOA` and schema `PUBLIC` until `with_database` says otherwise.
    pub fn new(url: &str, account: &str, user: &str, auth: Auth) -> Self {
        Self {
            url: url.trim_end_matches('/').to_string(),
            account: account.to_string(),
            user: user.to_string(),
            auth,
            database: "SOA".into(),
            schema: "PUBLIC".into(),
            warehouse: None,
            role: None,
            bulk_rows: DEFAULT_BULK_ROWS,
            timeout: Duration::from_secs(300),
            session_parameters: Vec::new(),
        }
    }

    /// The database and schema tables live in (created if missing when the user may).
    pub fn with_database(mut self, database: &str, schema: &str) -> Self {
        self.database = database.to_string();
        self.schema = schema.to_string();
        self
    }

    /// The warehouse queries run on.
    pub fn with_warehouse(mut self, warehouse: &str) -> Self {
        self.warehouse = Some(warehouse.to_string());
        self
    }

    /// The role the session takes.
    pub fn with_role(mut self, role: &str) -> Self {
        self.role = Some(role.to_string());
        self
    }

    /// Writes of at least `rows` rows go through a stage and `COPY INTO`; smaller ones are one
    /// `INSERT` with array bindings.
    pub fn with_bulk_rows(mut self, rows: usize) -> Self {
        self.bulk_rows = rows.max(1);
        self
    }

    /// How long one HTTP request may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A session parameter set at login (`QUERY_TAG`, `STATEMENT_TIMEOUT_IN_SECONDS`, …).
    pub fn with_session_parameter(mut self, name: &str, value: &str) -> Self {
        self.session_parameters
            .push((name.to_string(), value.to_string()));
        self
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database tables live in.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The schema tables live in.
    pub fn schema(&self) -> &str {
        &self.schema
    }
}
