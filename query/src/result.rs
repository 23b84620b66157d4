//! Result rows to Arrow: one column per output, typed from its ClickHouse type.
//!
//! | ClickHouse | Arrow |
//! |---|---|
//! | `UInt8` … `UInt64`, `Int8` … `Int64` | the same-width integer |
//! | `Bool` | `Boolean` |
//! | `Float64` | `Float64` |
//! | `String`, the event type enum | `Utf8` (the enum as its name) |
//! | `Date` | `Date32` |
//! | `DateTime('UTC')` | `Timestamp(Second, "UTC")` |
//! | `DateTime64(6, 'UTC')` | `Timestamp(Microsecond, "UTC")` |
//! | `Nothing` (a bare NULL) | `Null` |
//!
//! `Nullable(T)` is a nullable field. Each field carries the ClickHouse type name in its
//! metadata under `clickhouse_type`.

use std::collections::HashMap;
use std::sync::Arc;

use adstore_storage::EventType;
use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float64Builder, Int8Builder, Int16Builder, Int32Builder,
    Int64Builder, StringBuilder, TimestampMicrosecondBuilder, TimestampSecondBuilder, UInt8Builder,
    UInt16Builder, UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, NullArray, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType as ArrowType, Field, Schema, SchemaRef, TimeUnit};

use crate::error::Result;
use crate::types::{DataType, Type};
use crate::value::Value;

/// Rows per record batch.
pub const BATCH_ROWS: usize = 65_536;

/// Metadata key of a field's ClickHouse type.
pub const CLICKHOUSE_TYPE_KEY: &str = "clickhouse_type";

const UTC: &str = "UTC";

/// The Arrow type of a ClickHouse type.
pub fn arrow_type(t: DataType) -> ArrowType {
    match t {
        DataType::Nothing => ArrowType::Null,
        DataType::Bool => ArrowType::Boolean,
        DataType::UInt8 => ArrowType::UInt8,
        DataType::UInt16 => ArrowType::UInt16,
        DataType::UInt32 => ArrowType::UInt32,
        DataType::UInt64 => ArrowType::UInt64,
        DataType::Int8 => ArrowType::Int8,
        DataType::Int16 => ArrowType::Int16,
        DataType::Int32 => ArrowType::Int32,
        DataType::Int64 => ArrowType::Int64,
        DataType::Float64 => ArrowType::Float64,
        DataType::String | DataType::EventType => ArrowType::Utf8,
        DataType::Date => ArrowType::Date32,
        DataType::DateTime => ArrowType::Timestamp(TimeUnit::Second, Some(UTC.into())),
        DataType::DateTime64 => ArrowType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
    }
}

/// The schema of a result.
pub fn schema(names: &[String], types: &[Type]) -> SchemaRef {
    let fields: Vec<Field> = names
        .iter()
        .zip(types)
        .map(|(n, t)| {
            Field::new(
                n,
                arrow_type(t.data),
                t.nullable || t.data == DataType::Nothing,
            )
            .with_metadata(HashMap::from([(
                CLICKHOUSE_TYPE_KEY.to_owned(),
                t.to_string(),
            )]))
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Builds the result's schema and batches from rows of values (one value per output).
pub fn to_batches(
    names: &[String],
    types: &[Type],
    rows: &[Vec<Value>],
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let schema = schema(names, types);
    let mut batches = Vec::new();
    for chunk in rows.chunks(BATCH_ROWS) {
        let columns: Vec<ArrayRef> = types
            .iter()
            .enumerate()
            .map(|(i, t)| column(t.data, chunk.iter().map(|r| &r[i]), chunk.len()))
            .collect();
        let options = RecordBatchOptions::new().with_row_count(Some(chunk.len()));
        batches.push(RecordBatch::try_new_with_options(
            Arc::clone(&schema),
            columns,
            &options,
        )?);
    }
    Ok((schema, batches))
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Null => None,
        v => Some(v.bits()),
    }
}

macro_rules! build {
    ($builder:ty, $values:expr, $n:expr, $conv:expr) => {{
        let mut b = <$builder>::with_capacity($n);
        for v in $values {
            b.append_option(int(v).map($conv));
        }
        Arc::new(b.finish()) as ArrayRef
    }};
}

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "values carry ClickHouse types in 64 bits; narrowing restores the declared width"
)]
fn column<'a>(t: DataType, values: impl Iterator<Item = &'a Value>, n: usize) -> ArrayRef {
    match t {
        DataType::Nothing => Arc::new(NullArray::new(n)),
        DataType::Bool => {
            let mut b = BooleanBuilder::with_capacity(n);
            for v in values {
                b.append_option(int(v).map(|x| x != 0));
            }
            Arc::new(b.finish())
        }
        DataType::UInt8 => build!(UInt8Builder, values, n, |x| x as u8),
        DataType::UInt16 => build!(UInt16Builder, values, n, |x| x as u16),
        DataType::UInt32 => build!(UInt32Builder, values, n, |x| x as u32),
        DataType::UInt64 => build!(UInt64Builder, values, n, |x| x as u64),
        DataType::Int8 => build!(Int8Builder, values, n, |x| x as i8),
        DataType::Int16 => build!(Int16Builder, values, n, |x| x as i16),
        DataType::Int32 => build!(Int32Builder, values, n, |x| x as i32),
        DataType::Int64 => build!(Int64Builder, values, n, |x| x),
        DataType::Date => build!(Date32Builder, values, n, |x| x as i32),
        DataType::DateTime => {
            let mut b = TimestampSecondBuilder::with_capacity(n).with_timezone(UTC);
            for v in values {
                b.append_option(int(v));
            }
            Arc::new(b.finish())
        }
        DataType::DateTime64 => {
            let mut b = TimestampMicrosecondBuilder::with_capacity(n).with_timezone(UTC);
            for v in values {
                b.append_option(int(v));
            }
            Arc::new(b.finish())
        }
        DataType::Float64 => {
            let mut b = Float64Builder::with_capacity(n);
            for v in values {
                b.append_option(v.as_f64());
            }
            Arc::new(b.finish())
        }
        DataType::String => {
            let mut b = StringBuilder::with_capacity(n, n * 16);
            for v in values {
                match v {
                    Value::Str(s) => b.append_value(s),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        DataType::EventType => {
            let mut b = StringBuilder::with_capacity(n, n * 10);
            for v in values {
                match int(v)
                    .and_then(|c| u8::try_from(c).ok())
                    .and_then(EventType::from_code)
                {
                    Some(t) => b.append_value(t.as_str()),
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
    }
}
