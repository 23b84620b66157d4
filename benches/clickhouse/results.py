"""Comparing query results: the same column names in the same order, the same number of rows
in the same order, integers and strings exactly equal, floats equal to 1e-9 relative, NULL only
where the other side has NULL. Results come as lists of dicts (JSON Lines from
`adstore query --format json` and ClickHouse's JSONEachRow, or Arrow tables made into rows).
"""

import math
from datetime import date, datetime, timezone

REL_TOL = 1e-9

# ClickHouse's JSON output quotes denormal floats as strings, as adstore's does.
SPECIAL_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf,
                  "+inf": math.inf}


def _scalar(v):
    if isinstance(v, str) and v in SPECIAL_FLOATS:
        return SPECIAL_FLOATS[v]
    if isinstance(v, bool):
        return int(v)
    return v


def _equal(a, b) -> bool:
    a, b = _scalar(a), _scalar(b)
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        if math.isinf(fa) or math.isinf(fb):
            return fa == fb
        return math.isclose(fa, fb, rel_tol=REL_TOL, abs_tol=0.0)
    # A 64-bit integer ClickHouse quoted as a string.
    if isinstance(a, str) and isinstance(b, int) or isinstance(a, int) and isinstance(b, str):
        return str(a) == str(b)
    return a == b


def diff(expected: list[dict], got: list[dict], limit: int = 10) -> list[str]:
    """Human-readable differences between ClickHouse's rows (`expected`) and adstore's (`got`);
    empty when they match."""
    out = []
    ecols = list(expected[0].keys()) if expected else []
    gcols = list(got[0].keys()) if got else []
    if expected and got and ecols != gcols:
        out.append(f"columns differ: clickhouse {ecols} vs adstore {gcols}")
        return out
    if len(expected) != len(got):
        out.append(f"row count differs: clickhouse {len(expected)} vs adstore {len(got)}")
    for i, (e, g) in enumerate(zip(expected, got)):
        bad = [c for c in ecols if not _equal(e.get(c), g.get(c))]
        if bad:
            out.append(
                f"row {i}: " + ", ".join(f"{c}: clickhouse {e.get(c)!r} vs adstore {g.get(c)!r}"
                                          for c in bad)
            )
            if len(out) >= limit:
                out.append("...")
                break
    return out


def _arrow_value(v):
    if isinstance(v, datetime):
        if v.tzinfo is not None:
            v = v.astimezone(timezone.utc).replace(tzinfo=None)
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
    return v


def arrow_rows(table) -> list[dict]:
    """A pyarrow Table as rows, values rendered as adstore's JSON output renders them."""
    cols = table.column_names
    data = [table.column(c).to_pylist() for c in cols]
    return [{c: _arrow_value(data[j][i]) for j, c in enumerate(cols)} for i in range(table.num_rows)]
