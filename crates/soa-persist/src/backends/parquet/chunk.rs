//! Selective fetches: a file's bytes as only the column chunks a read decodes (the row groups
//! statistics left, the columns the scan needs), fetched with ranged reads instead of the
//! whole file. `Fetched` hands the decoder those ranges as if they were the file.

use std::ops::Range;

use bytes::{Buf, Bytes};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData};
use parquet::file::reader::{ChunkReader, Length};

/// Below this share of a file's bytes, the needed ranges are fetched instead of the file.
const SELECTIVE_SHARE: f64 = 0.6;

/// The byte ranges holding leaf columns `leaves` (all when `None`) of `row_groups`, sorted
/// and coalesced; `None` when they are most of the file and reading it whole is cheaper.
pub(super) fn needed_ranges(
    metadata: &ParquetMetaData,
    row_groups: &[usize],
    leaves: Option<&[usize]>,
    file_bytes: u64,
) -> Option<Vec<Range<u64>>> {
    let mut ranges: Vec<Range<u64>> = Vec::new();
    for &rg in row_groups {
        let group = metadata.row_group(rg);
        let all: Vec<usize> = (0..group.num_columns()).collect();
        for &leaf in leaves.unwrap_or(&all) {
            // A damaged footer is left to the decoder, which reads the whole file and says so.
            ranges.push(chunk_range(group.column(leaf), file_bytes)?);
        }
    }
    let merged = merge_ranges(ranges);
    let total: u64 = merged.iter().map(|r| r.end - r.start).sum();
    (file_bytes > 0 && (total as f64) < SELECTIVE_SHARE * file_bytes as f64).then_some(merged)
}

/// Where a column chunk's pages are (`byte_range`, checked instead of asserted: the footer may
/// be damaged); `None` when the footer's numbers are impossible for a file of `file_bytes`.
fn chunk_range(column: &ColumnChunkMetaData, file_bytes: u64) -> Option<Range<u64>> {
    let data = column.data_page_offset();
    let start = match column.dictionary_page_offset() {
        Some(d) if d < data => d,
        _ => data,
    };
    let start = u64::try_from(start).ok()?;
    let end = start.checked_add(u64::try_from(column.compressed_size()).ok()?)?;
    (end <= file_bytes).then_some(start..end)
}

/// `ranges` sorted, overlapping and touching ones merged (object stores coalesce nearby ones
/// themselves).
pub(super) fn merge_ranges(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.sort_unstable_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// Some ranges of a file, read as the file by the Parquet decoder; asking for bytes outside
/// them is an error (the ranges were computed from the same footer, so it means a bug or a
/// footer that lies about its column chunks).
#[derive(Clone)]
pub(super) struct Fetched {
    len: u64,
    parts: Vec<(u64, Bytes)>,
}

impl Fetched {
    /// `parts[i]` holds `ranges[i]` of a file of `len` bytes.
    pub(super) fn new(len: u64, ranges: &[Range<u64>], parts: Vec<Bytes>) -> Self {
        Self {
            len,
            parts: ranges.iter().map(|r| r.start).zip(parts).collect(),
        }
    }

    /// The fetched bytes from `start` to the end of the part holding it, at least `need` long.
    fn from(&self, start: u64, need: usize) -> Result<Bytes, ParquetError> {
        let i = self.parts.partition_point(|(at, _)| *at <= start);
        let found = i.checked_sub(1).and_then(|i| {
            let (at, bytes) = &self.parts[i];
            let offset = (start - at) as usize;
            (offset + need <= bytes.len()).then(|| bytes.slice(offset..))
        });
        found.ok_or_else(|| {
            ParquetError::General(format!(
                "bytes {start}..{} were not fetched (the footer's column chunk ranges are wrong)",
                start + need as u64
            ))
        })
    }
}

impl Length for Fetched {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for Fetched {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> Result<Self::T, ParquetError> {
        Ok(self.from(start, 0)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes, ParquetError> {
        Ok(self.from(start, length)?.slice(..length))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_fetched_parts_only() {
        let file: Vec<u8> = (0..=255).collect();
        let ranges = [10..20, 100..150];
        let parts = ranges
            .iter()
            .map(|r| Bytes::copy_from_slice(&file[r.start as usize..r.end as usize]))
            .collect();
        let fetched = Fetched::new(256, &ranges, parts);
        assert_eq!(fetched.len(), 256);
        assert_eq!(&fetched.get_bytes(12, 3).unwrap()[..], &file[12..15]);
        assert_eq!(&fetched.get_bytes(100, 50).unwrap()[..], &file[100..150]);
        let mut rest = Vec::new();
        std::io::Read::read_to_end(&mut fetched.get_read(140).unwrap(), &mut rest).unwrap();
        assert_eq!(rest, &file[140..150]);
        assert!(
            fetched.get_bytes(18, 5).is_err(),
            "crosses the end of a part"
        );
        assert!(fetched.get_bytes(50, 1).is_err(), "between parts");
        assert!(fetched.get_bytes(5, 1).is_err(), "before the first part");
    }
}
