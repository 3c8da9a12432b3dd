//! `Buf`: bytes that start as a shared Arrow `Buffer` (read from an array, never copied) and
//! become an owned `MutableBuffer` on the first write, so reads are zero-copy and writes in place.

use arrow::buffer::{Buffer, MutableBuffer};
use arrow::datatypes::ArrowNativeType;

/// A byte buffer, shared (as read from Arrow) or owned (after a write).
#[derive(Debug)]
pub(super) enum Buf {
    Shared(Buffer),
    Owned(MutableBuffer),
}

impl Default for Buf {
    fn default() -> Self {
        Buf::Owned(MutableBuffer::new(0))
    }
}

impl Clone for Buf {
    fn clone(&self) -> Self {
        match self {
            Buf::Shared(b) => Buf::Shared(b.clone()),
            Buf::Owned(m) => Buf::Owned(copy(m.as_slice(), m.len())),
        }
    }
}

fn copy(bytes: &[u8], capacity: usize) -> MutableBuffer {
    let mut m = MutableBuffer::with_capacity(capacity.max(bytes.len()));
    m.extend_from_slice(bytes);
    m
}

impl Buf {
    pub(super) fn with_capacity(bytes: usize) -> Self {
        Buf::Owned(MutableBuffer::with_capacity(bytes))
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        match self {
            Buf::Shared(b) => b.as_slice(),
            Buf::Owned(m) => m.as_slice(),
        }
    }

    /// The bytes as `T`s. Arrow buffers of `T` are aligned for `T` (`ScalarBuffer` checks it on
    /// construction) and `MutableBuffer`s are 64-byte aligned, so the cast cannot fail.
    pub(super) fn typed<T: ArrowNativeType>(&self) -> &[T] {
        match self {
            Buf::Shared(b) => b.typed_data(),
            Buf::Owned(m) => m.typed_data(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// The owned buffer: the shared one itself when no one else holds it and it is not a
    /// slice, else a copy.
    pub(super) fn make_mut(&mut self) -> &mut MutableBuffer {
        if let Buf::Shared(b) = self {
            let shared = std::mem::replace(b, Buffer::from_vec(Vec::<u8>::new()));
            let owned = shared
                .into_mutable()
                .unwrap_or_else(|b| copy(b.as_slice(), b.len()));
            *self = Buf::Owned(owned);
        }
        match self {
            Buf::Owned(m) => m,
            Buf::Shared(_) => unreachable!("made owned above"),
        }
    }

    /// The bytes as an Arrow buffer, without copying.
    pub(super) fn freeze(self) -> Buffer {
        match self {
            Buf::Shared(b) => b,
            Buf::Owned(m) => m.into(),
        }
    }

    /// A copy of the bytes as an Arrow buffer.
    pub(super) fn to_buffer(&self) -> Buffer {
        match self {
            Buf::Shared(b) => b.clone(),
            Buf::Owned(m) => Buffer::from(m.as_slice()),
        }
    }
}
