//! [`JsonDecoder`]: ad impressions, one JSON object per line (`docs/FORMAT.md`, "Input formats:
//! JSON Lines").
//!
//! The hot path allocates nothing per field: each line is parsed in place (a slice of the line
//! buffer) into [`JsonImpression`], whose strings borrow the line (`Cow::Borrowed`; only a string
//! with escape sequences is unescaped into an owned copy) and whose `ts` and money fields are the
//! raw JSON text ([`RawValue`]), converted by [`crate::normalize`] with no float on the way.
//! Unknown fields are skipped and counted. Blank lines are not rows.

use std::borrow::Cow;
use std::fmt;

use adstore_storage::{EventRef, EventType};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::input::{Input, InputErrors};
use super::lines::{Line, LineReader};
use super::{Chunk, DecodeOptions, Decoder};
use crate::error::Result;
use crate::normalize::{
    bounded, country_alpha2, device_from_word, money_micros, parse_ts_text, required,
};
use crate::reject::{RejectReason, Rejection};

/// Streaming decoder of a JSON Lines impressions file.
pub struct JsonDecoder {
    lines: LineReader<Box<dyn std::io::Read + Send>>,
    errors: InputErrors,
    options: DecodeOptions,
    line_no: u64,
}

impl fmt::Debug for JsonDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonDecoder")
            .field("path", &self.errors.path())
            .field("line_no", &self.line_no)
            .finish_non_exhaustive()
    }
}

impl JsonDecoder {
    /// A decoder over an opened input.
    pub fn new(input: Input, options: DecodeOptions) -> JsonDecoder {
        let (reader, errors) = input.into_parts();
        JsonDecoder {
            lines: LineReader::new(reader, options.max_line_bytes),
            errors,
            options,
            line_no: 0,
        }
    }
}

impl Decoder for JsonDecoder {
    fn decode(&mut self, chunk: &mut Chunk, max_rows: usize) -> Result<bool> {
        let target = chunk.rows_read + max_rows as u64;
        while chunk.rows_read < target {
            let line = match self.lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => return Ok(false),
                Err(e) => return Err(self.errors.read_error(e)),
            };
            self.line_no += 1;
            match line {
                Line::Complete(bytes) => {
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    chunk.rows_read += 1;
                    decode_line(bytes, &self.options, chunk, self.line_no);
                }
                Line::TooLong { prefix, len } => {
                    chunk.rows_read += 1;
                    let why = (
                        RejectReason::MalformedJson,
                        format!(
                            "line of {len} bytes exceeds the {}-byte limit (first {} bytes kept)",
                            self.options.max_line_bytes,
                            prefix.len()
                        ),
                    );
                    chunk.reject(self.line_no, why, &prefix);
                }
            }
        }
        Ok(true)
    }

    fn path(&self) -> &std::path::Path {
        self.errors.path()
    }
}

/// Decodes one non-blank line into `chunk` (an event or a reject).
pub(crate) fn decode_line(bytes: &[u8], options: &DecodeOptions, chunk: &mut Chunk, line_no: u64) {
    // One UTF-8 pass over the line, then serde_json's `&str` reader, which does not check
    // strings again: faster than its `&[u8]` reader checking each string (measured).
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            chunk.reject(line_no, invalid_utf8(&e), bytes);
            return;
        }
    };
    if !text.trim_start().starts_with('{') {
        let why = (
            RejectReason::MalformedJson,
            "line is not a JSON object".to_owned(),
        );
        chunk.reject(line_no, why, bytes);
        return;
    }
    let imp: JsonImpression<'_> = match serde_json::from_str(text) {
        Ok(imp) => imp,
        Err(e) => {
            let reason = match e.classify() {
                serde_json::error::Category::Data => RejectReason::WrongType,
                _ => RejectReason::MalformedJson,
            };
            chunk.reject(line_no, (reason, e.to_string()), bytes);
            return;
        }
    };
    chunk.unknown_fields += u64::from(imp.unknown_fields);
    match imp.to_event(options).and_then(bounded) {
        Ok(event) => chunk.batch.push(&event),
        Err(why) => chunk.reject(line_no, why, bytes),
    }
}

fn invalid_utf8(e: &std::str::Utf8Error) -> Rejection {
    (
        RejectReason::InvalidUtf8,
        format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
    )
}

/// One impression line, borrowed from the line: strings as `Cow` (borrowed unless escaped),
/// `ts` and money as raw JSON text.
#[derive(Debug, Default)]
pub struct JsonImpression<'a> {
    event_id: Option<Cow<'a, str>>,
    ts: Option<&'a RawValue>,
    creative_id: Option<Cow<'a, str>>,
    campaign_id: Option<Cow<'a, str>>,
    user_id: Option<Cow<'a, str>>,
    site: Option<Cow<'a, str>>,
    country: Option<Cow<'a, str>>,
    device: Option<Cow<'a, str>>,
    os: Option<Cow<'a, str>>,
    cost_micros: Option<&'a RawValue>,
    cost: Option<&'a RawValue>,
    unknown_fields: u32,
}

/// The text of a raw JSON value, classified.
enum RawText<'a> {
    /// A string's content, unescaped.
    Str(Cow<'a, str>),
    /// A number literal.
    Number(&'a str),
    /// `true`, `false`, an object or an array.
    Other(&'a str),
}

fn raw_text(raw: &RawValue) -> RawText<'_> {
    let t = raw.get();
    match t.as_bytes().first() {
        Some(b'"') => {
            let inner = &t[1..t.len() - 1];
            if inner.contains('\\') {
                match serde_json::from_str::<String>(t) {
                    Ok(s) => RawText::Str(Cow::Owned(s)),
                    Err(_) => RawText::Other(t),
                }
            } else {
                RawText::Str(Cow::Borrowed(inner))
            }
        }
        Some(b'-' | b'0'..=b'9') => RawText::Number(t),
        _ => RawText::Other(t),
    }
}

fn invalid_value(field: &str, value: &str) -> Rejection {
    let shown: String = value.chars().take(64).collect();
    let expected = match field {
        "country" => "an ISO 3166-1 alpha-2 (or alpha-3) code",
        _ => "one of mobile, desktop, tablet, ctv, other",
    };
    (
        RejectReason::InvalidValue,
        format!("{field} {shown:?} is not {expected}"),
    )
}

fn wrong_type(field: &str, raw: &str) -> Rejection {
    let shown: String = raw.chars().take(64).collect();
    (
        RejectReason::WrongType,
        format!("{field} has the wrong JSON type: {shown}"),
    )
}

fn money_text<'a>(
    field: &str,
    raw: Option<&'a RawValue>,
) -> Result<Option<Cow<'a, str>>, Rejection> {
    match raw.map(raw_text) {
        None => Ok(None),
        Some(RawText::Str(s)) => Ok(Some(s)),
        Some(RawText::Number(n)) => Ok(Some(Cow::Borrowed(n))),
        Some(RawText::Other(o)) => Err(wrong_type(field, o)),
    }
}

impl<'a> JsonImpression<'a> {
    /// Validates and normalizes into an event borrowing from `self`.
    pub fn to_event(&self, options: &DecodeOptions) -> Result<EventRef<'_>, Rejection> {
        let event_id = required("event_id", self.event_id.as_deref())?;
        let Some(ts_raw) = self.ts else {
            return Err((RejectReason::MissingField, "ts is missing".to_owned()));
        };
        let creative_id = required("creative_id", self.creative_id.as_deref())?;
        let campaign_id = required("campaign_id", self.campaign_id.as_deref())?;
        let user_id = required("user_id", self.user_id.as_deref())?;
        let ts = match raw_text(ts_raw) {
            RawText::Str(s) => parse_ts_text(&s)?,
            RawText::Number(n) => parse_ts_text(n)?,
            RawText::Other(o) => return Err(wrong_type("ts", o)),
        };
        let ts = options.ts_range.check(ts)?;
        let micros = money_text("cost_micros", self.cost_micros)?;
        let decimal = money_text("cost", self.cost)?;
        let cost_micros =
            money_micros("cost_micros", micros.as_deref(), "cost", decimal.as_deref())?;
        let mut e = EventRef::new(event_id, EventType::Impression, ts, campaign_id);
        e.creative_id = creative_id;
        e.user_id = user_id;
        e.site = self.site.as_deref().unwrap_or("");
        e.country = match self.country.as_deref().map(str::trim) {
            None | Some("") => "",
            Some(c) => match country_alpha2(c) {
                "" => return Err(invalid_value("country", c)),
                code => code,
            },
        };
        e.device = match self.device.as_deref() {
            None => "",
            Some(d) => device_from_word(d).ok_or_else(|| invalid_value("device", d))?,
        };
        e.os = self.os.as_deref().unwrap_or("");
        e.cost_micros = cost_micros;
        Ok(e)
    }
}

/// A string borrowed from the input when it has no escapes.
struct BorrowedStr<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for BorrowedStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BorrowedStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> de::Deserialize<'de> for JsonImpression<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonImpression<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an impression object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut imp = JsonImpression::default();
                while let Some(key) = map.next_key::<BorrowedStr<'de>>()? {
                    let s = |m: &mut A| {
                        m.next_value::<Option<BorrowedStr<'de>>>()
                            .map(|v| v.map(|b| b.0))
                    };
                    match key.0.as_ref() {
                        "event_id" => imp.event_id = s(&mut map)?,
                        "creative_id" => imp.creative_id = s(&mut map)?,
                        "campaign_id" => imp.campaign_id = s(&mut map)?,
                        "user_id" => imp.user_id = s(&mut map)?,
                        "site" => imp.site = s(&mut map)?,
                        "country" => imp.country = s(&mut map)?,
                        "device" => imp.device = s(&mut map)?,
                        "os" => imp.os = s(&mut map)?,
                        "ts" => imp.ts = map.next_value()?,
                        "cost_micros" => imp.cost_micros = map.next_value()?,
                        "cost" => imp.cost = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            imp.unknown_fields = imp.unknown_fields.saturating_add(1);
                        }
                    }
                }
                Ok(imp)
            }
        }
        d.deserialize_map(V)
    }
}
