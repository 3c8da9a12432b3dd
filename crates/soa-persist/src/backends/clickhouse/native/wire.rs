//! The byte level of the Native format: LEB128 varints, little-endian fixed-width values and
//! length-prefixed strings. The reader tells "the input stops here, more may come"
//! (`Incomplete`) from "these bytes are wrong" (`Corrupt`), so a streaming decoder can wait for
//! the next chunk in the first case and fail in the second.

use soa_persist_core::arrow::buffer::{Buffer, MutableBuffer};

/// Why a block could not be decoded (yet).
#[derive(Debug)]
pub(crate) enum WireError {
    /// The input ended inside the block.
    Incomplete,
    /// The bytes are not a valid block.
    Corrupt(String),
    /// A valid block whose columns don't fit the target schema.
    Mismatch(String),
}

impl WireError {
    /// The same error with `context` (e.g. the column) in front of its text.
    pub(crate) fn context(self, context: impl std::fmt::Display) -> Self {
        match self {
            Self::Incomplete => Self::Incomplete,
            Self::Corrupt(d) => Self::Corrupt(format!("{context}: {d}")),
            Self::Mismatch(d) => Self::Mismatch(format!("{context}: {d}")),
        }
    }
}

pub(crate) type WireResult<T> = Result<T, WireError>;

pub(crate) fn corrupt<T>(detail: impl Into<String>) -> WireResult<T> {
    Err(WireError::Corrupt(detail.into()))
}

pub(crate) fn mismatch<T>(detail: impl Into<String>) -> WireResult<T> {
    Err(WireError::Mismatch(detail.into()))
}

/// A cursor over the bytes buffered so far.
#[derive(Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// `Incomplete` unless `n` more bytes are buffered; checked before allocating for a count
    /// read from the input, so a hostile count can't allocate more than the input holds.
    pub(crate) fn need(&self, n: usize) -> WireResult<()> {
        if self.remaining() >= n {
            Ok(())
        } else {
            Err(WireError::Incomplete)
        }
    }

    pub(crate) fn take(&mut self, n: usize) -> WireResult<&'a [u8]> {
        self.need(n)?;
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// `n` values of `width` bytes each, with the product checked.
    pub(crate) fn take_values(&mut self, n: usize, width: usize) -> WireResult<&'a [u8]> {
        let bytes = n
            .checked_mul(width)
            .ok_or_else(|| WireError::Corrupt(format!("{n} values of {width} bytes overflow")))?;
        self.take(bytes)
    }

    pub(crate) fn u64_le(&mut self) -> WireResult<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// An unsigned LEB128 varint of at most 10 bytes.
    pub(crate) fn varint(&mut self) -> WireResult<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let b = *self.buf.get(self.pos).ok_or(WireError::Incomplete)?;
            self.pos += 1;
            let bits = u64::from(b & 0x7f);
            if i == 9 && bits > 1 {
                return corrupt("varint overflows 64 bits");
            }
            value |= bits << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        corrupt("varint longer than 10 bytes")
    }

    /// A varint that must fit `usize` and be at most `limit`.
    pub(crate) fn count(&mut self, what: &str, limit: u64) -> WireResult<usize> {
        let v = self.varint()?;
        if v > limit {
            return corrupt(format!("{what} {v} exceeds the limit of {limit}"));
        }
        usize::try_from(v).or_else(|_| corrupt(format!("{what} {v} too large")))
    }

    /// A varint length, then that many bytes.
    pub(crate) fn string(&mut self) -> WireResult<&'a [u8]> {
        let len = self.varint()?;
        let len = usize::try_from(len).or_else(|_| corrupt(format!("string of {len} bytes")))?;
        self.take(len)
    }
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

pub(crate) fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Copies `bytes` into a new Arrow buffer (64-byte aligned, as Arrow's typed views require;
/// the input slice sits at any offset of the received bytes).
pub(crate) fn aligned(bytes: &[u8]) -> Buffer {
    let mut out = MutableBuffer::new(bytes.len());
    out.extend_from_slice(bytes);
    out.into()
}

/// Native values are little-endian, as are Arrow's buffers on the platforms this codec builds
/// for; copying raw bytes between the two is only correct there.
#[cfg(not(target_endian = "little"))]
compile_error!("the ClickHouse Native codec assumes a little-endian target");
