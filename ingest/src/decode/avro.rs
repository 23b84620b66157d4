//! [`AvroDecoder`]: bid requests in Avro object container files (`docs/FORMAT.md`, "Input
//! formats: Avro"), read with schema resolution against the committed copy of the contract's
//! schema, `ingest/schemas/bid_request.avsc`.
//!
//! The container framing (header, blocks, sync markers) is read here, so that damage is named
//! by offset and memory is bounded by one block; apache-avro decodes the header's schema, the
//! codecs (null, deflate, snappy, zstandard) and each datum, and resolves the writer schema to
//! the reader schema (fields added with defaults, removed fields that have defaults, promoted
//! numeric types). A writer schema that cannot be read as `bid_request.avsc` makes the file
//! unreadable; a block that is truncated, has a wrong sync marker, fails to decompress or to
//! decode is damage at that block's offset, after every record before it was delivered.
//!
//! Normalization of one bid request (see [`crate::normalize`]): `id` → event_id, `ts`
//! (timestamp-millis) → µs, `site.domain` (else `app.bundle`) → site, `device.devicetype` →
//! device word, `device.os` → os, `device.geo.country` alpha-3 → alpha-2, `user.id` → user_id,
//! `campaign_id` (null when AdvertiseX did not bid) → campaign_id or '', the first `imp`'s
//! `bidfloor` → bid_floor_micros, `bid_price` and `clearing_price` → CPM micros, `won`, and for
//! a won auction `cost_micros` = clearing price micros / 1000 (rounded half up). A rejected
//! record's raw bytes are the record as JSON under the reader schema.

use std::fmt;
use std::io::{self, BufReader, Read};
use std::sync::OnceLock;

use adstore_storage::EventRef;
use apache_avro::Schema;
use apache_avro::types::Value;
use apache_avro::{Codec, DeflateSettings, ZstandardSettings};

use super::bid_request::{BidRequest, decode_direct};
use super::input::{Input, InputErrors};
use super::{Chunk, DecodeOptions, Decoder};
use crate::error::Result;
use crate::normalize::bounded;
use crate::normalize::ts::epoch_millis_to_micros;
use crate::reject::{RejectReason, Rejection};

/// The reader schema's text: the contract's `bid_request.avsc`, committed in `ingest/schemas/`.
pub const BID_REQUEST_AVSC: &str = include_str!("../../schemas/bid_request.avsc");

/// The parsed reader schema.
pub fn reader_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        #[expect(
            clippy::expect_used,
            reason = "the committed schema is checked by a test"
        )]
        Schema::parse_str(BID_REQUEST_AVSC).expect("ingest/schemas/bid_request.avsc parses")
    })
}

const MAGIC: [u8; 4] = *b"Obj\x01";
const SYNC_LEN: usize = 16;
/// Longest string, bytes, array or map apache-avro may allocate for while decoding a datum.
pub const MAX_AVRO_VALUE_LEN: usize = 4 << 20;
/// Largest header metadata entry accepted.
const MAX_META_BYTES: i64 = 16 << 20;

/// A byte stream that knows its offset.
struct Stream {
    inner: BufReader<Box<dyn Read + Send>>,
    pos: u64,
}

impl Stream {
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_exact(buf)?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    /// A zigzag varint long; `Ok(None)` on a clean end of stream before its first byte.
    fn read_long(&mut self) -> io::Result<Option<i64>> {
        let mut value: u64 = 0;
        let mut shift = 0;
        loop {
            let mut b = [0u8; 1];
            match self.inner.read(&mut b) {
                Ok(0) if shift == 0 => return Ok(None),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.pos += 1;
            if shift >= 64 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "varint longer than 10 bytes",
                ));
            }
            value |= u64::from(b[0] & 0x7f) << shift;
            shift += 7;
            if b[0] & 0x80 == 0 {
                #[expect(clippy::cast_possible_wrap, reason = "zigzag decoding")]
                let v = (value >> 1) as i64 ^ -((value & 1) as i64);
                return Ok(Some(v));
            }
        }
    }
}

/// Streaming decoder of an Avro bid-request file.
pub struct AvroDecoder {
    stream: Stream,
    errors: InputErrors,
    options: DecodeOptions,
    writer_schema: Schema,
    resolve: bool,
    codec: Codec,
    sync: [u8; SYNC_LEN],
    block: Vec<u8>,
    block_pos: usize,
    block_left: u64,
    block_offset: u64,
    record_no: u64,
}

impl fmt::Debug for AvroDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AvroDecoder")
            .field("path", &self.errors.path())
            .field("codec", &self.codec)
            .field("record_no", &self.record_no)
            .finish_non_exhaustive()
    }
}

impl AvroDecoder {
    /// Reads the container header of an opened input and checks that its writer schema
    /// resolves to `bid_request.avsc`.
    pub fn new(input: Input, options: DecodeOptions) -> Result<AvroDecoder> {
        // apache-avro reserves memory for an array, map, string or bytes value from the length
        // the data claims, up to this limit: 512 MiB by default, which (times the size of a
        // `Value`) let one damaged datum ask for gigabytes (found by the `avro` fuzz target).
        // No bid request has a string or array near 4 Mi long. The setting is process-wide and
        // only the first call sets it.
        apache_avro::util::max_allocation_bytes(MAX_AVRO_VALUE_LEN);
        let (reader, errors) = input.into_parts();
        let mut stream = Stream {
            inner: BufReader::with_capacity(64 << 10, reader),
            pos: 0,
        };
        let io_err = |errors: &InputErrors, e: io::Error, pos: u64, what: &str| {
            if e.kind() == io::ErrorKind::UnexpectedEof || e.kind() == io::ErrorKind::InvalidData {
                errors.damaged(pos, format!("truncated or invalid Avro header ({what})"))
            } else {
                errors.read_error(e)
            }
        };
        let mut magic = [0u8; 4];
        if let Err(e) = stream.read_exact(&mut magic) {
            return Err(io_err(&errors, e, 0, "magic"));
        }
        if magic != MAGIC {
            return Err(errors.damaged(
                0,
                format!(
                    "not an Avro object container file (magic {magic:02x?}, expected \"Obj\\x01\")"
                ),
            ));
        }
        let mut schema_json: Option<Vec<u8>> = None;
        let mut codec_name: Option<Vec<u8>> = None;
        loop {
            let at = stream.pos;
            let mut count = match stream.read_long() {
                Ok(Some(c)) => c,
                Ok(None) => return Err(errors.damaged(at, "truncated Avro header (metadata)")),
                Err(e) => return Err(io_err(&errors, e, at, "metadata")),
            };
            if count == 0 {
                break;
            }
            if count < 0 {
                count = count.checked_neg().unwrap_or(0);
                if let Err(e) = stream.read_long() {
                    return Err(io_err(&errors, e, at, "metadata"));
                }
            }
            for _ in 0..count {
                let key =
                    read_bytes(&mut stream).map_err(|e| io_err(&errors, e, at, "metadata key"))?;
                let value = read_bytes(&mut stream)
                    .map_err(|e| io_err(&errors, e, at, "metadata value"))?;
                match key.as_slice() {
                    b"avro.schema" => schema_json = Some(value),
                    b"avro.codec" => codec_name = Some(value),
                    _ => {}
                }
            }
        }
        let mut sync = [0u8; SYNC_LEN];
        let at = stream.pos;
        stream
            .read_exact(&mut sync)
            .map_err(|e| io_err(&errors, e, at, "sync marker"))?;
        let schema_json =
            schema_json.ok_or_else(|| errors.unreadable("Avro header has no avro.schema"))?;
        let schema_text = std::str::from_utf8(&schema_json)
            .map_err(|_| errors.unreadable("avro.schema is not UTF-8"))?;
        let reader = reader_schema();
        let (writer_schema, same) = match parse_writer_schema(schema_text, reader) {
            Ok(w) => w,
            Err(reason) => return Err(errors.unreadable(reason)),
        };
        let codec = match codec_name.as_deref() {
            None | Some(b"null") => Codec::Null,
            Some(b"deflate") => Codec::Deflate(DeflateSettings::default()),
            Some(b"snappy") => Codec::Snappy,
            Some(b"zstandard") => Codec::Zstandard(ZstandardSettings::default()),
            Some(other) => {
                return Err(errors.unreadable(format!(
                    "unsupported Avro codec {:?} (null, deflate, snappy, zstandard)",
                    String::from_utf8_lossy(other)
                )));
            }
        };
        Ok(AvroDecoder {
            resolve: !same,
            stream,
            errors,
            options,
            writer_schema,
            codec,
            sync,
            block: Vec::new(),
            block_pos: 0,
            block_left: 0,
            block_offset: 0,
            record_no: 0,
        })
    }

    /// The file's writer schema.
    pub fn writer_schema(&self) -> &Schema {
        &self.writer_schema
    }

    /// Reads the next block; `Ok(false)` at a clean end of file.
    fn next_block(&mut self) -> Result<bool> {
        let at = self.stream.pos;
        self.block_offset = at;
        let damaged = |s: &Self, reason: String| s.errors.damaged(at, reason);
        let io = |s: &Self, e: io::Error, what: &str| {
            if e.kind() == io::ErrorKind::UnexpectedEof || e.kind() == io::ErrorKind::InvalidData {
                s.errors
                    .damaged(at, format!("truncated Avro block ({what})"))
            } else {
                s.errors.read_error(e)
            }
        };
        let count = match self.stream.read_long() {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(false),
            Err(e) => return Err(io(self, e, "record count")),
        };
        let size = match self.stream.read_long() {
            Ok(Some(s)) => s,
            Ok(None) => return Err(damaged(self, "truncated Avro block (size)".into())),
            Err(e) => return Err(io(self, e, "size")),
        };
        let max = self.options.max_avro_block_bytes;
        let (Ok(count), Ok(size)) = (u64::try_from(count), usize::try_from(size)) else {
            return Err(damaged(
                self,
                format!("invalid Avro block header: {count} records in {size} bytes"),
            ));
        };
        if size > max {
            return Err(damaged(
                self,
                format!("Avro block of {size} bytes exceeds the {max}-byte limit"),
            ));
        }
        self.block.clear();
        self.block.resize(size, 0);
        let mut block = std::mem::take(&mut self.block);
        let read = self.stream.read_exact(&mut block);
        self.block = block;
        if let Err(e) = read {
            return Err(io(self, e, &format!("expected {size} bytes of data")));
        }
        let mut sync = [0u8; SYNC_LEN];
        if let Err(e) = self.stream.read_exact(&mut sync) {
            return Err(io(self, e, "sync marker"));
        }
        if sync != self.sync {
            return Err(damaged(
                self,
                "Avro block sync marker does not match the header's".into(),
            ));
        }
        if let Err(e) = self.codec.decompress(&mut self.block) {
            return Err(damaged(
                self,
                format!("Avro block does not decompress: {e}"),
            ));
        }
        if self.block.len() > max {
            return Err(damaged(
                self,
                format!("Avro block decompresses past the {max}-byte limit"),
            ));
        }
        if count > self.block.len() as u64 {
            return Err(damaged(
                self,
                format!(
                    "Avro block claims {count} records in {} bytes",
                    self.block.len()
                ),
            ));
        }
        self.block_pos = 0;
        self.block_left = count;
        Ok(true)
    }
}

impl Decoder for AvroDecoder {
    fn decode(&mut self, chunk: &mut Chunk, max_rows: usize) -> Result<bool> {
        let reader = reader_schema();
        for _ in 0..max_rows {
            while self.block_left == 0 {
                if self.block_pos != self.block.len() {
                    let extra = self.block.len() - self.block_pos;
                    self.block_pos = self.block.len();
                    return Err(self.errors.damaged(
                        self.block_offset,
                        format!("Avro block has {extra} bytes after its last record"),
                    ));
                }
                if !self.next_block()? {
                    return Ok(false);
                }
            }
            if !self.resolve {
                let block = &self.block[self.block_pos..];
                if let Some((bid, consumed)) = decode_direct(block).filter(|(_, n)| *n > 0) {
                    self.record_no += 1;
                    chunk.rows_read += 1;
                    match bid.to_event(&self.options).and_then(bounded) {
                        Ok(event) => chunk.batch.push(&event),
                        Err(why) => {
                            let datum = &block[..consumed];
                            let raw = match apache_avro::from_avro_datum(
                                &self.writer_schema,
                                &mut &datum[..],
                                None,
                            ) {
                                Ok(v) => {
                                    let mut text = String::new();
                                    value_to_json(&v, &mut text);
                                    text.into_bytes()
                                }
                                Err(_) => datum.to_vec(),
                            };
                            chunk.reject(self.record_no, why, &raw);
                        }
                    }
                    self.block_pos += consumed;
                    self.block_left -= 1;
                    continue;
                }
                // Not decodable the direct way: the generic decoder names the damage.
            }
            let mut datum = &self.block[self.block_pos..];
            let before = datum.len();
            let value = apache_avro::from_avro_datum(
                &self.writer_schema,
                &mut datum,
                self.resolve.then_some(reader),
            );
            let consumed = before - datum.len();
            let value = match value {
                Ok(v) if consumed > 0 => v,
                Ok(_) => {
                    return Err(self
                        .errors
                        .damaged(self.block_offset, "Avro record of zero bytes"));
                }
                Err(e) => {
                    return Err(self.errors.damaged(
                        self.block_offset,
                        format!("Avro record {} does not decode: {e}", self.record_no + 1),
                    ));
                }
            };
            self.block_pos += consumed;
            self.block_left -= 1;
            self.record_no += 1;
            chunk.rows_read += 1;
            match bid_request_event(&value, &self.options).and_then(bounded) {
                Ok(event) => chunk.batch.push(&event),
                Err(why) => {
                    let mut raw = String::new();
                    value_to_json(&value, &mut raw);
                    chunk.reject(self.record_no, why, raw.as_bytes());
                }
            }
        }
        Ok(true)
    }

    fn path(&self) -> &std::path::Path {
        self.errors.path()
    }
}

/// Parses a file's writer schema and checks that it resolves to the reader schema; also says
/// whether it is the reader schema itself.
///
/// apache-avro 0.21 panics (an `unwrap` in its parser) on some invalid schemas, e.g. a record
/// name that is not an Avro name (found by the `avro` fuzz target). So the schema JSON is
/// checked first for what those `unwrap`s assume ([`check_schema_json`]), and the parse runs
/// under `catch_unwind` as a second line of defence for what the check does not foresee.
fn parse_writer_schema(text: &str, reader: &Schema) -> std::result::Result<(Schema, bool), String> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("writer schema is not JSON: {e}"))?;
    check_schema_json(&json).map_err(|e| format!("invalid writer schema: {e}"))?;
    let parsed = std::panic::catch_unwind(|| {
        let writer = Schema::parse(&json).map_err(|e| format!("invalid writer schema: {e}"))?;
        apache_avro::schema_compatibility::SchemaCompatibility::can_read(&writer, reader)
            .map_err(|e| format!("writer schema cannot be read as bid_request.avsc: {e}"))?;
        let same = &writer == reader;
        Ok((writer, same))
    });
    parsed.unwrap_or_else(|_| Err("invalid writer schema (rejected by the Avro parser)".to_owned()))
}

/// Checks the names, type references and sizes of a schema's JSON: names, namespaces, aliases
/// and named-type references must be Avro names (`[A-Za-z_][A-Za-z0-9_]*`, dot-separated);
/// `size`, `precision` and `scale` must be integers. `default` values and `doc` are not
/// schema and are skipped.
pub fn check_schema_json(v: &serde_json::Value) -> std::result::Result<(), String> {
    fn ident(s: &str) -> bool {
        let mut c = s.chars();
        c.next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
            && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
    }
    fn fullname(s: &str) -> bool {
        !s.is_empty() && s.split('.').all(ident)
    }
    match v {
        serde_json::Value::Array(items) => items.iter().try_for_each(check_schema_json),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("default" | "doc", _) => {}
                    ("name" | "type", serde_json::Value::String(s)) if !fullname(s) => {
                        return Err(format!("{k} {s:?} is not an Avro name"));
                    }
                    ("namespace", serde_json::Value::String(s))
                        if !s.is_empty() && !fullname(s) =>
                    {
                        return Err(format!("namespace {s:?} is not an Avro namespace"));
                    }
                    ("namespace", serde_json::Value::String(_)) => {}
                    ("aliases", serde_json::Value::Array(a)) => {
                        if let Some(bad) = a.iter().find(|x| !x.as_str().is_some_and(fullname)) {
                            return Err(format!("alias {bad} is not an Avro name"));
                        }
                    }
                    ("size" | "precision" | "scale", x) => {
                        let ok = x.as_i64().is_some()
                            || x.as_str().is_some_and(|t| t.parse::<i64>().is_ok());
                        if !ok {
                            return Err(format!("{k} {x} is not an integer"));
                        }
                    }
                    (_, x) => check_schema_json(x)?,
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn read_bytes(stream: &mut Stream) -> io::Result<Vec<u8>> {
    let len = stream.read_long()?.ok_or(io::ErrorKind::UnexpectedEof)?;
    if !(0..=MAX_META_BYTES).contains(&len) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad length"));
    }
    let mut v = vec![0u8; usize::try_from(len).unwrap_or(0)];
    stream.read_exact(&mut v)?;
    Ok(v)
}

/// `value` without its union wrapper; `None` for null.
fn plain(value: &Value) -> Option<&Value> {
    match value {
        Value::Union(_, inner) => plain(inner),
        Value::Null => None,
        v => Some(v),
    }
}

/// Field `name` of a record (unwrapped, `None` when absent or null).
fn field<'v>(record: &'v Value, name: &str) -> Option<&'v Value> {
    match plain(record)? {
        Value::Record(fields) => fields
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| plain(v)),
        _ => None,
    }
}

fn string<'v>(name: &str, v: Option<&'v Value>) -> Result<Option<&'v str>, Rejection> {
    match v {
        None => Ok(None),
        Some(Value::String(s) | Value::Enum(_, s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(name, other)),
    }
}

fn wrong_type(name: &str, v: &Value) -> Rejection {
    (
        RejectReason::WrongType,
        format!("{name} has the wrong Avro type: {v:?}"),
    )
}

/// The fields of one resolved bid-request record (the generic path).
pub fn bid_request_fields(record: &Value) -> Result<BidRequest<'_>, Rejection> {
    let float = |name: &str, v: Option<&Value>| -> Result<Option<f64>, Rejection> {
        match v {
            None => Ok(None),
            Some(Value::Double(d)) => Ok(Some(*d)),
            Some(Value::Float(f)) => Ok(Some(f64::from(*f))),
            Some(Value::Int(i)) => Ok(Some(f64::from(*i))),
            Some(other) => Err(wrong_type(name, other)),
        }
    };
    let id = string("id", field(record, "id"))?.unwrap_or("");
    let ts = match field(record, "ts") {
        Some(Value::TimestampMillis(ms) | Value::Long(ms)) => epoch_millis_to_micros(*ms),
        Some(Value::Int(ms)) => epoch_millis_to_micros(i64::from(*ms)),
        Some(Value::TimestampMicros(us)) => Some(*us),
        None => return Err((RejectReason::MissingField, "ts is missing".into())),
        Some(other) => return Err(wrong_type("ts", other)),
    };
    let first_imp = match field(record, "imp") {
        Some(Value::Array(items)) => items.first(),
        _ => None,
    };
    let device = field(record, "device");
    let devicetype = match device.and_then(|d| field(d, "devicetype")) {
        None => None,
        Some(Value::Int(t)) => Some(i64::from(*t)),
        Some(Value::Long(t)) => Some(*t),
        Some(other) => return Err(wrong_type("device.devicetype", other)),
    };
    Ok(BidRequest {
        id,
        ts,
        first_bid_floor: float(
            "imp[0].bidfloor",
            first_imp.and_then(|i| field(i, "bidfloor")),
        )?,
        site_domain: string(
            "site.domain",
            field(record, "site").and_then(|s| field(s, "domain")),
        )?,
        app_bundle: string(
            "app.bundle",
            field(record, "app").and_then(|a| field(a, "bundle")),
        )?,
        devicetype,
        os: string("device.os", device.and_then(|d| field(d, "os")))?,
        country: string(
            "device.geo.country",
            device
                .and_then(|d| field(d, "geo"))
                .and_then(|g| field(g, "country")),
        )?,
        user_id: string(
            "user.id",
            field(record, "user").and_then(|u| field(u, "id")),
        )?,
        campaign_id: string("campaign_id", field(record, "campaign_id"))?,
        bid_price: float("bid_price", field(record, "bid_price"))?,
        won: matches!(field(record, "won"), Some(Value::Boolean(true))),
        clearing_price: float("clearing_price", field(record, "clearing_price"))?,
    })
}

/// Validates and normalizes one resolved bid-request record.
pub fn bid_request_event<'v>(
    record: &'v Value,
    options: &DecodeOptions,
) -> Result<EventRef<'v>, Rejection> {
    bid_request_fields(record)?.to_event(options)
}

/// Renders an Avro value as JSON text (non-finite doubles as strings), for dead letters.
pub fn value_to_json(value: &Value, out: &mut String) {
    use std::fmt::Write;
    let num = |out: &mut String, d: f64| {
        if d.is_finite() {
            let _ = write!(out, "{d}");
        } else {
            let _ = write!(out, "\"{d}\"");
        }
    };
    let string = |out: &mut String, s: &str| {
        out.push_str(&serde_json::Value::String(s.to_owned()).to_string());
    };
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Date(i) | Value::TimeMillis(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Long(i)
        | Value::TimestampMillis(i)
        | Value::TimestampMicros(i)
        | Value::TimestampNanos(i)
        | Value::LocalTimestampMillis(i)
        | Value::LocalTimestampMicros(i)
        | Value::LocalTimestampNanos(i)
        | Value::TimeMicros(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => num(out, f64::from(*f)),
        Value::Double(d) => num(out, *d),
        Value::String(s) | Value::Enum(_, s) => string(out, s),
        Value::Union(_, inner) => value_to_json(inner, out),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                value_to_json(v, out);
            }
            out.push(']');
        }
        Value::Record(fields) => {
            out.push('{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, k);
                out.push(':');
                value_to_json(v, out);
            }
            out.push('}');
        }
        Value::Map(map) => {
            out.push('{');
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, k);
                out.push(':');
                if let Some(v) = map.get(k) {
                    value_to_json(v, out);
                }
            }
            out.push('}');
        }
        other => string(out, &format!("{other:?}")),
    }
}
