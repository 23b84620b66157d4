//! SQL expressions to model [`Expr`]s: operators, literals, functions (scalar, aggregate with
//! their `-If` forms, adstore's metric shorthands) and alias resolution.
//!
//! An identifier is an alias when the select list defines it (aliases win over columns, as in
//! ClickHouse), except inside that alias's own definition, where it names the column: so
//! `sum(cost_micros) AS cost_micros` works. Alias cycles are an error.

use std::cell::RefCell;

use sqlparser::ast::{
    self, BinaryOperator, DuplicateTreatment, FunctionArg, FunctionArgExpr, FunctionArguments,
    Spanned, UnaryOperator,
};
use sqlparser::tokenizer::Span;

use crate::error::{Error, Result};
use crate::model::{AggFunc, Aggregate, BinaryOp, CmpOp, Expr, Literal, Metric, ScalarFunc};
use crate::time::TimeFn;
use crate::types::ArithOp;
use adstore_storage::ColumnId;

/// An [`Error::Unsupported`] for `what` at the start of `span`.
pub(crate) fn unsupported(what: &str, span: Span) -> Error {
    Error::Unsupported {
        construct: what.to_owned(),
        line: span.start.line,
        column: span.start.column,
    }
}

/// Converts expressions of one SELECT, resolving its aliases.
#[derive(Debug)]
pub(crate) struct Converter<'a> {
    aliases: &'a [(String, &'a ast::Expr)],
    expanding: RefCell<Vec<String>>,
}

impl<'a> Converter<'a> {
    /// A converter over the select list's aliases.
    pub(crate) fn new(aliases: &'a [(String, &'a ast::Expr)]) -> Self {
        Converter {
            aliases,
            expanding: RefCell::new(Vec::new()),
        }
    }

    /// Converts the definition of alias `name`.
    pub(crate) fn alias(&self, name: &str, e: &ast::Expr) -> Result<Expr> {
        self.expanding.borrow_mut().push(name.to_owned());
        let out = self.expr(e);
        self.expanding.borrow_mut().pop();
        out
    }

    /// Converts one expression.
    pub(crate) fn expr(&self, e: &ast::Expr) -> Result<Expr> {
        use ast::Expr as E;
        Ok(match e {
            E::Identifier(id) => self.identifier(id)?,
            E::CompoundIdentifier(parts) => match parts.as_slice() {
                [table, col] if table.value == super::TABLE_NAME => self.column(col)?,
                _ => return Err(unsupported("a qualified name", e.span())),
            },
            E::Nested(inner) => self.expr(inner)?,
            E::Value(v) => Expr::Literal(value(&v.value, e.span())?),
            E::UnaryOp { op, expr } => {
                let inner = self.expr(expr)?;
                match op {
                    UnaryOperator::Not => Expr::Not(Box::new(inner)),
                    UnaryOperator::Plus => inner,
                    UnaryOperator::Minus => match inner {
                        Expr::Literal(Literal::UInt(v)) if v <= 1 << 63 => {
                            Expr::Literal(Literal::Int(0i64.wrapping_sub_unsigned(v)))
                        }
                        Expr::Literal(Literal::Float(f)) => Expr::Literal(Literal::Float(-f)),
                        other => Expr::Negate(Box::new(other)),
                    },
                    other => return Err(unsupported(&format!("operator `{other}`"), e.span())),
                }
            }
            E::BinaryOp { left, op, right } => {
                let op = match op {
                    BinaryOperator::Plus => BinaryOp::Arith(ArithOp::Add),
                    BinaryOperator::Minus => BinaryOp::Arith(ArithOp::Sub),
                    BinaryOperator::Multiply => BinaryOp::Arith(ArithOp::Mul),
                    BinaryOperator::Divide => BinaryOp::Arith(ArithOp::Div),
                    BinaryOperator::Eq => BinaryOp::Cmp(CmpOp::Eq),
                    BinaryOperator::NotEq => BinaryOp::Cmp(CmpOp::NotEq),
                    BinaryOperator::Lt => BinaryOp::Cmp(CmpOp::Lt),
                    BinaryOperator::LtEq => BinaryOp::Cmp(CmpOp::LtEq),
                    BinaryOperator::Gt => BinaryOp::Cmp(CmpOp::Gt),
                    BinaryOperator::GtEq => BinaryOp::Cmp(CmpOp::GtEq),
                    BinaryOperator::And => BinaryOp::And,
                    BinaryOperator::Or => BinaryOp::Or,
                    other => return Err(unsupported(&format!("operator `{other}`"), e.span())),
                };
                self.expr(left)?.binary(op, self.expr(right)?)
            }
            E::InList {
                expr,
                list,
                negated,
            } => Expr::InList {
                expr: Box::new(self.expr(expr)?),
                list: list
                    .iter()
                    .map(|item| match self.expr(item)? {
                        Expr::Literal(l) => Ok(l),
                        _ => Err(unsupported(
                            "an IN list item that is not a constant",
                            item.span(),
                        )),
                    })
                    .collect::<Result<_>>()?,
                negated: *negated,
            },
            E::Between {
                expr,
                negated,
                low,
                high,
            } => Expr::Between {
                expr: Box::new(self.expr(expr)?),
                low: Box::new(self.expr(low)?),
                high: Box::new(self.expr(high)?),
                negated: *negated,
            },
            E::Like {
                negated,
                any: false,
                expr,
                pattern,
                escape_char: None,
            } => match pattern.as_ref() {
                E::Value(v) => match &v.value {
                    ast::Value::SingleQuotedString(p) => Expr::Like {
                        expr: Box::new(self.expr(expr)?),
                        pattern: p.clone(),
                        negated: *negated,
                    },
                    _ => {
                        return Err(unsupported(
                            "a LIKE pattern that is not a string",
                            pattern.span(),
                        ));
                    }
                },
                _ => {
                    return Err(unsupported(
                        "a LIKE pattern that is not a string",
                        pattern.span(),
                    ));
                }
            },
            E::Function(f) => self.function(f, e.span())?,
            E::IsNull(_) | E::IsNotNull(_) => {
                return Err(unsupported("IS [NOT] NULL", e.span()));
            }
            E::Cast { .. } => return Err(unsupported("CAST", e.span())),
            E::Case { .. } => return Err(unsupported("CASE (use if())", e.span())),
            E::Subquery(_) | E::InSubquery { .. } | E::Exists { .. } => {
                return Err(unsupported("subqueries", e.span()));
            }
            E::ILike { .. } => return Err(unsupported("ILIKE", e.span())),
            E::Like { .. } => return Err(unsupported("LIKE ANY or LIKE ... ESCAPE", e.span())),
            _ => return Err(unsupported(&format!("expression `{e}`"), e.span())),
        })
    }

    fn identifier(&self, id: &ast::Ident) -> Result<Expr> {
        let name = id.value.as_str();
        if !self.expanding.borrow().iter().any(|n| n == name)
            && let Some((_, def)) = self.aliases.iter().find(|(n, _)| n == name)
        {
            if self.expanding.borrow().len() > 64 {
                return Err(Error::invalid(format!(
                    "aliases nest too deeply at `{name}`"
                )));
            }
            return self.alias(name, def);
        }
        if self.aliases.iter().any(|(n, _)| n == name) && ColumnId::by_name(name).is_none() {
            return Err(Error::invalid(format!(
                "alias `{name}` refers to itself (cyclic aliases)"
            )));
        }
        self.column(id)
    }

    fn column(&self, id: &ast::Ident) -> Result<Expr> {
        ColumnId::by_name(&id.value)
            .map(Expr::Column)
            .ok_or_else(|| Error::UnknownIdentifier {
                name: id.value.clone(),
                line: id.span.start.line,
                column: id.span.start.column,
            })
    }

    fn function(&self, f: &ast::Function, span: Span) -> Result<Expr> {
        if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
            return Err(unsupported(
                "window functions, FILTER or WITHIN GROUP",
                span,
            ));
        }
        if f.null_treatment.is_some() || !matches!(f.parameters, FunctionArguments::None) {
            return Err(unsupported("parametric functions", span));
        }
        let name = f.name.to_string();
        let (args, distinct) = match &f.args {
            FunctionArguments::None => (Vec::new(), false),
            FunctionArguments::Subquery(_) => return Err(unsupported("subqueries", span)),
            FunctionArguments::List(list) => {
                if !list.clauses.is_empty() {
                    return Err(unsupported("clauses inside a function's arguments", span));
                }
                let mut args = Vec::new();
                for a in &list.args {
                    match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => args.push(e),
                        // count(*) is count().
                        FunctionArg::Unnamed(FunctionArgExpr::Wildcard)
                            if name.eq_ignore_ascii_case("count") => {}
                        other => return Err(unsupported("this function argument", other.span())),
                    }
                }
                (
                    args,
                    matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct)),
                )
            }
        };
        let arity = |n: usize| -> Result<()> {
            if args.len() == n {
                Ok(())
            } else {
                Err(Error::invalid(format!(
                    "{name} takes {n} argument(s), {} given{}",
                    args.len(),
                    at(span)
                )))
            }
        };
        if let Some(m) = Metric::by_name(&name) {
            arity(0)?;
            return Ok(m.expr());
        }
        if let Some(t) = time_fn(&name) {
            arity(1)?;
            return Ok(Expr::Call {
                func: ScalarFunc::Time(t),
                args: vec![self.expr(args[0])?],
            });
        }
        if name == "if" {
            arity(3)?;
            return Ok(Expr::Call {
                func: ScalarFunc::If,
                args: args.iter().map(|a| self.expr(a)).collect::<Result<_>>()?,
            });
        }
        if name.eq_ignore_ascii_case("nullIf") {
            arity(2)?;
            return Ok(Expr::Call {
                func: ScalarFunc::NullIf,
                args: args.iter().map(|a| self.expr(a)).collect::<Result<_>>()?,
            });
        }
        let (base, conditional) = match AggFunc::by_name(&name) {
            Some(func) => (func, false),
            None => match name.strip_suffix("If").and_then(AggFunc::by_name) {
                Some(func) => (func, true),
                None => return Err(unsupported(&format!("function `{name}`"), span)),
            },
        };
        let func = match (base, distinct) {
            (AggFunc::Count, true) => AggFunc::UniqExact,
            (_, true) => return Err(unsupported(&format!("{name}(DISTINCT ...)"), span)),
            (func, false) => func,
        };
        let mut converted = args
            .iter()
            .map(|a| self.expr(a))
            .collect::<Result<Vec<_>>>()?;
        let cond = if conditional {
            match converted.pop() {
                Some(c) => Some(Box::new(c)),
                None => {
                    return Err(Error::invalid(format!(
                        "{name} needs a condition as its last argument{}",
                        at(span)
                    )));
                }
            }
        } else {
            None
        };
        let arg = match (base, converted.len()) {
            (AggFunc::Count, 0) => None,
            (_, 1) => converted.pop().map(Box::new),
            (_, n) => {
                return Err(Error::invalid(format!(
                    "{name} takes one argument{}, {n} given{}",
                    if conditional { " and a condition" } else { "" },
                    at(span)
                )));
            }
        };
        Ok(Expr::Aggregate(Aggregate { func, arg, cond }))
    }
}

fn at(span: Span) -> String {
    if span.start.line == 0 {
        String::new()
    } else {
        format!(" at line {}, column {}", span.start.line, span.start.column)
    }
}

fn time_fn(name: &str) -> Option<TimeFn> {
    Some(match name {
        "toStartOfMinute" => TimeFn::StartOfMinute,
        "toStartOfHour" => TimeFn::StartOfHour,
        "toStartOfDay" => TimeFn::StartOfDay,
        "toDate" => TimeFn::ToDate,
        "toDateTime" => TimeFn::ToDateTime,
        "toUnixTimestamp" => TimeFn::ToUnixTimestamp,
        _ => return None,
    })
}

fn value(v: &ast::Value, span: Span) -> Result<Literal> {
    Ok(match v {
        ast::Value::Number(n, _) => {
            if let Ok(u) = n.parse::<u64>() {
                Literal::UInt(u)
            } else if n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(unsupported(
                    &format!("integer literal {n} (above UInt64)"),
                    span,
                ));
            } else {
                match n.parse::<f64>() {
                    Ok(f) => Literal::Float(f),
                    Err(_) => return Err(unsupported(&format!("number literal {n}"), span)),
                }
            }
        }
        ast::Value::SingleQuotedString(s) => Literal::String(s.clone()),
        ast::Value::Boolean(b) => Literal::Bool(*b),
        ast::Value::Null => Literal::Null,
        other => return Err(unsupported(&format!("literal {other}"), span)),
    })
}
