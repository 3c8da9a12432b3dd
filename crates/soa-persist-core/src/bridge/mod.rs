//! The type bridge: how each Rust field type maps to an Arrow type and back.
//!
//! One trait impl per Rust type (in the files of this module), so supporting a new type is a new
//! impl, never a change to the derive macro. `BaseField` is what a non-null type implements;
//! blanket impls turn every `BaseField` `T` into the `SoAField`s `T` and `Option<T>`, so null
//! handling is written once.

mod bytes;
#[cfg(feature = "decimal")]
mod decimal;
mod enums;
mod list;
mod primitive;
mod temporal;
#[cfg(feature = "uuid")]
mod uuid;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, make_array};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, TimeUnit};

use crate::error::ConvertError;

pub use enums::{
    ENUM_VARIANTS_META, SoAEnum, enum_data_type, enum_decode, enum_encode, enum_metadata,
    enum_variants,
};
pub use temporal::{Micros, Millis, Nanos, Seconds, Timestamp, TimestampUnit};

/// Per-field settings from `#[soa(...)]` attributes that change a type's Arrow encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FieldOptions {
    /// `#[soa(timestamp = "s" | "ms" | "us" | "ns")]`; microseconds when unset.
    pub timestamp_unit: Option<TimeUnit>,
    /// `#[soa(decimal(precision, scale))]`; `(38, 10)` when unset.
    pub decimal: Option<(u8, i8)>,
}

impl FieldOptions {
    /// No settings: the same as `FieldOptions::default()`, usable in `const` items.
    pub const DEFAULT: Self = Self {
        timestamp_unit: None,
        decimal: None,
    };

    /// Sets the timestamp unit, as `#[soa(timestamp = "...")]` does.
    pub const fn with_timestamp(mut self, unit: TimeUnit) -> Self {
        self.timestamp_unit = Some(unit);
        self
    }

    /// Sets the decimal precision and scale, as `#[soa(decimal(p, s))]` does.
    pub const fn with_decimal(mut self, precision: u8, scale: i8) -> Self {
        self.decimal = Some((precision, scale));
        self
    }
}

/// A Rust type that can be a column of a `#[derive(SoA)]` struct.
///
/// Implemented for every `BaseField` and for `Option` of one; implement `BaseField` (not this)
/// to add a type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported soa-persist field type",
    label = "unsupported field type",
    note = "supported: bool, i8..i64, u8..u64, f32, f64, String, Vec<u8>, [u8; N], Vec<T>, Option<T>, Timestamp<U>, chrono DateTime<Utc> / NaiveDateTime / NaiveDate, rust_decimal::Decimal, uuid::Uuid, and enums with #[derive(SoAEnum)]",
    note = "a struct with #[derive(SoA)] can be a field with #[soa(nested)]"
)]
pub trait SoAField: Clone + std::fmt::Debug + PartialEq + Send + Sync + 'static {
    /// The Arrow type of a column of this type with these settings.
    fn data_type(opts: &FieldOptions) -> DataType;
    /// Whether the column may hold nulls: `true` for `Option<T>`, `false` otherwise.
    fn nullable() -> bool {
        false
    }
    /// The Arrow field metadata of a column of this type (an enum's variant names, a UUID's
    /// extension type); empty by default.
    fn metadata(_opts: &FieldOptions) -> HashMap<String, String> {
        HashMap::new()
    }
    /// The Arrow field for a column of this type.
    fn arrow_field(name: &str, opts: &FieldOptions) -> Field {
        Field::new(name, Self::data_type(opts), Self::nullable())
            .with_metadata(Self::metadata(opts))
    }
    /// Copies `values` into a new Arrow array.
    fn to_array(values: &[Self], opts: &FieldOptions) -> Result<ArrayRef, ConvertError>;
    /// Moves `values` into an Arrow array, without copying where the layouts agree.
    fn into_array(values: Vec<Self>, opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        Self::to_array(&values, opts)
    }
    /// Reads an Arrow array (of this type or a lossless alternative encoding).
    fn from_array(array: &ArrayRef, opts: &FieldOptions) -> Result<Vec<Self>, ConvertError>;
    /// Like `from_array`, reusing the array's buffer when it is the only owner.
    fn from_array_owned(array: ArrayRef, opts: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        Self::from_array(&array, opts)
    }
    /// The column to use when a batch lacks it: all nulls for `Option`, otherwise none.
    fn missing(_len: usize) -> Option<Vec<Self>> {
        None
    }
    /// Whether this value converts to the column's Arrow type (`SoA::validate`).
    fn validate(&self, _opts: &FieldOptions) -> Result<(), ConvertError> {
        Ok(())
    }
}

/// A non-null field type. Null handling (`Option<T>`) is derived from this.
pub trait BaseField: Clone + std::fmt::Debug + PartialEq + Send + Sync + 'static {
    /// The Arrow type of a column of this type with these settings.
    fn data_type(opts: &FieldOptions) -> DataType;
    /// The Arrow field metadata of a column of this type; empty by default.
    fn metadata(_opts: &FieldOptions) -> HashMap<String, String> {
        HashMap::new()
    }
    /// The value stored in a null slot's place (never seen by the user).
    fn placeholder() -> Self;
    /// Whether this value converts to the Arrow type; types whose encoding can fail check it.
    fn validate(&self, _opts: &FieldOptions) -> Result<(), ConvertError> {
        Ok(())
    }
    /// Copies `values` into a new Arrow array without nulls; a value the Arrow type can't hold
    /// is an error.
    fn encode(values: &[Self], opts: &FieldOptions) -> Result<ArrayRef, ConvertError>;
    /// Like `encode`, but takes the values, so a type whose layout is Arrow's can move the
    /// buffer instead of copying it; the default calls `encode`.
    fn encode_owned(values: Vec<Self>, opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        Self::encode(&values, opts)
    }
    /// Encodes nullable values; the default fills nulls with `placeholder()` and adds a validity
    /// bitmap. Types with a cheaper way override it.
    fn encode_opt(values: &[Option<Self>], opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        let dense: Vec<Self> = values
            .iter()
            .map(|v| v.clone().unwrap_or_else(Self::placeholder))
            .collect();
        let array = Self::encode_owned(dense, opts)?;
        with_validity(array, values.iter().map(Option::is_some))
    }
    /// Decodes every slot; null slots yield any value (they are masked by the caller), and
    /// garbage under a null must not cause an error.
    fn decode(array: &ArrayRef, opts: &FieldOptions) -> Result<Vec<Self>, ConvertError>;
    /// Like `decode`, but takes the array, so a type whose layout is Arrow's can reuse a buffer
    /// no one else holds instead of copying it; the default calls `decode`.
    fn decode_owned(array: ArrayRef, opts: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        Self::decode(&array, opts)
    }
    /// Decodes a nullable column; the default masks `decode` with the validity bitmap.
    fn decode_opt(
        array: &ArrayRef,
        opts: &FieldOptions,
    ) -> Result<Vec<Option<Self>>, ConvertError> {
        let values = Self::decode(array, opts)?;
        Ok(match array.logical_nulls() {
            None => values.into_iter().map(Some).collect(),
            Some(nulls) => values
                .into_iter()
                .zip(nulls.iter())
                .map(|(v, valid)| valid.then_some(v))
                .collect(),
        })
    }
}

/// Element types of `Vec<T>` list fields: every field type except `u8` (`Vec<u8>` is Binary).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported soa-persist list element type",
    label = "unsupported list element type",
    note = "a `Vec<T>` field is an Arrow List of `T`, for any supported field type `T` but `u8` (`Vec<u8>` is Binary)",
    note = "supported: bool, i8..i64, u8..u64, f32, f64, String, Vec<u8>, [u8; N], Vec<T>, Option<T>, Timestamp<U>, chrono DateTime<Utc> / NaiveDateTime / NaiveDate, rust_decimal::Decimal, uuid::Uuid, and enums with #[derive(SoAEnum)]"
)]
pub trait ListItem: SoAField {}

impl<T: BaseField> SoAField for T {
    fn data_type(opts: &FieldOptions) -> DataType {
        <T as BaseField>::data_type(opts)
    }
    fn metadata(opts: &FieldOptions) -> HashMap<String, String> {
        <T as BaseField>::metadata(opts)
    }
    fn to_array(values: &[Self], opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        T::encode(values, opts)
    }
    fn into_array(values: Vec<Self>, opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        T::encode_owned(values, opts)
    }
    fn from_array(array: &ArrayRef, opts: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        reject_nulls(array.as_ref())?;
        T::decode(array, opts)
    }
    fn from_array_owned(array: ArrayRef, opts: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        reject_nulls(array.as_ref())?;
        T::decode_owned(array, opts)
    }
    fn validate(&self, opts: &FieldOptions) -> Result<(), ConvertError> {
        BaseField::validate(self, opts)
    }
}

impl<T: BaseField> SoAField for Option<T> {
    fn data_type(opts: &FieldOptions) -> DataType {
        <T as BaseField>::data_type(opts)
    }
    fn nullable() -> bool {
        true
    }
    fn metadata(opts: &FieldOptions) -> HashMap<String, String> {
        <T as BaseField>::metadata(opts)
    }
    fn to_array(values: &[Self], opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        T::encode_opt(values, opts)
    }
    fn from_array(array: &ArrayRef, opts: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        T::decode_opt(array, opts)
    }
    fn missing(len: usize) -> Option<Vec<Self>> {
        Some(vec![None; len])
    }
    fn validate(&self, opts: &FieldOptions) -> Result<(), ConvertError> {
        self.as_ref()
            .map_or(Ok(()), |v| BaseField::validate(v, opts))
    }
}

impl<T: BaseField> ListItem for Option<T> {}

/// Errors with `UnexpectedNull` at the first null of `array`.
pub(crate) fn reject_nulls(array: &dyn Array) -> Result<(), ConvertError> {
    if let Some(nulls) = array.logical_nulls()
        && nulls.null_count() > 0
    {
        let row = nulls.iter().position(|valid| !valid).unwrap_or(0);
        return Err(ConvertError::UnexpectedNull {
            field: String::new(),
            row,
        });
    }
    Ok(())
}

/// Returns `array` with the given validity (true = value present) as its null bitmap.
pub(crate) fn with_validity(
    array: ArrayRef,
    valid: impl Iterator<Item = bool>,
) -> Result<ArrayRef, ConvertError> {
    let nulls = NullBuffer::from_iter(valid);
    if nulls.null_count() == 0 {
        return Ok(array);
    }
    let data = array
        .into_data()
        .into_builder()
        .nulls(Some(nulls))
        .build()?;
    Ok(make_array(data))
}

/// Validity of slot `i` under `nulls` (true when there is no null bitmap).
pub(crate) fn valid_at(nulls: Option<&NullBuffer>, i: usize) -> bool {
    nulls.is_none_or(|n| n.is_valid(i))
}

pub(crate) fn arc(array: impl Array + 'static) -> ArrayRef {
    Arc::new(array)
}
