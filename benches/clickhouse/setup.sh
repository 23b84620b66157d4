#!/usr/bin/env bash
# Creates (or updates) the virtualenv of the ClickHouse comparison: chdb (ClickHouse's engine,
# in-process), pyarrow, and grpcio for timing adstore over gRPC. Idempotent: a venv whose
# installed requirements match requirements.txt is left as is.
#
#   benches/clickhouse/setup.sh          # creates benches/clickhouse/.venv
#   ADSTORE_BENCH_VENV=/some/dir setup.sh  # elsewhere
#
# Needs python3 (>= 3.9) with the venv module, and access to PyPI. Prints the venv's python.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${ADSTORE_BENCH_VENV:-$here/.venv}"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "setup.sh: $python not found; install Python 3.9+ (e.g. apt-get install python3 python3-venv)" >&2
  exit 1
fi

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$venv/bin/python"
  exit 0
fi

rm -rf "$venv"
if "$python" -m venv "$venv" >&2; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
else
  # No venv module (Debian without python3-venv): install into a plain folder with the
  # system pip, behind a small `python` wrapper that puts it on the path.
  echo "setup.sh: $python -m venv unavailable; installing with pip --target instead" >&2
  rm -rf "$venv"
  mkdir -p "$venv/bin" "$venv/site"
  "$python" -m pip install --quiet --disable-pip-version-check --target "$venv/site" -r "$req" >&2
  printf '#!/bin/sh\nPYTHONPATH="%s${PYTHONPATH:+:$PYTHONPATH}" exec %s "$@"\n' \
    "$venv/site" "$(command -v "$python")" >"$venv/bin/python"
  chmod +x "$venv/bin/python"
fi
"$venv/bin/python" -c 'import chdb, pyarrow, grpc, grpc_tools' >&2
echo "$want" > "$stamp"
echo "$venv/bin/python"
