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

/// Rows of one partition: the batch they come from (partition columns removed) and which of
/// its rows, unless they are all of them. The copy that gathers them ([`Part::rows`]) is left
/// to the thread that encodes them, so it runs in parallel, one file's rows at a time.
#[derive(Clone, Debug)]
pub(super) struct Part {
    data: RecordBatch,
    rows: Option<UInt32Array>,
}

impl Part {
    /// All of `batch`.
    pub(super) fn whole(batch: RecordBatch) -> Self {
        Self {
            data: batch,
            rows: None,
        }
    }

    pub(super) fn num_rows(&self) -> usize {
        self.rows
            .as_ref()
            .map_or(self.data.num_rows(), |rows| rows.len())
    }

    /// Rows `start..start + len` of the part (no copy).
    pub(super) fn slice(&self, start: usize, len: usize) -> Self {
        match &self.rows {
            Some(rows) => Self {
                data: self.data.clone(),
                rows: Some(rows.slice(start, len)),
            },
            None => Self::whole(self.data.slice(start, len)),
        }
    }

    /// The part's rows as one batch (copied from the source batch unless they are all of it).
    pub(super) fn rows(&self) -> Result<RecordBatch, PersistError> {
        match &self.rows {
            Some(rows) => Ok(take_record_batch(&self.data, rows)?),
            None => Ok(self.data.clone()),
        }
    }
}

/// Splits `batch` by the values of `partition` columns; each part loses those columns.
pub(super) fn split_by_partition(
    batch: &RecordBatch,
    partition: &[&str],
) -> Result<Vec<(PartitionValues, Part)>, PersistError> {
    if partition.is_empty() {
        return Ok(vec![(Vec::new(), Part::whole(batch.clone()))]);
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
        let (row_ids, values) = value_ids(column)?;
        ids.push(row_ids);
        distinct.push(values);
    }
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| !partition.contains(&schema.field(i).name().as_str()))
        .collect();
    let data = batch.project(&keep)?;
    let members = group_rows(&ids, batch.num_rows());
    let mut out = Vec::with_capacity(members.len());
    for (key, rows) in members {
        // One group is the whole batch: nothing to gather.
        let part = if rows.len() == batch.num_rows() {
            Part::whole(data.clone())
        } else {
            Part {
                data: data.clone(),
                rows: Some(UInt32Array::from(rows)),
            }
        };
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

/// Each row's value as a small id (ids numbered in order of first appearance), and the
/// distinct values as text. A dictionary column is resolved through its dictionary once,
/// not row by row.
fn value_ids(column: &ArrayRef) -> Result<(Vec<u32>, Vec<Option<String>>), PersistError> {
    if let Some(dict) = column.as_any_dictionary_opt() {
        let words = cast(dict.values(), &DataType::Utf8)?;
        let (entry_ids, values) = value_ids(&words)?;
        let keys = dict.normalized_keys();
        let nulls = column.logical_nulls();
        let mut id_of_entry: Vec<Option<u32>> = vec![None; entry_ids.len()];
        let mut ids = Vec::with_capacity(keys.len());
        let mut order = Vec::new();
        let mut null_id = None;
        for (row, &k) in keys.iter().enumerate() {
            let value = match nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                true => None,
                false => entry_ids
                    .get(k)
                    .copied()
                    .filter(|&e| values[e as usize].is_some()),
            };
            // Renumber in order of first appearance in the rows, as the other path does.
            let slot = match value {
                Some(e) => &mut id_of_entry[e as usize],
                None => &mut null_id,
            };
            let id = *slot.get_or_insert_with(|| {
                order.push(value.and_then(|e| values[e as usize].clone()));
                (order.len() - 1) as u32
            });
            ids.push(id);
        }
        return Ok((ids, order));
    }
    let text = cast(column, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    let mut seen: HashMap<Option<&str>, u32> = HashMap::new();
    let mut values = Vec::new();
    let ids = (0..text.len())
        .map(|row| {
            let v = text.is_valid(row).then(|| text.value(row));
            *seen.entry(v).or_insert_with(|| {
                values.push(v.map(str::to_string));
                (values.len() - 1) as u32
            })
        })
        .collect();
    Ok((ids, values))
}

/// Rows grouped by their combination of value ids, groups in order of first appearance.
fn group_rows(ids: &[Vec<u32>], rows: usize) -> Vec<(Vec<u32>, Vec<u32>)> {
    if let [only] = ids {
        // Ids are numbered by first appearance already: the id is the group.
        let mut members: Vec<(Vec<u32>, Vec<u32>)> = Vec::new();
        for (row, &id) in only.iter().enumerate() {
            if id as usize == members.len() {
                members.push((vec![id], Vec::new()));
            }
            members[id as usize].1.push(row as u32);
        }
        return members;
    }
    let mut groups: HashMap<Vec<u32>, usize> = HashMap::new();
    let mut members: Vec<(Vec<u32>, Vec<u32>)> = Vec::new();
    let mut key = vec![0u32; ids.len()];
    for row in 0..rows {
        for (k, col) in key.iter_mut().zip(ids) {
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
    members
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
    use soa_persist_core::arrow::datatypes::Int32Type;

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

    /// The groups as (partition values, the `v` column's values in order), comparable across
    /// encodings of the partition column.
    fn groups(batch: &RecordBatch, partition: &[&str]) -> Vec<(PartitionValues, Vec<i32>)> {
        split_by_partition(batch, partition)
            .unwrap()
            .into_iter()
            .map(|(values, part)| {
                let part = part.rows().unwrap();
                let v = part
                    .column_by_name("v")
                    .unwrap()
                    .as_primitive::<Int32Type>();
                (values, v.values().to_vec())
            })
            .collect()
    }

    #[test]
    fn a_dictionary_partition_column_groups_as_its_text_does() {
        use soa_persist_core::arrow::array::{DictionaryArray, Int8Array, Int32Array};
        use soa_persist_core::arrow::datatypes::Schema;
        use std::sync::Arc;
        // Duplicate and null dictionary entries, null keys, unused entries, two columns.
        let words = StringArray::from(vec![Some("b"), Some("a"), None, Some("b"), Some("zz")]);
        let keys = Int8Array::from(vec![
            Some(0),
            Some(1),
            None,
            Some(3),
            Some(2),
            Some(1),
            Some(0),
            None,
        ]);
        let dict = DictionaryArray::new(keys, Arc::new(words));
        let text = cast(&dict, &DataType::Utf8).unwrap();
        let other: ArrayRef = Arc::new(Int32Array::from(vec![1, 1, 2, 2, 1, 1, 2, 2]));
        let v: ArrayRef = Arc::new(Int32Array::from_iter_values(0..8));
        let batch = |status: ArrayRef| {
            let schema = Schema::new(vec![
                Field::new("status", status.data_type().clone(), true),
                Field::new("n", DataType::Int32, false),
                Field::new("v", DataType::Int32, false),
            ]);
            RecordBatch::try_new(Arc::new(schema), vec![status, other.clone(), v.clone()]).unwrap()
        };
        for partition in [&["status"][..], &["status", "n"], &["n", "status"]] {
            let by_dict = groups(&batch(Arc::new(dict.clone())), partition);
            let by_text = groups(&batch(text.clone()), partition);
            assert_eq!(by_dict, by_text, "{partition:?}");
        }
        // One column: b (rows 0, 3, 6), a (1, 5), null (2, 4, 7), in order of first appearance.
        let one = groups(&batch(Arc::new(dict.clone())), &["status"]);
        let values: Vec<_> = one
            .iter()
            .map(|(v, rows)| (v[0].1.clone(), rows.clone()))
            .collect();
        assert_eq!(
            values,
            vec![
                (Some("b".to_string()), vec![0, 3, 6]),
                (Some("a".to_string()), vec![1, 5]),
                (None, vec![2, 4, 7]),
            ]
        );
    }
}
