//! chrono's `DateTime<Utc>`, `NaiveDateTime` and `NaiveDate` as column types (feature `chrono`):
//! converted value by value, floored to the field's unit, with out-of-range values refused.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::*;
use arrow::datatypes::{Date32Type, Date64Type};

pub(super) fn to_unit(dt: &DateTime<Utc>, unit: TimeUnit) -> Option<i64> {
    match unit {
        TimeUnit::Second => Some(dt.timestamp()),
        TimeUnit::Millisecond => Some(dt.timestamp_millis()),
        TimeUnit::Microsecond => Some(dt.timestamp_micros()),
        TimeUnit::Nanosecond => dt.timestamp_nanos_opt(),
    }
}

pub(super) fn from_unit(v: i64, unit: TimeUnit) -> Option<DateTime<Utc>> {
    match unit {
        TimeUnit::Second => DateTime::from_timestamp(v, 0),
        TimeUnit::Millisecond => DateTime::from_timestamp_millis(v),
        TimeUnit::Microsecond => DateTime::from_timestamp_micros(v),
        TimeUnit::Nanosecond => Some(DateTime::from_timestamp_nanos(v)),
    }
}

fn unit(opts: &FieldOptions) -> TimeUnit {
    opts.timestamp_unit.unwrap_or(TimeUnit::Microsecond)
}

fn out_of_range(row: usize, dt: &DateTime<Utc>, unit: TimeUnit) -> ConvertError {
    ConvertError::invalid(row, format!("{dt} is outside the {unit:?} timestamp range"))
}

fn encode_instants<'a>(
    values: impl ExactSizeIterator<Item = &'a DateTime<Utc>>,
    unit: TimeUnit,
    tz: Option<std::sync::Arc<str>>,
) -> Result<ArrayRef, ConvertError> {
    let raw = values
        .enumerate()
        .map(|(row, dt)| to_unit(dt, unit).ok_or_else(|| out_of_range(row, dt, unit)))
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(timestamp_array(unit, tz, raw, None))
}

fn encode_opt_instants(
    values: impl ExactSizeIterator<Item = Option<DateTime<Utc>>>,
    unit: TimeUnit,
    tz: Option<std::sync::Arc<str>>,
) -> Result<ArrayRef, ConvertError> {
    let mut raw = Vec::with_capacity(values.len());
    let mut valid = Vec::with_capacity(values.len());
    for (row, v) in values.enumerate() {
        valid.push(v.is_some());
        raw.push(match v {
            None => 0,
            Some(dt) => to_unit(&dt, unit).ok_or_else(|| out_of_range(row, &dt, unit))?,
        });
    }
    let nulls = NullBuffer::from(valid);
    Ok(timestamp_array(
        unit,
        tz,
        raw,
        (nulls.null_count() > 0).then_some(nulls),
    ))
}

fn decode_instant(row: usize, v: i64, unit: TimeUnit) -> Result<DateTime<Utc>, ConvertError> {
    from_unit(v, unit).ok_or_else(|| {
        ConvertError::invalid(row, format!("{v} {unit:?} is outside chrono's date range"))
    })
}

impl BaseField for DateTime<Utc> {
    fn data_type(opts: &FieldOptions) -> DataType {
        DataType::Timestamp(unit(opts), utc())
    }
    fn placeholder() -> Self {
        DateTime::UNIX_EPOCH
    }
    fn validate(&self, opts: &FieldOptions) -> Result<(), ConvertError> {
        let unit = unit(opts);
        to_unit(self, unit)
            .map(|_| ())
            .ok_or_else(|| out_of_range(0, self, unit))
    }
    fn encode(values: &[Self], opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        encode_instants(values.iter(), unit(opts), utc())
    }
    fn encode_opt(values: &[Option<Self>], opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        encode_opt_instants(values.iter().copied(), unit(opts), utc())
    }
    fn decode(array: &ArrayRef, opts: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        decode_timestamps(
            array,
            <Self as BaseField>::data_type(opts),
            DateTime::UNIX_EPOCH,
            decode_instant,
        )
    }
}

impl BaseField for NaiveDateTime {
    fn data_type(opts: &FieldOptions) -> DataType {
        DataType::Timestamp(unit(opts), None)
    }
    fn placeholder() -> Self {
        DateTime::UNIX_EPOCH.naive_utc()
    }
    fn validate(&self, opts: &FieldOptions) -> Result<(), ConvertError> {
        let (unit, at) = (unit(opts), self.and_utc());
        to_unit(&at, unit)
            .map(|_| ())
            .ok_or_else(|| out_of_range(0, &at, unit))
    }
    fn encode(values: &[Self], opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        encode_opt_instants(values.iter().map(|v| Some(v.and_utc())), unit(opts), None)
    }
    fn encode_opt(values: &[Option<Self>], opts: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        encode_opt_instants(
            values.iter().map(|v| v.map(|v| v.and_utc())),
            unit(opts),
            None,
        )
    }
    fn decode(array: &ArrayRef, opts: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        decode_timestamps(
            array,
            <Self as BaseField>::data_type(opts),
            Self::placeholder(),
            |row, v, unit| decode_instant(row, v, unit).map(|dt| dt.naive_utc()),
        )
    }
}

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;
const MS_PER_DAY: i64 = 86_400_000;

fn date_from_days(row: usize, days: i64) -> Result<NaiveDate, ConvertError> {
    i32::try_from(days)
        .ok()
        .and_then(|d| d.checked_add(EPOCH_DAYS_FROM_CE))
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| ConvertError::invalid(row, format!("day {days} is outside chrono's range")))
}

impl BaseField for NaiveDate {
    fn data_type(_: &FieldOptions) -> DataType {
        DataType::Date32
    }
    fn placeholder() -> Self {
        NaiveDate::default()
    }
    fn encode(values: &[Self], _: &FieldOptions) -> Result<ArrayRef, ConvertError> {
        let days: Vec<i32> = values
            .iter()
            .map(|d| chrono::Datelike::num_days_from_ce(d) - EPOCH_DAYS_FROM_CE)
            .collect();
        Ok(arc(PrimitiveArray::<Date32Type>::new(
            ScalarBuffer::from(days),
            None,
        )))
    }
    fn decode(array: &ArrayRef, _: &FieldOptions) -> Result<Vec<Self>, ConvertError> {
        let nulls = array.nulls();
        match array.data_type() {
            DataType::Date32 => array
                .as_primitive::<Date32Type>()
                .values()
                .iter()
                .enumerate()
                .map(|(row, &d)| {
                    if valid_at(nulls, row) {
                        date_from_days(row, d.into())
                    } else {
                        Ok(Self::placeholder())
                    }
                })
                .collect(),
            DataType::Date64 => array
                .as_primitive::<Date64Type>()
                .values()
                .iter()
                .enumerate()
                .map(|(row, &ms)| {
                    if !valid_at(nulls, row) {
                        Ok(Self::placeholder())
                    } else if ms % MS_PER_DAY != 0 {
                        Err(ConvertError::invalid(
                            row,
                            format!("Date64 {ms} ms is not a whole day"),
                        ))
                    } else {
                        date_from_days(row, ms / MS_PER_DAY)
                    }
                })
                .collect(),
            other => Err(ConvertError::type_mismatch(DataType::Date32, other)),
        }
    }
}

impl ListItem for DateTime<Utc> {}
impl ListItem for NaiveDateTime {}
impl ListItem for NaiveDate {}
