//! Typed column handles: `Order::fields().amount` is a `Col<Order, f64>`, a column path that
//! knows its root struct and value type, so the predicates built from it are type-checked.

use std::fmt;
use std::marker::PhantomData;

use crate::bridge::FieldOptions;

/// A typed handle of a column of struct `R` holding values of type `V`.
pub struct Col<R, V> {
    path: Vec<&'static str>,
    options: FieldOptions,
    _types: PhantomData<fn() -> (R, V)>,
}

impl<R, V> Col<R, V> {
    /// The handle of column `name` below `prefix` (nested struct fields have a longer path).
    pub fn new(prefix: &[&'static str], name: &'static str, options: FieldOptions) -> Self {
        let mut path = prefix.to_vec();
        path.push(name);
        Self {
            path,
            options,
            _types: PhantomData,
        }
    }

    /// The column's encoding settings (timestamp unit, decimal precision and scale).
    pub fn options(&self) -> &FieldOptions {
        &self.options
    }

    /// The column's path from the root struct: `["ship_to", "city"]`.
    pub fn path(&self) -> &[&'static str] {
        &self.path
    }

    /// The dotted column name: `ship_to.city`.
    pub fn name(&self) -> String {
        self.path.join(".")
    }
}

impl<R, V> Clone for Col<R, V> {
    fn clone(&self) -> Self {
        Self {
            path: self.path.clone(),
            options: self.options,
            _types: PhantomData,
        }
    }
}

impl<R, V> fmt::Debug for Col<R, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Col({}: {})", self.name(), std::any::type_name::<V>())
    }
}

impl<R, V> PartialEq for Col<R, V> {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}
