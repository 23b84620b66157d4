//! Query results on a terminal or for programs: [`write_batches`] prints Arrow record batches as
//! an aligned table, CSV, JSON Lines or an Arrow IPC stream. Used by `adstore query`, locally or
//! against a server.
//!
//! Value formatting:
//! - `table` and `csv` print values as ClickHouse does: `DateTime` as `YYYY-MM-DD hh:mm:ss`,
//!   `DateTime64(6)` with `.ffffff`, dates `YYYY-MM-DD`, floats in shortest round-trip form,
//!   `nan`, `inf`, `-inf`; NULL is `NULL` in tables and `\N` in CSV (ClickHouse's CSV NULL).
//!   CSV has a header row and quotes fields holding `,`, `"`, CR or LF (RFC 4180).
//! - `json` prints one object per row (JSON Lines), column names as keys: integers and floats
//!   as JSON numbers, booleans as `true`/`false`, NULL as `null`, NaN and infinities as the
//!   strings `"nan"`, `"inf"`, `"-inf"`, every timestamp as a UTC `"YYYY-MM-DD
//!   hh:mm:ss.ffffff"` string, dates as `"YYYY-MM-DD"`.
//! - `arrow` writes the schema and batches as an Arrow IPC stream.

use std::io::Write;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Schema, TimeUnit};

use adstore_query::time::{format_date, format_datetime, format_datetime_micros};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// An aligned table, for people.
    Table,
    /// CSV with a header row.
    Csv,
    /// JSON Lines: one object per row.
    Json,
    /// An Arrow IPC stream.
    Arrow,
}

/// One value, ready to print.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Int(i128),
    Float(f64),
    Bool(bool),
    Str(String),
    /// A timestamp: (µs since the epoch, whether the type has sub-second digits).
    Time(i64, bool),
    Date(i64),
}

fn cell(col: &dyn Array, row: usize) -> anyhow::Result<Cell> {
    if col.is_null(row) {
        return Ok(Cell::Null);
    }
    Ok(match col.data_type() {
        DataType::Null => Cell::Null,
        DataType::Boolean => Cell::Bool(col.as_boolean().value(row)),
        DataType::UInt8 => Cell::Int(col.as_primitive::<UInt8Type>().value(row).into()),
        DataType::UInt16 => Cell::Int(col.as_primitive::<UInt16Type>().value(row).into()),
        DataType::UInt32 => Cell::Int(col.as_primitive::<UInt32Type>().value(row).into()),
        DataType::UInt64 => Cell::Int(col.as_primitive::<UInt64Type>().value(row).into()),
        DataType::Int8 => Cell::Int(col.as_primitive::<Int8Type>().value(row).into()),
        DataType::Int16 => Cell::Int(col.as_primitive::<Int16Type>().value(row).into()),
        DataType::Int32 => Cell::Int(col.as_primitive::<Int32Type>().value(row).into()),
        DataType::Int64 => Cell::Int(col.as_primitive::<Int64Type>().value(row).into()),
        DataType::Float64 => Cell::Float(col.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => Cell::Str(col.as_string::<i32>().value(row).to_owned()),
        DataType::Date32 => Cell::Date(col.as_primitive::<Date32Type>().value(row).into()),
        DataType::Timestamp(TimeUnit::Second, _) => Cell::Time(
            col.as_primitive::<TimestampSecondType>()
                .value(row)
                .saturating_mul(1_000_000),
            false,
        ),
        DataType::Timestamp(TimeUnit::Microsecond, _) => Cell::Time(
            col.as_primitive::<TimestampMicrosecondType>().value(row),
            true,
        ),
        other => anyhow::bail!("cannot print a column of Arrow type {other}"),
    })
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{f}")
    }
}

/// The text of a cell in tables and CSV (`None` for NULL).
fn plain_text(c: &Cell) -> Option<String> {
    Some(match c {
        Cell::Null => return None,
        Cell::Int(v) => v.to_string(),
        Cell::Float(f) => float_text(*f),
        Cell::Bool(b) => b.to_string(),
        Cell::Str(s) => s.clone(),
        Cell::Time(us, true) => format_datetime_micros(*us),
        Cell::Time(us, false) => format_datetime(us.div_euclid(1_000_000)),
        Cell::Date(d) => format_date(*d),
    })
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_value(c: &Cell, out: &mut String) {
    match c {
        Cell::Null => out.push_str("null"),
        Cell::Int(v) => out.push_str(&v.to_string()),
        Cell::Float(f) if f.is_finite() => out.push_str(&format!("{f}")),
        Cell::Float(f) => json_string(&float_text(*f), out),
        Cell::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Cell::Str(s) => json_string(s, out),
        Cell::Time(us, _) => json_string(&format_datetime_micros(*us), out),
        Cell::Date(d) => json_string(&format_date(*d), out),
    }
}

fn csv_field(s: &str, out: &mut String) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

fn rows(batches: &[RecordBatch]) -> impl Iterator<Item = anyhow::Result<Vec<Cell>>> + '_ {
    batches.iter().flat_map(|b| {
        (0..b.num_rows()).map(move |r| {
            b.columns()
                .iter()
                .map(|c| cell(c.as_ref(), r))
                .collect::<anyhow::Result<Vec<_>>>()
        })
    })
}

/// Writes `batches` (all of `schema`) to `out` in `format`.
pub fn write_batches(
    format: OutputFormat,
    schema: &Schema,
    batches: &[RecordBatch],
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    match format {
        OutputFormat::Arrow => {
            let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut *out, schema)?;
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        OutputFormat::Json => {
            let mut line = String::new();
            for row in rows(batches) {
                line.clear();
                line.push('{');
                for (i, (name, c)) in names.iter().zip(row?).enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    json_string(name, &mut line);
                    line.push(':');
                    json_value(&c, &mut line);
                }
                line.push_str("}\n");
                out.write_all(line.as_bytes())?;
            }
        }
        OutputFormat::Csv => {
            let mut line = String::new();
            for (i, n) in names.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                csv_field(n, &mut line);
            }
            line.push('\n');
            out.write_all(line.as_bytes())?;
            for row in rows(batches) {
                line.clear();
                for (i, c) in row?.iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    match plain_text(c) {
                        Some(t) => csv_field(&t, &mut line),
                        None => line.push_str("\\N"),
                    }
                }
                line.push('\n');
                out.write_all(line.as_bytes())?;
            }
        }
        OutputFormat::Table => write_table(&names, batches, out)?,
    }
    out.flush()?;
    Ok(())
}

fn write_table(
    names: &[&str],
    batches: &[RecordBatch],
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut cells: Vec<Vec<(String, bool)>> = Vec::new();
    for row in rows(batches) {
        cells.push(
            row?.iter()
                .map(|c| {
                    let right = matches!(c, Cell::Int(_) | Cell::Float(_));
                    (plain_text(c).unwrap_or_else(|| "NULL".into()), right)
                })
                .collect(),
        );
    }
    let mut widths: Vec<usize> = names.iter().map(|n| n.chars().count()).collect();
    for row in &cells {
        for (w, (t, _)) in widths.iter_mut().zip(row) {
            *w = (*w).max(t.chars().count());
        }
    }
    let mut text = String::new();
    let line = |text: &mut String, items: &mut dyn Iterator<Item = (usize, &str, bool)>| {
        let mut first = true;
        for (w, t, right) in items {
            if !first {
                text.push_str(" | ");
            }
            first = false;
            let pad = w.saturating_sub(t.chars().count());
            if right {
                text.push_str(&" ".repeat(pad));
                text.push_str(t);
            } else {
                text.push_str(t);
                text.push_str(&" ".repeat(pad));
            }
        }
        text.truncate(text.trim_end().len());
        text.push('\n');
    };
    line(
        &mut text,
        &mut widths.iter().zip(names).map(|(&w, n)| (w, *n, false)),
    );
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    text.push_str(&rule.join("-+-"));
    text.push('\n');
    for row in &cells {
        line(
            &mut text,
            &mut widths
                .iter()
                .zip(row)
                .map(|(&w, (t, right))| (w, t.as_str(), *right)),
        );
    }
    let n = cells.len();
    text.push_str(&format!("({n} row{})\n", if n == 1 { "" } else { "s" }));
    out.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, StringArray, TimestampMicrosecondArray};
    use arrow_schema::Field;

    use super::*;

    fn sample() -> (Schema, Vec<RecordBatch>) {
        let schema = Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("ratio", DataType::Float64, true),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
        ]);
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![Some("a,\"b\""), None])),
            Arc::new(Float64Array::from(vec![Some(f64::NAN), Some(0.5)])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![1_763_769_600_123_456, 0])
                    .with_timezone("UTC"),
            ),
        ];
        let batch = RecordBatch::try_new(Arc::new(schema.clone()), cols).unwrap();
        (schema, vec![batch])
    }

    fn text(format: OutputFormat) -> String {
        let (schema, batches) = sample();
        let mut out = Vec::new();
        write_batches(format, &schema, &batches, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_lines_follow_the_documented_rules() {
        assert_eq!(
            text(OutputFormat::Json),
            "{\"name\":\"a,\\\"b\\\"\",\"ratio\":\"nan\",\"ts\":\"2025-11-22 00:00:00.123456\"}\n\
             {\"name\":null,\"ratio\":0.5,\"ts\":\"1970-01-01 00:00:00.000000\"}\n"
        );
    }

    #[test]
    fn csv_quotes_and_marks_nulls() {
        assert_eq!(
            text(OutputFormat::Csv),
            "name,ratio,ts\n\"a,\"\"b\"\"\",nan,2025-11-22 00:00:00.123456\n\\N,0.5,1970-01-01 00:00:00.000000\n"
        );
    }

    #[test]
    fn tables_align_and_count_rows() {
        let t = text(OutputFormat::Table);
        assert!(t.starts_with("name  | ratio | ts\n"), "{t}");
        assert!(t.contains("NULL  |   0.5 |"), "{t}");
        assert!(t.ends_with("(2 rows)\n"), "{t}");
    }

    #[test]
    fn arrow_streams_read_back() {
        let (schema, batches) = sample();
        let mut out = Vec::new();
        write_batches(OutputFormat::Arrow, &schema, &batches, &mut out).unwrap();
        let reader = arrow_ipc::reader::StreamReader::try_new(&out[..], None).unwrap();
        let back: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        assert_eq!(back, batches);
    }
}
