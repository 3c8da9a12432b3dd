//! The folder layout readers expect: Hive-style `key=value/` folders for partition columns
//! (values percent-escaped, so no value can leave the dataset folder or hide the file), files
//! `part-<uuid>.parquet`, and partition columns stored in folder names, not in the files.

use std::collections::HashMap;

use soa_persist_core::arrow::array::{
    Array, ArrayRef, AsArray, RecordBatch, StringArray, UInt32Array, new_null_array,
};
use soa_persist_core::arrow::compute::{cast, take_record_batch};
use soa_persist_core::arrow::datatypes::{DataType, Field};

use soa_persist_api::PersistError;
use soa_persist_api::exec::cast_exact;

/// Partition column names and values (`None`: null), in the struct's partition order.
pub(super) type PartitionValues = Vec<(String, Option<String>)>;

/// Hive's name for a null partition value.
pub(super) const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Percent-encodes everything but `[A-Za-z0-9_-]` and non-leading dots, so a value is one safe
/// path segment: no `/`, no `=`, no `..`, no leading `.` that would hide it.
pub(super) fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, b) in value.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A value's folder name: escaped, and never Hive's null marker itself (a value spelled like
/// the marker gets its first character escaped, so readers don't take it for a null).
fn escape_value(value: &str) -> String {
    let escaped = escape(value);
    match escaped.strip_prefix('_') {
        Some(rest) if escaped == NULL_PARTITION => format!("%5F{rest}"),
        _ => escaped,
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

pub(super) fn unescape(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 3 <= bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a=1/b=x/` for the given partition values.
pub(super) fn partition_dir(values: &[(String, Option<String>)]) -> String {
    values
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}/",
                escape(k),
                v.as_deref()
                    .map(escape_value)
                    .unwrap_or_else(|| NULL_PARTITION.to_string())
            )
        })
        .collect()
}

/// Partition values from a file's `key=value/` folders.
pub(super) fn parse_partition_path(path: &str) -> PartitionValues {
    let mut segments: Vec<&str> = path.split('/').collect();
    segments.pop(); // the file name
    segments
        .into_iter()
        .filter_map(|seg| {
            let (k, v) = seg.split_once('=')?;
            Some((unescape(k), (v != NULL_PARTITION).then(|| unescape(v))))
        })
        .collect()
}

/// Splits `batch` by the values of `partition` columns; each part loses those columns.
pub(super) fn split_by_partition(
    batch: &RecordBatch,
    partition: &[&str],
) -> Result<Vec<(PartitionValues, RecordBatch)>, PersistError> {
    if partition.is_empty() {
        return Ok(vec![(Vec::new(), batch.clone())]);
    }
    let schema = batch.schema();
    // Per column: a small id per row and the distinct values, resolved once (no per-row strings).
    let mut ids: Vec<Vec<u32>> = Vec::with_capacity(partition.len());
    let mut distinct: Vec<Vec<Option<String>>> = Vec::with_capacity(partition.len());
    for name in partition {
        let column = batch
            .column_by_name(name)
            .ok_or_else(|| PersistError::SchemaMismatch {
                backend: super::storage::NAME,
                detail: format!("partition column `{name}` is missing"),
            })?;
        let text = cast(column, &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let mut seen: HashMap<Option<&str>, u32> = HashMap::new();
        let mut values = Vec::new();
        let row_ids = (0..text.len())
            .map(|row| {
                let v = text.is_valid(row).then(|| text.value(row));
                *seen.entry(v).or_insert_with(|| {
                    values.push(v.map(str::to_string));
                    (values.len() - 1) as u32
                })
            })
            .collect();
        ids.push(row_ids);
        distinct.push(values);
    }
    // Rows grouped by their combination of ids, groups in order of first appearance.
    let mut groups: HashMap<Vec<u32>, usize> = HashMap::new();
    let mut members: Vec<(Vec<u32>, Vec<u32>)> = Vec::new();
    let mut key = vec![0u32; partition.len()];
    for row in 0..batch.num_rows() {
        for (k, col) in key.iter_mut().zip(&ids) {
            *k = col[row];
        }
        let group = match groups.get(&key) {
            Some(&g) => g,
            None => {
                groups.insert(key.clone(), members.len());
                members.push((key.clone(), Vec::new()));
                members.len() - 1
            }
        };
        members[group].1.push(row as u32);
    }
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| !partition.contains(&schema.field(i).name().as_str()))
        .collect();
    let mut out = Vec::with_capacity(members.len());
    for (key, rows) in members {
        let part = take_record_batch(batch, &UInt32Array::from(rows))?.project(&keep)?;
        let values = partition
            .iter()
            .zip(&key)
            .zip(&distinct)
            .map(|((name, &id), values)| (name.to_string(), values[id as usize].clone()))
            .collect();
        out.push((values, part));
    }
    Ok(out)
}

/// Longest folder name most file systems take (ext4, APFS, NTFS: 255 bytes).
const MAX_SEGMENT: usize = 255;

/// Refuses partition values whose folder name (`key=escaped value`) no file system would take,
/// before anything is written.
pub(super) fn check_partition_values(values: &PartitionValues) -> Result<(), PersistError> {
    for (key, value) in values {
        let segment = escape(key).len()
            + 1
            + value
                .as_deref()
                .map_or(NULL_PARTITION.len(), |v| escape_value(v).len());
        if segment > MAX_SEGMENT {
            let shown: String = value
                .as_deref()
                .unwrap_or_default()
                .chars()
                .take(40)
                .collect();
            return Err(PersistError::constraint(
                super::storage::NAME,
                format!(
                    "partition value of `{key}` ({shown:?}...) needs a folder name of {segment} bytes once escaped; at most {MAX_SEGMENT} fit: nothing was written"
                ),
            ));
        }
    }
    Ok(())
}

/// A column of `rows` copies of a partition value, in the field's type. A folder value that is
/// not a value of that type is an error naming it, never a silent null.
pub(super) fn partition_column(
    field: &Field,
    value: Option<&str>,
    rows: usize,
) -> Result<ArrayRef, PersistError> {
    let Some(v) = value else {
        return Ok(new_null_array(field.data_type(), rows));
    };
    let text: ArrayRef = std::sync::Arc::new(StringArray::from(vec![v]));
    let bad = || {
        PersistError::corrupt(
            super::storage::NAME,
            format!(
                "partition folder `{}={}` holds a value that is not a {}",
                field.name(),
                escape(v),
                field.data_type()
            ),
        )
    };
    let one = cast_exact(&text, field.data_type()).map_err(|e| bad().with_source(e))?;
    if one.null_count() > 0 {
        return Err(bad());
    }
    let indices = UInt32Array::from(vec![0u32; rows]);
    Ok(soa_persist_core::arrow::compute::take(
        &one, &indices, None,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_values_stay_in_one_segment_and_round_trip() {
        for v in [
            "../../x", "a/b=c", ".hidden", "_meta", "%41", "ünï", " ", "..", "x.y",
        ] {
            let e = escape(v);
            assert!(
                !e.contains('/') && !e.contains('=') && !e.starts_with('.'),
                "{v} -> {e}"
            );
            assert_eq!(unescape(&e), v);
        }
        let dir = partition_dir(&[("status".into(), Some("a/../b".into())), ("n".into(), None)]);
        assert_eq!(dir, "status=a%2F..%2Fb/n=__HIVE_DEFAULT_PARTITION__/");
        assert_eq!(
            parse_partition_path(&format!("{dir}part-1.parquet")),
            vec![
                ("status".to_string(), Some("a/../b".to_string())),
                ("n".to_string(), None)
            ]
        );
    }
}
