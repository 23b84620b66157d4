//! [`TExpr`]: a typed, resolved expression. Literals are read as the type they are compared
//! with, temporal operands share a unit, `BETWEEN` is two comparisons, and in the final stage of
//! an aggregate query group keys and aggregates are references ([`Node::Key`], [`Node::Agg`]).

use std::sync::Arc;

use adstore_storage::ColumnId;

use crate::like::LikePattern;
use crate::model::CmpOp;
use crate::time::TimeFn;
use crate::types::{ArithOp, DataType, Type};
use crate::value::Value;

/// A typed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct TExpr {
    /// The result type.
    pub ty: Type,
    /// The operation.
    pub node: Node,
}

/// The operation of a [`TExpr`].
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A column of the event table.
    Column(ColumnId),
    /// A constant of the node's type.
    Const(Value),
    /// Logical NOT (`UInt8`).
    Not(Box<TExpr>),
    /// Unary minus.
    Neg(Box<TExpr>),
    /// Arithmetic; the node's type is ClickHouse's result type.
    Arith(ArithOp, Box<TExpr>, Box<TExpr>),
    /// Comparison of two comparable operands (`UInt8`).
    Cmp(CmpOp, Box<TExpr>, Box<TExpr>),
    /// Logical AND, three-valued.
    And(Box<TExpr>, Box<TExpr>),
    /// Logical OR, three-valued.
    Or(Box<TExpr>, Box<TExpr>),
    /// Membership in a set of constants (NULLs never match).
    In {
        /// The tested expression.
        expr: Box<TExpr>,
        /// The constants, of types comparable with `expr`.
        set: Vec<Value>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `LIKE` on a string.
    Like {
        /// The tested string.
        expr: Box<TExpr>,
        /// The compiled pattern.
        pattern: Arc<LikePattern>,
        /// `NOT LIKE`.
        negated: bool,
    },
    /// A time function of a temporal operand.
    Time(TimeFn, Box<TExpr>),
    /// `if(cond, then, else)`; both branches already have the node's type.
    If(Box<TExpr>, Box<TExpr>, Box<TExpr>),
    /// `nullIf(a, b)`.
    NullIf(Box<TExpr>, Box<TExpr>),
    /// Conversion of the operand to the node's type.
    Cast(Box<TExpr>),
    /// The i-th group key (final stage of aggregate queries).
    Key(usize),
    /// The i-th aggregate's result (final stage of aggregate queries).
    Agg(usize),
}

impl TExpr {
    /// A constant.
    pub fn constant(value: Value, ty: Type) -> TExpr {
        TExpr {
            ty,
            node: Node::Const(value),
        }
    }

    /// The operand expressions.
    pub fn children(&self) -> Vec<&TExpr> {
        match &self.node {
            Node::Column(_) | Node::Const(_) | Node::Key(_) | Node::Agg(_) => vec![],
            Node::Not(e)
            | Node::Neg(e)
            | Node::Time(_, e)
            | Node::Cast(e)
            | Node::In { expr: e, .. }
            | Node::Like { expr: e, .. } => vec![e],
            Node::Arith(_, a, b)
            | Node::Cmp(_, a, b)
            | Node::And(a, b)
            | Node::Or(a, b)
            | Node::NullIf(a, b) => vec![a, b],
            Node::If(c, a, b) => vec![c, a, b],
        }
    }

    /// Calls `f` on every node, parents first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a TExpr)) {
        f(self);
        for c in self.children() {
            c.walk(f);
        }
    }

    /// The columns the expression reads, in schema order, without repeats.
    pub fn columns(&self) -> Vec<ColumnId> {
        let mut cols = Vec::new();
        self.walk(&mut |e| {
            if let Node::Column(c) = e.node
                && !cols.contains(&c)
            {
                cols.push(c);
            }
        });
        cols.sort();
        cols
    }

    /// Whether the expression or any operand can be NULL.
    pub fn any_nullable(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= e.ty.nullable);
        found
    }

    /// The data type.
    pub fn data(&self) -> DataType {
        self.ty.data
    }

    /// The constant value, when the node is one.
    pub fn as_const(&self) -> Option<&Value> {
        match &self.node {
            Node::Const(v) => Some(v),
            _ => None,
        }
    }
}
