#!/usr/bin/env bash
# Installs what the test suite needs, skipping whatever is already there. Safe to run again.
# - the Rust components for fmt and clippy;
# - Java for Spark (Debian's default JRE, when no java is on the machine);
# - a Python virtualenv (outside the clone, so it is reused) with pyarrow, polars, duckdb and
#   pyspark, used to cross-check Parquet files with the tools people read them with, and moto's
#   S3 server (moto[server] 5.2), which tests/parquet_s3.rs starts on loopback as a real
#   S3-protocol store;
# - ClickHouse: Debian's clickhouse-server (when none is on the machine), which the ClickHouse
#   tests start on loopback, and chdb (ClickHouse in process) in the virtualenv, which
#   cross-checks the Native format for the types an old server lacks.
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
PACKAGES="pyarrow polars duckdb pyspark"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import pyarrow, polars, duckdb, pyspark" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $PACKAGES
fi
"$VENV/bin/python" -c "import pyarrow, polars, duckdb, pyspark; print('python interop:', 'pyarrow', pyarrow.__version__, 'polars', polars.__version__, 'duckdb', duckdb.__version__, 'pyspark', pyspark.__version__)"

# moto's server mode: an S3-protocol server (with conditional puts) for tests/parquet_s3.rs.
MOTO='moto[server]>=5.2,<5.3'
MOTO_CHECK="import moto, moto.server, flask, flask_cors; v = tuple(int(x) for x in moto.__version__.split('.')[:2]); assert (5, 2) <= v < (5, 3), moto.__version__"
if ! "$VENV/bin/python" -c "$MOTO_CHECK" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$MOTO"
fi
"$VENV/bin/python" -c "$MOTO_CHECK; print('s3 server: moto', moto.__version__)"
test -x "$VENV/bin/moto_server"

# chdb: ClickHouse in process, for tests/clickhouse_chdb.rs.
if ! "$VENV/bin/python" -c "import chdb" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check chdb
fi
"$VENV/bin/python" -c "import chdb; print('clickhouse in process: chdb', chdb.__version__)"
