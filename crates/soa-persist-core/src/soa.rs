//! The domain layer's runtime side: `SoA`, implemented by `#[derive(SoA)]` for a user's struct,
//! ties the struct to its generated container, row view and typed column handles.

use crate::column::Column;
use crate::convert::{ArrowColumn, ToArrow};
use crate::schema::ArrowSchemaGen;

/// A struct with a generated struct-of-arrays container (`#[derive(SoA)]`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not derive SoA",
    label = "a #[soa(nested)] field must be a struct with #[derive(SoA)]"
)]
pub trait SoA: ArrowSchemaGen + Sized + Send + Sync + 'static {
    /// The generated `XxxSoA` container: one column per field.
    type Container: Column<Item = Self>
        + ArrowColumn
        + ToArrow
        + ArrowSchemaGen
        + Clone
        + std::fmt::Debug
        + PartialEq
        + Send
        + Sync;
    /// The generated `XxxFields<R>`: typed handles of the columns, rooted at struct `R`.
    type Fields<R>;
    /// The struct's name as recorded in the schema.
    const STRUCT_NAME: &'static str;

    /// Checks that every value of this row can be stored (converts to its Arrow type): a
    /// decimal within its precision, an instant within its unit's range. `PersistentStore::add`
    /// runs it so that a bad value is refused when added, not found at flush time.
    fn validate(&self) -> Result<(), crate::error::ConvertError> {
        Ok(())
    }

    /// Typed handles of this struct's columns (`Order::fields().amount`).
    fn fields() -> Self::Fields<Self> {
        Self::fields_at(&[])
    }
    /// Handles of this struct's columns below `prefix`, for use inside a parent struct `R`.
    fn fields_at<R>(prefix: &[&'static str]) -> Self::Fields<R>;
}

/// A borrowed row of `T`'s container.
pub type RowRef<'a, T> = <<T as SoA>::Container as Column>::Ref<'a>;
