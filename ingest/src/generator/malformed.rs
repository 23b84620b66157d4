//! Malformed rows, one defect each, for every reject reason a format can produce; each is
//! counted in the truth under the reason the ingest must give it.

use apache_avro::types::Value;

use super::avro::{BidFields, bid_value, imp_value};
use super::{Gen, MICROS_PER_DAY};
use crate::reject::RejectReason;

impl Gen {
    pub(super) fn bad_json(&mut self, reason: RejectReason, first_day: i64) -> Vec<u8> {
        self.truth.rejected(reason);
        let id = self.next_id("badj");
        let ts = (first_day * MICROS_PER_DAY + 43_200_000_000) / 1000;
        let base = |ts: &str, user: &str, money: &str| {
            format!(
                "{{\"event_id\":\"{id}\",\"ts\":{ts},\"creative_id\":\"cr-1\",\"campaign_id\":\"cmp-1\",\"user_id\":{user},\"site\":\"bad.example.com\"{money}}}\n"
            )
        };
        let ms = ts.to_string();
        match reason {
            RejectReason::MalformedJson => format!("{{\"event_id\":\"{id}\",\"ts\":{ms},\"creative_id\":\n").into_bytes(),
            RejectReason::InvalidUtf8 => {
                let mut l = base(&ms, "\"u-1\"", "").into_bytes();
                let at = l.len() - 10;
                l[at] = 0xFF;
                l
            }
            RejectReason::WrongType => base(&ms, "12345", "").into_bytes(),
            RejectReason::MissingField => format!(
                "{{\"event_id\":\"{id}\",\"ts\":{ms},\"creative_id\":\"cr-1\",\"campaign_id\":\"cmp-1\"}}\n"
            )
            .into_bytes(),
            RejectReason::BadTimestamp => base("\"2025-11-31T10:00:00Z\"", "\"u-1\"", "").into_bytes(),
            RejectReason::TsOutOfRange => base("946684799999", "\"u-1\"", "").into_bytes(),
            RejectReason::BadDecimal => base(&ms, "\"u-1\"", ",\"cost\":\"1.0000001\"").into_bytes(),
            RejectReason::NegativeMoney => base(&ms, "\"u-1\"", ",\"cost_micros\":-5").into_bytes(),
            RejectReason::FieldTooLong => base(&ms, &format!("\"u-{}\"", "9".repeat(1100)), "").into_bytes(),
            RejectReason::InvalidValue => base(&ms, "\"u-1\"", ",\"device\":\"phone\"").into_bytes(),
            _ => base(&ms, "\"u-1\"", ",\"cost\":0.5,\"cost_micros\":500000").into_bytes(),
        }
    }

    pub(super) fn bad_avro(&mut self, reason: RejectReason, first_day: i64) -> Value {
        self.truth.rejected(reason);
        let id = self.next_id("bada");
        let ts_ms = (first_day * MICROS_PER_DAY + 43_200_000_000) / 1000;
        let mut f = BidFields {
            id,
            ts_ms,
            imps: vec![imp_value("0", 0.5)],
            site: Some("bad.example.com".into()),
            app: None,
            device: None,
            user: None,
            campaign: Some("cmp-1".into()),
            bid_price: Some(1.0),
            won: false,
            clearing: None,
        };
        match reason {
            RejectReason::MissingField => f.id = String::new(),
            RejectReason::TsOutOfRange => f.ts_ms = 631_152_000_000,
            RejectReason::NegativeMoney => f.imps = vec![imp_value("0", -0.5)],
            RejectReason::FieldTooLong => {
                f.site = Some(format!("{}.example.com", "a".repeat(1100)))
            }
            _ => f.bid_price = Some(f64::NAN),
        }
        bid_value(f)
    }

    pub(super) fn bad_csv(
        &mut self,
        reason: RejectReason,
        cols: &[&str],
        first_day: i64,
    ) -> Vec<u8> {
        self.truth.rejected(reason);
        let id = self.next_id("badc");
        let ts = ((first_day * MICROS_PER_DAY + 43_200_000_000) / 1000).to_string();
        let mut cells: Vec<(String, Vec<u8>)> = cols
            .iter()
            .map(|c| {
                let v: &[u8] = match *c {
                    "event_id" => id.as_bytes(),
                    "ts" => ts.as_bytes(),
                    "event_type" => b"conversion",
                    "user_id" => b"u-1",
                    "campaign_id" => b"cmp-1",
                    "conversion_type" => b"purchase",
                    "revenue" => b"1.50",
                    _ => b"",
                };
                ((*c).to_owned(), v.to_vec())
            })
            .collect();
        let mut set = |name: &str, v: &[u8]| {
            for (c, cell) in &mut cells {
                if c == name {
                    *cell = v.to_vec();
                }
            }
        };
        match reason {
            RejectReason::InvalidUtf8 => set("user_id", b"u-\xFF1"),
            RejectReason::MissingField => set("user_id", b""),
            RejectReason::BadTimestamp => set("ts", b"yesterday"),
            RejectReason::TsOutOfRange => set("ts", b"2999-01-01T00:00:00Z"),
            RejectReason::UnknownEventType => set("event_type", b"view"),
            RejectReason::ConversionWithoutType => set("conversion_type", b""),
            RejectReason::BadDecimal => set("revenue", b"12.5.0"),
            RejectReason::NegativeMoney => set("revenue", b"-3.50"),
            RejectReason::ConflictingMoney => set("revenue_micros", b"1500000"),
            RejectReason::FieldTooLong => set("campaign_id", "c".repeat(1100).as_bytes()),
            _ => {}
        }
        if reason == RejectReason::CsvColumnCount {
            cells.pop();
        }
        let mut line = Vec::new();
        for (i, (_, v)) in cells.iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            line.extend_from_slice(v);
        }
        line.push(b'\n');
        line
    }
}
