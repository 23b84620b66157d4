//! Encoding of an [`EventBatch`] as a WAL record payload (`docs/FORMAT.md`, "WAL payload").
//!
//! Columns in schema order, each a flat little-endian array, so encoding is a handful of memcpys
//! and decoding validates lengths and UTF-8 once per column:
//!
//! ```text
//! | Rows(u32) | Column 0 | Column 1 | ... | Column 17 |
//! string column:  | EndOffsets (Rows × u32) | Bytes (last end offset) |
//! i64 column:     | Values (Rows × i64) |
//! event_type:     | Codes (Rows × u8) |
//! won:            | Values (Rows × u8, 0 or 1) |
//! ```

use crate::batch::{EventBatch, StringColumn};
use crate::schema::{ColumnId, ColumnKind, EventType};

/// Appends the payload encoding of `batch` to `out`.
pub fn encode_batch(batch: &EventBatch, out: &mut Vec<u8>) {
    encode_batch_rows(batch, None, out);
}

/// Appends the payload encoding of the rows of `batch` at `rows` (in that order; every row when
/// `None`) to `out`: the same bytes as [`encode_batch`] of a batch holding only those rows,
/// gathered straight from `batch` without building that batch first.
pub fn encode_batch_rows(batch: &EventBatch, rows: Option<&[u32]>, out: &mut Vec<u8>) {
    let count = rows.map_or(batch.len(), <[u32]>::len);
    let row_count = u32::try_from(count).unwrap_or(u32::MAX);
    out.reserve(batch.heap_bytes() + 4);
    out.extend_from_slice(&row_count.to_le_bytes());
    for col in ColumnId::ALL {
        match col.kind() {
            ColumnKind::PlainString | ColumnKind::DictString => {
                if let Some(s) = batch.string_column(col) {
                    encode_strings(s, rows, out);
                }
            }
            ColumnKind::I64 => {
                if let Some(values) = batch.i64_column(col) {
                    match rows {
                        None => extend_i64(out, values.iter().copied()),
                        Some(rows) => extend_i64(out, rows.iter().map(|&r| values[r as usize])),
                    }
                }
            }
            ColumnKind::EventType => match rows {
                None => out.extend(batch.event_type.iter().map(|t| t.code())),
                Some(rows) => out.extend(rows.iter().map(|&r| batch.event_type[r as usize].code())),
            },
            ColumnKind::Bool => match rows {
                None => out.extend(batch.won.iter().map(|&w| u8::from(w))),
                Some(rows) => out.extend(rows.iter().map(|&r| u8::from(batch.won[r as usize]))),
            },
        }
    }
}

/// `| EndOffsets (Rows × u32) | Bytes |` of the selected strings of `s`.
fn encode_strings(s: &StringColumn, rows: Option<&[u32]>, out: &mut Vec<u8>) {
    let offsets = s.offsets();
    match rows {
        None => {
            extend_u32(out, offsets[1..].iter().copied());
            out.extend_from_slice(s.bytes());
        }
        Some(rows) => {
            let mut end = 0u32;
            extend_u32(
                out,
                rows.iter().map(|&r| {
                    end += offsets[r as usize + 1] - offsets[r as usize];
                    end
                }),
            );
            out.reserve(end as usize);
            // Rows kept by dedup come in long runs of consecutive rows: one copy per run.
            let bytes = s.bytes();
            let mut i = 0;
            while i < rows.len() {
                let first = rows[i] as usize;
                let mut last = first;
                i += 1;
                while i < rows.len() && rows[i] as usize == last + 1 {
                    last += 1;
                    i += 1;
                }
                out.extend_from_slice(&bytes[offsets[first] as usize..offsets[last + 1] as usize]);
            }
        }
    }
}

/// Appends little-endian u32s, writing into reserved space in one pass.
fn extend_u32(out: &mut Vec<u8>, values: impl ExactSizeIterator<Item = u32>) {
    let start = out.len();
    out.resize(start + values.len() * 4, 0);
    for (dst, v) in out[start..].chunks_exact_mut(4).zip(values) {
        dst.copy_from_slice(&v.to_le_bytes());
    }
}

/// Appends little-endian i64s, writing into reserved space in one pass.
fn extend_i64(out: &mut Vec<u8>, values: impl ExactSizeIterator<Item = i64>) {
    let start = out.len();
    out.resize(start + values.len() * 8, 0);
    for (dst, v) in out[start..].chunks_exact_mut(8).zip(values) {
        dst.copy_from_slice(&v.to_le_bytes());
    }
}

/// Decodes a payload; the error says what is malformed.
pub fn decode_batch(payload: &[u8]) -> Result<EventBatch, String> {
    let mut r = Cursor {
        bytes: payload,
        at: 0,
    };
    let rows = r.u32()? as usize;
    // Every row takes at least 18 bytes (4 × 10 offsets would be more, but this bound is enough to
    // refuse an absurd row count before allocating for it).
    if rows > payload.len() / 18 + 1 {
        return Err(format!(
            "row count {rows} does not fit a {}-byte payload",
            payload.len()
        ));
    }
    let mut batch = EventBatch::new();
    for col in ColumnId::ALL {
        match col.kind() {
            ColumnKind::PlainString | ColumnKind::DictString => {
                let ends = r.take(rows * 4)?;
                let mut offsets = Vec::with_capacity(rows + 1);
                offsets.push(0u32);
                offsets.extend(
                    ends.chunks_exact(4)
                        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
                let len = offsets.last().copied().unwrap_or(0) as usize;
                let bytes = r.take(len)?.to_vec();
                let column = StringColumn::from_parts(offsets, bytes)
                    .ok_or_else(|| format!("column {col}: offsets or UTF-8 invalid"))?;
                set_string(&mut batch, col, column);
            }
            ColumnKind::I64 => {
                let raw = r.take(rows * 8)?;
                let values = raw
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect();
                set_i64(&mut batch, col, values);
            }
            ColumnKind::EventType => {
                let raw = r.take(rows)?;
                batch.event_type = raw
                    .iter()
                    .map(|&c| {
                        EventType::from_code(c)
                            .ok_or_else(|| format!("unknown event type code {c}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            ColumnKind::Bool => {
                let raw = r.take(rows)?;
                batch.won = raw
                    .iter()
                    .map(|&b| match b {
                        0 => Ok(false),
                        1 => Ok(true),
                        _ => Err(format!("bool byte {b}")),
                    })
                    .collect::<Result<_, _>>()?;
            }
        }
    }
    if r.at != payload.len() {
        return Err(format!(
            "{} trailing bytes after the last column",
            payload.len() - r.at
        ));
    }
    Ok(batch)
}

fn set_string(batch: &mut EventBatch, col: ColumnId, column: StringColumn) {
    let slot = match col {
        ColumnId::EventId => &mut batch.event_id,
        ColumnId::CampaignId => &mut batch.campaign_id,
        ColumnId::CreativeId => &mut batch.creative_id,
        ColumnId::UserId => &mut batch.user_id,
        ColumnId::Site => &mut batch.site,
        ColumnId::Country => &mut batch.country,
        ColumnId::Device => &mut batch.device,
        ColumnId::Os => &mut batch.os,
        ColumnId::ConversionType => &mut batch.conversion_type,
        _ => &mut batch.impression_id,
    };
    *slot = column;
}

fn set_i64(batch: &mut EventBatch, col: ColumnId, values: Vec<i64>) {
    let slot = match col {
        ColumnId::Ts => &mut batch.ts,
        ColumnId::CostMicros => &mut batch.cost_micros,
        ColumnId::RevenueMicros => &mut batch.revenue_micros,
        ColumnId::BidFloorMicros => &mut batch.bid_floor_micros,
        ColumnId::BidPriceMicros => &mut batch.bid_price_micros,
        _ => &mut batch.clearing_price_micros,
    };
    *slot = values;
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                format!(
                    "payload truncated: need {n} bytes at {}, have {}",
                    self.at,
                    self.bytes.len() - self.at
                )
            })?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::EventRef;
    use proptest::prelude::*;

    fn arb_event() -> impl Strategy<Value = crate::batch::Event> {
        (
            "[a-z0-9é-]{0,12}",
            0u8..4,
            any::<i64>(),
            "[a-z0-9]{0,6}",
            "[a-zA-Z]{0,3}",
            any::<i64>(),
            any::<bool>(),
        )
            .prop_map(|(id, t, ts, cmp, country, money, won)| {
                let mut e = EventRef::new(
                    &id,
                    EventType::from_code(t).unwrap_or(EventType::Click),
                    ts,
                    &cmp,
                );
                e.country = &country;
                e.cost_micros = money;
                e.clearing_price_micros = money.wrapping_neg();
                e.won = won;
                e.to_owned_event()
            })
    }

    proptest! {
        #[test]
        fn batches_round_trip(events in proptest::collection::vec(arb_event(), 0..200)) {
            let batch = EventBatch::from_events(events.iter().map(|e| e.as_ref()));
            let mut buf = Vec::new();
            encode_batch(&batch, &mut buf);
            prop_assert_eq!(decode_batch(&buf).unwrap(), batch);
        }

        #[test]
        fn selected_rows_encode_like_the_filtered_batch(
            events in proptest::collection::vec(arb_event(), 0..120),
            keep in proptest::collection::vec(any::<bool>(), 120),
        ) {
            let batch = EventBatch::from_events(events.iter().map(|e| e.as_ref()));
            let rows: Vec<u32> = (0..batch.len() as u32).filter(|&r| keep[r as usize]).collect();
            let mut filtered = EventBatch::new();
            filtered.extend_from_rows(&batch, &rows);
            let (mut want, mut got) = (Vec::new(), Vec::new());
            encode_batch(&filtered, &mut want);
            encode_batch_rows(&batch, Some(&rows), &mut got);
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(decode_batch(&got).unwrap(), filtered);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode_batch(&bytes);
        }
    }

    #[test]
    fn truncation_is_an_error() {
        let batch = EventBatch::from_events([EventRef::new("a", EventType::Click, 1, "c")]);
        let mut buf = Vec::new();
        encode_batch(&batch, &mut buf);
        for cut in 0..buf.len() {
            assert!(decode_batch(&buf[..cut]).is_err(), "cut at {cut}");
        }
    }
}
