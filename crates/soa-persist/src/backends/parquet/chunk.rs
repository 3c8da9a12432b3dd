//! Selective fetches: a file's bytes as only the column chunks a read decodes (the row groups
//! statistics left, the columns the scan needs; of those, the pages the key's page index
//! left), fetched with ranged reads instead of the whole file. `Fetched` hands the decoder those ranges as if they were the file.

use std::ops::Range;

use bytes::{Buf, Bytes};
use parquet::arrow::arrow_reader::RowSelection;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData};
use parquet::file::page_index::offset_index::PageLocation;
use parquet::file::reader::{ChunkReader, Length};

/// Below this share of a file's bytes, the needed ranges are fetched instead of the file.
const SELECTIVE_SHARE: f64 = 0.6;

/// The byte ranges holding leaf columns `leaves` (all when `None`) of `row_groups`, sorted
/// and coalesced; `None` when they are most of the file and reading it whole is cheaper. With
/// `pages` (a selection of the rows of `row_groups`, in that order) and an offset index, only
/// a chunk's dictionary and the pages holding selected rows are needed, except for the leaves
/// `filtered` (the predicate's): the decoder widens their selection to whole batches.
pub(super) fn needed_ranges(
    metadata: &ParquetMetaData,
    row_groups: &[usize],
    leaves: Option<&[usize]>,
    (pages, filtered): (Option<&RowSelection>, &[usize]),
    file_bytes: u64,
) -> Option<Vec<Range<u64>>> {
    let selected = pages.map(selected_rows);
    let mut ranges: Vec<Range<u64>> = Vec::new();
    let mut first_row = 0u64;
    for &rg in row_groups {
        let group = metadata.row_group(rg);
        let rows = first_row..first_row + group.num_rows().max(0) as u64;
        first_row = rows.end;
        let all: Vec<usize> = (0..group.num_columns()).collect();
        for &leaf in leaves.unwrap_or(&all) {
            // A damaged footer is left to the decoder, which reads the whole file and says so.
            let chunk = chunk_range(group.column(leaf), file_bytes)?;
            let offsets = metadata.page_index().and_then(|i| i.offset_index(rg, leaf));
            match (&selected, offsets) {
                (Some(selected), Some(offsets)) if !filtered.contains(&leaf) => {
                    let locations = offsets.page_locations();
                    ranges.extend(page_ranges(&chunk, locations, &rows, selected)?)
                }
                _ => ranges.push(chunk),
            }
        }
    }
    let merged = merge_ranges(ranges);
    let total: u64 = merged.iter().map(|r| r.end - r.start).sum();
    (file_bytes > 0 && (total as f64) < SELECTIVE_SHARE * file_bytes as f64).then_some(merged)
}

/// The selected rows as ranges of row numbers (over the concatenated row groups).
fn selected_rows(selection: &RowSelection) -> Vec<Range<u64>> {
    let mut at = 0u64;
    let mut out = Vec::new();
    for s in selection.iter() {
        let next = at + s.row_count as u64;
        if !s.skip && next > at {
            out.push(at..next);
        }
        at = next;
    }
    out
}

/// Of one column chunk (`chunk`, holding rows `rows`), the dictionary page and the pages
/// holding a row of `selected`; `None` when the offset index disagrees with the chunk.
fn page_ranges(
    chunk: &Range<u64>,
    locations: &[PageLocation],
    rows: &Range<u64>,
    selected: &[Range<u64>],
) -> Option<Vec<Range<u64>>> {
    let first = locations.first()?;
    let mut out = Vec::new();
    let data_start = u64::try_from(first.offset).ok()?;
    if data_start > chunk.start {
        out.push(chunk.start..data_start.min(chunk.end));
    }
    for (i, page) in locations.iter().enumerate() {
        let start = rows.start + u64::try_from(page.first_row_index).ok()?;
        let end = match locations.get(i + 1) {
            Some(next) => rows.start + u64::try_from(next.first_row_index).ok()?,
            None => rows.end,
        };
        if selected.iter().any(|r| r.start < end && start < r.end) {
            let at = u64::try_from(page.offset).ok()?;
            let bytes = at.checked_add(u64::try_from(page.compressed_page_size).ok()?)?;
            if at < chunk.start || bytes > chunk.end {
                return None;
            }
            out.push(at..bytes);
        }
    }
    Some(out)
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

    /// The fetched bytes from `start` to the end of the part holding it (or of the parts right
    /// after it that continue it), at least `need` long.
    fn from(&self, start: u64, need: usize) -> Result<Bytes, ParquetError> {
        let i = self.parts.partition_point(|(at, _)| *at <= start);
        let found = i.checked_sub(1).and_then(|i| {
            let (at, bytes) = &self.parts[i];
            let offset = usize::try_from(start - at).ok()?;
            if offset > bytes.len() {
                return None;
            }
            if offset + need <= bytes.len() {
                return Some(bytes.slice(offset..));
            }
            // Ranges fetched apart that touch (a page index running into the footer's tail).
            let mut joined = bytes[offset..].to_vec();
            let mut end = at + bytes.len() as u64;
            for (next_at, next) in &self.parts[i + 1..] {
                if *next_at != end || joined.len() >= need {
                    break;
                }
                joined.extend_from_slice(next);
                end += next.len() as u64;
            }
            (joined.len() >= need).then(|| Bytes::from(joined))
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
        // Touching parts read as one.
        let ranges = [10..20, 20..30, 40..50];
        let parts = ranges
            .iter()
            .map(|r| Bytes::copy_from_slice(&file[r.start as usize..r.end as usize]))
            .collect();
        let touching = Fetched::new(256, &ranges, parts);
        assert_eq!(&touching.get_bytes(15, 15).unwrap()[..], &file[15..30]);
        assert!(touching.get_bytes(15, 16).is_err(), "runs into a gap");
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
