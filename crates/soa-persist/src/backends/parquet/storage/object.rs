//! `ObjectStorage`: a dataset under a prefix of an `object_store` store (memory://, S3, GCS,
//! Azure), with a probe that the store honours create-if-absent before the first commit.

use std::ops::Range;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use soa_persist_api::PersistError;

use super::{Entry, NAME, Storage, check_path, check_prefix};

/// Where the conditional-put probe writes (a hidden name, skipped by every dataset reader).
const PROBE_DIR: &str = "_soa_log";

/// A dataset under a prefix of an `object_store` store.
#[derive(Debug)]
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    url: String,
    /// Whether the store honours create-if-absent, found out once, before the first `put_new`:
    /// `Some(message)` when it does not.
    conditional_put: tokio::sync::OnceCell<Option<String>>,
}

impl ObjectStorage {
    /// A dataset at `prefix` of `store`; `url` names it in errors and stats.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: ObjectPath, url: impl Into<String>) -> Self {
        Self {
            store,
            prefix,
            url: url.into(),
            conditional_put: tokio::sync::OnceCell::new(),
        }
    }

    fn resolve(&self, path: &str) -> Result<ObjectPath, PersistError> {
        check_path(path, &self.url)?;
        Ok(path
            .split('/')
            .fold(self.prefix.clone(), |p, seg| p.join(seg)))
    }

    /// Refuses a store that ignores create-if-absent (some S3-compatible servers ignore
    /// `If-None-Match`): with it two writers committing the same version would overwrite each
    /// other silently. Probed once per storage by creating one hidden object twice.
    async fn check_conditional_put(&self) -> Result<(), PersistError> {
        let verdict = self
            .conditional_put
            .get_or_try_init(|| self.probe_conditional_put())
            .await?;
        match verdict {
            None => Ok(()),
            Some(message) => Err(PersistError::backend(NAME, message.clone(), false)),
        }
    }

    async fn probe_conditional_put(&self) -> Result<Option<String>, PersistError> {
        let location = self
            .prefix
            .clone()
            .join(PROBE_DIR)
            .join(format!(".probe-{}", uuid::Uuid::new_v4().simple()));
        let create = || PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let payload = || PutPayload::from_static(b"soa-persist conditional put probe");
        self.store
            .put_opts(&location, payload(), create())
            .await
            .map_err(object_err)?;
        let second = self.store.put_opts(&location, payload(), create()).await;
        // The probe object is garbage either way; a leftover is hidden and harmless.
        let _ = self.store.delete(&location).await;
        match second {
            Err(object_store::Error::AlreadyExists { .. }) => Ok(None),
            Ok(_) => Ok(Some(format!(
                "{} (probed at {location}): this store does not honour create-if-absent \
                 (If-None-Match); concurrent writers could overwrite each other's commits",
                self.url
            ))),
            Err(e) => Err(object_err(e)),
        }
    }
}

/// Maps an object-store error, retryable only when it is transient: the generic fallback
/// (network failures and server errors the client's own retries gave up on) and a cancelled
/// task. Everything else fails the same way until the configuration, the credentials or the
/// data change.
pub(super) fn object_err(e: object_store::Error) -> PersistError {
    use object_store::Error as E;
    let e = match e {
        E::NotFound { path, source } => {
            return PersistError::Io {
                backend: NAME,
                path: Some(path.into()),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, source),
            };
        }
        other => other,
    };
    let retryable = match &e {
        E::Generic { .. } => true,
        E::InvalidPath { .. }
        | E::NotSupported { .. }
        | E::AlreadyExists { .. }
        | E::Precondition { .. }
        | E::NotModified { .. }
        | E::NotImplemented { .. }
        | E::PermissionDenied { .. }
        | E::Unauthenticated { .. }
        | E::UnknownConfigurationKey { .. } => false,
        // `JoinError` (only with object_store's `tokio` feature): a panicked task is a bug or
        // corrupt input, a cancelled one may succeed later. A kind added by a later
        // object_store is not known to be transient.
        _ => std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<tokio::task::JoinError>())
            .is_some_and(|j| !j.is_panic()),
    };
    PersistError::backend(NAME, e.to_string(), retryable).with_source(e)
}

impl Storage for ObjectStorage {
    fn put(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<(), PersistError>> {
        let location = self.resolve(path);
        async move {
            self.store
                .put(&location?, PutPayload::from(bytes))
                .await
                .map(|_| ())
                .map_err(object_err)
        }
        .boxed()
    }

    fn put_new(&self, path: &str, bytes: Bytes) -> BoxFuture<'_, Result<bool, PersistError>> {
        let location = self.resolve(path);
        async move {
            let location = location?;
            self.check_conditional_put().await?;
            let opts = PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            };
            match self
                .store
                .put_opts(&location, PutPayload::from(bytes), opts)
                .await
            {
                Ok(_) => Ok(true),
                Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
                Err(e) => Err(object_err(e)),
            }
        }
        .boxed()
    }

    fn get(&self, path: &str) -> BoxFuture<'_, Result<Bytes, PersistError>> {
        let location = self.resolve(path);
        async move {
            let result = self.store.get(&location?).await.map_err(object_err)?;
            result.bytes().await.map_err(object_err)
        }
        .boxed()
    }

    fn get_ranges(
        &self,
        path: &str,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, Result<Vec<Bytes>, PersistError>> {
        let location = self.resolve(path);
        async move {
            // The store coalesces nearby ranges into fewer requests.
            let location = location?;
            self.store
                .get_ranges(&location, &ranges)
                .await
                .map_err(object_err)
        }
        .boxed()
    }

    fn head(&self, path: &str) -> BoxFuture<'_, Result<Option<u64>, PersistError>> {
        let location = self.resolve(path);
        async move {
            match self.store.head(&location?).await {
                Ok(meta) => Ok(Some(meta.size)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(object_err(e)),
            }
        }
        .boxed()
    }

    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<Entry>, PersistError>> {
        let start = check_prefix(prefix, &self.url).map(|p| {
            p.split('/')
                .filter(|s| !s.is_empty())
                .fold(self.prefix.clone(), |p, seg| p.join(seg))
        });
        async move {
            let metas: Vec<object_store::ObjectMeta> = self
                .store
                .list(Some(&start?))
                .try_collect()
                .await
                .map_err(object_err)?;
            let base = self.prefix.parts().count();
            Ok(metas
                .into_iter()
                .filter_map(|m| {
                    let parts: Vec<String> =
                        m.location.parts().map(|p| p.as_ref().to_string()).collect();
                    let path = parts.get(base..)?.join("/");
                    // Only what `resolve` can address again.
                    check_path(&path, "").ok()?;
                    Some(Entry {
                        path,
                        size: m.size,
                        modified: Some(SystemTime::from(m.last_modified)),
                    })
                })
                .collect())
        }
        .boxed()
    }

    fn delete(&self, path: &str) -> BoxFuture<'_, Result<(), PersistError>> {
        let location = self.resolve(path);
        async move {
            match self.store.delete(&location?).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(object_err(e)),
            }
        }
        .boxed()
    }

    fn location(&self) -> String {
        self.url.clone()
    }
}
