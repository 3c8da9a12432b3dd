//! Field-less enums (`#[derive(SoAEnum)]`) as `Dictionary(Int8 | Int16 | Int32, Utf8)`.
//! The variant list is fixed at compile time, so the key width is too; reads accept any
//! dictionary encoding or plain strings and match variants by name.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    AnyDictionaryArray, Array, ArrayRef, AsArray, DictionaryArray, PrimitiveArray, StringArray,
};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::{ArrowDictionaryKeyType, DataType, Int8Type, Int16Type, Int32Type};

use super::{BaseField, FieldOptions, valid_at};
use crate::error::ConvertError;

/// A field-less enum stored as a dictionary of its variant names (derive it with `SoAEnum`).
pub trait SoAEnum: Clone + Send + Sync + 'static {
    /// Variant names in declaration order (after `#[soa(rename)]`).
    const VARIANTS: &'static [&'static str];
    /// Every variant, in the order of `VARIANTS` (what an `EnumColumn` lends out by reference).
    const ALL: &'static [Self];
    /// This variant's position in `VARIANTS`.
    fn variant_index(&self) -> usize;
    /// The variant at this position in `VARIANTS`, if any.
    fn from_variant_index(index: usize) -> Option<Self>;
    /// This variant's name from `VARIANTS` (empty if `variant_index` is out of its range).
    fn variant_name(&self) -> &'static str {
        Self::VARIANTS
            .get(self.variant_index())
            .copied()
            .unwrap_or("")
    }
    /// The variant with this name, if any.
    fn from_variant_name(name: &str) -> Option<Self> {
        Self::VARIANTS
            .iter()
            .position(|v| *v == name)
            .and_then(Self::from_variant_index)
    }
}

/// `Dictionary(key, Utf8)` with the narrowest signed key that indexes every variant.
/// Called by the generated code.
#[doc(hidden)]
pub fn enum_data_type<E: SoAEnum>() -> DataType {
    let key = match E::VARIANTS.len() {
        0..=128 => DataType::Int8,
        129..=32_768 => DataType::Int16,
        _ => DataType::Int32,
    };
    DataType::Dictionary(Box::new(key), Box::new(DataType::Utf8))
}

fn dictionary<K: ArrowDictionaryKeyType, E: SoAEnum>(values: &[E]) -> Result<ArrayRef, ConvertError>
where
    K::Native: TryFrom<usize>,
{
    let keys: Vec<K::Native> = values
        .iter()
        .map(|v| K::Native::try_from(v.variant_index()).unwrap_or_default())
        .collect();
    let names: ArrayRef = Arc::new(StringArray::from(E::VARIANTS.to_vec()));
    let keys = PrimitiveArray::<K>::new(ScalarBuffer::from(keys), None);
    Ok(Arc::new(DictionaryArray::<K>::try_new(keys, names)?))
}

/// Field metadata key listing an enum column's variants (a JSON array of strings, in order), so
/// that backends with an enum type (DuckDB `ENUM`, ClickHouse `Enum8`) can declare it.
pub const ENUM_VARIANTS_META: &str = "soa.enum.variants";

/// The field metadata of an enum column: its variant names under [`ENUM_VARIANTS_META`].
/// Called by the generated code.
#[doc(hidden)]
pub fn enum_metadata<E: SoAEnum>() -> HashMap<String, String> {
    let mut json = String::from("[");
    for (i, name) in E::VARIANTS.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push('"');
        for c in name.chars() {
            match c {
                '"' => json.push_str("\\\""),
                '\\' => json.push_str("\\\\"),
                c if (c as u32) < 0x20 => json.push_str(&format!("\\u{:04x}", c as u32)),
                c => json.push(c),
            }
        }
        json.push('"');
    }
    json.push(']');
    HashMap::from([(ENUM_VARIANTS_META.to_string(), json)])
}

/// The variant names in the value of an enum column's [`ENUM_VARIANTS_META`] entry (a JSON
/// array of strings), or `None` when the text is not in that form.
pub fn enum_variants(list: &str) -> Option<Vec<String>> {
    let mut chars = list
        .trim()
        .strip_prefix('[')?
        .strip_suffix(']')?
        .chars()
        .peekable();
    let mut out = Vec::new();
    // A string comes first and after each comma; a comma only after a string.
    let mut want_string = true;
    loop {
        match chars.next() {
            None => return (out.is_empty() || !want_string).then_some(out),
            Some(c) if c.is_whitespace() => {}
            Some('"') if want_string => {
                out.push(read_string(&mut chars)?);
                want_string = false;
            }
            Some(',') if !want_string => want_string = true,
            Some(_) => return None,
        }
    }
}

/// One JSON string body after its opening quote, with the escapes `enum_metadata` writes.
fn read_string(chars: &mut impl Iterator<Item = char>) -> Option<String> {
    let mut s = String::new();
    loop {
        match chars.next()? {
            '"' => return Some(s),
            '\\' => match chars.next()? {
                '"' => s.push('"'),
                '\\' => s.push('\\'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    s.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                _ => return None,
            },
            c => s.push(c),
        }
    }
}

/// Encodes enum values as `enum_data_type::<E>()`: each key is a variant's index, and the
/// dictionary holds every variant name in declaration order. Called by the generated code.
#[doc(hidden)]
pub fn enum_encode<E: SoAEnum>(values: &[E]) -> Result<ArrayRef, ConvertError> {
    match E::VARIANTS.len() {
        0..=128 => dictionary::<Int8Type, E>(values),
        129..=32_768 => dictionary::<Int16Type, E>(values),
        _ => dictionary::<Int32Type, E>(values),
    }
}

fn lookup<E: SoAEnum>(row: usize, name: &str) -> Result<E, ConvertError> {
    E::from_variant_name(name).ok_or_else(|| {
        ConvertError::invalid(
            row,
            format!(
                "unknown variant `{name}` (expected one of {})",
                E::VARIANTS.join(", ")
            ),
        )
    })
}

/// Decodes a dictionary of strings (any key type) or a plain string column into variants by
/// name. An unknown name or a key outside the dictionary is `InvalidValue`, any other column
/// type a `TypeMismatch`; null slots get the first variant (the caller masks them). Called by
/// the generated code.
#[doc(hidden)]
pub fn enum_decode<E: SoAEnum>(
    array: &ArrayRef,
    opts: &FieldOptions,
) -> Result<Vec<E>, ConvertError> {
    let nulls = array.logical_nulls();
    let valid = |row: usize| nulls.as_ref().is_none_or(|n| n.is_valid(row));
    let placeholder = E::from_variant_index(0);
    let null_slot = |row: usize| {
        placeholder
            .clone()
            .ok_or_else(|| ConvertError::invalid(row, "enum has no variants"))
    };
    if let DataType::Dictionary(_, _) = array.data_type() {
        let dict: &dyn AnyDictionaryArray = array
            .as_any_dictionary_opt()
            .ok_or_else(|| ConvertError::type_mismatch(enum_data_type::<E>(), array.data_type()))?;
        let names = String::decode(dict.values(), opts)
            .map_err(|_| ConvertError::type_mismatch(enum_data_type::<E>(), array.data_type()))?;
        // Resolve each dictionary value once, not once per row.
        let dict_nulls = dict.values().nulls();
        let resolved: Vec<Option<E>> = names
            .iter()
            .enumerate()
            .map(|(k, name)| {
                if valid_at(dict_nulls, k) {
                    E::from_variant_name(name)
                } else {
                    None
                }
            })
            .collect();
        // `normalized_keys` requires a non-empty dictionary; an empty one can only have nulls.
        let keys = if names.is_empty() {
            vec![usize::MAX; array.len()]
        } else {
            dict.normalized_keys()
        };
        return keys
            .iter()
            .enumerate()
            .map(|(row, &k)| {
                if !valid(row) {
                    return null_slot(row);
                }
                match (resolved.get(k), names.get(k)) {
                    (Some(Some(variant)), _) => Ok(variant.clone()),
                    (Some(None), Some(name)) => lookup(row, name),
                    _ => Err(ConvertError::invalid(
                        row,
                        format!("dictionary key {k} out of range"),
                    )),
                }
            })
            .collect();
    }
    let names = String::decode(array, opts)
        .map_err(|_| ConvertError::type_mismatch(enum_data_type::<E>(), array.data_type()))?;
    names
        .iter()
        .enumerate()
        .map(|(row, name)| {
            if valid(row) {
                lookup(row, name)
            } else {
                null_slot(row)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Odd {
        A,
    }

    impl SoAEnum for Odd {
        const VARIANTS: &'static [&'static str] = &["plain", "q\"uote", "back\\slash", "tab\t"];
        const ALL: &'static [Self] = &[Odd::A];
        fn variant_index(&self) -> usize {
            0
        }
        fn from_variant_index(_: usize) -> Option<Self> {
            Some(Odd::A)
        }
    }

    #[test]
    fn variant_lists_read_back_what_was_written() {
        let meta = enum_metadata::<Odd>();
        let names: Vec<String> = Odd::VARIANTS.iter().map(|s| s.to_string()).collect();
        assert_eq!(enum_variants(&meta[ENUM_VARIANTS_META]), Some(names));
        assert_eq!(enum_variants("[]"), Some(vec![]));
        assert_eq!(enum_variants("[\"a\" \"b\"]"), None, "missing comma");
        assert_eq!(enum_variants("[,\"a\"]"), None, "leading comma");
        assert_eq!(enum_variants("[\"a\",]"), None, "trailing comma");
        assert_eq!(enum_variants("[\"a\",,\"b\"]"), None, "two commas");
        assert_eq!(
            enum_variants("[ \"a\" , \"b\" ]"),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(enum_variants("a,b"), None);
    }
}
