//! The reference evaluator: a query answered row at a time over a plain list of events, written
//! for clarity, not speed. It shares with the engine only the definition of the language (the
//! typed plan and the scalar meaning of an expression, `adstore_query::eval`); grouping,
//! aggregation, ordering and limits are computed here independently, so the engine's pruning,
//! vectorized kernels, dictionary-code predicates, code-keyed grouping, parallel partial
//! aggregates and top-k are all checked against it.

use std::cmp::Ordering;

use adstore_query::eval::{Env, eval};
use adstore_query::model::AggFunc;
use adstore_query::plan::{Body, Plan};
use adstore_query::types::{DataType, Repr};
use adstore_query::value::{Value, compare, sort_order};
use adstore_query::{ColumnId, Query};
use adstore_storage::{Event, EventType};

/// One event as an evaluation environment.
struct EventEnv<'a>(&'a Event);

impl Env for EventEnv<'_> {
    fn column(&self, c: ColumnId) -> Value {
        let e = self.0;
        let s = |v: &str| Value::Str(v.to_owned());
        match c {
            ColumnId::EventId => s(&e.event_id),
            ColumnId::EventType => Value::Int(i64::from(e.event_type.code())),
            ColumnId::Ts => Value::Int(e.ts),
            ColumnId::CampaignId => s(&e.campaign_id),
            ColumnId::CreativeId => s(&e.creative_id),
            ColumnId::UserId => s(&e.user_id),
            ColumnId::Site => s(&e.site),
            ColumnId::Country => s(&e.country),
            ColumnId::Device => s(&e.device),
            ColumnId::Os => s(&e.os),
            ColumnId::ConversionType => s(&e.conversion_type),
            ColumnId::ImpressionId => s(&e.impression_id),
            ColumnId::CostMicros => Value::Int(e.cost_micros),
            ColumnId::RevenueMicros => Value::Int(e.revenue_micros),
            ColumnId::BidFloorMicros => Value::Int(e.bid_floor_micros),
            ColumnId::BidPriceMicros => Value::Int(e.bid_price_micros),
            ColumnId::ClearingPriceMicros => Value::Int(e.clearing_price_micros),
            ColumnId::Won => Value::UInt(u64::from(e.won)),
        }
    }
}

/// A group's keys and aggregate values.
struct GroupEnv {
    keys: Vec<Value>,
    aggs: Vec<Value>,
}

impl Env for GroupEnv {
    fn column(&self, _c: ColumnId) -> Value {
        Value::Null
    }
    fn key(&self, i: usize) -> Value {
        self.keys[i].clone()
    }
    fn agg(&self, i: usize) -> Value {
        self.aggs[i].clone()
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// The distinct values of a list (by equality, as `uniqExact` counts them).
fn distinct(values: &[Value]) -> usize {
    let mut seen: Vec<&Value> = Vec::new();
    for v in values {
        if !seen.iter().any(|s| same(s, v)) {
            seen.push(v);
        }
    }
    seen.len()
}

#[expect(clippy::cast_precision_loss, reason = "avg divides in Float64")]
fn aggregate(func: AggFunc, ty: DataType, values: &[Value]) -> Value {
    match func {
        AggFunc::Count => Value::UInt(values.len() as u64),
        AggFunc::Sum if ty == DataType::Float64 => {
            Value::Float(values.iter().filter_map(Value::as_f64).sum())
        }
        AggFunc::Sum => {
            let mut total = 0i64;
            for v in values {
                total = total.wrapping_add(v.bits());
            }
            Value::from_bits(total, ty)
        }
        AggFunc::Min | AggFunc::Max => {
            let mut best: Option<&Value> = None;
            for v in values {
                let better = match best {
                    None => true,
                    Some(b) => {
                        let o = compare(v, b);
                        if func == AggFunc::Max {
                            o == Some(Ordering::Greater)
                        } else {
                            o == Some(Ordering::Less)
                        }
                    }
                };
                if better {
                    best = Some(v);
                }
            }
            best.cloned().unwrap_or_else(|| Value::default_of(ty))
        }
        AggFunc::Avg => {
            if values.iter().all(|v| !matches!(v, Value::Float(_))) {
                let sum: i128 = values
                    .iter()
                    .map(|v| match v {
                        Value::UInt(u) => i128::from(*u),
                        v => i128::from(v.bits()),
                    })
                    .sum();
                Value::Float(sum as f64 / values.len() as f64)
            } else {
                let sum: f64 = values.iter().filter_map(Value::as_f64).sum();
                Value::Float(sum / values.len() as f64)
            }
        }
        // Test data keeps every group under the sketch's exact limit, where `uniq` is exact.
        AggFunc::UniqExact | AggFunc::Uniq => Value::UInt(distinct(values) as u64),
    }
}

fn sort_rows(rows: &mut [(Vec<Value>, Vec<Value>)], plan: &Plan) {
    rows.sort_by(|(out_a, key_a), (out_b, key_b)| {
        for (i, k) in plan.order.iter().enumerate() {
            let o = sort_order(&key_a[i], &key_b[i], k.descending, k.nulls_first);
            if o != Ordering::Equal {
                return o;
            }
        }
        for (x, y) in out_a.iter().zip(out_b) {
            let o = sort_order(x, y, false, false);
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
}

/// How a value of type `ty` reads back from an Arrow result: the event type as its name,
/// booleans as 0/1.
fn presented(v: Value, ty: DataType) -> Value {
    match (ty, v) {
        (_, Value::Null) => Value::Null,
        (DataType::EventType, v) => Value::Str(
            EventType::from_code(u8::try_from(v.bits()).unwrap_or(255))
                .map_or_else(|| "?".into(), |t| t.as_str().to_owned()),
        ),
        (t, v) if t.repr() == Repr::UInt => Value::UInt(v.bits().cast_unsigned()),
        (_, v) => v,
    }
}

/// The answer to `query` over `events`, as the engine's result reads back. Rows of queries
/// without ORDER BY come sorted by their values (the engine's order for aggregates).
pub fn answer(query: &Query, events: &[Event]) -> Vec<Vec<Value>> {
    let plan = Plan::new(query).expect("the query plans");
    let rows: Vec<&Event> = events
        .iter()
        .filter(|e| {
            plan.filter
                .as_ref()
                .is_none_or(|f| eval(f, &EventEnv(e)).is_true())
        })
        .collect();
    let mut out: Vec<(Vec<Value>, Vec<Value>)> = match &plan.body {
        Body::Aggregate {
            keys,
            aggs,
            outputs,
        } => {
            let mut groups: Vec<(Vec<Value>, Vec<&Event>)> = Vec::new();
            if keys.is_empty() {
                groups.push((Vec::new(), rows.clone()));
            } else {
                for e in &rows {
                    let key: Vec<Value> = keys.iter().map(|k| eval(k, &EventEnv(e))).collect();
                    match groups
                        .iter_mut()
                        .find(|(k, _)| k.iter().zip(&key).all(|(a, b)| same(a, b)))
                    {
                        Some((_, members)) => members.push(e),
                        None => groups.push((key, vec![e])),
                    }
                }
            }
            groups
                .into_iter()
                .filter_map(|(keys, members)| {
                    let aggs = aggs
                        .iter()
                        .map(|a| {
                            let values: Vec<Value> = members
                                .iter()
                                .filter(|e| {
                                    a.cond
                                        .as_ref()
                                        .is_none_or(|c| eval(c, &EventEnv(e)).is_true())
                                })
                                .map(|e| match &a.arg {
                                    Some(arg) => eval(arg, &EventEnv(e)),
                                    None => Value::UInt(1),
                                })
                                .collect();
                            aggregate(a.func, a.ty.data, &values)
                        })
                        .collect();
                    let env = GroupEnv { keys, aggs };
                    let kept = plan.having.as_ref().is_none_or(|h| eval(h, &env).is_true());
                    kept.then(|| {
                        (
                            outputs.iter().map(|o| eval(o, &env)).collect(),
                            plan.order.iter().map(|k| eval(&k.expr, &env)).collect(),
                        )
                    })
                })
                .collect()
        }
        Body::Rows { outputs } => rows
            .iter()
            .map(|e| {
                (
                    outputs.iter().map(|o| eval(o, &EventEnv(e))).collect(),
                    plan.order
                        .iter()
                        .map(|k| eval(&k.expr, &EventEnv(e)))
                        .collect(),
                )
            })
            .collect(),
    };
    sort_rows(&mut out, &plan);
    out.into_iter()
        .skip(usize::try_from(plan.offset).unwrap_or(usize::MAX))
        .take(
            plan.limit
                .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX)),
        )
        .map(|(outputs, _)| {
            outputs
                .into_iter()
                .zip(&plan.types)
                .map(|(v, t)| presented(v, t.data))
                .collect()
        })
        .collect()
}
