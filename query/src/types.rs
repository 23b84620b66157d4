//! [`DataType`] and [`Type`]: the ClickHouse types of query values, and ClickHouse's rules for
//! the result type of arithmetic and of `if` (the least common supertype).
//!
//! The event table's columns map to ClickHouse types as the comparison schema declares them:
//! strings are `String` (`LowCardinality(String)` behaves the same), `event_type` is an
//! `Enum8('impression' = 0, 'click' = 1, 'conversion' = 2, 'bid_request' = 3)`, `ts` is
//! `DateTime64(6, 'UTC')`, money is `Int64`, `won` is `Bool`.
//!
//! At run time every integer-like type (including `Bool`, dates, times and the enum) is carried
//! in 64 bits: signed types as `i64`, unsigned ones as `u64` (vectors keep the bit pattern in an
//! `i64`). Integer arithmetic wraps at 64 bits, as ClickHouse's does; the narrower result types
//! ClickHouse picks (`UInt8 + UInt8` is `UInt16`) can never overflow, so they need no checks.

use std::fmt;

use adstore_storage::ColumnId;

/// A ClickHouse data type, without nullability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// The type of a bare `NULL`.
    Nothing,
    /// `Bool` (stored as 0 or 1).
    Bool,
    /// `UInt8`: comparisons and logical operators return it.
    UInt8,
    /// `UInt16`.
    UInt16,
    /// `UInt32`: `toUnixTimestamp` returns it.
    UInt32,
    /// `UInt64`: counts.
    UInt64,
    /// `Int8`.
    Int8,
    /// `Int16`.
    Int16,
    /// `Int32`.
    Int32,
    /// `Int64`: money, sums of money.
    Int64,
    /// `Float64`: division, averages.
    Float64,
    /// `String`.
    String,
    /// The event type enum (`Enum8`), carried as its code.
    EventType,
    /// `Date`, carried as days since 1970-01-01.
    Date,
    /// `DateTime('UTC')`, carried as seconds since the epoch.
    DateTime,
    /// `DateTime64(6, 'UTC')`, carried as microseconds since the epoch.
    DateTime64,
}

/// How values of a type are carried at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr {
    /// Signed 64-bit integer.
    Int,
    /// Unsigned 64-bit integer.
    UInt,
    /// 64-bit float.
    Float,
    /// UTF-8 string.
    Str,
    /// Only NULL.
    Null,
}

impl DataType {
    /// Signedness and width in bytes of an integer type (`Bool` counts as unsigned 1 byte).
    pub fn int_info(self) -> Option<(bool, u8)> {
        Some(match self {
            DataType::Bool | DataType::UInt8 => (false, 1),
            DataType::UInt16 => (false, 2),
            DataType::UInt32 => (false, 4),
            DataType::UInt64 => (false, 8),
            DataType::Int8 => (true, 1),
            DataType::Int16 => (true, 2),
            DataType::Int32 => (true, 4),
            DataType::Int64 => (true, 8),
            _ => return None,
        })
    }

    /// The integer type of a signedness and width (widths above 8 are capped at 8).
    pub fn int(signed: bool, bytes: u8) -> DataType {
        match (signed, bytes) {
            (false, 1) => DataType::UInt8,
            (false, 2) => DataType::UInt16,
            (false, 3..=4) => DataType::UInt32,
            (false, _) => DataType::UInt64,
            (true, 1) => DataType::Int8,
            (true, 2) => DataType::Int16,
            (true, 3..=4) => DataType::Int32,
            (true, _) => DataType::Int64,
        }
    }

    /// Integer, boolean or float.
    pub fn is_numeric(self) -> bool {
        self.int_info().is_some() || self == DataType::Float64
    }

    /// `Date`, `DateTime` or `DateTime64`.
    pub fn is_temporal(self) -> bool {
        matches!(
            self,
            DataType::Date | DataType::DateTime | DataType::DateTime64
        )
    }

    /// How values of this type are carried.
    pub fn repr(self) -> Repr {
        match self {
            DataType::Nothing => Repr::Null,
            DataType::Float64 => Repr::Float,
            DataType::String => Repr::Str,
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::EventType
            | DataType::Date
            | DataType::DateTime
            | DataType::DateTime64 => Repr::Int,
            DataType::Bool
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64 => Repr::UInt,
        }
    }

    /// Microseconds per unit of a temporal type.
    pub fn micros_per_unit(self) -> Option<i64> {
        match self {
            DataType::Date => Some(86_400_000_000),
            DataType::DateTime => Some(1_000_000),
            DataType::DateTime64 => Some(1),
            _ => None,
        }
    }

    /// The ClickHouse name.
    pub fn name(self) -> &'static str {
        match self {
            DataType::Nothing => "Nothing",
            DataType::Bool => "Bool",
            DataType::UInt8 => "UInt8",
            DataType::UInt16 => "UInt16",
            DataType::UInt32 => "UInt32",
            DataType::UInt64 => "UInt64",
            DataType::Int8 => "Int8",
            DataType::Int16 => "Int16",
            DataType::Int32 => "Int32",
            DataType::Int64 => "Int64",
            DataType::Float64 => "Float64",
            DataType::String => "String",
            DataType::EventType => {
                "Enum8('impression' = 0, 'click' = 1, 'conversion' = 2, 'bid_request' = 3)"
            }
            DataType::Date => "Date",
            DataType::DateTime => "DateTime('UTC')",
            DataType::DateTime64 => "DateTime64(6, 'UTC')",
        }
    }

    /// The type of a column of the event table.
    pub fn of_column(col: ColumnId) -> DataType {
        use adstore_storage::ColumnKind;
        match (col, col.kind()) {
            (ColumnId::Ts, _) => DataType::DateTime64,
            (_, ColumnKind::I64) => DataType::Int64,
            (_, ColumnKind::EventType) => DataType::EventType,
            (_, ColumnKind::Bool) => DataType::Bool,
            (_, ColumnKind::PlainString | ColumnKind::DictString) => DataType::String,
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A type with its nullability: ClickHouse's `Nullable(T)` when `nullable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Type {
    /// The underlying type.
    pub data: DataType,
    /// Whether values may be NULL.
    pub nullable: bool,
}

impl Type {
    /// A non-nullable type.
    pub fn of(data: DataType) -> Type {
        Type {
            data,
            nullable: false,
        }
    }

    /// The same type, nullable when `nullable`.
    pub fn or_null(self, nullable: bool) -> Type {
        Type {
            data: self.data,
            nullable: self.nullable || nullable,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nullable {
            write!(f, "Nullable({})", self.data)
        } else {
            write!(f, "{}", self.data)
        }
    }
}

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`: always `Float64`; a zero divisor gives `inf`, `-inf` or `nan`, as in ClickHouse.
    Div,
}

impl ArithOp {
    /// The operator's symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
        }
    }
}

/// ClickHouse's result type of `a op b` for numeric `a`, `b` (NumberTraits): `/` gives `Float64`;
/// a float operand gives `Float64`; `+` and `*` give the next wider integer (capped at 64 bits),
/// signed when either operand is; `-` gives the next wider signed integer.
pub fn arithmetic_type(op: ArithOp, a: DataType, b: DataType) -> Option<DataType> {
    if !a.is_numeric() || !b.is_numeric() {
        return None;
    }
    if op == ArithOp::Div || a == DataType::Float64 || b == DataType::Float64 {
        return Some(DataType::Float64);
    }
    let (sa, wa) = a.int_info()?;
    let (sb, wb) = b.int_info()?;
    let width = (wa.max(wb) * 2).min(8);
    let signed = op == ArithOp::Sub || sa || sb;
    Some(DataType::int(signed, width))
}

/// ClickHouse's result type of unary minus: signed, one size wider for unsigned input.
pub fn negate_type(a: DataType) -> Option<DataType> {
    if a == DataType::Float64 {
        return Some(DataType::Float64);
    }
    let (signed, width) = a.int_info()?;
    Some(if signed {
        a
    } else {
        DataType::int(true, (width * 2).min(8))
    })
}

/// The least common supertype of two types (for `if` branches), or `None` when ClickHouse has
/// none (e.g. `UInt64` and `Int64`, or a string and a number).
pub fn least_supertype(a: DataType, b: DataType) -> Option<DataType> {
    if a == b {
        return Some(a);
    }
    match (a, b) {
        (DataType::Nothing, t) | (t, DataType::Nothing) => return Some(t),
        (DataType::Float64, t) | (t, DataType::Float64) if t.is_numeric() => {
            return Some(DataType::Float64);
        }
        _ => {}
    }
    if a.is_temporal() && b.is_temporal() {
        let finer = if a.micros_per_unit()? < b.micros_per_unit()? {
            a
        } else {
            b
        };
        return Some(finer);
    }
    let (sa, wa) = a.int_info()?;
    let (sb, wb) = b.int_info()?;
    if sa == sb {
        return Some(DataType::int(sa, wa.max(wb)));
    }
    let (signed_w, unsigned_w) = if sa { (wa, wb) } else { (wb, wa) };
    if unsigned_w >= 8 {
        return None;
    }
    Some(DataType::int(true, signed_w.max(unsigned_w * 2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_follows_clickhouse() {
        use DataType::*;
        assert_eq!(arithmetic_type(ArithOp::Add, UInt8, UInt8), Some(UInt16));
        assert_eq!(arithmetic_type(ArithOp::Add, UInt64, UInt64), Some(UInt64));
        assert_eq!(arithmetic_type(ArithOp::Sub, UInt64, UInt64), Some(Int64));
        assert_eq!(arithmetic_type(ArithOp::Mul, UInt64, Int64), Some(Int64));
        assert_eq!(arithmetic_type(ArithOp::Mul, UInt8, Int8), Some(Int16));
        assert_eq!(arithmetic_type(ArithOp::Div, UInt8, UInt8), Some(Float64));
        assert_eq!(arithmetic_type(ArithOp::Add, Int64, Float64), Some(Float64));
        assert_eq!(arithmetic_type(ArithOp::Add, String, UInt8), None);
        assert_eq!(negate_type(UInt8), Some(Int16));
        assert_eq!(negate_type(Int64), Some(Int64));
    }

    #[test]
    fn supertypes_follow_clickhouse() {
        use DataType::*;
        assert_eq!(least_supertype(UInt8, Int8), Some(Int16));
        assert_eq!(least_supertype(UInt64, Int64), None);
        assert_eq!(least_supertype(UInt32, Int64), Some(Int64));
        assert_eq!(least_supertype(UInt64, Float64), Some(Float64));
        assert_eq!(least_supertype(Nothing, String), Some(String));
        assert_eq!(least_supertype(Date, DateTime64), Some(DateTime64));
        assert_eq!(least_supertype(String, UInt8), None);
    }
}
