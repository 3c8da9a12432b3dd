#!/usr/bin/env bash
# Installs what the test suite needs, skipping whatever is already there. Safe to run again.
# - the Rust components for fmt and clippy;
# - Java for Spark (Debian's default JRE, when no java is on the machine);
# - a Python virtualenv (outside the clone, so it is reused) with the versions pinned in
#   scripts/requirements.txt: pyarrow, pandas, Polars, DuckDB, pyspark, chdb (ClickHouse in
#   process, also the Native format's cross-check) and DataFusion for the interoperability
#   matrix (docs/interop.md), moto's S3 server, which tests/parquet_s3.rs starts on
#   loopback as a real S3-protocol store, and fakesnow, the Snowflake emulator
#   tests/snowflake_backend.rs starts on loopback;
# - ClickHouse: Debian's clickhouse-server (when none is on the machine), which the ClickHouse
#   tests start on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh

if ! command -v cargo >/dev/null; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy
echo "toolchain: $(cargo --version)"

if ! command -v clickhouse-server >/dev/null && [ ! -x /usr/sbin/clickhouse-server ]; then
  echo "installing clickhouse-server"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq clickhouse-server >/dev/null; fi
fi

if ! command -v java >/dev/null; then
  echo "installing a Java runtime for Spark"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null; fi
fi

VENV="${SOA_VENV:-$HOME/.cache/soa-persist/venv}"
REQUIREMENTS=scripts/requirements.txt
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
# Every pin of scripts/requirements.txt installed at its version (prints them; fails otherwise).
PINS_CHECK='
import re, sys
from importlib.metadata import PackageNotFoundError, version
wrong = []
for line in open(sys.argv[1]):
    m = re.match(r"\s*([A-Za-z0-9_.-]+)(\[[^]]*\])?==([^\s#]+)", line)
    if not m:
        continue
    try:
        have = version(m.group(1))
    except PackageNotFoundError:
        have = None
    if have != m.group(3):
        wrong.append(f"{m.group(1)} {have} (pinned {m.group(3)})")
    elif len(sys.argv) > 2:
        print(f"  {m.group(1)} {have}")
sys.exit("not as pinned: " + ", ".join(wrong) if wrong else 0)
'
if ! "$VENV/bin/python" -c "$PINS_CHECK" "$REQUIREMENTS" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
fi
echo "python tools ($VENV):"
"$VENV/bin/python" -c "$PINS_CHECK" "$REQUIREMENTS" print
test -x "$VENV/bin/moto_server"
test -x "$VENV/bin/fakesnow"
