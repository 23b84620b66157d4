#!/usr/bin/env bash
# The CI smoke run of the ClickHouse comparison: 100k generated impressions through both
# ingest paths and the whole query suite, every result checked against ClickHouse's (times are
# printed, not asserted); then at_scale.py's way (ClickHouse loaded from adstore's exported
# events) on 100k impressions, checked the same way. Uses the debug binary the test run has just built unless ADSTORE is
# set. Needs python3 and PyPI (setup.sh installs chdb into benches/clickhouse/.venv).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="$("$here/setup.sh")"
adstore="${ADSTORE:-}"
if [[ -z "$adstore" ]]; then
  (cd "$repo" && cargo build --locked --bin adstore)
  adstore="$repo/target/debug/adstore"
fi
"$python" "$here/compare.py" --smoke --adstore "$adstore" \
  --work "$repo/target/clickhouse-smoke" "$@"
"$python" "$here/at_scale.py" --impressions 100000 --runs 1 --adstore "$adstore" \
  --work "$repo/target/at-scale-smoke"
