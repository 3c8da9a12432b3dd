//! Errors keep their cause: walking `std::error::Error::source()` from a backend's error
//! reaches the library error underneath (Parquet's decoder, DuckDB, the URL parser), and
//! arguments a backend can't use are `InvalidInput`, never retryable.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

use std::error::Error;

use soa_persist::backends::parquet::{LocalStorage, Storage};
use soa_persist::prelude::*;
use soa_persist::testing::{ConfOrder, orders};

/// The first error in `e`'s source chain (itself excluded) that is an `E`.
fn cause<E: Error + 'static>(e: &PersistError) -> Option<&E> {
    let mut next = e.source();
    while let Some(s) = next {
        if let Some(found) = s.downcast_ref::<E>() {
            return Some(found);
        }
        next = s.source();
    }
    None
}

#[tokio::test]
async fn a_parquet_file_that_fails_to_decode_keeps_the_decoder_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<ConfOrder>::open(dir.path()).unwrap();
    p.append(orders(0..20)).await.unwrap();
    let storage = LocalStorage::open(dir.path()).unwrap();
    let victim = storage.list("status=Shipped").await.unwrap().remove(0).path;
    let original = storage.get(&victim).await.unwrap();
    storage
        .put(&victim, original.slice(..original.len() / 2))
        .await
        .unwrap();

    let err = p.load().await.unwrap_err();
    assert!(matches!(err, PersistError::Corrupt { .. }), "{err}");
    assert!(!err.is_retryable());
    let parquet = cause::<parquet::errors::ParquetError>(&err)
        .unwrap_or_else(|| panic!("no ParquetError below {err:?}"));
    // The message names the file; the cause says what the decoder found.
    assert!(err.to_string().contains(&victim), "{err}");
    assert!(err.to_string().contains(&parquet.to_string()), "{err}");
}

#[test]
fn an_invalid_dataset_url_is_invalid_input_with_the_parse_error() {
    let Err(err) = ParquetPersistence::<ConfOrder>::open_url("not a url") else {
        panic!("an invalid URL opened");
    };
    assert!(matches!(err, PersistError::InvalidInput { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert!(cause::<url::ParseError>(&err).is_some(), "{err:?}");
}

#[test]
fn an_invalid_writer_setting_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let p = ParquetPersistence::<ConfOrder>::open(dir.path())
        .unwrap()
        .with_options(soa_persist::ParquetOptions {
            compression: soa_persist::Compression::Zstd(99),
            ..Default::default()
        });
    let err = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(p.append(orders(0..3)))
        .unwrap_err();
    assert!(matches!(err, PersistError::InvalidInput { .. }), "{err:?}");
    assert!(
        cause::<parquet::errors::ParquetError>(&err).is_some(),
        "{err:?}"
    );
}

#[test]
fn constructors_and_with_source_build_the_chain() {
    let io = std::io::Error::other("disk on fire");
    let err = PersistError::backend("custom", "write failed", true).with_source(io);
    assert!(err.is_retryable());
    assert_eq!(err.to_string(), "custom: write failed");
    assert_eq!(err.source().unwrap().to_string(), "disk on fire");
    // Variants without a slot for a cause are left as they are.
    let err = PersistError::SchemaMismatch {
        backend: "custom",
        detail: "x".into(),
    }
    .with_source(std::io::Error::other("ignored"));
    assert!(err.source().is_none());
}

#[cfg(feature = "duckdb")]
mod duckdb {
    use super::*;
    use soa_persist::{DuckDBOptions, DuckDBPersistence};

    #[tokio::test]
    async fn a_duckdb_error_keeps_duckdbs_own() {
        let p = DuckDBPersistence::<ConfOrder>::in_memory().unwrap();
        p.append(orders(0..10)).await.unwrap();
        let err = p.append(orders(5..6)).await.unwrap_err();
        assert!(matches!(err, PersistError::Constraint { .. }), "{err:?}");
        let duck = cause::<::duckdb::Error>(&err)
            .unwrap_or_else(|| panic!("no duckdb::Error below {err:?}"));
        assert!(err.to_string().contains(&duck.to_string()), "{err}");
    }

    #[test]
    fn an_invalid_table_name_is_invalid_input() {
        for name in ["", "a\0b"] {
            let options = DuckDBOptions {
                table: Some(name.to_string()),
                ..DuckDBOptions::default()
            };
            let err = DuckDBPersistence::<ConfOrder>::open_with(None, options).unwrap_err();
            assert!(matches!(err, PersistError::InvalidInput { .. }), "{err:?}");
            assert!(!err.is_retryable());
        }
    }
}
