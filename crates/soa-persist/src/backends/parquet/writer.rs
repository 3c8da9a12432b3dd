//! `DatasetWriter`: a new dataset written from Arrow batches without a Rust struct, for tools
//! that copy data (`soa convert`). Each batch is split by the partition columns into complete
//! files written at once (memory holds one batch); `commit` makes every file live in one
//! commit, so readers see the whole copy or nothing.

use std::sync::Arc;

use parquet::file::properties::WriterProperties;
use soa_persist_api::PersistError;
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::arrow::datatypes::{Schema, SchemaRef};
use soa_persist_core::schema::{META_FINGERPRINT, META_KEY, META_PARTITION, fingerprint};

use super::encode::{file_jobs, store_files};
use super::layout::{self, split_by_partition};
use super::log::{FileEntry, Log, Next, Record};
use super::spark::spark_cast;
use super::storage::{LocalStorage, NAME, Storage};
use super::{ParquetOptions, object_storage};

/// Writes a new dataset: [`write`](Self::write) batches, then [`commit`](Self::commit).
pub struct DatasetWriter {
    storage: Arc<dyn Storage>,
    log: Log,
    options: ParquetOptions,
    props: WriterProperties,
    schema: SchemaRef,
    partition: Vec<String>,
    files: Vec<FileEntry>,
}

impl std::fmt::Debug for DatasetWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetWriter")
            .field("location", &self.storage.location())
            .field("files", &self.files.len())
            .finish()
    }
}

impl DatasetWriter {
    /// A new dataset at `location` (a folder, created if missing, or a URL as
    /// `ParquetPersistence::open_url` takes it) for rows of `schema`, split into Hive folders
    /// by `partition` (columns of `schema`). The location must be empty: this writes a new
    /// dataset, never into another. The key named by `schema`'s `soa.key` metadata gets its
    /// bloom filters.
    pub async fn create(
        location: &str,
        schema: SchemaRef,
        partition: &[String],
        options: ParquetOptions,
    ) -> Result<Self, PersistError> {
        let storage: Arc<dyn Storage> = match location.strip_prefix("file://") {
            Some(path) => Arc::new(LocalStorage::open(path)?),
            None if location.contains("://") => object_storage(
                location,
                std::env::vars().map(|(k, v)| (k.to_lowercase(), v)),
            )?,
            None => Arc::new(LocalStorage::open(location)?),
        };
        if let Some(entry) = storage.list("").await?.first() {
            return Err(PersistError::invalid_input(
                NAME,
                format!(
                    "{} is not empty (it holds {}): write the copy to a new folder",
                    storage.location(),
                    entry.path
                ),
            ));
        }
        for p in partition {
            if schema.field_with_name(p).is_err() {
                return Err(PersistError::invalid_input(
                    NAME,
                    format!("partition column `{p}` is not a column of the rows"),
                ));
            }
        }
        let mut meta = schema.metadata().clone();
        meta.insert(META_FINGERPRINT.to_string(), fingerprint(schema.fields()));
        meta.remove(META_PARTITION);
        if !partition.is_empty() {
            meta.insert(META_PARTITION.to_string(), partition.join(","));
        }
        let schema = Arc::new(Schema::new(schema.fields().clone()).with_metadata(meta));
        let key = schema.metadata().get(META_KEY).cloned();
        let key = key.filter(|k| schema.field_with_name(k).is_ok());
        let props = options.writer_properties(key.as_deref())?;
        Ok(Self {
            log: Log::new(storage.clone()),
            storage,
            options,
            props,
            schema,
            partition: partition.to_vec(),
            files: Vec::new(),
        })
    }

    /// The rows' schema, with the dataset's metadata (partition columns, fingerprint).
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Writes `batch` (columns as in [`schema`](Self::schema)) as files, one or more per
    /// partition value; they are not live before [`commit`](Self::commit).
    pub async fn write(&mut self, batch: RecordBatch) -> Result<(), PersistError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch =
            RecordBatch::try_new(self.schema.clone(), batch.columns().to_vec()).map_err(|e| {
                PersistError::invalid_input(NAME, format!("a batch of other columns: {e}"))
            })?;
        let batch = if self.options.spark_compatible {
            spark_cast(&batch)?
        } else {
            batch
        };
        let partition: Vec<&str> = self.partition.iter().map(String::as_str).collect();
        let parts = split_by_partition(&batch, &partition)?;
        if self.files.is_empty() {
            self.log.ensure().await?;
        }
        let max = self.options.max_rows_per_file.max(1);
        for (values, part) in parts {
            layout::check_partition_values(&values)?;
            let jobs = file_jobs(&part, &values, max);
            let files = store_files(&*self.storage, jobs, &self.props).await?;
            self.files.extend(files);
        }
        Ok(())
    }

    /// Makes every file written live in one commit; returns the dataset's version.
    pub async fn commit(self) -> Result<u64, PersistError> {
        self.log.ensure().await?;
        let fingerprint = self
            .schema
            .metadata()
            .get(META_FINGERPRINT)
            .cloned()
            .unwrap_or_default();
        let committed = self
            .log
            .commit(self.options.commit_attempts, |_| {
                Ok(Next::Commit(Record {
                    add: self.files.clone(),
                    ..Record::new("append", fingerprint.clone())
                }))
            })
            .await?;
        match committed {
            super::log::Committed::Version(state) => Ok(state.version),
            super::log::Committed::Skipped => {
                Err(PersistError::backend(NAME, "the commit was skipped", false))
            }
        }
    }
}
