//! The schema layer: `ArrowSchemaGen`, the Arrow schema a derived struct maps to, fixed at
//! compile time and built once per type, with soa-persist's metadata (struct name, key,
//! partition fields and a fingerprint that changes whenever a field's name or type does).

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};

/// Schema metadata key: the Rust struct's name.
pub const META_STRUCT: &str = "soa.struct";
/// Schema metadata key: the `#[soa(key)]` column, if any.
pub const META_KEY: &str = "soa.key";
/// Schema metadata key: comma-separated `#[soa(partition)]` columns, in declaration order.
pub const META_PARTITION: &str = "soa.partition";
/// Schema metadata key: 16 hex digits hashing every field's name, type and nullability.
pub const META_FINGERPRINT: &str = "soa.fingerprint";

/// The Arrow schema of a `#[derive(SoA)]` struct (implemented for the struct and its container).
pub trait ArrowSchemaGen {
    /// The schema, built once and shared.
    fn arrow_schema() -> SchemaRef;
    /// Column names in schema order.
    fn arrow_field_names() -> &'static [&'static str];
    /// Column types in schema order.
    fn arrow_field_types() -> Vec<DataType> {
        Self::arrow_schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect()
    }
    /// The schema fingerprint stored under [`META_FINGERPRINT`].
    fn schema_fingerprint() -> String {
        Self::arrow_schema()
            .metadata()
            .get(META_FINGERPRINT)
            .cloned()
            .unwrap_or_default()
    }
}

/// Builds a struct's schema with soa-persist's metadata. Called by the generated code.
#[doc(hidden)]
pub fn build_schema(
    struct_name: &str,
    fields: Vec<Field>,
    key: Option<&str>,
    partition: &[&str],
) -> Schema {
    let fields = Fields::from(fields);
    let mut meta = HashMap::from([
        (META_STRUCT.to_string(), struct_name.to_string()),
        (META_FINGERPRINT.to_string(), fingerprint(&fields)),
    ]);
    if let Some(key) = key {
        meta.insert(META_KEY.to_string(), key.to_string());
    }
    if !partition.is_empty() {
        meta.insert(META_PARTITION.to_string(), partition.join(","));
    }
    Schema::new_with_metadata(fields, meta)
}

/// The fingerprint of `fields` as stored under [`META_FINGERPRINT`]: 16 hex digits of an FNV-1a
/// hash over a canonical text of the fields (names, types with nested fields, nullability).
pub fn fingerprint(fields: &Fields) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for field in fields {
        let text = format!(
            "{}:{}:{};",
            field.name(),
            field.data_type(),
            field.is_nullable()
        );
        for byte in text.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// The key column named in a schema's metadata.
pub fn key_field(schema: &Schema) -> Option<&str> {
    schema.metadata().get(META_KEY).map(String::as_str)
}

/// The partition columns named in a schema's metadata.
pub fn partition_fields(schema: &Schema) -> Vec<&str> {
    schema
        .metadata()
        .get(META_PARTITION)
        .map(|p| p.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

/// Per-type cache for generic structs, whose schema depends on the type parameters (a `static`
/// inside a generic function is shared by every instantiation, so it can't be used there).
/// Called by the generated code.
#[doc(hidden)]
pub fn cached_schema<T: 'static>(build: impl FnOnce() -> Schema) -> SchemaRef {
    static CACHE: OnceLock<RwLock<HashMap<TypeId, SchemaRef>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let id = TypeId::of::<T>();
    if let Some(schema) = cache.read().unwrap_or_else(|e| e.into_inner()).get(&id) {
        return schema.clone();
    }
    let schema = Arc::new(build());
    cache
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .entry(id)
        .or_insert(schema)
        .clone()
}
