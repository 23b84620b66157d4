//! [`Expr`]: an untyped expression of the query model, as the SQL front end or an API caller
//! builds it. [`crate::plan`] types it; its `Display` prints ClickHouse syntax, which is also
//! how unnamed result columns are named.

use std::fmt;

use adstore_storage::ColumnId;

use super::aggregate::Aggregate;
use crate::time::TimeFn;
use crate::types::ArithOp;

/// A constant.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `NULL`.
    Null,
    /// `true` / `false` (ClickHouse `Bool`).
    Bool(bool),
    /// A non-negative integer (typed as the narrowest `UInt*` that holds it).
    UInt(u64),
    /// A negative integer (typed as the narrowest `Int*` that holds it).
    Int(i64),
    /// A float (`Float64`).
    Float(f64),
    /// A string; compared with a date, time or the event type it is read as one.
    String(String),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("NULL"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::UInt(v) => write!(f, "{v}"),
            Literal::Int(v) => write!(f, "{v}"),
            Literal::Float(v) => write!(f, "{v:?}"),
            Literal::String(s) => write!(f, "'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        }
    }
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// Arithmetic.
    Arith(ArithOp),
    /// Comparison.
    Cmp(CmpOp),
    /// `AND`.
    And,
    /// `OR`.
    Or,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`, `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

impl CmpOp {
    /// The operator's symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::NotEq => "!=",
            CmpOp::Lt => "<",
            CmpOp::LtEq => "<=",
            CmpOp::Gt => ">",
            CmpOp::GtEq => ">=",
        }
    }

    /// Whether an ordering satisfies the operator.
    pub fn holds(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Eq => o == Equal,
            CmpOp::NotEq => o != Equal,
            CmpOp::Lt => o == Less,
            CmpOp::LtEq => o != Greater,
            CmpOp::Gt => o == Greater,
            CmpOp::GtEq => o != Less,
        }
    }

    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::LtEq => CmpOp::GtEq,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::GtEq => CmpOp::LtEq,
            o => o,
        }
    }
}

/// A scalar (row-wise) function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarFunc {
    /// A time function of one argument.
    Time(TimeFn),
    /// `if(cond, then, else)`.
    If,
    /// `nullIf(a, b)`: NULL when `a = b`, else `a`.
    NullIf,
}

impl ScalarFunc {
    /// The function's name in SQL.
    pub fn name(self) -> &'static str {
        match self {
            ScalarFunc::Time(t) => t.name(),
            ScalarFunc::If => "if",
            ScalarFunc::NullIf => "nullIf",
        }
    }
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A column of the event table.
    Column(ColumnId),
    /// A constant.
    Literal(Literal),
    /// `NOT e`.
    Not(Box<Expr>),
    /// `-e`.
    Negate(Box<Expr>),
    /// `left op right`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `e [NOT] IN (literals)`.
    InList {
        /// The tested expression.
        expr: Box<Expr>,
        /// The constants.
        list: Vec<Literal>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `e [NOT] BETWEEN low AND high` (bounds included).
    Between {
        /// The tested expression.
        expr: Box<Expr>,
        /// Lower bound.
        low: Box<Expr>,
        /// Upper bound.
        high: Box<Expr>,
        /// `NOT BETWEEN`.
        negated: bool,
    },
    /// `e [NOT] LIKE 'pattern'` (`%` any run, `_` one character, `\` escapes).
    Like {
        /// The tested string.
        expr: Box<Expr>,
        /// The pattern.
        pattern: String,
        /// `NOT LIKE`.
        negated: bool,
    },
    /// A scalar function call.
    Call {
        /// The function.
        func: ScalarFunc,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// An aggregate function call.
    Aggregate(Aggregate),
}

impl Expr {
    /// A column.
    pub fn col(c: ColumnId) -> Expr {
        Expr::Column(c)
    }

    /// A string constant.
    pub fn str(s: impl Into<String>) -> Expr {
        Expr::Literal(Literal::String(s.into()))
    }

    /// An unsigned integer constant.
    pub fn uint(v: u64) -> Expr {
        Expr::Literal(Literal::UInt(v))
    }

    /// `self op other`.
    pub fn binary(self, op: BinaryOp, other: Expr) -> Expr {
        Expr::Binary {
            op,
            left: Box::new(self),
            right: Box::new(other),
        }
    }

    /// `self = other`.
    pub fn eq(self, other: Expr) -> Expr {
        self.binary(BinaryOp::Cmp(CmpOp::Eq), other)
    }

    /// `self AND other`.
    pub fn and(self, other: Expr) -> Expr {
        self.binary(BinaryOp::And, other)
    }

    /// `self / other`.
    pub fn divide(self, other: Expr) -> Expr {
        self.binary(BinaryOp::Arith(ArithOp::Div), other)
    }

    /// `col LIKE 'p1%' OR col LIKE 'p2%' ...`: the string column starts with one of `prefixes`
    /// (`%`, `_` and `\` in a prefix are escaped, so they match literally). No prefix: `false`.
    pub fn starts_with_any(col: ColumnId, prefixes: &[impl AsRef<str>]) -> Expr {
        let like = |p: &str| {
            let mut pattern = String::with_capacity(p.len() + 1);
            for ch in p.chars() {
                if matches!(ch, '%' | '_' | '\\') {
                    pattern.push('\\');
                }
                pattern.push(ch);
            }
            pattern.push('%');
            Expr::Like {
                expr: Box::new(Expr::Column(col)),
                pattern,
                negated: false,
            }
        };
        prefixes
            .iter()
            .map(|p| like(p.as_ref()))
            .reduce(|a, b| a.binary(BinaryOp::Or, b))
            .unwrap_or(Expr::Literal(Literal::Bool(false)))
    }

    /// `nullIf(self, other)`.
    pub fn null_if(self, other: Expr) -> Expr {
        Expr::Call {
            func: ScalarFunc::NullIf,
            args: vec![self, other],
        }
    }

    /// Whether an aggregate occurs in the expression.
    pub fn has_aggregate(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, Expr::Aggregate(_)));
        found
    }

    /// Calls `f` on this expression and every sub-expression, parents first (not descending
    /// into aggregate arguments).
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Column(_) | Expr::Literal(_) | Expr::Aggregate(_) => {}
            Expr::Not(e) | Expr::Negate(e) => e.walk(f),
            Expr::Binary { left, right, .. } => {
                left.walk(f);
                right.walk(f);
            }
            Expr::InList { expr, .. } | Expr::Like { expr, .. } => expr.walk(f),
            Expr::Between {
                expr, low, high, ..
            } => {
                expr.walk(f);
                low.walk(f);
                high.walk(f);
            }
            Expr::Call { args, .. } => args.iter().for_each(|a| a.walk(f)),
        }
    }
}

fn precedence(e: &Expr) -> u8 {
    match e {
        Expr::Binary { op, .. } => match op {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Cmp(_) => 4,
            BinaryOp::Arith(ArithOp::Add | ArithOp::Sub) => 5,
            BinaryOp::Arith(_) => 6,
        },
        Expr::Not(_) => 3,
        Expr::InList { .. } | Expr::Between { .. } | Expr::Like { .. } => 4,
        _ => 9,
    }
}

struct Paren<'a>(&'a Expr, u8);

impl fmt::Display for Paren<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if precedence(self.0) < self.1 {
            write!(f, "({})", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = precedence(self);
        match self {
            Expr::Column(c) => f.write_str(c.name()),
            Expr::Literal(l) => write!(f, "{l}"),
            Expr::Not(e) => write!(f, "NOT {}", Paren(e, p)),
            Expr::Negate(e) => write!(f, "-{}", Paren(e, 9)),
            Expr::Binary { op, left, right } => {
                let sym = match op {
                    BinaryOp::Arith(a) => a.symbol(),
                    BinaryOp::Cmp(c) => c.symbol(),
                    BinaryOp::And => "AND",
                    BinaryOp::Or => "OR",
                };
                write!(f, "{} {sym} {}", Paren(left, p), Paren(right, p + 1))
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let items: Vec<String> = list.iter().map(ToString::to_string).collect();
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{} {not}IN ({})", Paren(expr, p + 1), items.join(", "))
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(
                    f,
                    "{} {not}BETWEEN {} AND {}",
                    Paren(expr, p + 1),
                    Paren(low, p + 1),
                    Paren(high, p + 1)
                )
            }
            Expr::Like {
                expr,
                pattern,
                negated,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(
                    f,
                    "{} {not}LIKE {}",
                    Paren(expr, p + 1),
                    Literal::String(pattern.clone())
                )
            }
            Expr::Call { func, args } => {
                let args: Vec<String> = args.iter().map(ToString::to_string).collect();
                write!(f, "{}({})", func.name(), args.join(", "))
            }
            Expr::Aggregate(a) => write!(f, "{a}"),
        }
    }
}
