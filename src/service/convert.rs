//! Proto ↔ domain conversions, the only place where adstore.v1 messages meet storage, ingest
//! and query types.

use adstore_ingest::deadletter::DeadLetter;
use adstore_ingest::normalize::TsRange;
use adstore_ingest::{Format, RejectReason, Rejected};
use adstore_proto::v1;
use adstore_query::{
    AggFunc, Aggregate, BinaryOp, CmpOp, ColumnId, Expr, Literal, Metric, OrderItem, Query,
    ScalarFunc, SelectItem, TimeFn, TimeRange,
};
use adstore_storage::{EventBatch, EventRef, EventType, StoreStats};
use tonic::Status;

/// The ingest format of a raw payload.
pub fn format(f: i32) -> Result<Format, Status> {
    match v1::Format::try_from(f) {
        Ok(v1::Format::JsonLines) => Ok(Format::Json),
        Ok(v1::Format::Csv) => Ok(Format::Csv),
        Ok(v1::Format::Avro) => Ok(Format::Avro),
        Ok(v1::Format::Unspecified) | Err(_) => Err(Status::invalid_argument(
            "raw.format must be FORMAT_JSON_LINES, FORMAT_CSV or FORMAT_AVRO",
        )),
    }
}

/// The proto enum of an ingest format.
pub fn format_to_proto(f: Format) -> v1::Format {
    match f {
        Format::Json => v1::Format::JsonLines,
        Format::Csv => v1::Format::Csv,
        Format::Avro => v1::Format::Avro,
    }
}

fn event_type(t: i32) -> Option<EventType> {
    match v1::EventType::try_from(t).ok()? {
        v1::EventType::Impression => Some(EventType::Impression),
        v1::EventType::Click => Some(EventType::Click),
        v1::EventType::Conversion => Some(EventType::Conversion),
        v1::EventType::BidRequest => Some(EventType::BidRequest),
        v1::EventType::Unspecified => None,
    }
}

/// Typed events to a batch plus rejects (positions are 1-based indexes, raw rows as JSON),
/// validated as decoded rows are: required fields, event type, ts range, conversion type,
/// non-negative money.
pub fn typed_events(events: &[v1::Event], ts_range: TsRange) -> (EventBatch, Vec<Rejected>) {
    let mut batch = EventBatch::with_capacity(events.len());
    let mut rejects = Vec::new();
    for (i, e) in events.iter().enumerate() {
        match check_event(e, ts_range) {
            Ok(t) => batch.push(&EventRef {
                event_id: &e.event_id,
                event_type: t,
                ts: e.ts_micros,
                campaign_id: &e.campaign_id,
                creative_id: &e.creative_id,
                user_id: &e.user_id,
                site: &e.site,
                country: &e.country,
                device: &e.device,
                os: &e.os,
                conversion_type: &e.conversion_type,
                impression_id: &e.impression_id,
                cost_micros: e.cost_micros,
                revenue_micros: e.revenue_micros,
                bid_floor_micros: e.bid_floor_micros,
                bid_price_micros: e.bid_price_micros,
                clearing_price_micros: e.clearing_price_micros,
                won: e.won,
            }),
            Err((reason, detail)) => rejects.push(Rejected {
                position: i as u64 + 1,
                reason,
                detail,
                raw: event_json(e).into_bytes(),
            }),
        }
    }
    (batch, rejects)
}

/// A typed event as one JSON object (its dead letter's raw row), fields named as in the proto.
fn event_json(e: &v1::Event) -> String {
    let event_type = v1::EventType::try_from(e.event_type).map_or_else(
        |_| e.event_type.to_string(),
        |t| t.as_str_name().to_string(),
    );
    serde_json::json!({
        "event_id": e.event_id,
        "event_type": event_type,
        "ts_micros": e.ts_micros,
        "campaign_id": e.campaign_id,
        "creative_id": e.creative_id,
        "user_id": e.user_id,
        "site": e.site,
        "country": e.country,
        "device": e.device,
        "os": e.os,
        "conversion_type": e.conversion_type,
        "impression_id": e.impression_id,
        "cost_micros": e.cost_micros,
        "revenue_micros": e.revenue_micros,
        "bid_floor_micros": e.bid_floor_micros,
        "bid_price_micros": e.bid_price_micros,
        "clearing_price_micros": e.clearing_price_micros,
        "won": e.won,
    })
    .to_string()
}

fn check_event(e: &v1::Event, ts_range: TsRange) -> Result<EventType, (RejectReason, String)> {
    let missing = |f: &str| (RejectReason::MissingField, format!("{f} is empty"));
    if e.event_id.is_empty() {
        return Err(missing("event_id"));
    }
    if e.campaign_id.is_empty() {
        return Err(missing("campaign_id"));
    }
    if !(ts_range.min..=ts_range.max).contains(&e.ts_micros) {
        return Err((
            RejectReason::TsOutOfRange,
            format!("ts_micros {} outside the accepted range", e.ts_micros),
        ));
    }
    let t = event_type(e.event_type).ok_or((
        RejectReason::UnknownEventType,
        format!("event_type {}", e.event_type),
    ))?;
    if t == EventType::Conversion && e.conversion_type.is_empty() {
        return Err((
            RejectReason::ConversionWithoutType,
            "conversion without conversion_type".into(),
        ));
    }
    for (name, v) in [
        ("cost_micros", e.cost_micros),
        ("revenue_micros", e.revenue_micros),
        ("bid_floor_micros", e.bid_floor_micros),
        ("bid_price_micros", e.bid_price_micros),
        ("clearing_price_micros", e.clearing_price_micros),
    ] {
        if v < 0 {
            return Err((RejectReason::NegativeMoney, format!("{name} = {v}")));
        }
    }
    Ok(t)
}

/// Store figures to `StatsResponse`.
pub fn stats(s: &StoreStats) -> v1::StatsResponse {
    v1::StatsResponse {
        segment_rows: s.segment_rows,
        segments: s.segments as u64,
        segment_bytes: s.segment_bytes,
        memtable_rows: s.memtable_rows,
        wal_bytes: s.wal_bytes,
        dedup_entries: s.dedup_entries,
        dedup_memory_bytes: s.dedup_memory_bytes,
        accepted_since_start: s.accepted,
        duplicates_since_start: s.duplicates,
        flushes_since_start: s.flushes,
        partitions: s
            .partitions
            .iter()
            .map(|(p, rows, segments, bytes)| v1::PartitionStats {
                day: adstore_storage::schema::format_day(p.day),
                bucket: u32::from(p.bucket),
                rows: *rows,
                segments: *segments as u64,
                bytes: *bytes,
            })
            .collect(),
    }
}

/// A stored dead letter to its message.
pub fn dead_letter(d: &DeadLetter) -> v1::DeadLetter {
    v1::DeadLetter {
        source: d.source.clone(),
        position: d.position,
        reason: d.reason().map_or_else(
            || format!("code {}", d.reason_code),
            |r| r.as_str().to_string(),
        ),
        detail: d.detail.clone(),
        raw: d.raw.clone().into(),
        ingested_at_micros: d.ingested_at,
        format: d.format.map_or("unknown", Format::as_str).to_string(),
    }
}

/// The structured `AggregateRequest` as a [`Query`].
pub fn aggregate_query(r: &v1::AggregateRequest) -> Result<Query, Status> {
    let bad = |m: String| Status::invalid_argument(m);
    let mut q = Query::default();
    if r.start_micros != 0 || r.end_micros != 0 {
        if r.start_micros >= r.end_micros {
            return Err(bad("start_micros must be before end_micros".into()));
        }
        q.time_range = Some(TimeRange {
            start: r.start_micros,
            end: r.end_micros,
        });
    }
    let bucket = match v1::TimeBucket::try_from(r.bucket) {
        Ok(v1::TimeBucket::None) => None,
        Ok(v1::TimeBucket::Minute) => Some(TimeFn::StartOfMinute),
        Ok(v1::TimeBucket::Hour) => Some(TimeFn::StartOfHour),
        Ok(v1::TimeBucket::Day) => Some(TimeFn::StartOfDay),
        Err(_) => return Err(bad(format!("unknown time bucket {}", r.bucket))),
    };
    if let Some(f) = bucket {
        let e = Expr::Call {
            func: ScalarFunc::Time(f),
            args: vec![Expr::col(ColumnId::Ts)],
        };
        q.group_by.push(e.clone());
        q.select.push(SelectItem::named(e, "bucket"));
    }
    for name in &r.group_by {
        let c = column(name)?;
        q.group_by.push(Expr::col(c));
        q.select.push(SelectItem::named(Expr::col(c), c.name()));
    }
    if r.metrics.is_empty() {
        return Err(bad("metrics must name at least one metric".into()));
    }
    for m in &r.metrics {
        let (expr, default_name) = metric(m)?;
        let name = if m.alias.is_empty() {
            default_name
        } else {
            m.alias.clone()
        };
        q.select.push(SelectItem::named(expr, name));
    }
    for f in &r.filters {
        q.and_filter(filter(f)?);
    }
    for o in &r.order_by {
        let item = q
            .select
            .iter()
            .find(|s| s.name == o.column)
            .ok_or_else(|| bad(format!("order_by {:?} is not an output column", o.column)))?;
        q.order_by.push(OrderItem {
            expr: item.expr.clone(),
            descending: o.descending,
            nulls_first: false,
        });
    }
    if r.limit > 0 {
        q.limit = Some(r.limit);
    }
    Ok(q)
}

fn column(name: &str) -> Result<ColumnId, Status> {
    ColumnId::by_name(name)
        .ok_or_else(|| Status::invalid_argument(format!("unknown column {name:?}")))
}

fn count_of(t: EventType) -> Expr {
    Aggregate::count()
        .filtered(Expr::col(ColumnId::EventType).eq(Expr::str(t.as_str())))
        .expr()
}

fn sum_of(c: ColumnId) -> Expr {
    Aggregate::of(AggFunc::Sum, Expr::col(c)).expr()
}

fn metric(m: &v1::Metric) -> Result<(Expr, String), Status> {
    let name = m.name.as_str();
    if m.column.is_empty() {
        let e = match name {
            "impressions" => count_of(EventType::Impression),
            "clicks" => count_of(EventType::Click),
            "conversions" => count_of(EventType::Conversion),
            "bid_requests" => count_of(EventType::BidRequest),
            "bids" => Aggregate::count()
                .filtered(
                    Expr::col(ColumnId::BidPriceMicros)
                        .binary(BinaryOp::Cmp(CmpOp::Gt), Expr::uint(0)),
                )
                .expr(),
            "wins" => Aggregate::count().filtered(Expr::col(ColumnId::Won)).expr(),
            "spend" => sum_of(ColumnId::CostMicros).divide(Expr::Literal(Literal::Float(1e6))),
            "revenue" => sum_of(ColumnId::RevenueMicros).divide(Expr::Literal(Literal::Float(1e6))),
            "events" | "count" => Aggregate::count().expr(),
            "users" => Aggregate::of(AggFunc::UniqExact, Expr::col(ColumnId::UserId)).expr(),
            other => match Metric::by_name(other) {
                Some(m) => m.expr(),
                None => {
                    return Err(Status::invalid_argument(format!(
                        "unknown metric {other:?} (without a column)"
                    )));
                }
            },
        };
        return Ok((e, name.to_string()));
    }
    let func = match name {
        "count" => AggFunc::Count,
        "sum" => AggFunc::Sum,
        "min" => AggFunc::Min,
        "max" => AggFunc::Max,
        "avg" => AggFunc::Avg,
        "uniq_exact" => AggFunc::UniqExact,
        "uniq" => AggFunc::Uniq,
        other => {
            return Err(Status::invalid_argument(format!(
                "unknown aggregate function {other:?}"
            )));
        }
    };
    let c = column(&m.column)?;
    Ok((
        Aggregate::of(func, Expr::col(c)).expr(),
        format!("{name}_{}", c.name()),
    ))
}

fn literal(c: ColumnId, text: &str) -> Result<Literal, Status> {
    use adstore_storage::ColumnKind;
    let bad = || Status::invalid_argument(format!("{text:?} is not a value of {}", c.name()));
    Ok(match c.kind() {
        ColumnKind::PlainString | ColumnKind::DictString | ColumnKind::EventType => {
            Literal::String(text.to_string())
        }
        ColumnKind::Bool => Literal::Bool(text.parse().map_err(|_| bad())?),
        ColumnKind::I64 if c == ColumnId::Ts => {
            let v: i64 = text.parse().map_err(|_| bad())?;
            Literal::String(adstore_query::time::format_datetime_micros(v))
        }
        ColumnKind::I64 => {
            let v: i64 = text.parse().map_err(|_| bad())?;
            match u64::try_from(v) {
                Ok(u) => Literal::UInt(u),
                Err(_) => Literal::Int(v),
            }
        }
    })
}

fn filter(f: &v1::Filter) -> Result<Expr, Status> {
    let c = column(&f.column)?;
    let values: Vec<Literal> = f
        .values
        .iter()
        .map(|v| literal(c, v))
        .collect::<Result<_, _>>()?;
    let op = v1::FilterOp::try_from(f.op)
        .map_err(|_| Status::invalid_argument(format!("unknown filter op {}", f.op)))?;
    let one = |values: &[Literal]| match values {
        [v] => Ok(Expr::Literal(v.clone())),
        _ => Err(Status::invalid_argument(format!(
            "filter on {} takes exactly one value",
            f.column
        ))),
    };
    let cmp = |o: CmpOp| -> Result<Expr, Status> {
        Ok(Expr::col(c).binary(BinaryOp::Cmp(o), one(&values)?))
    };
    match op {
        v1::FilterOp::Eq => cmp(CmpOp::Eq),
        v1::FilterOp::Ne => cmp(CmpOp::NotEq),
        v1::FilterOp::Lt => cmp(CmpOp::Lt),
        v1::FilterOp::Le => cmp(CmpOp::LtEq),
        v1::FilterOp::Gt => cmp(CmpOp::Gt),
        v1::FilterOp::Ge => cmp(CmpOp::GtEq),
        v1::FilterOp::In | v1::FilterOp::NotIn => {
            if values.is_empty() {
                return Err(Status::invalid_argument("IN needs at least one value"));
            }
            Ok(Expr::InList {
                expr: Box::new(Expr::col(c)),
                list: values,
                negated: op == v1::FilterOp::NotIn,
            })
        }
        v1::FilterOp::Between => match values.as_slice() {
            [low, high] => Ok(Expr::Between {
                expr: Box::new(Expr::col(c)),
                low: Box::new(Expr::Literal(low.clone())),
                high: Box::new(Expr::Literal(high.clone())),
                negated: false,
            }),
            _ => Err(Status::invalid_argument("BETWEEN takes two values")),
        },
        v1::FilterOp::Unspecified => Err(Status::invalid_argument("filter op is unspecified")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_events_are_validated_and_rejects_kept_as_json() {
        let ok = v1::Event {
            event_id: "e1".into(),
            event_type: v1::EventType::Conversion as i32,
            ts_micros: 1_763_208_000_000_000,
            campaign_id: "cmp-1".into(),
            conversion_type: "purchase".into(),
            revenue_micros: 5,
            ..v1::Event::default()
        };
        let bad = [
            (
                v1::Event {
                    event_id: String::new(),
                    ..ok.clone()
                },
                RejectReason::MissingField,
            ),
            (
                v1::Event {
                    event_type: 0,
                    ..ok.clone()
                },
                RejectReason::UnknownEventType,
            ),
            (
                v1::Event {
                    ts_micros: 5,
                    ..ok.clone()
                },
                RejectReason::TsOutOfRange,
            ),
            (
                v1::Event {
                    conversion_type: String::new(),
                    ..ok.clone()
                },
                RejectReason::ConversionWithoutType,
            ),
            (
                v1::Event {
                    cost_micros: -1,
                    ..ok.clone()
                },
                RejectReason::NegativeMoney,
            ),
        ];
        let mut events = vec![ok.clone()];
        events.extend(bad.iter().map(|(e, _)| e.clone()));
        let (batch, rejects) = typed_events(&events, TsRange::default_from_now());
        assert_eq!(batch.len(), 1);
        assert_eq!(batch.event_type[0], EventType::Conversion);
        let reasons: Vec<RejectReason> = rejects.iter().map(|r| r.reason).collect();
        assert_eq!(reasons, bad.iter().map(|(_, r)| *r).collect::<Vec<_>>());
        assert_eq!(rejects[0].position, 2);
        let raw: serde_json::Value = serde_json::from_slice(&rejects[1].raw).unwrap();
        assert_eq!(raw["event_type"], "EVENT_TYPE_UNSPECIFIED");
        assert_eq!(raw["campaign_id"], "cmp-1");
    }

    #[test]
    fn aggregate_requests_become_queries_and_bad_ones_are_refused() {
        let r = v1::AggregateRequest {
            group_by: vec!["campaign_id".into()],
            bucket: v1::TimeBucket::Hour as i32,
            metrics: vec![v1::Metric {
                name: "ctr".into(),
                ..v1::Metric::default()
            }],
            order_by: vec![v1::OrderBy {
                column: "ctr".into(),
                descending: true,
            }],
            limit: 3,
            ..v1::AggregateRequest::default()
        };
        let q = aggregate_query(&r).unwrap();
        let names: Vec<&str> = q.select.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["bucket", "campaign_id", "ctr"]);
        assert_eq!(
            (q.group_by.len(), q.order_by.len(), q.limit),
            (2, 1, Some(3))
        );
        for bad in [
            v1::AggregateRequest {
                metrics: vec![],
                ..r.clone()
            },
            v1::AggregateRequest {
                group_by: vec!["nope".into()],
                ..r.clone()
            },
            v1::AggregateRequest {
                order_by: vec![v1::OrderBy {
                    column: "x".into(),
                    descending: false,
                }],
                ..r.clone()
            },
            v1::AggregateRequest {
                start_micros: 10,
                end_micros: 5,
                ..r.clone()
            },
            v1::AggregateRequest {
                filters: vec![v1::Filter {
                    column: "cost_micros".into(),
                    op: v1::FilterOp::Eq as i32,
                    values: vec!["x".into()],
                }],
                ..r.clone()
            },
        ] {
            assert_eq!(
                aggregate_query(&bad).unwrap_err().code(),
                tonic::Code::InvalidArgument
            );
        }
    }
}
