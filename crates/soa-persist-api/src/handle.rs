//! `Handle<S, T>`: a backend's shared state, typed by the rows it stores. Every backend is a
//! cheap clonable handle over one shared state; this is that handle, written once.

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

/// Shared state `S` of a backend that stores rows of `T`. Clones share `S` (no `T: Clone`
/// bound, which `#[derive(Clone)]` would add) and it reads as `S` through `Deref`.
pub struct Handle<S: ?Sized, T> {
    shared: Arc<S>,
    _rows: PhantomData<fn() -> T>,
}

impl<S, T> Handle<S, T> {
    /// A handle owning `state`.
    pub fn new(state: S) -> Self {
        Self::from_arc(Arc::new(state))
    }
}

impl<S: ?Sized, T> Handle<S, T> {
    /// A handle sharing `state`.
    pub fn from_arc(state: Arc<S>) -> Self {
        Self {
            shared: state,
            _rows: PhantomData,
        }
    }

    /// The shared state, to move into a blocking task or another handle.
    pub fn arc(&self) -> &Arc<S> {
        &self.shared
    }
}

impl<S: ?Sized, T> Clone for Handle<S, T> {
    fn clone(&self) -> Self {
        Self::from_arc(self.shared.clone())
    }
}

impl<S: ?Sized, T> Deref for Handle<S, T> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.shared
    }
}

/// `Clone` for a backend type `$backend<T>` whose one field `$field` is a [`Handle`]: clones
/// share the state, and `T` needs no `Clone` (which `#[derive(Clone)]` would ask for).
#[macro_export]
macro_rules! clone_handle {
    ($backend:ident, $field:ident) => {
        impl<T> ::core::clone::Clone for $backend<T> {
            fn clone(&self) -> Self {
                Self {
                    $field: ::core::clone::Clone::clone(&self.$field),
                }
            }
        }
    };
}
