//! Type checking: from model [`Expr`]s to [`TExpr`]s, with ClickHouse's typing rules, and the
//! checks that make a query meaningful (no aggregate in WHERE, every output of an aggregate
//! query grouped or aggregated, comparable operands...).

use std::sync::Arc;

use adstore_storage::EventType;

use super::typed::{Node, TExpr};
use crate::error::{Error, Result};
use crate::like::LikePattern;
use crate::model::{AggFunc, Aggregate, BinaryOp, CmpOp, Expr, Literal, ScalarFunc};
use crate::time::{self, TimeFn};
use crate::types::{DataType, Repr, Type, arithmetic_type, least_supertype, negate_type};
use crate::value::Value;

/// One aggregate of an aggregate query, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct AggPlan {
    /// The function.
    pub func: AggFunc,
    /// Its argument (row level), `None` for `count()`.
    pub arg: Option<TExpr>,
    /// Its `-If` condition (row level).
    pub cond: Option<TExpr>,
    /// The result type.
    pub ty: Type,
    /// The model aggregate it came from (aggregates are shared by equality).
    pub source: Aggregate,
}

/// Where an expression is typed.
pub(crate) enum Scope<'a> {
    /// Over rows of the event table: columns allowed, aggregates not. `clause` names the place
    /// for errors ("WHERE", "GROUP BY", "an aggregate argument").
    Row { clause: &'static str },
    /// Over groups: group keys and aggregates allowed, other columns not.
    Groups {
        /// The group-by expressions.
        keys: &'a [Expr],
        /// Their types.
        key_types: &'a [Type],
        /// The aggregates found so far.
        aggs: &'a mut Vec<AggPlan>,
    },
}

/// Types `expr` in `scope`.
pub(crate) fn typecheck(expr: &Expr, scope: &mut Scope<'_>) -> Result<TExpr> {
    if let Scope::Groups {
        keys, key_types, ..
    } = scope
        && let Some(i) = keys.iter().position(|k| k == expr)
    {
        return Ok(TExpr {
            ty: key_types[i],
            node: Node::Key(i),
        });
    }
    match expr {
        Expr::Column(c) => match scope {
            Scope::Row { .. } => Ok(TExpr {
                ty: Type::of(DataType::of_column(*c)),
                node: Node::Column(*c),
            }),
            Scope::Groups { .. } => Err(Error::invalid(format!(
                "column `{c}` is neither inside an aggregate function nor in GROUP BY"
            ))),
        },
        Expr::Literal(l) => Ok(literal(l)),
        Expr::Not(e) => {
            let e = typecheck(e, scope)?;
            condition(&e, expr)?;
            Ok(TExpr {
                ty: Type::of(DataType::UInt8).or_null(e.ty.nullable),
                node: Node::Not(Box::new(e)),
            })
        }
        Expr::Negate(e) => {
            let e = typecheck(e, scope)?;
            if e.data() == DataType::Nothing {
                return Ok(e);
            }
            let ty = negate_type(e.data())
                .ok_or_else(|| Error::invalid(format!("cannot negate {} in `{expr}`", e.ty)))?;
            Ok(TExpr {
                ty: Type::of(ty).or_null(e.ty.nullable),
                node: Node::Neg(Box::new(e)),
            })
        }
        Expr::Binary { op, left, right } => {
            let l = typecheck(left, scope)?;
            let r = typecheck(right, scope)?;
            binary(*op, l, r, expr)
        }
        Expr::InList {
            expr: inner,
            list,
            negated,
        } => {
            let e = typecheck(inner, scope)?;
            let mut set = Vec::with_capacity(list.len());
            for item in list {
                let (_, c) = coerce_pair(e.clone(), literal(item), expr)?;
                match c.node {
                    Node::Const(Value::Null) => {}
                    Node::Const(v) => set.push(v),
                    _ => return Err(Error::invalid(format!("IN list of `{expr}`"))),
                }
            }
            Ok(TExpr {
                ty: Type::of(DataType::UInt8).or_null(e.ty.nullable),
                node: Node::In {
                    expr: Box::new(e),
                    set,
                    negated: *negated,
                },
            })
        }
        Expr::Between {
            expr: e,
            low,
            high,
            negated,
        } => {
            let (lo_op, hi_op, join) = if *negated {
                (CmpOp::Lt, CmpOp::Gt, BinaryOp::Or)
            } else {
                (CmpOp::GtEq, CmpOp::LtEq, BinaryOp::And)
            };
            let lowered = Expr::Binary {
                op: BinaryOp::Cmp(lo_op),
                left: e.clone(),
                right: low.clone(),
            }
            .binary(
                join,
                Expr::Binary {
                    op: BinaryOp::Cmp(hi_op),
                    left: e.clone(),
                    right: high.clone(),
                },
            );
            typecheck(&lowered, scope)
        }
        Expr::Like {
            expr: e,
            pattern,
            negated,
        } => {
            let e = typecheck(e, scope)?;
            if e.data() != DataType::String {
                return Err(Error::invalid(format!(
                    "LIKE needs a String, `{expr}` applies it to {}",
                    e.ty
                )));
            }
            Ok(TExpr {
                ty: Type::of(DataType::UInt8).or_null(e.ty.nullable),
                node: Node::Like {
                    expr: Box::new(e),
                    pattern: Arc::new(LikePattern::new(pattern)),
                    negated: *negated,
                },
            })
        }
        Expr::Call { func, args } => {
            let args = args
                .iter()
                .map(|a| typecheck(a, scope))
                .collect::<Result<Vec<_>>>()?;
            call(*func, args, expr)
        }
        Expr::Aggregate(a) => match scope {
            Scope::Row { clause } => Err(Error::invalid(format!(
                "aggregate function `{a}` is not allowed in {clause}"
            ))),
            Scope::Groups { aggs, .. } => aggregate(a, aggs),
        },
    }
}

/// The type of a literal: the narrowest integer type that holds it, as ClickHouse types
/// literals.
pub(crate) fn literal(l: &Literal) -> TExpr {
    let (v, t) = match l {
        Literal::Null => {
            return TExpr {
                ty: Type {
                    data: DataType::Nothing,
                    nullable: true,
                },
                node: Node::Const(Value::Null),
            };
        }
        Literal::Bool(b) => (Value::UInt(u64::from(*b)), DataType::Bool),
        Literal::UInt(v) => (
            Value::UInt(*v),
            match *v {
                0..=0xFF => DataType::UInt8,
                0x100..=0xFFFF => DataType::UInt16,
                0x1_0000..=0xFFFF_FFFF => DataType::UInt32,
                _ => DataType::UInt64,
            },
        ),
        Literal::Int(v) => (
            Value::Int(*v),
            match *v {
                -0x80..=0x7F => DataType::Int8,
                -0x8000..=0x7FFF => DataType::Int16,
                -0x8000_0000..=0x7FFF_FFFF => DataType::Int32,
                _ => DataType::Int64,
            },
        ),
        Literal::Float(f) => (Value::Float(*f), DataType::Float64),
        Literal::String(s) => (Value::Str(s.clone()), DataType::String),
    };
    TExpr::constant(v, Type::of(t))
}

fn condition(e: &TExpr, whole: &Expr) -> Result<()> {
    if e.data().is_numeric() || e.data() == DataType::Nothing {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "a condition must be a number or Bool; `{whole}` uses {}",
            e.ty
        )))
    }
}

fn binary(op: BinaryOp, l: TExpr, r: TExpr, whole: &Expr) -> Result<TExpr> {
    let nullable = l.ty.nullable || r.ty.nullable;
    match op {
        BinaryOp::Arith(a) => {
            if l.data() == DataType::Nothing || r.data() == DataType::Nothing {
                return Ok(TExpr::constant(
                    Value::Null,
                    Type {
                        data: DataType::Nothing,
                        nullable: true,
                    },
                ));
            }
            let ty = arithmetic_type(a, l.data(), r.data()).ok_or_else(|| {
                Error::invalid(format!(
                    "arithmetic `{}` needs numbers; `{whole}` has {} and {}",
                    a.symbol(),
                    l.ty,
                    r.ty
                ))
            })?;
            Ok(TExpr {
                ty: Type::of(ty).or_null(nullable),
                node: Node::Arith(a, Box::new(l), Box::new(r)),
            })
        }
        BinaryOp::Cmp(c) => {
            let (l, r) = coerce_pair(l, r, whole)?;
            Ok(TExpr {
                ty: Type::of(DataType::UInt8).or_null(nullable),
                node: Node::Cmp(c, Box::new(l), Box::new(r)),
            })
        }
        BinaryOp::And | BinaryOp::Or => {
            condition(&l, whole)?;
            condition(&r, whole)?;
            let ty = Type::of(DataType::UInt8).or_null(nullable);
            let (l, r) = (Box::new(l), Box::new(r));
            Ok(TExpr {
                ty,
                node: if op == BinaryOp::And {
                    Node::And(l, r)
                } else {
                    Node::Or(l, r)
                },
            })
        }
    }
}

/// Reads a string constant as a value of type `to`.
pub(crate) fn string_as(s: &str, to: DataType) -> Result<Value> {
    let bad = || Error::BadLiteral {
        literal: s.to_owned(),
        to: to.name().to_owned(),
    };
    Ok(match to {
        DataType::String => Value::Str(s.to_owned()),
        DataType::DateTime64 => Value::Int(time::parse_datetime_micros(s).ok_or_else(bad)?),
        DataType::DateTime => {
            let us = time::parse_datetime_micros(s).ok_or_else(bad)?;
            if us % time::MICROS_PER_SECOND != 0 {
                return Err(bad());
            }
            Value::Int(us / time::MICROS_PER_SECOND)
        }
        DataType::Date => Value::Int(time::parse_date(s).ok_or_else(bad)?),
        DataType::EventType => Value::Int(i64::from(EventType::parse(s).ok_or_else(bad)?.code())),
        DataType::Float64 => Value::Float(s.trim().parse().map_err(|_| bad())?),
        t => match t.repr() {
            Repr::Int => Value::Int(s.trim().parse().map_err(|_| bad())?),
            Repr::UInt => Value::UInt(s.trim().parse().map_err(|_| bad())?),
            _ => return Err(bad()),
        },
    })
}

fn cast_to(e: TExpr, to: DataType) -> TExpr {
    if e.data() == to {
        return e;
    }
    if let Node::Const(v) = &e.node {
        let v = crate::value::cast(v, e.data(), to);
        return TExpr::constant(v, Type::of(to).or_null(e.ty.nullable));
    }
    TExpr {
        ty: Type::of(to).or_null(e.ty.nullable),
        node: Node::Cast(Box::new(e)),
    }
}

/// Makes two operands comparable: a string constant is read as the other side's type, and two
/// temporal operands are brought to the finer unit.
pub(crate) fn coerce_pair(l: TExpr, r: TExpr, whole: &Expr) -> Result<(TExpr, TExpr)> {
    let (lt, rt) = (l.data(), r.data());
    if lt == DataType::Nothing || rt == DataType::Nothing {
        return Ok((l, r));
    }
    let as_other = |c: &TExpr, other: DataType| -> Option<Result<TExpr>> {
        match (&c.node, other) {
            (Node::Const(Value::Str(s)), t) if t != DataType::String => Some(
                string_as(s, t).map(|v| TExpr::constant(v, Type::of(t).or_null(c.ty.nullable))),
            ),
            _ => None,
        }
    };
    if let Some(r2) = as_other(&r, lt) {
        return Ok((l, r2?));
    }
    if let Some(l2) = as_other(&l, rt) {
        return Ok((l2?, r));
    }
    let comparable = lt == rt
        || (lt.is_numeric() && rt.is_numeric())
        || (lt == DataType::EventType && rt.int_info().is_some())
        || (rt == DataType::EventType && lt.int_info().is_some())
        || (lt.is_temporal() && rt.is_temporal());
    if !comparable {
        return Err(Error::invalid(format!(
            "cannot compare {} with {} in `{whole}`",
            l.ty, r.ty
        )));
    }
    if lt.is_temporal() && rt.is_temporal() && lt != rt {
        let to = least_supertype(lt, rt).unwrap_or(DataType::DateTime64);
        return Ok((cast_to(l, to), cast_to(r, to)));
    }
    Ok((l, r))
}

fn call(func: ScalarFunc, mut args: Vec<TExpr>, whole: &Expr) -> Result<TExpr> {
    let arity = match func {
        ScalarFunc::Time(_) => 1,
        ScalarFunc::If => 3,
        ScalarFunc::NullIf => 2,
    };
    if args.len() != arity {
        return Err(Error::invalid(format!(
            "{} takes {arity} argument(s), `{whole}` passes {}",
            func.name(),
            args.len()
        )));
    }
    match func {
        ScalarFunc::Time(f) => {
            let a = args.remove(0);
            let out = match f {
                TimeFn::ToDate => DataType::Date,
                TimeFn::ToUnixTimestamp => DataType::UInt32,
                _ => DataType::DateTime,
            };
            if let Node::Const(Value::Str(s)) = &a.node {
                let us = time::parse_datetime_micros(s).ok_or_else(|| Error::BadLiteral {
                    literal: s.clone(),
                    to: "DateTime64(6, 'UTC')".into(),
                })?;
                return Ok(TExpr::constant(
                    Value::from_bits(f.apply_micros(us), out),
                    Type::of(out),
                ));
            }
            if a.data() == DataType::Nothing {
                return Ok(a);
            }
            if !a.data().is_temporal() {
                return Err(Error::invalid(format!(
                    "{} needs a Date, DateTime or DateTime64; `{whole}` passes {}",
                    f.name(),
                    a.ty
                )));
            }
            Ok(TExpr {
                ty: Type::of(out).or_null(a.ty.nullable),
                node: Node::Time(f, Box::new(a)),
            })
        }
        ScalarFunc::If => {
            let b = args.remove(2);
            let a = args.remove(1);
            let c = args.remove(0);
            condition(&c, whole)?;
            let data = least_supertype(a.data(), b.data()).ok_or_else(|| {
                Error::invalid(format!(
                    "the branches of `{whole}` ({} and {}) have no common type",
                    a.ty, b.ty
                ))
            })?;
            let nullable = a.ty.nullable || b.ty.nullable;
            let (a, b) = (cast_to(a, data), cast_to(b, data));
            Ok(TExpr {
                ty: Type::of(data).or_null(nullable),
                node: Node::If(Box::new(c), Box::new(a), Box::new(b)),
            })
        }
        ScalarFunc::NullIf => {
            let b = args.remove(1);
            let a = args.remove(0);
            let ty = a.ty;
            let (a, b) = coerce_pair(a, b, whole)?;
            // The result keeps the first argument's type even if it was cast for the comparison.
            let a = if a.ty.data == ty.data {
                a
            } else {
                cast_to(a, ty.data)
            };
            Ok(TExpr {
                ty: Type {
                    data: ty.data,
                    nullable: true,
                },
                node: Node::NullIf(Box::new(a), Box::new(b)),
            })
        }
    }
}

fn aggregate(a: &Aggregate, aggs: &mut Vec<AggPlan>) -> Result<TExpr> {
    let whole = Expr::Aggregate(a.clone());
    if let Some(i) = aggs.iter().position(|p| p.source == *a) {
        return Ok(TExpr {
            ty: aggs[i].ty,
            node: Node::Agg(i),
        });
    }
    let mut row = Scope::Row {
        clause: "the argument of another aggregate function",
    };
    let arg = a
        .arg
        .as_deref()
        .map(|e| typecheck(e, &mut row))
        .transpose()?;
    let cond = a
        .cond
        .as_deref()
        .map(|e| typecheck(e, &mut row))
        .transpose()?;
    if let Some(c) = &cond {
        condition(c, &whole)?;
        row_level(c, &whole)?;
    }
    if let Some(e) = &arg {
        row_level(e, &whole)?;
        if e.data() == DataType::String && !matches!(e.node, Node::Column(_)) {
            return Err(Error::Unsupported {
                construct: format!("a string argument other than a column in `{whole}`"),
                line: 0,
                column: 0,
            });
        }
    }
    let arg_ty = arg.as_ref().map(|e| e.data());
    let bad = |what: &str| {
        Error::invalid(format!(
            "{} needs {what}; `{whole}` passes {}",
            a.func.name(),
            arg_ty.map_or("nothing", DataType::name)
        ))
    };
    let data = match (a.func, arg_ty) {
        (AggFunc::Count | AggFunc::UniqExact | AggFunc::Uniq, _)
            if arg_ty.is_some() || a.func == AggFunc::Count =>
        {
            DataType::UInt64
        }
        (AggFunc::Sum, Some(DataType::Float64)) => DataType::Float64,
        (AggFunc::Sum, Some(t)) if t.int_info().is_some() => {
            if t.int_info().is_some_and(|(signed, _)| signed) {
                DataType::Int64
            } else {
                DataType::UInt64
            }
        }
        (AggFunc::Avg, Some(t)) if t.is_numeric() => DataType::Float64,
        (AggFunc::Min | AggFunc::Max, Some(t)) if t != DataType::Nothing => t,
        (AggFunc::Sum | AggFunc::Avg, _) => return Err(bad("a number")),
        _ => return Err(bad("one argument")),
    };
    let ty = Type::of(data);
    aggs.push(AggPlan {
        func: a.func,
        arg,
        cond,
        ty,
        source: a.clone(),
    });
    Ok(TExpr {
        ty,
        node: Node::Agg(aggs.len() - 1),
    })
}

/// Checks that a row-level expression can run in the vectorized scan: nothing nullable, and
/// strings only as columns or constants.
pub(crate) fn row_level(e: &TExpr, whole: &Expr) -> Result<()> {
    if e.any_nullable() {
        return Err(Error::Unsupported {
            construct: format!(
                "NULL-producing expression inside `{whole}` (NULL and nullIf are supported over \
                 aggregates and in plain row selection, not in WHERE, GROUP BY or aggregate \
                 arguments)"
            ),
            line: 0,
            column: 0,
        });
    }
    let mut bad = false;
    e.walk(&mut |n| {
        bad |= n.data() == DataType::String && !matches!(n.node, Node::Column(_) | Node::Const(_));
    });
    if bad {
        return Err(Error::Unsupported {
            construct: format!("a computed string inside `{whole}`"),
            line: 0,
            column: 0,
        });
    }
    Ok(())
}
