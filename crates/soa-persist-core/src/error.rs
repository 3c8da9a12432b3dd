//! Errors of the schema/conversion layer (`ConvertError`) and of the in-memory domain store
//! (`StoreError`). Every variant names the column it is about, so a user can find the problem.

use arrow::datatypes::DataType;
use arrow::error::ArrowError;

/// A value or column could not be converted between Rust and Arrow.
///
/// `field` is the dotted path of the column (`ship_to.city`, `tags[]` for list items); it is
/// empty only while an error travels up from a single value to the column that holds it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The batch has no column of this name, and the field is neither `Option` nor `#[soa(default)]`.
    #[error("column `{field}` is missing (only Option and #[soa(default)] fields may be absent)")]
    MissingColumn {
        /// The column's dotted path.
        field: String,
    },
    /// The column's Arrow type can't be read losslessly into the field's Rust type.
    #[error("column `{field}`: expected Arrow type {expected}, found {found}")]
    TypeMismatch {
        /// The column's dotted path.
        field: String,
        /// The Arrow type the field's Rust type maps to.
        expected: DataType,
        /// The Arrow type of the column that was read.
        found: DataType,
    },
    /// A null in a column whose field is not an `Option`.
    #[error("column `{field}`: null at row {row}, but the field is not an Option")]
    UnexpectedNull {
        /// The column's dotted path.
        field: String,
        /// Index of the first null in the column, from 0 (for list items, among all of the
        /// column's items).
        row: usize,
    },
    /// One value does not fit the target (out of range, inexact, unknown enum variant, ...).
    #[error("column `{field}`, row {row}: {detail}")]
    InvalidValue {
        /// The column's dotted path.
        field: String,
        /// Index of the value in the column, from 0 (for list items, among all of the column's
        /// items; 0 when a single row is checked by `SoA::validate`).
        row: usize,
        /// What is wrong with the value.
        detail: String,
    },
    /// A column is too large for its Arrow encoding (e.g. more than 2 GiB of string data).
    #[error("column `{field}`: {detail}")]
    Capacity {
        /// The column's dotted path.
        field: String,
        /// Which limit the column exceeds.
        detail: String,
    },
    /// Columns of one batch disagree on their length.
    #[error("column `{field}` has {found} rows, expected {expected}")]
    LengthMismatch {
        /// The column's dotted path.
        field: String,
        /// The number of rows of the batch being read, or of the container being converted.
        expected: usize,
        /// The number of rows of this column.
        found: usize,
    },
    /// Arrow rejected the arrays we built (a bug or a broken invariant, reported instead of a panic).
    #[error("column `{field}`: arrow error: {source}")]
    Arrow {
        /// The column's dotted path.
        field: String,
        /// The error Arrow returned.
        #[source]
        source: ArrowError,
    },
}

/// The `field` of every variant, by reference or by mutable reference (one list for both).
macro_rules! field_of {
    ($error:expr) => {
        match $error {
            Self::MissingColumn { field }
            | Self::TypeMismatch { field, .. }
            | Self::UnexpectedNull { field, .. }
            | Self::InvalidValue { field, .. }
            | Self::Capacity { field, .. }
            | Self::LengthMismatch { field, .. }
            | Self::Arrow { field, .. } => field,
        }
    };
}

impl ConvertError {
    /// The dotted path of the column the error is about.
    pub fn field(&self) -> &str {
        field_of!(self)
    }

    fn field_mut(&mut self) -> &mut String {
        field_of!(self)
    }

    /// Prefixes the column path with `parent` (used as errors travel out of nested columns).
    pub fn in_field(mut self, parent: &str) -> Self {
        let field = self.field_mut();
        *field = match (field.is_empty(), field.starts_with('[')) {
            (true, _) => parent.to_string(),
            (false, true) => format!("{parent}{field}"),
            (false, false) => format!("{parent}.{field}"),
        };
        self
    }

    /// The error of a conversion of rows `start..` alone, with its row counted from row 0 of
    /// the whole (for a list item, the item's index is still among the items of those rows).
    pub fn rows_from(mut self, start: usize) -> Self {
        if let Self::UnexpectedNull { row, .. } | Self::InvalidValue { row, .. } = &mut self {
            *row += start;
        }
        self
    }

    pub(crate) fn type_mismatch(expected: DataType, found: &DataType) -> Self {
        Self::TypeMismatch {
            field: String::new(),
            expected,
            found: found.clone(),
        }
    }

    pub(crate) fn invalid(row: usize, detail: impl Into<String>) -> Self {
        Self::InvalidValue {
            field: String::new(),
            row,
            detail: detail.into(),
        }
    }

    pub(crate) fn capacity(detail: impl Into<String>) -> Self {
        Self::Capacity {
            field: String::new(),
            detail: detail.into(),
        }
    }

    pub(crate) fn arrow(source: ArrowError) -> Self {
        Self::Arrow {
            field: String::new(),
            source,
        }
    }
}

impl From<ArrowError> for ConvertError {
    fn from(source: ArrowError) -> Self {
        Self::arrow(source)
    }
}

/// An operation of the in-memory domain store was refused; the store is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A row with this key is already in the store (or twice in the rows being added).
    #[error("duplicate key {key} in field `{field}`")]
    DuplicateKey {
        /// The key column's name.
        field: &'static str,
        /// The key, formatted with `{:?}`.
        key: String,
    },
    /// No row has this key.
    #[error("no row with key {key} in field `{field}`")]
    NotFound {
        /// The key column's name.
        field: &'static str,
        /// The key, formatted with `{:?}`.
        key: String,
    },
    /// The rows could not be converted.
    #[error(transparent)]
    Convert(#[from] ConvertError),
}
