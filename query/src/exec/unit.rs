//! [`UnitColumns`]: the decoded columns of one scan unit (a segment block or a memtable
//! chunk), indexed by column, with low-cardinality string columns always in dictionary form.
//!
//! Segment blocks already come with their segment's sorted dictionary; memtable chunks carry
//! plain strings, which are given a chunk-local sorted dictionary here, so predicates and group
//! keys on those columns take the same code-based path everywhere.

use std::sync::Arc;

use adstore_storage::{COLUMN_COUNT, ColumnData, ColumnId, ColumnKind, ReadContext, ScanUnit};

use crate::error::{Error, Result};
use crate::eval::Env;
use crate::value::Value;

/// The decoded columns of one unit.
#[derive(Debug)]
pub struct UnitColumns {
    rows: usize,
    cols: Vec<Option<ColumnData>>,
}

impl UnitColumns {
    /// Decodes `columns` of `unit`.
    pub fn read(unit: &ScanUnit, columns: &[ColumnId], ctx: &mut ReadContext) -> Result<Self> {
        let mut u = UnitColumns {
            rows: unit.rows(),
            cols: (0..COLUMN_COUNT).map(|_| None).collect(),
        };
        u.read_more(unit, columns, ctx)?;
        Ok(u)
    }

    /// Decodes `columns` of `unit` too (the unit these columns came from).
    pub fn read_more(
        &mut self,
        unit: &ScanUnit,
        columns: &[ColumnId],
        ctx: &mut ReadContext,
    ) -> Result<()> {
        self.read_more_masked(unit, columns, None, ctx)
    }

    /// [`UnitColumns::read_more`] for a caller that reads only the rows where `mask` holds (all
    /// when `None`): event_id may then be decoded for those rows only (the others are empty),
    /// which spares decoding a segment's whole sorted key set for a few matching rows.
    pub fn read_more_masked(
        &mut self,
        unit: &ScanUnit,
        columns: &[ColumnId],
        mask: Option<&[bool]>,
        ctx: &mut ReadContext,
    ) -> Result<()> {
        if columns.is_empty() {
            return Ok(());
        }
        let data = match mask {
            Some(m) if columns.contains(&ColumnId::EventId) => {
                unit.read_for_rows(columns, &super::rows::selection(Some(m), m.len()), ctx)?
            }
            _ => unit.read(columns, ctx)?,
        };
        let rows = self.rows;
        for (&c, d) in columns.iter().zip(data) {
            if d.len() != rows {
                return Err(Error::invalid(format!(
                    "internal: column {c} decoded {} rows of {rows}",
                    d.len()
                )));
            }
            let d = match d {
                ColumnData::Strings(s) if c.kind() == ColumnKind::DictString => {
                    let (dictionary, codes) = s.dictionary();
                    ColumnData::Dict {
                        dictionary: Arc::new(dictionary),
                        codes,
                    }
                }
                d => d,
            };
            self.cols[c.index()] = Some(d);
        }
        Ok(())
    }

    /// Hands the decoded columns' buffers back to `ctx` for the next unit's reads.
    pub fn recycle(self, ctx: &mut ReadContext) {
        for d in self.cols.into_iter().flatten() {
            ctx.recycle(d);
        }
    }

    /// Rows in the unit.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The decoded column `c` (it must have been asked for).
    pub fn get(&self, c: ColumnId) -> Result<&ColumnData> {
        self.cols[c.index()]
            .as_ref()
            .ok_or_else(|| Error::invalid(format!("internal: column {c} was not decoded")))
    }

    /// The value of column `c` at `row` (NULL when not decoded, which planning rules out).
    pub fn value(&self, c: ColumnId, row: usize) -> Value {
        match &self.cols[c.index()] {
            Some(ColumnData::Strings(s)) => Value::Str(s.get(row).to_owned()),
            Some(ColumnData::Dict { dictionary, codes }) => {
                Value::Str(dictionary.get(codes[row] as usize).to_owned())
            }
            Some(ColumnData::I64(v)) => Value::Int(v[row]),
            Some(ColumnData::EventType(v)) => Value::Int(i64::from(v[row].code())),
            Some(ColumnData::Bool(v)) => Value::UInt(u64::from(v[row])),
            None => Value::Null,
        }
    }
}

/// One row of a unit as an evaluation environment.
#[derive(Debug, Clone, Copy)]
pub struct RowEnv<'a> {
    /// The unit.
    pub unit: &'a UnitColumns,
    /// The row.
    pub row: usize,
}

impl Env for RowEnv<'_> {
    fn column(&self, c: ColumnId) -> Value {
        self.unit.value(c, self.row)
    }
}

/// An environment where one column has a given value (for evaluating a predicate once per
/// dictionary entry).
#[derive(Debug)]
pub struct OneColumnEnv {
    /// The column.
    pub col: ColumnId,
    /// Its value.
    pub value: Value,
}

impl Env for OneColumnEnv {
    fn column(&self, c: ColumnId) -> Value {
        if c == self.col {
            self.value.clone()
        } else {
            Value::Null
        }
    }
}
