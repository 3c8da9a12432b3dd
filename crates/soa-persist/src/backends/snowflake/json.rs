//! Lists and nested structs as the JSON text of Snowflake's `ARRAY` / `OBJECT` columns, both
//! ways, column by column. Writes bind (or stage) each row's JSON as text and `PARSE_JSON` it;
//! reads get each value back as JSON text and build the struct's Arrow `List` / `Struct`
//! arrays from it. The encoding keeps every value exact whatever the engine does to JSON
//! numbers:
//!
//! | Arrow | JSON |
//! | --- | --- |
//! | bool, integers | `true` / `false`, numbers (Snowflake keeps integers of up to 38 digits exactly) |
//! | floats | strings, shortest exact text (`"1.5"`, `"NaN"`, `"inf"`, `"-0.0"`): exact whatever digits an engine prints for a double |
//! | decimals | strings at the field's scale (`"12.3400"`) |
//! | text, enums (by name) | strings |
//! | binary, `[u8; N]`, UUIDs | lowercase hex strings (Snowflake's default binary text) |
//! | dates | `"YYYY-MM-DD"` |
//! | timestamps | ISO 8601, `"2024-02-29T12:34:56.123456"`, `Z` appended when the field has a zone (years 1-9999) |
//! | null | `null` |
//! | list / nested struct | array / object keyed by field name |
//!
//! Reads also take numbers where strings are written (floats, decimals) and upper-case hex; a
//! value of another JSON kind, or one the field's type can't hold, is a `ConvertError` naming
//! the field and the row.

use std::sync::Arc;

use serde_json::{Number, Value};
use soa_persist_api::PersistError;
use soa_persist_api::exec::cast_exact;
use soa_persist_core::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, FixedSizeBinaryArray, GenericListArray,
    NullArray, StringArray, StructArray, new_null_array,
};
use soa_persist_core::arrow::buffer::{NullBuffer, OffsetBuffer};
use soa_persist_core::arrow::compute::cast;
use soa_persist_core::arrow::datatypes::{self as dt, DataType, Field, FieldRef, TimeUnit};
use soa_persist_core::arrow::util::display::{ArrayFormatter, FormatOptions};
use soa_persist_core::error::ConvertError;

/// Whether a field is stored as JSON (`ARRAY` / `OBJECT`).
pub(crate) fn is_json(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::List(_) | DataType::LargeList(_) | DataType::Struct(_)
    )
}

/// Each row of `column` (field `name`) as JSON text; `None` for a null row.
pub(crate) fn to_texts(column: &ArrayRef, name: &str) -> Result<Vec<Option<String>>, PersistError> {
    let values = encode(column, name)?;
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(i, v)| (!column.is_null(i)).then(|| v.to_string()))
        .collect())
}

/// A column of JSON texts (`None` for SQL null) as an array of `field`'s type.
pub(crate) fn from_texts(texts: &[Option<&str>], field: &Field) -> Result<ArrayRef, PersistError> {
    let parsed = texts
        .iter()
        .enumerate()
        .map(|(row, t)| {
            t.map(|t| {
                serde_json::from_str::<Value>(t)
                    .map_err(|e| invalid(field.name(), row, format!("not JSON: {e}")))
            })
            .transpose()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let values: Vec<Option<&Value>> = parsed.iter().map(Option::as_ref).collect();
    let rows: Vec<usize> = (0..values.len()).collect();
    build(&values, &rows, field, field.name())
}

fn invalid(field: &str, row: usize, detail: String) -> PersistError {
    PersistError::Convert(ConvertError::InvalidValue {
        field: field.to_string(),
        row,
        detail,
    })
}

/// Every value of `array` as JSON (nulls as `null`), children first: no per-row dispatch.
fn encode(array: &ArrayRef, path: &str) -> Result<Vec<Value>, PersistError> {
    use DataType::*;
    let n = array.len();
    let nulls = |mut values: Vec<Value>| {
        for (i, v) in values.iter_mut().enumerate() {
            if array.is_null(i) {
                *v = Value::Null;
            }
        }
        values
    };
    Ok(match array.data_type() {
        List(_) => lists(array.as_list::<i32>(), path)?,
        LargeList(_) => lists(array.as_list::<i64>(), path)?,
        Struct(fields) => {
            let s = array.as_struct();
            let children = fields
                .iter()
                .zip(s.columns())
                .map(|(f, c)| Ok((f.name(), encode(c, &format!("{path}.{}", f.name()))?)))
                .collect::<Result<Vec<_>, PersistError>>()?;
            let objects = (0..n)
                .map(|i| {
                    let map: serde_json::Map<String, Value> = children
                        .iter()
                        .map(|(name, values)| ((*name).clone(), values[i].clone()))
                        .collect();
                    Value::Object(map)
                })
                .collect();
            nulls(objects)
        }
        Boolean => {
            let a = array.as_boolean();
            nulls((0..n).map(|i| Value::Bool(a.value(i))).collect())
        }
        Int8 | Int16 | Int32 | Int64 => {
            let a = cast(array, &Int64)?;
            let a = a.as_primitive::<dt::Int64Type>();
            nulls(a.values().iter().map(|v| Value::from(*v)).collect())
        }
        UInt8 | UInt16 | UInt32 | UInt64 => {
            let a = cast(array, &UInt64)?;
            let a = a.as_primitive::<dt::UInt64Type>();
            nulls(a.values().iter().map(|v| Value::from(*v)).collect())
        }
        Float32 => {
            let a = array.as_primitive::<dt::Float32Type>();
            nulls(
                a.values()
                    .iter()
                    .map(|v| Value::String(format!("{v:?}")))
                    .collect(),
            )
        }
        Float64 => {
            let a = array.as_primitive::<dt::Float64Type>();
            nulls(
                a.values()
                    .iter()
                    .map(|v| Value::String(format!("{v:?}")))
                    .collect(),
            )
        }
        Binary => hexes(array.as_binary::<i32>().iter()),
        LargeBinary => hexes(array.as_binary::<i64>().iter()),
        FixedSizeBinary(_) => hexes(array.as_fixed_size_binary().iter()),
        Timestamp(unit, zone) => {
            // Formatted without the zone label (every instant here is UTC), then marked `Z`.
            let naive = cast_exact(array, &Timestamp(*unit, None))?;
            let zulu = if zone.is_some() { "Z" } else { "" };
            let texts = formatted(&naive)?;
            let mut out = Vec::with_capacity(n);
            for (i, t) in texts.into_iter().enumerate() {
                let Some(t) = t else {
                    out.push(Value::Null);
                    continue;
                };
                // Four-digit years only: other engines (and Arrow) don't parse more.
                if t.len() < 10 || t.as_bytes()[4] != b'-' || !t.as_bytes()[0].is_ascii_digit() {
                    return Err(invalid(
                        path,
                        i,
                        format!("instant {t} is outside years 1-9999, which JSON text holds"),
                    ));
                }
                out.push(Value::String(format!("{t}{zulu}")));
            }
            out
        }
        Utf8 | LargeUtf8 | Utf8View | Date32 | Decimal128(..) | Dictionary(..) => formatted(array)?
            .into_iter()
            .map(|t| t.map_or(Value::Null, Value::String))
            .collect(),
        Null => vec![Value::Null; n],
        other => {
            return Err(PersistError::SchemaMismatch {
                backend: super::NAME,
                detail: format!("field `{path}`: {other} has no JSON form here"),
            });
        }
    })
}

fn lists<O: soa_persist_core::arrow::array::OffsetSizeTrait>(
    list: &GenericListArray<O>,
    path: &str,
) -> Result<Vec<Value>, PersistError> {
    let offsets = list.value_offsets();
    let (start, end) = (offsets[0].as_usize(), offsets[list.len()].as_usize());
    let items = encode(
        &list.values().slice(start, end - start),
        &format!("{path}[]"),
    )?;
    let mut items = items.into_iter();
    Ok(offsets
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let row: Vec<Value> = items.by_ref().take((w[1] - w[0]).as_usize()).collect();
            if list.is_null(i) {
                Value::Null
            } else {
                Value::Array(row)
            }
        })
        .collect())
}

fn hexes<'a>(values: impl Iterator<Item = Option<&'a [u8]>>) -> Vec<Value> {
    values
        .map(|v| {
            v.map_or(Value::Null, |b| {
                Value::String(b.iter().map(|x| format!("{x:02x}")).collect())
            })
        })
        .collect()
}

/// Each value through Arrow's display (`None` for null).
fn formatted(array: &ArrayRef) -> Result<Vec<Option<String>>, PersistError> {
    let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())?;
    Ok((0..array.len())
        .map(|i| (!array.is_null(i)).then(|| formatter.value(i).to_string()))
        .collect())
}

/// `values` (each from table row `rows[i]`) as an array of `field`'s type; `path` names the
/// field in errors.
fn build(
    values: &[Option<&Value>],
    rows: &[usize],
    field: &Field,
    path: &str,
) -> Result<ArrayRef, PersistError> {
    use DataType::*;
    let is_null = |v: &Option<&Value>| v.is_none_or(Value::is_null);
    if !field.is_nullable()
        && let Some(i) = values.iter().position(is_null)
    {
        return Err(PersistError::Convert(ConvertError::UnexpectedNull {
            field: path.to_string(),
            row: rows[i],
        }));
    }
    let valid: Vec<bool> = values.iter().map(|v| !is_null(v)).collect();
    let nulls = Some(NullBuffer::from(valid.clone())).filter(|n| n.null_count() > 0);
    Ok(match field.data_type() {
        List(item) => Arc::new(list::<i32>(values, rows, item, path, nulls)?),
        LargeList(item) => Arc::new(list::<i64>(values, rows, item, path, nulls)?),
        Struct(fields) => {
            let mut children = Vec::with_capacity(fields.len());
            for f in fields {
                let mut child = Vec::with_capacity(values.len());
                for (i, v) in values.iter().enumerate() {
                    child.push(match v {
                        None | Some(Value::Null) => None,
                        Some(Value::Object(map)) => map.get(f.name()),
                        Some(other) => {
                            return Err(invalid(
                                path,
                                rows[i],
                                format!("expected a JSON object, found {}", kind(other)),
                            ));
                        }
                    });
                }
                // A null struct's children may hold anything: they are nulls here, so a
                // required child of a null struct is not reported.
                let child_field = if nulls.is_some() {
                    f.as_ref().clone().with_nullable(true)
                } else {
                    f.as_ref().clone()
                };
                let built = build(&child, rows, &child_field, &format!("{path}.{}", f.name()))?;
                children.push(cast_exact(&built, f.data_type())?);
            }
            if fields.is_empty() {
                Arc::new(StructArray::new_empty_fields(values.len(), nulls))
            } else {
                Arc::new(StructArray::try_new(fields.clone(), children, nulls)?)
            }
        }
        Boolean => {
            let mut out = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                out.push(match v {
                    None | Some(Value::Null) => None,
                    Some(Value::Bool(b)) => Some(*b),
                    Some(other) => return Err(wrong(path, rows[i], "a boolean", other)),
                });
            }
            Arc::new(BooleanArray::from(out))
        }
        Binary | LargeBinary | FixedSizeBinary(_) => {
            let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                out.push(match v {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(
                        unhex(s)
                            .ok_or_else(|| invalid(path, rows[i], format!("not hex: {s:?}")))?,
                    ),
                    Some(other) => return Err(wrong(path, rows[i], "a hex string", other)),
                });
            }
            if let FixedSizeBinary(width) = field.data_type() {
                if let Some(i) = out
                    .iter()
                    .position(|b| b.as_ref().is_some_and(|b| b.len() != *width as usize))
                {
                    return Err(invalid(
                        path,
                        rows[i],
                        format!(
                            "{} bytes where the field holds {width}",
                            out[i].as_ref().map_or(0, Vec::len)
                        ),
                    ));
                }
                if out.iter().all(Option::is_none) {
                    new_null_array(field.data_type(), out.len())
                } else {
                    Arc::new(FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                        out.into_iter(),
                        *width,
                    )?)
                }
            } else {
                let binary: ArrayRef = Arc::new(BinaryArray::from_iter(out));
                cast(&binary, field.data_type())?
            }
        }
        Null => Arc::new(NullArray::new(values.len())),
        // Everything else from its text, through Arrow's strict cast.
        to => {
            let text_ok = !matches!(
                to,
                Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64
            );
            let number_ok = !matches!(
                to,
                Utf8 | LargeUtf8 | Utf8View | Dictionary(..) | Date32 | Timestamp(..)
            );
            let mut texts: Vec<Option<String>> = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                texts.push(match v {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) if text_ok => Some(s.clone()),
                    Some(Value::Number(n)) if number_ok => Some(number_text(n)),
                    Some(other) => return Err(wrong(path, rows[i], &describe(to), other)),
                });
            }
            from_strings(&texts, rows, to, path)?
        }
    })
}

fn list<O: soa_persist_core::arrow::array::OffsetSizeTrait>(
    values: &[Option<&Value>],
    rows: &[usize],
    item: &FieldRef,
    path: &str,
    nulls: Option<NullBuffer>,
) -> Result<GenericListArray<O>, PersistError> {
    let mut offsets = Vec::with_capacity(values.len() + 1);
    offsets.push(O::usize_as(0));
    let mut items: Vec<Option<&Value>> = Vec::new();
    let mut item_rows = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                items.extend(a.iter().map(Some));
                item_rows.extend(std::iter::repeat_n(rows[i], a.len()));
            }
            Some(other) => {
                return Err(invalid(
                    path,
                    rows[i],
                    format!("expected a JSON array, found {}", kind(other)),
                ));
            }
        }
        offsets.push(O::usize_as(items.len()));
    }
    let built = build(&items, &item_rows, item, &format!("{path}[]"))?;
    Ok(GenericListArray::<O>::try_new(
        item.clone(),
        OffsetBuffer::new(offsets.into()),
        built,
        nulls,
    )?)
}

/// Text values cast to `to`; a value that doesn't cast is an error naming its row.
fn from_strings(
    texts: &[Option<String>],
    rows: &[usize],
    to: &DataType,
    path: &str,
) -> Result<ArrayRef, PersistError> {
    let convert = |texts: &[Option<String>]| -> Result<ArrayRef, String> {
        // Instants go through a zoneless timestamp (Arrow's parser takes `Z` only for zoned
        // targets; every instant here is UTC), then get the field's zone label.
        let (via, zulu) = match to {
            DataType::Timestamp(unit, zone) => (DataType::Timestamp(*unit, None), zone.is_some()),
            other => (other.clone(), false),
        };
        let strings: ArrayRef = Arc::new(StringArray::from_iter(texts.iter().map(|t| {
            t.as_deref().map(|t| {
                if zulu {
                    t.strip_suffix('Z').unwrap_or(t)
                } else {
                    t
                }
            })
        })));
        let out = cast_exact(&strings, &via).map_err(|e| e.to_string())?;
        cast_exact(&out, to).map_err(|e| e.to_string())
    };
    convert(texts).map_err(|e| {
        // Find the first value that fails, for the error.
        let bad = (0..texts.len()).find(|&i| convert(&texts[i..=i]).is_err());
        match bad {
            Some(i) => invalid(
                path,
                rows[i],
                format!(
                    "{:?} is not a {}: {}",
                    texts[i].as_deref().unwrap_or_default(),
                    describe(to),
                    convert(&texts[i..=i]).err().unwrap_or_default()
                ),
            ),
            None => invalid(path, rows.first().copied().unwrap_or(0), e),
        }
    })
}

fn number_text(n: &Number) -> String {
    n.to_string()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn wrong(path: &str, row: usize, wanted: &str, found: &Value) -> PersistError {
    invalid(
        path,
        row,
        format!("expected {wanted}, found {}", kind(found)),
    )
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn describe(to: &DataType) -> String {
    match to {
        DataType::Timestamp(TimeUnit::Second, _) => "timestamp (s)".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use soa_persist_core::arrow::array::TimestampMicrosecondArray;
    use soa_persist_core::arrow::datatypes::Fields;

    use super::*;

    fn place() -> Field {
        let geo = Fields::from(vec![Field::new("lat", DataType::Float64, false)]);
        let fields = Fields::from(vec![
            Field::new("city", DataType::Utf8, false),
            Field::new("price", DataType::Decimal128(10, 2), true),
            Field::new("code", DataType::Binary, true),
            Field::new("geo", DataType::Struct(geo), false),
        ]);
        Field::new("place", DataType::Struct(fields), false)
    }

    #[test]
    fn an_instant_outside_years_1_to_9999_is_an_invalid_value_on_write() {
        let field = Field::new_list_field(DataType::Timestamp(TimeUnit::Microsecond, None), false);
        let far = TimestampMicrosecondArray::from(vec![0, 253_402_300_800_000_000]);
        let list = GenericListArray::<i32>::try_new(
            Arc::new(field),
            OffsetBuffer::new(vec![0, 1, 2].into()),
            Arc::new(far),
            None,
        )
        .unwrap();
        let err = to_texts(&(Arc::new(list) as ArrayRef), "at").unwrap_err();
        assert!(
            matches!(&err, PersistError::Convert(ConvertError::InvalidValue { field, row: 1, .. }) if field == "at[]"),
            "{err}"
        );
        assert!(err.to_string().contains("years 1-9999"), "{err}");
    }

    #[test]
    fn reads_take_numbers_for_floats_and_decimals_and_upper_case_hex() {
        let json = r#"{"city": "x", "price": 1.5, "code": "00ABff", "geo": {"lat": 2.25}}"#;
        let array = from_texts(&[Some(json)], &place()).unwrap();
        let s = array.as_struct();
        let price = s.column(1).as_primitive::<dt::Decimal128Type>();
        assert_eq!(price.value(0), 150);
        assert_eq!(s.column(2).as_binary::<i32>().value(0), [0, 0xab, 0xff]);
        let geo = s.column(3).as_struct();
        assert_eq!(
            geo.column(0).as_primitive::<dt::Float64Type>().value(0),
            2.25
        );
    }

    #[test]
    fn a_value_of_another_kind_names_its_path_and_row() {
        let good = r#"{"city": "x", "geo": {"lat": "1"}}"#;
        let bad = r#"{"city": 5, "geo": {"lat": "1"}}"#;
        let err = from_texts(&[Some(good), Some(good), Some(bad)], &place()).unwrap_err();
        assert!(
            matches!(&err, PersistError::Convert(ConvertError::InvalidValue { field, row: 2, .. }) if field == "place.city"),
            "{err}"
        );
        let deep = r#"{"city": "x", "geo": {"lat": "north"}}"#;
        let err = from_texts(&[Some(deep)], &place()).unwrap_err();
        assert!(err.to_string().contains("place.geo.lat"), "{err}");
        let missing = r#"{"geo": {"lat": "1"}}"#;
        let err = from_texts(&[Some(missing)], &place()).unwrap_err();
        assert!(
            matches!(&err, PersistError::Convert(ConvertError::UnexpectedNull { field, row: 0 }) if field == "place.city"),
            "{err}"
        );
        let ints = Field::new_list_field(DataType::Int8, true);
        let list = Field::new("small", DataType::List(Arc::new(ints)), false);
        let err = from_texts(&[Some("[1, 300]")], &list).unwrap_err();
        assert!(err.to_string().contains("small[]"), "{err}");
    }
}
