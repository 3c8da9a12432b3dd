#!/usr/bin/env bash
# Runs every bench and writes BENCHMARKS.md: the machine, the date, the command, the load
# average before and after each bench (other work on the machine skews the figures), every
# line that states a ratio against a peer, then each bench's whole output.
# Usage: scripts/bench.sh [bench ...]   (default: all; ROWS=... passes through to each bench;
# the DuckDB and ClickHouse benches need scripts/setup.sh's parts, as the tests do).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/soa-persist/target}"
export CARGO_TERM_COLOR=never
OUT="${BENCH_REPORT:-BENCHMARKS.md}"

all=(store conversion parquet commit_log keys duckdb clickhouse)
benches=("${@:-${all[@]}}")
features() {
  case "$1" in
    keys | duckdb) echo "--features duckdb" ;;
    clickhouse) echo "--features clickhouse" ;;
    *) echo "" ;;
  esac
}

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }

for b in "${benches[@]}"; do
  # shellcheck disable=SC2046 # the features are words
  cargo bench --quiet -p soa-persist-benches --bench "$b" $(features "$b") --no-run
  before="$(load)"
  start=$(date +%s)
  # shellcheck disable=SC2046
  if ! cargo bench --quiet -p soa-persist-benches --bench "$b" $(features "$b") >"$logs/$b.out" 2>&1; then
    echo "bench $b failed:" >&2
    tail -20 "$logs/$b.out" >&2
    exit 1
  fi
  echo "$before|$(load)|$(($(date +%s) - start))" >"$logs/$b.meta"
  echo "bench $b: done in $(($(date +%s) - start)) s"
done

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
ram="$(free -g | awk '/Mem:/ {print $2}')"
{
  echo "# Benchmarks"
  echo
  echo "Written by \`scripts/bench.sh\`; run it to reproduce (same command, your machine)."
  echo "Every ratio is against a peer measured in the same run on the same data."
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- machine: $cpu, $(nproc) cores, $ram GiB RAM"
  echo "- toolchain: $(cargo --version)"
  echo "- rows: ${ROWS:-the default of each bench}"
  echo "- command: \`scripts/bench.sh ${*:-}\`"
  echo
  echo "| bench | command | load average before / after | seconds |"
  echo "| --- | --- | --- | --- |"
  for b in "${benches[@]}"; do
    IFS='|' read -r before after secs <"$logs/$b.meta"
    echo "| $b | \`cargo bench -p soa-persist-benches --bench $b $(features "$b")\` | $before / $after | $secs |"
  done
  echo
  echo "## Ratios"
  for b in "${benches[@]}"; do
    echo
    echo "### $b"
    echo
    grep -E '[0-9.]+x\b' "$logs/$b.out" | sed 's/^/- /' || echo "- (no ratio printed)"
  done
  echo
  echo "## Whole outputs"
  for b in "${benches[@]}"; do
    echo
    echo "### $b"
    echo
    echo '```text'
    cat "$logs/$b.out"
    echo '```'
  done
} >"$OUT"
echo "wrote $OUT"
