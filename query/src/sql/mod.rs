//! The SQL front end: [`parse_sql`] reads a ClickHouse-dialect `SELECT` over `events` into a
//! model [`Query`].
//!
//! The text is parsed by the `sqlparser` crate (ClickHouse dialect); this module then accepts
//! exactly the subset `docs/QUERY.md` documents and rejects everything else with
//! [`Error::Unsupported`], naming the construct and its line and column. Aliases defined in the
//! select list may be used in later select items, in WHERE, GROUP BY and ORDER BY, as ClickHouse
//! allows (and in HAVING); GROUP BY and ORDER BY also take 1-based positions of select items.
//!
//! - [`expr`]: expressions, functions, literals and alias resolution.

pub mod expr;

use sqlparser::ast::{
    self, GroupByExpr, LimitClause, OrderByKind, SelectItem as SqlItem, SetExpr, Spanned,
    Statement, TableFactor,
};
use sqlparser::dialect::ClickHouseDialect;
use sqlparser::parser::Parser;

use crate::error::{Error, Result};
use crate::model::{Expr, OrderItem, Query, SelectItem};
use adstore_storage::ColumnId;
use expr::{Converter, unsupported};

/// The one table of the query language.
pub const TABLE_NAME: &str = "events";

/// Parses one `SELECT` statement of the supported subset.
pub fn parse_sql(sql: &str) -> Result<Query> {
    let statements =
        Parser::parse_sql(&ClickHouseDialect {}, sql).map_err(|e| Error::Syntax(e.to_string()))?;
    let [statement] = statements.as_slice() else {
        return Err(Error::invalid(format!(
            "expected exactly one SELECT statement, found {}",
            statements.len()
        )));
    };
    let Statement::Query(query) = statement else {
        return Err(unsupported(
            "a statement other than SELECT",
            statement.span(),
        ));
    };
    convert_query(query)
}

fn convert_query(q: &ast::Query) -> Result<Query> {
    if let Some(with) = &q.with {
        return Err(unsupported("WITH", with.span()));
    }
    if q.fetch.is_some() {
        return Err(unsupported("FETCH", q.span()));
    }
    if !q.locks.is_empty() {
        return Err(unsupported("FOR UPDATE/SHARE", q.span()));
    }
    if q.for_clause.is_some() || q.format_clause.is_some() || !q.pipe_operators.is_empty() {
        return Err(unsupported("FOR, FORMAT or pipe clauses", q.span()));
    }
    if q.settings.is_some() {
        return Err(unsupported("SETTINGS", q.span()));
    }
    let select = match q.body.as_ref() {
        SetExpr::Select(s) => s,
        other => {
            return Err(unsupported(
                "a query body other than one SELECT (UNION, VALUES, subquery...)",
                other.span(),
            ));
        }
    };
    check_select_shape(select)?;

    // Aliases first: they may be used anywhere, also before their definition.
    let mut aliases = Vec::new();
    for item in &select.projection {
        if let SqlItem::ExprWithAlias { expr, alias } = item {
            if aliases
                .iter()
                .any(|(n, _): &(String, &ast::Expr)| *n == alias.value)
            {
                return Err(Error::invalid(format!(
                    "alias `{}` is defined twice",
                    alias.value
                )));
            }
            aliases.push((alias.value.clone(), expr));
        }
    }
    let conv = Converter::new(&aliases);

    let mut out = Query::default();
    for item in &select.projection {
        match item {
            SqlItem::UnnamedExpr(e) => out
                .select
                .push(SelectItem::named(conv.expr(e)?, e.to_string())),
            SqlItem::ExprWithAlias { expr, alias } => out.select.push(SelectItem::named(
                conv.alias(&alias.value, expr)?,
                &alias.value,
            )),
            SqlItem::Wildcard(opts) => {
                if opts.opt_exclude.is_some()
                    || opts.opt_except.is_some()
                    || opts.opt_replace.is_some()
                    || opts.opt_rename.is_some()
                    || opts.opt_ilike.is_some()
                {
                    return Err(unsupported("wildcard options", item.span()));
                }
                for c in ColumnId::ALL {
                    out.select
                        .push(SelectItem::named(Expr::Column(c), c.name()));
                }
            }
            other => return Err(unsupported("this select item", other.span())),
        }
    }

    let mut filter: Option<Expr> = None;
    for clause in [&select.prewhere, &select.selection].into_iter().flatten() {
        let e = conv.expr(clause)?;
        filter = Some(match filter {
            Some(f) => f.and(e),
            None => e,
        });
    }
    out.filter = filter;

    match &select.group_by {
        GroupByExpr::All(_) => return Err(unsupported("GROUP BY ALL", select.span())),
        GroupByExpr::Expressions(exprs, modifiers) => {
            if !modifiers.is_empty() {
                return Err(unsupported(
                    "GROUP BY modifiers (WITH ROLLUP/CUBE/TOTALS)",
                    select.span(),
                ));
            }
            for e in exprs {
                out.group_by
                    .push(positional(e, &out.select)?.unwrap_or(conv.expr(e)?));
            }
        }
    }

    if let Some(h) = &select.having {
        out.having = Some(conv.expr(h)?);
    }

    if let Some(order) = &q.order_by {
        if order.interpolate.is_some() {
            return Err(unsupported("INTERPOLATE", q.span()));
        }
        let OrderByKind::Expressions(items) = &order.kind else {
            return Err(unsupported("ORDER BY ALL", q.span()));
        };
        for o in items {
            if o.with_fill.is_some() {
                return Err(unsupported("WITH FILL", o.span()));
            }
            let descending = match &o.options.sort {
                None | Some(ast::OrderBySort::Asc) => false,
                Some(ast::OrderBySort::Desc) => true,
                Some(ast::OrderBySort::Using(_)) => {
                    return Err(unsupported("ORDER BY ... USING", o.span()));
                }
            };
            let expr = positional(&o.expr, &out.select)?.unwrap_or(conv.expr(&o.expr)?);
            out.order_by.push(OrderItem {
                expr,
                descending,
                nulls_first: o.options.nulls_first.unwrap_or(false),
            });
        }
    }

    if let Some(limit) = &q.limit_clause {
        let (limit, offset) = match limit {
            LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            } => {
                if let Some(e) = limit_by.first() {
                    return Err(unsupported("LIMIT BY", e.span()));
                }
                (limit.as_ref(), offset.as_ref().map(|o| &o.value))
            }
            LimitClause::OffsetCommaLimit { offset, limit } => (Some(limit), Some(offset)),
        };
        out.limit = limit.map(count_literal).transpose()?;
        out.offset = offset.map(count_literal).transpose()?.unwrap_or(0);
    }
    Ok(out)
}

fn check_select_shape(s: &ast::Select) -> Result<()> {
    let span = s.span();
    let refuse = |what: &str| Err(unsupported(what, span));
    if s.distinct.is_some() {
        return refuse("SELECT DISTINCT");
    }
    if s.top.is_some() {
        return refuse("TOP");
    }
    if s.into.is_some() {
        return refuse("SELECT INTO");
    }
    if s.qualify.is_some() || !s.named_window.is_empty() {
        return refuse("window clauses");
    }
    if !s.lateral_views.is_empty()
        || !s.cluster_by.is_empty()
        || !s.distribute_by.is_empty()
        || !s.sort_by.is_empty()
        || !s.connect_by.is_empty()
    {
        return refuse("this clause");
    }
    let [from] = s.from.as_slice() else {
        return refuse(if s.from.is_empty() {
            "a SELECT without FROM events"
        } else {
            "more than one table"
        });
    };
    if let Some(j) = from.joins.first() {
        return Err(unsupported("JOIN", j.span()));
    }
    match &from.relation {
        TableFactor::Table {
            name,
            alias: None,
            args: None,
            sample: None,
            ..
        } if name.to_string() == TABLE_NAME => Ok(()),
        TableFactor::Table { name, .. } if name.to_string() != TABLE_NAME => Err(Error::invalid(
            format!("unknown table `{name}`: the only table is `{TABLE_NAME}`"),
        )),
        other => Err(unsupported(
            "this FROM clause (only `FROM events`, without alias or sample)",
            other.span(),
        )),
    }
}

/// `GROUP BY 2` / `ORDER BY 1`: the select item at that 1-based position.
fn positional(e: &ast::Expr, select: &[SelectItem]) -> Result<Option<Expr>> {
    let ast::Expr::Value(v) = e else {
        return Ok(None);
    };
    let ast::Value::Number(n, _) = &v.value else {
        return Ok(None);
    };
    let i: usize = n
        .parse()
        .map_err(|_| unsupported("a non-integer position", e.span()))?;
    match select.get(i.wrapping_sub(1)) {
        Some(item) => Ok(Some(item.expr.clone())),
        None => Err(Error::invalid(format!(
            "position {i} is not in the select list (1 to {})",
            select.len()
        ))),
    }
}

fn count_literal(e: &ast::Expr) -> Result<u64> {
    if let ast::Expr::Value(v) = e
        && let ast::Value::Number(n, _) = &v.value
        && let Ok(x) = n.parse::<u64>()
    {
        return Ok(x);
    }
    Err(unsupported(
        "a LIMIT/OFFSET that is not a non-negative integer",
        e.span(),
    ))
}
