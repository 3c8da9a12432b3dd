//! The Spark/Hive compatibility profile of `ParquetOptions::spark_compatible`: what those
//! readers reject is written as types they accept; reads cast back through `conform`.

use std::sync::Arc;

use soa_persist_api::PersistError;
use soa_persist_api::exec::cast_exact;
use soa_persist_core::arrow::array::{AsArray, RecordBatch};
use soa_persist_core::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

/// The Spark/Hive compatibility profile: unsigned integers to wider signed types (UInt64 to
/// Int64 when every value fits, else an error), nanosecond timestamps to microseconds (exact
/// values only), view types to plain ones.
pub(super) fn spark_cast(batch: &RecordBatch) -> Result<RecordBatch, PersistError> {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let target = match field.data_type() {
            DataType::UInt8 | DataType::UInt16 => Some(DataType::Int32),
            DataType::UInt32 | DataType::UInt64 => Some(DataType::Int64),
            DataType::Timestamp(TimeUnit::Nanosecond, tz) => {
                let values = column
                    .as_primitive::<soa_persist_core::arrow::datatypes::TimestampNanosecondType>();
                if let Some(row) = values.iter().position(|v| v.is_some_and(|v| v % 1000 != 0)) {
                    return Err(PersistError::Convert(
                        soa_persist_core::error::ConvertError::InvalidValue {
                            field: field.name().clone(),
                            row,
                            detail:
                                "the Spark profile stores microseconds; this value has nanoseconds"
                                    .into(),
                        },
                    ));
                }
                Some(DataType::Timestamp(TimeUnit::Microsecond, tz.clone()))
            }
            DataType::Utf8View => Some(DataType::Utf8),
            DataType::BinaryView => Some(DataType::Binary),
            _ => None,
        };
        match target {
            Some(t) => {
                let cast = cast_exact(column, &t).map_err(|e| {
                    PersistError::Convert(soa_persist_core::error::ConvertError::InvalidValue {
                        field: field.name().clone(),
                        row: 0,
                        detail: format!("Spark profile: {e}"),
                    })
                })?;
                fields.push(
                    Field::new(field.name(), t, field.is_nullable())
                        .with_metadata(field.metadata().clone()),
                );
                columns.push(cast);
            }
            None => {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields).with_metadata(batch.schema().metadata().clone())),
        columns,
    )?)
}
