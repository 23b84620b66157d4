//! [`CsvDecoder`]: clicks and conversions in CSV with a header row, columns in any order
//! (`docs/FORMAT.md`, "Input formats: CSV").
//!
//! Records are read as `csv::ByteRecord`s into one reused record: no allocation per row. The
//! header is mapped once to column positions; a header without a required column (`event_id`,
//! `ts`, `event_type`, `user_id`, `campaign_id`) or with a column twice makes the file
//! unreadable. Unknown columns are ignored and counted (per row). An empty cell is an absent
//! value. A rejected record's raw bytes are the record re-encoded as one CSV line. An empty
//! file (no byte at all) is a file of no rows.

use std::fmt;
use std::io::Read;

use adstore_storage::{EventRef, EventType};
use csv::ByteRecord;

use super::input::{Input, InputErrors};
use super::line_marks::{LineMarks, MarkedReader};
use super::{Chunk, DecodeOptions, Decoder};
use crate::error::{Error, Result};
use crate::normalize::{bounded, money_micros, parse_ts_text, required};
use crate::reject::{RejectReason, Rejection};

/// Column positions, from the header.
#[derive(Debug, Default, Clone)]
struct Columns {
    event_id: usize,
    ts: usize,
    event_type: usize,
    user_id: usize,
    campaign_id: usize,
    creative_id: Option<usize>,
    impression_id: Option<usize>,
    conversion_type: Option<usize>,
    revenue_micros: Option<usize>,
    revenue: Option<usize>,
    count: usize,
    unknown: u64,
}

impl Columns {
    fn from_header(header: &ByteRecord) -> std::result::Result<Columns, String> {
        let mut slots: [Option<usize>; 10] = [None; 10];
        const NAMES: [&str; 10] = [
            "event_id",
            "ts",
            "event_type",
            "user_id",
            "campaign_id",
            "creative_id",
            "impression_id",
            "conversion_type",
            "revenue_micros",
            "revenue",
        ];
        let mut unknown = 0;
        for (i, name) in header.iter().enumerate() {
            let name = if i == 0 {
                name.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(name)
            } else {
                name
            };
            let name = name.trim_ascii();
            match NAMES.iter().position(|n| n.as_bytes() == name) {
                Some(k) if slots[k].is_some() => {
                    return Err(format!("column {} appears twice in the header", NAMES[k]));
                }
                Some(k) => slots[k] = Some(i),
                None => unknown += 1,
            }
        }
        let req = |k: usize| {
            slots[k].ok_or_else(|| format!("header lacks the required column {}", NAMES[k]))
        };
        Ok(Columns {
            event_id: req(0)?,
            ts: req(1)?,
            event_type: req(2)?,
            user_id: req(3)?,
            campaign_id: req(4)?,
            creative_id: slots[5],
            impression_id: slots[6],
            conversion_type: slots[7],
            revenue_micros: slots[8],
            revenue: slots[9],
            count: header.len(),
            unknown,
        })
    }
}

/// Streaming decoder of a CSV clicks/conversions file.
pub struct CsvDecoder {
    reader: csv::Reader<MarkedReader<Box<dyn Read + Send>>>,
    lines: LineMarks,
    errors: InputErrors,
    options: DecodeOptions,
    columns: Columns,
    record: ByteRecord,
}

impl fmt::Debug for CsvDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvDecoder")
            .field("path", &self.errors.path())
            .field("columns", &self.columns)
            .finish_non_exhaustive()
    }
}

impl CsvDecoder {
    /// Reads the header of an opened input; the file is unreadable when it has no usable header.
    pub fn new(input: Input, options: DecodeOptions) -> Result<CsvDecoder> {
        let (stream, errors) = input.into_parts();
        let (stream, lines) = MarkedReader::new(stream);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .buffer_capacity(256 << 10)
            .from_reader(stream);
        let header = match reader.byte_headers() {
            Ok(h) => h.clone(),
            Err(e) => return Err(csv_error(&errors, e)),
        };
        // An empty file has no rows, and no header to check.
        let empty = header.is_empty() && reader.is_done();
        if !empty && (header.is_empty() || (header.len() == 1 && header[0].is_empty())) {
            return Err(errors.unreadable("no CSV header row"));
        }
        let columns = if empty {
            Columns::default()
        } else {
            Columns::from_header(&header).map_err(|r| errors.unreadable(r))?
        };
        Ok(CsvDecoder {
            reader,
            lines,
            errors,
            options,
            columns,
            record: ByteRecord::new(),
        })
    }
}

fn csv_error(errors: &InputErrors, e: csv::Error) -> Error {
    let offset = e.position().map_or(0, csv::Position::byte);
    match e.into_kind() {
        csv::ErrorKind::Io(io) => errors.read_error(io),
        other => errors.damaged(offset, format!("CSV: {other:?}")),
    }
}

impl Decoder for CsvDecoder {
    fn decode(&mut self, chunk: &mut Chunk, max_rows: usize) -> Result<bool> {
        for _ in 0..max_rows {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(e) => return Err(csv_error(&self.errors, e)),
            }
            chunk.rows_read += 1;
            chunk.unknown_fields += self.columns.unknown;
            let byte = self.record.position().map_or(0, csv::Position::byte);
            let line = self.lines.line_at(byte);
            match to_event(&self.record, &self.columns, &self.options).and_then(bounded) {
                Ok(event) => chunk.batch.push(&event),
                Err(why) => {
                    let raw = reencode(&self.record);
                    chunk.reject(line, why, &raw);
                }
            }
        }
        Ok(true)
    }

    fn path(&self) -> &std::path::Path {
        self.errors.path()
    }
}

/// The record as one CSV line (quoted where needed), for its dead letter.
fn reencode(record: &ByteRecord) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    if w.write_byte_record(record).is_err() {
        return record.as_slice().to_vec();
    }
    match w.into_inner() {
        Ok(mut v) => {
            if v.last() == Some(&b'\n') {
                v.pop();
            }
            v
        }
        Err(_) => record.as_slice().to_vec(),
    }
}

fn to_event<'r>(
    record: &'r ByteRecord,
    c: &Columns,
    options: &DecodeOptions,
) -> Result<EventRef<'r>, Rejection> {
    if record.len() != c.count {
        return Err((
            RejectReason::CsvColumnCount,
            format!("{} fields, the header has {}", record.len(), c.count),
        ));
    }
    if let Err(e) = std::str::from_utf8(record.as_slice()) {
        return Err((
            RejectReason::InvalidUtf8,
            format!(
                "invalid UTF-8 at byte {} of the record's fields",
                e.valid_up_to()
            ),
        ));
    }
    // Every field is UTF-8 unless a character straddles two fields, which is rejected too.
    let cell = |i: usize| -> Result<Option<&'r str>, Rejection> {
        let b = record.get(i).unwrap_or_default();
        if b.is_empty() {
            return Ok(None);
        }
        std::str::from_utf8(b).map(Some).map_err(|_| {
            (
                RejectReason::InvalidUtf8,
                format!("field {} is not UTF-8", i + 1),
            )
        })
    };
    let opt = |i: Option<usize>| -> Result<Option<&'r str>, Rejection> { i.map_or(Ok(None), cell) };
    let event_id = required("event_id", cell(c.event_id)?)?;
    let ts_text = required("ts", cell(c.ts)?)?;
    let event_type = required("event_type", cell(c.event_type)?)?;
    let user_id = required("user_id", cell(c.user_id)?)?;
    let campaign_id = required("campaign_id", cell(c.campaign_id)?)?;
    let creative_id = opt(c.creative_id)?;
    let impression_id = opt(c.impression_id)?;
    let conversion_type = opt(c.conversion_type)?;
    let revenue_micros = opt(c.revenue_micros)?;
    let revenue = opt(c.revenue)?;
    let ts = options.ts_range.check(parse_ts_text(ts_text)?)?;
    let event_type = match event_type {
        "click" => EventType::Click,
        "conversion" => EventType::Conversion,
        other => {
            let shown: String = other.chars().take(64).collect();
            return Err((
                RejectReason::UnknownEventType,
                format!("event_type {shown:?} (CSV carries click or conversion)"),
            ));
        }
    };
    let conversion_type = match (event_type, conversion_type) {
        (EventType::Conversion, Some(t)) => t,
        (EventType::Conversion, None) => {
            return Err((
                RejectReason::ConversionWithoutType,
                "conversion without conversion_type".to_owned(),
            ));
        }
        _ => "",
    };
    let revenue_micros = money_micros("revenue_micros", revenue_micros, "revenue", revenue)?;
    let mut e = EventRef::new(event_id, event_type, ts, campaign_id);
    e.user_id = user_id;
    e.creative_id = creative_id.unwrap_or("");
    e.impression_id = impression_id.unwrap_or("");
    e.conversion_type = conversion_type;
    e.revenue_micros = revenue_micros;
    Ok(e)
}
