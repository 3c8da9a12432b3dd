//! `uuid::Uuid` as `FixedSizeBinary(16)` tagged with the canonical `arrow.uuid` extension type.
//! Reads also accept 16-byte binary and the textual form some engines export.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::DataType;
use uuid::Uuid;

use super::{BaseField, FieldOptions, ListItem, valid_at};
use crate::error::ConvertError;

impl BaseField for Uuid {
    fn data_type(_: &FieldOptions) -> DataType {
        DataType::FixedSizeBinary(16)
    }
    fn metadata(_: &FieldOptions) -> HashMap<String, String> {
        HashMap::from([("ARROW:extension:name".to_string(), "arrow.uuid".to_string())])
    }
    fn placeholder() -> Self {
        Uuid::nil()
    }
    fn encode(values: &[Self], opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        let bytes: Vec<[u8; 16]> = values.iter().map(|u| u.into_bytes()).collect();
        <[u8; 16]>::encode_owned(bytes, opts)
    }
    fn decode(array: &ArrayRef, opts: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        if let Some(strings) = array.as_string_opt::<i32>() {
            let nulls = strings.nulls();
            return (0..strings.len())
                .map(|row| {
                    if !valid_at(nulls, row) {
                        return Ok(Uuid::nil());
                    }
                    Uuid::parse_str(strings.value(row))
                        .map_err(|e| ConvertError::invalid(row, format!("not a UUID: {e}")))
                })
                .collect();
        }
        <[u8; 16]>::decode(array, opts)
            .map(|v| v.into_iter().map(Uuid::from_bytes).collect())
            .map_err(|e| match e {
                ConvertError::TypeMismatch { field, found, .. } => ConvertError::TypeMismatch {
                    field,
                    expected: DataType::FixedSizeBinary(16),
                    found,
                },
                e => e,
            })
    }
}

impl ListItem for Uuid {}
