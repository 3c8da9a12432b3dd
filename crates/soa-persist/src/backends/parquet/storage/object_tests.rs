//! `ObjectStorage`: which object-store errors are retryable, and the create-if-absent probe.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use futures::future::BoxFuture;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

use super::object::object_err;
use super::*;

fn assert_not_retryable(e: &PersistError) {
    assert!(!e.is_retryable(), "should not be retryable: {e}");
}

fn classify(e: object_store::Error) -> bool {
    object_err(e).is_retryable()
}

fn src(s: &str) -> Box<dyn std::error::Error + Send + Sync> {
    s.into()
}

#[test]
fn transient_object_store_errors_are_retryable() {
    use object_store::Error as E;
    assert!(classify(E::Generic {
        store: "S3",
        source: src("connection reset"),
    }));
}

#[test]
fn a_missing_object_is_a_not_found_io_error() {
    let e = object_err(object_store::Error::NotFound {
        path: "ds/x".into(),
        source: src("gone"),
    });
    assert!(
        matches!(&e, PersistError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{e}"
    );
    assert_not_retryable(&e);
}

#[test]
fn unsupported_operations_are_not_retryable() {
    use object_store::Error as E;
    assert!(!classify(E::NotImplemented {
        operation: "put_opts with PutMode::Create".into(),
        implementer: "S3".into(),
    }));
    assert!(!classify(E::NotSupported {
        source: src("conditional put"),
    }));
    assert!(!classify(E::UnknownConfigurationKey {
        store: "S3",
        key: "aws_nope".into(),
    }));
}

#[test]
fn refused_credentials_are_not_retryable() {
    use object_store::Error as E;
    assert!(!classify(E::PermissionDenied {
        path: "ds/x".into(),
        source: src("403"),
    }));
    assert!(!classify(E::Unauthenticated {
        path: "ds/x".into(),
        source: src("401"),
    }));
}

#[test]
fn failed_conditions_and_bad_paths_are_not_retryable() {
    use object_store::Error as E;
    for e in [
        E::Precondition {
            path: "ds/x".into(),
            source: src("412"),
        },
        E::NotModified {
            path: "ds/x".into(),
            source: src("304"),
        },
        E::AlreadyExists {
            path: "ds/x".into(),
            source: src("exists"),
        },
    ] {
        assert!(!classify(e));
    }
    let bad = ObjectPath::parse("a//b").unwrap_err();
    assert!(!classify(E::from(bad)));
}

/// An S3-compatible store that ignores `If-None-Match`: every create overwrites.
#[derive(Debug)]
struct IgnoresCreate(InMemory);

impl std::fmt::Display for IgnoresCreate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IgnoresCreate")
    }
}

// Written out as `async_trait` expands it (the crate is not a dependency here).
impl ObjectStore for IgnoresCreate {
    fn put_opts<'life0, 'life1, 'async_trait>(
        &'life0 self,
        location: &'life1 ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> BoxFuture<'async_trait, object_store::Result<PutResult>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        let opts = PutOptions {
            mode: PutMode::Overwrite,
            ..opts
        };
        self.0.put_opts(location, payload, opts)
    }

    fn put_multipart_opts<'life0, 'life1, 'async_trait>(
        &'life0 self,
        location: &'life1 ObjectPath,
        opts: PutMultipartOptions,
    ) -> BoxFuture<'async_trait, object_store::Result<Box<dyn MultipartUpload>>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.0.put_multipart_opts(location, opts)
    }

    fn get_opts<'life0, 'life1, 'async_trait>(
        &'life0 self,
        location: &'life1 ObjectPath,
        options: GetOptions,
    ) -> BoxFuture<'async_trait, object_store::Result<GetResult>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.0.get_opts(location, options)
    }

    fn delete_stream(
        &self,
        locations: futures::stream::BoxStream<'static, object_store::Result<ObjectPath>>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<ObjectPath>> {
        self.0.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.0.list(prefix)
    }

    fn list_with_delimiter<'life0, 'life1, 'async_trait>(
        &'life0 self,
        prefix: Option<&'life1 ObjectPath>,
    ) -> BoxFuture<'async_trait, object_store::Result<ListResult>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.0.list_with_delimiter(prefix)
    }

    fn copy_opts<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        from: &'life1 ObjectPath,
        to: &'life2 ObjectPath,
        options: CopyOptions,
    ) -> BoxFuture<'async_trait, object_store::Result<()>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.0.copy_opts(from, to, options)
    }
}

async fn keys(store: &dyn ObjectStore) -> Vec<String> {
    let metas: Vec<ObjectMeta> = store.list(None).try_collect().await.unwrap();
    metas.into_iter().map(|m| m.location.to_string()).collect()
}

#[tokio::test]
async fn a_store_ignoring_create_if_absent_is_refused() {
    let store = Arc::new(IgnoresCreate(InMemory::new()));
    let storage = ObjectStorage::new(store.clone(), ObjectPath::from("ds"), "s3://bucket/ds");
    for _ in 0..2 {
        let e = storage
            .put_new("_soa_log/1.json", Bytes::from_static(b"{}"))
            .await
            .unwrap_err();
        assert_not_retryable(&e);
        let message = e.to_string();
        assert!(message.contains("s3://bucket/ds"), "{message}");
        assert!(
            message.contains("does not honour create-if-absent (If-None-Match)"),
            "{message}"
        );
    }
    // Nothing written: no commit, no probe left behind.
    assert!(keys(store.as_ref()).await.is_empty());
}

#[tokio::test]
async fn a_store_honouring_create_if_absent_passes_the_probe() {
    let store = Arc::new(InMemory::new());
    let storage = ObjectStorage::new(store.clone(), ObjectPath::from("ds"), "memory://");
    let record = "_soa_log/1.json";
    assert!(
        storage
            .put_new(record, Bytes::from_static(b"a"))
            .await
            .unwrap()
    );
    assert!(
        !storage
            .put_new(record, Bytes::from_static(b"b"))
            .await
            .unwrap()
    );
    assert_eq!(storage.get(record).await.unwrap(), "a");
    assert_eq!(keys(store.as_ref()).await, ["ds/_soa_log/1.json"]);
}
